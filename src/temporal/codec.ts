import type { webcrypto } from 'node:crypto';
import { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

/**
 * Encrypts every payload Temporal stores (workflow and activity inputs and results, signals,
 * queries, updates, and failure messages and stack traces) with AES-256-GCM, so the server and
 * anyone reading its history see only ciphertext.
 *
 * Failure messages reach the codec through the failure converter (failure-converter.ts), which
 * the workflow bundle carries. This module uses the Web Crypto global and imports nothing from the
 * project, so the codec server and the CLI load it without the worker's configuration.
 */

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
export const PAYLOAD_KEYS_ENV = 'ZR_PAYLOAD_KEYS';

const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
// Key ids travel in clear in payload metadata and in env entries ("id:key"), so keep them plain.
const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;

export interface PayloadKey {
  id: string;
  /** 32 random bytes. */
  key: Uint8Array;
}

/** New payloads are encrypted with `current`; `previous` keys still decrypt what they encrypted. */
export interface KeyRing {
  current: PayloadKey;
  previous?: PayloadKey[];
}

/** A payload-key problem: bad configuration, or a payload no configured key can open. Never carries key material. */
export class PayloadKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PayloadKeyError';
  }
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

export class EncryptionCodec implements PayloadCodec {
  private readonly currentId: string;
  private readonly keys = new Map<string, Promise<webcrypto.CryptoKey>>();

  constructor(ring: KeyRing) {
    this.currentId = ring.current.id;
    for (const { id, key } of [ring.current, ...(ring.previous ?? [])]) {
      if (!KEY_ID.test(id))
        throw new PayloadKeyError(`Payload key id "${id}" must be 1-64 letters, digits, ".", "_" or "-".`);
      if (key.length !== KEY_BYTES)
        throw new PayloadKeyError(`Payload key "${id}" must be ${KEY_BYTES} bytes; it is ${key.length}.`);
      if (this.keys.has(id)) throw new PayloadKeyError(`Payload key id "${id}" appears twice.`);
      // Non-extractable: once imported, the key cannot be read back out of this object.
      this.keys.set(id, crypto.subtle.importKey('raw', key, 'AES-GCM', false, ['encrypt', 'decrypt']));
    }
  }

  /** Ids this codec can decrypt with, current first. */
  get keyIds(): string[] {
    return [...this.keys.keys()];
  }

  encode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.all(payloads.map((p) => this.encrypt(p)));
  }

  decode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.all(payloads.map((p) => this.decrypt(p)));
  }

  private async encrypt(payload: Payload): Promise<Payload> {
    const id = this.currentId;
    const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
    // The whole payload, metadata included, so decode gives back exactly what was encoded.
    const plain = temporal.api.common.v1.Payload.encode(payload).finish();
    const sealed = await crypto.subtle.encrypt(
      { name: 'AES-GCM', iv, additionalData: utf8.encode(id) },
      await this.keys.get(id)!,
      plain,
    );
    const data = new Uint8Array(IV_BYTES + sealed.byteLength);
    data.set(iv);
    data.set(new Uint8Array(sealed), IV_BYTES);
    return { metadata: { encoding: utf8.encode(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: utf8.encode(id) }, data };
  }

  private async decrypt(payload: Payload): Promise<Payload> {
    const encoding = payload.metadata?.encoding;
    // Anything not ours (histories from before encryption was turned on) reads as it is.
    if (!encoding || fromUtf8.decode(encoding) !== ENCRYPTED_ENCODING) return payload;
    const rawId = payload.metadata?.[KEY_ID_METADATA];
    if (!rawId)
      throw new PayloadKeyError(
        `An encrypted payload has no "${KEY_ID_METADATA}" metadata, so it cannot be decrypted.`,
      );
    const id = fromUtf8.decode(rawId);
    const key = this.keys.get(id);
    if (!key) {
      throw new PayloadKeyError(
        `A payload was encrypted with key "${id}", which is not configured (known: ${this.keyIds.join(', ')}). Add it to ${PAYLOAD_KEYS_ENV} after the current key.`,
      );
    }
    const data = payload.data ?? new Uint8Array();
    let plain: ArrayBuffer;
    try {
      if (data.length < IV_BYTES + TAG_BYTES) throw new Error('too short');
      plain = await crypto.subtle.decrypt(
        { name: 'AES-GCM', iv: data.subarray(0, IV_BYTES), additionalData: rawId },
        await key,
        data.subarray(IV_BYTES),
      );
    } catch {
      throw new PayloadKeyError(
        `A payload encrypted with key "${id}" could not be decrypted: it was altered, or "${id}" is not the key that encrypted it.`,
      );
    }
    return temporal.api.common.v1.Payload.decode(new Uint8Array(plain));
  }
}

