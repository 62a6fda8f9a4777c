import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  currentUpdateInfo,
  getExternalWorkflowHandle,
  patched,
  ParentClosePolicy,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { ActivityFailure, WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { Activities } from '../activities';
import { nowIso, nowMs } from './clock';
import {
  appendTimelineSignal,
  incidentBridgeQuery,
  incidentEndBridgeSignal,
  incidentEventSignal,
  incidentQuery,
  INCIDENT_FAILURE_TYPE,
  INCIDENT_PATCHES,
  IncidentWorkflowStart,
  meetingCreatedSignal,
  runRunbookUpdate,
  timelineQuery,
} from './contract/incident';
import { meetingMailboxWorkflowId, releaseMeetingSignal } from './contract/meeting-mailbox';
import {
  incidentChangedSignal,
  MEETING_KIND,
  MeetingAction,
  meetingCreateKey,
  parseRunbookWorkflowId,
  RunbookDefinition,
  runbookWorkflowId,
} from './contract/runbook';
import {
  Incident,
  IncidentEvent,
  IncidentIdAttr,
  MeetingRecord,
  MeetingSummary,
  RunbookAttr,
  SeverityAttr,
  TimelineEntry,
  zoomTaskQueue,
} from './contract/shared';
import { END_BRIDGE, ignoredInput, INCIDENT_EVENT, MEETING_RECORD, problems, RUN_RUNBOOK } from './inputs';
import { describeNoMove, isLate, Lifecycle, mergeIncident, transition } from './lifecycle';
import { runbookWorkflow, ZOOM_CALLS } from './runbook';

export interface IncidentState {
  incident: Incident;
  /** Event ids already applied, newest last; duplicates of these are ignored. */
  seenEventIds: string[];
  timeline: TimelineEntry[];
  /** Runbooks already started for this incident (each runs once per incident). */
  runbooksStarted: string[];
  /** The newest event applied (by the sender's time): one clearly older arriving later only fills in what is missing. */
  latest?: { type: IncidentEvent['type']; occurredAt: string };
  /** The latest bridge a runbook opened. */
  bridge?: MeetingSummary;
  /** Runbooks run on demand, by workflow id. */
  onDemandRuns?: string[];
  /** Set while events came before the incident's create: runbooks wait for it (CREATE_GRACE_MS at most). */
  awaitingCreateSince?: string;
  /** Where the incident is in its lifecycle (workflows/lifecycle.ts). */
  lifecycle?: Lifecycle;
  /** Workflow time (ms) at which a resolved incident closes by itself, when the worker's policy says so. */
  autoCloseAt?: number;
  /** Meetings the runbooks created, by id: the incident leaves none open that should not outlive it. */
  meetings?: Record<string, MeetingRecord>;
  /** runRunbook requests already served, by request id (or update id): an operator's retry starts nothing new. */
  onDemandRequests?: Record<string, string>;
  /**
   * The meeting creates of each run started (by workflow id): their idempotency keys, so a close
   * can find in Zoom what a run that died mid-create made and nobody was told of.
   */
  creates?: Record<string, { key: string; kind: MeetingRecord['kind']; connector?: string }[]>;
}

export interface IncidentWorkflowInput extends IncidentWorkflowStart {
  /** State carried over continue-as-new. */
  state?: IncidentState;
}

/** How many event ids to remember for deduplication across continue-as-new. */
const DEDUP_WINDOW = 5000;
/** How long runbooks wait for a create that events for the incident arrived before. */
const CREATE_GRACE_MS = 60_000;
/** Continue-as-new well before Temporal's history limits (it also suggests when). */
const MAX_HISTORY_EVENTS = 5000;

const { matchRunbooks, findRunbook, incidentPolicy } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '10 seconds',
});

/**
 * The one workflow per incident (id `incident-<incident id>`): every event for the incident lands
 * here by signal-with-start, in order and deduplicated by event id. It keeps the incident's fields
 * and its timeline, and starts the runbooks each event triggers as child workflows.
 */
