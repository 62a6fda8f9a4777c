import { ChildProcess, fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ZoomConnectorConfig } from '../../src/platform/config';
import type { WorkerPreset } from './worker-tuning';

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
  | { type: 'ready'; pid: number; effective: Record<string, unknown> }
  | { type: 'sample'; sample: WorkerSample }
  | { type: 'error'; message: string };

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

export interface WorkerProcess {
  pid: number;
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

/** Forks bench/lib/worker-process.ts under tsx and waits until its worker is created. */
export async function startWorkerProcess(spec: WorkerSpec): Promise<WorkerProcess> {
  // tsx by absolute path, so the worker starts whatever the current directory is.
  const execArgv = [
    '--import',
    pathToFileURL(join(dirname(require.resolve('tsx/package.json')), 'dist', 'loader.mjs')).href,
    '--expose-gc',
  ];
  if (spec.preset.maxOldSpaceMb) execArgv.push(`--max-old-space-size=${spec.preset.maxOldSpaceMb}`);
  const child: ChildProcess = fork(join(__dirname, 'worker-process.ts'), [], {
    execArgv,
    env: { ...process.env, ZR_BENCH_WORKER: JSON.stringify(spec) },
    // Temporal core logs on stdout, Node on stderr: both are read, counted, and only the unexpected printed.
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const warnings: WorkerWarnings = {
    slowWorkflowTasks: 0,
    lostWorkflowTasks: 0,
    retriedWorkflowTasks: 0,
    maxWorkflowTaskAttempt: 0,
    other: 0,
  };
  const partial = { out: '', err: '' };
  const read = (stream: 'out' | 'err') => (chunk: Buffer) => {
    const lines = (partial[stream] + chunk.toString()).split('\n');
    partial[stream] = lines.pop() ?? '';
    for (const raw of lines) {
      // eslint-disable-next-line no-control-regex
      const line = raw.replace(/\x1b\[[0-9;]*m/g, '');
      if (!line.trim()) continue;
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
    }
  };
  child.stdout!.on('data', read('out'));
  child.stderr!.on('data', read('err'));
  const samples: WorkerSample[] = [];
  let waiters: ((s: WorkerSample) => void)[] = [];
  const effective = await new Promise<Record<string, unknown>>((resolve, reject) => {
    child.on('message', (m: WorkerMessage) => {
      if (m.type === 'ready') resolve(m.effective);
      if (m.type === 'error') reject(new Error(`the worker process failed: ${m.message}`));
      if (m.type === 'sample') {
        samples.push(m.sample);
        const w = waiters;
        waiters = [];
        for (const fn of w) fn(m.sample);
      }
    });
    child.once('exit', (code) => reject(new Error(`the worker process exited (${code}) before it was ready`)));
  });
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  return {
    pid: child.pid!,
    warnings,
    effective,
    samples,
    latest: () => samples[samples.length - 1],
    since: (t) => samples.filter((s) => s.t >= t),
    sampleAfterGc: () =>
      new Promise((resolve) => {
        if (exited) return resolve(undefined);
        const timer = setTimeout(() => resolve(undefined), 10_000);
        waiters.push((s) => {
          clearTimeout(timer);
          resolve(s);
        });
        child.send({ type: 'gc' });
      }),
    stop: async () => {
      if (exited) return;
      child.send({ type: 'shutdown' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exit;
      clearTimeout(timer);
    },
  };
}

/** Peak of one field over samples. */
export function peak(samples: WorkerSample[], field: keyof WorkerSample): number | undefined {
  return samples.length ? Math.max(...samples.map((s) => s[field])) : undefined;
}
