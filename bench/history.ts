/**
 * History per incident (issue 15): a SEV1 and a SEV3 incident with the shipped runbooks
 * (runbooks/*.yaml), one after another, through the intake to a worker as shipped (with its
 * Temporal client: meeting mailboxes run). The events their workflows wrote, counted when the
 * bridge is up, after the resolve and after the close: the incident and its runbook runs
 * together, the meeting mailboxes apart; and among them workflow tasks, signals, activities,
 * search-attribute upserts.
 *
 *   npx tsx bench/history.ts [--severities SEV1,SEV3] [--hosts 10] [--worker shipped]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseIncidentEvent, IncidentEvent } from '../src/core/incident';
import { loadRunbooks } from '../src/core/runbook-loader';
import { incidentWorkflowId, runbookWorkflowId } from '../workflows/contract';
import { meetingMailboxWorkflowId } from '../workflows/contract/meeting-mailbox';
import { hasJoinLink, INCIDENT_AGENDA, seenAfterCreate, watchZoomCreates } from './lib/bridge';
import { int, options, runMain } from './lib/cli';
import { countWorkflows, HistoryCounts, WorkflowCounts } from './lib/history';
import { contentionMonitor, printTable, progress, round, sleep, writeResult } from './lib/report';
import { BenchStack, meetingsByIncident, startBenchStack } from './lib/stack';
import { describeOptions, preset } from './lib/worker-tuning';

const SHIPPED_RUNBOOKS = join(__dirname, '..', 'runbooks');
/** A realistic incident: owner, responders, fields (the README's sample event). */
const SAMPLE_EVENT = join(SHIPPED_RUNBOOKS, 'events', 'INC-4211-created.json');

export interface HistoryOptions {
  severities: string[];
  hosts: number;
  worker: string;
  /** Quiet time that counts as settled (no new event in any of the incident's workflows), ms. */
  settleMs: number;
}

export const HISTORY_DEFAULTS: HistoryOptions = {
  severities: ['SEV1', 'SEV3'],
  hosts: 10,
  worker: 'shipped',
  settleMs: 3000,
};

const POINTS = ['bridgeUp', 'resolved', 'closed'] as const;
type Point = (typeof POINTS)[number];

interface PointCounts {
  /** The incident and its runbook runs. */
  events: number;
  byWorkflow: Record<string, number>;
  counts: HistoryCounts;
  /** Meeting mailboxes (one per Zoom meeting), apart. */
  mailboxes: { workflows: number; events: number };
  /** ms from the event sent until counted. */
  afterMs: number;
}

