import { zoomConnectorConfig } from '../../platform/config';
import { WorkflowTokenOwner } from '../../temporal/connectors';
import { loadRunbooks } from '../../core/runbook-loader';
import { SecretBox } from '../../platform/secrets';
import { zoomConnector } from '../worker';
import { ACTION_OPERATIONS, scopeReport } from '../../zoom/scope-report';
import { connect } from './runtime';
import { CliError, formatTable, progress, runbooksDir } from './shared';

export async function testConnector(name: string): Promise<void> {
  const cfg = zoomConnectorConfig();
  // The environment configures one connector; naming another is a mistake worth saying so.
  if (name !== cfg.name)
    throw new CliError(`No Zoom connector "${name}": the environment (ZOOM_*) configures only "${cfg.name}".`);
  const runbooks = loadRunbooks(runbooksDir())
    .map((r) => r.runbook)
    .filter((r) => (r.connector ?? 'default') === name);
  const actions = [...new Set(runbooks.flatMap((r) => r.steps.map((s) => s.action)))]
    .filter((a) => a in ACTION_OPERATIONS)
    .sort();

  let close = async () => {};
  let owner: WorkflowTokenOwner | undefined;
  if (cfg.auth === 'user') {
    // A user-OAuth connector's tokens live in its connector workflow: ask it, as the worker does.
    const secrets = SecretBox.fromEnv();
    const { client } = await connect();
    close = () => client.connection.close();
    owner = new WorkflowTokenOwner(client, name, secrets);
    progress(`asking workflow zoom-connector-${name} for an access token…`);
  } else {
    progress(`asking Zoom for a token at ${cfg.tokenUrl} (account ${cfg.accountId})…`);
  }
  try {
    const report = await scopeReport(zoomConnector(cfg, owner), actions);
    console.log(`Connector ${name} (${cfg.auth ?? 'account'} OAuth, ${cfg.apiUrl})`);
    console.log(
      'error' in report.host
        ? `Host user: ${cfg.hostUser} cannot be read: ${report.host.error}`
        : `Host user: ${report.host.email} (${report.host.id})`,
    );
    if (actions.length === 0) return void console.log('No loaded runbook uses a Zoom action.');
    const rows = report.actions.map((a) => [
      a.action,
      a.allowed ? 'yes' : 'NO',
      a.missing.map((m) => `${m.operation}: ${m.anyOf.join(' | ')}`).join('; '),
    ]);
    console.log(formatTable([['ACTION', 'ALLOWED', 'MISSING SCOPES (ANY OF)'], ...rows]));
    const refused = report.actions.filter((a) => !a.allowed);
    if (refused.length)
      throw new CliError(
        `${refused.length} of ${actions.length} actions are not allowed: add one scope of each list above to the Zoom app.`,
      );
  } finally {
    await close();
  }
}
