import type { WorkerOptions } from '@temporalio/worker';

/**
 * The Worker options that matter for this workload, set explicitly by the bench. (`maxConcurrent*TaskPolls`
 * are deliberately absent: SDK 1.24 ignores them; pollers come only from the *PollerBehavior options.)
 */
export type WorkerTuning = Pick<
  WorkerOptions,
  | 'maxConcurrentActivityTaskExecutions'
  | 'maxConcurrentWorkflowTaskExecutions'
  | 'maxConcurrentLocalActivityExecutions'
  | 'workflowTaskPollerBehavior'
  | 'activityTaskPollerBehavior'
  | 'maxCachedWorkflows'
  | 'maxTaskQueueActivitiesPerSecond'
  | 'maxActivitiesPerSecond'
  | 'workflowThreadPoolSize'
>;

export interface WorkerPreset {
  name: string;
  description: string;
  /**
   * true: the worker is built by src/worker.ts createWorker exactly as shipped (it takes no tuning
   * options, so `options` must be empty). false: the bench builds the same worker (same activities,
   * connectors, data converter and bundle) through Worker.create with `options` added.
   */
  useCreateWorker: boolean;
  options: WorkerTuning;
  /** --max-old-space-size for the worker process (MiB); it also sets the SDK's default cache size. */
  maxOldSpaceMb?: number;
}

/**
 * Presets compared by bench/tuning.ts. `recommended` is what the figures in bench/README.md support;
 * every benchmark uses it unless told `--worker <preset>`.
 */
export const PRESETS: Record<string, WorkerPreset> = {
  shipped: {
    name: 'shipped',
    description: 'createWorker as shipped: SDK 1.24 defaults (40 workflow / 100 activity / 100 local-activity slots, 10+10 pollers, cache from heap size: 2,310 here)',
    useCreateWorker: true,
    options: {},
  },
  recommended: {
    name: 'recommended',
    description: 'explicit: 10 workflow / 25 activity slots, 4+4 pollers, cache 500 (bench/README.md: why)',
    useCreateWorker: false,
    options: {
      maxConcurrentWorkflowTaskExecutions: 10,
      maxConcurrentActivityTaskExecutions: 25,
      maxConcurrentLocalActivityExecutions: 20,
      workflowTaskPollerBehavior: { type: 'simple-maximum', maximum: 4 },
      activityTaskPollerBehavior: { type: 'simple-maximum', maximum: 4 },
      maxCachedWorkflows: 500,
    },
  },
  'narrow-slots': {
    name: 'narrow-slots',
    description: 'few slots: 10 workflow / 10 activity slots, 4+4 pollers (default cache)',
    useCreateWorker: false,
    options: {
      maxConcurrentWorkflowTaskExecutions: 10,
      maxConcurrentActivityTaskExecutions: 10,
      maxConcurrentLocalActivityExecutions: 20,
      workflowTaskPollerBehavior: { type: 'simple-maximum', maximum: 4 },
      activityTaskPollerBehavior: { type: 'simple-maximum', maximum: 4 },
    },
  },
  'wf-20': {
    name: 'wf-20',
    description: '20 workflow / 25 activity slots, 5+5 pollers (default cache)',
    useCreateWorker: false,
    options: {
      maxConcurrentWorkflowTaskExecutions: 20,
      maxConcurrentActivityTaskExecutions: 25,
      workflowTaskPollerBehavior: { type: 'simple-maximum', maximum: 5 },
      activityTaskPollerBehavior: { type: 'simple-maximum', maximum: 5 },
    },
  },
  'wide-slots': {
    name: 'wide-slots',
    description: 'many slots and pollers: 200 workflow / 500 activity slots, 20+20 pollers',
    useCreateWorker: false,
    options: {
      maxConcurrentWorkflowTaskExecutions: 200,
      maxConcurrentActivityTaskExecutions: 500,
      maxConcurrentLocalActivityExecutions: 200,
      workflowTaskPollerBehavior: { type: 'simple-maximum', maximum: 20 },
      activityTaskPollerBehavior: { type: 'simple-maximum', maximum: 20 },
    },
  },
  autoscaling: {
    name: 'autoscaling',
    description: 'SDK default slots (40/100) with autoscaling pollers (1..100 both)',
    useCreateWorker: false,
    options: {
      maxConcurrentWorkflowTaskExecutions: 40,
      maxConcurrentActivityTaskExecutions: 100,
      workflowTaskPollerBehavior: { type: 'autoscaling' },
      activityTaskPollerBehavior: { type: 'autoscaling' },
    },
  },
  'auto-10': {
    name: 'auto-10',
    description: 'recommended slots (10/25) with autoscaling pollers (1..10 both)',
    useCreateWorker: false,
    options: {
      maxConcurrentWorkflowTaskExecutions: 10,
      maxConcurrentActivityTaskExecutions: 25,
      maxConcurrentLocalActivityExecutions: 20,
      workflowTaskPollerBehavior: { type: 'autoscaling', minimum: 1, initial: 4, maximum: 10 },
      activityTaskPollerBehavior: { type: 'autoscaling', minimum: 1, initial: 4, maximum: 10 },
      maxCachedWorkflows: 500,
    },
  },
  'threads-2': {
    name: 'threads-2',
    description: 'recommended plus workflowThreadPoolSize 2 (two workflow threads on two cores)',
    useCreateWorker: false,
    options: {
      maxConcurrentWorkflowTaskExecutions: 10,
      maxConcurrentActivityTaskExecutions: 25,
      maxConcurrentLocalActivityExecutions: 20,
      workflowTaskPollerBehavior: { type: 'simple-maximum', maximum: 4 },
      activityTaskPollerBehavior: { type: 'simple-maximum', maximum: 4 },
      maxCachedWorkflows: 500,
      workflowThreadPoolSize: 2,
    },
  },
  'tq-rate-18': {
    name: 'tq-rate-18',
    description: 'recommended plus maxTaskQueueActivitiesPerSecond 18 (server-side, shared by every worker on the queue)',
    useCreateWorker: false,
    options: {
      maxConcurrentWorkflowTaskExecutions: 10,
      maxConcurrentActivityTaskExecutions: 25,
      maxConcurrentLocalActivityExecutions: 20,
      workflowTaskPollerBehavior: { type: 'simple-maximum', maximum: 4 },
      activityTaskPollerBehavior: { type: 'simple-maximum', maximum: 4 },
      maxCachedWorkflows: 500,
      maxTaskQueueActivitiesPerSecond: 18,
    },
  },
  'cache-50': {
    name: 'cache-50',
    description: 'recommended with maxCachedWorkflows 50 (fits 400 MB with the shipped bundle)',
    useCreateWorker: false,
    options: {
      maxConcurrentWorkflowTaskExecutions: 10,
      maxConcurrentActivityTaskExecutions: 25,
      maxConcurrentLocalActivityExecutions: 20,
      workflowTaskPollerBehavior: { type: 'simple-maximum', maximum: 4 },
      activityTaskPollerBehavior: { type: 'simple-maximum', maximum: 4 },
      maxCachedWorkflows: 50,
    },
  },
};

