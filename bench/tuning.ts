/**
 * Worker tuning: the evidence behind the shipped worker options (src/platform/config.ts workerTuning).
 *
 *  A. What one incident costs the worker, by workflow bundle (shipped / preload):
 *     CPU per incident and RSS per cached workflow, opening incidents whose runbooks wait.
 *  B. Worker presets on a reduced burst (bridges within one second, Pro limits): time to the
 *     last bridge against the floor, bridge latency, workflow tasks that ran late or timed out.
 *  C. Cache size against memory and the time to resolve, on open incidents.
 *
 *   npx tsx bench/tuning.ts [--sections A,B,C] [--burst 200] [--presets shipped,narrow-slots,...] [--open 200]
 */
import { int, options, runMain } from './lib/cli';
import { printTable, progress, readResult, writeResult } from './lib/report';
import { BUNDLE_VARIANTS, bundleVariant } from './lib/stack';
import { BurstResult, runBurst } from './burst';
import { runOpenIncidents } from './open-incidents';
import { describeOptions, preset } from './lib/worker-tuning';

export interface TuningOptions {
  sections: string[];
  burst: number;
  presets: string[];
  open: number;
  cachePresets: string[];
  bundles: string[];
}

export const TUNING_DEFAULTS: TuningOptions = {
  sections: ['A', 'B', 'C'],
  burst: 200,
  presets: ['shipped', 'sdk-defaults', 'wide-slots', 'wf-20', 'auto-10', 'threads-2', 'tq-rate-18'],
  open: 200,
  cachePresets: ['cache-50', 'shipped', 'cache-1000'],
  bundles: BUNDLE_VARIANTS,
};

export async function runTuning(o: TuningOptions = TUNING_DEFAULTS) {
  const started = Date.now();
  // Rows of earlier runs are kept (a preset run again replaces its row), and the file is written
  // after every run, so an interrupted run loses nothing.
  const previous = readResult<Record<string, unknown>>('tuning') ?? {};
  const out: Record<string, unknown> = { ...previous, options: o };
  const save = () => writeResult('tuning', { ...out, seconds: Math.round((Date.now() - started) / 1000) });
  const merge = <T extends Record<string, unknown>>(key: string, by: string, row: T) => {
    const rows = ((out[key] as T[] | undefined) ?? []).filter((r) => r[by] !== row[by]);
    out[key] = [...rows, row];
    save();
  };
  delete out.measuredAt;
  delete out.machine;

  if (o.sections.includes('A')) {
    for (const bundle of o.bundles.map(bundleVariant)) {
      progress(`tuning A: bundle ${bundle}`);
      const r = await runOpenIncidents({
        incidents: o.open,
        concurrency: 8,
        worker: 'shipped',
        budgetS: 300,
        hostPool: 'shipped',
        key: '',
        bundle,
      });
      merge('bundles', 'bundle', {
        bundle,
        openS: r.open.allOpenS,
        openWorkerCpuMs: r.open.workerCpuMsPerIncident,
        openServerCpuMs: r.open.serverCpuMsPerIncident,
        rssPerCachedMb: r.memory.rssPerCachedWorkflowMb,
        cached: r.memory.cachedWorkflows,
        openRssAfterGcMb: r.memory.openRssAfterGcMb,
        followUpWorkerCpuMs: r.resolve.workerCpuMsPerIncident,
        followUpServerCpuMs: r.resolve.serverCpuMsPerIncident,
        lastFollowUpS: r.resolve.lastFollowUpS,
        slowTasks: r.workerWarnings.slowWorkflowTasks,
        lostTasks: r.workerWarnings.retriedWorkflowTasks + r.workerWarnings.lostWorkflowTasks,
        otherCores: r.contention.open.otherCores,
      });
    }
  }

  if (o.sections.includes('B')) {
    for (const name of o.presets) {
      progress(`tuning B: burst of ${o.burst} with worker preset ${name}`);
      const r: BurstResult = await runBurst({
        incidents: o.burst,
        windowMs: 1000,
        hosts: Math.ceil(o.burst / 100) + 1,
        worker: name,
        hostPool: 'shipped',
        timeoutS: 300,
        key: '',
        latencyMs: 0,
        lostResponses: 0,
        bundle: 'shipped',
      });
      merge('presets', 'preset', {
        preset: r.worker.preset,
        options: r.worker.options,
        lastBridgeS: r.lastBridgeS,
        ratioToFloor: r.ratioToFloor,
        bridgeAfter202: r.bridgeAfter202,
        intake202: r.intake202,
        failed: r.failedBridges + r.runbooksFailed,
        duplicates: r.duplicates,
        zoom429: r.zoom429,
        workerCpuS: r.workerCpuS,
        workerPeakRssMb: r.workerPeakRssMb,
        slowTasks: r.workerWarnings.slowWorkflowTasks,
        lostTasks: r.workerWarnings.retriedWorkflowTasks + r.workerWarnings.lostWorkflowTasks,
        otherCores: r.contention.otherCores,
        benchCpuMsPerIncident: r.benchCpuMsPerIncident,
        bundle: r.bundle,
        burst: o.burst,
      });
    }
  }

  if (o.sections.includes('C')) {
    for (const name of o.cachePresets) {
      progress(`tuning C: ${o.open * 2} open incidents with worker preset ${name}`);
      const r = await runOpenIncidents({
        incidents: o.open * 2,
        concurrency: 8,
        worker: name,
        budgetS: 400,
        hostPool: 'shipped',
        key: '',
        bundle: 'shipped',
      });
      merge('cache', 'preset', {
        preset: name,
        options: describeOptions(preset(name)),
        openS: r.open.allOpenS,
        cached: r.memory.cachedWorkflows,
        openRssAfterGcMb: r.memory.openRssAfterGcMb,
        peakRssMb: r.memory.peakRssMb,
        lastFollowUpS: r.resolve.lastFollowUpS,
        ratioToFloor: r.resolve.ratioToFloor,
        followUpWorkerCpuMs: r.resolve.workerCpuMsPerIncident,
        slowTasks: r.workerWarnings.slowWorkflowTasks,
        lostTasks: r.workerWarnings.retriedWorkflowTasks + r.workerWarnings.lostWorkflowTasks,
        otherCores: r.contention.resolve.otherCores,
      });
    }
  }

  printSummary(out);
  save();
  return out;
}

