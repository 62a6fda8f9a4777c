import { ChildProcess, spawn, StdioOptions } from 'node:child_process';
import { createWriteStream, readFileSync, WriteStream } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * Child processes of the local stack, each in a process group of its own: a signal reaches every
 * process it started (a CLI may run its work in a child) and nothing else. Detached groups would
 * outlive this process, so whatever ends it kills the groups it has not seen exit.
 */

export const PROJECT_ROOT = join(__dirname, '..', '..', '..');

const liveGroups = new Set<number>();
let exitHookInstalled = false;

export function spawnGroup(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; stdio: StdioOptions },
): ChildProcess {
  const child = spawn(command, args, { ...options, detached: true });
  const pid = child.pid;
  if (pid === undefined) return child; // it failed to start: its 'error' and 'exit' events say why
  liveGroups.add(pid);
  child.once('exit', () => liveGroups.delete(pid));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const group of liveGroups) {
        try {
          process.kill(-group, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    });
  }
  return child;
}

/**
 * `node` running a TypeScript file through tsx's loader: one process, so its pid is the program's
 * own (what /proc measures), started by absolute paths from any working directory.
 */
export function spawnTypeScript(
  script: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; nodeArgs?: string[]; ipc?: boolean },
): ChildProcess {
  const loader = pathToFileURL(join(dirname(require.resolve('tsx/package.json')), 'dist', 'loader.mjs')).href;
  return spawnGroup(process.execPath, ['--import', loader, ...(options.nodeArgs ?? []), script, ...args], {
    cwd: PROJECT_ROOT,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe', ...(options.ipc ? ['ipc' as const] : [])],
  });
}

export function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

export function exited(child: ChildProcess): Promise<void> {
  if (hasExited(child)) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Sends `signal` to the process group of `child`; true when there was one to signal. */
export function signalGroup(child: ChildProcess, signal: NodeJS.Signals): boolean {
  if (child.pid === undefined || hasExited(child)) return false;
  try {
    process.kill(-child.pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Stops a process group: `signal` first, SIGKILL after `graceMs`. */
export async function stopGroup(child: ChildProcess, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  const done = exited(child);
  if (!signalGroup(child, signal)) return done;
  const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), graceMs);
  await done;
  clearTimeout(timer);
  // Children of the group leader (if any) may outlive it by a moment.
  signalGroup(child, 'SIGKILL');
}

/** Calls `onLine` with each whole line `child` prints on stdout and stderr. */
export function readLines(child: ChildProcess, onLine: (line: string) => void): void {
  for (const stream of [child.stdout, child.stderr]) {
    let partial = '';
    stream?.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) onLine(line);
    });
    stream?.on('end', () => partial && onLine(partial));
  }
}

/**
 * A restartable process's output: appended to a file, if it has one, with a line for each start
 * and stop; its last lines kept for the error that reports it failed.
 */
export class OutputLog {
  private last: string[] = [];
  private readonly file?: WriteStream;

  constructor(path: string | undefined) {
    this.file = path ? createWriteStream(path, { flags: 'a' }) : undefined;
  }

  /** Marks start number `n` of `child` and follows what it prints. */
  follow(child: ChildProcess, n: number, onLine?: (line: string) => void): void {
    this.note(`start #${n} at ${new Date().toISOString()} (pid ${child.pid})`);
    readLines(child, (line) => {
      this.file?.write(`${line}\n`);
      this.last = [...this.last.slice(-39), line];
      onLine?.(line);
    });
  }

  note(text: string): void {
    this.file?.write(`--- ${text}\n`);
  }

  /** Its last lines (at most 40). */
  tail(lines = 40): string {
    return this.last.slice(-lines).join('\n');
  }

  close(): Promise<void> {
    return new Promise((resolve) => (this.file ? this.file.end(resolve) : resolve()));
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux); undefined elsewhere or once it is gone. */
export function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The fields after the command name, which may hold spaces and ends with ')': utime and stime are 14th and 15th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** Resident memory of a process in bytes, from /proc (Linux); undefined elsewhere or once it is gone. */
export function rssBytes(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
