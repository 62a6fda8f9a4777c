import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  ParentClosePolicy,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { Activities } from '../activities';
import { nowIso, nowMs } from './clock';
import {
  appendTimelineSignal,
  bridgeQuery,
  Incident,
  IncidentEvent,
  incidentChangedSignal,
  incidentEventSignal,
  IncidentIdAttr,
  incidentQuery,
  MeetingSummary,
  RunbookAttr,
  RunbookDefinition,
  runRunbookUpdate,
  SeverityAttr,
  TimelineEntry,
  timelineQuery,
} from './definitions';
import { runbookWorkflow } from './runbook';

export interface IncidentState {
  incident: Incident;
  /** Event ids already applied, newest last; duplicates of these are ignored. */
  seenEventIds: string[];
  timeline: TimelineEntry[];
  /** Runbooks already started for this incident (each runs once per incident). */
  runbooksStarted: string[];
  /** The newest event applied: an older one arriving later only fills in what is missing. */
  latest?: { type: IncidentEvent['type']; occurredAt: string };
  /** The latest bridge a runbook opened. */
  bridge?: MeetingSummary;
  /** Runbooks run on demand, by workflow id. */
  onDemandRuns?: string[];
  /** Set while events came before the incident's create: runbooks wait for it (CREATE_GRACE_MS at most). */
  awaitingCreateSince?: string;
}

export interface IncidentWorkflowInput {
  incidentId: string;
  /** State carried over continue-as-new. */
  state?: IncidentState;
}

/** How many event ids to remember for deduplication across continue-as-new. */
const DEDUP_WINDOW = 5000;
/** How long runbooks wait for a create that events for the incident arrived before. */
const CREATE_GRACE_MS = 60_000;
/** Continue-as-new well before Temporal's history limits (it also suggests when). */
const MAX_HISTORY_EVENTS = 5000;

const { matchRunbooks, findRunbook } = proxyLocalActivities<Activities>({ startToCloseTimeout: '10 seconds' });

/**
 * The one workflow per incident (id `incident-<incident id>`): every event for the incident lands
 * here by signal-with-start, in order and deduplicated by event id. It keeps the incident's fields
 * and its timeline, and starts the runbooks each event triggers as child workflows.
 */
export async function incidentWorkflow(input: IncidentWorkflowInput): Promise<void> {
  const state: IncidentState = input.state ?? { incident: { id: input.incidentId }, seenEventIds: [], timeline: [], runbooksStarted: [] };
  const seen = new Set(state.seenEventIds);
  const pending: IncidentEvent[] = [];

  setHandler(incidentEventSignal, (event) => {
    if (seen.has(event.eventId)) return;
    seen.add(event.eventId);
    pending.push(event);
  });
  setHandler(appendTimelineSignal, ({ bridge, ...entry }) => {
    state.timeline.push(entry);
    if (bridge) {
      state.bridge = bridge;
      describeIncident(state);
    }
  });
  setHandler(timelineQuery, () => state.timeline);
  setHandler(incidentQuery, () => state.incident);
  setHandler(bridgeQuery, () => state.bridge ?? null);
  setHandler(
    runRunbookUpdate,
    async ({ runbook: name }) => {
      const runbook = await findRunbook({ name });
      if (!runbook) throw ApplicationFailure.nonRetryable(`No runbook named "${name}" is loaded on the worker.`, 'UnknownRunbook');
      const runs = (state.onDemandRuns ??= []);
      const workflowId = `${runbookWorkflowId(name)}/on-demand-${runs.length + 1}`;
      runs.push(workflowId);
      await startRunbook(state, runbook, workflowId);
      return { workflowId };
    },
    {
      validator: (request) => {
        if (typeof request?.runbook !== 'string' || !request.runbook) throw new Error('runRunbook needs {"runbook": "<runbook name>"}.');
      },
    },
  );

  const historyTooLong = () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > MAX_HISTORY_EVENTS;
  const woken = () => pending.length > 0 || historyTooLong();
  for (;;) {
    if (state.awaitingCreateSince) {
      const left = Date.parse(state.awaitingCreateSince) + CREATE_GRACE_MS - nowMs();
      if (!(await condition(woken, Math.max(left, 1)))) {
        // The create never came: run what the incident's latest state triggers, with what is known.
        state.awaitingCreateSince = undefined;
        await startMatchingRunbooks(state);
      }
    } else {
      await condition(woken);
    }
    while (pending.length > 0) await applyEvent(state, pending.shift()!);
    if (historyTooLong()) {
      await condition(allHandlersFinished);
      if (pending.length > 0) continue;
      state.seenEventIds = [...seen].slice(-DEDUP_WINDOW);
      await continueAsNew<typeof incidentWorkflow>({ incidentId: input.incidentId, state });
    }
  }
}

