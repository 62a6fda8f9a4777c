import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { freePort } from '../../test/support/ports';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { devServerArgs } from '../../src/temporal/connection';

/** A Temporal dev server of the benchmark's own, on a free port, its sqlite file in a temp dir. */
export interface DevServer {
  address: string;
  dir: string;
  dbFile: string;
  pid: number;
  /** Bytes of the sqlite database and its journal files. */
  diskBytes(): number;
  stop(): Promise<void>;
}

/** The Temporal CLI: TEMPORAL_CLI_PATH / TEMPORAL_CLI, the project's .temporal copy, else PATH. */
export function temporalCli(): string {
  const root = join(__dirname, '..', '..');
  const candidates = [
    process.env.TEMPORAL_CLI_PATH,
    process.env.TEMPORAL_CLI,
    join(root, '.temporal/venv/bin/temporal'),
    join(root, '.temporal/bin/temporal'),
  ];
  for (const c of candidates) if (c && existsSync(c)) return c;
  try {
    return execFileSync('bash', ['-c', 'command -v temporal'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error(
      'No Temporal CLI found: run `./temporal-dev.sh cli` once (it installs one in .temporal/), or set TEMPORAL_CLI_PATH.',
    );
  }
}

const running = new Set<DevServer>();
let exitHookInstalled = false;

/** Starts `temporal server start-dev` with the project's search attributes (as test/global-setup.ts does). */
export async function startDevServer(): Promise<DevServer> {
  const dir = mkdtempSync(join(tmpdir(), 'zr-bench-'));
  const dbFile = join(dir, 'temporal.sqlite');
  const port = await freePort();
  const args = devServerArgs(port, dbFile);
  const child: ChildProcess = spawn(temporalCli(), args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const address = `127.0.0.1:${port}`;
  const server: DevServer = {
    address,
    dir,
    dbFile,
    pid: child.pid!,
    diskBytes: () => {
      let total = 0;
      for (const name of readdirSync(dir)) {
        if (!name.startsWith('temporal.sqlite')) continue;
        try {
          total += statSync(join(dir, name)).size;
        } catch {
          // A journal file that sqlite removed meanwhile.
        }
      }
      return total;
    },
    stop: async () => {
      running.delete(server);
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        try {
          process.kill(-child.pid!, 'SIGTERM');
        } catch {
          /* already gone */
        }
        const timer = setTimeout(() => {
          try {
            process.kill(-child.pid!, 'SIGKILL');
          } catch {
            /* already gone */
          }
        }, 10_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  running.add(server);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // Never leave a dev server behind, whatever ends this process.
    process.once('exit', () => {
      for (const s of running) {
        try {
          process.kill(-s.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    });
  }
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the Temporal dev server exited (${child.exitCode}): ${stderr}`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      await connection.workflowService.getSystemInfo({});
      await connection.close();
      break;
    } catch (err) {
      if (Date.now() > deadline) {
        await server.stop();
        throw new Error(`Temporal dev server at ${address} did not start within 60 s: ${(err as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return server;
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux); undefined elsewhere. */
export function processCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return ticks / 100;
  } catch {
    return undefined;
  }
}

/** Resident memory of a process in bytes, from /proc (Linux); undefined elsewhere. */
export function processRssBytes(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /VmRSS:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
