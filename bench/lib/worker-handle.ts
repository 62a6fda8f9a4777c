import { join } from 'node:path';
import { WorkerProcess } from '../../src/apps/dev-stack/worker-process';
import type { ZoomConnectorConfig } from '../../src/platform/config';
import type { WorkerPreset } from './worker-tuning';
import type { FloorSpec } from '../floor/worker';

/** What the worker process is told (JSON in ZR_BENCH_WORKER). */
export interface WorkerSpec {
  address: string;
  taskQueue: string;
  /** base64 of a 32-byte payload key (payloads encrypted as in production), or undefined for plain JSON. */
  payloadKey?: string;
  bundlePath: string;
  runbooksDir: string;
  connector: ZoomConnectorConfig;
  preset: WorkerPreset;
  /** 'shipped': the HostPool of src/zoom/host-pool.ts. 'unmetered': diagnostic, see worker-process.ts. */
  hostPool: 'shipped' | 'unmetered';
  sampleMs: number;
  /**
   * Give the worker a Temporal client, as `zoom-runbooks worker` does: its meeting mailboxes and
   * connector gate then run. Without one (the older benches) neither does.
   */
  client?: boolean;
  /** Also run Temporal's floor (bench/floor/worker.ts) in this process. */
  floor?: FloorSpec;
}

export interface WorkerSample {
  t: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  /** CPU used by the process so far (user + system), ms. */
  cpuMs: number;
  cachedWorkflows: number;
  inFlightActivities: number;
  eventLoopP99Ms: number;
  eventLoopMaxMs: number;
}

export type WorkerMessage =
  { type: 'ready'; effective: Record<string, unknown> } | { type: 'sample'; sample: WorkerSample };

/** What the worker's Temporal core warned about (its log lines are counted, not printed). */
export interface WorkerWarnings {
  /** "Workflow task duration exceeded 5 seconds" (TMPRL1104). */
  slowWorkflowTasks: number;
  /** "Task not found when completing": the server had timed the workflow task out (10 s) and the work was lost. */
  lostWorkflowTasks: number;
  /** Slow tasks on attempt 2 or later: the task had already timed out at least once (the 10 s workflow task timeout). */
  retriedWorkflowTasks: number;
  /** Highest attempt number seen on a slow workflow task. */
  maxWorkflowTaskAttempt: number;
  /** Any other line on stderr (printed too). */
  other: number;
}

export interface BenchWorker {
  process: WorkerProcess<WorkerMessage>;
  warnings: WorkerWarnings;
  effective: Record<string, unknown>;
  samples: WorkerSample[];
  latest(): WorkerSample | undefined;
  /** Samples taken at or after `since` (ms epoch). */
  since(since: number): WorkerSample[];
  /** Asks the worker for a fresh sample after a full GC (needs --expose-gc, which the bench passes). */
  sampleAfterGc(): Promise<WorkerSample | undefined>;
  stop(): Promise<void>;
}

/** Starts bench/lib/worker-process.ts in a process of its own (src/apps/dev-stack) and waits until its worker polls. */
export async function startBenchWorker(spec: WorkerSpec): Promise<BenchWorker> {
  const warnings: WorkerWarnings = {
    slowWorkflowTasks: 0,
    lostWorkflowTasks: 0,
    retriedWorkflowTasks: 0,
    maxWorkflowTaskAttempt: 0,
    other: 0,
  };
  // Temporal core logs on stdout, Node on stderr: both are read, counted, and only the unexpected printed.
  const countWarning = (raw: string) => {
    // eslint-disable-next-line no-control-regex
    const line = raw.replace(/\x1b\[[0-9;]*m/g, '');
    if (!line.trim()) return;
    if (line.includes('TMPRL1104') || line.includes('Workflow task duration exceeded')) {
      warnings.slowWorkflowTasks++;
      const attempt = Number(/attempt=(\d+)/.exec(line)?.[1] ?? 1);
      if (attempt > 1) warnings.retriedWorkflowTasks++;
      warnings.maxWorkflowTaskAttempt = Math.max(warnings.maxWorkflowTaskAttempt, attempt);
    } else if (line.includes('Task not found when completing')) warnings.lostWorkflowTasks++;
    else {
      warnings.other++;
      if (warnings.other <= 30) process.stderr.write(`[worker] ${line}\n`);
    }
  };
  const samples: WorkerSample[] = [];
  let waiters: ((s: WorkerSample) => void)[] = [];
  let reportEffective: (effective: Record<string, unknown>) => void = () => undefined;
  const effective = new Promise<Record<string, unknown>>((resolve) => (reportEffective = resolve));
  const onMessage = (m: WorkerMessage) => {
    if (m.type === 'ready') reportEffective(m.effective);
    if (m.type === 'sample') {
      samples.push(m.sample);
      const w = waiters;
      waiters = [];
      for (const fn of w) fn(m.sample);
    }
  };
  const worker = new WorkerProcess<WorkerMessage>({
    name: 'bench',
    entry: { script: join(__dirname, 'worker-process.ts'), args: [] },
    env: { ...process.env, ZR_BENCH_WORKER: JSON.stringify(spec) },
    nodeArgs: [
      '--expose-gc',
      ...(spec.preset.maxOldSpaceMb ? [`--max-old-space-size=${spec.preset.maxOldSpaceMb}`] : []),
    ],
    onLine: countWarning,
    onMessage,
  });
  await worker.start();
  return {
    process: worker,
    warnings,
    // Sent before its pollers start, so before it said it was ready.
    effective: await effective,
    samples,
    latest: () => samples[samples.length - 1],
    since: (t) => samples.filter((s) => s.t >= t),
    sampleAfterGc: () =>
      new Promise((resolve) => {
        const timer = setTimeout(() => resolve(undefined), 10_000);
        waiters.push((s) => {
          clearTimeout(timer);
          resolve(s);
        });
        if (!worker.send({ type: 'gc' })) {
          clearTimeout(timer);
          resolve(undefined);
        }
      }),
    stop: () => worker.stop(),
  };
}

/** Peak of one field over samples. */
export function peak(samples: WorkerSample[], field: keyof WorkerSample): number | undefined {
  return samples.length ? Math.max(...samples.map((s) => s[field])) : undefined;
}