export async function incidentWorkflow(input: IncidentWorkflowInput): Promise<void> {
  const state: IncidentState = input.state ?? {
    incident: { id: input.incidentId },
    seenEventIds: [],
    timeline: [],
    runbooksStarted: [],
  };
  const seen = new Set(state.seenEventIds);
  const pending: IncidentEvent[] = [];
  /** Meetings an operator asked this workflow to end (their runbook no longer runs). */
  const endRequests: string[] = [];
  /** Meetings whose create answered after the close: ended here unless their run still runs. */
  const createdAfterClose: MeetingRecord[] = [];

  const refuse = (why: string | undefined) =>
    why && state.timeline.push({ at: nowIso(), source: 'incident', status: 'failed', summary: why });
  setHandler(incidentEventSignal, (event) => {
    if (refuse(ignoredInput('incidentEvent', event, INCIDENT_EVENT))) return;
    if (seen.has(event.eventId)) return;
    seen.add(event.eventId);
    pending.push(event);
  });
  setHandler(appendTimelineSignal, ({ bridge, meeting, ...entry }) => {
    state.timeline.push(entry);
    if (bridge) state.bridge = bridge;
    if (meeting) keepMeeting(state, meeting);
    if (bridge || meeting?.done) describeIncident(state);
  });
  // A create tells of its meeting before its run hears the answer; what the run posts later wins.
  setHandler(meetingCreatedSignal, (meeting) => {
    if (refuse(ignoredInput('meetingCreated', meeting, MEETING_RECORD))) return;
    if (state.meetings?.[meeting.id]) return;
    keepMeeting(state, meeting);
    if (state.lifecycle?.status === 'closed' && patched(INCIDENT_PATCHES.closeEndsLateCreates))
      createdAfterClose.push(meeting);
  });
  setHandler(incidentEndBridgeSignal, (request) => {
    if (request !== undefined && refuse(ignoredInput('endBridge', request, END_BRIDGE))) return;
    const meetingId = request?.meetingId ?? state.bridge?.id;
    if (meetingId) endRequests.push(meetingId);
  });
  setHandler(timelineQuery, () => state.timeline);
  setHandler(incidentQuery, () => state.incident);
  setHandler(incidentBridgeQuery, () => state.bridge ?? null);
  setHandler(
    runRunbookUpdate,
    async ({ runbook: name, requestId }) => {
      // One run per request: an operator who retries (same requestId, or the same update id) gets the first run back.
      const request = requestId ?? currentUpdateInfo()?.id;
      const runbook = await findRunbook({ name });
      if (!runbook)
        throw ApplicationFailure.nonRetryable(
          `No runbook named "${name}" is loaded on the worker.`,
          INCIDENT_FAILURE_TYPE.unknownRunbook,
        );
      const served = request ? state.onDemandRequests?.[request] : undefined;
      if (served) return { workflowId: served, alreadyStarted: true };
      const runs = (state.onDemandRuns ??= []);
      const workflowId = runbookWorkflowId(workflowInfo().workflowId, name, runs.length + 1);
      runs.push(workflowId);
      if (request) (state.onDemandRequests ??= {})[request] = workflowId;
      await startRunbook(state, runbook, workflowId);
      return { workflowId };
    },
    {
      validator: (request) => {
        const found = problems(request, RUN_RUNBOOK);
        if (found.length)
          throw new Error(`runRunbook needs {"runbook": "<runbook name>"} (optional "requestId"): ${found.join('; ')}`);
      },
    },
  );

  const historyTooLong = () =>
    workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > MAX_HISTORY_EVENTS;
  const woken = () => pending.length > 0 || endRequests.length > 0 || createdAfterClose.length > 0 || historyTooLong();
  for (;;) {
    const createDeadline = state.awaitingCreateSince
      ? Date.parse(state.awaitingCreateSince) + CREATE_GRACE_MS
      : undefined;
    const deadline = Math.min(createDeadline ?? Infinity, state.autoCloseAt ?? Infinity);
    if (deadline === Infinity) await condition(woken);
    else if (!(await condition(woken, Math.max(deadline - nowMs(), 1)))) {
      if (createDeadline !== undefined && nowMs() >= createDeadline) {
        // The create never came: run what the incident's latest state triggers, with what is known.
        state.awaitingCreateSince = undefined;
        await startMatchingRunbooks(state);
      }
      if (state.autoCloseAt !== undefined && nowMs() >= state.autoCloseAt) await autoClose(state);
    }
    while (pending.length > 0) await applyEvent(state, pending.shift()!);
    while (endRequests.length > 0) await endMeetingDirectly(state, endRequests.shift()!);
    while (createdAfterClose.length > 0) await reconcileCreatedAfterClose(state, createdAfterClose.shift()!);
    if (historyTooLong()) {
      await condition(allHandlersFinished);
      if (pending.length > 0 || createdAfterClose.length > 0) continue;
      state.seenEventIds = [...seen].slice(-DEDUP_WINDOW);
      await continueAsNew<typeof incidentWorkflow>({ incidentId: input.incidentId, state });
    }
  }
}

