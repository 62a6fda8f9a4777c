import { defaultPayloadConverter } from '@temporalio/common';
import { optionalTsToMs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { EncryptionCodec } from '../../src/codec';

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
      const type = cur.applicationFailureInfo?.type ?? (cur.timeoutFailureInfo ? `Timeout(${temporal.api.enums.v1.TimeoutType[cur.timeoutFailureInfo.timeoutType ?? 0]})` : undefined);
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
            const type = lastFailure.applicationFailureInfo?.type ?? (lastFailure.timeoutFailureInfo ? 'Timeout' : 'Other');
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
          const cause = temporal.api.enums.v1.WorkflowTaskFailedCause[e.workflowTaskFailedEventAttributes?.cause ?? 0] ?? 'UNKNOWN';
          into.workflowTaskFailures[cause] = (into.workflowTaskFailures[cause] ?? 0) + 1;
          break;
        }
        case EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
          into.workflowTaskTimeouts++;
          break;
      }
    }
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
          if (wanted(a?.scheduledEventId)) line(`${of(a?.scheduledEventId)?.name} attempt ${a?.attempt} by ${a?.identity ?? '?'}${a?.lastFailure ? `; previous attempt: ${await this.failure(a.lastFailure)}` : ''}`);
          break;
        }
        case EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: {
          const a = e.activityTaskCompletedEventAttributes;
          if (!wanted(a?.scheduledEventId)) break;
          const result = await this.payload(a?.result?.payloads?.[0]);
          const brief = result && typeof result === 'object' ? JSON.stringify(pick(result as Record<string, unknown>, ['id', 'created', 'startTime'])) : '';
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
          if (!activity && e.eventType !== EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED && e.eventType !== EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED && e.eventType !== EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) line('');
      }
    }
    return lines;
  }
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
  return { histories: 0, retriedActivities: {}, retryAttempts: 0, lastFailureTypes: {}, activityTimeouts: 0, createsCompleted: 0, createsRecoveredByMarker: 0, createAttempts: [], workflowTaskFailures: {}, workflowTaskTimeouts: 0 };
}

function pick(obj: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => obj[k] !== undefined).map((k) => [k, obj[k]]));
}

export type { History, HistoryEvent };
