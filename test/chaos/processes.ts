import { ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, WriteStream } from 'node:fs';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { devServerArgs } from '../../src/temporal/connection';

/**
 * The processes a chaos run owns: the Temporal dev server (stopped and restarted on the same
 * SQLite file) and worker processes (`bin/zoom-runbooks worker`, SIGKILLed and restarted). Each
 * runs in its own process group, so a kill reaches every process it started (tsx runs the CLI in
 * a child process) and nothing else.
 */

const PROJECT = join(__dirname, '..', '..');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Process groups this run started and has not seen exit. They are detached (so a kill reaches the
 * whole group), which also means they would outlive this process: when it exits, for whatever
 * reason, they are killed.
 */
const liveGroups = new Set<number>();
process.on('exit', () => {
  for (const pgid of liveGroups) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

function track(child: ChildProcess): void {
  const pid = child.pid;
  if (pid === undefined) return;
  liveGroups.add(pid);
  child.once('exit', () => liveGroups.delete(pid));
}

/** Sends `signal` to the process group of `child`; true when there was one to signal. */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): boolean {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return false;
  try {
    process.kill(-child.pid, signal);
    return true;
  } catch {
    return false;
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Stops a process group: `signal` first, SIGKILL after `graceMs`. */
async function stopGroup(child: ChildProcess, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  const done = exited(child);
  if (!signalGroup(child, signal)) return done;
  const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), graceMs);
  await done;
  clearTimeout(timer);
  // Children of the group leader (if any) may outlive it by a moment.
  signalGroup(child, 'SIGKILL');
}

export class DevServer {
  private child?: ChildProcess;
  private log: WriteStream;
  readonly address: string;
  starts = 0;

  constructor(
    private readonly cliPath: string,
    readonly dbFile: string,
    readonly port: number,
    logFile: string,
  ) {
    this.address = `127.0.0.1:${port}`;
    this.log = createWriteStream(logFile, { flags: 'a' });
  }

  async start(): Promise<void> {
    const args = devServerArgs(this.port, this.dbFile);
    const child = spawn(this.cliPath, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    track(child);
    this.child = child;
    this.starts++;
    this.log.write(`--- start #${this.starts} at ${new Date().toISOString()} (pid ${child.pid})\n`);
    child.stdout!.pipe(this.log, { end: false });
    child.stderr!.pipe(this.log, { end: false });
    await this.waitReady(child);
  }

  /** Stops it (SIGTERM, as an operator would), keeping the SQLite file. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child) await stopGroup(child, 'SIGTERM', 15_000);
    this.log.write(`--- stopped at ${new Date().toISOString()}\n`);
  }

  /** Stop, then start on the same port and file; resolves with the time it was unreachable (ms). */
  async restart(): Promise<number> {
    const t0 = Date.now();
    await this.stop();
    await this.start();
    return Date.now() - t0;
  }

  async close(): Promise<void> {
    await this.stop();
    await new Promise<void>((r) => this.log.end(() => r()));
  }

  private async waitReady(child: ChildProcess): Promise<void> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null)
        throw new Error(`The Temporal dev server exited with code ${child.exitCode}; see its log.`);
      try {
        const connection = await Connection.connect({ address: this.address, connectTimeout: 1000 });
        try {
          await connection.workflowService.getSystemInfo({});
          // The namespace is ready when it can be described.
          await connection.workflowService.describeNamespace({ namespace: 'default' });
          return;
        } finally {
          await connection.close();
        }
      } catch (err) {
        if (Date.now() > deadline)
          throw new Error(
            `The Temporal dev server at ${this.address} did not start within 60 s: ${(err as Error).message}`,
          );
        await sleep(200);
      }
    }
  }
}

export interface WorkerExit {
  worker: string;
  at: string;
  code: number | null;
  signal: string | null;
  /** Killed by the chaos runner (expected) or exited on its own (a finding). */
  killed: boolean;
  /** It had started polling (else it failed while starting, and start() rejects). */
  wasPolling: boolean;
  /** The last lines it printed, for an unexpected exit. */
  tail?: string;
}

/** One `bin/zoom-runbooks worker` process, restartable. */
export class WorkerProcess {
  private child?: ChildProcess;
  private ready?: Promise<void>;
  private killing = false;
  private stopping = false;
  private tail: string[] = [];
  private readonly log: WriteStream;
  starts = 0;
  kills = 0;
  /** Start-to-polling times (ms), to report how long a restart leaves the queue short of a worker. */
  readonly startupMs: number[] = [];

  constructor(
    readonly name: string,
    private readonly env: Record<string, string>,
    logFile: string,
    private readonly onExit: (exit: WorkerExit) => void,
  ) {
    this.log = createWriteStream(logFile, { flags: 'a' });
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Running and polling its task queue. */
  get polling(): boolean {
    return this.running && this.isPolling;
  }

  private isPolling = false;

  /** Starts the process; resolves once it polls its task queue. */
  start(): Promise<void> {
    const t0 = Date.now();
    const child = spawn(join(PROJECT, 'bin', 'zoom-runbooks'), ['worker'], {
      cwd: PROJECT,
      env: this.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    track(child);
    this.child = child;
    this.starts++;
    this.log.write(`--- start #${this.starts} at ${new Date().toISOString()} (pid ${child.pid})\n`);
    let polling = false;
    this.ready = new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        const text = chunk.toString();
        this.log.write(text);
        this.tail = [...this.tail, ...text.split('\n')].slice(-40);
        if (text.includes('Worker polling task queue')) {
          this.startupMs.push(Date.now() - t0);
          polling = true;
          this.isPolling = true;
          resolve();
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', (code, signal) => {
        this.isPolling = false;
        const killed = this.killing || this.stopping;
        this.log.write(
          `--- exit at ${new Date().toISOString()}: code ${code} signal ${signal}${killed ? ' (chaos kill or stop)' : ' (UNEXPECTED)'}\n`,
        );
        if (this.child === child) this.child = undefined;
        this.onExit({
          worker: this.name,
          at: new Date().toISOString(),
          code,
          signal,
          killed,
          wasPolling: polling,
          ...(killed ? {} : { tail: this.tail.join('\n') }),
        });
        reject(new Error(`worker ${this.name} exited before polling (code ${code}, signal ${signal})`));
      });
    });
    // An exit after it polled is reported through onExit; nobody awaits this promise then.
    this.ready.catch(() => undefined);
    return this.ready;
  }

  /** SIGKILL, as a crashed or evicted process: no shutdown, activities in flight are lost. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.killing = true;
    this.kills++;
    try {
      await stopGroup(child, 'SIGKILL', 5_000);
    } finally {
      this.killing = false;
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.stopping = true;
    if (child) await stopGroup(child, 'SIGTERM', 15_000);
    await new Promise<void>((r) => this.log.end(() => r()));
  }
}
