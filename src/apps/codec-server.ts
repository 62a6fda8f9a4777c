import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { Payload } from '@temporalio/common';
import { HttpError, readBody } from './serve/http';
import {
  EncryptionCodec,
  generateKey,
  KeyRing,
  keyRingFromEnv,
  payloadKeysRequired,
  PayloadKeyError,
} from '../temporal/codec';

/**
 * Temporal's codec-server protocol, so the Web UI and `temporal --codec-endpoint` can show
 * encrypted payloads: POST <base>/encode and <base>/decode take and return
 * `{"payloads": [{"metadata": {"<key>": "<base64>"}, "data": "<base64>"}]}` (Payloads in proto3
 * JSON, where every bytes value is base64). The Web UI calls it from the browser, hence CORS.
 */

export const DEFAULT_CODEC_ORIGINS = ['http://localhost:8233'];
export const DEFAULT_CODEC_BASE_PATH = '/codec';
/** The UI sends a page of history at a time; Temporal caps a payload at 2 MB. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

export interface CodecServerOptions {
  ring: KeyRing;
  /** When set, every encode/decode needs `Authorization: Bearer <token>`. */
  token?: string;
  /** Browser origins allowed to call (the Web UI's). Default http://localhost:8233. */
  origins?: string[];
  /** Default /codec: the endpoint to give the UI and CLI is <server>/codec. */
  basePath?: string;
}

export interface CodecRoute {
  method: 'POST' | 'OPTIONS';
  path: string;
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
}

/** Route handlers for any `node:http` server: POST and the CORS preflight for encode and decode. */
export function codecRoutes(options: CodecServerOptions): CodecRoute[] {
  const codec = new EncryptionCodec(options.ring);
  const origins = new Set(options.origins ?? DEFAULT_CODEC_ORIGINS);
  // Compare digests: equal lengths for timingSafeEqual, and the token's length does not leak.
  const tokenDigest = options.token ? sha256(options.token) : undefined;
  const base = (options.basePath ?? DEFAULT_CODEC_BASE_PATH).replace(/\/$/, '');

  const authorised = (req: IncomingMessage): boolean => {
    if (!tokenDigest) return true;
    const header = req.headers.authorization ?? '';
    const presented = header.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
    return timingSafeEqual(sha256(presented), tokenDigest);
  };

  const post = (path: string, run: (payloads: Payload[]) => Promise<Payload[]>): CodecRoute => ({
    method: 'POST',
    path,
    async handle(req, res) {
      if (!cors(req, res, origins)) return send(res, 403, { message: 'Origin not allowed.' });
      try {
        if (!authorised(req)) {
          res.setHeader('WWW-Authenticate', 'Bearer');
          return send(res, 401, { message: 'Missing or wrong bearer token.' });
        }
        const payloads = parsePayloads((await readBody(req, MAX_BODY_BYTES)).toString('utf8'));
        // X-Namespace is accepted (the UI and CLI send it); one key ring serves every namespace.
        send(res, 200, { payloads: (await run(payloads)).map(payloadToJson) });
      } catch (err) {
        if (err instanceof HttpError) return send(res, err.status, { message: err.message });
        // Codec errors name key ids only, never keys, so they are safe to return.
        if (err instanceof PayloadKeyError) return send(res, 400, { message: err.message });
        send(res, 500, { message: 'The codec failed.' });
      }
    },
  });

  const preflight = (path: string): CodecRoute => ({
    method: 'OPTIONS',
    path,
    async handle(req, res) {
      // Browsers send no credentials on a preflight, so it is answered without the token.
      if (!cors(req, res, origins)) return send(res, 403, { message: 'Origin not allowed.' });
      res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', 'Content-Type, X-Namespace, Authorization');
      res.setHeader('Access-Control-Max-Age', '600');
      res.writeHead(204).end();
    },
  });

  return [
    post(`${base}/encode`, (p) => codec.encode(p)),
    post(`${base}/decode`, (p) => codec.decode(p)),
    preflight(`${base}/encode`),
    preflight(`${base}/decode`),
  ];
}

/** Sets the CORS answer for an allowed origin; false when the request comes from another one. */
function cors(req: IncomingMessage, res: ServerResponse, origins: Set<string>): boolean {
  res.setHeader('Vary', 'Origin');
  const origin = req.headers.origin;
  if (!origin) return true; // not a browser (the CLI, curl)
  if (!origins.has(origin)) return false;
  res.setHeader('Access-Control-Allow-Origin', origin);
  // The UI's "Include cross-origin credentials" option needs this (and rules out "*").
  res.setHeader('Access-Control-Allow-Credentials', 'true');
  return true;
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
}

