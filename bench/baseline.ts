/**
 * Benchmark 4, baseline: the burst of benchmark 2 sent the way most integrations call Zoom: for
 * every incident a new Server-to-Server token, then create the meeting at once (no pacing), and on
 * any failure one blind retry (new token, create again). Its 429s, failures and duplicates are
 * printed beside ours (the `burst` figures in bench/results/latest.json, or a fresh run).
 *
 *   npx tsx bench/baseline.ts [--incidents 1000] [--window-ms 1000] [--hosts 11] [--lost-responses 0]
 */
import axios from 'axios';
import { loadavg } from 'node:os';
import { ZoomSandbox } from '../src/sandbox/server';
import { RATE_PLANS } from '../src/zoom/rate-limiter';
import { BurstResult, burstLabel } from './burst';
import { int, options, runMain } from './lib/cli';
import { printTable, progress, readResult, round, sleep, writeResult } from './lib/report';
import { benchUsers, meetingsByIncident, zoomCallCounts } from './lib/stack';

export interface BaselineOptions {
  incidents: number;
  windowMs: number;
  hosts: number;
  /** Naive client timeout (ms): what a typical integration sets. */
  timeoutMs: number;
  /** Responses to the first N create calls are lost (Zoom creates the meeting, the caller never hears): shows duplicates. */
  lostResponses: number;
  key: string;
  /** The `burst` result key to print beside (from latest.json). */
  compareWith: string;
}

export const BASELINE_DEFAULTS: BaselineOptions = {
  incidents: 1000,
  windowMs: 1000,
  hosts: 11,
  timeoutMs: 10_000,
  lostResponses: 0,
  key: 'baseline',
  compareWith: 'burst',
};

export interface BaselineResult {
  options: BaselineOptions;
  incidents: number;
  bridges: number;
  failedBridges: number;
  duplicates: number;
  zoom429: number;
  zoom429Daily: number;
  tokenRequests: number;
  createCalls: number;
  lastBridgeS?: number;
  allAnsweredS: number;
  floorS: number;
  loadAverageAtStart: number[];
}

export async function runBaseline(o: BaselineOptions = BASELINE_DEFAULTS, ours?: BurstResult): Promise<BaselineResult> {
  const users = benchUsers(o.hosts);
  const sandbox = new ZoomSandbox({ users: [...users.pool, users.bare], rateLimits: { plan: 'pro' } });
  await sandbox.start();
  try {
    const c = sandbox.state.credentials;
    const http = axios.create({ timeout: o.timeoutMs, validateStatus: (s) => s >= 200 && s < 300 });
    for (let i = 0; i < o.lostResponses; i++)
      sandbox.addFault({ method: 'POST', path: '^/v2/users/[^/]+/meetings$', dropResponse: true });
    const run = Math.random().toString(36).slice(2, 7);
    const ids = Array.from({ length: o.incidents }, (_, i) => `N-${run}-${i}`);

    const naive = async (id: string, i: number) => {
      const host = users.pool[i % users.pool.length].email;
      for (let attempt = 1; attempt <= 2; attempt++) {
        try {
          const token = await http.post(
            `${sandbox.url}/oauth/token`,
            new URLSearchParams({ grant_type: 'account_credentials', account_id: c.accountId }).toString(),
            {
              auth: { username: c.clientId, password: c.clientSecret },
              headers: { 'content-type': 'application/x-www-form-urlencoded' },
            },
          );
          await http.post(
            `${sandbox.url}/v2/users/${encodeURIComponent(host)}/meetings`,
            {
              topic: `Burst incident ${i} - Incident Bridge`,
              type: 2,
              start_time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
              duration: 60,
              agenda: `Incident ${id}`,
              settings: { join_before_host: true },
            },
            { headers: { authorization: `Bearer ${(token.data as { access_token: string }).access_token}` } },
          );
          return true;
        } catch {
          // Blind retry, once.
        }
      }
      return false;
    };

    const loadAverageAtStart = loadavg().map((l) => round(l, 2)!);
    progress(
      `baseline: ${o.incidents} naive bridges over ${o.windowMs} ms (${o.hosts} hosts, ${o.lostResponses} lost responses)`,
    );
    const t0 = Date.now();
    const calls: Promise<boolean>[] = [];
    for (let i = 0; i < ids.length; i++) {
      const wait = t0 + (i * o.windowMs) / ids.length - Date.now();
      if (wait > 1) await sleep(wait);
      calls.push(naive(ids[i], i));
    }
    await Promise.all(calls);
    const allAnsweredS = (Date.now() - t0) / 1000;
    const meetings = meetingsByIncident(sandbox, new RegExp(`^Incident (N-${run}-\\d+)`));
    const created = [...meetings.values()].flat().map((m) => m.createdAt);
    const counts = zoomCallCounts(sandbox, t0);
    const result: BaselineResult = {
      options: o,
      incidents: ids.length,
      bridges: meetings.size,
      failedBridges: ids.filter((id) => !meetings.get(id)?.length).length,
      duplicates: [...meetings.values()].filter((m) => m.length > 1).length,
      zoom429: counts.tooMany,
      zoom429Daily: counts.tooManyDaily,
      tokenRequests: sandbox.state.tokenRequests,
      createCalls: counts.creates,
      lastBridgeS: round(created.length ? (Math.max(...created) - t0) / 1000 : undefined, 2),
      allAnsweredS: round(allAnsweredS, 2)!,
      floorS: ids.length / RATE_PLANS.pro.Medium,
      loadAverageAtStart,
    };
    ours ??= readResult<BurstResult>(o.compareWith);
    printBaseline(result, ours);
    writeResult(o.key, {
      ...result,
      comparedWith: ours
        ? { key: o.compareWith, measuredAt: (ours as unknown as { measuredAt?: string }).measuredAt }
        : undefined,
    });
    return result;
  } finally {
    await sandbox.stop();
  }
}