function printSummary(out: Record<string, unknown>): void {
  const A = out.bundles as Record<string, number | string | undefined>[] | undefined;
  if (A) {
    printTable(
      'Tuning A: cost per incident by workflow bundle (open incidents, worker "shipped")',
      [
        'bundle',
        'open s',
        'worker CPU ms/incident',
        'server CPU ms/incident',
        'RSS MB/cached wf',
        'cached',
        'RSS after GC MB',
        'follow-up worker CPU ms',
        'server ms',
        'tasks >5s',
        'timed out',
        'other cores',
      ],
      A.map((r) => [
        r.bundle,
        r.openS,
        r.openWorkerCpuMs,
        r.openServerCpuMs,
        r.rssPerCachedMb,
        r.cached,
        r.openRssAfterGcMb,
        r.followUpWorkerCpuMs,
        r.followUpServerCpuMs,
        r.slowTasks,
        r.lostTasks,
        r.otherCores,
      ]),
    );
  }
  const B = out.presets as
    | {
        preset: string;
        ratioToFloor?: number;
        lastBridgeS?: number;
        bridgeAfter202: { p50?: number; p99?: number };
        intake202: { p99?: number };
        failed: number;
        duplicates: number;
        zoom429: number;
        workerCpuS?: number;
        workerPeakRssMb?: number;
        benchCpuMsPerIncident?: number;
        slowTasks: number;
        lostTasks: number;
        otherCores?: number;
      }[]
    | undefined;
  if (B) {
    printTable(
      'Tuning B: worker presets on a burst (bundle shipped)',
      [
        'preset',
        'last bridge s',
        'ratio',
        '202->bridge p50 ms',
        'p99 ms',
        'POST->202 p99',
        'failed',
        'dup',
        '429',
        'worker CPU s',
        'bench CPU ms/incident',
        'peak RSS MB',
        'tasks >5s',
        'timed out',
        'other cores',
      ],
      B.map((r) => [
        r.preset,
        r.lastBridgeS,
        r.ratioToFloor,
        r.bridgeAfter202.p50,
        r.bridgeAfter202.p99,
        r.intake202.p99,
        r.failed,
        r.duplicates,
        r.zoom429,
        r.workerCpuS,
        r.benchCpuMsPerIncident,
        r.workerPeakRssMb,
        r.slowTasks,
        r.lostTasks,
        r.otherCores,
      ]),
    );
  }
  const C = out.cache as Record<string, number | string | undefined>[] | undefined;
  if (C) {
    printTable(
      'Tuning C: cache size, memory and the time to book follow-ups (bundle shipped)',
      [
        'preset',
        'open s',
        'cached',
        'RSS after GC MB',
        'peak RSS MB',
        'last follow-up s',
        'ratio',
        'follow-up worker CPU ms',
        'tasks >5s',
        'timed out',
        'other cores',
      ],
      C.map((r) => [
        r.preset,
        r.openS,
        r.cached,
        r.openRssAfterGcMb,
        r.peakRssMb,
        r.lastFollowUpS,
        r.ratioToFloor,
        r.followUpWorkerCpuMs,
        r.slowTasks,
        r.lostTasks,
        r.otherCores,
      ]),
    );
  }
}

runMain(module, async () => {
  const d = TUNING_DEFAULTS;
  const a = options('Worker tuning evidence (bench/README.md).', {
    sections: d.sections.join(','),
    burst: String(d.burst),
    presets: d.presets.join(','),
    open: String(d.open),
    'cache-presets': d.cachePresets.join(','),
    bundles: d.bundles.join(','),
  });
  await runTuning({
    sections: a.sections.split(','),
    burst: int(a.burst, 'burst'),
    presets: a.presets.split(',').map((p) => preset(p).name),
    open: int(a.open, 'open'),
    cachePresets: a['cache-presets'].split(',').map((p) => preset(p).name),
    bundles: a.bundles.split(','),
  });
});
