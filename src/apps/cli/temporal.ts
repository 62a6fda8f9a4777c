import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants } from 'node:os';
import { join } from 'node:path';
import { startCodecServer } from '../codec-server';
import { TemporalConfig, temporalConfig } from '../../platform/config';
import { CliError, ExitStatus } from './shared';

/*
 * `zoom-runbooks temporal …`: the `temporal` CLI, connected as this project's other commands are.
 * Operators copy `temporal workflow query|signal|update …` lines from the README; run bare, they
 * read ciphertext (payloads are encrypted, in development too) and an update that ran is reported
 * as failed, so an operator retries it. This passes every argument through unchanged and adds,
 * through the CLI's own environment variables, what the other commands read from ours: the address,
 * namespace, TLS or API key, and a codec for our payload keys.
 */

/** Our TLS variables (see config.ts) under the names the temporal CLI reads. */
const TLS_VARIABLES: Record<string, string> = {
  TEMPORAL_TLS_CERT: 'TEMPORAL_TLS_CLIENT_CERT_PATH',
  TEMPORAL_TLS_KEY: 'TEMPORAL_TLS_CLIENT_KEY_PATH',
  TEMPORAL_TLS_CA: 'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
};

/** Runs `temporal <args>` and ends with its exit code. */
export async function runTemporal(args: string[]): Promise<void> {
  const temporal = temporalConfig();
  const env = temporalEnv(process.env, temporal);
  // The codec runs in this process for as long as the command does, on loopback, behind a bearer
  // token made for this one run. It needs no `serve`, and the keys never leave this process.
  // The token goes to the CLI in its environment, never in its arguments (which `ps` shows).
  const ownCodec =
    temporal.payloadKeys && !process.env.TEMPORAL_CODEC_ENDPOINT && !args.some((a) => /^--codec-endpoint(=|$)/.test(a));
  let codec: Awaited<ReturnType<typeof startCodecServer>> | undefined;
  if (ownCodec) {
    const token = randomBytes(32).toString('base64url');
    codec = await startCodecServer({ ring: temporal.payloadKeys!, token, host: '127.0.0.1', port: 0 });
    Object.assign(env, { TEMPORAL_CODEC_ENDPOINT: codec.url, TEMPORAL_CODEC_AUTH: `Bearer ${token}` });
  }
  try {
    const code = await run(await temporalCliPath(), args, env);
    if (code !== 0) throw new ExitStatus(code);
  } finally {
    await codec?.close();
  }
}

/**
 * The environment of the `temporal` process: ours, with the connection under the CLI's names, and
 * without the secrets it has no use for (Zoom credentials, payload and secrets keys, tokens).
 */
export function temporalEnv(env: NodeJS.ProcessEnv, temporal: TemporalConfig): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(env).filter(([name]) => !/^(ZR|ZOOM)_/.test(name)));
  out.TEMPORAL_ADDRESS = temporal.address;
  out.TEMPORAL_NAMESPACE = temporal.namespace;
  for (const [ours, theirs] of Object.entries(TLS_VARIABLES)) if (env[ours] && !env[theirs]) out[theirs] = env[ours];
  // The caller's own codec variables are kept with their endpoint (a shared codec server, say).
  if (!env.TEMPORAL_CODEC_ENDPOINT) delete out.TEMPORAL_CODEC_AUTH;
  return out;
}

/** The CLI temporal-dev.sh uses (PATH, $TEMPORAL_CLI, .temporal/): the script is the one place that finds, or installs, it. */
function temporalCliPath(): Promise<string> {
  const script = join(__dirname, '..', '..', '..', 'temporal-dev.sh');
  return new Promise((resolve, reject) => {
    // stderr passes through: a first use may say it is installing the CLI.
    const child = execFile('bash', [script, 'cli'], { encoding: 'utf8' }, (err, stdout) => {
      if (err) reject(new CliError(`No Temporal CLI: "${script} cli" failed (${err.message.split('\n')[0]}).`));
      else resolve(stdout.trim());
    });
    child.stderr?.pipe(process.stderr);
  });
}

/** Runs the CLI in this terminal; resolves with its exit code (128 + n when signal n stopped it). */
function run(bin: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { env, stdio: 'inherit' });
    // Ctrl-C reaches the CLI itself (one process group): stay alive to serve its codec until it
    // exits. A SIGTERM sent to this process alone is passed on.
    const ignore = () => {};
    const forward = () => child.kill('SIGTERM');
    process.on('SIGINT', ignore).on('SIGTERM', forward);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      process.off('SIGINT', ignore).off('SIGTERM', forward);
      resolve(code ?? 128 + (signal ? constants.signals[signal] : 1));
    });
  });
}
