import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { ApplicationFailure, defaultPayloadConverter, Payload } from '@temporalio/common';
import { loadDataConverter } from '@temporalio/common/lib/internal-non-workflow';
import { temporal } from '@temporalio/proto';
import { buildWorkflowBundle } from '../src/apps/workflow-bundle';
import { sendIncidentEvent } from '../src/temporal/client';
import {
  createDataConverter,
  EncryptionCodec,
  generateKey,
  KeyRing,
  keyRingFromEnv,
  PayloadKeyError,
} from '../src/temporal/codec';
import { startCodecServer } from '../src/apps/codec-server';
import { IncidentEvent } from '../src/core/incident';
import { testTemporalAddress, uniqueIncidentId } from './support/stack';

const newKey = (id: string) => ({ id, key: randomBytes(32) });
const text = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? []).toString('utf8');
const TITLE = 'Checkout latency over 5s in eu-west (confidential)';

function jsonPayload(value: unknown): Payload {
  return defaultPayloadConverter.toPayload(value);
}

/** Payloads as the codec-server protocol carries them: proto3 JSON, bytes in base64. */
function toJson(payloads: Payload[]) {
  const b64 = (v: Uint8Array | null | undefined) => Buffer.from(v ?? []).toString('base64');
  return {
    payloads: payloads.map((p) => ({
      metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, b64(v)])),
      data: b64(p.data),
    })),
  };
}

