import { createHash, randomBytes } from 'node:crypto';
import { Route, route, SandboxRequest, ZoomHttpError } from './http';
import { Grant, SandboxState } from './zoom-api';

const CODE_TTL_MS = 5 * 60_000;

/** Zoom's OAuth endpoints: the token endpoint for every grant type, user consent, and revocation. */
export function oauthRoutes(state: SandboxState): Route[] {
  return [
    // The sandbox's user consents at once and is sent back with a code, as after "Allow" on Zoom.
    route('GET', '/oauth/authorize', (req) => {
      const q = req.query;
      if (q.get('response_type') !== 'code')
        throw oauthError(400, 4705, 'unsupported_response_type', 'response_type must be code.');
      if (q.get('client_id') !== state.credentials.clientId)
        throw oauthError(400, 4702, 'invalid_client', 'Invalid client.');
      const redirectUri = q.get('redirect_uri');
      if (!redirectUri || !/^https?:\/\//.test(redirectUri))
        throw oauthError(400, 4709, 'invalid_request', 'Redirect URI mismatch.');
      const challenge = q.get('code_challenge') ?? undefined;
      if (challenge && q.get('code_challenge_method') !== 'S256')
        throw oauthError(400, 4700, 'invalid_request', 'code_challenge_method must be S256.');
      const user = state.users.find((u) => u.email === q.get('login_hint')) ?? state.users[0];
      const code = randomBytes(18).toString('base64url');
      state.oauth.codes.set(code, {
        userId: user.id,
        redirectUri,
        codeChallenge: challenge,
        expiresAt: Date.now() + CODE_TTL_MS,
      });
      const target = new URL(redirectUri);
      target.searchParams.set('code', code);
      if (q.get('state') !== null) target.searchParams.set('state', q.get('state')!);
      return { status: 302, headers: { location: target.toString() } };
    }),
    route('POST', '/oauth/token', (req) => {
      state.tokenRequests++;
      const params = new URLSearchParams(req.query);
      for (const [k, v] of req.form()) params.set(k, v);
      authenticateClient(state, req);
      switch (params.get('grant_type')) {
        case 'account_credentials':
          return accountToken(state, params);
        case 'authorization_code':
          return exchangeCode(state, params);
        case 'refresh_token':
          return refresh(state, params);
        default:
          throw oauthError(400, 4705, 'unsupported_grant_type', 'Grant type is not supported from token endpoint.');
      }
    }),
    route('POST', '/oauth/revoke', (req) => {
      authenticateClient(state, req);
      const token = req.query.get('token') ?? req.form().get('token');
      const grant = state.oauth.grants.find(
        (g) => g.refreshToken === token || (token !== null && g.accessTokens.has(token)),
      );
      // Whether revoking an access token also voids the refresh token is not documented; the sandbox
      // voids the whole grant, the stricter reading, so our client is tested against it.
      if (grant) {
        for (const t of grant.accessTokens) state.tokens.delete(t);
        state.oauth.grants.splice(state.oauth.grants.indexOf(grant), 1);
      }
      if (token) state.tokens.delete(token);
      return { status: 200, body: { status: 'success' } };
    }),
  ];
}

function authenticateClient(state: SandboxState, req: SandboxRequest): void {
  const basic = /^Basic (.+)$/i.exec(String(req.headers.authorization ?? ''));
  const [clientId, clientSecret] = basic ? Buffer.from(basic[1], 'base64').toString('utf8').split(':') : [];
  if (!clientId || !clientSecret)
    throw oauthError(400, 4706, 'invalid_request', 'Client ID or client secret is missing.');
  if (clientId !== state.credentials.clientId || clientSecret !== state.credentials.clientSecret) {
    throw oauthError(401, 4702, 'invalid_client', 'Invalid client_id or client_secret');
  }
}

function accountToken(state: SandboxState, params: URLSearchParams) {
  if (params.get('account_id') !== state.credentials.accountId)
    throw oauthError(400, 4700, 'invalid_request', 'Invalid account_id');
  return tokenResponse(state, issueAccessToken(state));
}

function exchangeCode(state: SandboxState, params: URLSearchParams) {
  const code = state.oauth.codes.get(params.get('code') ?? '');
  if (!code) throw oauthError(400, 4734, 'invalid_grant', 'Invalid authorization code.');
  state.oauth.codes.delete(params.get('code')!);
  if (code.expiresAt <= Date.now()) throw oauthError(400, 4733, 'invalid_grant', 'Code is expired');
  if (params.get('redirect_uri') !== code.redirectUri)
    throw oauthError(400, 4709, 'invalid_grant', 'Redirect URI mismatch.');
  if (code.codeChallenge) {
    const verifier = params.get('code_verifier') ?? '';
    if (createHash('sha256').update(verifier).digest('base64url') !== code.codeChallenge)
      throw oauthError(400, 4734, 'invalid_grant', 'Invalid code_verifier.');
  }
  const grant: Grant = { userId: code.userId, refreshToken: newRefreshToken(), accessTokens: new Set() };
  state.oauth.grants.push(grant);
  return userTokens(state, grant);
}

function refresh(state: SandboxState, params: URLSearchParams) {
  state.oauth.refreshRequests++;
  const grant = state.oauth.grants.find((g) => g.refreshToken === params.get('refresh_token'));
  // Zoom answers a used or unknown refresh token this way (observed, see the reference §3.2).
  if (!grant) throw oauthError(400, undefined, 'invalid_grant', 'Invalid Token!');
  grant.refreshToken = newRefreshToken();
  return userTokens(state, grant);
}

function userTokens(state: SandboxState, grant: Grant) {
  const accessToken = issueAccessToken(state, grant.userId);
  grant.accessTokens.add(accessToken);
  return tokenResponse(state, accessToken, grant.refreshToken);
}

function issueAccessToken(state: SandboxState, userId?: string): string {
  const accessToken = `sbx.${randomBytes(24).toString('base64url')}`;
  state.tokens.set(accessToken, { expiresAt: Date.now() + state.tokenTtlSeconds * 1000, scopes: state.scopes, userId });
  return accessToken;
}

function tokenResponse(state: SandboxState, accessToken: string, refreshToken?: string) {
  return {
    status: 200,
    body: {
      access_token: accessToken,
      token_type: 'bearer',
      ...(refreshToken ? { refresh_token: refreshToken } : {}),
      expires_in: state.tokenTtlSeconds,
      scope: state.scopes.join(' '),
      api_url: state.publicUrl,
    },
  };
}

function newRefreshToken(): string {
  return `sbxr.${randomBytes(32).toString('base64url')}`;
}

/** OAuth errors carry `reason` and `error` (and Zoom's code where it documents one). */
function oauthError(status: number, code: number | undefined, error: string, reason: string): ZoomHttpError {
  return new ZoomHttpError(status, code, reason, {}, { reason, error });
}
