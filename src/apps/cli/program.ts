import { Command, CommanderError, Option } from 'commander';
import { version } from '../../../package.json';
import type { IncidentEventType } from '../../core/incident';
import { ExitStatus, parseDuration, parsePort, UsageError } from './shared';

/*
 * Every command and option of the CLI. Actions load their modules on first use, so `--help` and
 * usage errors answer without loading the Temporal client, the worker or the Zoom client.
 */

const ENVIRONMENT = `
Environment: TEMPORAL_ADDRESS (localhost:7233), TEMPORAL_NAMESPACE (default), ZR_TASK_QUEUE (zoom-runbooks),
TEMPORAL_API_KEY, TEMPORAL_TLS_CERT/KEY/CA, ZR_PAYLOAD_KEYS; ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID, ZOOM_CLIENT_SECRET,
ZOOM_HOST_USER, ZOOM_API_URL, ZOOM_TOKEN_URL, ZOOM_AUTH, ZOOM_PLAN, ZR_SECRETS_KEY, ZR_RUNBOOKS_DIR;
serve: ZR_SERVE_PORT, ZR_SERVE_HOST, ZR_INTAKE_SECRET/TOKEN, ZOOM_WEBHOOK_SECRET_TOKEN, ZR_CODEC_TOKEN, ZR_CODEC_ORIGINS.
Exit codes: 0 success, 1 failure, 2 usage error (temporal: the temporal CLI's own). See README.md.`;

const FLAG_EVENT_TYPES: Record<string, IncidentEventType> = {
  open: 'incident.created',
  update: 'incident.updated',
  resolve: 'incident.resolved',
  reopen: 'incident.reopened',
  close: 'incident.closed',
};

const RUNBOOKS_DIR_HELP = 'folder (default: $ZR_RUNBOOKS_DIR or ./runbooks)';

