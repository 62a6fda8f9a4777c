import { join } from 'node:path';
import { DevServer } from '../src/apps/dev-stack/dev-server';
import { temporalCliPath } from '../src/apps/dev-stack/temporal-cli';
import { writeWorkflowBundle } from '../src/apps/workflow-bundle';

declare global {
  /** The run's dev server, from global setup to global teardown (jest runs both in its main process). */
  var zrTestDevServer: DevServer | undefined;
}

/**
 * Starts one real Temporal dev server for the whole test run and bundles the workflows once.
 * Tests find both through environment variables (see support/stack.ts).
 */
export default async function globalSetup(): Promise<void> {
  const server = await DevServer.start();
  globalThis.zrTestDevServer = server;
  process.env.ZR_TEST_TEMPORAL_ADDRESS = server.address;
  process.env.ZR_TEST_TEMPORAL_CLI = temporalCliPath();
  // Tests choose their own payload keys: never the dev stack's key file (.temporal/payload-keys).
  process.env.ZR_PAYLOAD_KEYS_FILE = '';

  // Beside the server's database: removed with it at teardown.
  const bundlePath = join(server.dbFile, '..', 'workflow-bundle.js');
  await writeWorkflowBundle(bundlePath);
  process.env.ZR_TEST_WORKFLOW_BUNDLE = bundlePath;
}

/** Global teardown (global-teardown.ts). */
export async function stopTestDevServer(): Promise<void> {
  await globalThis.zrTestDevServer?.close();
}