async function applyEvent(state: IncidentState, event: IncidentEvent): Promise<void> {
  // Runs recorded before the lifecycle state machine replay through applyEventBeforeLifecycle.
  if (!patched(INCIDENT_PATCHES.lifecycle)) return applyEventBeforeLifecycle(state, event);
  const incident = state.incident;
  const { id: _id, status: sourceStatus, ...change } = event.incident;
  const step = transition(state.lifecycle, event);
  // Senders' clocks disagree: only an event stamped clearly before the newest one (beyond the
  // skew tolerance) is late, and a late event only fills in what is still missing.
  const late = isLate(event.occurredAt, state.latest?.occurredAt);
  mergeIncident(incident, { ...change, ...(sourceStatus !== undefined ? { sourceStatus } : {}) }, late);
  if (event.type === 'incident.created') incident.createdAt ??= event.occurredAt;
  if (step.moved) {
    state.lifecycle = step.lifecycle;
    incident.status = step.lifecycle.status;
    if (step.lifecycle.status === 'resolved') incident.resolvedAt = event.occurredAt;
    if (step.lifecycle.status === 'closed') incident.closedAt = event.occurredAt;
    state.autoCloseAt = step.lifecycle.status === 'resolved' ? await autoCloseTime(incident) : undefined;
  } else if (event.type === 'incident.resolved') {
    incident.resolvedAt ??= event.occurredAt;
  }
  if (!state.latest || Date.parse(event.occurredAt) > Date.parse(state.latest.occurredAt))
    state.latest = { type: event.type, occurredAt: event.occurredAt };
  if (incident.severity) upsertSearchAttributes([{ key: SeverityAttr, value: incident.severity }]);
  // Why the status did not move: a late event says so in its own words (it only filled in what was missing).
  const why = step.moved
    ? ''
    : late
      ? 'arrived after a later event; its details were merged'
      : describeNoMove(step.why, state.lifecycle);
  const note = why ? ` (${why})` : '';
  state.timeline.push({
    at: nowIso(),
    source: 'incident',
    status: 'info',
    summary: describeEvent(event, incident) + note,
  });

  // Runbooks already running see the change (e.g. a wait for "resolved").
  const gone = new Set<string>();
  for (const id of [...state.runbooksStarted.map(runbookOf), ...(state.onDemandRuns ?? [])])
    if (!(await forward(id, incident))) gone.add(id);
  if (step.moved && step.lifecycle.status === 'closed') await reconcileOnClose(state, gone);

  if (!incident.createdAt && event.type !== 'incident.created') {
    state.awaitingCreateSince ??= nowIso();
    describeIncident(state);
    return;
  }
  state.awaitingCreateSince = undefined;
  // Runbooks are matched as of the incident's lifecycle: a create that arrives after the resolve
  // matches as the resolve did (no bridge is opened for a resolved incident).
  await startMatchingRunbooks(
    state,
    step.moved || event.type === 'incident.updated' ? event.type : state.lifecycle?.by,
  );
}

