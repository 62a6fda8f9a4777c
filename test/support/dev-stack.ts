import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/apps/dev-stack/ports';
import { hasExited, readLines, spawnGroup, stopGroup } from '../../src/apps/dev-stack/processes';
import { temporalCliPath } from '../../src/apps/dev-stack/temporal-cli';

/**
 * `./temporal-dev.sh`, as a new user starts it, in a copy of the project: the copy has its own
 * `.temporal/` (dev database, payload key), so the stack never touches the developer's, and runs on
 * free ports, so it never meets a stack they have running.
 */
export interface DevStack {
  /** The project copy: the working directory of the "second terminal". */
  dir: string;
  ports: { temporal: number; ui: number; sandbox: number; serve: number };
  /** The environment of a second terminal: PATH, HOME, and what the banner says to export. */
  terminal: Record<string, string>;
  /** Everything the script printed so far. */
  output(): string;
  /** Ctrl-C, as in the first terminal; then the copy is removed. */
  stop(): Promise<void>;
}

const ROOT = join(__dirname, '..', '..');
/** What the stack needs of a clone (tests, docs and benchmarks stay behind). */
const PROJECT_FILES = [
  'bin',
  'src',
  'workflows',
  'activities',
  'runbooks',
  'package.json',
  'package-lock.json',
  'temporal-dev.sh',
  'tsconfig.json',
];

export async function startDevStack(): Promise<DevStack> {
  const dir = mkdtempSync(join(tmpdir(), 'zr-dev-stack-'));
  for (const name of PROJECT_FILES) cpSync(join(ROOT, name), join(dir, name), { recursive: true });
  // Installed once already: the same packages, and the Temporal CLI where temporal-dev.sh caches one.
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  mkdirSync(join(dir, '.temporal', 'bin'), { recursive: true });
  symlinkSync(temporalCliPath(), join(dir, '.temporal', 'bin', 'temporal'));

  const ports = {
    temporal: await freePort(),
    ui: await freePort(),
    sandbox: await freePort(),
    serve: await freePort(),
  };
  const base = { PATH: process.env.PATH!, HOME: process.env.HOME ?? dir };
  const env = {
    ...base,
    TEMPORAL_PORT: String(ports.temporal),
    TEMPORAL_UI_PORT: String(ports.ui),
    ZOOM_SANDBOX_PORT: String(ports.sandbox),
    ZR_SERVE_PORT: String(ports.serve),
    // The workflows the test run bundled once, instead of 10-30 s of bundling in the worker.
    ZR_WORKFLOW_BUNDLE: requiredEnv('ZR_TEST_WORKFLOW_BUNDLE'),
  };
  // Its own process group, as in a terminal of its own: Ctrl-C goes to the script and its pipes.
  const script = spawnGroup('./temporal-dev.sh', [], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  readLines(script, (line) => (output += `${line}\n`));

  const stop = async () => {
    await stopGroup(script, 'SIGINT', 90_000);
    rmSync(dir, { recursive: true, force: true });
  };

  // Up once the banner is printed (after the worker polls), or failed when the script exits first.
  const deadline = Date.now() + 240_000;
  while (!output.includes('zoom-runbooks is running.')) {
    if (hasExited(script) || Date.now() > deadline) {
      await stop();
      throw new Error(`./temporal-dev.sh did not come up (exit ${script.exitCode}):\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  // The banner says what a second terminal needs on ports other than the default ones.
  const exported = /^\s*export (TEMPORAL_ADDRESS)=(\S+)$/m.exec(output);
  const terminal = { ...base, ...(exported ? { [exported[1]]: exported[2] } : {}) };
  return { dir, ports, terminal, output: () => output, stop };
}

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests through jest (test/global-setup.ts).`);
  return value;
}
