import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { promisify } from 'node:util';
import { Browser, chromium } from 'playwright-core';

/**
 * The browser for the Web UI test: Debian's Chromium (package `chromium`), installed from Debian's
 * packages when it is missing. playwright-core never downloads a browser of its own here: it is
 * always given this executable. ZR_TEST_CHROMIUM names another Chromium (e.g. on macOS).
 */
export const DEBIAN_CHROMIUM = '/usr/bin/chromium';

const run = promisify(execFile);

/** The path of a runnable Chromium, installing Debian's package first if there is none. */
export async function ensureChromium(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const override = env.ZR_TEST_CHROMIUM;
  if (override) {
    if (!isExecutable(override)) throw new Error(`ZR_TEST_CHROMIUM=${override} is not an executable file.`);
    return override;
  }
  if (isExecutable(DEBIAN_CHROMIUM)) return DEBIAN_CHROMIUM;

  const steps = [
    ['apt-get', 'update'],
    // Waits for another apt run rather than failing on its lock.
    ['apt-get', '-o', 'DPkg::Lock::Timeout=300', 'install', '-y', 'chromium'],
  ];
  const asRoot = process.getuid?.() === 0;
  if (!asRoot && !(await canSudo())) {
    throw new Error(
      `${DEBIAN_CHROMIUM} is missing and this user cannot install it (not root, no password-less sudo). ` +
        'Install it with: sudo apt-get install chromium (Debian/Ubuntu), or set ZR_TEST_CHROMIUM to a Chromium executable.',
    );
  }
  const hasApt = await run('sh', ['-c', 'command -v apt-get']).then(
    () => true,
    () => false,
  );
  if (!hasApt)
    throw new Error(
      `${DEBIAN_CHROMIUM} is missing and there is no apt-get to install it: set ZR_TEST_CHROMIUM to a Chromium executable.`,
    );
  for (const [cmd, ...args] of steps) {
    const [file, argv] = asRoot ? [cmd, args] : ['sudo', ['-n', cmd, ...args]];
    try {
      await run(file, argv, {
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
        maxBuffer: 64 * 1024 * 1024,
        timeout: 15 * 60_000,
      });
    } catch (err) {
      const e = err as Error & { stderr?: string };
      throw new Error(
        `Installing Chromium from Debian's packages failed at \`${[cmd, ...args].join(' ')}\`: ${(e.stderr || e.message).trim().split('\n').slice(-5).join('\n')}`,
      );
    }
  }
  if (!isExecutable(DEBIAN_CHROMIUM))
    throw new Error(`apt-get installed the chromium package, but ${DEBIAN_CHROMIUM} is still missing.`);
  return DEBIAN_CHROMIUM;
}

/** Headless Chromium through playwright-core, with the executable from ensureChromium. */
export async function launchChromium(): Promise<Browser> {
  const executablePath = await ensureChromium();
  return chromium.launch({
    executablePath,
    headless: true,
    // Root (as in CI containers) cannot use Chromium's sandbox.
    args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
  });
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function canSudo(): Promise<boolean> {
  try {
    await run('sudo', ['-n', 'true']);
    return true;
  } catch {
    return false;
  }
}
