import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';

/** Where every benchmark merges its figures, under its own key. */
export const RESULTS_FILE = join(__dirname, '..', 'results', 'latest.json');

/** The q-quantile (0..1) of `values`, nearest-rank; undefined when empty. */
export function quantile(values: number[], q: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1];
}

export interface Summary {
  n: number;
  p50?: number;
  p95?: number;
  p99?: number;
  max?: number;
  mean?: number;
}

export function summarise(values: number[]): Summary {
  const n = values.length;
  return {
    n,
    p50: round(quantile(values, 0.5)),
    p95: round(quantile(values, 0.95)),
    p99: round(quantile(values, 0.99)),
    max: round(n ? Math.max(...values) : undefined),
    mean: round(n ? values.reduce((a, b) => a + b, 0) / n : undefined),
  };
}

export function round(v: number | undefined, digits = 1): number | undefined {
  if (v === undefined || !Number.isFinite(v)) return v;
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

export type Cell = string | number | boolean | undefined | null;

/** Prints rows as an aligned text table (numbers right-aligned). */
export function printTable(title: string, headers: string[], rows: Cell[][]): void {
  const text = (c: Cell) =>
    c === undefined || c === null ? '-' : typeof c === 'boolean' ? (c ? 'yes' : 'NO') : String(c);
  const cells = rows.map((r) => r.map(text));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const numeric = headers.map((_, i) =>
    rows.every((r) => r[i] === undefined || r[i] === null || typeof r[i] === 'number'),
  );
  const line = (r: string[]) => r.map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
  console.log(`\n${title}`);
  console.log(line(headers));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of cells) console.log(line(r));
}

/** What the numbers were measured on, stored with every result. */
export function machine() {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memoryGiB: round(totalmem() / 2 ** 30),
    node: process.version,
    platform: process.platform,
  };
}

/**
 * Merges `value` into bench/results/latest.json under `key` (other benchmarks' keys are kept).
 * Written to a temporary file and renamed, so a crash never leaves half a file.
 */
export function writeResult(key: string, value: unknown): void {
  mkdirSync(dirname(RESULTS_FILE), { recursive: true });
  let all: Record<string, unknown> = {};
  if (existsSync(RESULTS_FILE)) {
    try {
      all = JSON.parse(readFileSync(RESULTS_FILE, 'utf8')) as Record<string, unknown>;
    } catch {
      all = {};
    }
  }
  all[key] = { measuredAt: new Date().toISOString(), machine: machine(), ...(value as object) };
  const tmp = `${RESULTS_FILE}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(all, null, 2)}\n`);
  renameSync(tmp, RESULTS_FILE);
  console.log(`\nresults: ${key} written to ${RESULTS_FILE}`);
}

export function readResult<T>(key: string): T | undefined {
  if (!existsSync(RESULTS_FILE)) return undefined;
  try {
    return (JSON.parse(readFileSync(RESULTS_FILE, 'utf8')) as Record<string, T>)[key];
  } catch {
    return undefined;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const started = Date.now();
/** Progress lines with the seconds since the process started. */
export function progress(message: string): void {
  console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s] ${message}`);
}

export const mb = (bytes: number | undefined) => (bytes === undefined ? undefined : round(bytes / 2 ** 20));
export const sec = (ms: number | undefined) => (ms === undefined ? undefined : round(ms / 1000, 2));

/** Machine-wide CPU (all cores) from /proc/stat, in core-seconds busy and total; undefined off Linux. */
function machineCpu(): { busy: number; total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = f[3] + (f[4] ?? 0);
    const total = f.reduce((a, b) => a + b, 0);
    return { busy: (total - idle) / 100, total: total / 100 };
  } catch {
    return undefined;
  }
}

export interface Contention {
  seconds: number;
  /** Cores busy on average, the whole machine. */
  machineBusyCores?: number;
  /** Cores used on average by the benchmark's own processes (worker, dev server, this process). */
  benchCores?: number;
  /** Cores used by everything else: other people's tests on the shared machine. */
  otherCores?: number;
  loadAverageMax: number;
}

/**
 * Measures how busy the machine was during a benchmark and how much of it was the benchmark's own
 * processes, so figures taken on a shared machine say how contended they were.
 */
export function contentionMonitor(cpuOfOurs: () => number) {
  const start = { at: Date.now(), machine: machineCpu(), ours: cpuOfOurs() };
  let loadMax = loadavg()[0];
  const timer = setInterval(() => (loadMax = Math.max(loadMax, loadavg()[0])), 2000);
  timer.unref();
  return {
    stop(): Contention {
      clearInterval(timer);
      const seconds = (Date.now() - start.at) / 1000;
      const m = machineCpu();
      const busy = m && start.machine ? (m.busy - start.machine.busy) / seconds : undefined;
      const ours = (cpuOfOurs() - start.ours) / seconds;
      return {
        seconds: round(seconds)!,
        machineBusyCores: round(busy, 2),
        benchCores: round(ours, 2),
        otherCores: busy !== undefined ? round(Math.max(0, busy - ours), 2) : undefined,
        loadAverageMax: round(loadMax, 2)!,
      };
    },
  };
}

/** This process's CPU so far, seconds. */
export function ownCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}
