import { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { optionalTsToMs } from '@temporalio/common/lib/time';
import type { ZoomSandbox } from '../../src/sandbox/server';
import type { StoredMeeting } from '../../src/sandbox/zoom-api';
import { idempotencyMarker } from '../../activities';
import { computeStart, StartSpec } from '../../src/core/schedule';
import { incidentHandle } from '../../src/temporal/handles';
import { Incident, RunbookAttr, TimelineEntry, WORKFLOW_TYPE } from '../../workflows/contract';
import { IncidentMeetings, IncidentRun, meetingsByIncident } from './driver';
import { emptyStats, HistoryReader, HistoryStats } from './history';
import { Interrupt, isFollowUpSeverity } from './plan';
import type { ZoomWebhookRetrier } from './webhooks';
import { ArmedCreate, PERMANENT_FAULT_MESSAGE } from './zoom-faults';

/**
 * What must hold after a chaos run, checked against Zoom's state (the sandbox), Temporal's
 * visibility and histories, and each incident's timeline. Every check yields a figure for the
 * table and, when it is off, problems with the evidence needed to chase them.
 */

export interface CheckContext {
  runs: IncidentRun[];
  sandbox: ZoomSandbox;
  client: Client;
  taskQueue: string;
  reader: HistoryReader;
  /** The postmortem runbook's start rule (runbooks/postmortem.yaml), to compute when each follow-up must start. */
  postmortemStart: StartSpec;
  /** Every create the fault proxy passed, with the fault armed for it. */
  creates: ArmedCreate[];
  /** Zoom's webhook deliveries and their retries. */
  webhooks: Pick<ZoomWebhookRetrier, 'ackOf' | 'outstanding'>;
}

export interface Row {
  check: string;
  expected: string;
  actual: string;
  ok: boolean;
}

export interface Problem {
  check: string;
  incident?: string;
  workflowId?: string;
  detail: string;
  evidence?: string[];
}

export type RunbookKind = 'bridge' | 'postmortem' | 'sync';
type Status =
  | 'RUNNING'
  | 'COMPLETED'
  | 'FAILED'
  | 'CANCELLED'
  | 'TERMINATED'
  | 'TIMED_OUT'
  | 'CONTINUED_AS_NEW'
  | 'UNKNOWN'
  | 'UNSPECIFIED'
  | 'PAUSED';

/** What one incident must end up with, from its plan, what was sent, and the faults it was dealt. */
export interface Expectation {
  bridge: number;
  /** Why no bridge, when none is expected. */
  noBridgeBecause?: string;
  bridgeEnded: boolean;
  postmortem: number;
  postmortemAt?: string;
  /** The postmortem must have been cancelled (reopened before it started, left open). */
  postmortemCancelled: boolean;
  /** Live recurring syncs at the end (0 after the incident closed). */
  sync: number;
  syncDeleted: boolean;
  /** Runbook → allowed final statuses. */
  runbooks: Map<string, Status[]>;
  /** Runbooks that fail by design (permanent fault), with the reason the timeline must give. */
  failedByDesign: Map<string, string>;
  /**
   * The bridge runbook was cancelled or terminated during its create. Cancel: whatever the create
   * made is removed (or, had the run taken the meeting in first, ended); terminate: the meeting is
   * ended when the incident closes. Checked apart from the other bridges.
   */
  interrupt?: Interrupt;
}

/** Which incidents' creates met the permanent fault (the proxy's log of creates). */
export function permanentVictims(creates: ArmedCreate[]): Map<string, RunbookKind[]> {
  const victims = new Map<string, RunbookKind[]>();
  for (const c of creates) {
    if (c.fault !== 'permanent') continue;
    const hit = classifyAgenda(c.agenda);
    if (hit && !victims.get(hit.incident)?.includes(hit.kind))
      victims.set(hit.incident, [...(victims.get(hit.incident) ?? []), hit.kind]);
  }
  return victims;
}

export function classifyAgenda(first: string): { incident: string; kind: RunbookKind } | undefined {
  let m: RegExpExecArray | null;
  if ((m = /^Incident (\S+)$/.exec(first))) return { incident: m[1], kind: 'bridge' };
  if ((m = /^Postmortem for (\S+) \(/.exec(first))) return { incident: m[1], kind: 'postmortem' };
  if ((m = /^Status of incident (\S+) \(/.exec(first))) return { incident: m[1], kind: 'sync' };
  return undefined;
}

export function expectationFor(run: IncidentRun, victims: RunbookKind[], postmortemStart: StartSpec): Expectation {
  const { plan } = run;
  const resolvedEver = plan.flow !== 'open';
  const followUp = isFollowUpSeverity(plan);
  const bridgeRunbook = plan.record ? 'recorded-bridge' : 'incident-bridge';
  const runbooks = new Map<string, Status[]>();
  const failedByDesign = new Map<string, string>();
  const failed = (kind: RunbookKind, runbook: string) => {
    if (!victims.includes(kind)) return false;
    runbooks.set(runbook, ['FAILED']);
    failedByDesign.set(runbook, PERMANENT_FAULT_MESSAGE);
    return true;
  };

  let bridge = 0;
  let noBridgeBecause: string | undefined;
  const interrupt = run.interrupt?.at ? run.interrupt.kind : undefined;
  if (!run.createFirst)
    noBridgeBecause =
      'its resolve was recorded before its create (runbooks match the latest event: no bridge for a resolved incident)';
  else if (interrupt) {
    runbooks.set(bridgeRunbook, [interrupt === 'cancel' ? 'CANCELLED' : 'TERMINATED']);
    if (interrupt === 'terminate') bridge = 1;
    else noBridgeBecause = 'its runbook was cancelled while the create was in flight: what Zoom made is removed';
  } else if (!failed('bridge', bridgeRunbook)) {
    bridge = 1;
    // Reopened at once: a run that hears the resolve and the reopen together never sees the
    // incident resolved, and keeps the bridge open for the incident that is open again.
    const mayStay = plan.flow === 'reopenQuick';
    runbooks.set(
      bridgeRunbook,
      plan.record || mayStay
        ? resolvedEver
          ? ['RUNNING', 'COMPLETED']
          : ['RUNNING']
        : resolvedEver
          ? ['COMPLETED']
          : ['RUNNING'],
    );
  } else noBridgeBecause = 'permanent Zoom fault by design';

  let postmortem = 0;
  let postmortemAt: string | undefined;
  if (followUp && resolvedEver && !failed('postmortem', 'postmortem')) {
    runbooks.set('postmortem', ['RUNNING', 'COMPLETED']);
    if (plan.flow !== 'reopenQuick') {
      postmortem = 1;
      postmortemAt = computeStart(postmortemStart, { now: new Date(), resolvedAt: run.lastResolvedAt }).toISOString();
    }
  }

  let sync = 0;
  if (followUp && run.createFirst && !failed('sync', 'incident-sync')) {
    const closed = run.finalStatus === 'closed';
    runbooks.set('incident-sync', closed ? ['COMPLETED'] : ['RUNNING']);
    sync = closed ? 0 : 1;
  }
  return {
    bridge,
    noBridgeBecause,
    bridgeEnded: bridge === 1 && resolvedEver && plan.flow !== 'reopenQuick',
    postmortem,
    postmortemAt,
    postmortemCancelled: followUp && plan.flow === 'reopenQuick' && runbooks.has('postmortem'),
    sync,
    syncDeleted: followUp && run.createFirst && run.finalStatus === 'closed' && !victims.includes('sync'),
    runbooks,
    failedByDesign,
    interrupt,
  };
}

/**
 * Ended as far as Zoom can tell: no occurrence in progress, and an occurrence that ended or an end
 * call Zoom answered 204 (a meeting nobody started has no occurrence to end).
 */
export function meetingEnded(sandbox: ZoomSandbox, meeting: StoredMeeting): boolean {
  const instances = sandbox.state.instances.filter((i) => i.meetingId === meeting.id);
  if (instances.some((i) => !i.endTime)) return false;
  return (
    instances.some((i) => !!i.endTime) ||
    sandbox.requests.some(
      (r) =>
        r.method === 'PUT' &&
        r.path === `/v2/meetings/${meeting.id}/status` &&
        r.status === 204 &&
        (r.body as { action?: string })?.action === 'end',
    )
  );
}

/**
 * Whether the bridge run took its create's answer in: it announced the bridge, or the cancel came in
 * the same workflow task as the answer and ended the bridge it had just taken in.
 */
function tookBridgeIn(timeline: TimelineEntry[]): boolean {
  return timeline.some(
    (t) =>
      t.source === 'incident-bridge' &&
      ((t.step === 'bridge' && t.status === 'ok') || /^Zoom meeting \d+ ended: runbook cancelled$/.test(t.summary)),
  );
}

/**
 * What the timeline says of a bridge runbook cancelled or terminated during its create: cancelled,
 * and what the cancel removed (or, taken in first, the bridge ended); terminated, the bridge ended
 * when the incident closed.
 */
function interruptEntries(kind: Interrupt, timeline: TimelineEntry[], bridges: StoredMeeting[]): string[] {
  const missing: string[] = [];
  const has = (test: (t: TimelineEntry) => boolean) => timeline.some(test);
  if (kind === 'cancel') {
    if (!has((t) => t.source === 'incident-bridge' && t.summary === 'Runbook incident-bridge cancelled'))
      missing.push('"Runbook incident-bridge cancelled"');
    const takenIn = tookBridgeIn(timeline);
    if (
      !takenIn &&
      !has(
        (t) =>
          t.source === 'incident-bridge' &&
          /^Removed Zoom meeting(\(s\))? \d+.*: created by a step the cancel cut short/.test(t.summary),
      )
    )
      missing.push('"Removed Zoom meeting(s) <id>: created by a step the cancel cut short"');
    if (takenIn)
      for (const b of bridges)
        if (!has((t) => t.summary === `Zoom meeting ${b.id} ended: runbook cancelled`))
          missing.push(`"Zoom meeting ${b.id} ended: runbook cancelled"`);
  } else {
    for (const b of bridges)
      if (
        !has(
          (t) =>
            t.source === 'incident' &&
            t.summary === `Zoom meeting ${b.id} ended on close: its runbook incident-bridge no longer runs`,
        )
      )
        missing.push(`"Zoom meeting ${b.id} ended on close: its runbook incident-bridge no longer runs"`);
  }
  return missing;
}

/** The exactly-once marker of a run's step (activities' idempotencyMarker over `workflowId/runId/stepId`). */
export function stepMarker(workflowId: string, runId: string, stepId: string): string {
  return idempotencyMarker(`${workflowId}/${runId}/${stepId}`);
}

const SKEW_TOLERANCE_MS = 15 * 60_000;

/**
 * What the incident should hold after the events it acknowledged, in the order it got them (each
 * event's first delivery; duplicates are ignored): custom fields and the owner merged key by key,
 * the source's status word kept as sourceStatus; an event stamped more than the skew tolerance
 * before the newest one seen only fills in what is missing.
 */
export function expectedIncident(run: IncidentRun): {
  fields?: Record<string, unknown>;
  owner?: Record<string, unknown>;
  sourceStatus?: string;
} {
  const state: Record<string, unknown> = {};
  let newest: number | undefined;
  for (const ev of run.events) {
    if (ev.duplicate || !ev.ackAt) continue;
    const at = Date.parse(ev.occurredAt);
    const late = newest !== undefined && at < newest - SKEW_TOLERANCE_MS;
    const { fields, owner, status } = ev.event.incident;
    deepMerge(state, { fields, owner, sourceStatus: status }, late);
    if (newest === undefined || at > newest) newest = at;
  }
  return state as { fields?: Record<string, unknown>; owner?: Record<string, unknown>; sourceStatus?: string };
}

function deepMerge(target: Record<string, unknown>, change: Record<string, unknown>, fillOnly: boolean): void {
  for (const [key, value] of Object.entries(change)) {
    if (value === undefined) continue;
    const current = target[key];
    const isObject = (v: unknown): v is Record<string, unknown> =>
      typeof v === 'object' && v !== null && !Array.isArray(v);
    if (value === null) {
      if (!fillOnly) delete target[key];
    } else if (isObject(value) && (isObject(current) || current === undefined)) {
      const merged = isObject(current) ? current : {};
      deepMerge(merged, value, fillOnly);
      target[key] = merged;
    } else if (!fillOnly || current === undefined) target[key] = value;
  }
}

/** JSON with sorted keys, to compare objects whatever their key order. */
function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stable((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

/** Ended in Zoom: the runner started it, so ending leaves an ended instance; else a successful end call was made. */
function bridgeEnded(sandbox: ZoomSandbox, meeting: StoredMeeting, started: boolean): boolean {
  if (started)
    return (
      meeting.status !== 'started' && sandbox.state.instances.some((i) => i.meetingId === meeting.id && !!i.endTime)
    );
  return sandbox.requests.some(
    (r) =>
      r.method === 'PUT' &&
      r.path === `/v2/meetings/${meeting.id}/status` &&
      r.status === 204 &&
      (r.body as { action?: string })?.action === 'end',
  );
}

function sameInstant(a: string | undefined, b: string | undefined): boolean {
  return !!a && !!b && Date.parse(a) === Date.parse(b);
}

/**
 * How many expectations Zoom's state does not meet yet, plus runbooks still running that should
 * have finished: the run has settled when this reaches 0.
 */
export async function unsettled(
  ctx: Pick<CheckContext, 'runs' | 'sandbox' | 'client' | 'taskQueue' | 'postmortemStart' | 'creates' | 'webhooks'>,
): Promise<{ count: number; what: string[] }> {
  const victims = permanentVictims(ctx.creates);
  const index = meetingsByIncident(ctx.sandbox);
  const what: string[] = [];
  const expectations = new Map<string, Expectation>();
  for (const run of ctx.runs) {
    const e = expectationFor(run, victims.get(run.plan.id) ?? [], ctx.postmortemStart);
    expectations.set(run.plan.id, e);
    const m = index.get(run.plan.id) ?? { bridges: [], postmortems: [], syncs: [] };
    // A cancelled create's meeting is removed, or ended had the run taken it in: decided with the timeline.
    if (e.interrupt === 'cancel') {
      if (m.bridges.some((b) => !meetingEnded(ctx.sandbox, b)))
        what.push(`${run.plan.id}: bridge of a cancelled run still live`);
    } else if (m.bridges.length !== e.bridge) what.push(`${run.plan.id}: ${m.bridges.length} bridges`);
    else if (
      e.bridgeEnded &&
      m.bridges[0] &&
      !(e.interrupt
        ? meetingEnded(ctx.sandbox, m.bridges[0])
        : bridgeEnded(ctx.sandbox, m.bridges[0], run.bridgeStarted))
    )
      what.push(`${run.plan.id}: bridge not ended`);
    if (m.postmortems.length !== e.postmortem) what.push(`${run.plan.id}: ${m.postmortems.length} postmortems`);
    if (m.syncs.length !== e.sync) what.push(`${run.plan.id}: ${m.syncs.length} syncs`);
  }
  if (ctx.webhooks.outstanding > 0)
    what.push(`${ctx.webhooks.outstanding} Zoom webhook deliveries still being retried`);
  // Runbooks that should have finished (a finished step may still be followed by the late-duplicate check's wait).
  const running: string[] = [];
  for await (const w of ctx.client.workflow.list({
    query: `TaskQueue = '${ctx.taskQueue}' AND WorkflowType = '${WORKFLOW_TYPE.runbook}' AND ExecutionStatus = 'Running'`,
  }))
    running.push(w.workflowId);
  for (const id of running) {
    const [, incident, runbook] = /^incident-(.+)\/([^/]+)$/.exec(id) ?? [];
    const allowed = expectations.get(incident)?.runbooks.get(runbook);
    if (allowed && !allowed.includes('RUNNING')) what.push(`${id}: still running`);
  }
  // Zoom may already hold what a runbook has not heard yet (an attempt on a killed worker, waiting for its timeout).
  if (what.length === 0) {
    await eachLimit(running, 8, async (id) => {
      const d = await ctx.client.workflow.getHandle(id).describe();
      if ((d.raw.pendingActivities ?? []).length > 0) what.push(`${id}: activity pending`);
    });
  }
  return { count: what.length, what };
}

export interface Verification {
  rows: Row[];
  problems: Problem[];
  figures: Record<string, unknown>;
}

/** The full check, once the run has settled (or the settle deadline passed). */
export async function verify(ctx: CheckContext): Promise<Verification> {
  const problems: Problem[] = [];
  const rows: Row[] = [];
  const victims = permanentVictims(ctx.creates);
  const index = meetingsByIncident(ctx.sandbox);
  const meetingsOf = (id: string): IncidentMeetings => index.get(id) ?? { bridges: [], postmortems: [], syncs: [] };
  const expectations = new Map(
    ctx.runs.map((r) => [r.plan.id, expectationFor(r, victims.get(r.plan.id) ?? [], ctx.postmortemStart)]),
  );
  const runs = new Map(ctx.runs.map((r) => [r.plan.id, r]));
  const known = new Set(runs.keys());

  // Meetings that belong to no incident of this run would be a sign of a mix-up.
  for (const id of index.keys())
    if (!known.has(id))
      problems.push({
        check: 'meetings',
        incident: id,
        detail: `meetings in Zoom for an incident this run never sent`,
      });

  // --- Workflows, from visibility.
  const workflows: WorkflowExecutionInfo[] = [];
  for await (const wf of ctx.client.workflow.list({ query: `TaskQueue = '${ctx.taskQueue}'`, pageSize: 1000 }))
    workflows.push(wf);
  const byId = new Map(workflows.map((w) => [w.workflowId, w]));
  const statusCounts: Record<string, number> = {};
  for (const w of workflows)
    statusCounts[`${w.type} ${w.status.name}`] = (statusCounts[`${w.type} ${w.status.name}`] ?? 0) + 1;

  // --- Timelines.
  const timelines = new Map<string, TimelineEntry[]>();
  await eachLimit([...runs.keys()], 8, async (id) => {
    try {
      timelines.set(id, await incidentHandle(ctx.client, id).timeline());
    } catch (err) {
      problems.push({ check: 'timeline', incident: id, detail: `timeline query failed: ${(err as Error).message}` });
    }
  });

  // --- Histories: retries, recovered creates, workflow task failures; kept for evidence.
  const stats: HistoryStats = emptyStats();
  const histories = new Map<string, Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['fetchHistory']>>>();
  await eachLimit(workflows, 8, async (w) => {
    try {
      const h = await ctx.client.workflow.getHandle(w.workflowId, w.runId).fetchHistory();
      histories.set(w.workflowId, h);
      stats.histories++;
      await ctx.reader.summarise(h, stats);
    } catch (err) {
      problems.push({
        check: 'history',
        workflowId: w.workflowId,
        detail: `history could not be read: ${(err as Error).message}`,
      });
    }
  });
  const excerpt = async (workflowId: string, activity?: string) => {
    const h = histories.get(workflowId);
    return h ? (await ctx.reader.excerpt(h, activity)).slice(-60) : [`(no history for ${workflowId})`];
  };
  const createLog = (incident: string, kind: RunbookKind) =>
    ctx.creates
      .filter((c) => classifyAgenda(c.agenda)?.incident === incident && classifyAgenda(c.agenda)?.kind === kind)
      .map(
        (c) =>
          `create sent ${c.at} to ${c.path}: fault ${c.fault ?? 'none'}, ${c.error ? `connection cut (${c.error})` : `HTTP ${c.status}`} after ${c.ms ?? '?'} ms`,
      );
  const meetingLine = (m: StoredMeeting) =>
    `meeting ${m.id} created_at ${String(m.created_at)} host ${m.host_email} start ${String(m.start_time)} status ${m.status}: ${m.topic}`;

  // --- Bridges.
  let bridgeIncidents = 0;
  let bridgesOk = 0;
  let duplicateBridges = 0;
  let missingBridges = 0;
  let unexpectedBridges = 0;
  let noBridgeByDesign = 0;
  let endedExpected = 0;
  let endedOk = 0;
  let openStillLive = 0;
  let openExpected = 0;
  for (const [id, e] of expectations) {
    const run = runs.get(id)!;
    const bridges = meetingsOf(id).bridges;
    const bridgeWf = `incident-${id}/${run.plan.record ? 'recorded-bridge' : 'incident-bridge'}`;
    if (e.interrupt) continue; // checked below, with their own row
    if (e.bridge === 1) {
      bridgeIncidents++;
      if (bridges.length === 1) bridgesOk++;
      else if (bridges.length === 0) {
        missingBridges++;
        problems.push({
          check: 'bridges',
          incident: id,
          workflowId: bridgeWf,
          detail: 'no bridge in Zoom',
          evidence: [...createLog(id, 'bridge'), ...(await excerpt(bridgeWf))],
        });
      } else {
        duplicateBridges += bridges.length - 1;
        problems.push({
          check: 'bridges',
          incident: id,
          workflowId: bridgeWf,
          detail: `${bridges.length} bridges in Zoom for one incident (duplicate)`,
          evidence: [
            ...bridges.map(meetingLine),
            ...createLog(id, 'bridge'),
            `history of ${bridgeWf} (createMeeting):`,
            ...(await excerpt(bridgeWf, 'createMeeting')),
          ],
        });
      }
    } else {
      noBridgeByDesign++;
      if (bridges.length > 0) {
        unexpectedBridges += bridges.length;
        problems.push({
          check: 'bridges',
          incident: id,
          detail: `${bridges.length} bridge(s) in Zoom, none expected (${e.noBridgeBecause})`,
          evidence: bridges.map(meetingLine),
        });
      }
    }
    // Ended / still live are counted over the incidents that have a bridge (a missing one is reported above).
    if (e.bridgeEnded && bridges.length >= 1) {
      endedExpected++;
      if (bridges.every((b) => bridgeEnded(ctx.sandbox, b, run.bridgeStarted))) endedOk++;
      else
        problems.push({
          check: 'bridges ended',
          incident: id,
          workflowId: bridgeWf,
          detail: `bridge ${bridges.map((b) => b.id).join(', ')} not ended after the incident was resolved`,
          evidence: [...bridges.map(meetingLine), ...(await excerpt(bridgeWf))],
        });
    } else if (e.bridge === 1 && bridges.length >= 1 && run.plan.flow !== 'reopenQuick') {
      // (Reopened at once: the bridge is ended or not, as the run saw the resolve; see expectationFor.)
      openExpected++;
      if (bridges.length === 1 && (!run.bridgeStarted || bridges[0].status === 'started')) openStillLive++;
      else
        problems.push({
          check: 'bridges ended',
          incident: id,
          detail: 'the bridge of an open incident was ended',
          evidence: bridges.map(meetingLine),
        });
    }
  }
  // Any runbook step that created two meetings: same idempotency marker in the agenda.
  const byMarker = new Map<string, StoredMeeting[]>();
  for (const m of ctx.sandbox.state.meetings.values()) {
    const marker = /\[zoom-runbooks:[0-9a-f]+\]/.exec(String(m.agenda ?? ''))?.[0];
    if (marker) byMarker.set(marker, [...(byMarker.get(marker) ?? []), m]);
  }
  let duplicateMeetings = 0;
  for (const [marker, ms] of byMarker) {
    if (ms.length < 2) continue;
    duplicateMeetings += ms.length - 1;
    const hit = classifyAgenda(String(ms[0].agenda ?? '').split('\n')[0]);
    if (hit?.kind === 'bridge') continue; // reported with the bridges above, with the history
    problems.push({
      check: 'duplicate meetings',
      incident: hit?.incident,
      detail: `${ms.length} meetings in Zoom for one runbook step (idempotency marker ${marker})`,
      evidence: [...ms.map(meetingLine), ...(hit ? createLog(hit.incident, hit.kind) : [])],
    });
  }
  rows.push({
    check: 'Duplicate meetings of any kind (one runbook step, two meetings: same marker)',
    expected: '0',
    actual: String(duplicateMeetings),
    ok: duplicateMeetings === 0,
  });
  rows.push({
    check: 'Bridges: exactly 1 per incident whose create was recorded first',
    expected: `${bridgeIncidents}/${bridgeIncidents}`,
    actual: `${bridgesOk}/${bridgeIncidents}`,
    ok: bridgesOk === bridgeIncidents,
  });
  rows.push({
    check: 'Duplicate bridges found',
    expected: '0',
    actual: String(duplicateBridges),
    ok: duplicateBridges === 0,
  });
  rows.push({ check: 'Missing bridges', expected: '0', actual: String(missingBridges), ok: missingBridges === 0 });
  rows.push({
    check: 'No bridge by design (resolve recorded before create, or permanent fault): none opened',
    expected: `0 bridges for ${noBridgeByDesign}`,
    actual: `${unexpectedBridges} bridges`,
    ok: unexpectedBridges === 0,
  });
  rows.push({
    check: 'Bridges ended for every resolved incident that has one (Zoom state)',
    expected: `${endedExpected}/${endedExpected}`,
    actual: `${endedOk}/${endedExpected}`,
    ok: endedOk === endedExpected,
  });
  rows.push({
    check: 'Bridges of open incidents still live (of those that have one)',
    expected: `${openExpected}/${openExpected}`,
    actual: `${openStillLive}/${openExpected}`,
    ok: openStillLive === openExpected,
  });

  // --- Follow-ups (postmortems) and daily syncs.
  let pmExpected = 0;
  let pmOk = 0;
  let pmLost = 0;
  let pmExtra = 0;
  let pmWrongTime = 0;
  let cancelExpected = 0;
  let cancelOk = 0;
  let syncExpected = 0;
  let syncOk = 0;
  for (const [id, e] of expectations) {
    const run = runs.get(id)!;
    const { postmortems, syncs } = meetingsOf(id);
    const pmWf = `incident-${id}/postmortem`;
    const pmEvidence = async () => [
      ...postmortems.map(meetingLine),
      ...createLog(id, 'postmortem'),
      `events sent: ${run.events.map((ev) => `${ev.eventId}${ev.duplicate ? ' (dup)' : ''} occurredAt ${ev.occurredAt} ack ${ev.ackAt ?? 'never'}`).join('; ')}`,
      `history of ${pmWf}:`,
      ...(await excerpt(pmWf)),
    ];
    if (e.postmortem === 1) {
      pmExpected++;
      if (postmortems.length === 0) {
        pmLost++;
        problems.push({
          check: 'follow-ups',
          incident: id,
          workflowId: pmWf,
          detail: `resolved ${run.plan.severity} incident has no postmortem in Zoom (lost follow-up)`,
          evidence: await pmEvidence(),
        });
      } else if (postmortems.length > 1) {
        pmExtra += postmortems.length - 1;
        problems.push({
          check: 'follow-ups',
          incident: id,
          workflowId: pmWf,
          detail: `${postmortems.length} postmortems live for one incident`,
          evidence: await pmEvidence(),
        });
      } else if (!sameInstant(String(postmortems[0].start_time), e.postmortemAt)) {
        pmWrongTime++;
        problems.push({
          check: 'follow-ups',
          incident: id,
          workflowId: pmWf,
          detail: `postmortem starts ${String(postmortems[0].start_time)}, expected ${e.postmortemAt} (resolvedAt ${run.lastResolvedAt} + 1 business day, 10:00 Europe/Berlin)`,
          evidence: await pmEvidence(),
        });
      } else pmOk++;
    } else if (postmortems.length > 0) {
      pmExtra += postmortems.length;
      if (e.postmortemCancelled) {
        problems.push({
          check: 'follow-ups cancelled on reopen',
          incident: id,
          workflowId: pmWf,
          detail: `incident reopened (and left open) right after its resolve, but its postmortem is still booked`,
          evidence: await pmEvidence(),
        });
      } else
        problems.push({
          check: 'follow-ups',
          incident: id,
          workflowId: pmWf,
          detail: `${postmortems.length} postmortem(s) in Zoom, none expected`,
          evidence: await pmEvidence(),
        });
    }
    if (e.postmortemCancelled) {
      cancelExpected++;
      if (postmortems.length === 0) cancelOk++;
    }
    if (e.sync === 1 || e.syncDeleted) {
      syncExpected++;
      if (syncs.length === e.sync) syncOk++;
      else
        problems.push({
          check: 'daily syncs',
          incident: id,
          workflowId: `incident-${id}/incident-sync`,
          detail: `${syncs.length} recurring syncs live, expected ${e.sync}${e.syncDeleted ? ' (the incident is closed)' : ''}${syncs.length > 1 ? ' (duplicate)' : ''}`,
          evidence: [
            ...syncs.map(meetingLine),
            ...createLog(id, 'sync'),
            `history of incident-${id}/incident-sync:`,
            ...(await excerpt(`incident-${id}/incident-sync`)),
          ],
        });
    } else if (syncs.length > 0)
      problems.push({
        check: 'daily syncs',
        incident: id,
        detail: `${syncs.length} recurring syncs, none expected`,
        evidence: syncs.map(meetingLine),
      });
  }
  rows.push({
    check: 'Follow-ups: exactly 1 live per resolved SEV1/SEV2, at computeStart(resolvedAt)',
    expected: `${pmExpected}/${pmExpected}`,
    actual: `${pmOk}/${pmExpected}`,
    ok: pmOk === pmExpected && pmExtra === 0,
  });
  rows.push({ check: 'Lost follow-ups', expected: '0', actual: String(pmLost), ok: pmLost === 0 });
  rows.push({
    check: 'Extra follow-ups (duplicates, or not cancelled)',
    expected: '0',
    actual: String(pmExtra),
    ok: pmExtra === 0,
  });
  rows.push({
    check: 'Follow-ups at the wrong time',
    expected: '0',
    actual: String(pmWrongTime),
    ok: pmWrongTime === 0,
  });
  rows.push({
    check: 'Follow-ups cancelled when reopened at once and left open',
    expected: `${cancelExpected}/${cancelExpected}`,
    actual: `${cancelOk}/${cancelExpected}`,
    ok: cancelOk === cancelExpected,
  });
  rows.push({
    check: 'Daily syncs: 1 per SEV1/SEV2 while open, deleted when closed',
    expected: `${syncExpected}/${syncExpected}`,
    actual: `${syncOk}/${syncExpected}`,
    ok: syncOk === syncExpected,
  });

  // --- Timelines.
  let timelineOk = 0;
  let appliedTwice = 0;
  const duplicatesSent = ctx.runs.reduce((n, r) => n + r.events.filter((e) => e.duplicate).length, 0);
  for (const [id, e] of expectations) {
    const run = runs.get(id)!;
    const timeline = timelines.get(id);
    if (!timeline) continue;
    const missing: string[] = [];
    const count = (prefix: string) =>
      timeline.filter((t) => t.source === 'incident' && t.summary.startsWith(prefix)).length;
    const want = (what: string, n: number, prefix: string) => {
      const got = count(prefix);
      if (got > n) appliedTwice += got - n;
      if (got !== n) missing.push(`${got} "${what}" entries, expected ${n}`);
    };
    const keys = new Set(run.events.filter((ev) => ev.ackAt).map((ev) => ev.key));
    want('created', keys.has('created') ? 1 : 0, `Incident ${id} created`);
    want('resolved', (keys.has('resolved') ? 1 : 0) + (keys.has('resolved2') ? 1 : 0), `Incident ${id} resolved`);
    want('reopened', keys.has('reopened') ? 1 : 0, `Incident ${id} reopened`);
    want('closed', keys.has('closed') ? 1 : 0, `Incident ${id} closed`);
    want('updated', (keys.has('update1') ? 1 : 0) + (keys.has('update2') ? 1 : 0), `Incident ${id} updated`);
    const { bridges, postmortems } = meetingsOf(id);
    const linked = (url: string) => timeline.some((t) => t.links?.some((l) => l.url === url));
    if (e.bridge === 1 && bridges.length === 1 && !e.interrupt) {
      const b = bridges[0];
      if (!timeline.some((t) => t.step === 'bridge' && t.status === 'ok' && t.links?.some((l) => l.url === b.join_url)))
        missing.push(`bridge link (${String(b.join_url)})`);
      if (!timeline.some((t) => t.step === 'share' && t.summary.includes(String(b.join_url))))
        missing.push('"Join the bridge" entry');
      if (e.bridgeEnded && !timeline.some((t) => t.summary === `Zoom meeting ${b.id} ended`))
        missing.push(`"Zoom meeting ${b.id} ended"`);
    }
    if (e.interrupt) missing.push(...interruptEntries(e.interrupt, timeline, bridges));
    if (e.postmortem === 1 && postmortems.length === 1 && !linked(String(postmortems[0].join_url)))
      missing.push('postmortem link');
    // Cancelled once booked, or never booked when the reopening reached the run before its step.
    const notBooked = (t: TimelineEntry) =>
      t.summary.includes('cancelled: the incident was reopened') ||
      t.summary.startsWith('Not booked yet: the incident was reopened');
    if (e.postmortemCancelled && !timeline.some((t) => t.source === 'postmortem' && notBooked(t)))
      missing.push('"postmortem cancelled" entry');
    if (
      e.syncDeleted &&
      !timeline.some((t) => t.source === 'incident-sync' && t.summary.includes('deleted: the incident is closed'))
    )
      missing.push('"recurring sync deleted" entry');
    for (const [runbook, reason] of e.failedByDesign) {
      if (!timeline.some((t) => t.source === runbook && t.status === 'failed' && t.summary.includes(reason)))
        missing.push(`"${runbook}" failure reason`);
    }
    // A recorded bridge someone started before its invitations went out: Zoom refuses to change a
    // started meeting, and the runbook says so and goes on (continueOnError, by design).
    const startedBeforeInvite = run.plan.record && run.plan.webhookRace;
    const failedEntries = timeline.filter(
      (t) =>
        t.status === 'failed' &&
        !(e.failedByDesign.get(t.source) && t.summary.includes(PERMANENT_FAULT_MESSAGE)) &&
        !(startedBeforeInvite && t.source === 'recorded-bridge' && t.step === 'invite'),
    );
    for (const f of failedEntries) missing.push(`unexpected failure entry: [${f.source}/${f.step ?? ''}] ${f.summary}`);
    if (missing.length === 0) timelineOk++;
    else {
      // A cancelled or terminated run: its history says what its cleanup did (attempts, retries).
      const history = e.interrupt
        ? [`history of incident-${id}/incident-bridge:`, ...(await excerpt(`incident-${id}/incident-bridge`))]
        : [];
      problems.push({
        check: 'timeline',
        incident: id,
        detail: `timeline incomplete: ${missing.join('; ')}`,
        evidence: [
          ...timeline.map((t) => `${t.at} ${t.status} [${t.source}${t.step ? `/${t.step}` : ''}] ${t.summary}`),
          ...history,
        ],
      });
    }
  }
  rows.push({
    check: 'Timeline complete (events once each, bridge link, ended, follow-up link, reasons)',
    expected: `${ctx.runs.length}/${ctx.runs.length}`,
    actual: `${timelineOk}/${ctx.runs.length}`,
    ok: timelineOk === ctx.runs.length,
  });
  rows.push({
    check: 'Duplicate deliveries applied twice',
    expected: `0 (of ${duplicatesSent} duplicates sent)`,
    actual: String(appliedTwice),
    ok: appliedTwice === 0,
  });

  // --- Bridge runbooks cancelled or terminated during their create.
  const ended = (m: StoredMeeting) => meetingEnded(ctx.sandbox, m);
  const timelineLines = (id: string) =>
    (timelines.get(id) ?? []).map((t) => `${t.at} ${t.status} [${t.source}${t.step ? `/${t.step}` : ''}] ${t.summary}`);
  let interrupted = 0;
  let interruptsOk = 0;
  /** Markers of cancelled creates the run never took in: nothing with them may remain. */
  const cancelledMarkers = new Map<string, string>();
  for (const [id, e] of expectations) {
    if (!e.interrupt) continue;
    interrupted++;
    const run = runs.get(id)!;
    const record = run.interrupt!;
    const timeline = timelines.get(id) ?? [];
    const bridges = meetingsOf(id).bridges;
    const wf = byId.get(record.workflowId);
    const takenIn = tookBridgeIn(timeline);
    const wrong: string[] = [];
    // What the timeline must say about it is checked with the timelines (interruptEntries).
    if (e.interrupt === 'cancel') {
      if (!wf) wrong.push(`no run of ${record.workflowId} in visibility`);
      else if (!takenIn) {
        const marker = stepMarker(wf.workflowId, wf.runId, 'bridge');
        cancelledMarkers.set(marker, id);
        const marked = [...ctx.sandbox.state.meetings.values()].filter((m) => String(m.agenda ?? '').includes(marker));
        if (marked.length)
          wrong.push(
            `meeting(s) ${marked.map((m) => `${m.id} (${m.status})`).join(', ')} with the cancelled run's marker ${marker} still in Zoom`,
          );
      } else
        for (const b of bridges) if (!ended(b)) wrong.push(`bridge ${b.id} (taken in before the cancel) not ended`);
    } else {
      if (bridges.length === 0) wrong.push('no bridge in Zoom (the held create made one)');
      for (const b of bridges)
        if (!ended(b)) wrong.push(`bridge ${b.id} (status ${b.status}) not ended after the incident closed`);
    }
    if (wrong.length === 0) interruptsOk++;
    else
      problems.push({
        check: `${e.interrupt} mid-create`,
        incident: id,
        workflowId: record.workflowId,
        detail: `${e.interrupt} of ${record.workflowId} at ${record.at} (${record.duringCreate ? 'before the held create answered' : 'the create had answered'}; the run ${takenIn ? 'had' : 'had never'} taken the meeting in): ${wrong.join('; ')}`,
        evidence: [
          ...bridges.map(meetingLine),
          ...createLog(id, 'bridge'),
          `run ${record.workflowId}: ${wf ? `${wf.status.name}, run id ${wf.runId}` : 'not found'}`,
          'timeline:',
          ...timelineLines(id),
          `history of ${record.workflowId}:`,
          ...(await excerpt(record.workflowId)),
        ],
      });
  }
  rows.push({
    check:
      'Bridge runbooks cancelled or terminated during their create: cleaned up (cancel: what Zoom made removed; terminate: ended when the incident closed)',
    expected: `${interrupted}/${interrupted}`,
    actual: `${interruptsOk}/${interrupted}`,
    ok: interruptsOk === interrupted,
  });

  // --- Orphan meetings: live meetings nothing will end any more.
  const orphans = new Map<number, string>();
  for (const run of ctx.runs) {
    const id = run.plan.id;
    const { bridges, syncs } = meetingsOf(id);
    if (run.finalStatus === 'resolved' || run.finalStatus === 'closed') {
      for (const b of bridges)
        if (!ended(b))
          orphans.set(b.id, `${id}: bridge ${b.id} of a ${run.finalStatus} incident never ended (status ${b.status})`);
    }
    if (run.finalStatus === 'closed')
      for (const m of syncs) orphans.set(m.id, `${id}: recurring sync ${m.id} of a closed incident not deleted`);
  }
  for (const m of ctx.sandbox.state.meetings.values()) {
    const marker = /\[zoom-runbooks:[0-9a-f]+\]/.exec(String(m.agenda ?? ''))?.[0];
    const of = marker && cancelledMarkers.get(marker);
    if (of)
      orphans.set(m.id, `${of}: meeting ${m.id} made by a create its cancelled run never took in (status ${m.status})`);
  }
  for (const [meetingId, why] of orphans) {
    const m = ctx.sandbox.state.meetings.get(meetingId)!;
    const incident = why.split(':')[0];
    problems.push({
      check: 'orphan meetings',
      incident,
      detail: why,
      evidence: [
        meetingLine(m),
        ...createLog(incident, classifyAgenda(String(m.agenda ?? '').split('\n')[0])?.kind ?? 'bridge'),
        'timeline:',
        ...timelineLines(incident),
      ],
    });
  }
  rows.push({
    check:
      'Orphan meetings (live bridges of resolved/closed incidents, syncs of closed ones, meetings of cancelled creates)',
    expected: '0',
    actual: String(orphans.size),
    ok: orphans.size === 0,
  });

  // --- Lost webhooks: every join the driver made must have reached the bridge's run, and been taken in.
  let joinsChecked = 0;
  let joinsDuringHold = 0;
  let lostJoins = 0;
  /** Of the lost ones: taken in, but after the run had ended the meeting or taken the attendance. */
  let lateJoins = 0;
  for (const run of ctx.runs) {
    if (!run.participants.length) continue;
    const id = run.plan.id;
    const runbook = run.plan.record ? 'recorded-bridge' : 'incident-bridge';
    const wfId = `incident-${id}/${runbook}`;
    const history = histories.get(wfId);
    const timeline = timelines.get(id) ?? [];
    const attendance = timeline.find((t) => t.source === 'recorded-bridge' && t.step === 'attendance');
    for (const p of run.participants) {
      joinsChecked++;
      if (p.duringHold) joinsDuringHold++;
      const delivery = ctx.sandbox.webhooks.deliveries.find(
        (d) =>
          d.event === 'meeting.participant_joined' &&
          (d.payload as { object?: { participant?: { participant_uuid?: string } } }).object?.participant
            ?.participant_uuid === p.uuid,
      );
      const ack = delivery ? ctx.webhooks.ackOf(delivery) : undefined;
      const seen = history ? await ctx.reader.meetingEvents(history, p.meetingId) : undefined;
      const signal = seen?.signals.find((x) => x.type === 'meeting.participant_joined' && x.participantId === p.uuid);
      const why: string[] = [];
      if (!delivery) why.push('Zoom sent no participant_joined for it');
      else if (!ack?.ok)
        why.push(
          `the intake never acknowledged its participant_joined (first try: ${delivery.error ?? `HTTP ${delivery.status}`})`,
        );
      else if (!history) why.push(`no history of ${wfId}`);
      else if (!signal) why.push(`never forwarded to ${wfId} (no zoomMeetingEvent signal for it in its history)`);
      else if (!signal.takenIn)
        why.push(
          seen?.completedAt === undefined
            ? `forwarded (history event #${signal.eventId}) but the run never completed a create of meeting ${p.meetingId}`
            : `forwarded to the run at history event #${signal.eventId}, before its create was even sent (#${seen.scheduledAt ?? '?'}): the run's zoomMeetingEvent handler dropped it ("not one of ours")`,
        );
      // Taken in, but only after the run had acted on the room (the mailbox forwarded it late).
      const late = (at: string | undefined) =>
        signal?.takenIn && at && Date.parse(signal.at) > Date.parse(at)
          ? ` (the join reached the run only at ${signal.at}, history event #${signal.eventId}: the mailbox forwarded it late)`
          : '';
      const endEntry = timeline.find((t) => t.source === runbook && t.step === 'end' && t.status === 'ok');
      if (p.endedWhileInside)
        why.push(
          `the runbook ended meeting ${p.meetingId} at ${endEntry?.at ?? '?'} while ${p.name} was still inside (end step, whenEmpty)${late(endEntry?.at)}`,
        );
      const resolvedEver = run.plan.flow !== 'open';
      if (run.plan.record && resolvedEver) {
        if (!attendance) why.push('no attendance on the timeline (the end step is still waiting for an empty room?)');
        else if (!attendance.summary.includes(p.name))
          why.push(
            `the attendance (posted ${attendance.at}) does not name ${p.name}: "${attendance.summary}"${late(attendance.at)}`,
          );
      }
      if (!why.length) continue;
      lostJoins++;
      if (signal?.takenIn) lateJoins++;
      const create = ctx.creates.find((c) => c.heldMs !== undefined && c.agenda === `Incident ${id}`);
      problems.push({
        check: 'lost webhooks',
        incident: id,
        workflowId: wfId,
        detail: `${p.name} joined meeting ${p.meetingId} ${p.duringHold ? 'while its create was held' : 'after its link was shared'}; the run did not take the join in: ${why.join('; ')}`,
        evidence: [
          `join sent ${p.joinSentAt}, returned ${p.joinReturnedAt}; participant uuid ${p.uuid}${p.leftAt ? `; left ${p.leftAt}` : ''}${p.leaveError ? `; leave failed: ${p.leaveError}` : ''}`,
          ...(create
            ? [
                `bridge create sent ${create.at}, held ${create.heldMs} ms, answer left Zoom ${create.answeredAt ?? 'never'}`,
              ]
            : []),
          ...(delivery
            ? [
                `participant_joined delivery ${delivery.requestId} sent ${delivery.sentAt}: ${delivery.ok ? `HTTP ${delivery.status}` : `failed (${delivery.error})`}${ack?.retried ? `, retried: ${ack.ok ? `acknowledged ${ack.at}` : 'never acknowledged'}` : ''}`,
              ]
            : []),
          ...(seen
            ? [
                `${wfId}: create completed at history event #${seen.completedAt ?? '-'}, next workflow task started #${seen.ownedFrom ?? '-'}`,
                ...seen.signals.map(
                  (x) =>
                    `  signal #${x.eventId} ${x.at} ${x.type}${x.participantId ? ` ${x.participantId}` : ''}: ${x.takenIn ? 'taken in' : 'dropped (before the create was sent)'}`,
                ),
              ]
            : []),
          `history of ${wfId}:`,
          ...(await excerpt(wfId)),
          `history of its mailbox zoom-meeting-${p.meetingId}:`,
          ...(await excerpt(`zoom-meeting-${p.meetingId}`)),
        ],
      });
    }
  }
  rows.push({
    check:
      'Lost webhooks (joins the bridge runs never took in, or took in only after ending the room or taking the attendance)',
    expected: `0 (of ${joinsChecked} joins, ${joinsDuringHold} during a held create)`,
    actual: lostJoins
      ? `${lostJoins} (${lostJoins - lateJoins} dropped or never delivered, ${lateJoins} too late)`
      : '0',
    ok: lostJoins === 0,
  });

  // --- Lifecycle and fields, from the incident workflow itself (query incident).
  const current = new Map<string, Incident>();
  await eachLimit([...runs.keys()], 8, async (id) => {
    try {
      current.set(id, await incidentHandle(ctx.client, id).incident());
    } catch (err) {
      problems.push({ check: 'incident', incident: id, detail: `incident query failed: ${(err as Error).message}` });
    }
  });
  let lifecycleOk = 0;
  let updated = 0;
  let updatedOk = 0;
  for (const run of ctx.runs) {
    const id = run.plan.id;
    const incident = current.get(id);
    if (!incident) continue;
    const want = expectedIncident(run);
    const off: string[] = [];
    if (incident.status !== run.finalStatus) off.push(`status ${incident.status}, expected ${run.finalStatus}`);
    if (incident.sourceStatus !== want.sourceStatus)
      off.push(
        `sourceStatus ${incident.sourceStatus}, expected ${want.sourceStatus} (the source's own word, beside the lifecycle)`,
      );
    if (
      (run.finalStatus === 'resolved' || run.finalStatus === 'closed') &&
      !sameInstant(incident.resolvedAt, run.lastResolvedAt)
    )
      off.push(`resolvedAt ${incident.resolvedAt}, expected the last resolve's stamp ${run.lastResolvedAt}`);
    const events = run.events
      .filter((ev) => !ev.duplicate)
      .map(
        (ev) =>
          `${ev.eventId} ${ev.type} occurredAt ${ev.occurredAt} via ${ev.via} ack ${ev.ackAt ?? 'never'}${ev.event.incident.status ? ` status ${ev.event.incident.status}` : ''}`,
      );
    if (off.length === 0) lifecycleOk++;
    else
      problems.push({
        check: 'lifecycle',
        incident: id,
        detail: `${run.plan.flow}${run.plan.equalStamps ? ', equal timestamps' : ''}${run.plan.skew ? `, clock skew ${run.plan.skew}` : ''}${run.plan.source === 'pagerduty' ? ', via PagerDuty' : ''}: ${off.join('; ')}`,
        evidence: ['events (first deliveries, in order):', ...events, 'timeline:', ...timelineLines(id)],
      });
    if (run.plan.updates.length) {
      updated++;
      const fieldsOff: string[] = [];
      if (stable(incident.fields ?? {}) !== stable(want.fields ?? {}))
        fieldsOff.push(`fields ${stable(incident.fields ?? {})}, expected ${stable(want.fields ?? {})}`);
      if (stable(incident.owner ?? {}) !== stable(want.owner ?? {}))
        fieldsOff.push(`owner ${stable(incident.owner ?? {})}, expected ${stable(want.owner ?? {})}`);
      if (fieldsOff.length === 0) updatedOk++;
      else
        problems.push({
          check: 'partial updates',
          incident: id,
          detail: fieldsOff.join('; '),
          evidence: [
            'events (first deliveries, in order):',
            ...events,
            ...run.events
              .filter((ev) => !ev.duplicate && ev.type === 'incident.updated')
              .map((ev) => `${ev.eventId}: ${JSON.stringify(ev.event.incident)}`),
          ],
        });
    }
  }
  rows.push({
    check:
      "Lifecycle status as planned, the source's word beside it, resolvedAt from the last resolve (query incident)",
    expected: `${ctx.runs.length}/${ctx.runs.length}`,
    actual: `${lifecycleOk}/${ctx.runs.length}`,
    ok: lifecycleOk === ctx.runs.length,
  });
  rows.push({
    check: "Partial updates: other custom fields and the owner's email kept (query incident)",
    expected: `${updated}/${updated}`,
    actual: `${updatedOk}/${updated}`,
    ok: updatedOk === updated,
  });

  // --- Meeting mailboxes: one whose every claiming run has ended is never woken again (a leaked workflow).
  let leakedMailboxes = 0;
  let claimedMailboxes = 0;
  for (const w of workflows) {
    if (w.type !== WORKFLOW_TYPE.meetingMailbox || w.status.name !== 'RUNNING') continue;
    const h = histories.get(w.workflowId);
    if (!h) continue;
    const owners = await ctx.reader.mailboxOwners(h);
    if (!owners.length) continue; // unclaimed: it hands what it holds over and ends within 20 minutes
    claimedMailboxes++;
    const gone = owners.every((o) => {
      const run = byId.get(o);
      return (
        !run || (run.status.name !== 'RUNNING' && !!run.closeTime && Date.now() - run.closeTime.getTime() > 30_000)
      );
    });
    if (!gone) continue;
    leakedMailboxes++;
    problems.push({
      check: 'leaked mailboxes',
      incident: /^incident-(.+)\/[^/]+$/.exec(owners[0])?.[1],
      workflowId: w.workflowId,
      detail: `mailbox ${w.workflowId} still running, claimed by ${owners.map((o) => `${o} (${byId.get(o)?.status.name ?? 'gone'}${byId.get(o)?.closeTime ? ` since ${byId.get(o)!.closeTime!.toISOString()}` : ''})`).join(', ')}, none of which runs any more and none released it`,
      evidence: await excerpt(w.workflowId),
    });
  }
  rows.push({
    check: 'Meeting mailboxes still running after every run that claimed them ended (leaked)',
    expected: `0 (of ${claimedMailboxes} claimed and running)`,
    actual: String(leakedMailboxes),
    ok: leakedMailboxes === 0,
  });

  // --- Workflows: failed, stuck, unexpected.
  let failedUnexpected = 0;
  /** Why runbooks failed (not by design), normalised, with counts. */
  const failureReasons: Record<string, number> = {};
  let failedByDesign = 0;
  let failedByDesignExplained = 0;
  let stuck = 0;
  let wrongState = 0;
  const running = workflows.filter((w) => w.status.name === 'RUNNING');
  const describes = new Map<string, Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['describe']>>>();
  await eachLimit(running, 8, async (w) => {
    try {
      describes.set(w.workflowId, await ctx.client.workflow.getHandle(w.workflowId, w.runId).describe());
    } catch (err) {
      problems.push({
        check: 'workflows',
        workflowId: w.workflowId,
        detail: `describe failed: ${(err as Error).message}`,
      });
    }
  });
  for (const w of workflows) {
    const status = w.status.name as Status;
    const d = describes.get(w.workflowId);
    const incidentOf = /^incident-(.+?)(?:\/[^/]+)?$/.exec(w.workflowId)?.[1];
    let flagged = false;
    if (d) {
      // A first attempt scheduled moments ago is work starting (a timer that fired after the settle), not stuck.
      const pending = (d.raw.pendingActivities ?? []).filter(
        (p) => (p.attempt ?? 1) > 1 || Date.now() - (optionalTsToMs(p.scheduledTime) ?? 0) > 30_000,
      );
      const wft = d.raw.pendingWorkflowTask;
      if (pending.length > 0 || (wft?.attempt ?? 0) > 2) {
        stuck++;
        flagged = true;
        const lines = await Promise.all(
          pending.map(
            async (p) =>
              `pending ${p.activityType?.name} attempt ${p.attempt} state ${String(p.state)}; last failure: ${await ctx.reader.failure(p.lastFailure)}`,
          ),
        );
        if ((wft?.attempt ?? 0) > 2) lines.push(`workflow task attempt ${wft?.attempt}`);
        problems.push({
          check: 'stuck workflows',
          incident: incidentOf,
          workflowId: w.workflowId,
          detail: `${w.type} still has work pending after the run settled`,
          evidence: [...lines, ...(await excerpt(w.workflowId))],
        });
      }
    }
    if (w.type === WORKFLOW_TYPE.incident || w.type === WORKFLOW_TYPE.zoomConnector) {
      if (status !== 'RUNNING') {
        failedUnexpected++;
        problems.push({
          check: 'workflows',
          workflowId: w.workflowId,
          detail: `${w.type} is ${status}`,
          evidence: await excerpt(w.workflowId),
        });
      }
      continue;
    }
    if (w.type !== WORKFLOW_TYPE.runbook) continue;
    const [, incidentId] = /^incident-(.+)\/[^/]+$/.exec(w.workflowId) ?? [];
    const runbook = w.typedSearchAttributes.get(RunbookAttr) ?? w.workflowId.slice(w.workflowId.lastIndexOf('/') + 1);
    const e = expectations.get(incidentId);
    const allowed = e?.runbooks.get(runbook);
    if (status === 'FAILED') {
      const reason = e?.failedByDesign.get(runbook);
      if (reason) {
        failedByDesign++;
        if (
          timelines
            .get(incidentId)
            ?.some((t) => t.source === runbook && t.status === 'failed' && t.summary.includes(reason))
        )
          failedByDesignExplained++;
        continue;
      }
      failedUnexpected++;
      const evidence = await excerpt(w.workflowId);
      const why =
        evidence
          .filter((l) => l.includes('WORKFLOW_EXECUTION_FAILED'))
          .pop()
          ?.replace(/^#\d+ \S+ WORKFLOW_EXECUTION_FAILED /, '') ?? 'unknown';
      const normalised = why
        .replace(/^RunbookStepFailed: Runbook [\w-]+, step ([\w-]+) failed: /, 'step $1: ')
        .replace(/ Hint: .*$/, '')
        .replace(/\d{3,}/g, 'N');
      failureReasons[normalised] = (failureReasons[normalised] ?? 0) + 1;
      problems.push({
        check: 'workflows',
        incident: incidentId,
        workflowId: w.workflowId,
        detail: `runbook ${runbook} FAILED: ${why}`,
        evidence,
      });
      continue;
    }
    if (!allowed) {
      wrongState++;
      problems.push({
        check: 'workflows',
        incident: incidentId,
        workflowId: w.workflowId,
        detail: `runbook ${runbook} ran (${status}) but was not expected for this incident`,
        evidence: await excerpt(w.workflowId),
      });
    } else if (!allowed.includes(status) && !flagged) {
      if (status === 'RUNNING') stuck++;
      else wrongState++;
      problems.push({
        check: status === 'RUNNING' ? 'stuck workflows' : 'workflows',
        incident: incidentId,
        workflowId: w.workflowId,
        detail: `runbook ${runbook} is ${status}, expected ${allowed.join(' or ')}`,
        evidence: await excerpt(w.workflowId),
      });
    }
  }
  // Every expected runbook ran.
  let missingRuns = 0;
  for (const [id, e] of expectations) {
    for (const runbook of e.runbooks.keys()) {
      if (!byId.has(`incident-${id}/${runbook}`)) {
        missingRuns++;
        problems.push({
          check: 'workflows',
          incident: id,
          detail: `runbook ${runbook} never ran`,
          evidence: (timelines.get(id) ?? []).map((t) => `${t.at} ${t.status} [${t.source}] ${t.summary}`),
        });
      }
    }
  }
  const wftFailures = Object.entries(stats.workflowTaskFailures).filter(
    ([cause]) => cause !== 'WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND',
  );
  for (const [cause, n] of wftFailures)
    problems.push({ check: 'workflow task failures', detail: `${n} workflow task failure(s) with cause ${cause}` });
  rows.push({
    check: 'Workflows failed (not by design)',
    expected: '0',
    actual: String(failedUnexpected),
    ok: failedUnexpected === 0,
  });
  rows.push({
    check: 'Workflows stuck (work pending, or running when they should be done)',
    expected: '0',
    actual: String(stuck),
    ok: stuck === 0,
  });
  rows.push({
    check: 'Workflows in an unexpected state, or expected and never started',
    expected: '0',
    actual: String(wrongState + missingRuns),
    ok: wrongState + missingRuns === 0,
  });
  rows.push({
    check: 'Failed by design (permanent fault): timeline says why',
    expected: `${failedByDesign}/${failedByDesign}`,
    actual: `${failedByDesignExplained}/${failedByDesign}`,
    ok: failedByDesignExplained === failedByDesign,
  });
  rows.push({
    check: 'Workflow task failures (non-determinism, worker errors)',
    expected: '0',
    actual: String(wftFailures.reduce((n, [, c]) => n + c, 0)),
    ok: wftFailures.length === 0,
  });

  return {
    rows,
    problems,
    figures: {
      workflows: workflows.length,
      workflowStatus: statusCounts,
      history: stats,
      permanentVictims: Object.fromEntries(victims),
      failureReasons,
      bridgeIncidents,
      noBridgeByDesign,
      followUpsExpected: pmExpected,
      duplicatesSent,
      // Creates of timed-out attempts that reached Zoom after their retry looked, removed by the runbooks.
      lateDuplicatesRemoved: [...timelines.values()]
        .flat()
        .reduce((n, e) => n + Number(/^Removed (\d+) duplicate Zoom meeting/.exec(e.summary)?.[1] ?? 0), 0),
    },
  };
}

export async function eachLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}
