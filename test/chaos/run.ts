/**
 * The chaos suite, full run:
 *
 *   npx tsx test/chaos/run.ts --incidents 300 [--seed N] [--workers 2] [--auth user|account] [--kills N] [--hosts N] [--keep] [--no-write]
 *   npx tsx test/chaos/run.ts --render <run dir>/report.json    (print and write the figures of a saved run)
 *
 * Prints the figures, writes them to test/chaos/latest.json and docs/chaos-results.md (unless
 * --no-write), and exits 1 when any figure is off. Needs the Temporal CLI (TEMPORAL_CLI_PATH, or
 * the copy ./temporal-dev.sh installs in .temporal/).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { formatReport, markdownReport, representativeProblems } from './report';
import { ChaosReport, chaosOptions, runChaos } from './runner';

// Ctrl-C or a kill: exit, so the processes this run started are killed with it (see src/apps/dev-stack/processes.ts).
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      incidents: { type: 'string', default: '300' },
      seed: { type: 'string' },
      workers: { type: 'string' },
      auth: { type: 'string' },
      kills: { type: 'string' },
      hosts: { type: 'string' },
      keep: { type: 'boolean', default: false },
      'no-write': { type: 'boolean', default: false },
      /** Re-render the figures of a saved run (its report.json) instead of running. */
      render: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(
      'npx tsx test/chaos/run.ts --incidents 300 [--seed N] [--workers 2] [--auth user|account] [--kills N] [--hosts N] [--keep] [--no-write]\n' +
        '       npx tsx test/chaos/run.ts --render /tmp/zr-chaos-…/report.json   (print and write the figures of a saved run)',
    );
    return 0;
  }
  const incidents = positive(values.incidents!, 'incidents');
  const options = chaosOptions(incidents, {
    ...(values.seed !== undefined ? { seed: positive(values.seed, 'seed') } : {}),
    ...(values.workers !== undefined ? { workers: positive(values.workers, 'workers') } : {}),
    ...(values.kills !== undefined ? { kills: positive(values.kills, 'kills') } : {}),
    ...(values.hosts !== undefined ? { hosts: positive(values.hosts, 'hosts') } : {}),
    ...(values.auth !== undefined
      ? { auth: values.auth === 'account' ? ('account' as const) : ('user' as const) }
      : {}),
    keepDir: values.keep,
  });
  const report: ChaosReport = values.render
    ? (JSON.parse(readFileSync(values.render, 'utf8')) as ChaosReport)
    : await runChaos(options);
  console.log(`\n${formatReport(report)}`);
  if (!values['no-write']) {
    // Evidence only for the problems the docs show (a few of each kind): the file stays readable.
    const shown = new Set(representativeProblems(report.problems, 40));
    const slim = {
      ...report,
      problems: report.problems.map((p) => (shown.has(p) ? p : { ...p, evidence: undefined })),
    };
    writeFileSync(join(__dirname, 'latest.json'), `${JSON.stringify(slim, null, 2)}\n`);
    writeFileSync(join(__dirname, '..', '..', 'docs', 'chaos-results.md'), markdownReport(report));
    console.log('\nWrote test/chaos/latest.json and docs/chaos-results.md');
  }
  return report.ok ? 0 : 1;
}

function positive(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a whole number, got "${value}"`);
  return n;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(2);
  },
);
