/**
 * Benchmark 3, open incidents: N incidents open at once (default 10,000), each with a runbook
 * waiting for its resolution (bench/runbooks/followup: no Zoom call while open, one scheduled
 * follow-up after). Reports the worker's RSS and heap, the dev server's disk, and, after resolving
 * every incident, the time until every follow-up is scheduled against Zoom's floor (N / 20 s).
 *
 *   npx tsx bench/open-incidents.ts [--incidents 10000] [--concurrency 24] [--worker shipped] [--budget-s 570]
 */
import { loadavg } from 'node:os';
import { RATE_PLANS } from '../src/zoom/rate-limiter';
import { WORKFLOW_TYPE } from '../workflows/contract';
import { HOST_DAILY_BUDGET } from '../src/zoom/host-pool';
import type { IncidentEvent } from '../src/core/incident';
import { count } from './burst';
import { int, options, runMain } from './lib/cli';
import { contentionMonitor, mb, printTable, progress, round, sec, sleep, writeResult } from './lib/report';
import {
  BENCH_RUNBOOKS,
  BenchStack,
  bundleVariant,
  BundleVariant,
  createdEvent,
  meetingsByIncident,
  PostResult,
  resolvedEvent,
  startBenchStack,
  zoomCallCounts,
} from './lib/stack';
import { peak, WorkerSample } from './lib/worker-handle';
import { describeOptions, preset } from './lib/worker-tuning';

export interface OpenIncidentsOptions {
  incidents: number;
  /** POSTs in flight at once while opening and resolving. */
  concurrency: number;
  worker: string;
  /** Give up waiting (and report what was reached) after this many seconds in all. */
  budgetS: number;
  hostPool: 'shipped' | 'unmetered';
  key: string;
  /** Workflow bundle variant (see lib/stack.ts); shipped unless diagnosing. */
  bundle: BundleVariant;
}

export const OPEN_INCIDENTS_DEFAULTS: OpenIncidentsOptions = {
  incidents: 10_000,
  concurrency: 24,
  worker: 'shipped',
  budgetS: 570,
  hostPool: 'shipped',
  key: 'openIncidents',
  bundle: 'shipped',
};

