import { randomBytes, timingSafeEqual } from 'node:crypto';
import { IncomingMessage, ServerResponse } from 'node:http';
import type { Client } from '@temporalio/client';
import { ConfigError, ZoomConnectorConfig } from '../../platform/config';
import { installUserTokens } from '../../temporal/connectors';
import { SecretBox } from '../../platform/secrets';
import { GrantedTokens } from '../../zoom/auth';
import { ZoomError } from '../../zoom/errors';
import { authorizationUrl, exchangeCode, pkcePair, UserOAuthApp } from '../../zoom/user-oauth';
import { Route, ServeLogger } from './http';

/**
 * Installing a user-level Zoom app in a browser: `GET /zoom/install` sends the user to Zoom's
 * consent page, and Zoom sends them back to `GET /zoom/oauth/callback` with a code, which we
 * exchange (with the PKCE verifier) and hand, sealed, to the connector's owner workflow.
 *
 * Both routes are for browsers, so they carry no intake credentials. The callback is bound to the
 * browser that started the install: `state` must be one we issued, unexpired, unused, and equal to
 * the `zr_oauth_state` cookie we set with it. Anyone who can open /zoom/install can connect a Zoom
 * account, so expose these routes only where that is acceptable (e.g. behind your SSO proxy).
 */
export interface OAuthInstallOptions {
  client: Client;
  /** Task queue of the worker that runs the connector workflow. */
  taskQueue: string;
  secrets: SecretBox;
  /** A user-OAuth connector (auth 'user'). */
  connector: ZoomConnectorConfig;
  /** Public URL of the callback, as registered with the Zoom app, e.g. https://zr.example.com/zoom/oauth/callback */
  redirectUri: string;
  /** Zoom's consent page; default: the token URL's origin + /oauth/authorize. */
  authorizeUrl?: string;
  /** How long an install may take from start to callback (default 10 minutes). */
  stateTtlMs?: number;
  logger?: ServeLogger;
}

export const INSTALL_PATH = '/zoom/install';
export const CALLBACK_PATH = '/zoom/oauth/callback';
export const STATE_COOKIE = 'zr_oauth_state';
const DEFAULT_STATE_TTL_MS = 10 * 60_000;
/** Installs waiting for their callback; the oldest is dropped beyond this, so a flood cannot grow memory. */
const MAX_PENDING = 1000;

interface PendingInstall {
  verifier: string;
  expiresAt: number;
  used: boolean;
}

