/**
 * Runs every benchmark, one after another, each on its own dev server, and merges their figures
 * into bench/results/latest.json. `npm run bench` (see bench/README.md).
 *
 *   npx tsx bench/run-all.ts [--only time-to-bridge,floor,history,burst,open-incidents,baseline,tuning] [--open-incidents 10000]
 *
 * tuning and baseline-lossy are not in the default set (--only tuning,baseline-lossy).
 * --wait-quiet N waits up to N seconds for the machine's load average to drop below 1 first.
 */
import { loadavg } from 'node:os';
import { runBaseline, BASELINE_DEFAULTS } from './baseline';
import { BURST_DEFAULTS, BurstResult, runBurst } from './burst';
import { FLOOR_DEFAULTS, runFloor } from './floor';
import { HISTORY_DEFAULTS, runHistory } from './history';
import { int, options, runMain } from './lib/cli';
import { progress, sleep } from './lib/report';
import { OPEN_INCIDENTS_DEFAULTS, runOpenIncidents } from './open-incidents';
import { runTimeToBridge, TIME_TO_BRIDGE_DEFAULTS } from './time-to-bridge';
import { runTuning, TUNING_DEFAULTS } from './tuning';

const ALL = ['time-to-bridge', 'floor', 'history', 'burst', 'open-incidents', 'baseline'];
const EXTRA = ['tuning', 'baseline-lossy'];
/**
 * Open incidents in the full run: 10,000 do not fit in 10 minutes on a 2-core machine (see
 * bench/README.md, "Open incidents"); this is the largest N that did. `--open-incidents 10000` runs the full count.
 */
const RUN_ALL_OPEN_INCIDENTS = 1000;

runMain(module, async () => {
  const a = options('Runs every benchmark (bench/README.md).', {
    only: ALL.join(','),
    worker: 'shipped',
    'open-incidents': String(RUN_ALL_OPEN_INCIDENTS),
    'wait-quiet': '0',
  });
  const only = a.only.split(',');
  for (const name of only) if (![...ALL, ...EXTRA].includes(name)) throw new Error(`unknown benchmark "${name}"`);
  const waitQuiet = int(a['wait-quiet'], 'wait-quiet');
  const deadline = Date.now() + waitQuiet * 1000;
  while (loadavg()[0] >= 1 && Date.now() < deadline) {
    progress(`load average ${loadavg()[0].toFixed(2)}: waiting for a quieter machine`);
    await sleep(15_000);
  }
  if (loadavg()[0] >= 1)
    progress(
      `warning: load average ${loadavg()[0].toFixed(2)} at start; other processes share the CPU (each table says how many cores they used)`,
    );
  const timings: [string, number][] = [];
  const timed = async (name: string, fn: () => Promise<unknown>) => {
    if (!only.includes(name)) return;
    const t = Date.now();
    progress(`=== ${name}`);
    await fn();
    timings.push([name, Math.round((Date.now() - t) / 1000)]);
  };
  let ours: BurstResult | undefined;
  await timed('time-to-bridge', () => runTimeToBridge({ ...TIME_TO_BRIDGE_DEFAULTS, worker: a.worker }));
  await timed('floor', () => runFloor({ ...FLOOR_DEFAULTS, worker: a.worker }));
  await timed('history', () => runHistory({ ...HISTORY_DEFAULTS, worker: a.worker }));
  await timed('burst', async () => (ours = await runBurst({ ...BURST_DEFAULTS, worker: a.worker })));
  await timed('open-incidents', () =>
    runOpenIncidents({
      ...OPEN_INCIDENTS_DEFAULTS,
      worker: a.worker,
      incidents: int(a['open-incidents'], 'open-incidents'),
    }),
  );
  await timed('baseline', () => runBaseline(BASELINE_DEFAULTS, ours));
  // Lost responses (Zoom created the meeting, the caller never heard): where duplicates come from. Ours on a smaller burst.
  await timed('baseline-lossy', async () => {
    const oursLossy = await runBurst({
      ...BURST_DEFAULTS,
      worker: a.worker,
      incidents: 200,
      hosts: 3,
      lostResponses: 20,
      key: 'burstLossy',
    });
    await runBaseline(
      {
        ...BASELINE_DEFAULTS,
        incidents: 200,
        hosts: 3,
        lostResponses: 20,
        key: 'baselineLossy',
        compareWith: 'burstLossy',
      },
      oursLossy,
    );
  });
  await timed('tuning', () => runTuning(TUNING_DEFAULTS));
  console.log(`\nwall time per benchmark: ${timings.map(([n, s]) => `${n} ${s} s`).join(', ')}`);
});