export function preset(name: string): WorkerPreset {
  const p = PRESETS[name];
  if (!p) throw new Error(`Unknown worker preset "${name}"; one of: ${Object.keys(PRESETS).join(', ')}`);
  return p;
}

/** One line naming a preset's options, for tables. */
export function describeOptions(p: WorkerPreset): string {
  if (p.useCreateWorker) return 'createWorker (SDK defaults)';
  const o = p.options;
  const poller = (b: WorkerTuning['workflowTaskPollerBehavior']) =>
    !b ? 'default' : b.type === 'autoscaling' ? `auto ${b.minimum ?? 1}..${b.maximum ?? 100}` : `max ${b.maximum ?? 'default'}`;
  const parts = [
    `wf ${o.maxConcurrentWorkflowTaskExecutions ?? 40}`,
    `act ${o.maxConcurrentActivityTaskExecutions ?? 100}`,
    `wfPoll ${poller(o.workflowTaskPollerBehavior)}`,
    `actPoll ${poller(o.activityTaskPollerBehavior)}`,
    `cache ${o.maxCachedWorkflows ?? 'default'}`,
  ];
  if (o.maxTaskQueueActivitiesPerSecond) parts.push(`tq ${o.maxTaskQueueActivitiesPerSecond}/s`);
  if (o.maxActivitiesPerSecond) parts.push(`worker ${o.maxActivitiesPerSecond}/s`);
  if (o.workflowThreadPoolSize) parts.push(`threads ${o.workflowThreadPoolSize}`);
  if (p.maxOldSpaceMb) parts.push(`heap ${p.maxOldSpaceMb} MiB`);
  return parts.join(', ');
}
