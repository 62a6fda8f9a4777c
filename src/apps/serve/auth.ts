import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { ConfigError } from '../../platform/config';

/**
 * Authentication of intake requests. Three credentials, each used only when configured:
 *
 * - our signature: `x-zr-timestamp: <unix seconds>` and `x-zr-signature: v1=<hex>`, the hex
 *   HMAC-SHA256 of `${timestamp}.${rawBody}` under the intake secret; the timestamp must be within
 *   5 minutes of now (either way) and a signature is accepted once. Reads have no body, so a read
 *   signs `GET <path>` in its place (signIntakeRead): the signature then names what it may read,
 *   and, reads changing nothing, it may be repeated within the window;
 * - a bearer token: `Authorization: Bearer <token>`, for tools that cannot sign;
 * - on the PagerDuty route, PagerDuty's own `x-pagerduty-signature: v1=<hex>[,v1=<hex>…]`, the hex
 *   HMAC-SHA256 of the raw body under the webhook subscription's secret (several during rotation).
 *
 * A request must present at least one configured credential, and every configured credential it
 * presents must verify. Reasons never contain a secret, a token or an expected signature.
 */

export const TIMESTAMP_HEADER = 'x-zr-timestamp';
export const SIGNATURE_HEADER = 'x-zr-signature';
export const PAGERDUTY_SIGNATURE_HEADER = 'x-pagerduty-signature';
export const REPLAY_WINDOW_SECONDS = 300;
/** Secrets and tokens shorter than this are refused at start: they can be guessed. */
export const MIN_SECRET_LENGTH = 16;

export interface IntakeAuthConfig {
  /** Shared secret for `x-zr-signature` (ZR_INTAKE_SECRET). */
  secret?: string;
  /** Bearer token (ZR_INTAKE_TOKEN). */
  token?: string;
  /** PagerDuty webhook subscription secret (ZR_PAGERDUTY_SECRET), for `/v1/pagerduty`. */
  pagerdutySecret?: string;
  /** Accept unauthenticated requests; honoured only when neither secret nor token is set. Local development only. */
  insecure?: boolean;
  /** Replay window in seconds (default 300). */
  toleranceSeconds?: number;
}

type Env = Record<string, string | undefined>;

/**
 * Intake authentication from ZR_INTAKE_SECRET, ZR_INTAKE_TOKEN, ZR_PAGERDUTY_SECRET and
 * ZR_INTAKE_INSECURE=1. Refuses to run open unless told to.
 */
export function intakeAuthFromEnv(env: Env = process.env): IntakeAuthConfig {
  const config: IntakeAuthConfig = {
    secret: env.ZR_INTAKE_SECRET || undefined,
    token: env.ZR_INTAKE_TOKEN || undefined,
    pagerdutySecret: env.ZR_PAGERDUTY_SECRET || undefined,
  };
  for (const [name, value] of [
    ['ZR_INTAKE_SECRET', config.secret],
    ['ZR_INTAKE_TOKEN', config.token],
    ['ZR_PAGERDUTY_SECRET', config.pagerdutySecret],
  ] as const) {
    if (value !== undefined && value.length < MIN_SECRET_LENGTH) {
      throw new ConfigError(
        `${name} is too short: use at least ${MIN_SECRET_LENGTH} characters (e.g. \`openssl rand -hex 32\`).`,
      );
    }
  }
  if (!config.secret && !config.token) {
    if (env.ZR_INTAKE_INSECURE === '1') return { ...config, insecure: true };
    throw new ConfigError(
      'The intake needs credentials: set ZR_INTAKE_SECRET (HMAC-signed requests) and/or ZR_INTAKE_TOKEN (Authorization: Bearer), ' +
        'e.g. `export ZR_INTAKE_SECRET=$(openssl rand -hex 32)`. For local development only, ZR_INTAKE_INSECURE=1 accepts unauthenticated requests.',
    );
  }
  return config;
}

/** Headers that sign `body` for the intake: `x-zr-timestamp` and `x-zr-signature`. */
export function signIntakeRequest(
  secret: string,
  body: string | Buffer,
  now = Date.now(),
): Record<typeof TIMESTAMP_HEADER | typeof SIGNATURE_HEADER, string> {
  const timestamp = String(Math.floor(now / 1000));
  return { [TIMESTAMP_HEADER]: timestamp, [SIGNATURE_HEADER]: `v1=${intakeHmac(secret, timestamp, body)}` };
}

