import { Agent, createServer, IncomingMessage, request as httpRequest, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { ZoomSandbox } from '../../src/sandbox/server';
import { PER_SECOND_LIMIT_MESSAGE } from '../../src/sandbox/rate-limits';
import { Random } from './random';

/**
 * Zoom faults for a chaos run. The worker talks to Zoom through this proxy, which forwards every
 * call to the sandbox unchanged; for the calls it picks, it first arms one of the sandbox's own
 * faults (`ZoomSandbox.addFault`, the admin API's POST /_sandbox/faults) on exactly that method
 * and path, so the sandbox is what fails, times out or drops the answer after creating the meeting.
 * The proxy counts what it armed, by kind, and logs the creates it touched (for evidence). The one
 * exception is the permanent fault by design, which the proxy answers itself (see handle()).
 *
 * A fault armed for a call may be taken by a concurrent call with the same method and path (the
 * sandbox takes the first pending fault that matches); the counts stay exact, only which of two
 * identical calls failed may differ.
 */

export type FaultKind =
  'server5xx' | 'rateLimited' | 'gatewayTimeout' | 'clientTimeout' | 'dropAfterCreate' | 'permanent';

export const FAULT_LABELS: Record<FaultKind, string> = {
  server5xx: 'Zoom 5xx (500/502/503)',
  rateLimited: 'Zoom 429 with Retry-After',
  gatewayTimeout: 'Zoom timeout: 504 after 8-12 s',
  clientTimeout: 'Zoom timeout: answer after 35 s (client gave up at 30 s)',
  dropAfterCreate: 'create answered, response dropped (meeting exists)',
  permanent: 'permanent fault by design: 400 on every create of a bridge',
};

export interface FaultRates {
  /** Share of Zoom calls (REST and token endpoint) answered 500/502/503. */
  server5xx: number;
  /** Share answered 429 with Retry-After. */
  rateLimited: number;
  /** Share held 8-12 s and answered 504 (nothing done). */
  gatewayTimeout: number;
  /** Share of REST calls held 35 s, longer than the client's 30 s timeout and the activity's startToClose; then handled. */
  clientTimeout: number;
  /** Share of creates whose answer is dropped after the sandbox created the meeting. */
  dropAfterCreate: number;
}

export const DEFAULT_FAULT_RATES: FaultRates = {
  server5xx: 0.1,
  rateLimited: 0.03,
  gatewayTimeout: 0.01,
  clientTimeout: 0.005,
  dropAfterCreate: 0.1,
};

export const PERMANENT_FAULT_MESSAGE = 'Chaos: permanent fault by design (Zoom refused this meeting)';
const CREATE_PATH = /^\/v2\/users\/[^/]+\/meetings$/;

export interface ArmedCreate {
  at: string;
  fault?: FaultKind;
  path: string;
  /** First line of the agenda: names the incident and the runbook's purpose. */
  agenda: string;
  topic: string;
  status?: number;
  ms?: number;
  error?: string;
  /** The sandbox held the answer this long after it made the meeting (holdResponseMs): webhooks race the create. */
  heldMs?: number;
  /** When the answer (or the cut connection) reached the proxy, i.e. left for the worker. */
  answeredAt?: string;
}

export class ZoomFaultProxy {
  readonly counts: Record<FaultKind, number> = {
    server5xx: 0,
    rateLimited: 0,
    gatewayTimeout: 0,
    clientTimeout: 0,
    dropAfterCreate: 0,
    permanent: 0,
  };
  /** Client timeouts that hit creates (each may leave a meeting created after the caller gave up). */
  clientTimeoutCreates = 0;
  calls = 0;
  tokenCalls = 0;
  /** Every create that passed, with the fault armed for it, for evidence. */
  readonly creates: ArmedCreate[] = [];
  enabled = true;
  private server?: Server;
  /** Kinds still to be injected at least once, each from a given call on. */
  private required: { kind: FaultKind; fromCall: number; onCreate?: boolean }[] = [];
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });
  /** Incidents whose bridge creates are all refused: a permanent fault. */
  private readonly permanentTargets: Set<string>;
  /** Incidents whose next bridge create is held (ms): Zoom makes the meeting at once, its answer waits. */
  private readonly holds = new Map<string, number>();
  /** Bridge creates held so far. */
  held = 0;

  constructor(
    private readonly sandbox: ZoomSandbox,
    private readonly rng: Random,
    private readonly rates: FaultRates,
    permanentTargets: string[] = [],
  ) {
    this.permanentTargets = new Set(permanentTargets);
  }

  /**
   * Every kind of fault is injected at least once: the first eligible call after a random point
   * forces it. A late answer (client timeout) is also forced once on a create, where it matters most.
   */
  requireEachKind(rng: Random): void {
    const kinds: FaultKind[] = ['server5xx', 'rateLimited', 'gatewayTimeout', 'clientTimeout', 'dropAfterCreate'];
    this.required = [
      ...kinds.map((kind) => ({ kind, fromCall: this.calls + rng.int(5, 60) })),
      { kind: 'clientTimeout', fromCall: this.calls + rng.int(5, 60), onCreate: true },
    ];
  }

  /**
   * Holds the answer to the next create of this incident's bridge for `ms` after the sandbox made
   * the meeting (its fault `holdResponseMs`), with no other fault on that call.
   */
  holdBridgeCreate(incidentId: string, ms: number): void {
    this.holds.set(incidentId, ms);
  }

  /** The held create of this incident's bridge, once it was sent to Zoom. */
  heldBridgeCreate(incidentId: string): ArmedCreate | undefined {
    return this.creates.find((c) => c.heldMs !== undefined && /^Incident (\S+)$/.exec(c.agenda)?.[1] === incidentId);
  }

  get url(): string {
    const { port } = this.server!.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', () => resolve()));
    return this.url;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    this.agent.destroy();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readAll(req).catch(() => undefined);
    if (body === undefined) return;
    const url = new URL(req.url ?? '/', 'http://proxy');
    const method = req.method ?? 'GET';
    const isApi = url.pathname.startsWith('/v2/');
    const isToken = url.pathname === '/oauth/token';
    // Counted while faults are on, so the shares below are shares of the calls that could fail.
    if (isApi && this.enabled) this.calls++;
    if (isToken && this.enabled) this.tokenCalls++;
    const isCreate = method === 'POST' && CREATE_PATH.test(url.pathname);
    const create: ArmedCreate | undefined = isCreate
      ? { at: new Date().toISOString(), path: url.pathname, ...describeCreate(body) }
      : undefined;

    // A permanent fault by design: every create of the target's bridge is refused, answered here
    // (not armed in the sandbox, where a concurrent create on the same path could take it), so the
    // step fails whichever attempt reaches Zoom.
    const targetIncident = create && /^Incident (\S+)$/.exec(create.agenda)?.[1];
    if (create && targetIncident && this.permanentTargets.has(targetIncident)) {
      this.counts.permanent++;
      create.fault = 'permanent';
      create.status = 400;
      create.ms = 0;
      this.creates.push(create);
      const text = JSON.stringify({ code: 300, message: PERMANENT_FAULT_MESSAGE });
      res.writeHead(400, {
        'content-type': 'application/json;charset=UTF-8',
        'content-length': Buffer.byteLength(text),
        'x-zm-trackingid': 'chaos-permanent',
      });
      res.end(text);
      return;
    }
    const holdMs = create && targetIncident ? this.holds.get(targetIncident) : undefined;
    if (create && targetIncident && holdMs !== undefined) {
      // Armed through the sandbox's admin API, on exactly this call's path (a host's create path),
      // so only a create to the same host in the same instant could take it instead.
      this.holds.delete(targetIncident);
      this.held++;
      create.heldMs = holdMs;
      const armed = await fetch(`${this.sandbox.url}/_sandbox/faults`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          method: 'POST',
          path: `^${escapeRegex(url.pathname)}$`,
          holdResponseMs: holdMs,
          times: 1,
        }),
      });
      if (armed.status !== 201) create.error = `hold not armed: HTTP ${armed.status}`;
    }
    const fault =
      this.enabled && (isApi || isToken) && holdMs === undefined ? this.decide(isCreate, isToken) : undefined;
    if (fault) {
      this.counts[fault]++;
      if (fault === 'clientTimeout' && isCreate) this.clientTimeoutCreates++;
      this.sandbox.addFault({ method, path: `^${escapeRegex(url.pathname)}$`, times: 1, ...FAULTS[fault](this.rng) });
    }
    if (create) {
      create.fault = fault;
      this.creates.push(create);
    }

    const t0 = Date.now();
    const target = new URL(this.sandbox.url);
    const upstream = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        method,
        path: req.url,
        headers: { ...req.headers, host: target.host },
        agent: this.agent,
      },
      (up) => {
        if (create) {
          create.status = up.statusCode;
          create.ms = Date.now() - t0;
          create.answeredAt = new Date().toISOString();
        }
        if (!res.destroyed) res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', (err) => {
      // The sandbox dropped the answer (or went away): the caller sees its connection cut.
      if (create) {
        create.error = err.message;
        create.ms = Date.now() - t0;
        create.answeredAt = new Date().toISOString();
      }
      res.socket?.destroy();
    });
    upstream.end(body);
  }

  private decide(isCreate: boolean, isToken: boolean): FaultKind | undefined {
    const due = this.required.findIndex((r) =>
      r.onCreate
        ? this.calls >= r.fromCall && isCreate && this.clientTimeoutCreates === 0
        : this.calls >= r.fromCall &&
          this.counts[r.kind] === 0 &&
          (r.kind === 'dropAfterCreate' ? isCreate : r.kind === 'server5xx' || r.kind === 'rateLimited' || !isToken),
    );
    if (due >= 0) return this.required.splice(due, 1)[0].kind;
    if (isCreate && this.rng.chance(this.rates.dropAfterCreate)) return 'dropAfterCreate';
    const r = this.rng.next();
    const { server5xx, rateLimited, gatewayTimeout, clientTimeout } = this.rates;
    if (r < server5xx) return 'server5xx';
    if (r < server5xx + rateLimited) return 'rateLimited';
    // A lost or late token answer would void the rotated refresh token: only refusals on the token endpoint.
    if (isToken) return undefined;
    if (r < server5xx + rateLimited + gatewayTimeout) return 'gatewayTimeout';
    if (r < server5xx + rateLimited + gatewayTimeout + clientTimeout) return 'clientTimeout';
    return undefined;
  }
}

