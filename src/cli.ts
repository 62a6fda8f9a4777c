import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs, ParseArgsConfig } from 'node:util';
import { ConfigError, temporalConfig, zoomConnectorConfig } from './config';
import { getTimeline, IncidentNotFoundError, sendIncidentEvent } from './client';
import { IncidentEvent, IncidentEventType, InvalidIncidentEventError, parseIncidentEvent } from './incident';
import { loadRunbooks, RunbookError } from './runbook-loader';
import { ZoomSandbox } from './sandbox/server';
import { SecretBox } from './secrets';
import { connectClient, connectWorker } from './temporal';
import { createWorker } from './worker';
import type { TimelineEntry } from '../workflows/definitions';

const USAGE = `zoom-runbooks: incident runbooks as durable Temporal workflows that drive Zoom

Usage:
  zoom-runbooks worker                          run a worker (Temporal and Zoom settings from the environment)
  zoom-runbooks sandbox [--port 9100]           run the local Zoom sandbox
  zoom-runbooks incident send <event.json>      send an incident event from a JSON file ("-" reads stdin)
  zoom-runbooks incident <open|update|resolve|reopen|close> --id <id> [--title T] [--severity S]
                [--summary S] [--status S] [--owner-email E] [--event-id E]
                                                send an incident event built from flags
  zoom-runbooks timeline <incident-id> [--json]  print an incident's timeline
  zoom-runbooks runbooks validate [dir]          check runbook files (default: $ZR_RUNBOOKS_DIR or ./runbooks)
  zoom-runbooks runbooks list [dir]              list runbooks with their triggers and steps

Environment: TEMPORAL_ADDRESS (localhost:7233), TEMPORAL_NAMESPACE (default), ZR_TASK_QUEUE (zoom-runbooks),
TEMPORAL_API_KEY, TEMPORAL_TLS_CERT/KEY/CA; ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID, ZOOM_CLIENT_SECRET, ZOOM_HOST_USER,
ZOOM_API_URL, ZOOM_TOKEN_URL, ZOOM_AUTH, ZOOM_PLAN, ZR_SECRETS_KEY, ZR_RUNBOOKS_DIR. See README.md.`;

/** A mistake in how the command was called: exit code 2. */
class UsageError extends Error {}

const FLAG_EVENT_TYPES: Record<string, IncidentEventType> = {
  open: 'incident.created',
  update: 'incident.updated',
  resolve: 'incident.resolved',
  reopen: 'incident.reopened',
  close: 'incident.closed',
};

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'worker':
      return runWorker();
    case 'sandbox':
      return runSandbox(rest);
    case 'incident':
      return incidentCommand(rest);
    case 'timeline':
      return timelineCommand(rest);
    case 'runbooks':
      return runbooksCommand(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(`Unknown command "${command}".`);
  }
}

function runbooksDir(arg?: string): string {
  return arg ?? process.env.ZR_RUNBOOKS_DIR ?? join(__dirname, '..', 'runbooks');
}

async function runbooksCommand(args: string[]): Promise<number> {
  const [verb, ...rest] = args;
  const { positionals } = parse(rest, { options: {}, allowPositionals: true });
  if ((verb !== 'validate' && verb !== 'list') || positionals.length > 1) throw new UsageError('runbooks takes: validate [dir] | list [dir].');
  const loaded = loadRunbooks(runbooksDir(positionals[0]));
  for (const { file, runbook } of loaded) {
    if (verb === 'validate') {
      console.log(`ok  ${file}: ${runbook.name} (${runbook.steps.length} steps)`);
      continue;
    }
    const when = runbook.trigger.when ? ` when ${JSON.stringify(runbook.trigger.when)}` : '';
    console.log(`${runbook.name}  on ${runbook.trigger.on.join(', ')}${when}\n  ${runbook.steps.map((st) => `${st.id} (${st.action})`).join(' -> ')}`);
  }
  return 0;
}

async function runWorker(): Promise<number> {
  const temporal = temporalConfig();
  const zoom = zoomConnectorConfig();
  const runbooks = loadRunbooks(runbooksDir()).map((r) => r.runbook);
  // User-OAuth connectors get their tokens from the connector workflow, through a client.
  const secrets = zoom.auth === 'user' ? SecretBox.fromEnv() : undefined;
  const client = secrets ? await connectClient(temporal) : undefined;
  const connection = await connectWorker(temporal);
  try {
    const worker = await createWorker({ connection, temporal, connectors: [zoom], client, secrets, runbooks });
    console.log(`Worker polling task queue "${temporal.taskQueue}" on ${temporal.address} (namespace ${temporal.namespace}); Zoom API ${zoom.apiUrl}; runbooks: ${runbooks.map((r) => r.name).join(', ')}`);
    await worker.run();
  } finally {
    await connection.close();
  }
  return 0;
}

