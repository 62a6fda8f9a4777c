import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';

/** The Temporal CLI the dev script found or installed (TEMPORAL_CLI_PATH), else the usual places. */
export function temporalCliPath(): string {
  const candidates = [process.env.TEMPORAL_CLI_PATH, join(__dirname, '../../.temporal/venv/bin/temporal')];
  for (const c of candidates) if (c && existsSync(c)) return c;
  try {
    return execFileSync('bash', ['-c', 'command -v temporal'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('No Temporal CLI found: run the tests with ./temporal-dev.sh test, which installs it.');
  }
}
