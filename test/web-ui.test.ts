import { ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { getTimeline, sendIncidentEvent } from '../src/temporal/client';
import { startCodecServer } from '../src/apps/codec-server';
import { IncidentEvent, parseIncidentEvent } from '../src/core/incident';
import { incidentWorkflowId, SEARCH_ATTRIBUTES, WORKFLOW_TYPE } from '../workflows/contract';
import { ensureChromium, launchChromium } from './support/browser';
import { eventually, Stack, startStack } from './support/stack';
import { freePort } from '../src/apps/dev-stack/ports';

/**
 * The Temporal Web UI in a real browser (Debian's Chromium through playwright-core), after the
 * README's sample incident ran: what a newcomer sees in step 4 of the walk-through. The test runs
 * its own dev server with the UI (the shared one is headless), pointed at a codec server that holds
 * the stack's payload keys, as ./temporal-dev.sh does with `serve`. Screenshots go to .temporal/screenshots/ (docs/images/ with ZR_UPDATE_SCREENSHOTS=1).
 */

// The README's images are refreshed only on request (ZR_UPDATE_SCREENSHOTS=1): a test run leaves the clone clean.
const IMAGES = process.env.ZR_UPDATE_SCREENSHOTS
  ? join(__dirname, '../docs/images')
  : join(__dirname, '../.temporal/screenshots');
const SAMPLE_EVENT = join(__dirname, '../runbooks/events/INC-4211-created.json');
/** How long the page may take to show something. */
const UI_TIMEOUT = 45_000;

describe('the Temporal Web UI, in Chromium', () => {
  let devServer: DevServerWithUi | undefined;
  let codec: { url: string; close(): Promise<void> } | undefined;
  let stack: Stack | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  let ui: string;
  let codecPort: number;
  /** The README's sample incident (INC-4211, SEV1), as in the walk-through. */
  let event: IncidentEvent;
  /** Another incident, which the filter must leave out. */
  let other: IncidentEvent;
  let runIds: Record<string, string>;

  const incident = () => event.incident.id;
  const title = () => event.incident.title!;
  /** The incident workflow and the runbooks the sample starts: a bridge, and a daily sync for a SEV1. */
  const expectedWorkflows = () => [
    incidentWorkflowId(incident()),
    `${incidentWorkflowId(incident())}/incident-bridge`,
    `${incidentWorkflowId(incident())}/incident-sync`,
  ];
  const workflowUrl = (workflowId: string, tab: string) =>
    `${ui}/namespaces/default/workflows/${encodeURIComponent(workflowId)}/${runIds[workflowId]}/${tab}`;

  beforeAll(async () => {
    // Installs Debian's chromium package when it is missing, which takes a while once.
    await ensureChromium();
  }, 20 * 60_000);

  beforeAll(async () => {
    event = parseIncidentEvent(JSON.parse(readFileSync(SAMPLE_EVENT, 'utf8')), SAMPLE_EVENT);
    other = {
      eventId: 'evt-other',
      type: 'incident.created',
      occurredAt: new Date().toISOString(),
      incident: { id: 'INC-4299', title: 'Search indexing stalled', severity: 'SEV3' },
    };

    codecPort = await freePort();
    devServer = await startDevServerWithUi(`http://127.0.0.1:${codecPort}/codec`);
    ui = devServer.uiUrl;
    stack = await withEnv({ ZR_TEST_TEMPORAL_ADDRESS: devServer.address }, () => startStack());
    // The same keys as the worker and client; the UI calls it from the browser, hence its origin.
    codec = await startCodecServer({ ring: stack.temporal.payloadKeys!, origins: [ui], port: codecPort });

    for (const e of [event, other]) {
      await sendIncidentEvent(stack.client, stack.temporal.taskQueue, e);
      await eventually(
        async () => (await getTimeline(stack!.client, e.incident.id)).find((t) => t.step === 'share'),
        `the bridge link of ${e.incident.id}`,
        60_000,
      );
    }
    // The SEV1 sample also books a daily incident sync.
    await eventually(
      async () =>
        (await getTimeline(stack!.client, incident())).find((t) => t.source === 'incident-sync' && t.step === 'share'),
      'the incident sync',
      60_000,
    );
    runIds = {};
    for (const id of [...expectedWorkflows(), incidentWorkflowId(other.incident.id)])
      runIds[id] = (await stack.client.workflow.getHandle(id).describe()).runId;

    browser = await launchChromium();
    mkdirSync(IMAGES, { recursive: true });
  }, 180_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await stack?.stop();
    await codec?.close();
    await devServer?.stop();
  }, 60_000);

  /**
   * A new page with a fixed size, zone and locale, so that the screenshots look alike run to run.
   * The pages share one context, so the UI's scripts load from its cache after the first.
   */
  async function openPage(height = 900): Promise<Page> {
    context ??= await browser!.newContext({ timezoneId: 'UTC', locale: 'en-US', colorScheme: 'light' });
    const page = await context.newPage();
    await page.setViewportSize({ width: 1440, height });
    page.setDefaultTimeout(UI_TIMEOUT);
    return page;
  }

  it('filters the workflow list by incident id: the incident and its runbooks, nothing else', async () => {
    const page = await openPage(700);
    try {
      await page.goto(`${ui}/namespaces/default/workflows`);
      // Unfiltered, the other incident is listed too.
      await see(workflowLink(page, incidentWorkflowId(other.incident.id)), 'the other incident in the unfiltered list');

      // Typed into the raw query box, as README says; the UI keeps it in the address (?query=).
      const query = `IncidentId="${incident()}"`;
      await page.getByTestId('toggle-manual-query').click();
      await page.getByTestId('workflow-manual-search-input').fill(query);
      await page.getByTestId('workflow-manual-search-input').press('Enter');
      await page.waitForURL((url) => url.searchParams.get('query') === query, { timeout: UI_TIMEOUT });
      await see(page.getByText(`IncidentId = "${incident()}"`), 'the IncidentId filter');
      const rows = page.locator('[data-testid="workflows-summary-configurable-table-row"]');
      const listed = await pollPage(
        page,
        async () => {
          // The first link of a row is its workflow id (then its run id and its type).
          const ids: string[] = [];
          for (const row of await rows.all()) ids.push((await row.getByRole('link').first().innerText()).trim());
          return ids.length === expectedWorkflows().length ? ids.sort() : undefined;
        },
        'the filtered workflow list',
      );
      expect(listed).toEqual([...expectedWorkflows()].sort());
      expect(await rows.count()).toBe(expectedWorkflows().length);
      await see(page.getByText(`${expectedWorkflows().length} Workflows`), 'the workflow count');
      for (const id of expectedWorkflows()) {
        const row = rows.filter({ has: workflowLink(page, id) });
        await see(
          row.getByText(id.includes('/') ? WORKFLOW_TYPE.runbook : WORKFLOW_TYPE.incident, { exact: true }),
          `the type of ${id}`,
        );
        await see(row.getByText('Running', { exact: true }), `${id} running`);
      }
      // The raw query toggle keeps its tooltip open: leave it out of the picture.
      await page.addStyleTag({ content: '[role="tooltip"] { display: none !important; }' });
      await page.screenshot({ path: join(IMAGES, 'web-ui-workflows.png') });
    } finally {
      await page.close();
    }
  }, 120_000);

  it("shows the incident workflow's static summary, rendered from markdown", async () => {
    const page = await openPage();
    try {
      await page.goto(workflowUrl(incidentWorkflowId(incident()), 'user-metadata'));
      const summary = page.frameLocator('#user-metadata-summary');
      await see(summary.getByText(`Incident ${incident()}`), 'the static summary');
      // "Incident **INC-4211**": the id in bold, not with the asterisks.
      await see(summary.locator('strong', { hasText: incident() }), 'the incident id in bold');
      expect(await summary.locator('body').innerText()).not.toContain('**');
    } finally {
      await page.close();
    }
  }, 120_000);

  it('shows the incident timeline: its runbooks by their summaries, and the event decoded by the codec server', async () => {
    const page = await openPage(1150);
    try {
      await page.goto(workflowUrl(incidentWorkflowId(incident()), 'timeline'));
      // The input box of the workflow, decoded (in history it is encrypted).
      await see(codeLine(page, `"incidentId": "${incident()}"`), 'the decoded workflow input');
      // The child workflows are drawn with their static summaries (markdown as written).
      for (const runbook of ['incident-bridge', 'incident-sync']) {
        await see(
          page.getByText(`Runbook **${runbook}** for incident ${incident()}`, { exact: true }),
          `the ${runbook} child on the timeline`,
        );
      }
      await page.getByRole('button', { name: /^Event incidentEvent\b/ }).click();
      await see(page.getByText('Workflow Execution Signaled'), 'the signal details');
      await see(codeLine(page, `"title": "${title()}"`), 'the incident title in the decoded signal');
      await see(codeLine(page, `"eventId": "${event.eventId}"`), 'the event id in the decoded signal');
      await expect(page.getByText('binary/encrypted').count()).resolves.toBe(0);
      await page.screenshot({ path: join(IMAGES, 'web-ui-incident.png') });
    } finally {
      await page.close();
    }
  }, 120_000);

  it("shows the runbook's activity summary, decoded activity input, static summary and current details", async () => {
    const runbook = `${incidentWorkflowId(incident())}/incident-bridge`;
    const topic = `${title()} - Incident Bridge`;
    const page = await openPage(1150);
    try {
      await page.goto(workflowUrl(runbook, 'timeline'));
      await see(
        page.getByText(`createMeeting • Create Zoom meeting: ${topic}`, { exact: true }),
        'the createMeeting activity with its summary on the timeline',
      );
      await page.getByRole('button', { name: /^Event createMeeting\b/ }).click();
      await see(page.getByText('Activity Task Scheduled'), 'the activity details');
      await see(
        page.getByText(`Create Zoom meeting: ${topic}`, { exact: true }),
        'the activity summary in the details',
      );
      await see(codeLine(page, `"topic": "${topic}"`), 'the decoded activity input');
      await see(codeLine(page, `"agenda": "Incident ${incident()}"`), 'the decoded activity input');
      await page.screenshot({ path: join(IMAGES, 'web-ui-runbook.png') });

      await page.goto(workflowUrl(runbook, 'user-metadata'));
      const summary = page.frameLocator('#user-metadata-summary');
      await see(
        summary.getByText(`Runbook incident-bridge for incident ${incident()}`),
        "the runbook's static summary",
      );
      await see(summary.locator('strong', { hasText: 'incident-bridge' }), 'the runbook name in bold');
      // setCurrentDetails: the bridge is open and the runbook waits for the resolution.
      const details = page.frameLocator('#user-metadata-current-details');
      await see(
        details.getByText(`incident-bridge for incident ${incident()}: step resolved (wait.forIncident)`),
        "the runbook's current details",
      );
    } finally {
      await page.close();
    }
  }, 120_000);

  it('shows the same payloads as unreadable ciphertext when the codec server cannot be reached', async () => {
    // A control for the tests above: what they read really comes through the codec server.
    const page = await openPage();
    await page.route(`http://127.0.0.1:${codecPort}/**`, (route) => route.abort());
    try {
      await page.goto(workflowUrl(incidentWorkflowId(incident()), 'timeline'));
      await page.getByRole('button', { name: /^Event incidentEvent\b/ }).click();
      await see(page.getByText('Workflow Execution Signaled'), 'the signal details');
      await see(
        page
          .locator('.cm-line')
          .filter({ hasText: /^"[A-Za-z0-9+/]{40,}={0,2}"$/ })
          .first(),
        'the encrypted signal input, as base64',
      );
      await expect(codeLine(page, title()).count()).resolves.toBe(0);
      await expect(codeLine(page, `"incidentId"`).count()).resolves.toBe(0);
      // Summaries are payloads too: encrypted, the runbooks' are not shown.
      await expect(page.getByText(`Runbook **incident-bridge** for incident ${incident()}`).count()).resolves.toBe(0);
    } finally {
      await page.close();
    }
  }, 120_000);
});

