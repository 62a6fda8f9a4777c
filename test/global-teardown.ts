import type { ChildProcess } from 'node:child_process';

export default async function globalTeardown(): Promise<void> {
  const server = (globalThis as Record<string, unknown>).__TEMPORAL_SERVER__ as ChildProcess | undefined;
  if (!server || server.exitCode !== null) return;
  const exited = new Promise((resolve) => server.once('exit', resolve));
  process.kill(-server.pid!, 'SIGTERM');
  const timer = setTimeout(() => process.kill(-server.pid!, 'SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
