import { createHash, randomBytes } from 'node:crypto';
import axios, { AxiosInstance } from 'axios';
import { GrantedTokens, OAuthClientCredentials, requestTokens, TokenProvider } from './auth';
import { ZoomAuthError, ZoomReauthorizationError } from './errors';

/**
 * User-level Zoom OAuth (authorization code, then refresh tokens). Zoom rotates the refresh token
 * on every refresh and voids the old one, so exactly one durable owner may refresh (see
 * workflows/connector.ts); every process asks that owner for access tokens through TokenOwner.
 */
export interface UserOAuthApp extends OAuthClientCredentials {
  /** Zoom's consent page, e.g. https://zoom.us/oauth/authorize */
  authorizeUrl: string;
  redirectUri: string;
}

/** Zoom's words for "this consent is gone": only the user can fix it, by authorising again. */
const REAUTHORIZE_CODES = new Set([4733, 4734, 4735, 4741]);

export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export function authorizationUrl(app: UserOAuthApp, state: string, codeChallenge: string): string {
  const url = new URL(app.authorizeUrl);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: app.clientId,
    redirect_uri: app.redirectUri,
    state,
    code_challenge: codeChallenge,
    code_challenge_method: 'S256',
  }).toString();
  return url.toString();
}

export function exchangeCode(
  app: UserOAuthApp,
  code: string,
  codeVerifier: string,
  http: AxiosInstance = axios.create({ timeout: 15_000 }),
): Promise<GrantedTokens> {
  return withReauthorization(
    requestTokens(
      http,
      app,
      { grant_type: 'authorization_code', code, redirect_uri: app.redirectUri, code_verifier: codeVerifier },
      REFUSED,
    ),
  );
}

/** Spends `refreshToken` (Zoom voids it) for a new access token and a new refresh token. */
export function refreshTokens(
  app: OAuthClientCredentials,
  refreshToken: string,
  http: AxiosInstance = axios.create({ timeout: 15_000 }),
): Promise<GrantedTokens> {
  return withReauthorization(
    requestTokens(http, app, { grant_type: 'refresh_token', refresh_token: refreshToken }, REFUSED),
  );
}

const REFUSED = 'Zoom refused the OAuth app credentials: check ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET.';

async function withReauthorization(request: Promise<GrantedTokens>): Promise<GrantedTokens> {
  try {
    return await request;
  } catch (err) {
    if (
      err instanceof ZoomAuthError &&
      (err.message.includes('invalid_grant') ||
        err.message.includes('Invalid Token') ||
        REAUTHORIZE_CODES.has(err.code ?? 0))
    ) {
      throw new ZoomReauthorizationError(err.message.replace(/ Hint: .*$/, ''), {
        status: err.status,
        code: err.code,
        trackingId: err.trackingId,
        hint: 'the Zoom authorization is no longer valid (revoked, expired or superseded); re-authorise the Zoom app for this connector.',
      });
    }
    throw err;
  }
}

/** An access token as the owner hands it out. */
export interface OwnedAccessToken {
  token: string;
  expiresAt: number;
  scopes: string[];
}

/** The durable owner of a connector's tokens. `stale` is a token Zoom just rejected. */
export interface TokenOwner {
  accessToken(stale?: string): Promise<OwnedAccessToken>;
}

/** Short, non-reversible name of a token, so workflows can tell tokens apart without holding them. */
export function tokenFingerprint(token: string): string {
  return createHash('sha256').update(token).digest('hex').slice(0, 16);
}

const USE_UNTIL_BEFORE_EXPIRY_MS = 2 * 60_000;

/** A process's view of a user-OAuth connector: caches the owner's token; one request in flight. */
export class UserOAuthTokenProvider implements TokenProvider {
  private cached?: OwnedAccessToken;
  private inFlight?: Promise<OwnedAccessToken>;
  private rejected?: string;

  constructor(
    private readonly owner: TokenOwner,
    private readonly now: () => number = Date.now,
  ) {}

  async getToken(): Promise<string> {
    return (await this.current()).token;
  }

  async grantedScopes(): Promise<string[]> {
    return (await this.current()).scopes;
  }

  invalidate(token: string): void {
    if (this.cached?.token !== token) return;
    this.cached = undefined;
    this.rejected = token;
  }

  private current(): Promise<OwnedAccessToken> {
    if (this.cached && this.cached.expiresAt - USE_UNTIL_BEFORE_EXPIRY_MS > this.now())
      return Promise.resolve(this.cached);
    this.inFlight ??= this.owner
      .accessToken(this.rejected)
      .then((t) => (this.cached = t))
      .finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }
}
