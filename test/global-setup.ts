import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { devServerArgs } from '../src/temporal/connection';
import { temporalCliPath } from './support/temporal-cli';
import { buildWorkflowBundle } from '../src/apps/workflow-bundle';
import { freePort } from './support/ports';

/**
 * Starts one real Temporal dev server for the whole test run and bundles the workflows once.
 * Tests find both through environment variables (see support/stack.ts).
 */
export default async function globalSetup(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'zr-test-'));
  const port = await freePort();
  const args = devServerArgs(port, join(dir, 'temporal.sqlite'));
  const server = spawn(temporalCliPath(), args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let stderr = '';
  server.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  (globalThis as Record<string, unknown>).__TEMPORAL_SERVER__ = server;

  const address = `127.0.0.1:${port}`;
  await waitForServer(address, () =>
    server.exitCode !== null ? `the dev server exited (${server.exitCode}): ${stderr}` : undefined,
  );
  process.env.ZR_TEST_TEMPORAL_ADDRESS = address;
  process.env.ZR_TEST_TEMPORAL_CLI = temporalCliPath();
  // Tests choose their own payload keys: never the dev stack's key file (.temporal/payload-keys).
  process.env.ZR_PAYLOAD_KEYS_FILE = '';

  const bundlePath = join(dir, 'workflow-bundle.js');
  writeFileSync(bundlePath, await buildWorkflowBundle());
  process.env.ZR_TEST_WORKFLOW_BUNDLE = bundlePath;
}

async function waitForServer(address: string, failed: () => string | undefined): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const why = failed();
    if (why) throw new Error(why);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      await connection.workflowService.getSystemInfo({});
      await connection.close();
      return;
    } catch (err) {
      if (Date.now() > deadline)
        throw new Error(`Temporal dev server at ${address} did not start within 60 s: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