/** A line of a JSON payload as the UI shows it (CodeMirror, one element per line). */
function codeLine(page: Page, text: string): Locator {
  return page.locator('.cm-line', { hasText: text });
}

function workflowLink(page: Page, workflowId: string): Locator {
  return page.getByRole('link', { name: workflowId, exact: true }).first();
}

/** Waits until the locator is visible, failing with what was expected. */
async function see(locator: Locator, what: string): Promise<void> {
  try {
    await locator.first().waitFor({ state: 'visible', timeout: UI_TIMEOUT });
  } catch (err) {
    throw new Error(
      `The Web UI did not show ${what} within ${UI_TIMEOUT / 1000} s: ${(err as Error).message.split('\n')[0]}`,
    );
  }
}

/** Polls the page (reloading it every few seconds) until probe returns a value. */
async function pollPage<T>(page: Page, probe: () => Promise<T | undefined>, what: string): Promise<T> {
  const deadline = Date.now() + UI_TIMEOUT;
  let reloadAt = Date.now() + 5_000;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`The Web UI did not show ${what} within ${UI_TIMEOUT / 1000} s.`);
    if (Date.now() > reloadAt) {
      await page.reload();
      reloadAt = Date.now() + 5_000;
    }
    await page.waitForTimeout(250);
  }
}