/** Headers that sign a read (`GET path`, path with its query string as requested). */
export function signIntakeRead(
  secret: string,
  path: string,
  now = Date.now(),
): Record<typeof TIMESTAMP_HEADER | typeof SIGNATURE_HEADER, string> {
  return signIntakeRequest(secret, readSigningBody(path), now);
}

/** What a read signs in place of a body. */
export function readSigningBody(path: string): string {
  return `GET ${path}`;
}

/** PagerDuty's `x-pagerduty-signature` value for `body` (what PagerDuty sends; for tests and tools). */
export function signPagerDutyBody(secret: string, body: string | Buffer): string {
  return `v1=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

function intakeHmac(secret: string, timestamp: string, body: string | Buffer): string {
  return createHmac('sha256', secret).update(`${timestamp}.`, 'utf8').update(body).digest('hex');
}

export type AuthResult =
  | {
      ok: true;
      /** The credentials that verified (empty in insecure mode). */
      schemes: ('signature' | 'token' | 'pagerduty')[];
      /**
       * Forget this request's signature, so the same signed request may be sent again. Called
       * when the request was not acted on (Temporal did not confirm it), never after a 2xx.
       */
      release(): void;
    }
  | { ok: false; reason: string };

const HEX_SIGNATURE = /^v1=([0-9a-f]{64})$/i;
const TIMESTAMP_FORMAT = /^\d{1,12}$/;

export class IntakeAuthenticator {
  /** Signatures accepted recently, with when they stop mattering (their timestamp leaves the window). */
  private readonly seen = new Map<string, number>();
  private readonly tolerance: number;

  constructor(private readonly config: IntakeAuthConfig) {
    this.tolerance = config.toleranceSeconds ?? REPLAY_WINDOW_SECONDS;
  }

  /** Whether requests without credentials pass: only in insecure mode with no secret or token configured. */
  get open(): boolean {
    return !this.config.secret && !this.config.token && !!this.config.insecure;
  }

  get usesToken(): boolean {
    return !!this.config.token;
  }

  /**
   * `signed` is what the signature covers: the raw body, or readSigningBody(path) for a read.
   * `repeatable` (reads) skips the once-only rule.
   */
  authenticate(
    headers: IncomingHttpHeaders,
    signed: Buffer,
    options: { pagerduty?: boolean; repeatable?: boolean; now?: number } = {},
  ): AuthResult {
    const now = options.now ?? Date.now();
    const schemes: ('signature' | 'token' | 'pagerduty')[] = [];
    const notConfigured: string[] = [];
    let replay: { key: string; until: number } | undefined;

    const hasSignature = headers[SIGNATURE_HEADER] !== undefined || headers[TIMESTAMP_HEADER] !== undefined;
    if (hasSignature && this.config.secret) {
      const result = this.verifySignature(headers, signed, now);
      if (typeof result === 'string') return { ok: false, reason: result };
      if (!options.repeatable) replay = result;
      schemes.push('signature');
    } else if (hasSignature) notConfigured.push(`${SIGNATURE_HEADER} was sent but no intake secret is configured`);

    if (headers.authorization !== undefined && this.config.token) {
      const reason = this.verifyToken(headers.authorization);
      if (reason) return { ok: false, reason };
      schemes.push('token');
    } else if (headers.authorization !== undefined)
      notConfigured.push('Authorization was sent but no intake token is configured');

    // PagerDuty always signs; without a configured secret its header is not a credential here.
    if (options.pagerduty && headers[PAGERDUTY_SIGNATURE_HEADER] !== undefined && this.config.pagerdutySecret) {
      const reason = verifyPagerDutySignature(this.config.pagerdutySecret, headers[PAGERDUTY_SIGNATURE_HEADER], signed);
      if (reason) return { ok: false, reason };
      schemes.push('pagerduty');
    }

    if (schemes.length === 0 && !this.open) {
      return {
        ok: false,
        reason: [`missing credentials: ${this.expected(options.pagerduty)}`, ...notConfigured].join('; '),
      };
    }
    if (replay) {
      // Checked last, so a request refused for another reason does not use up its signature.
      this.forgetExpired(now);
      if (this.seen.has(replay.key))
        return { ok: false, reason: 'replayed request: this signature was already used; sign each request afresh' };
      this.seen.set(replay.key, replay.until);
    }
    const key = replay?.key;
    return { ok: true, schemes, release: () => void (key !== undefined && this.seen.delete(key)) };
  }

  private expected(pagerduty?: boolean): string {
    const ways = [
      this.config.secret && `sign it (${TIMESTAMP_HEADER} and ${SIGNATURE_HEADER})`,
      this.config.token && 'send Authorization: Bearer <token>',
      pagerduty && this.config.pagerdutySecret && `send PagerDuty's ${PAGERDUTY_SIGNATURE_HEADER}`,
    ].filter(Boolean);
    return ways.join(' or ');
  }

  /** The signature as a replay key, with when it leaves the window (ms), or the reason it fails. */
  private verifySignature(
    headers: IncomingHttpHeaders,
    rawBody: Buffer,
    now: number,
  ): { key: string; until: number } | string {
    const timestamp = headers[TIMESTAMP_HEADER];
    const signature = headers[SIGNATURE_HEADER];
    if (timestamp === undefined) return `missing ${TIMESTAMP_HEADER} header`;
    if (signature === undefined) return `missing ${SIGNATURE_HEADER} header`;
    if (typeof timestamp !== 'string' || !TIMESTAMP_FORMAT.test(timestamp))
      return `malformed ${TIMESTAMP_HEADER} header: expected unix seconds`;
    const given = typeof signature === 'string' ? HEX_SIGNATURE.exec(signature.trim()) : null;
    if (!given) return `malformed ${SIGNATURE_HEADER} header: expected v1=<64 hex digits>`;
    if (Math.abs(now / 1000 - Number(timestamp)) > this.tolerance) {
      return `stale request: ${TIMESTAMP_HEADER} is more than ${this.tolerance}s from the server's clock`;
    }
    const expected = Buffer.from(intakeHmac(this.config.secret!, timestamp, rawBody), 'hex');
    if (!safeEqual(Buffer.from(given[1], 'hex'), expected)) return 'signature mismatch';
    return { key: given[1].toLowerCase(), until: (Number(timestamp) + this.tolerance) * 1000 };
  }

  private verifyToken(header: string): string | undefined {
    const match = /^Bearer +(\S+) *$/i.exec(header);
    if (!match) return 'malformed Authorization header: expected "Bearer <token>"';
    // Compare digests: equal length whatever was sent, so the comparison reveals nothing about the token's length.
    if (!timingSafeEqual(sha256(match[1]), sha256(this.config.token!))) return 'invalid bearer token';
    return undefined;
  }

  /**
   * Drops signatures whose timestamps have left the window (the timestamp check refuses them now).
   * Entries are in arrival order, which is nearly expiry order: stopping at the first live one keeps
   * this cheap, at the cost of keeping a few expired entries a little longer.
   */
  private forgetExpired(now: number): void {
    for (const [key, until] of this.seen) {
      if (until >= now) break;
      this.seen.delete(key);
    }
  }
}

/** Checks `x-pagerduty-signature`: at least one `v1=` entry must match. Returns the reason it fails, if it does. */
export function verifyPagerDutySignature(
  secret: string,
  header: string | string[] | undefined,
  rawBody: Buffer | string,
): string | undefined {
  if (typeof header !== 'string' || header.trim() === '')
    return `missing or repeated ${PAGERDUTY_SIGNATURE_HEADER} header`;
  const candidates = header
    .split(',')
    .map((s) => HEX_SIGNATURE.exec(s.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Buffer.from(m[1], 'hex'));
  if (candidates.length === 0) return `malformed ${PAGERDUTY_SIGNATURE_HEADER} header: expected v1=<64 hex digits>`;
  const expected = createHmac('sha256', secret).update(rawBody).digest();
  // Compare with every candidate (no early exit) so timing does not tell which one matched.
  let matched = false;
  for (const candidate of candidates) matched = safeEqual(candidate, expected) || matched;
  return matched ? undefined : 'PagerDuty signature mismatch';
}

/** timingSafeEqual throws on different lengths; the length of a digest is no secret. */
function safeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