/**
 * The data converter for the Client, the Worker and bundleWorkflowCode. Pass
 * `failureConverterPath` to bundleWorkflowCode as well when the worker uses a prebuilt bundle, or
 * failures raised by workflow code keep their messages in clear.
 */
export function createDataConverter(ring: KeyRing): DataConverter {
  return { payloadCodecs: [new EncryptionCodec(ring)], failureConverterPath: failureConverterPath() };
}

/** The module that exports `failureConverter` (see failure-converter.ts). */
export function failureConverterPath(): string {
  return require.resolve('./failure-converter');
}

type Env = Record<string, string | undefined>;

/** Production refuses to start without payload keys; elsewhere no keys means no encryption. */
export function payloadKeysRequired(env: Env = process.env): boolean {
  return env.NODE_ENV === 'production';
}

/**
 * Reads ZR_PAYLOAD_KEYS: comma-separated "id:base64key" entries, the first being the current key.
 * Returns undefined when it is unset and not required. Errors name entries by id (or position),
 * never by content.
 */
export function keyRingFromEnv(env: Env = process.env): KeyRing | undefined {
  const raw = env[PAYLOAD_KEYS_ENV]?.trim();
  if (!raw) {
    if (payloadKeysRequired(env)) {
      throw new PayloadKeyError(
        `${PAYLOAD_KEYS_ENV} is not set, and NODE_ENV=production requires encrypted payloads. Create a key with: npx tsx src/apps/codec-server.ts --generate-key`,
      );
    }
    return undefined;
  }
  const keys: PayloadKey[] = [];
  const problems: string[] = [];
  const problem = (entry: string, i: number): string | undefined => {
    const colon = entry.indexOf(':');
    const id = colon > 0 ? entry.slice(0, colon) : '';
    // An entry without a usable id is named by position: its text may be a bare key.
    const name = KEY_ID.test(id) ? `"${id}"` : `#${i + 1}`;
    const b64 = entry.slice(colon + 1);
    if (!id) return `entry ${name} is not "id:base64key"`;
    if (!KEY_ID.test(id)) return `entry ${name}: the id must be 1-64 letters, digits, ".", "_" or "-"`;
    if (keys.some((k) => k.id === id)) return `entry ${name}: the id appears twice`;
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return `entry ${name}: the key is not base64`;
    const key = Buffer.from(b64, 'base64');
    if (key.length !== KEY_BYTES)
      return `entry ${name}: the key must be ${KEY_BYTES} bytes; it decodes to ${key.length}`;
    keys.push({ id, key });
  };
  raw.split(',').forEach((entry, i) => {
    const p = problem(entry.trim(), i);
    if (p) problems.push(p);
  });
  if (problems.length)
    throw new PayloadKeyError(
      `${PAYLOAD_KEYS_ENV} is invalid (${problems.join('; ')}). Each entry is "id:" followed by 32 random bytes in base64.`,
    );
  const [current, ...previous] = keys;
  return { current, previous };
}

/** A new "id:base64key" entry for ZR_PAYLOAD_KEYS; put it first to make it the current key. */
export function generateKey(id = `k${new Date().toISOString().slice(0, 10).replace(/-/g, '')}`): string {
  if (!KEY_ID.test(id))
    throw new PayloadKeyError(`Payload key id "${id}" must be 1-64 letters, digits, ".", "_" or "-".`);
  return `${id}:${Buffer.from(crypto.getRandomValues(new Uint8Array(KEY_BYTES))).toString('base64')}`;
}