describe('EncryptionCodec', () => {
  const ring: KeyRing = { current: newKey('k1') };

  it('round-trips a payload and its metadata, with a fresh IV each time', async () => {
    const codec = new EncryptionCodec(ring);
    const original = jsonPayload({ title: TITLE, severity: 'SEV1' });
    const [encrypted] = await codec.encode([original]);
    expect(text(encrypted.metadata!.encoding)).toBe('binary/encrypted');
    expect(text(encrypted.metadata!['encryption-key-id'])).toBe('k1');
    expect(Object.keys(encrypted.metadata!).sort()).toEqual(['encoding', 'encryption-key-id']);

    const [decoded] = await codec.decode([encrypted]);
    expect(text(decoded.metadata!.encoding)).toBe('json/plain');
    expect(defaultPayloadConverter.fromPayload(decoded)).toEqual({ title: TITLE, severity: 'SEV1' });

    const [again] = await codec.encode([original]);
    expect(Buffer.from(again.data!).equals(Buffer.from(encrypted.data!))).toBe(false);
    expect(await codec.encode([])).toEqual([]);
  });

  it('leaves no plaintext in the ciphertext', async () => {
    const [encrypted] = await new EncryptionCodec(ring).encode([jsonPayload({ title: TITLE })]);
    const bytes = Buffer.from(encrypted.data!);
    expect(bytes.includes(TITLE)).toBe(false);
    expect(bytes.includes('json/plain')).toBe(false); // the original metadata is inside too
    expect(JSON.stringify(toJson([encrypted]))).not.toContain(Buffer.from(TITLE).toString('base64').slice(0, 16));
  });

  it('rejects a tampered ciphertext or a swapped key id', async () => {
    const codec = new EncryptionCodec({ current: newKey('k1'), previous: [newKey('k0')] });
    const [encrypted] = await codec.encode([jsonPayload({ title: TITLE })]);
    const data = Buffer.from(encrypted.data!);
    data[data.length - 20] ^= 1;
    await expect(codec.decode([{ ...encrypted, data }])).rejects.toThrow(
      'A payload encrypted with key "k1" could not be decrypted: it was altered',
    );
    await expect(codec.decode([{ ...encrypted, data: data.subarray(0, 10) }])).rejects.toThrow(PayloadKeyError);
    const swapped = { ...encrypted, metadata: { ...encrypted.metadata, 'encryption-key-id': Buffer.from('k0') } };
    await expect(codec.decode([swapped])).rejects.toThrow('key "k0" could not be decrypted');
  });

  it('rotates keys: old payloads still decrypt, new ones use the new key', async () => {
    const old = newKey('2025-q4');
    const fresh = newKey('2026-q1');
    const [before] = await new EncryptionCodec({ current: old }).encode([jsonPayload({ title: TITLE })]);

    const rotated = new EncryptionCodec({ current: fresh, previous: [old] });
    expect(defaultPayloadConverter.fromPayload((await rotated.decode([before]))[0])).toEqual({ title: TITLE });
    const [after] = await rotated.encode([jsonPayload({ title: TITLE })]);
    expect(text(after.metadata!['encryption-key-id'])).toBe('2026-q1');
    expect(rotated.keyIds).toEqual(['2026-q1', '2025-q4']);
  });

  it('names an unknown key id, never a key', async () => {
    const old = newKey('retired');
    const [encrypted] = await new EncryptionCodec({ current: old }).encode([jsonPayload('x')]);
    const current = newKey('k2');
    const error = await new EncryptionCodec({ current }).decode([encrypted]).catch((e: Error) => e);
    expect(error).toBeInstanceOf(PayloadKeyError);
    expect((error as Error).message).toBe(
      'A payload was encrypted with key "retired", which is not configured (known: k2). Add it to ZR_PAYLOAD_KEYS after the current key.',
    );
    for (const k of [old.key, current.key]) {
      expect((error as Error).message).not.toContain(k.toString('base64'));
      expect((error as Error).message).not.toContain(k.toString('hex'));
    }
    const noId = { ...encrypted, metadata: { encoding: encrypted.metadata!.encoding } };
    await expect(new EncryptionCodec({ current: old }).decode([noId])).rejects.toThrow(
      'has no "encryption-key-id" metadata',
    );
  });

  it('passes payloads that are not encrypted through decode untouched', async () => {
    const plain = jsonPayload({ title: TITLE });
    const binary: Payload = { metadata: { encoding: Buffer.from('binary/plain') }, data: Buffer.from([1, 2, 3]) };
    const bare: Payload = { data: Buffer.from('no metadata') };
    const decoded = await new EncryptionCodec(ring).decode([plain, binary, bare]);
    expect(decoded[0]).toBe(plain);
    expect(decoded[1]).toBe(binary);
    expect(decoded[2]).toBe(bare);
  });

  it('refuses malformed rings', () => {
    expect(() => new EncryptionCodec({ current: { id: 'short', key: randomBytes(16) } })).toThrow(
      'Payload key "short" must be 32 bytes; it is 16.',
    );
    expect(() => new EncryptionCodec({ current: newKey('a'), previous: [newKey('a')] })).toThrow('"a" appears twice');
    expect(() => new EncryptionCodec({ current: newKey('has space') })).toThrow('must be 1-64 letters');
  });

  it('encrypts failure messages: the data converter encodes common attributes', async () => {
    const loaded = loadDataConverter(createDataConverter(ring));
    expect(loaded.payloadCodecs).toHaveLength(1);
    const failure = loaded.failureConverter.errorToFailure(
      ApplicationFailure.create({ message: TITLE }),
      loaded.payloadConverter,
    );
    expect(failure.message).toBe('Encoded failure');
    expect(JSON.stringify(failure)).not.toContain(TITLE);
    const [sealed] = await loaded.payloadCodecs[0].encode([failure.encodedAttributes!]);
    expect(Buffer.from(sealed.data!).includes(TITLE)).toBe(false);
    const [opened] = await loaded.payloadCodecs[0].decode([sealed]);
    expect(
      loaded.failureConverter.failureToError({ ...failure, encodedAttributes: opened }, loaded.payloadConverter)
        .message,
    ).toBe(TITLE);
  });

  it('bundles its failure converter into the workflow code, without the protobuf definitions every workflow would evaluate', async () => {
    const code = await buildWorkflowBundle();
    expect(code).toContain('encodeCommonAttributes: true');
    // @temporalio/proto's generated code (its decoders and every history event type) stays out.
    expect(code).not.toContain('decodeDelimited');
    expect(code).not.toContain('WorkflowExecutionContinuedAsNewEventAttributes');
  });
});

