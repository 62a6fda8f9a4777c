import { defaultPayloadConverter } from '@temporalio/common';
import { optionalTsToMs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { EncryptionCodec } from '../../src/temporal/codec';

type History = temporal.api.history.v1.IHistory;
type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
type Failure = temporal.api.failure.v1.IFailure;
type Payload = temporal.api.common.v1.IPayload;

const EventType = temporal.api.enums.v1.EventType;

/**
 * Reads workflow histories written with the payload codec: failure messages and results are
 * encrypted, so they are decoded with the run's key before they are counted or quoted.
 */
export class HistoryReader {
  constructor(private readonly codec: EncryptionCodec) {}

  async payload(p: Payload | null | undefined): Promise<unknown> {
    if (!p) return undefined;
    try {
      const [decoded] = await this.codec.decode([p as Parameters<EncryptionCodec['decode']>[0][number]]);
      return defaultPayloadConverter.fromPayload(decoded);
    } catch (err) {
      return `(undecodable payload: ${(err as Error).message})`;
    }
  }

  /** "Type: message" of a failure and its causes, decoded. */
  async failure(f: Failure | null | undefined): Promise<string> {
    const parts: string[] = [];
    for (let cur = f; cur; cur = cur.cause) {
      let message = cur.message ?? '';
      if (cur.encodedAttributes) {
        const attrs = (await this.payload(cur.encodedAttributes)) as { message?: string } | undefined;
        if (attrs && typeof attrs === 'object' && attrs.message) message = attrs.message;
      }
      const type =
        cur.applicationFailureInfo?.type ??
        (cur.timeoutFailureInfo
          ? `Timeout(${temporal.api.enums.v1.TimeoutType[cur.timeoutFailureInfo.timeoutType ?? 0]})`
          : undefined);
      parts.push(type ? `${type}: ${message}` : message);
    }
    return parts.filter(Boolean).join(' <- ');
  }

  /** Counts over one history: what retried and why, what the create activities returned. */
  async summarise(history: History, into: HistoryStats): Promise<void> {
    const scheduled = new Map<string, string>();
    const attempts = new Map<string, number>();
    for (const e of history.events ?? []) {
      switch (e.eventType) {
        case EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
          scheduled.set(String(e.eventId), e.activityTaskScheduledEventAttributes?.activityType?.name ?? '?');
          break;
        case EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED: {
          const attempt = e.activityTaskStartedEventAttributes?.attempt ?? 1;
          attempts.set(String(e.activityTaskStartedEventAttributes?.scheduledEventId), attempt);
          // History records only the last attempt's start; attempt - 1 earlier attempts failed or timed out.
          if (attempt > 1) {
            const name = scheduled.get(String(e.activityTaskStartedEventAttributes?.scheduledEventId)) ?? '?';
            into.retriedActivities[name] = (into.retriedActivities[name] ?? 0) + 1;
            into.retryAttempts += attempt - 1;
          }
          const lastFailure = e.activityTaskStartedEventAttributes?.lastFailure;
          if (lastFailure) {
            const type =
              lastFailure.applicationFailureInfo?.type ?? (lastFailure.timeoutFailureInfo ? 'Timeout' : 'Other');
            into.lastFailureTypes[type] = (into.lastFailureTypes[type] ?? 0) + 1;
          }
          break;
        }
        case EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: {
          const a = e.activityTaskCompletedEventAttributes;
          if (scheduled.get(String(a?.scheduledEventId)) === 'createMeeting') {
            const result = (await this.payload(a?.result?.payloads?.[0])) as { created?: boolean } | undefined;
            if (result && result.created === false) into.createsRecoveredByMarker++;
            into.createsCompleted++;
            into.createAttempts.push(attempts.get(String(a?.scheduledEventId)) ?? 1);
          }
          break;
        }
        case EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
          into.activityTimeouts++;
          break;
        case EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED: {
          const cause =
            temporal.api.enums.v1.WorkflowTaskFailedCause[e.workflowTaskFailedEventAttributes?.cause ?? 0] ?? 'UNKNOWN';
          into.workflowTaskFailures[cause] = (into.workflowTaskFailures[cause] ?? 0) + 1;
          break;
        }
        case EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
          into.workflowTaskTimeouts++;
          break;
      }
    }
  }

  /**
   * How a runbook run took in Zoom's events for one meeting it created. The run learns the meeting
   * when its createMeeting activity completes: its zoomMeetingEvent handler ignores events for
   * meetings it does not know, and within one workflow task signals are handled before the
   * activity's result resumes the workflow code. So a signal is taken in only when it comes after
   * the start of the first workflow task that completed after the create's completion (`ownedFrom`).
   */
  async meetingEvents(history: History, meetingId: string): Promise<MeetingEventsSeen> {
    const scheduled = new Map<string, string>();
    const seen: MeetingEventsSeen = { signals: [] };
    for (const e of history.events ?? []) {
      const eventId = Number(e.eventId);
      switch (e.eventType) {
        case EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
          scheduled.set(String(e.eventId), e.activityTaskScheduledEventAttributes?.activityType?.name ?? '?');
          break;
        case EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: {
          const a = e.activityTaskCompletedEventAttributes;
          if (seen.completedAt === undefined && scheduled.get(String(a?.scheduledEventId)) === 'createMeeting') {
            const result = (await this.payload(a?.result?.payloads?.[0])) as { id?: unknown } | undefined;
            if (String(result?.id) === meetingId) {
              seen.completedAt = eventId;
              seen.scheduledAt = Number(a?.scheduledEventId);
            }
          }
          break;
        }
        case EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED: {
          // The first workflow task after the create's completion that completed (one that failed
          // or timed out, a killed worker's, is done again with everything that came meanwhile).
          const started = Number(e.workflowTaskCompletedEventAttributes?.startedEventId ?? 0);
          if (seen.completedAt !== undefined && seen.ownedFrom === undefined && started > seen.completedAt)
            seen.ownedFrom = started;
          break;
        }
        case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED: {
          const a = e.workflowExecutionSignaledEventAttributes;
          if (a?.signalName !== 'zoomMeetingEvent') break;
          const event = (await this.payload(a.input?.payloads?.[0])) as
            { type?: string; meetingId?: string; participant?: { id?: string } } | undefined;
          if (event?.meetingId !== meetingId) break;
          seen.signals.push({
            eventId,
            at: new Date(optionalTsToMs(e.eventTime) ?? 0).toISOString(),
            type: event.type ?? '?',
            participantId: event.participant?.id,
          });
          break;
        }
      }
    }
    // The run keeps what is forwarded while its create is in flight and applies it once the answer is
    // in (even in the same workflow task); what came before the create was sent is not its meeting yet.
    for (const s of seen.signals)
      s.takenIn = seen.ownedFrom !== undefined && seen.scheduledAt !== undefined && s.eventId > seen.scheduledAt;
    return seen;
  }

  /** The runs a meeting mailbox forwards to: claimed (signals, or carried over continue-as-new) and not released. */
  async mailboxOwners(history: History): Promise<string[]> {
    const owners = new Set<string>();
    const released = new Set<string>();
    for (const e of history.events ?? []) {
      if (e.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED) {
        const input = (await this.payload(e.workflowExecutionStartedEventAttributes?.input?.payloads?.[0])) as
          { owners?: string[]; released?: string[] } | undefined;
        for (const o of input?.owners ?? []) owners.add(o);
        for (const o of input?.released ?? []) released.add(o);
      }
      if (e.eventType !== EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED) continue;
      const a = e.workflowExecutionSignaledEventAttributes;
      if (a?.signalName !== 'claimMeeting' && a?.signalName !== 'releaseMeeting') continue;
      const owner = ((await this.payload(a.input?.payloads?.[0])) as { owner?: string } | undefined)?.owner;
      if (!owner) continue;
      // The mailbox ignores a claim from a run that has released the meeting (a late create of a run it cut short).
      if (a.signalName === 'claimMeeting' && !released.has(owner)) owners.add(owner);
      if (a.signalName === 'releaseMeeting') {
        owners.delete(owner);
        released.add(owner);
      }
    }
    return [...owners];
  }

  /** The events of the activities named `activity` (default: all), one line each, with decoded failures. */
  async excerpt(history: History, activity?: string): Promise<string[]> {
    const lines: string[] = [];
    const scheduled = new Map<string, { name: string; summary: string }>();
    for (const e of history.events ?? []) {
      const when = new Date(optionalTsToMs(e.eventTime) ?? 0).toISOString().slice(11, 23);
      const name = EventType[e.eventType ?? 0]?.replace('EVENT_TYPE_', '') ?? String(e.eventType);
      const line = (text: string) => lines.push(`#${e.eventId} ${when} ${name} ${text}`.trimEnd());
      const of = (id: unknown) => scheduled.get(String(id));
      const wanted = (id: unknown) => !activity || of(id)?.name === activity;
      switch (e.eventType) {
        case EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: {
          const a = e.activityTaskScheduledEventAttributes;
          const summary = e.userMetadata?.summary ? String(await this.payload(e.userMetadata.summary)) : '';
          scheduled.set(String(e.eventId), { name: a?.activityType?.name ?? '?', summary });
          if (wanted(e.eventId)) line(`${a?.activityType?.name} ${summary}`);
          break;
        }
        case EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED: {
          const a = e.activityTaskStartedEventAttributes;
          if (wanted(a?.scheduledEventId))
            line(
              `${of(a?.scheduledEventId)?.name} attempt ${a?.attempt} by ${a?.identity ?? '?'}${a?.lastFailure ? `; previous attempt: ${await this.failure(a.lastFailure)}` : ''}`,
            );
          break;
        }
        case EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: {
          const a = e.activityTaskCompletedEventAttributes;
          if (!wanted(a?.scheduledEventId)) break;
          const result = await this.payload(a?.result?.payloads?.[0]);
          const brief =
            result && typeof result === 'object'
              ? JSON.stringify(pick(result as Record<string, unknown>, ['id', 'created', 'startTime']))
              : '';
          line(`${of(a?.scheduledEventId)?.name} ${brief}`);
          break;
        }
        case EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED: {
          const a = e.activityTaskFailedEventAttributes;
          if (wanted(a?.scheduledEventId)) line(`${of(a?.scheduledEventId)?.name}: ${await this.failure(a?.failure)}`);
          break;
        }
        case EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: {
          const a = e.activityTaskTimedOutEventAttributes;
          if (wanted(a?.scheduledEventId)) line(`${of(a?.scheduledEventId)?.name}: ${await this.failure(a?.failure)}`);
          break;
        }
        case EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
          line(temporal.api.enums.v1.WorkflowTaskFailedCause[e.workflowTaskFailedEventAttributes?.cause ?? 0] ?? '');
          break;
        case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
          line(await this.failure(e.workflowExecutionFailedEventAttributes?.failure));
          break;
        case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
          if (!activity) line(e.workflowExecutionSignaledEventAttributes?.signalName ?? '');
          break;
        default:
          if (
            !activity &&
            e.eventType !== EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED &&
            e.eventType !== EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED &&
            e.eventType !== EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
          )
            line('');
      }
    }
    return lines;
  }
}

/** A run's zoomMeetingEvent signals for one meeting, and from which history event on it knew the meeting. */
export interface MeetingEventsSeen {
  /** History event of the createMeeting completion that returned this meeting. */
  completedAt?: number;
  /** History event where that create was scheduled: from there on the run keeps the meeting's events. */
  scheduledAt?: number;
  /** Start of the first workflow task completed after it: signals after this are handled by a run that knows the meeting. */
  ownedFrom?: number;
  signals: { eventId: number; at: string; type: string; participantId?: string; takenIn?: boolean }[];
}

export interface HistoryStats {
  histories: number;
  /** Activities (by type) whose final attempt was not the first. */
  retriedActivities: Record<string, number>;
  retryAttempts: number;
  /** Why the attempt before a retried one failed, by failure type. */
  lastFailureTypes: Record<string, number>;
  activityTimeouts: number;
  createsCompleted: number;
  /** Creates whose retry found the meeting an earlier attempt had created (created: false). */
  createsRecoveredByMarker: number;
  /** The attempt on which each completed create succeeded. */
  createAttempts: number[];
  workflowTaskFailures: Record<string, number>;
  workflowTaskTimeouts: number;
}

export function emptyStats(): HistoryStats {
  return {
    histories: 0,
    retriedActivities: {},
    retryAttempts: 0,
    lastFailureTypes: {},
    activityTimeouts: 0,
    createsCompleted: 0,
    createsRecoveredByMarker: 0,
    createAttempts: [],
    workflowTaskFailures: {},
    workflowTaskTimeouts: 0,
  };
}

function pick(obj: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => obj[k] !== undefined).map((k) => [k, obj[k]]));
}

export type { History, HistoryEvent };
