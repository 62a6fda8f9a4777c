import { getTimeline } from '../../src/temporal/client';
import type { ZoomSandbox } from '../../src/sandbox/server';
import { sleep } from './report';
import { BenchStack, createdEvent, PostResult } from './stack';

const CREATE_PATH = /^\/v2\/users\/[^/]+\/meetings$/;

/** When Zoom answered each create, by the key `agenda` yields. */
export interface ZoomCreates {
  /** When the sandbox answered the first create for `key` (ms epoch), if it has. */
  at(key: string): number | undefined;
  /** Resolves once it has (or never: race it with a timeout). */
  created(key: string): Promise<void>;
}

/**
 * Watches the sandbox's request log as it is written (in-process, no polling) for answered
 * creates; the first group of `agenda` names the create (the incident's or the floor run's id).
 */
export function watchZoomCreates(sandbox: ZoomSandbox, agenda: RegExp): ZoomCreates {
  const answered = new Map<string, number>();
  const waiting = new Map<string, () => void>();
  const record = sandbox.requests.push.bind(sandbox.requests);
  sandbox.requests.push = (...items) => {
    const now = Date.now();
    for (const r of items) {
      if (r.method !== 'POST' || r.status !== 201 || !CREATE_PATH.test(r.path)) continue;
      const m = agenda.exec(String((r.body as { agenda?: string } | undefined)?.agenda ?? ''));
      if (m && !answered.has(m[1])) {
        answered.set(m[1], now);
        waiting.get(m[1])?.();
      }
    }
    return record(...items);
  };
  return {
    at: (key) => answered.get(key),
    created: (key) =>
      answered.has(key) ? Promise.resolve() : new Promise<void>((resolve) => waiting.set(key, resolve)),
  };
}

/**
 * Asks `seen` every `pollMs` once Zoom has answered the create for `key` (so the queries do not
 * load the system they measure), until it says yes; resolves with when it did, or undefined after `timeoutMs`.
 */
export async function seenAfterCreate(
  creates: ZoomCreates,
  key: string,
  seen: () => Promise<boolean>,
  pollMs: number,
  timeoutMs = 60_000,
): Promise<number | undefined> {
  const deadline = Date.now() + timeoutMs;
  await Promise.race([creates.created(key), sleep(timeoutMs)]);
  for (;;) {
    if (await seen()) return Date.now();
    if (Date.now() > deadline) return undefined;
    await sleep(pollMs);
  }
}

/** The create for an incident of the bench runbooks: its agenda opens with "Incident <id>". */
export const INCIDENT_AGENDA = /^Incident (\S+)/;

export type BridgeResult = { ok: true; answer: PostResult; seenAt: number } | { ok: false; answer: PostResult };

/**
 * Time to bridge, one incident: `incident.created` through the intake, then its timeline asked
 * until the `Join` link is on it. `creates` watches INCIDENT_AGENDA.
 */
export async function incidentToBridge(
  stack: BenchStack,
  creates: ZoomCreates,
  id: string,
  pollMs: number,
  title = `Bench incident ${id}`,
): Promise<BridgeResult> {
  const answer = await stack.postEvent(createdEvent(id, title));
  if (answer.status !== 202) return { ok: false, answer };
  const seenAt = await seenAfterCreate(creates, id, () => hasJoinLink(stack, id), pollMs);
  return seenAt === undefined ? { ok: false, answer } : { ok: true, answer, seenAt };
}

/** True once the incident's timeline shows the bridge's `Join` link. */
export async function hasJoinLink(stack: Pick<BenchStack, 'client'>, id: string): Promise<boolean> {
  const timeline = await getTimeline(stack.client, id).catch(() => []);
  return timeline.some((e) => e.links?.some((l) => l.label === 'Join'));
}
