import { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from './ports';
import {
  cpuSeconds,
  hasExited,
  PROJECT_ROOT,
  OutputLog,
  rssBytes,
  signalGroup,
  spawnTypeScript,
  stopGroup,
} from './processes';

/** `Message`: what the process sends over IPC, if it does. */
export interface WorkerProcessOptions<Message = never> {
  /** Named in its log and exit reports. */
  name: string;
  /** The worker's environment (TEMPORAL_ADDRESS, ZR_TASK_QUEUE, ZOOM_*, …); without ZR_HEALTH_PORT, a free port is added, on 127.0.0.1. */
  env: NodeJS.ProcessEnv;
  /**
   * The program, a TypeScript file and its arguments: the product's `zoom-runbooks worker` by default.
   * Another (an instrumented worker) must serve /readyz on ZR_HEALTH_PORT as that one does.
   */
  entry?: { script: string; args: string[] };
  /** node's own flags (--expose-gc, --max-old-space-size=…). */
  nodeArgs?: string[];
  /** A file its output is appended to, with a line for each start and exit. */
  logFile?: string;
  /** Each line it prints, stdout and stderr. */
  onLine?: (line: string) => void;
  /** Messages it sends over IPC: given, the process gets an IPC channel. */
  onMessage?: (message: Message) => void;
  /** Each exit, expected or not. */
  onExit?: (exit: WorkerExit) => void;
  /** How long it may take to be ready (it bundles the workflows first unless ZR_WORKFLOW_BUNDLE names a bundle); default 180 s. */
  readyTimeoutMs?: number;
}

export interface WorkerExit {
  worker: string;
  at: string;
  code: number | null;
  signal: string | null;
  /** Killed or stopped by its owner (expected), or exited on its own (a finding). */
  killed: boolean;
  /** It had been ready (else it failed while starting, and start() rejected). */
  wasReady: boolean;
  /** The last lines it printed, for an exit nobody asked for. */
  tail?: string;
}

/**
 * A worker in a child process of its own, as production runs it: configured through its
 * environment, ready once its /readyz says so (its pollers run), and restartable after a SIGKILL.
 */
export class WorkerProcess<Message = never> {
  starts = 0;
  kills = 0;
  /** Start-to-ready times (ms): how long a (re)start leaves the task queue short of this worker. */
  readonly startupMs: number[] = [];
  private child?: ChildProcess;
  private isReady = false;
  private killing = false;
  private stopping = false;
  private readonly log: OutputLog;

  constructor(private readonly options: WorkerProcessOptions<Message>) {
    this.log = new OutputLog(options.logFile);
  }

  get name(): string {
    return this.options.name;
  }

  /** The process now (undefined while none runs). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return !!this.child && !hasExited(this.child);
  }

  /** Running, and said it was ready since it started. */
  get ready(): boolean {
    return this.running && this.isReady;
  }

  /** Starts a process; resolves once it is ready, rejects if it exits (or hangs) before. */
  async start(): Promise<void> {
    const t0 = Date.now();
    // A port of the caller's choosing, or a free one for each start.
    const healthPort = this.options.env.ZR_HEALTH_PORT ?? String(await freePort());
    const entry = this.options.entry ?? { script: join(PROJECT_ROOT, 'src', 'apps', 'cli.ts'), args: ['worker'] };
    const child = spawnTypeScript(entry.script, entry.args, {
      env: { ZR_HEALTH_HOST: '127.0.0.1', ...this.options.env, ZR_HEALTH_PORT: healthPort },
      nodeArgs: this.options.nodeArgs,
      ipc: !!this.options.onMessage,
    });
    this.child = child;
    this.isReady = false;
    this.log.follow(child, ++this.starts, this.options.onLine);
    if (this.options.onMessage) child.on('message', this.options.onMessage);
    let wasReady = false;
    const exit = new Promise<never>((_, reject) =>
      child.once('exit', (code, signal) => {
        if (this.child === child) this.isReady = false;
        const killed = this.killing || this.stopping;
        this.log.note(
          `exit at ${new Date().toISOString()}: code ${code} signal ${signal}${killed ? ' (killed or stopped)' : ' (UNEXPECTED)'}`,
        );
        this.options.onExit?.({
          worker: this.name,
          at: new Date().toISOString(),
          code,
          signal,
          killed,
          wasReady,
          ...(killed ? {} : { tail: this.log.tail() }),
        });
        reject(
          new Error(
            `worker ${this.name} exited before it was ready (code ${code}, signal ${signal}):\n${this.log.tail(10)}`,
          ),
        );
      }),
    );
    // An exit after it was ready is reported through onExit; nobody awaits this promise then.
    exit.catch(() => undefined);
    await Promise.race([exit, this.untilReady(child, `http://127.0.0.1:${healthPort}/readyz`)]);
    wasReady = true;
    this.isReady = true;
    this.startupMs.push(Date.now() - t0);
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

  /** SIGTERM (the worker drains), SIGKILL after 30 s; for good: its log is closed. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.child) await stopGroup(this.child, 'SIGTERM', 30_000);
    await this.log.close();
  }

  /** A message over IPC (see onMessage); false when it cannot be sent. */
  send(message: object): boolean {
    return !!this.child?.connected && this.child.send(message);
  }

  /** CPU seconds the running process has used (/proc). */
  cpuSeconds(): number | undefined {
    return cpuSeconds(this.pid);
  }

  /** Resident memory of the running process (/proc). */
  rssBytes(): number | undefined {
    return rssBytes(this.pid);
  }

  private async untilReady(child: ChildProcess, url: string): Promise<void> {
    const timeoutMs = this.options.readyTimeoutMs ?? 180_000;
    const deadline = Date.now() + timeoutMs;
    while (!hasExited(child)) {
      const status = await fetch(url, { signal: AbortSignal.timeout(1000) }).then(
        async (res) => {
          await res.arrayBuffer(); // read to the end, so the connection is released
          return res.status;
        },
        () => 0,
      );
      if (status === 200) return;
      if (Date.now() > deadline) {
        signalGroup(child, 'SIGKILL');
        throw new Error(`worker ${this.name} was not ready within ${timeoutMs / 1000} s:\n${this.log.tail(10)}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`worker ${this.name} exited before it was ready`);
  }
}