/** When a resolved incident closes by itself (the worker's ZR_CLOSE_AFTER_RESOLVE), for sources that never close. */
async function autoCloseTime(incident: Incident): Promise<number | undefined> {
  const { closeAfterResolveMs } = await incidentPolicy({ source: incident.fields?.source });
  return closeAfterResolveMs === null ? undefined : nowMs() + closeAfterResolveMs;
}

/** Closes a resolved incident that its source never closed, once the policy's time has passed. */
async function autoClose(state: IncidentState): Promise<void> {
  const resolvedAt = state.incident.resolvedAt;
  state.autoCloseAt = undefined;
  // The reason first: what the close sets off (a sync deleted, meetings reconciled) follows it on the timeline.
  state.timeline.push({
    at: nowIso(),
    source: 'incident',
    status: 'info',
    summary: `Closed automatically: resolved at ${resolvedAt} and not reopened or closed since (ZR_CLOSE_AFTER_RESOLVE)`,
  });
  await applyEvent(state, {
    eventId: `auto-close/${resolvedAt}`,
    type: 'incident.closed',
    occurredAt: nowIso(),
    incident: { id: state.incident.id },
  });
}

/** Before the lifecycle patch: the newest timestamp won and events replaced whole fields. */
async function applyEventBeforeLifecycle(state: IncidentState, event: IncidentEvent): Promise<void> {
  const incident = state.incident;
  const { id: _id, ...fields } = event.incident;
  const late = !!state.latest && Date.parse(event.occurredAt) < Date.parse(state.latest.occurredAt);
  if (late) {
    for (const [key, value] of Object.entries(fields)) (incident as unknown as Record<string, unknown>)[key] ??= value;
    if (event.type === 'incident.created') incident.createdAt ??= event.occurredAt;
    if (event.type === 'incident.resolved') incident.resolvedAt ??= event.occurredAt;
  } else {
    Object.assign(incident, fields);
    if (event.type === 'incident.created') incident.createdAt ??= event.occurredAt;
    if (event.type === 'incident.resolved') incident.resolvedAt = event.occurredAt;
    const lifecycleStatus = LIFECYCLE_STATUS[event.type];
    if (lifecycleStatus && !event.incident.status) incident.status = lifecycleStatus;
    state.latest = { type: event.type, occurredAt: event.occurredAt };
  }
  if (incident.severity) upsertSearchAttributes([{ key: SeverityAttr, value: incident.severity }]);
  const arrivedLate = late ? ` (arrived after a later event; its details were merged)` : '';
  state.timeline.push({
    at: nowIso(),
    source: 'incident',
    status: 'info',
    summary: describeEvent(event, incident) + arrivedLate,
  });
  for (const name of state.runbooksStarted) await forward(runbookOf(name), incident);
  for (const id of state.onDemandRuns ?? []) await forward(id, incident);
  if (!incident.createdAt && event.type !== 'incident.created') {
    state.awaitingCreateSince ??= nowIso();
    describeIncident(state);
    return;
  }
  state.awaitingCreateSince = undefined;
  await startMatchingRunbooks(state, state.latest!.type);
}

/**
 * Starts the runbooks the incident's latest event triggers, each once. Matched as of the latest
 * event, so a late create that brings the severity can still start the postmortem of an incident
 * already resolved.
 */
async function startMatchingRunbooks(
  state: IncidentState,
  eventType = state.lifecycle?.by ?? state.latest!.type,
): Promise<void> {
  const runbooks = await matchRunbooks({ eventType, incident: state.incident });
  for (const runbook of runbooks) {
    if (state.runbooksStarted.includes(runbook.name)) continue;
    state.runbooksStarted.push(runbook.name);
    await startRunbook(state, runbook);
  }
  describeIncident(state);
}

/** What the Web UI shows as the incident's current details. */
function describeIncident(state: IncidentState): void {
  const { incident } = state;
  const runbooks = [
    ...state.runbooksStarted,
    ...(state.onDemandRuns ?? []).map((id) => id.slice(workflowInfo().workflowId.length + 1)),
  ];
  setCurrentDetails(
    [
      `**${incident.id}**${incident.title ? `: ${incident.title}` : ''}${incident.severity ? ` (${incident.severity})` : ''}`,
      `Status: ${incident.status ?? 'open'}`,
      `Runbooks: ${runbooks.length ? runbooks.join(', ') : 'none'}`,
      ...(state.bridge ? [`Bridge: [${state.bridge.id}](${state.bridge.joinUrl})`] : []),
    ].join('\n\n'),
  );
}