async function withEnv<T>(vars: Record<string, string>, run: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return await run();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

interface DevServerWithUi {
  address: string;
  uiUrl: string;
  stop(): Promise<void>;
}

/** `temporal server start-dev` with the Web UI on free ports, the project's search attributes and a codec endpoint. */
async function startDevServerWithUi(codecEndpoint: string): Promise<DevServerWithUi> {
  const cli = process.env.ZR_TEST_TEMPORAL_CLI;
  if (!cli)
    throw new Error(
      'ZR_TEST_TEMPORAL_CLI is not set: run the tests through jest (test/global-setup.ts finds the Temporal CLI).',
    );
  const dir = mkdtempSync(join(tmpdir(), 'zr-web-ui-'));
  const [port, uiPort] = [await freePort(), await freePort()];
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--ui-port', String(uiPort)];
  args.push(
    '--ui-codec-endpoint',
    codecEndpoint,
    '--ui-disable-news-fetch',
    '--log-level',
    'error',
    '--db-filename',
    join(dir, 'temporal.sqlite'),
  );
  for (const key of SEARCH_ATTRIBUTES)
    args.push('--search-attribute', `${key.name}=${key.type === 'KEYWORD_LIST' ? 'KeywordList' : 'Keyword'}`);
  const server: ChildProcess = spawn(cli, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let stderr = '';
  server.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const stop = async () => {
    if (server.exitCode !== null || server.signalCode !== null) return;
    const exited = new Promise((resolve) => server.once('exit', resolve));
    process.kill(-server.pid!, 'SIGTERM');
    const timer = setTimeout(() => process.kill(-server.pid!, 'SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  const address = `127.0.0.1:${port}`;
  const uiUrl = `http://127.0.0.1:${uiPort}`;
  try {
    await eventually(
      async () => {
        if (server.exitCode !== null) throw new Error(`the dev server exited (${server.exitCode}): ${stderr}`);
        const connection = await Connection.connect({ address, connectTimeout: 1000 });
        try {
          await connection.workflowService.getSystemInfo({});
        } finally {
          await connection.close();
        }
        return (await fetch(uiUrl)).ok || undefined;
      },
      `the Temporal dev server and its Web UI (${address}, ${uiUrl})`,
      60_000,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { address, uiUrl, stop };
}