type SandboxFault = Parameters<ZoomSandbox['addFault']>[0];

const FAULTS: Record<FaultKind, (rng: Random) => Omit<SandboxFault, 'method' | 'path' | 'times'>> = {
  server5xx: (rng) => ({ status: rng.pick([500, 502, 503]), message: 'Chaos: Zoom server error' }),
  rateLimited: (rng) => ({
    status: 429,
    code: 429,
    message: PER_SECOND_LIMIT_MESSAGE,
    headers: { 'Retry-After': String(rng.int(1, 2)), 'X-RateLimit-Type': 'QPS', 'X-RateLimit-Category': 'Medium' },
  }),
  gatewayTimeout: (rng) => ({ delayMs: rng.int(8_000, 12_000), status: 504, message: 'Chaos: Zoom gateway timeout' }),
  clientTimeout: () => ({ delayMs: 35_000 }),
  dropAfterCreate: () => ({ dropResponse: true }),
  permanent: () => ({}),
};

function describeCreate(body: Buffer): { agenda: string; topic: string } {
  try {
    const json = JSON.parse(body.toString('utf8')) as { agenda?: string; topic?: string };
    return { agenda: (json.agenda ?? '').split('\n')[0], topic: json.topic ?? '' };
  } catch {
    return { agenda: '', topic: '' };
  }
}

function readAll(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
