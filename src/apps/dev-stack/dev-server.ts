import { ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { Connection } from '@temporalio/client';
import { devServerArgs } from '../../temporal/connection';
import { freePort } from './ports';
import { cpuSeconds, hasExited, OutputLog, spawnGroup, stopGroup } from './processes';
import { temporalCliPath } from './temporal-cli';

export interface DevServerOptions {
  /** Default: a free port. */
  port?: number;
  /** The SQLite file, kept across restarts and by close(); default: one in a temp dir that close() removes. */
  dbFile?: string;
  /** A file its output is appended to, with a line for each start and stop. */
  logFile?: string;
}

/**
 * A Temporal dev server of its own (`temporal server start-dev`, headless, on loopback, our search
 * attributes; see devServerArgs), for a test run, a benchmark or a chaos run: started, stopped and
 * restarted on the same port and SQLite file.
 */
export class DevServer {
  readonly address: string;
  /** Times started, restarts included. */
  starts = 0;
  private child?: ChildProcess;
  private readonly log: OutputLog;

  private constructor(
    readonly port: number,
    readonly dbFile: string,
    private readonly ownDir: string | undefined,
    logFile: string | undefined,
  ) {
    this.address = `127.0.0.1:${port}`;
    this.log = new OutputLog(logFile);
  }

  /** A server, started: it answers and its default namespace is there. */
  static async start(options: DevServerOptions = {}): Promise<DevServer> {
    const dbFile = options.dbFile ?? join(mkdtempSync(join(tmpdir(), 'zr-temporal-')), 'temporal.sqlite');
    const ownDir = options.dbFile ? undefined : dirname(dbFile);
    const server = new DevServer(options.port ?? (await freePort()), dbFile, ownDir, options.logFile);
    try {
      await server.start();
    } catch (err) {
      await server.close();
      throw err;
    }
    return server;
  }

  /** The process now (undefined while stopped). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    const child = spawnGroup(temporalCliPath(), devServerArgs(this.port, this.dbFile), {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.log.follow(child, ++this.starts);
    await this.waitReady(child);
  }

  /** SIGTERM, as an operator would stop it (SIGKILL after 15 s); the SQLite file stays. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child) return;
    await stopGroup(child, 'SIGTERM', 15_000);
    this.log.note(`stopped at ${new Date().toISOString()}`);
  }

  /** Stop, then start on the same port and file; resolves with the time it was unreachable (ms). */
  async restart(): Promise<number> {
    const t0 = Date.now();
    await this.stop();
    await this.start();
    return Date.now() - t0;
  }

  /** Stops it for good: the log is closed, and a temp dir of its own removed. */
  async close(): Promise<void> {
    await this.stop();
    await this.log.close();
    if (this.ownDir) rmSync(this.ownDir, { recursive: true, force: true });
  }

  /** Bytes of the SQLite database and its journal files. */
  diskBytes(): number {
    let total = 0;
    for (const name of readdirSync(dirname(this.dbFile))) {
      if (!name.startsWith(basename(this.dbFile))) continue;
      try {
        total += statSync(join(dirname(this.dbFile), name)).size;
      } catch {
        // A journal file that SQLite removed meanwhile.
      }
    }
    return total;
  }

  /** CPU seconds the running server has used (/proc). */
  cpuSeconds(): number | undefined {
    return cpuSeconds(this.pid);
  }

  private async waitReady(child: ChildProcess): Promise<void> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (hasExited(child))
        throw new Error(
          `The Temporal dev server exited (code ${child.exitCode}, signal ${child.signalCode}):\n${this.log.tail()}`,
        );
      try {
        const connection = await Connection.connect({ address: this.address, connectTimeout: 1000 });
        try {
          await connection.workflowService.getSystemInfo({});
          // Workflows can start once the namespace can be described.
          await connection.workflowService.describeNamespace({ namespace: 'default' });
          return;
        } finally {
          await connection.close();
        }
      } catch (err) {
        if (Date.now() > deadline)
          throw new Error(
            `The Temporal dev server at ${this.address} did not start within 60 s: ${(err as Error).message}\n${this.log.tail()}`,
          );
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }
}
