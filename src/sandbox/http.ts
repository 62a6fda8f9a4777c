import { IncomingMessage, ServerResponse } from 'node:http';

/** A Zoom-style failure: the handler throws it, the server answers `{code, message}`. */
export class ZoomHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: number | undefined,
    message: string,
    readonly headers: Record<string, string> = {},
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export interface SandboxRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  rawBody: string;
  /** Headers a handler adds to whatever answer the request gets (e.g. X-RateLimit-*). */
  responseHeaders: Record<string, string>;
  /** JSON body when the content was JSON, form fields when it was a form. */
  json(): unknown;
  form(): URLSearchParams;
}

export interface SandboxResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Raw text answer (e.g. HTML); `body` is ignored when set. */
  text?: string;
  /** Indent the JSON `body` (for people reading it in a browser); Zoom's own API answers compact JSON. */
  pretty?: boolean;
}

export type Handler = (req: SandboxRequest) => SandboxResponse | Promise<SandboxResponse>;

export interface Route {
  method: string;
  pattern: RegExp;
  keys: string[];
  handler: Handler;
}

/** Builds a route from a path like `/v2/meetings/:meetingId`. */
export function route(method: string, path: string, handler: Handler): Route {
  const keys: string[] = [];
  const pattern = new RegExp(
    '^' +
      path.replace(/:([a-zA-Z]+)/g, (_, key: string) => {
        keys.push(key);
        return '([^/]+)';
      }) +
      '$',
  );
  return { method, pattern, keys, handler };
}

export function matchRoute(
  routes: Route[],
  method: string,
  path: string,
): { route: Route; params: Record<string, string> } | undefined {
  for (const r of routes) {
    if (r.method !== method) continue;
    const m = r.pattern.exec(path);
    if (!m) continue;
    const params: Record<string, string> = {};
    r.keys.forEach((k, i) => (params[k] = decodeURIComponent(m[i + 1])));
    return { route: r, params };
  }
  return undefined;
}

export const MAX_BODY_BYTES = 1_000_000;

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new ZoomHttpError(413, 300, 'Request body is too large.');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function parseJson(raw: string): unknown {
  if (raw.trim() === '') return {};
  try {
    return JSON.parse(raw);
  } catch {
    throw new ZoomHttpError(400, 300, 'Request Body should be a valid JSON object.');
  }
}

export function send(res: ServerResponse, out: SandboxResponse): void {
  const headers: Record<string, string> = { ...(out.headers ?? {}) };
  let payload = '';
  if (out.text !== undefined) {
    payload = out.text;
    headers['content-type'] ??= 'text/plain; charset=utf-8';
  } else if (out.body !== undefined) {
    payload = out.pretty ? `${JSON.stringify(out.body, null, 2)}\n` : JSON.stringify(out.body);
    headers['content-type'] = 'application/json;charset=UTF-8';
  }
  res.writeHead(out.status, headers);
  res.end(payload);
}
