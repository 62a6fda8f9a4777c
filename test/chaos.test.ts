/**
 * The chaos suite, CI version: the same runner as `npx tsx test/chaos/run.ts --incidents 300`,
 * with 30 incidents and shorter waits (settling waits out the two minutes after a retried create). Its own dev server, sandbox, intake and two worker
 * processes (see test/chaos/README.md). Every figure is asserted; the whole table and the
 * evidence of anything off are printed. ZR_CHAOS_SEED=<n> repeats a run.
 */
import { formatReport } from './chaos/report';
import { ChaosReport, chaosOptions, runChaos } from './chaos/runner';

const INCIDENTS = 30;

describe(`chaos suite (${INCIDENTS} incidents)`, () => {
  let report: ChaosReport;

  beforeAll(async () => {
    const seed = process.env.ZR_CHAOS_SEED ? Number(process.env.ZR_CHAOS_SEED) : undefined;
    report = await runChaos(
      chaosOptions(INCIDENTS, {
        ...(seed !== undefined ? { seed } : {}),
        arrivalWindowS: 30,
        dwellS: [2, 8],
        bridgeWaitS: 60,
        settleTimeoutS: 300,
        quietS: 150,
        log: (line) => process.stderr.write(`${line}\n`),
      }),
    );
    console.log(formatReport(report));
  }, 15 * 60_000);

  /** The rows whose check starts with one of `prefixes`, failing ones with their problems. */
  function offFigures(prefixes: string[]): string[] {
    const rows = report.rows.filter((r) => prefixes.some((p) => r.check.startsWith(p)));
    expect(rows.length).toBeGreaterThan(0);
    return rows
      .filter((r) => !r.ok)
      .map((r) => `${r.check}: expected ${r.expected}, got ${r.actual} (seed ${report.seed})`);
  }

  it('applies every kind of chaos', () => {
    expect(offFigures(['Chaos applied'])).toEqual([]);
    expect(report.injected.find((i) => i.label.startsWith('Worker processes SIGKILLed'))?.count).toBeGreaterThanOrEqual(
      1,
    );
    expect(report.injected.find((i) => i.label.startsWith('Temporal dev server stopped'))?.count).toBe(1);
    for (const kind of [
      'Equal timestamps',
      'Skewed clocks: create',
      'Skewed clocks: resolves',
      'Partial updates: incident.updated with one',
      'Partial updates: incident.updated with only',
      'Webhooks racing the create',
      'Bridge runbooks cancelled',
      'Bridge runbooks terminated',
      'Reopens saying status "triggered"',
      'Incidents sent as PagerDuty',
    ]) {
      expect([kind, report.injected.find((i) => i.label.startsWith(kind))?.count]).toEqual([kind, expect.any(Number)]);
      expect([kind, report.injected.find((i) => i.label.startsWith(kind))!.count > 0]).toEqual([kind, true]);
    }
  });

  it('opens exactly one bridge per incident and ends it when the incident is resolved', () => {
    expect(
      offFigures(['Duplicate meetings', 'Bridges', 'Duplicate bridges', 'Missing bridges', 'No bridge by design']),
    ).toEqual([]);
  });

  it('keeps the lifecycle right under equal timestamps, skewed clocks, partial updates and PagerDuty-shaped reopens', () => {
    expect(offFigures(['Lifecycle status', 'Partial updates'])).toEqual([]);
  });

  it('loses no Zoom webhook, even one that reaches the intake before the create has answered', () => {
    expect(offFigures(['Lost webhooks'])).toEqual([]);
  });

  it('leaves no orphan meeting or mailbox behind, even when a runbook is cancelled or terminated during its create', () => {
    expect(offFigures(['Orphan meetings', 'Bridge runbooks cancelled or terminated', 'Meeting mailboxes'])).toEqual([]);
  });

  it('books exactly one follow-up per resolved SEV1/SEV2 incident, at the right time, and keeps the daily syncs right', () => {
    expect(offFigures(['Follow-ups', 'Lost follow-ups', 'Extra follow-ups', 'Daily syncs'])).toEqual([]);
  });

  it('keeps every timeline complete and applies each event once', () => {
    expect(offFigures(['Timeline complete', 'Duplicate deliveries', 'Events never acknowledged'])).toEqual([]);
  });

  it('leaves no workflow stuck or failed, except permanent faults by design, which the timeline explains', () => {
    expect(
      offFigures(['Workflows', 'Failed by design', 'Workflow task failures', 'Worker processes that died']),
    ).toEqual([]);
  });

  it('keeps the refresh token valid: one rotation per expiry, never used twice', () => {
    expect(offFigures(['Refresh'])).toEqual([]);
  });

  it('has every figure as expected', () => {
    expect(report.rows.filter((r) => !r.ok).map((r) => r.check)).toEqual([]);
  });
});
