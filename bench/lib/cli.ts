import { parseArgs } from 'node:util';

/** --name value options of a benchmark, with defaults; `--help` prints them. */
export function options<T extends Record<string, string>>(usage: string, defaults: T, argv = process.argv.slice(2)): T {
  const { values } = parseArgs({
    args: argv,
    options: {
      help: { type: 'boolean' },
      ...Object.fromEntries(Object.keys(defaults).map((k) => [k, { type: 'string' as const }])),
    },
    allowPositionals: false,
  });
  if (values.help) {
    console.log(
      `${usage}\n\nOptions (default):\n${Object.entries(defaults)
        .map(([k, v]) => `  --${k} ${v}`)
        .join('\n')}`,
    );
    process.exit(0);
  }
  return { ...defaults, ...(values as Partial<T>) };
}

export function int(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a whole number, got "${value}"`);
  return n;
}

export function intList(value: string, name: string): number[] {
  return value.split(',').map((v) => int(v.trim(), name));
}

/** Runs `main` when the file is executed directly; exits non-zero on failure. */
export function runMain(module: NodeModule, main: () => Promise<unknown>): void {
  if (require.main !== module) return;
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err instanceof Error ? (err.stack ?? err.message) : err);
      process.exit(1);
    },
  );
}
