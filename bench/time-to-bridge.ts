/**
 * Benchmark 1, time to bridge: from the intake's 202 to the join URL on the incident timeline,
 * incidents one after another, at sandbox latency 0 and 300 ms; beside it the same sandbox's bare
 * create-meeting latency (a ZoomClient call, interleaved with the incidents, same run).
 *
 *   npx tsx bench/time-to-bridge.ts [--incidents 200] [--latencies 0,300] [--hosts 10] (add 1: a single host) [--worker shipped]
 */
import { int, intList, options, runMain } from './lib/cli';
import { DevServer } from '../src/apps/dev-stack/dev-server';
import {
  Contention,
  contentionMonitor,
  printTable,
  progress,
  round,
  summarise,
  Summary,
  writeResult,
} from './lib/report';
import type { WorkerWarnings } from './lib/worker-handle';
import { bareZoomClient, createBareMeeting } from './lib/bare-zoom';
import { INCIDENT_AGENDA, incidentToBridge, watchZoomCreates } from './lib/bridge';
import { BENCH_RUNBOOKS, BenchStack, bundleVariant, BundleVariant, startBenchStack } from './lib/stack';
import { describeOptions, preset } from './lib/worker-tuning';
import { HOST_DAILY_BUDGET } from '../src/zoom/host-pool';

export interface TimeToBridgeOptions {
  incidents: number;
  latencies: number[];
  /** Host pool sizes to run: 1 is the default deployment (ZOOM_HOST_USER alone). */
  hosts: number[];
  worker: string;
  pollMs: number;
  warmup: number;
  /** Workflow bundle variant (see lib/stack.ts); shipped unless diagnosing. */
  bundle: BundleVariant;
}

export interface PhaseResult {
  hosts: number;
  latencyMs: number;
  incidents: number;
  failed: number;
  /** 202 -> join URL seen on the timeline (ms). */
  ours: Summary;
  /** The bare ZoomClient.createMeeting call (ms). */
  bare: Summary;
  /** ours - bare, per percentile (ms). */
  diff: { p50?: number; p95?: number; p99?: number };
  breakdown: { intake202: Summary; acceptedToZoomCreated: Summary; zoomCreatedToTimeline: Summary };
  zoomCallsPerBridge: number;
  targets: { p50: boolean; p99: boolean };
  contention: Contention;
  workerWarnings: WorkerWarnings;
}

export const TIME_TO_BRIDGE_DEFAULTS: TimeToBridgeOptions = {
  incidents: 200,
  latencies: [0, 300],
  hosts: [10],
  worker: 'shipped',
  pollMs: 5,
  warmup: 3,
  bundle: 'shipped',
};

export async function runTimeToBridge(o: TimeToBridgeOptions = TIME_TO_BRIDGE_DEFAULTS) {
  const workerPreset = preset(o.worker);
  const server = await DevServer.start();
  const phases: PhaseResult[] = [];
  const started = Date.now();
  try {
    for (const hosts of o.hosts) {
      for (const latencyMs of o.latencies) {
        // The shipped HostPool gives each host 100 creates per day per worker process (Zoom's limit):
        // one host can open at most that many bridges, warm-up included.
        const incidents = Math.min(o.incidents, hosts * HOST_DAILY_BUDGET - o.warmup);
        const stack = await startBenchStack({
          runbooksDir: BENCH_RUNBOOKS.bridge,
          hosts,
          preset: workerPreset,
          bundle: o.bundle,
          server,
          // Sequential bare calls on one extra user: lift Zoom's per-host daily limit in the sandbox (the client still counts its own).
          sandbox: { rateLimits: { plan: 'pro', hostDailyLimit: 100_000 } },
        });
        try {
          phases.push(await phase(stack, hosts, latencyMs, incidents, o));
        } finally {
          await stack.stop();
        }
      }
    }
  } finally {
    await server.close();
  }

  printTable(
    `Time to bridge: intake 202 -> join URL on the timeline, ${o.incidents} incidents one after another (ms); worker: ${describeOptions(workerPreset)}`,
    [
      'hosts',
      'latency',
      'n',
      'failed',
      'ours p50',
      'p95',
      'p99',
      'bare p50',
      'p95',
      'p99',
      'diff p50',
      'p95',
      'p99',
      'Zoom calls/bridge',
      'p50<=bare+150',
      'p99<=bare+400',
      'other cores busy',
    ],
    phases.map((p) => [
      p.hosts,
      p.latencyMs,
      p.incidents,
      p.failed,
      p.ours.p50,
      p.ours.p95,
      p.ours.p99,
      p.bare.p50,
      p.bare.p95,
      p.bare.p99,
      p.diff.p50,
      p.diff.p95,
      p.diff.p99,
      p.zoomCallsPerBridge,
      p.targets.p50,
      p.targets.p99,
      p.contention.otherCores,
    ]),
  );
  printTable(
    'Where the time goes (p50 / p99, ms): POST -> 202; 202 -> Zoom answered the create (sandbox log); Zoom answered -> link on the timeline',
    ['hosts', 'latency', 'POST->202', 'p99', '202->Zoom created', 'p99', 'created->timeline', 'p99'],
    phases.map((p) => [
      p.hosts,
      p.latencyMs,
      p.breakdown.intake202.p50,
      p.breakdown.intake202.p99,
      p.breakdown.acceptedToZoomCreated.p50,
      p.breakdown.acceptedToZoomCreated.p99,
      p.breakdown.zoomCreatedToTimeline.p50,
      p.breakdown.zoomCreatedToTimeline.p99,
    ]),
  );
  const result = {
    options: o,
    worker: { preset: workerPreset.name, options: describeOptions(workerPreset) },
    bundle: o.bundle,
    seconds: round((Date.now() - started) / 1000),
    latencyInjection:
      'sandbox fault {delayMs, times: 1e9} on every Zoom API and OAuth call (the sandbox has no global latency option)',
    phases,
  };
  writeResult('timeToBridge', result);
  return result;
}