export function oauthInstallRoutes(options: OAuthInstallOptions): Route[] {
  const { connector } = options;
  if (connector.auth !== 'user')
    throw new ConfigError(
      `Zoom connector ${connector.name} is not a user-OAuth app (ZOOM_AUTH=user): there is nothing to install.`,
    );
  const app: UserOAuthApp = {
    tokenUrl: connector.tokenUrl,
    clientId: connector.clientId,
    clientSecret: connector.clientSecret,
    authorizeUrl: options.authorizeUrl ?? new URL('/oauth/authorize', connector.tokenUrl).toString(),
    redirectUri: options.redirectUri,
  };
  const ttlMs = options.stateTtlMs ?? DEFAULT_STATE_TTL_MS;
  const log = options.logger ?? console;
  // A cookie marked Secure is not sent back over plain http (local development).
  const secure = new URL(options.redirectUri).protocol === 'https:' ? '; Secure' : '';
  const pending = new Map<string, PendingInstall>();

  function forgetExpired(now: number): void {
    for (const [state, install] of pending) if (install.expiresAt <= now) pending.delete(state);
    while (pending.size >= MAX_PENDING) pending.delete(pending.keys().next().value!);
  }

  function startInstall(_req: IncomingMessage, res: ServerResponse): void {
    const now = Date.now();
    forgetExpired(now);
    const state = randomBytes(32).toString('base64url');
    const { verifier, challenge } = pkcePair();
    pending.set(state, { verifier, expiresAt: now + ttlMs, used: false });
    res.writeHead(302, {
      location: authorizationUrl(app, state, challenge),
      'set-cookie': `${STATE_COOKIE}=${state}; Path=/zoom; Max-Age=${Math.ceil(ttlMs / 1000)}; HttpOnly; SameSite=Lax${secure}`,
      'cache-control': 'no-store',
    });
    res.end();
  }

  /** The pending install this callback finishes, or the reason it may not (nothing is exchanged then). */
  function claim(req: IncomingMessage, state: string | null): PendingInstall | string {
    if (!state) return 'The callback has no state parameter. Start again from /zoom/install.';
    const install = pending.get(state);
    if (!install)
      return 'Unknown install state: this link was not issued here (or the server restarted). Start again from /zoom/install.';
    if (install.used) return 'This install link was already used. Start again from /zoom/install.';
    // Spent on first presentation, whatever follows: a state is good for one attempt only.
    install.used = true;
    if (install.expiresAt <= Date.now())
      return `The install took longer than ${Math.round(ttlMs / 1000)} s and expired. Start again from /zoom/install.`;
    const cookie = readCookie(req, STATE_COOKIE);
    if (!cookie || !sameText(cookie, state))
      return 'This install was started in another browser (the state cookie does not match). Start again from /zoom/install in this browser.';
    return install;
  }

  async function finishInstall(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const query = new URL(req.url ?? '/', 'http://localhost').searchParams;
    const install = claim(req, query.get('state'));
    const clearCookie = { 'set-cookie': `${STATE_COOKIE}=; Path=/zoom; Max-Age=0; HttpOnly; SameSite=Lax${secure}` };
    if (typeof install === 'string') return sendPage(res, 400, 'Zoom not connected', install, clearCookie);

    const zoomError = query.get('error');
    if (zoomError) {
      // Zoom's own word only when it looks like an OAuth error code; never its free text.
      const what = /^[a-z_]{1,64}$/.test(zoomError) ? zoomError : 'an unrecognised error';
      const why =
        zoomError === 'access_denied' ? 'the Zoom user declined to authorise the app' : `Zoom answered ${what}`;
      return sendPage(
        res,
        400,
        'Zoom not connected',
        `Zoom did not authorise connector ${connector.name}: ${why}.`,
        clearCookie,
      );
    }
    const code = query.get('code');
    if (!code) return sendPage(res, 400, 'Zoom not connected', 'The callback has no code parameter.', clearCookie);

    let granted: GrantedTokens;
    try {
      granted = await exchangeCode(app, code, install.verifier);
    } catch (err) {
      const reason = scrub(err instanceof ZoomError ? err.message : 'the token request failed', [
        code,
        app.clientSecret,
        install.verifier,
      ]);
      log.warn(`serve: Zoom install for connector ${connector.name} failed: ${reason}`);
      return sendPage(
        res,
        502,
        'Zoom not connected',
        `Zoom refused to exchange the authorisation code for tokens: ${reason}`,
        clearCookie,
      );
    }
    try {
      await installUserTokens(options.client, options.taskQueue, connector.name, options.secrets, granted);
    } catch (err) {
      log.error(
        `serve: Zoom install for connector ${connector.name}: tokens not handed to the connector workflow: ${err instanceof Error ? err.message : String(err)}`,
      );
      return sendPage(
        res,
        503,
        'Zoom not connected',
        `Zoom authorised the app, but connector ${connector.name} could not be updated (Temporal unavailable). Start again from /zoom/install.`,
        clearCookie,
      );
    }
    log.info(
      `serve: Zoom connector ${connector.name} installed (scopes: ${granted.scopes.join(' ') || 'none listed'})`,
    );
    sendPage(res, 200, 'Zoom connected', `Zoom connected: connector ${connector.name}`, clearCookie);
  }

  return [
    { method: 'GET', path: INSTALL_PATH, handle: startInstall },
    { method: 'GET', path: CALLBACK_PATH, handle: finishInstall },
  ];
}

function readCookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return undefined;
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Belt and braces: Zoom's messages do not echo the request, but a secret must never reach the page. */
function scrub(text: string, secrets: string[]): string {
  return secrets.reduce((t, s) => (s ? t.split(s).join('[redacted]') : t), text);
}

function sendPage(
  res: ServerResponse,
  status: number,
  title: string,
  message: string,
  headers: Record<string, string>,
): void {
  const html = `<!doctype html>\n<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>\n<body><p>${escapeHtml(message)}</p></body></html>\n`;
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(html),
    'cache-control': 'no-store',
    // The callback URL holds the code: never send it on as a Referer; the page needs nothing loaded.
    'referrer-policy': 'no-referrer',
    'content-security-policy': "default-src 'none'",
    ...headers,
  });
  res.end(html);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