const LIFECYCLE_STATUS: Partial<Record<IncidentEvent['type'], string>> = {
  'incident.resolved': 'resolved',
  'incident.reopened': 'reopened',
  'incident.closed': 'closed',
};

/** The run of a runbook this incident started on its own (not on demand). */
function runbookOf(runbook: string): string {
  return runbookWorkflowId(workflowInfo().workflowId, runbook);
}

/** Tells a runbook the incident changed; false when it no longer runs (finished, failed or terminated). */
async function forward(workflowId: string, incident: Incident): Promise<boolean> {
  try {
    await getExternalWorkflowHandle(workflowId).signal(incidentChangedSignal, { ...incident });
    return true;
  } catch {
    return false;
  }
}

function keepMeeting(state: IncidentState, meeting: MeetingRecord): void {
  const meetings = (state.meetings ??= {});
  meetings[meeting.id] = { ...meetings[meeting.id], ...meeting };
  if (meeting.done && state.bridge?.id === meeting.id) state.bridge = undefined;
}

/** Zoom calls the incident makes itself, on the Zoom task queue like the runbooks'. */
function zoomCalls() {
  return proxyActivities<Activities>({ ...ZOOM_CALLS, taskQueue: zoomTaskQueue(workflowInfo().taskQueue) });
}

/** A runbook's creates of meetings that should not outlive the incident, keyed as its run keys them. */
function meetingCreatesOf(runbook: RunbookDefinition, workflowId: string, runId: string) {
  return runbook.steps.flatMap((step) => {
    const kind = step.action in MEETING_KIND ? MEETING_KIND[step.action as MeetingAction] : undefined;
    return kind && kind !== 'scheduled'
      ? [{ key: meetingCreateKey(workflowId, runId, step.id), kind, connector: runbook.connector }]
      : [];
  });
}

/**
 * A run that died mid-create (terminated, its worker killed before Zoom's answer) made a meeting
 * nobody was told of: Zoom is asked by the create's marker, for runs that own fewer meetings here
 * than they create.
 */
async function findUntoldMeetings(state: IncidentState, gone: Set<string>): Promise<void> {
  const zoom = zoomCalls();
  for (const owner of gone) {
    const creates = state.creates?.[owner] ?? [];
    const known = Object.values(state.meetings ?? {}).filter((m) => m.owner === owner);
    if (known.length >= creates.length) continue;
    for (const { key, kind, connector } of creates) {
      const ids = await zoom.meetingsByMarker.executeWithOptions(
        { summary: `Look in Zoom for a meeting runbook run ${owner} made and never reported` },
        [{ connector, idempotencyKey: key, owner }],
      );
      for (const id of ids) if (!state.meetings?.[id]) keepMeeting(state, { id, kind, owner, connector });
    }
  }
}

/**
 * On close, what runbooks that no longer run (terminated, failed) left open is ended (bridges)
 * or deleted (recurring meetings). Running runbooks close their own; scheduled meetings such as
 * a postmortem are meant to outlive the incident.
 */