async function phase(
  stack: BenchStack,
  hosts: number,
  latencyMs: number,
  incidents: number,
  o: TimeToBridgeOptions,
): Promise<PhaseResult> {
  progress(`time-to-bridge: ${hosts} host(s), latency ${latencyMs} ms, ${incidents} incidents`);
  const { sandbox, connector } = stack;
  if (latencyMs > 0) {
    // No global latency option in the sandbox: a fault with only a delay, matching every call, for ever.
    const res = await fetch(`${sandbox.url}/_sandbox/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ delayMs: latencyMs, times: 1_000_000_000 }),
    });
    if (res.status !== 201) throw new Error(`could not set the sandbox latency: ${res.status} ${await res.text()}`);
  }
  const bare = bareZoomClient(connector);
  const bareCall = async (n: number) => {
    const t = Date.now();
    await createBareMeeting(bare, stack.bareUser.email, `Bare ${n}`);
    return Date.now() - t;
  };

  // When Zoom answered each create: the sandbox's request log, hooked as it is written (no polling).
  const zoomCreated = watchZoomCreates(sandbox, INCIDENT_AGENDA);
  const run = Math.random().toString(36).slice(2, 7);
  const one = (id: string) => incidentToBridge(stack, zoomCreated, id, o.pollMs);

  // Warm-up (not measured): the worker's first workflow tasks, the token, connections.
  await bareCall(-1);
  for (let i = 0; i < o.warmup; i++) await one(`TTB-${run}-warm-${i}`);

  const monitor = contentionMonitor(stack.ourCpuSeconds);
  const samples: { id: string; sentAt: number; acceptedAt: number; seenAt: number }[] = [];
  const bareMs: number[] = [];
  let failed = 0;
  for (let i = 0; i < incidents; i++) {
    const id = `TTB-${run}-${i}`;
    const r = await one(id);
    if (r.ok) samples.push({ id, sentAt: r.answer.sentAt, acceptedAt: r.answer.answeredAt, seenAt: r.seenAt });
    else failed++;
    bareMs.push(await bareCall(i));
    if ((i + 1) % 50 === 0) progress(`  ${i + 1}/${incidents}`);
  }

  const contention = monitor.stop();
  const ours = samples.map((s) => s.seenAt - s.acceptedAt);
  const withZoom = samples.filter((s) => zoomCreated.at(s.id) !== undefined);
  const createCalls = sandbox.requests.filter(
    (r) =>
      r.path.startsWith('/v2/users/') &&
      r.path.endsWith('/meetings') &&
      !r.path.includes('benchBareCaller') &&
      !r.path.includes('benchbarecaller'),
  ).length;
  const oursS = summarise(ours);
  const bareS = summarise(bareMs);
  const diff = (q: 'p50' | 'p95' | 'p99') =>
    oursS[q] !== undefined && bareS[q] !== undefined ? round(oursS[q]! - bareS[q]!) : undefined;
  return {
    hosts,
    latencyMs,
    incidents,
    failed,
    ours: oursS,
    bare: bareS,
    diff: { p50: diff('p50'), p95: diff('p95'), p99: diff('p99') },
    breakdown: {
      intake202: summarise(samples.map((s) => s.acceptedAt - s.sentAt)),
      acceptedToZoomCreated: summarise(withZoom.map((s) => zoomCreated.at(s.id)! - s.acceptedAt)),
      zoomCreatedToTimeline: summarise(withZoom.map((s) => s.seenAt - zoomCreated.at(s.id)!)),
    },
    zoomCallsPerBridge: round(createCalls / (incidents + o.warmup), 2)!,
    targets: { p50: (diff('p50') ?? Infinity) <= 150, p99: (diff('p99') ?? Infinity) <= 400 },
    contention,
    workerWarnings: { ...stack.worker!.warnings },
  };
}

runMain(module, async () => {
  const d = TIME_TO_BRIDGE_DEFAULTS;
  const a = options('Benchmark 1: time to bridge (bench/README.md).', {
    incidents: String(d.incidents),
    latencies: d.latencies.join(','),
    hosts: d.hosts.join(','),
    worker: d.worker,
    'poll-ms': String(d.pollMs),
    warmup: String(d.warmup),
    bundle: d.bundle,
  });
  await runTimeToBridge({
    incidents: int(a.incidents, 'incidents'),
    latencies: intList(a.latencies, 'latencies'),
    hosts: intList(a.hosts, 'hosts'),
    worker: a.worker,
    pollMs: int(a['poll-ms'], 'poll-ms'),
    warmup: int(a.warmup, 'warmup'),
    bundle: bundleVariant(a.bundle),
  });
});
