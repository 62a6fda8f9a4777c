import axios, { AxiosInstance } from 'axios';
import { ZoomAuthError, ZoomUnavailableError } from './errors';
import { zoomErrorFromResponse } from './error-mapping';

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
    let res;
    try {
      res = await this.http.post(tokenUrl, new URLSearchParams({ grant_type: 'account_credentials', account_id: accountId }).toString(), {
        auth: { username: clientId, password: clientSecret },
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        validateStatus: () => true,
      });
    } catch (err) {
      throw new ZoomUnavailableError(`Zoom token request to ${tokenUrl} failed: ${(err as Error).message}`);
    }
    if (res.status !== 200) {
      const error = zoomErrorFromResponse({ status: res.status, body: res.data, headers: res.headers as Record<string, string>, operation: 'token request' });
      if (res.status < 500 && res.status !== 429) {
        throw new ZoomAuthError(error.message.replace(/ Hint: .*$/, ''), {
          status: error.status,
          code: error.code,
          trackingId: error.trackingId,
          hint: 'Zoom refused the Server-to-Server credentials: check ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET, and that the app is activated.',
        });
      }
      throw error;
    }
    const body = res.data as { access_token?: unknown; expires_in?: unknown; scope?: unknown };
    if (typeof body.access_token !== 'string' || typeof body.expires_in !== 'number') {
      throw new ZoomUnavailableError('Zoom token response lacked access_token or expires_in.');
    }
    this.cached = {
      value: body.access_token,
      expiresAt: this.now() + body.expires_in * 1000,
      scopes: typeof body.scope === 'string' ? body.scope.split(' ').filter(Boolean) : [],
    };
    return this.cached;
  }
}
