import { IncomingMessage, ServerResponse } from 'node:http';

/** Default request body limit: 1 MiB. */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;

/**
 * An answer a handler gives by throwing: the server sends `status` with `body` as JSON.
 * Messages are shown to callers, so they never include secrets.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
    readonly headers: Record<string, string> = {},
  ) {
    super(typeof body.error === 'string' ? body.error : `HTTP ${status}`);
    this.name = 'HttpError';
  }
}

/**
 * Reads the whole request body, up to `limit` bytes. A larger body is a 413: it is drained (not
 * kept) so the client can read the answer, and the connection is cut if it goes on far beyond
 * the limit.
 */
export function readBody(req: IncomingMessage, limit = DEFAULT_BODY_LIMIT): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = Number(req.headers['content-length'] ?? 0) > limit;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) tooLarge = true;
      if (!tooLarge) chunks.push(chunk);
      else if (size > limit * 8) req.destroy();
    });
    req.on('end', () => (tooLarge ? reject(payloadTooLarge(limit)) : resolve(Buffer.concat(chunks))));
    req.on('error', reject);
    // Destroyed by us above, or the client went away: nothing will be answered.
    req.on('close', () => {
      if (!req.complete)
        reject(
          tooLarge ? payloadTooLarge(limit) : new Error('the client closed the connection before the body was read'),
        );
    });
  });
}

function payloadTooLarge(limit: number): HttpError {
  return new HttpError(413, { error: `Request body too large: the limit is ${limit} bytes.` }, { connection: 'close' });
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

/** A header's single value: repeated headers (an array) count as absent-or-ambiguous and give undefined. */
export function headerValue(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return typeof v === 'string' ? v : undefined;
}

/** Path parameters: `:name` segments of a string path, or named groups of a RegExp path. */
export type RouteParams = Record<string, string>;

/**
 * One HTTP route. `path` is matched against the whole pathname (no query string): a string with
 * `:name` segments (`/v1/incidents/:id`) or a RegExp (anchor it yourself). A handler authenticates
 * its own requests (each kind of caller signs differently) and may throw HttpError.
 */
export interface Route {
  method: string;
  path: string | RegExp;
  handle(req: IncomingMessage, res: ServerResponse, params: RouteParams): Promise<void> | void;
}

export interface ServeLogger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}
