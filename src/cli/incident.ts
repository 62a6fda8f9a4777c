import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { getTimeline, IncidentNotFoundError, sendIncidentEvent } from '../client';
import { clockSkewTolerance } from '../config';
import { checkClockSkew, IncidentEvent, IncidentEventType, InvalidIncidentEventError, parseIncidentEvent } from '../incident';
import type { TimelineEntry } from '../../workflows/definitions';
import { connect } from './runtime';
import { formatTable, progress, sleep, untilStopped, UsageError } from './shared';

interface EventFlags {
  id?: string;
  title?: string;
  severity?: string;
  summary?: string;
  status?: string;
  ownerEmail?: string;
  eventId?: string;
  file?: string;
}

export function sendFile(file: string): Promise<void> {
  return send(readEventFile(file));
}

export function sendFromFlags(type: IncidentEventType, flags: EventFlags): Promise<void> {
  return send(flags.file ? typedEventFile(flags, type) : eventFromFlags(type, flags));
}

async function send(event: IncidentEvent): Promise<void> {
  const { client, temporal } = await connect();
  progress(`sending ${event.type} (event ${event.eventId})…`);
  const { workflowId } = await sendIncidentEvent(client, temporal.taskQueue, event);
  console.log(`Event ${event.eventId} (${event.type}) recorded for incident ${event.incident.id} in workflow ${workflowId}.`);
  console.log(`Timeline: zoom-runbooks timeline ${event.incident.id}`);
}

/**
 * The validated event a file (or stdin, "-") holds. Refused, as at the intake, when it is stamped
 * further ahead of `now` (this machine's clock) than ZR_CLOCK_SKEW_TOLERANCE.
 */
export function readEventFile(path: string, now: number = Date.now(), toleranceMs: number = clockSkewTolerance()): IncidentEvent {
  let text: string;
  try {
    text = readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (err) {
    throw new UsageError(`Cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const source = path === '-' ? 'stdin' : path;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new InvalidIncidentEventError([`not valid JSON: ${(err as Error).message}`], source);
  }
  const event = parseIncidentEvent(json, source);
  // Before anything is sent. Only a file can be ahead: events built from flags are stamped now.
  checkClockSkew(event, now, toleranceMs, source);
  return event;
}

/** `incident resolve --file e.json`: the file must hold the event the verb names, and flags cannot be mixed in. */
function typedEventFile(flags: EventFlags, type: IncidentEventType): IncidentEvent {
  const { file, ...rest } = flags;
  if (Object.values(rest).some((v) => v !== undefined)) throw new UsageError('--file cannot be combined with other event flags.');
  const event = readEventFile(file!);
  if (event.type !== type) throw new UsageError(`${file} holds an ${event.type} event, not ${type}; use "incident send ${file}" to send it as it is.`);
  return event;
}

function eventFromFlags(type: IncidentEventType, v: EventFlags): IncidentEvent {
  if (!v.id) throw new UsageError('--id <incident id> is required.');
  return parseIncidentEvent(
    {
      eventId: v.eventId ?? `cli-${randomUUID()}`,
      type,
      occurredAt: new Date().toISOString(),
      incident: {
        id: v.id,
        title: v.title,
        severity: v.severity,
        summary: v.summary,
        status: v.status ?? (type === 'incident.resolved' ? 'resolved' : type === 'incident.closed' ? 'closed' : undefined),
        owner: v.ownerEmail ? { email: v.ownerEmail } : undefined,
      },
    },
    'command-line flags',
  );
}

export async function timeline(incidentId: string, opts: { json?: boolean; follow?: boolean; for?: number }): Promise<void> {
  const { client } = await connect();
  if (!opts.follow) {
    const entries = await getTimeline(client, incidentId);
    console.log(opts.json ? JSON.stringify(entries, null, 2) : formatTimeline(entries));
    return;
  }
  // Follow: the timeline only ever grows, so what is new is what lies past the last count.
  let stopped = false;
  void untilStopped().then(() => (stopped = true));
  const deadline = opts.for === undefined ? Infinity : Date.now() + opts.for;
  const widths: number[] = [];
  let shown = 0;
  let waiting = false;
  progress(`following the timeline of ${incidentId} (Ctrl-C to stop)…`);
  while (!stopped && Date.now() < deadline) {
    try {
      const entries = await getTimeline(client, incidentId);
      const fresh = entries.slice(shown);
      shown = entries.length;
      if (fresh.length) console.log(opts.json ? fresh.map((e) => JSON.stringify(e)).join('\n') : formatTimeline(fresh, widths, shown === fresh.length));
    } catch (err) {
      // An incident not declared yet: wait for it rather than give up.
      if (!(err instanceof IncidentNotFoundError)) throw err;
      if (!waiting) progress(`waiting for incident ${incidentId} to be declared…`);
      waiting = true;
    }
    for (let t = 0; t < 1000 && !stopped && Date.now() < deadline; t += 100) await sleep(100);
  }
}

const HEADER = ['TIME (UTC)', 'SOURCE', 'STEP', 'STATUS', 'SUMMARY', 'LINKS'];

/** A table, one row per entry; an entry's further links go on rows of their own. */
export function formatTimeline(entries: TimelineEntry[], widths: number[] = [], header = true): string {
  if (entries.length === 0) return '(no entries yet)';
  const rows = entries.flatMap((e) => {
    const links = (e.links ?? []).map((l) => `${l.label}: ${l.url}`);
    const first = [e.at.slice(0, 19).replace('T', ' '), e.source, e.step ?? '-', e.status, e.summary, links[0] ?? ''];
    return [first, ...links.slice(1).map((l) => ['', '', '', '', '', l])];
  });
  return formatTable(header ? [HEADER, ...rows] : rows, widths);
}