export async function runOpenIncidents(o: OpenIncidentsOptions = OPEN_INCIDENTS_DEFAULTS) {
  const started = Date.now();
  const deadline = started + o.budgetS * 1000;
  const workerPreset = preset(o.worker);
  // Zoom: 100 creates per host per day, so N follow-ups need N/100 hosts (+1 spare).
  const hosts = Math.ceil(o.incidents / HOST_DAILY_BUDGET) + 1;
  const stack = await startBenchStack({
    runbooksDir: BENCH_RUNBOOKS.followup,
    hosts,
    preset: workerPreset,
    hostPool: o.hostPool,
    bundle: o.bundle,
  });
  try {
    const worker = stack.worker!;
    const idle = await worker.sampleAfterGc();
    const diskEmpty = stack.server.diskBytes();
    const run = Math.random().toString(36).slice(2, 7);
    const ids = Array.from({ length: o.incidents }, (_, i) => `OI-${run}-${i}`);
    const loadAverageAtStart = loadavg().map((l) => round(l, 2)!);
    progress(
      `open-incidents: opening ${ids.length} incidents (${o.concurrency} in flight; worker ${workerPreset.name}; load average ${loadAverageAtStart.join(' ')})`,
    );

    // Open every incident.
    const monitor = contentionMonitor(stack.ourCpuSeconds);
    const cpu0 = { worker: worker.process.cpuSeconds() ?? 0, server: stack.server.cpuSeconds() ?? 0 };
    const tOpen = Date.now();
    const opened = await sendAll(
      stack,
      ids.map((id, i) => createdEvent(id, `Open incident ${i}`)),
      o.concurrency,
      deadline,
      'opened',
    );
    const runningQuery = `TaskQueue = "${stack.temporal.taskQueue}" AND WorkflowType = "${WORKFLOW_TYPE.runbook}" AND ExecutionStatus = "Running"`;
    let running = 0;
    for (;;) {
      running = await count(stack.client, runningQuery);
      if (running >= opened.accepted || Date.now() > deadline) break;
      await sleep(1000);
    }
    // Every runbook is waiting once the worker has nothing left to do.
    await settle(worker.samples, deadline);
    const allOpenS = (Date.now() - tOpen) / 1000;
    const openSamples = worker.since(tOpen);
    const atRest = await worker.sampleAfterGc();
    const beforeGc = openSamples[openSamples.length - 1];
    const diskOpen = stack.server.diskBytes();
    const openContention = monitor.stop();
    const cpu1 = { worker: worker.process.cpuSeconds() ?? 0, server: stack.server.cpuSeconds() ?? 0 };
    const resolveMonitor = contentionMonitor(stack.ourCpuSeconds);
    progress(
      `open-incidents: ${running} runbooks waiting after ${allOpenS.toFixed(1)} s; worker RSS ${mb(atRest?.rss)} MB after GC, cache ${atRest?.cachedWorkflows}`,
    );

    // Resolve every incident; each runbook then books its follow-up in Zoom.
    const tResolve = Date.now();
    const resolved =
      Date.now() < deadline
        ? await sendAll(
            stack,
            ids.map((id) => resolvedEvent(id)),
            o.concurrency,
            deadline,
            'resolved',
          )
        : { accepted: 0, results: [] };
    const pattern = new RegExp(`^Postmortem for (OI-${run}-\\d+)`);
    let lastCount = -1;
    let lastChange = Date.now();
    for (;;) {
      const n = meetingsByIncident(stack.sandbox, pattern).size;
      if (n !== lastCount) {
        if (Math.floor(n / 1000) !== Math.floor(lastCount / 1000) || n === ids.length)
          progress(`  follow-ups: ${n}/${ids.length}`);
        lastCount = n;
        lastChange = Date.now();
      }
      if (n >= ids.length || Date.now() > deadline || Date.now() - lastChange > 90_000) break;
      await sleep(1000);
    }
    const resolveContention = resolveMonitor.stop();
    const cpu2 = { worker: worker.process.cpuSeconds() ?? 0, server: stack.server.cpuSeconds() ?? 0 };
    const meetings = meetingsByIncident(stack.sandbox, pattern);
    const created = [...meetings.values()].flat().map((m) => m.createdAt);
    const resolveSamples = worker.since(tResolve);
    const lastFollowUpS = created.length ? (Math.max(...created) - tResolve) / 1000 : undefined;
    const floorS = ids.length / RATE_PLANS.pro.Medium;
    const calls = zoomCallCounts(stack.sandbox, tResolve);
    const rssPeak = peak(worker.samples, 'rss');
    const result = {
      options: o,
      worker: { preset: workerPreset.name, options: describeOptions(workerPreset), effective: worker.effective },
      incidents: ids.length,
      hosts,
      loadAverageAtStart,
      open: {
        accepted: opened.accepted,
        runbooksWaiting: running,
        allOpenS: round(allOpenS, 1),
        incidentsPerS: round(opened.accepted / allOpenS, 1),
        workerCpuMsPerIncident: round(((cpu1.worker - cpu0.worker) * 1000) / Math.max(1, opened.accepted)),
        serverCpuMsPerIncident: round(((cpu1.server - cpu0.server) * 1000) / Math.max(1, opened.accepted)),
      },
      memory: {
        idleRssMb: mb(idle?.rss),
        openRssMb: mb(beforeGc?.rss),
        openRssAfterGcMb: mb(atRest?.rss),
        openHeapUsedAfterGcMb: mb(atRest?.heapUsed),
        openHeapTotalMb: mb(atRest?.heapTotal),
        cachedWorkflows: atRest?.cachedWorkflows,
        rssPerCachedWorkflowMb: round(
          atRest && idle && atRest.cachedWorkflows
            ? (atRest.rss - idle.rss) / 2 ** 20 / atRest.cachedWorkflows
            : undefined,
          2,
        ),
        peakRssWhileOpeningMb: mb(peak(openSamples, 'rss')),
        peakRssWhileResolvingMb: mb(peak(resolveSamples, 'rss')),
        peakRssMb: mb(rssPeak),
        peakHeapUsedMb: mb(peak(worker.samples, 'heapUsed')),
      },
      disk: { emptyMb: mb(diskEmpty), openMb: mb(diskOpen), afterResolveMb: mb(stack.server.diskBytes()) },
      resolve: {
        accepted: resolved.accepted,
        followUps: meetings.size,
        missing: ids.length - meetings.size,
        duplicates: [...meetings.values()].filter((m) => m.length > 1).length,
        lastFollowUpS: round(lastFollowUpS, 1),
        floorS,
        ratioToFloor: round(lastFollowUpS !== undefined ? lastFollowUpS / floorS : undefined, 3),
        zoom429: calls.tooMany,
        zoomCalls: { creates: calls.creates, lists: calls.lists, other: calls.other },
        workerCpuS: sec(cpuBetween(resolveSamples)),
        workerCpuMsPerIncident: round(((cpu2.worker - cpu1.worker) * 1000) / Math.max(1, meetings.size)),
        serverCpuMsPerIncident: round(((cpu2.server - cpu1.server) * 1000) / Math.max(1, meetings.size)),
      },
      tokenRequests: stack.sandbox.state.tokenRequests,
      contention: { open: openContention, resolve: resolveContention },
      workerWarnings: { ...worker.warnings },
      bundle: o.bundle,
      seconds: round((Date.now() - started) / 1000),
      completed: meetings.size === ids.length,
      targets: { rss: false, followUps: false },
    };
    // What 10,000 would take here, from the rates measured (linear: each incident costs the same; memory is bounded by the cache once it is full).
    const target = OPEN_INCIDENTS_DEFAULTS.incidents;
    if (ids.length < target && result.completed) {
      const openRate = opened.accepted / allOpenS;
      const followUpRate = meetings.size / (lastFollowUpS ?? Infinity);
      (result as Record<string, unknown>).extrapolatedTo10k = {
        note: 'linear from this run; RSS is bounded by the workflow cache once 2 x incidents exceeds it',
        cacheFull:
          (atRest?.cachedWorkflows ?? 0) >=
          ((worker.effective.maxCachedWorkflows as number | undefined) ?? Infinity) - 2,
        openS: round(target / openRate),
        followUpsS: round(Math.max(target / followUpRate, target / RATE_PLANS.pro.Medium)),
        totalS: round(target / openRate + Math.max(target / followUpRate, target / RATE_PLANS.pro.Medium)),
        diskMb: round(
          ((diskOpen - diskEmpty + (stack.server.diskBytes() - diskOpen)) / 2 ** 20 / ids.length) * target +
            diskEmpty / 2 ** 20,
        ),
      };
    }
    result.targets = {
      rss: (result.memory.peakRssMb ?? Infinity) <= 400,
      followUps: result.completed && (result.resolve.ratioToFloor ?? Infinity) <= 2,
    };
    printOpenIncidents([result]);
    if (o.key) writeResult(o.key, result);
    return result;
  } finally {
    await stack.stop();
  }
}