export function printBaseline(naive: BaselineResult, ours?: BurstResult): void {
  const rows: [string, number | string | undefined, number | string | undefined][] = [
    ['incidents', ours?.incidents, naive.incidents],
    ['bridges created', ours?.bridges, naive.bridges],
    ['failed bridges', ours?.failedBridges, naive.failedBridges],
    ['duplicates (incidents with > 1 meeting)', ours?.duplicates, naive.duplicates],
    ['Zoom 429s (per-second)', ours?.zoom429, naive.zoom429],
    ['Zoom 429s (daily)', ours?.zoom429Daily, naive.zoom429Daily],
    ['token requests', ours?.tokenRequests, naive.tokenRequests],
    ['create-meeting calls', ours?.zoomCalls.creates, naive.createCalls],
    ['last bridge at s', ours?.lastBridgeS, naive.lastBridgeS],
    ['floor s (n / 20)', ours?.floorS, naive.floorS],
  ];
  printTable(
    `Baseline beside ours: the same burst (${naive.incidents} incidents in ${naive.options.windowMs} ms, Pro limits${naive.options.lostResponses ? `, first ${naive.options.lostResponses} create responses lost` : ''})`,
    [
      'metric',
      ours ? `ours (${burstLabel(ours)})` : 'ours (not measured)',
      'naive: token per call, no pacing, 1 blind retry',
    ],
    rows,
  );
}

runMain(module, async () => {
  const d = BASELINE_DEFAULTS;
  const a = options('Benchmark 4: naive baseline (bench/README.md).', {
    incidents: String(d.incidents),
    'window-ms': String(d.windowMs),
    hosts: String(d.hosts),
    'timeout-ms': String(d.timeoutMs),
    'lost-responses': String(d.lostResponses),
    key: d.key,
    'compare-with': d.compareWith,
  });
  await runBaseline({
    incidents: int(a.incidents, 'incidents'),
    windowMs: int(a['window-ms'], 'window-ms'),
    hosts: int(a.hosts, 'hosts'),
    timeoutMs: int(a['timeout-ms'], 'timeout-ms'),
    lostResponses: int(a['lost-responses'], 'lost-responses'),
    key: a.key,
    compareWith: a['compare-with'],
  });
});