describe('keyRingFromEnv', () => {
  const k = (bytes = 32) => randomBytes(bytes).toString('base64');

  it('reads the current key first, then previous keys', () => {
    const [a, b] = [k(), k()];
    const ring = keyRingFromEnv({ ZR_PAYLOAD_KEYS: ` new:${a} , old:${b}` })!;
    expect(ring.current.id).toBe('new');
    expect(Buffer.from(ring.current.key).toString('base64')).toBe(a);
    expect(ring.previous!.map((p) => p.id)).toEqual(['old']);
  });

  it('means "no encryption" when unset, except in production', () => {
    expect(keyRingFromEnv({})).toBeUndefined();
    expect(keyRingFromEnv({ ZR_PAYLOAD_KEYS: ' ' })).toBeUndefined();
    expect(() => keyRingFromEnv({ NODE_ENV: 'production' })).toThrow(
      'ZR_PAYLOAD_KEYS is not set, and NODE_ENV=production requires encrypted payloads',
    );
  });

  it('names each bad entry by id (or position) and the problem, never the key', () => {
    const short = k(16);
    const bare = k();
    const bad = () =>
      keyRingFromEnv({ ZR_PAYLOAD_KEYS: `ok:${k()},short:${short},${bare},ok:${k()},weird id:${k()},nob64:***` });
    expect(bad).toThrow(PayloadKeyError);
    let message = '';
    try {
      bad();
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('entry "short": the key must be 32 bytes; it decodes to 16');
    expect(message).toContain('entry #3 is not "id:base64key"');
    expect(message).toContain('entry "ok": the id appears twice');
    expect(message).toContain('entry #5: the id must be 1-64 letters');
    expect(message).toContain('entry "nob64": the key is not base64');
    expect(message).not.toContain(short);
    expect(message).not.toContain(bare);
  });

  it('accepts what generateKey prints', () => {
    const entry = generateKey('dev');
    expect(entry).toMatch(/^dev:[A-Za-z0-9+/]{43}=$/);
    expect(keyRingFromEnv({ ZR_PAYLOAD_KEYS: entry })!.current.id).toBe('dev');
    expect(generateKey()).toMatch(/^k\d{8}:/);
    expect(generateKey()).not.toBe(generateKey());
  });
});

describe('codec server', () => {
  const token = randomUUID();
  const ui = 'http://localhost:8233';
  let server: { url: string; close(): Promise<void> };
  beforeAll(async () => {
    server = await startCodecServer({ ring: { current: newKey('k1') }, token });
  });
  afterAll(() => server.close());

  const post = (path: string, body: unknown, headers: Record<string, string> = { Authorization: `Bearer ${token}` }) =>
    fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Namespace': 'default', ...headers },
      body: JSON.stringify(body),
    });

  it('encodes and decodes over HTTP in the codec-server JSON format', async () => {
    const original = toJson([
      jsonPayload({ title: TITLE }),
      { metadata: { encoding: Buffer.from('binary/null') }, data: new Uint8Array() },
    ]);
    const encoded = await post('/encode', original);
    expect(encoded.status).toBe(200);
    expect(encoded.headers.get('content-type')).toBe('application/json');
    const body = (await encoded.json()) as ReturnType<typeof toJson>;
    expect(body.payloads).toHaveLength(2);
    expect(Buffer.from(body.payloads[0].metadata.encoding, 'base64').toString()).toBe('binary/encrypted');
    expect(JSON.stringify(body)).not.toContain(original.payloads[0].data);

    const decoded = await post('/decode', body);
    expect(decoded.status).toBe(200);
    expect(await decoded.json()).toEqual(original);
  });

  it('answers 401 without the bearer token or with a wrong one', async () => {
    for (const headers of [{}, { Authorization: 'Bearer wrong' }, { Authorization: token }] as Record<
      string,
      string
    >[]) {
      const res = await post('/decode', { payloads: [] }, headers);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      expect(await res.text()).not.toContain(token);
    }
  });

  it('answers the Web UI preflight, and only for allowed origins', async () => {
    const preflight = await fetch(`${server.url}/decode`, {
      method: 'OPTIONS',
      headers: {
        Origin: ui,
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'content-type,x-namespace,authorization',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(ui);
    expect(preflight.headers.get('access-control-allow-credentials')).toBe('true');
    expect(preflight.headers.get('access-control-allow-methods')).toBe('POST, OPTIONS');
    expect(preflight.headers.get('access-control-allow-headers')).toBe('Content-Type, X-Namespace, Authorization');

    const decode = await post('/decode', { payloads: [] }, { Authorization: `Bearer ${token}`, Origin: ui });
    expect(decode.status).toBe(200);
    expect(decode.headers.get('access-control-allow-origin')).toBe(ui);
    const unauthorised = await post('/decode', { payloads: [] }, { Origin: ui });
    expect(unauthorised.status).toBe(401);
    expect(unauthorised.headers.get('access-control-allow-origin')).toBe(ui); // so the UI can show the error

    const evil = await fetch(`${server.url}/decode`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'POST' },
    });
    expect(evil.status).toBe(403);
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    expect(
      (await post('/decode', { payloads: [] }, { Authorization: `Bearer ${token}`, Origin: 'https://evil.example' }))
        .status,
    ).toBe(403);
  });

  it('reports bad requests and undecryptable payloads as 400, unknown paths as 404', async () => {
    expect((await post('/decode', { nope: true })).status).toBe(400);
    expect((await post('/decode', { payloads: [{ data: 'not base64!' }] })).status).toBe(400);
    const foreign = toJson(await new EncryptionCodec({ current: newKey('elsewhere') }).encode([jsonPayload('x')]));
    const res = await post('/decode', foreign);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toContain('key "elsewhere", which is not configured');
    expect((await post('/nope', { payloads: [] })).status).toBe(404);
    expect((await fetch(`${server.url}/decode`)).status).toBe(405);
  });
});