export function buildProgram(): Command {
  const program = new Command('zoom-runbooks')
    .description('Incident runbooks as durable Temporal workflows that drive Zoom.')
    .version(version)
    // Throw instead of exiting, so every usage error maps to exit code 2 (subcommands inherit this).
    .exitOverride()
    // Options after a command are the command's: `temporal … --help` is temporal's help.
    .enablePositionalOptions()
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', ENVIRONMENT);

  program
    .command('worker')
    .description('run a worker (Temporal and Zoom settings from the environment)')
    .action(async () => (await import('./servers')).runWorker());
  program
    .command('sandbox')
    .description('run the local Zoom sandbox')
    .option('--port <port>', 'port', parsePort, 9100)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .action(async (opts: { port: number; host: string }) => (await import('./servers')).runSandbox(opts));
  program
    .command('serve')
    .description(
      'serve the HTTP surfaces: incident intake, Zoom webhooks (ZOOM_WEBHOOK_SECRET_TOKEN), codec (ZR_PAYLOAD_KEYS)',
    )
    .option('--port <port>', 'port (default: $ZR_SERVE_PORT or 9180; 0 picks a free one)', parsePort)
    .option('--host <host>', 'address to listen on (default: $ZR_SERVE_HOST or 127.0.0.1)')
    .action(async (opts: { port?: number; host?: string }) => (await import('./servers')).runServe(opts));

  const incident = program
    .command('incident')
    .description('send incident events: send <file>, or open, update, resolve, reopen, close with flags');
  incident
    .command('send')
    .description('send an incident event from a JSON file')
    .argument('<event.json>', 'the event file ("-" reads stdin)')
    .action(async (file: string) => (await import('./incident')).sendFile(file));
  for (const [verb, type] of Object.entries(FLAG_EVENT_TYPES)) {
    const status = type === 'incident.resolved' ? 'resolved' : type === 'incident.closed' ? 'closed' : 'unchanged';
    incident
      .command(verb)
      .description(`send an ${type} event built from flags (or --file)`)
      .option('--id <incident id>', 'the incident id (required unless --file)')
      .option('--title <title>', 'title (required to open)')
      .option('--severity <severity>', 'e.g. SEV1')
      .option('--summary <text>')
      .option('--status <status>', `default: ${status}`)
      .option('--owner-email <email>')
      .option('--event-id <id>', 'deduplication id (default: a random one)')
      .option('--file <event.json>', `send this ${type} event file instead of building one from flags`)
      .action(async (flags: Record<string, string | undefined>) =>
        (await import('./incident')).sendFromFlags(type, flags),
      );
  }

  program
    .command('timeline')
    .description("print an incident's timeline")
    .argument('<incident-id>')
    .option('--json', 'JSON (with --follow: one entry per line)')
    .option('--follow', 'keep printing new entries (every second) until Ctrl-C')
    .option('--wide', 'every line whole, however wide (the default when the output is not a terminal)')
    // For tests and scripts: stop following after a while.
    .addOption(new Option('--for <duration>', 'stop following after this long').argParser(parseDuration).hideHelp())
    .action(async (id: string, opts: { json?: boolean; follow?: boolean; wide?: boolean; for?: number }) =>
      (await import('./incident')).timeline(id, opts),
    );

  const runbook = program
    .command('runbook')
    .description("run <name> or cancel <name> --incident <id>: one incident's runbook");
  runbook
    .command('run')
    .description('run a runbook now against an incident, whatever its trigger says (update runRunbook)')
    .argument('<name>', 'runbook name, e.g. postmortem')
    .requiredOption('--incident <id>', 'the incident id (required)')
    .option(
      '--request-id <id>',
      'makes the request idempotent: a retry with the same id starts nothing new (default: a new id, printed)',
    )
    .action(async (name: string, opts: { incident: string; requestId?: string }) =>
      (await import('./runbook')).runRunbook(name, opts),
    );
  runbook
    .command('cancel')
    .description('stop a running runbook; by default it ends the bridge it opened first (signal cancelRunbook)')
    .argument('<name>', 'runbook name (on-demand runs: <name>/on-demand-<n>)')
    .requiredOption('--incident <id>', 'the incident id (required)')
    .option('--keep-meetings', 'leave the meetings it opened as they are')
    .option('--reason <text>', 'why, for the timeline')
    .option('--no-wait', 'return once the signal is recorded, without waiting for the runbook to stop')
    .action(async (name: string, opts: { incident: string; keepMeetings?: boolean; reason?: string; wait: boolean }) =>
      (await import('./runbook')).cancelRunbook(name, opts),
    );

  const runbooks = program
    .command('runbooks')
    .description('validate [dir] or list [dir]: check and show runbook files');
  runbooks
    .command('validate')
    .description('check runbook files, as the worker does when it starts')
    .argument('[dir]', RUNBOOKS_DIR_HELP)
    .action(async (dir?: string) => (await import('./runbook')).validateRunbooks(dir));
  runbooks
    .command('list')
    .description('list runbooks with their triggers and steps')
    .argument('[dir]', RUNBOOKS_DIR_HELP)
    .action(async (dir?: string) => (await import('./runbook')).listRunbooks(dir));

  const meeting = program.command('meeting').description("end <incident-id>: end a runbook's Zoom bridge now");
  meeting
    .command('end')
    .description('end the bridge a runbook opened, now, for everyone; the runbook goes on (signal endBridge)')
    .argument('<incident-id>')
    .option('--runbook <name>', 'the runbook that opened it', 'incident-bridge')
    .option('--no-wait', 'return once the signal is recorded, without waiting for Zoom')
    .action(async (id: string, opts: { runbook: string; wait: boolean }) =>
      (await import('./runbook')).endMeeting(id, opts),
    );

  program
    .command('temporal')
    .description(
      "the temporal CLI with this project's connection and payload codec: temporal workflow query|signal|update … (see README)",
    )
    .argument('[args...]', 'what to pass to temporal (its own --help included)')
    // Every argument belongs to temporal, --help and unknown options too.
    .helpOption(false)
    .allowUnknownOption()
    .passThroughOptions()
    .action(async (args: string[]) => (await import('./temporal')).runTemporal(args));

  const connector = program
    .command('connector')
    .description("test [name]: check a Zoom connector's token, host user and scopes");
  connector
    .command('test')
    .description(
      "get a token with the connector's credentials (ZOOM_* variables), read its host user, and check the scopes the runbooks' actions need",
    )
    .argument('[name]', 'connector name', 'default')
    .action(async (name: string) => (await import('./connector')).testConnector(name));

  return program;
}

/** Runs the CLI and returns its exit code: 0 success, 1 failure, 2 usage error. */
export async function runCli(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    // Commander has already printed its message (or the help); --help and --version exit 0.
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (err instanceof ExitStatus) return err.code;
    if (err instanceof UsageError) {
      console.error(`${err.message}\n(add --help for usage)`);
      return 2;
    }
    const { isKnownError } = await import('./runtime');
    console.error(isKnownError(err) ? err.message : (err.stack ?? err.message));
    return 1;
  }
}
