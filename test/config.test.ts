import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, WORKER_TUNING_DEFAULTS, workerTuning, zoomConnectorConfig } from '../src/platform/config';

describe('workerTuning', () => {
  it('sets slots, pollers and cache explicitly, from the shipped defaults', () => {
    const d = WORKER_TUNING_DEFAULTS;
    expect(workerTuning({})).toEqual({
      maxConcurrentWorkflowTaskExecutions: d.workflowSlots,
      maxConcurrentActivityTaskExecutions: d.activitySlots,
      maxConcurrentLocalActivityExecutions: 20,
      workflowTaskPollerBehavior: { type: 'simple-maximum', maximum: d.pollers },
      activityTaskPollerBehavior: { type: 'simple-maximum', maximum: d.pollers },
      maxCachedWorkflows: d.cachedWorkflows,
      maxTaskQueueActivitiesPerSecond: 18, // Pro's Medium limit (20) less 10%
    });
  });

  it("caps the Zoom queue below the plan's Medium limit unless told otherwise", () => {
    expect(workerTuning({ ZOOM_PLAN: 'business' }).maxTaskQueueActivitiesPerSecond).toBe(54);
    expect(workerTuning({ ZOOM_PLAN: 'free' }).maxTaskQueueActivitiesPerSecond).toBe(1);
    expect(workerTuning({ ZR_ACTIVITIES_PER_SECOND: 'off' })).not.toHaveProperty('maxTaskQueueActivitiesPerSecond');
  });

  it('takes each from the environment', () => {
    const t = workerTuning({
      ZR_WORKFLOW_SLOTS: '20',
      ZR_ACTIVITY_SLOTS: '50',
      ZR_POLLERS: '6',
      ZR_CACHED_WORKFLOWS: '0',
      ZR_ACTIVITIES_PER_SECOND: '18.5',
    });
    expect(t).toMatchObject({
      maxConcurrentWorkflowTaskExecutions: 20,
      maxConcurrentActivityTaskExecutions: 50,
      workflowTaskPollerBehavior: { maximum: 6 },
      activityTaskPollerBehavior: { maximum: 6 },
      maxCachedWorkflows: 0,
      maxTaskQueueActivitiesPerSecond: 18.5,
    });
  });

  it.each([
    [{ ZR_WORKFLOW_SLOTS: '1' }, 'ZR_WORKFLOW_SLOTS must be a whole number of at least 2; got "1".'],
    [{ ZR_ACTIVITY_SLOTS: 'many' }, 'ZR_ACTIVITY_SLOTS must be a whole number of at least 1; got "many".'],
    [{ ZR_POLLERS: '2.5' }, 'ZR_POLLERS must be a whole number of at least 2; got "2.5".'],
    [{ ZR_CACHED_WORKFLOWS: '-1' }, 'ZR_CACHED_WORKFLOWS must be a whole number of at least 0; got "-1".'],
    [{ ZR_ACTIVITIES_PER_SECOND: '0' }, 'ZR_ACTIVITIES_PER_SECOND must be a positive number or "off"; got "0".'],
  ])('refuses %j, naming the variable', (env, message) => {
    expect(() => workerTuning(env)).toThrow(new ConfigError(message));
  });
});

describe('zoomConnectorConfig', () => {
  it('names every missing variable, and the README section it cites exists', () => {
    let message = '';
    try {
      zoomConnectorConfig({ ZOOM_ACCOUNT_ID: 'acct' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain(
      'Zoom credentials are missing: set ZOOM_CLIENT_ID, ZOOM_CLIENT_SECRET (or ZOOM_CLIENT_SECRET_FILE), ZOOM_HOST_USER.',
    );
    const cited = /see README, "([^"]+)"/.exec(message)?.[1];
    expect(cited).toBeDefined();
    const headings = readFileSync(join(__dirname, '../README.md'), 'utf8')
      .split('\n')
      .filter((l) => /^#+ /.test(l))
      .map((l) => l.replace(/^#+ /, ''));
    expect(headings.filter((h) => h.startsWith(cited!))).toHaveLength(1);
  });

  it("takes a host's live-meeting limit, and names a wrong one", () => {
    const base = { ZOOM_ACCOUNT_ID: 'a', ZOOM_CLIENT_ID: 'c', ZOOM_CLIENT_SECRET: 's', ZOOM_HOST_USER: 'h1,h2' };
    expect(zoomConnectorConfig(base).hostConcurrency).toBeUndefined();
    expect(zoomConnectorConfig({ ...base, ZOOM_HOST_CONCURRENCY: '2' }).hostConcurrency).toBe(2);
    expect(() => zoomConnectorConfig({ ...base, ZOOM_HOST_CONCURRENCY: 'two' })).toThrow(
      'ZOOM_HOST_CONCURRENCY is how many live meetings one host may hold (Zoom: 1 on Basic and Pro, 2 on Business and above); got "two".',
    );
  });
});
