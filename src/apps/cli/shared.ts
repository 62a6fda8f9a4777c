import { existsSync, realpathSync } from 'node:fs';
import { delimiter, isAbsolute, join, relative } from 'node:path';
import { InvalidArgumentError } from 'commander';

// Kept free of Temporal and Zoom imports: `--help` and usage errors load only this and commander.

/** A mistake in how the command was called: exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** An expected failure the operator can act on (unknown runbook, nothing to end…): message only, exit 1. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}

/** A command that ran another program and ends with its exit code; that program has said why. */
export class ExitStatus extends Error {
  constructor(readonly code: number) {
    super(`exit code ${code}`);
    this.name = 'ExitStatus';
  }
}

/** Progress goes to stderr so stdout stays the command's answer (and pipes cleanly). */
export function progress(message: string): void {
  process.stderr.write(`${message}\n`);
}

/** Runbooks folder: the argument, else $ZR_RUNBOOKS_DIR, else the project's runbooks/. */
export function runbooksDir(arg?: string): string {
  return arg ?? process.env.ZR_RUNBOOKS_DIR ?? join(__dirname, '..', '..', '..', 'runbooks');
}

/** Commander argument parser: a bad value is a usage error (exit 2). */
export function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535)
    throw new InvalidArgumentError(`a port number (0-65535) is expected, got "${value}".`);
  return port;
}

/** "500ms", "3s", "2m", "1h" → milliseconds. */
export function parseDuration(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError(`a duration such as 3s, 500ms or 2m is expected, got "${value}".`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves on the first SIGINT or SIGTERM, so long-running commands can stop cleanly. */
export function untilStopped(): Promise<string> {
  return new Promise((resolve) => {
    const stop = (signal: string) => {
      process.off('SIGINT', stop).off('SIGTERM', stop);
      resolve(signal);
    };
    process.on('SIGINT', stop).on('SIGTERM', stop);
  });
}

/** Pads every column but the last; `widths` only grows, so successive batches stay aligned. */
export function formatTable(rows: string[][], widths: number[] = []): string {
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i])))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/**
 * This CLI as the user can type it, for the commands it suggests: `zoom-runbooks` when PATH finds
 * this very script (npm link, a symlink), else its path from the working directory
 * (`bin/zoom-runbooks` in the project).
 */
export function selfCommand(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): string {
  const bin = join(__dirname, '..', '..', '..', 'bin', 'zoom-runbooks');
  const real = (p: string) => (existsSync(p) ? realpathSync(p) : undefined);
  const self = real(bin);
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && isAbsolute(dir) && real(join(dir, 'zoom-runbooks')) === self) return 'zoom-runbooks';
  }
  const path = relative(cwd, bin);
  // A path that climbs out of the working directory reads better whole; a bare name would be looked up in PATH.
  return path.startsWith('..') ? bin : path.includes('/') ? path : `./${path}`;
}
