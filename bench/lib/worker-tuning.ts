import { WORKER_TUNING_DEFAULTS, WorkerTuning } from '../../src/platform/config';

export interface WorkerPreset {
  name: string;
  description: string;
  /** Passed to createWorker as `tuning`: what differs from the shipped defaults. */
  options: WorkerTuning;
  /** --max-old-space-size for the worker process (MiB). */
  maxOldSpaceMb?: number;
}

const pollers = (maximum: number) =>
  ({
    workflowTaskPollerBehavior: { type: 'simple-maximum', maximum },
    activityTaskPollerBehavior: { type: 'simple-maximum', maximum },
  }) as const;

/**
 * Presets compared by bench/tuning.ts; every other benchmark uses `shipped` unless told
 * `--worker <preset>`. README ("Worker tuning") gives the figures behind the shipped defaults.
 */
export const PRESETS: Record<string, WorkerPreset> = {
  shipped: {
    name: 'shipped',
    description: `createWorker as shipped: ${WORKER_TUNING_DEFAULTS.workflowSlots} workflow / ${WORKER_TUNING_DEFAULTS.activitySlots} activity slots, ${WORKER_TUNING_DEFAULTS.pollers}+${WORKER_TUNING_DEFAULTS.pollers} pollers, cache ${WORKER_TUNING_DEFAULTS.cachedWorkflows}`,
    options: {},
  },
  'sdk-defaults': {
    name: 'sdk-defaults',
    description:
      'SDK 1.24 defaults: 40 workflow / 100 activity / 100 local-activity slots, 10+10 pollers, cache sized from the heap (2,310 here)',
    options: {
      maxConcurrentWorkflowTaskExecutions: 40,
      maxConcurrentActivityTaskExecutions: 100,
      maxConcurrentLocalActivityExecutions: 100,
      ...pollers(10),
      maxCachedWorkflows: 2310,
    },
  },
  'wide-slots': {
    name: 'wide-slots',
    description: 'many slots and pollers: 200 workflow / 500 activity slots, 20+20 pollers',
    options: {
      maxConcurrentWorkflowTaskExecutions: 200,
      maxConcurrentActivityTaskExecutions: 500,
      maxConcurrentLocalActivityExecutions: 200,
      ...pollers(20),
    },
  },
  'wf-20': {
    name: 'wf-20',
    description: '20 workflow / 25 activity slots, 5+5 pollers',
    options: { maxConcurrentWorkflowTaskExecutions: 20, ...pollers(5) },
  },
  'auto-10': {
    name: 'auto-10',
    description: 'autoscaling pollers (1..10 both)',
    options: {
      workflowTaskPollerBehavior: { type: 'autoscaling', minimum: 1, initial: 4, maximum: 10 },
      activityTaskPollerBehavior: { type: 'autoscaling', minimum: 1, initial: 4, maximum: 10 },
    },
  },
  'threads-2': {
    name: 'threads-2',
    description: 'workflowThreadPoolSize 2 (two workflow threads on two cores)',
    options: { workflowThreadPoolSize: 2 },
  },
  'tq-rate-18': {
    name: 'tq-rate-18',
    description:
      'maxTaskQueueActivitiesPerSecond 18 (ZR_ACTIVITIES_PER_SECOND: server-side, shared by every worker on the queue)',
    options: { maxTaskQueueActivitiesPerSecond: 18 },
  },
  'cache-50': { name: 'cache-50', description: 'maxCachedWorkflows 50', options: { maxCachedWorkflows: 50 } },
  'cache-1000': { name: 'cache-1000', description: 'maxCachedWorkflows 1000', options: { maxCachedWorkflows: 1000 } },
};

export function preset(name: string): WorkerPreset {
  const p = PRESETS[name];
  if (!p) throw new Error(`Unknown worker preset "${name}"; one of: ${Object.keys(PRESETS).join(', ')}`);
  return p;
}

/** One line naming a preset's options, for tables. */
export function describeOptions(p: WorkerPreset): string {
  const d = WORKER_TUNING_DEFAULTS;
  const o = p.options;
  const poller = (b: WorkerTuning['workflowTaskPollerBehavior']) =>
    !b
      ? `max ${d.pollers}`
      : b.type === 'autoscaling'
        ? `auto ${b.minimum ?? 1}..${b.maximum ?? 100}`
        : `max ${b.maximum ?? 'default'}`;
  const parts = [
    `wf ${o.maxConcurrentWorkflowTaskExecutions ?? d.workflowSlots}`,
    `act ${o.maxConcurrentActivityTaskExecutions ?? d.activitySlots}`,
    `wfPoll ${poller(o.workflowTaskPollerBehavior)}`,
    `actPoll ${poller(o.activityTaskPollerBehavior)}`,
    `cache ${o.maxCachedWorkflows ?? d.cachedWorkflows}`,
  ];
  if (o.maxTaskQueueActivitiesPerSecond) parts.push(`tq ${o.maxTaskQueueActivitiesPerSecond}/s`);
  if (o.workflowThreadPoolSize) parts.push(`threads ${o.workflowThreadPoolSize}`);
  if (p.maxOldSpaceMb) parts.push(`heap ${p.maxOldSpaceMb} MiB`);
  return parts.join(', ');
}
