/**
 * A second process that uses a user-OAuth connector, as another worker would: it waits until
 * START_AT (epoch ms), makes CALLS concurrent Zoom calls, and prints how they went as JSON.
 */
import { Client, Connection } from '@temporalio/client';
import { WorkflowTokenOwner } from '../../src/temporal/connectors';
import { SecretBox } from '../../src/platform/secrets';
import { ZoomClient } from '../../src/zoom/client';
import { UserOAuthTokenProvider } from '../../src/zoom/user-oauth';

async function main(): Promise<void> {
  const env = process.env;
  const client = new Client({ connection: await Connection.connect({ address: env.TEMPORAL_ADDRESS! }) });
  const owner = new WorkflowTokenOwner(client, env.CONNECTOR!, SecretBox.fromKey(env.ZR_SECRETS_KEY!));
  const zoom = new ZoomClient({ apiUrl: env.ZOOM_API_URL!, tokens: new UserOAuthTokenProvider(owner) });
  await new Promise((r) => setTimeout(r, Math.max(0, Number(env.START_AT) - Date.now())));
  const results = await Promise.allSettled(Array.from({ length: Number(env.CALLS) }, () => zoom.getUser('me')));
  const failures = results.flatMap((r) => (r.status === 'rejected' ? [String((r.reason as Error).message)] : []));
  console.log(JSON.stringify({ ok: results.length - failures.length, failures }));
  await client.connection.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