export async function runHistory(o: HistoryOptions = HISTORY_DEFAULTS) {
  const workerPreset = preset(o.worker);
  const runbooks = loadRunbooks(SHIPPED_RUNBOOKS).map((r) => r.runbook.name);
  const sample = parseIncidentEvent(JSON.parse(readFileSync(SAMPLE_EVENT, 'utf8')));
  const stack = await startBenchStack({
    runbooksDir: SHIPPED_RUNBOOKS,
    hosts: o.hosts,
    preset: workerPreset,
    workerClient: true,
  });
  const started = Date.now();
  try {
    const creates = watchZoomCreates(stack.sandbox, INCIDENT_AGENDA);
    const tag = Math.random().toString(36).slice(2, 7);
    const monitor = contentionMonitor(stack.ourCpuSeconds);
    const result: Record<string, Record<Point, PointCounts>> = {};
    for (const severity of o.severities) {
      const id = `H-${tag}-${severity}`;
      const count = () => countIncident(stack, id, runbooks);
      const event = (type: IncidentEvent['type']): IncidentEvent => ({
        eventId: `${id}-${type}`,
        type,
        occurredAt: new Date().toISOString(),
        incident: { id },
      });
      progress(`history: ${severity} incident ${id}`);
      const points = {} as Record<Point, PointCounts>;

      let sentAt = Date.now();
      await post(stack, { ...event('incident.created'), incident: { ...sample.incident, id, severity } });
      const seenAt = await seenAfterCreate(creates, id, () => hasJoinLink(stack, id), 5);
      if (seenAt === undefined) throw new Error(`history: no bridge on the timeline of ${id}`);
      // Counted the moment the link is seen: the other runbooks may still be running.
      points.bridgeUp = { ...(await count()), afterMs: Date.now() - sentAt };

      sentAt = Date.now();
      await post(stack, event('incident.resolved'));
      await settle(count, o.settleMs);
      points.resolved = { ...(await count()), afterMs: Date.now() - sentAt };

      sentAt = Date.now();
      await post(stack, event('incident.closed'));
      await settle(count, o.settleMs);
      points.closed = { ...(await count()), afterMs: Date.now() - sentAt };
      result[severity] = points;
    }
    const contention = monitor.stop();

    printTable(
      `History events per incident, shipped runbooks (${runbooks.join(', ')}); incident + runbook runs (mailboxes apart)`,
      [
        'incident',
        'point',
        'events',
        'by workflow',
        'wf tasks',
        'signals in',
        'signals out',
        'activities',
        'local act.',
        'SA upserts',
        'children',
        'timers',
        'mailboxes: n / events',
      ],
      Object.entries(result).flatMap(([severity, points]) =>
        POINTS.map((p) => {
          const c = points[p];
          return [
            severity,
            p,
            c.events,
            Object.entries(c.byWorkflow)
              .map(([w, n]) => `${w} ${n}`)
              .join(', '),
            c.counts.workflowTasks,
            c.counts.signals,
            c.counts.signalsSent,
            c.counts.activityTasks,
            c.counts.localActivities,
            c.counts.searchAttributeUpserts,
            c.counts.childStarts,
            c.counts.timers,
            `${c.mailboxes.workflows} / ${c.mailboxes.events}`,
          ];
        }),
      ),
    );
    const eventsPerIncident = Object.fromEntries(
      Object.entries(result).map(([severity, points]) => [severity.toLowerCase(), points]),
    );
    const out = {
      options: o,
      worker: { preset: workerPreset.name, options: describeOptions(workerPreset), client: true },
      runbooks,
      seconds: round((Date.now() - started) / 1000),
      measured: `one incident per severity through the intake; bridgeUp counted when the join link is first seen on the timeline, resolved and closed once no workflow of the incident has written an event for ${o.settleMs} ms`,
      eventsPerIncident,
      contention,
    };
    writeResult('history', out);
    return out;
  } finally {
    await stack.stop();
  }
}

async function post(stack: BenchStack, event: IncidentEvent): Promise<void> {
  const answer = await stack.postEvent(event);
  if (answer.status !== 202) throw new Error(`intake answered ${answer.status} to ${event.eventId}`);
}

/** The incident's workflow, its runbook runs (by name) and, apart, the mailboxes of its meetings. */
async function countIncident(stack: BenchStack, id: string, runbooks: string[]): Promise<Omit<PointCounts, 'afterMs'>> {
  const incident = incidentWorkflowId(id);
  const own: WorkflowCounts = await countWorkflows(stack.client, {
    incident,
    ...Object.fromEntries(runbooks.map((r) => [r, runbookWorkflowId(incident, r)])),
  });
  // Every meeting made for the incident names it in its agenda (bridge, sync, postmortem).
  const meetings = meetingsByIncident(stack.sandbox, new RegExp(`(${id})(?![\\w.:-])`)).get(id) ?? [];
  const mailboxes = await countWorkflows(
    stack.client,
    Object.fromEntries(meetings.map((m) => [String(m.id), meetingMailboxWorkflowId(String(m.id))])),
  );
  return {
    events: own.total.events,
    byWorkflow: own.byWorkflow,
    counts: own.total,
    mailboxes: { workflows: Object.keys(mailboxes.byWorkflow).length, events: mailboxes.total.events },
  };
}

/** Waits until the event count has not moved for `quietMs` (at most a minute). */
async function settle(count: () => Promise<{ events: number; mailboxes: { events: number } }>, quietMs: number) {
  const deadline = Date.now() + 60_000;
  let last = -1;
  let since = Date.now();
  while (Date.now() < deadline) {
    const c = await count();
    const now = c.events + c.mailboxes.events;
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) return;
    await sleep(250);
  }
  progress('history: still writing after a minute; counted as it stands');
}

runMain(module, async () => {
  const d = HISTORY_DEFAULTS;
  const a = options('History events per incident with the shipped runbooks (bench/README.md).', {
    severities: d.severities.join(','),
    hosts: String(d.hosts),
    worker: d.worker,
    'settle-ms': String(d.settleMs),
  });
  await runHistory({
    severities: a.severities.split(','),
    hosts: int(a.hosts, 'hosts'),
    worker: a.worker,
    settleMs: int(a['settle-ms'], 'settle-ms'),
  });
});