async function applyEvent(state: IncidentState, event: IncidentEvent): Promise<void> {
  const incident = state.incident;
  const { id: _id, ...fields } = event.incident;
  // An event older than one already applied (a create that arrives after the resolve) is kept,
  // but only fills in what is missing: it never takes the incident back to an earlier state.
  const late = !!state.latest && Date.parse(event.occurredAt) < Date.parse(state.latest.occurredAt);
  if (late) {
    for (const [key, value] of Object.entries(fields)) (incident as unknown as Record<string, unknown>)[key] ??= value;
    if (event.type === 'incident.created') incident.createdAt ??= event.occurredAt;
    if (event.type === 'incident.resolved') incident.resolvedAt ??= event.occurredAt;
  } else {
    Object.assign(incident, fields);
    if (event.type === 'incident.created') incident.createdAt ??= event.occurredAt;
    if (event.type === 'incident.resolved') incident.resolvedAt = event.occurredAt;
    // Lifecycle events set the status unless the event carries its own wording.
    const lifecycleStatus = LIFECYCLE_STATUS[event.type];
    if (lifecycleStatus && !event.incident.status) incident.status = lifecycleStatus;
    state.latest = { type: event.type, occurredAt: event.occurredAt };
  }
  if (incident.severity) upsertSearchAttributes([{ key: SeverityAttr, value: incident.severity }]);
  const arrivedLate = late ? ` (arrived after a later event; its details were merged)` : '';
  state.timeline.push({ at: nowIso(), source: 'incident', status: 'info', summary: describeEvent(event, incident) + arrivedLate });

  // Runbooks already running see the change (e.g. a wait for "resolved").
  for (const name of state.runbooksStarted) await forward(runbookWorkflowId(name), incident);
  for (const id of state.onDemandRuns ?? []) await forward(id, incident);

  // Deliveries reorder: until the create has been seen (a minute at most), runbooks wait for the
  // title, severity and people it brings.
  if (!incident.createdAt && event.type !== 'incident.created') {
    state.awaitingCreateSince ??= nowIso();
    describeIncident(state);
    return;
  }
  state.awaitingCreateSince = undefined;
  await startMatchingRunbooks(state);
}

/**
 * Starts the runbooks the incident's latest event triggers, each once. Matched as of the latest
 * event, so a late create that brings the severity can still start the postmortem of an incident
 * already resolved.
 */
async function startMatchingRunbooks(state: IncidentState): Promise<void> {
  const runbooks = await matchRunbooks({ eventType: state.latest!.type, incident: state.incident });
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
  const runbooks = [...state.runbooksStarted, ...(state.onDemandRuns ?? []).map((id) => id.split('/').slice(1).join('/'))];
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

function runbookWorkflowId(runbook: string): string {
  return `${workflowInfo().workflowId}/${runbook}`;
}

async function forward(workflowId: string, incident: Incident): Promise<void> {
  try {
    await getExternalWorkflowHandle(workflowId).signal(incidentChangedSignal, { ...incident });
  } catch {
    // The runbook has finished: nothing to tell it.
  }
}

async function startRunbook(state: IncidentState, runbook: RunbookDefinition, workflowId = runbookWorkflowId(runbook.name)): Promise<void> {
  const incident = state.incident;
  const parentId = workflowInfo().workflowId;
  try {
    await startChild(runbookWorkflow, {
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
    state.timeline.push({ at: nowIso(), source: runbook.name, status: 'info', summary: `Runbook ${runbook.name} started` });
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
