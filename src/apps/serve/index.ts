import { createServer, IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import type { MetricMeter } from '@temporalio/common';
import { ConfigError } from '../../platform/config';
import { IntakeAuthenticator } from './auth';
import { HttpError, Route, RouteParams, sendJson } from './http';
import { intakeRoutes, IntakeOptions } from './intake';

export type { Route, RouteParams, ServeLogger } from './http';
export { DEFAULT_BODY_LIMIT, HttpError, readBody, sendJson } from './http';
export type { IntakeAuthConfig } from './auth';
export { intakeAuthFromEnv, IntakeAuthenticator, signIntakeRead, signIntakeRequest, signPagerDutyBody } from './auth';
export type { IntakeOptions } from './intake';
export { intakeRoutes } from './intake';

export const DEFAULT_SERVE_PORT = 9180;
export const DEFAULT_SERVE_HOST = '127.0.0.1';

export interface ServeAppOptions extends IntakeOptions {
  /** More routes (Zoom webhooks, codec…), matched after the intake's. */
  routes?: Route[];
  /** Counts every answer by route and status (events accepted, rejected by reason, webhook deliveries). */
  meter?: MetricMeter;
}

export interface ServeOptions extends ServeAppOptions {
  /** Default 9180; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
}

export interface ServeApp {
  routes: Route[];
  /** The request listener, for `http.createServer(app.handler)`. */
  handler: RequestListener;
}

export interface RunningServe {
  /** Base URL, e.g. http://127.0.0.1:9180 */
  url: string;
  server: Server;
  close(): Promise<void>;
}

interface CompiledRoute {
  route: Route;
  pattern: RegExp;
}

/** The intake routes plus `options.routes` behind one router (404/405 as JSON, 500 for bugs). */
export function createServeApp(options: ServeAppOptions): ServeApp {
  const log = options.logger ?? console;
  const routes = [
    {
      method: 'GET',
      path: '/healthz',
      handle: (_req: IncomingMessage, res: ServerResponse) => sendJson(res, 200, { ok: true }),
    },
    // Ready when Temporal answers: an event accepted now can be recorded.
    {
      method: 'GET',
      path: '/readyz',
      handle: async (_req: IncomingMessage, res: ServerResponse) => {
        const ready = await withTimeout(options.client.connection.workflowService.getSystemInfo({}), 2000).then(
          () => true,
          () => false,
        );
        sendJson(res, ready ? 200 : 503, { ready });
      },
    },
    ...intakeRoutes({ ...options, logger: log }),
    ...(options.routes ?? []),
  ];
  const compiled: CompiledRoute[] = routes.map((route) => ({ route, pattern: compilePath(route.path) }));

  const answers = options.meter?.createCounter(
    'zoom_runbooks_serve_responses',
    'responses',
    'serve answers by route and status',
  );
  const handler: RequestListener = (req, res) => {
    if (answers)
      res.once('finish', () =>
        answers.add(1, { method: req.method ?? '', route: routeOf(compiled, req), status: String(res.statusCode) }),
      );
    void dispatch(compiled, req, res).catch((err: unknown) => {
      if (err instanceof HttpError) return sendJson(res, err.status, err.body, err.headers);
      // A bug or a dropped connection: say nothing about it to the caller.
      log.error(
        `serve: ${req.method} ${(req.url ?? '').split('?')[0]} failed: ${err instanceof Error ? err.message : String(err)}`,
      );
      if (!res.writableEnded && !res.destroyed) sendJson(res, 500, { error: 'Internal error' });
    });
  };
  return { routes, handler };
}

/** The route pattern a request matched (a metric label with few values), or "unmatched". */
function routeOf(routes: CompiledRoute[], req: IncomingMessage): string {
  const path = (req.url ?? '').split('?')[0];
  const hit = routes.find((r) => r.pattern.test(path));
  return hit ? String(hit.route.path) : 'unmatched';
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work,
    new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error('timed out')), ms))),
  ]).finally(() => clearTimeout(timer));
}

async function dispatch(routes: CompiledRoute[], req: IncomingMessage, res: ServerResponse): Promise<void> {
  // The request target is a path; "//host/…" would parse as a URL with a host, so it matches nothing.
  const target = req.url ?? '/';
  const path = target.startsWith('/') && !target.startsWith('//') ? new URL(target, 'http://localhost').pathname : '';
  const allowed = new Set<string>();
  for (const { route, pattern } of routes) {
    const match = pattern.exec(path);
    if (!match) continue;
    if (route.method !== req.method) {
      allowed.add(route.method);
      continue;
    }
    await route.handle(req, res, decodeParams(match.groups ?? {}));
    return;
  }
  if (allowed.size)
    throw new HttpError(
      405,
      { error: `Method ${req.method} is not allowed on ${path}; use ${[...allowed].join(', ')}.` },
      { allow: [...allowed].join(', ') },
    );
  throw new HttpError(404, { error: `No route for ${req.method} ${path}.` });
}

/** `/v1/incidents/:id` becomes ^/v1/incidents/(?<id>[^/]+)$; a RegExp is used as given. */
function compilePath(path: string | RegExp): RegExp {
  if (path instanceof RegExp) return path;
  const escaped = path
    .split('/')
    .map((segment) =>
      segment.startsWith(':') ? `(?<${segment.slice(1)}>[^/]+)` : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
    )
    .join('/');
  return new RegExp(`^${escaped}$`);
}

function decodeParams(groups: Record<string, string | undefined>): RouteParams {
  const params: RouteParams = {};
  for (const [key, value] of Object.entries(groups)) {
    if (value === undefined) continue;
    try {
      params[key] = decodeURIComponent(value);
    } catch {
      throw new HttpError(400, { error: `Malformed percent-encoding in the path (${key}).` });
    }
  }
  return params;
}

/** Starts the HTTP server. Refuses to serve unauthenticated requests anywhere but on loopback. */
export async function startServe(options: ServeOptions): Promise<RunningServe> {
  const host = options.host ?? DEFAULT_SERVE_HOST;
  const auth = options.auth instanceof IntakeAuthenticator ? options.auth : new IntakeAuthenticator(options.auth);
  if (auth.open && !isLoopback(host)) {
    throw new ConfigError(
      `Refusing to accept unauthenticated intake requests on ${host}: set ZR_INTAKE_SECRET or ZR_INTAKE_TOKEN, or listen on 127.0.0.1.`,
    );
  }
  const app = createServeApp({ ...options, auth });
  // Bounded request time guards against clients that trickle bytes to hold connections open.
  const server = createServer({ requestTimeout: 30_000, headersTimeout: 15_000 }, app.handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? DEFAULT_SERVE_PORT, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  (options.logger ?? console).info(`serve: listening on ${url}`);
  return {
    url,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // Requests still running after a grace period are cut off.
        setTimeout(() => server.closeAllConnections(), 5_000).unref();
      }),
  };
}

type Env = Record<string, string | undefined>;

/** Where to listen, from ZR_SERVE_PORT (default 9180) and ZR_SERVE_HOST (default 127.0.0.1). */
export function serveListenFromEnv(env: Env = process.env): { port: number; host: string } {
  const port = env.ZR_SERVE_PORT ? Number(env.ZR_SERVE_PORT) : DEFAULT_SERVE_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new ConfigError(`ZR_SERVE_PORT must be a port number (0-65535); got "${env.ZR_SERVE_PORT}".`);
  return { port, host: env.ZR_SERVE_HOST || DEFAULT_SERVE_HOST };
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}