type OpenIncidentsResult = Awaited<ReturnType<typeof runOpenIncidents>>;

export function printOpenIncidents(results: OpenIncidentsResult[]): void {
  printTable(
    'Open incidents: each runbook waits for the resolution, then books one follow-up (Zoom Pro, Medium 20/s)',
    [
      'metric',
      ...results.map(
        (r) =>
          `worker ${r.worker.preset}${r.bundle !== 'shipped' ? ` [diagnostic: bundle ${r.bundle}]` : ''}${r.options.hostPool !== 'shipped' ? ` [diagnostic: ${r.options.hostPool} host pool]` : ''}`,
      ),
    ],
    [
      ['incidents open at once', ...results.map((r) => r.open.runbooksWaiting)],
      ['time to open all s (incidents/s)', ...results.map((r) => `${r.open.allOpenS} (${r.open.incidentsPerS}/s)`)],
      [
        'CPU ms per incident opened: worker / server',
        ...results.map((r) => `${r.open.workerCpuMsPerIncident} / ${r.open.serverCpuMsPerIncident}`),
      ],
      ['worker RSS idle MB', ...results.map((r) => r.memory.idleRssMb)],
      [
        'worker RSS all open MB (after GC)',
        ...results.map((r) => `${r.memory.openRssMb} (${r.memory.openRssAfterGcMb})`),
      ],
      ['worker heap used all open, after GC MB', ...results.map((r) => r.memory.openHeapUsedAfterGcMb)],
      [
        'cached workflows (RSS MB per cached workflow)',
        ...results.map((r) => `${r.memory.cachedWorkflows} (${r.memory.rssPerCachedWorkflowMb})`),
      ],
      ['worker peak RSS MB (target <= 400)', ...results.map((r) => r.memory.peakRssMb)],
      ['worker peak heap used MB', ...results.map((r) => r.memory.peakHeapUsedMb)],
      [
        'dev-server disk MB: empty / open / resolved',
        ...results.map((r) => `${r.disk.emptyMb} / ${r.disk.openMb} / ${r.disk.afterResolveMb}`),
      ],
      ['follow-ups scheduled', ...results.map((r) => `${r.resolve.followUps}/${r.incidents}`)],
      ['last follow-up after resolving s', ...results.map((r) => r.resolve.lastFollowUpS)],
      ['floor s (n / 20)', ...results.map((r) => r.resolve.floorS)],
      ['ratio to floor (target <= 2)', ...results.map((r) => r.resolve.ratioToFloor)],
      ['duplicates', ...results.map((r) => r.resolve.duplicates)],
      ['Zoom 429s', ...results.map((r) => r.resolve.zoom429)],
      [
        'Zoom creates / lists / other',
        ...results.map(
          (r) => `${r.resolve.zoomCalls.creates} / ${r.resolve.zoomCalls.lists} / ${r.resolve.zoomCalls.other}`,
        ),
      ],
      ['worker CPU s while resolving', ...results.map((r) => r.resolve.workerCpuS)],
      [
        'CPU ms per follow-up: worker / server',
        ...results.map((r) => `${r.resolve.workerCpuMsPerIncident} / ${r.resolve.serverCpuMsPerIncident}`),
      ],
      ['token requests', ...results.map((r) => r.tokenRequests)],
      [
        'workflow tasks > 5 s / retried after a timeout / lost',
        ...results.map(
          (r) =>
            `${r.workerWarnings.slowWorkflowTasks} / ${r.workerWarnings.retriedWorkflowTasks} / ${r.workerWarnings.lostWorkflowTasks}`,
        ),
      ],
      [
        'cores busy open: bench / others',
        ...results.map((r) => `${r.contention.open.benchCores} / ${r.contention.open.otherCores}`),
      ],
      [
        'cores busy resolve: bench / others',
        ...results.map((r) => `${r.contention.resolve.benchCores} / ${r.contention.resolve.otherCores}`),
      ],
      [
        'targets: RSS / follow-ups',
        ...results.map((r) => `${r.targets.rss ? 'ok' : 'MISS'} / ${r.targets.followUps ? 'ok' : 'MISS'}`),
      ],
      [
        'extrapolated to 10,000: open s / follow-ups s / disk MB',
        ...results.map((r) => {
          const x = (r as Record<string, unknown>).extrapolatedTo10k as
            { openS?: number; followUpsS?: number; diskMb?: number } | undefined;
          return x ? `${x.openS} / ${x.followUpsS} / ${x.diskMb}` : '-';
        }),
      ],
    ],
  );
}

