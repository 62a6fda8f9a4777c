import axios, { AxiosInstance } from 'axios';
import { ZoomAuthError, ZoomUnavailableError } from './errors';
import { zoomErrorFromResponse } from './error-mapping';
import { redactSecrets } from './redact';

/** Where a Zoom client gets its bearer token. */
export interface TokenProvider {
  /** A token valid for at least a few minutes; concurrent callers share one fetch. */
  getToken(): Promise<string>;
  /** Zoom rejected `token` (code 124): forget it so the next getToken fetches a new one. */
  invalidate(token: string): void;
  /** Scopes granted to the current token, as Zoom listed them. */
  grantedScopes(): Promise<string[]>;
}

export interface ServerToServerCredentials {
  accountId: string;
  clientId: string;
  clientSecret: string;
  /** Zoom's token endpoint, e.g. https://zoom.us/oauth/token */
  tokenUrl: string;
  /** Called before each token request (metrics). */
  onTokenRequest?: () => void;
}

interface CachedToken {
  value: string;
  expiresAt: number;
  scopes: string[];
}

/** Refresh this long before Zoom's expiry so no call races the deadline. */
const REFRESH_EARLY_MS = 5 * 60_000;

/**
 * Zoom Server-to-Server OAuth (`grant_type=account_credentials`): one cached token per connector
 * per process, one fetch in flight at a time, refreshed before it expires. S2S tokens have no
 * refresh token; fetching a new one is always allowed.
 */
export class ServerToServerTokenProvider implements TokenProvider {
  private cached?: CachedToken;
  private inFlight?: Promise<CachedToken>;
  private readonly http: AxiosInstance;

  constructor(
    private readonly creds: ServerToServerCredentials,
    private readonly now: () => number = Date.now,
    http?: AxiosInstance,
  ) {
    this.http = http ?? axios.create({ timeout: 15_000 });
  }

  async getToken(): Promise<string> {
    return (await this.current()).value;
  }

  async grantedScopes(): Promise<string[]> {
    return (await this.current()).scopes;
  }

  invalidate(token: string): void {
    if (this.cached?.value === token) this.cached = undefined;
  }

  private async current(): Promise<CachedToken> {
    if (this.cached && this.cached.expiresAt - REFRESH_EARLY_MS > this.now()) return this.cached;
    this.inFlight ??= this.fetchToken().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  private async fetchToken(): Promise<CachedToken> {
    const { accountId, clientId, clientSecret, tokenUrl } = this.creds;
    this.creds.onTokenRequest?.();
    const granted = await requestTokens(
      this.http,
      { tokenUrl, clientId, clientSecret },
      { grant_type: 'account_credentials', account_id: accountId },
      'Zoom refused the Server-to-Server credentials: check ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET, and that the app is activated.',
    );
    this.cached = { value: granted.accessToken, expiresAt: this.now() + granted.expiresInMs, scopes: granted.scopes };
    return this.cached;
  }
}

export interface OAuthClientCredentials {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
}

export interface GrantedTokens {
  accessToken: string;
  refreshToken?: string;
  expiresInMs: number;
  scopes: string[];
}

/**
 * One call to Zoom's token endpoint (Basic auth, form body). A refusal by Zoom (4xx other than 429)
 * becomes ZoomAuthError with `refusedHint`; outages and 429s keep their retryable types.
 */
export async function requestTokens(
  http: AxiosInstance,
  creds: OAuthClientCredentials,
  params: Record<string, string>,
  refusedHint: string,
): Promise<GrantedTokens> {
  // Never repeated in an error, whatever the answer echoes: the client secret (also as Basic
  // credentials) and the grant's secrets (refresh token, authorization code, PKCE verifier).
  const secrets = [
    creds.clientSecret,
    Buffer.from(`${creds.clientId}:${creds.clientSecret}`).toString('base64'),
    params.refresh_token,
    params.code,
    params.code_verifier,
  ];
  let res;
  try {
    res = await http.post(creds.tokenUrl, new URLSearchParams(params).toString(), {
      auth: { username: creds.clientId, password: creds.clientSecret },
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      validateStatus: () => true,
    });
  } catch (err) {
    throw new ZoomUnavailableError(
      `Zoom token request to ${creds.tokenUrl} failed: ${redactSecrets(axiosReason(err), secrets)}`,
    );
  }
  if (res.status !== 200) {
    const error = zoomErrorFromResponse({
      status: res.status,
      body: res.data,
      headers: res.headers as Record<string, string>,
      operation: 'token request',
      secrets,
    });
    if (res.status < 500 && res.status !== 429) {
      throw new ZoomAuthError(error.message.replace(/ Hint: .*$/, ''), {
        status: error.status,
        code: error.code,
        trackingId: error.trackingId,
        hint: refusedHint,
      });
    }
    throw error;
  }
  const body = res.data as { access_token?: unknown; refresh_token?: unknown; expires_in?: unknown; scope?: unknown };
  if (typeof body.access_token !== 'string' || typeof body.expires_in !== 'number') {
    throw new ZoomUnavailableError('Zoom token response lacked access_token or expires_in.');
  }
  return {
    accessToken: body.access_token,
    refreshToken: typeof body.refresh_token === 'string' ? body.refresh_token : undefined,
    expiresInMs: body.expires_in * 1000,
    scopes: typeof body.scope === 'string' ? body.scope.split(' ').filter(Boolean) : [],
  };
}

/** The failure's code and message, never the request (its config holds the client secret). */
function axiosReason(err: unknown): string {
  const code = (err as { code?: string }).code;
  return code ?? (err instanceof Error ? err.message : 'network error');
}