describe('end to end against the dev server', () => {
  const token = randomUUID();
  const ring: KeyRing = { current: newKey('e2e') };
  let plain: Client;
  let encrypted: Client;
  let codecServer: { url: string; close(): Promise<void> };
  const started: string[] = [];

  beforeAll(async () => {
    const connection = await Connection.connect({ address: testTemporalAddress() });
    plain = new Client({ connection });
    encrypted = new Client({ connection, dataConverter: createDataConverter(ring) });
    codecServer = await startCodecServer({ ring, token });
  });
  afterAll(async () => {
    for (const id of started)
      await plain.workflow
        .getHandle(id)
        .terminate('codec test done')
        .catch(() => undefined);
    await codecServer.close();
    await plain.connection.close();
  });

  function event(): IncidentEvent {
    return {
      eventId: `evt-${randomUUID()}`,
      type: 'incident.created',
      occurredAt: '2026-11-22T09:14:03Z',
      incident: { id: uniqueIncidentId('CODEC'), title: TITLE, severity: 'SEV2' },
    };
  }

  /** Input and signal payloads of a history that has no worker: the start and the signal. */
  function messagePayloads(history: temporal.api.history.v1.IHistory): Payload[] {
    return history.events!.flatMap((e) => [
      ...(e.workflowExecutionStartedEventAttributes?.input?.payloads ?? []),
      ...(e.workflowExecutionSignaledEventAttributes?.input?.payloads ?? []),
    ]);
  }

  it('stores only ciphertext in history, which the codec server (and the CLI through it) decodes', async () => {
    const taskQueue = `codec-${randomUUID()}`;
    const { workflowId } = await sendIncidentEvent(encrypted, taskQueue, event());
    started.push(workflowId);
    // A control run without the codec: the same check must find the title there.
    const control = await sendIncidentEvent(plain, taskQueue, event());
    started.push(control.workflowId);

    const history = await plain.workflow.getHandle(workflowId).fetchHistory();
    const payloads = messagePayloads(history);
    expect(payloads).toHaveLength(2);
    for (const p of payloads) {
      expect(text(p.metadata!.encoding)).toBe('binary/encrypted');
      expect(text(p.metadata!['encryption-key-id'])).toBe('e2e');
    }
    const wire = (h: temporal.api.history.v1.IHistory) =>
      Buffer.from(temporal.api.history.v1.History.encode(h).finish());
    expect(JSON.stringify(history)).not.toContain(TITLE);
    expect(wire(history).includes(TITLE)).toBe(false);
    expect(wire(await plain.workflow.getHandle(control.workflowId).fetchHistory()).includes(TITLE)).toBe(true);

    const res = await fetch(`${codecServer.url}/decode`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Namespace': 'default', Authorization: `Bearer ${token}` },
      body: JSON.stringify(toJson(payloads)),
    });
    expect(res.status).toBe(200);
    const decoded = ((await res.json()) as ReturnType<typeof toJson>).payloads.map(
      (p) => JSON.parse(Buffer.from(p.data, 'base64').toString()) as unknown,
    );
    expect(decoded[0]).toEqual({ incidentId: expect.stringMatching(/^CODEC-/) });
    expect(decoded[1]).toMatchObject({ type: 'incident.created', incident: { title: TITLE } });

    // The Temporal CLI speaks the same protocol: with `--codec-endpoint` it shows the event in clear.
    const cli = process.env.ZR_TEST_TEMPORAL_CLI ?? join(__dirname, '../.temporal/venv/bin/temporal');
    const signalShownByCli = async (...extra: string[]) => {
      const { stdout } = await promisify(execFile)(cli, [
        'workflow',
        'show',
        '-w',
        workflowId,
        '--address',
        testTemporalAddress(),
        '-o',
        'json',
        ...extra,
      ]);
      const shown = JSON.parse(stdout) as {
        events: { workflowExecutionSignaledEventAttributes?: { input: ReturnType<typeof toJson> } }[];
      };
      const [p] = shown.events.find((e) => e.workflowExecutionSignaledEventAttributes)!
        .workflowExecutionSignaledEventAttributes!.input.payloads;
      return {
        encoding: Buffer.from(p.metadata.encoding, 'base64').toString(),
        data: Buffer.from(p.data, 'base64').toString(),
      };
    };
    const raw = await signalShownByCli();
    expect(raw.encoding).toBe('binary/encrypted');
    expect(raw.data).not.toContain(TITLE);
    const viaCodec = await signalShownByCli('--codec-endpoint', codecServer.url, '--codec-auth', `Bearer ${token}`);
    expect(viaCodec.encoding).toBe('json/plain');
    expect(viaCodec.data).toContain(TITLE);
  });
});