function parsePayloads(text: string): Payload[] {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new HttpError(400, { error: 'The body is not JSON.' });
  }
  if (!body || typeof body !== 'object' || Array.isArray(body) || Object.keys(body).some((k) => k !== 'payloads')) {
    throw new HttpError(400, { error: 'The body must be {"payloads": [...]}.' });
  }
  // Proto3 JSON leaves an empty list out: the temporal CLI posts {} for a query without input.
  const payloads = (body as { payloads?: unknown }).payloads ?? [];
  if (!Array.isArray(payloads)) throw new HttpError(400, { error: 'The body must be {"payloads": [...]}.' });
  return payloads.map((p: unknown, i) => {
    const { metadata = {}, data = '' } = (p ?? {}) as { metadata?: unknown; data?: unknown };
    if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))
      throw new HttpError(400, { error: `payloads[${i}].metadata must be an object.` });
    const bytes = (value: unknown, where: string): Buffer => {
      if (typeof value !== 'string' || !BASE64.test(value))
        throw new HttpError(400, { error: `${where} must be a base64 string.` });
      return Buffer.from(value, 'base64');
    };
    return {
      metadata: Object.fromEntries(
        Object.entries(metadata).map(([k, v]) => [k, bytes(v, `payloads[${i}].metadata.${k}`)]),
      ),
      data: bytes(data, `payloads[${i}].data`),
    };
  });
}

function payloadToJson(p: Payload): { metadata: Record<string, string>; data: string } {
  const b64 = (v: Uint8Array | null | undefined) => Buffer.from(v ?? []).toString('base64');
  return {
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, b64(v)])),
    data: b64(p.data),
  };
}

export interface StartCodecServerOptions extends CodecServerOptions {
  /** Default 0: any free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
}

/** A standalone codec server; `url` is the endpoint for the UI and CLI (it includes the base path). */
export async function startCodecServer(
  options: StartCodecServerOptions,
): Promise<{ url: string; close(): Promise<void> }> {
  const routes = codecRoutes(options);
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://codec').pathname;
    const route = routes.find((r) => r.method === req.method && r.path === path);
    if (route) return void route.handle(req, res);
    send(res, routes.some((r) => r.path === path) ? 405 : 404, { message: 'Use POST <endpoint>/encode or /decode.' });
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}${(options.basePath ?? DEFAULT_CODEC_BASE_PATH).replace(/\/$/, '')}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * `tsx src/apps/codec-server.ts` serves ZR_PAYLOAD_KEYS on ZR_CODEC_HOST:ZR_CODEC_PORT (127.0.0.1:8081),
 * with ZR_CODEC_TOKEN and ZR_CODEC_ORIGINS; `--generate-key [id]` prints a new key entry.
 */
async function main(args: string[], env = process.env): Promise<void> {
  if (args[0] === '--generate-key') return void console.log(generateKey(args[1]));
  const ring = keyRingFromEnv(env);
  if (!ring)
    throw new PayloadKeyError(
      'ZR_PAYLOAD_KEYS is not set: there is nothing to decode. Create a key with: npx tsx src/apps/codec-server.ts --generate-key',
    );
  const token = env.ZR_CODEC_TOKEN || undefined;
  // In production the server must not become an open decryption service.
  if (payloadKeysRequired(env) && !token)
    throw new PayloadKeyError('ZR_CODEC_TOKEN is required with NODE_ENV=production.');
  const origins = env.ZR_CODEC_ORIGINS
    ? env.ZR_CODEC_ORIGINS.split(',')
        .map((o) => o.trim())
        .filter(Boolean)
    : undefined;
  const server = await startCodecServer({
    ring,
    token,
    origins,
    port: Number(env.ZR_CODEC_PORT || 8081),
    host: env.ZR_CODEC_HOST || '127.0.0.1',
  });
  console.log(
    `Codec server on ${server.url} (keys: ${[ring.current, ...(ring.previous ?? [])].map((k) => k.id).join(', ')}; token ${token ? 'required' : 'not required'})`,
  );
  const stop = () => void server.close().then(() => process.exit(0));
  process.once('SIGINT', stop).once('SIGTERM', stop);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: Error) => {
    console.error(err instanceof PayloadKeyError ? err.message : (err.stack ?? err.message));
    process.exit(1);
  });
}
