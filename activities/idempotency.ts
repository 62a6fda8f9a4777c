/**
 * Exactly-once creates: each create's agenda ends with a marker derived from its step's
 * idempotency key, so a retry (or a cancel) finds what an earlier attempt made on any host.
 */
import { createHash } from 'node:crypto';
import { activityInfo, heartbeat } from '@temporalio/activity';
import { isMeetingGone, MEETING_IN_PROGRESS, ZoomUnavailableError, ZoomValidationError } from '../src/zoom/errors';
import { collectPages } from '../src/zoom/paging';
import { Meeting } from '../src/zoom/types';
import { attemptSignal } from './attempt';
import type { ZoomConnector } from './types';

export function idempotencyMarker(key: string): string {
  return `[zoom-runbooks:${createHash('sha256').update(key).digest('hex').slice(0, 20)}]`;
}

/** The marker that ends an agenda this service wrote (see idempotencyMarker), if any. */
export function markerIn(agenda: string | undefined): string | undefined {
  return /\[zoom-runbooks:[0-9a-f]{20}\]$/.exec(agenda ?? '')?.[0];
}

/**
 * Removes the meetings with the marker but `keep`, and returns every id removed, including by
 * earlier attempts: each removal is heartbeated, so a retry after a lost answer (which finds
 * nothing left) still reports what the first attempt did.
 */
export async function removeMarked(zoom: ZoomConnector, marker: string, keep?: string): Promise<string[]> {
  const removed = [...((activityInfo().heartbeatDetails as { removed?: string[] } | undefined)?.removed ?? [])];
  for (const host of zoom.hosts.hosts) {
    for (const meeting of await withMarker(zoom, marker, host)) {
      const id = String(meeting.id);
      if (id === keep || removed.includes(id)) continue;
      await removeMeeting(zoom, id);
      removed.push(id);
      heartbeat({ removed });
    }
  }
  return removed;
}

/**
 * Deletes a meeting, ending it first when Zoom refuses because it is in progress (3002: someone
 * joined before the host). Listing does not say which meetings are live, so this costs an end call
 * only for those. A meeting already gone is removed as far as anyone can tell.
 */
export async function removeMeeting(zoom: ZoomConnector, id: string): Promise<void> {
  try {
    await zoom.client.deleteMeeting(id);
    return;
  } catch (err) {
    if (isMeetingGone(err)) return;
    if (!(err instanceof ZoomValidationError && err.code === MEETING_IN_PROGRESS)) throw err;
  }
  // Should the end be refused (it ended meanwhile, say), the delete that follows says what is so.
  await zoom.client.endMeeting(id).catch((err: unknown) => {
    if (!isMeetingGone(err) && !(err instanceof ZoomValidationError)) throw err;
  });
  await zoom.client.deleteMeeting(id).catch((err: unknown) => {
    if (!isMeetingGone(err)) throw err;
  });
}

/** The meeting an earlier attempt created, found by its marker on the given hosts. */
export async function findByMarker(zoom: ZoomConnector, marker: string, hosts: string[]): Promise<Meeting | undefined> {
  for (const host of hosts) {
    const [hit] = await withMarker(zoom, marker, host);
    if (hit) return zoom.client.getMeeting(hit.id);
  }
  return undefined;
}

/** A host's scheduled meetings that carry the marker (every page, within collectPages' bounds). */
export async function withMarker(
  zoom: ZoomConnector,
  marker: string,
  host: string,
): Promise<{ id: number | string }[]> {
  const { items } = await collectPages({
    operation: `list meetings of host ${host}`,
    fetchPage: async (next_page_token) => {
      const page = await retryingReads(() =>
        zoom.client.listMeetings(host, { type: 'scheduled', page_size: 300, next_page_token }),
      );
      return { items: page.meetings, nextPageToken: page.next_page_token, totalRecords: page.total_records };
    },
  });
  return items.filter((m) => m.agenda?.includes(marker));
}

/**
 * A lookup reads many pages and hosts; one 5xx among them should not cost the whole attempt
 * (and its backoff), so a read that failed for a passing reason is asked again twice at once.
 */
export async function retryingReads<T>(read: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await read();
    } catch (err) {
      if (attempt === 3 || !(err instanceof ZoomUnavailableError) || attemptSignal()?.aborted) throw err;
      await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
    }
  }
}