/** Sends events through the intake, `concurrency` at a time, in order. */
async function sendAll(
  stack: BenchStack,
  events: IncidentEvent[],
  concurrency: number,
  deadline: number,
  what: string,
) {
  const results: PostResult[] = [];
  let next = 0;
  let accepted = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < events.length && Date.now() < deadline) {
        const r = await stack.postEvent(events[next++]);
        results.push(r);
        if (r.status === 202) accepted++;
        if (accepted % 2000 === 0 && r.status === 202) progress(`  ${what}: ${accepted}/${events.length}`);
      }
    }),
  );
  return { accepted, results };
}

/** Waits until the worker has been (nearly) idle for 3 s: < 5% of a core. */
async function settle(samples: WorkerSample[], deadline: number): Promise<void> {
  for (;;) {
    await sleep(1000);
    const recent = samples.slice(-7);
    if (recent.length >= 7 && recent[6].cpuMs - recent[0].cpuMs < 0.05 * (recent[6].t - recent[0].t)) return;
    if (Date.now() > deadline) return;
  }
}

function cpuBetween(samples: WorkerSample[]): number | undefined {
  return samples.length > 1 ? samples[samples.length - 1].cpuMs - samples[0].cpuMs : undefined;
}

runMain(module, async () => {
  const d = OPEN_INCIDENTS_DEFAULTS;
  const a = options('Benchmark 3: open incidents (bench/README.md).', {
    incidents: String(d.incidents),
    concurrency: String(d.concurrency),
    worker: d.worker,
    'budget-s': String(d.budgetS),
    'host-pool': d.hostPool,
    key: d.key,
    bundle: d.bundle,
  });
  if (a['host-pool'] !== 'shipped' && a['host-pool'] !== 'unmetered')
    throw new Error('--host-pool is shipped or unmetered');
  await runOpenIncidents({
    incidents: int(a.incidents, 'incidents'),
    concurrency: int(a.concurrency, 'concurrency'),
    worker: a.worker,
    budgetS: int(a['budget-s'], 'budget-s'),
    hostPool: a['host-pool'],
    key: a.key,
    bundle: bundleVariant(a.bundle),
  });
});
