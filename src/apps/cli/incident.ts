import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { sendIncidentEvent } from '../../temporal/client';
import { incidentHandle, IncidentNotFoundError } from '../../temporal/handles';
import { clockSkewTolerance } from '../../platform/config';
import {
  checkClockSkew,
  IncidentEvent,
  IncidentEventType,
  InvalidIncidentEventError,
  parseIncidentEvent,
} from '../../core/incident';
import type { TimelineEntry } from '../../../workflows/contract';
import { connect } from './runtime';
import { formatTable, progress, selfCommand, sleep, untilStopped, UsageError } from './shared';

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
  console.log(
    `Event ${event.eventId} (${event.type}) recorded for incident ${event.incident.id} in workflow ${workflowId}.`,
  );
  console.log(`Timeline: ${selfCommand()} timeline ${event.incident.id}`);
}

/**
 * The validated event a file (or stdin, "-") holds. Refused, as at the intake, when it is stamped
 * further ahead of `now` (this machine's clock) than ZR_CLOCK_SKEW_TOLERANCE.
 */
export function readEventFile(
  path: string,
  now: number = Date.now(),
  toleranceMs: number = clockSkewTolerance(),
): IncidentEvent {
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
  if (Object.values(rest).some((v) => v !== undefined))
    throw new UsageError('--file cannot be combined with other event flags.');
  const event = readEventFile(file!);
  if (event.type !== type)
    throw new UsageError(
      `${file} holds an ${event.type} event, not ${type}; use "incident send ${file}" to send it as it is.`,
    );
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
        status:
          v.status ?? (type === 'incident.resolved' ? 'resolved' : type === 'incident.closed' ? 'closed' : undefined),
        owner: v.ownerEmail ? { email: v.ownerEmail } : undefined,
      },
    },
    'command-line flags',
  );
}

export async function timeline(
  incidentId: string,
  opts: { json?: boolean; follow?: boolean; wide?: boolean; for?: number },
): Promise<void> {
  const { client } = await connect();
  const incident = incidentHandle(client, incidentId);
  // A terminal gets lines that fit it; a pipe or a file, every line whole (as does a terminal of unknown width).
  const layout: TimelineLayout = {
    widths: [],
    width: opts.wide || !process.stdout.isTTY ? undefined : process.stdout.columns || undefined,
  };
  if (!opts.follow) {
    const entries = await incident.timeline();
    console.log(opts.json ? JSON.stringify(entries, null, 2) : formatTimeline(entries, layout));
    return;
  }
  // Follow: the timeline only ever grows, so what is new is what lies past the last count.
  let stopped = false;
  void untilStopped().then(() => (stopped = true));
  const deadline = opts.for === undefined ? Infinity : Date.now() + opts.for;
  let shown = 0;
  let waiting = false;
  progress(`following the timeline of ${incidentId} (Ctrl-C to stop)…`);
  while (!stopped && Date.now() < deadline) {
    try {
      const entries = await incident.timeline();
      const fresh = entries.slice(shown);
      shown = entries.length;
      if (fresh.length)
        console.log(
          opts.json
            ? fresh.map((e) => JSON.stringify(e)).join('\n')
            : formatTimeline(fresh, layout, shown === fresh.length),
        );
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
/** A summary is never wrapped narrower than this, however narrow the terminal. */
const MIN_SUMMARY = 24;

export interface TimelineLayout {
  /** Column widths so far, so that the batches of `--follow` stay aligned. */
  widths: number[];
  /** The terminal's width, for lines that fit it; unset: one line per entry, however long. */
  width?: number;
  /** Whether the lines are fitted to `width`: decided by the first batch, then kept. */
  fitted?: boolean;
}

/**
 * A table, one row per entry, and an entry's further links on rows of their own. When the table
 * is wider than `layout.width`, it is fitted: summaries wrap in the room the first four columns
 * leave, and every link goes on a row of its own under its summary. Nothing is cut: a summary
 * may be the hint that says which Zoom scope to add, and half a URL opens nothing (a word longer
 * than the room, a URL say, keeps a row of its own).
 */
export function formatTimeline(
  entries: TimelineEntry[],
  layout: TimelineLayout = { widths: [] },
  header = true,
): string {
  if (entries.length === 0) return '(no entries yet)';
  const links = (e: TimelineEntry) => (e.links ?? []).map((l) => `${l.label}: ${l.url}`);
  const prefix = (e: TimelineEntry) => [e.at.slice(0, 19).replace('T', ' '), e.source, e.step ?? '-', e.status];
  const whole = [
    ...(header ? [HEADER] : []),
    ...entries.flatMap((e) => [
      [...prefix(e), e.summary, links(e)[0] ?? ''],
      ...links(e)
        .slice(1)
        .map((l) => ['', '', '', '', '', l]),
    ]),
  ];
  if (layout.fitted === undefined && layout.width !== undefined) {
    const widest = Math.max(
      ...formatTable(whole, [...layout.widths])
        .split('\n')
        .map((line) => line.length),
    );
    layout.fitted = widest > layout.width;
  }
  if (!layout.fitted) return formatTable(whole, layout.widths);

  // The first four columns as they are; the summary gets what is left of the line.
  const prefixes = [...(header ? [HEADER.slice(0, 4)] : []), ...entries.map(prefix)];
  for (const cells of prefixes)
    cells.forEach((cell, i) => (layout.widths[i] = Math.max(layout.widths[i] ?? 0, cell.length)));
  const room = Math.max(MIN_SUMMARY, layout.width! - layout.widths.slice(0, 4).reduce((sum, w) => sum + w + 2, 0));
  const rows = [
    ...(header ? [HEADER.slice(0, 5)] : []),
    ...entries.flatMap((e) => {
      const [first, ...more] = wrap(e.summary, room);
      return [[...prefix(e), first], ...[...more, ...links(e)].map((line) => ['', '', '', '', line])];
    }),
  ];
  return formatTable(rows, layout.widths);
}

/** Lines of at most `width` characters, broken between words; a longer word keeps a line of its own. */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  return [...lines, line];
}