async function runSandbox(args: string[]): Promise<number> {
  const { values } = parse(args, { options: { port: { type: 'string', default: '9100' }, host: { type: 'string', default: '127.0.0.1' } } });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be a port number, got "${values.port}".`);
  const sandbox = new ZoomSandbox({ port, host: values.host as string });
  const url = await sandbox.start();
  const c = sandbox.state.credentials;
  console.log(`Zoom sandbox on ${url}
  ZOOM_API_URL=${url}/v2 ZOOM_TOKEN_URL=${url}/oauth/token
  ZOOM_ACCOUNT_ID=${c.accountId} ZOOM_CLIENT_ID=${c.clientId} ZOOM_CLIENT_SECRET=<the sandbox's> ZOOM_HOST_USER=${sandbox.state.users[0].email}
  Inspect: ${url}/_sandbox/meetings  ${url}/_sandbox/requests`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await sandbox.stop();
  return 0;
}

async function incidentCommand(args: string[]): Promise<number> {
  const [verb, ...rest] = args;
  let event: IncidentEvent;
  if (verb === 'send') {
    const { positionals } = parse(rest, { options: {}, allowPositionals: true });
    if (positionals.length !== 1) throw new UsageError('incident send takes one argument: the event JSON file ("-" for stdin).');
    event = readEventFile(positionals[0]);
  } else if (verb && FLAG_EVENT_TYPES[verb]) {
    event = eventFromFlags(FLAG_EVENT_TYPES[verb], rest);
  } else {
    throw new UsageError(`incident needs one of: send, ${Object.keys(FLAG_EVENT_TYPES).join(', ')}.`);
  }
  const temporal = temporalConfig();
  const client = await connectClient(temporal);
  const { workflowId } = await sendIncidentEvent(client, temporal.taskQueue, event);
  console.log(`Event ${event.eventId} (${event.type}) recorded for incident ${event.incident.id} in workflow ${workflowId}.`);
  console.log(`Timeline: zoom-runbooks timeline ${event.incident.id}`);
  return 0;
}

function readEventFile(path: string): IncidentEvent {
  let text: string;
  try {
    text = readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (err) {
    throw new UsageError(`Cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new InvalidIncidentEventError([`not valid JSON: ${(err as Error).message}`], path);
  }
  return parseIncidentEvent(json, path);
}

function eventFromFlags(type: IncidentEventType, args: string[]): IncidentEvent {
  const { values } = parse(args, {
    options: {
      id: { type: 'string' },
      title: { type: 'string' },
      severity: { type: 'string' },
      summary: { type: 'string' },
      status: { type: 'string' },
      'owner-email': { type: 'string' },
      'event-id': { type: 'string' },
    },
  });
  const v = values as Record<string, string | undefined>;
  if (!v.id) throw new UsageError('--id <incident id> is required.');
  return parseIncidentEvent(
    {
      eventId: v['event-id'] ?? `cli-${randomUUID()}`,
      type,
      occurredAt: new Date().toISOString(),
      incident: {
        id: v.id,
        title: v.title,
        severity: v.severity,
        summary: v.summary,
        status: v.status ?? (type === 'incident.resolved' ? 'resolved' : type === 'incident.closed' ? 'closed' : undefined),
        owner: v['owner-email'] ? { email: v['owner-email'] } : undefined,
      },
    },
    'command-line flags',
  );
}

async function timelineCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { options: { json: { type: 'boolean', default: false } }, allowPositionals: true });
  if (positionals.length !== 1) throw new UsageError('timeline takes one argument: the incident id.');
  const client = await connectClient(temporalConfig());
  const timeline = await getTimeline(client, positionals[0]);
  console.log(values.json ? JSON.stringify(timeline, null, 2) : formatTimeline(timeline));
  return 0;
}

export function formatTimeline(entries: TimelineEntry[]): string {
  if (entries.length === 0) return '(no entries yet)';
  return entries
    .map((e) => {
      const where = e.step ? `${e.source}/${e.step}` : e.source;
      const links = (e.links ?? []).map((l) => `\n${' '.repeat(27)}${l.label}: ${l.url}`).join('');
      return `${e.at.slice(0, 19).replace('T', ' ')}  ${e.status.padEnd(6)} [${where}] ${e.summary}${links}`;
    })
    .join('\n');
}

function parse<T extends Omit<ParseArgsConfig, 'args' | 'strict'>>(args: string[], config: T) {
  try {
    return parseArgs<T & { args: string[]; strict: true }>({ ...config, args, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: Error) => {
      if (err instanceof UsageError) {
        console.error(`${err.message}\n\nRun "zoom-runbooks --help" for usage.`);
        process.exit(2);
      }
      const known = err instanceof ConfigError || err instanceof RunbookError || err instanceof InvalidIncidentEventError || err instanceof IncidentNotFoundError || err.message.startsWith('Cannot reach Temporal');
      console.error(known ? err.message : (err.stack ?? err.message));
      process.exit(1);
    },
  );
}
