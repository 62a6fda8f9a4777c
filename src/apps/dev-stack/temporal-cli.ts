import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from './processes';

/**
 * The Temporal CLI: TEMPORAL_CLI_PATH (what `./temporal-dev.sh test` exports) or TEMPORAL_CLI, the
 * copy temporal-dev.sh cached under .temporal/, else whatever `./temporal-dev.sh cli` finds on
 * PATH or installs: the script stays the one place that installs it.
 */
export function temporalCliPath(): string {
  const candidates = [
    process.env.TEMPORAL_CLI_PATH,
    process.env.TEMPORAL_CLI,
    join(PROJECT_ROOT, '.temporal', 'venv', 'bin', 'temporal'),
    join(PROJECT_ROOT, '.temporal', 'bin', 'temporal'),
  ];
  for (const c of candidates) if (c && existsSync(c)) return c;
  try {
    // stderr passes through: a first use may say it is installing the CLI.
    const script = join(PROJECT_ROOT, 'temporal-dev.sh');
    return execFileSync('bash', [script, 'cli'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  } catch {
    throw new Error(
      'No Temporal CLI found: run `./temporal-dev.sh cli` once (it installs one), or set TEMPORAL_CLI_PATH.',
    );
  }
}