async function reconcileOnClose(state: IncidentState, gone: Set<string>): Promise<void> {
  if (patched(INCIDENT_PATCHES.closeFindsUntoldMeetings)) await findUntoldMeetings(state, gone);
  const orphaned = Object.values(state.meetings ?? {}).filter((m) => gone.has(m.owner));
  const left = orphaned.filter((m) => !m.done && m.kind !== 'scheduled');
  const zoom = zoomCalls();
  for (const meeting of left) {
    const call = { connector: meeting.connector, meetingId: meeting.id };
    if (meeting.kind === 'bridge')
      await zoom.endMeeting.executeWithOptions({ summary: `End Zoom meeting ${meeting.id} (incident closed)` }, [call]);
    else
      await zoom.deleteMeeting.executeWithOptions({ summary: `Delete Zoom meeting ${meeting.id} (incident closed)` }, [
        call,
      ]);
    const done = meeting.kind === 'bridge' ? 'ended' : 'deleted';
    keepMeeting(state, { ...meeting, done });
    const owner = parseRunbookWorkflowId(meeting.owner)?.runbook ?? meeting.owner;
    state.timeline.push({
      at: nowIso(),
      source: 'incident',
      status: 'ok',
      summary: `Zoom meeting ${meeting.id} ${done} on close: its runbook ${owner} no longer runs`,
    });
  }
  // A run that ended without releasing its meetings (terminated) leaves their mailboxes waiting for it.
  if (patched(INCIDENT_PATCHES.closeReleasesMailboxes)) {
    const release = (meeting: MeetingRecord) =>
      getExternalWorkflowHandle(meetingMailboxWorkflowId(meeting.id))
        .signal(releaseMeetingSignal, { owner: meeting.owner })
        .catch(() => undefined); // it has ended already
    await Promise.all(orphaned.map(release));
  }
  describeIncident(state);
}

/**
 * A create that answered after the close (its run terminated mid-create, the close already
 * reconciled): the close's rule applies to it too, once it is known whether its run still runs.
 */
async function reconcileCreatedAfterClose(state: IncidentState, meeting: MeetingRecord): Promise<void> {
  if (!(await forward(meeting.owner, state.incident))) await reconcileOnClose(state, new Set([meeting.owner]));
}

/** An operator's `endBridge` to the incident: ends the meeting through Zoom directly, whatever became of its runbook. */
async function endMeetingDirectly(state: IncidentState, meetingId: string): Promise<void> {
  const meeting = state.meetings?.[meetingId];
  try {
    await zoomCalls().endMeeting.executeWithOptions(
      { summary: `End Zoom meeting ${meetingId} (an operator, through the incident)` },
      [{ connector: meeting?.connector, meetingId }],
    );
  } catch (err) {
    const reason = err instanceof ActivityFailure && err.cause ? err.cause.message : String(err);
    state.timeline.push({
      at: nowIso(),
      source: 'incident',
      status: 'failed',
      summary: `Zoom meeting ${meetingId} could not be ended: ${reason}`,
    });
    return;
  }
  if (meeting) keepMeeting(state, { ...meeting, done: 'ended' });
  else if (state.bridge?.id === meetingId) state.bridge = undefined;
  state.timeline.push({
    at: nowIso(),
    source: 'incident',
    status: 'ok',
    summary: `Zoom meeting ${meetingId} ended by an operator`,
  });
  describeIncident(state);
}

async function startRunbook(
  state: IncidentState,
  runbook: RunbookDefinition,
  workflowId = runbookOf(runbook.name),
): Promise<void> {
  const incident = state.incident;
  const parentId = workflowInfo().workflowId;
  try {
    const child = await startChild(runbookWorkflow, {
      workflowId,
      args: [{ runbook, incident: { ...incident }, incidentWorkflowId: parentId }],
      // Runbooks outlive this run of the incident workflow when it continues-as-new.
      parentClosePolicy: ParentClosePolicy.ABANDON,
      typedSearchAttributes: [
        { key: IncidentIdAttr, value: incident.id },
        { key: RunbookAttr, value: runbook.name },
        ...(incident.severity ? [{ key: SeverityAttr, value: incident.severity }] : []),
      ],
      staticSummary: `Runbook **${runbook.name}** for incident ${incident.id}`,
    });
    (state.creates ??= {})[workflowId] = meetingCreatesOf(runbook, workflowId, child.firstExecutionRunId);
    state.timeline.push({
      at: nowIso(),
      source: runbook.name,
      status: 'info',
      summary: `Runbook ${runbook.name} started`,
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}

function describeEvent(event: IncidentEvent, incident: Incident): string {
  const what = event.type.replace('incident.', '');
  const title = incident.title ? `: ${incident.title}` : '';
  const severity = incident.severity ? ` (${incident.severity})` : '';
  return `Incident ${incident.id} ${what}${title}${severity}`;
}
