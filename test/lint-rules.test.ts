import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..');

/** Probe files and the rule each must trip (null: must lint clean). */
const probes: [file: string, code: string, rule: string | null][] = [
  [
    'workflows/__lint_probe_fs.ts',
    "import { readFileSync } from 'fs';\nexport const x = readFileSync;\n",
    '@typescript-eslint/no-restricted-imports',
  ],
  [
    'workflows/__lint_probe_crypto.ts',
    "import { createHash } from 'node:crypto';\nexport const x = createHash;\n",
    '@typescript-eslint/no-restricted-imports',
  ],
  [
    'workflows/__lint_probe_axios.ts',
    "import axios from 'axios';\nexport const x = axios;\n",
    '@typescript-eslint/no-restricted-imports',
  ],
  [
    'workflows/__lint_probe_src.ts',
    "import { renderString } from '../src/core/templates';\nexport const x = renderString;\n",
    '@typescript-eslint/no-restricted-imports',
  ],
  [
    'workflows/contract/__lint_probe_src.ts',
    "import { renderString } from '../../src/core/templates';\nexport const x = renderString;\n",
    '@typescript-eslint/no-restricted-imports',
  ],
  [
    'workflows/contract/__lint_probe_type.ts',
    "import type { Incident } from '../../src/core/incident';\nexport type X = Incident;\n",
    null,
  ],
  ['workflows/__lint_probe_now.ts', 'export const t = Date.now();\n', 'no-restricted-properties'],
  ['workflows/__lint_probe_timer.ts', 'export const t = setTimeout;\n', 'no-restricted-globals'],
  [
    'workflows/__lint_probe_type.ts',
    "import type { Incident } from '../src/core/incident';\nexport type X = Incident;\n",
    null,
  ],
  ['src/__lint_probe_node.ts', "import { readFileSync } from 'fs';\nexport const x = readFileSync;\n", null],
];

/** The lint rules that keep workflow code deterministic fire (one eslint run, as `npm run lint` does). */
describe('workflow lint rules', () => {
  let found: Map<string, string[]>;

  beforeAll(() => {
    for (const [file, code] of probes) writeFileSync(join(root, file), code);
    let out: string;
    try {
      out = execFileSync(join(root, 'node_modules/.bin/eslint'), ['--format', 'json', ...probes.map(([f]) => f)], {
        cwd: root,
        encoding: 'utf8',
      });
    } catch (err) {
      out = (err as { stdout: string }).stdout; // exit code 1: problems found
    } finally {
      for (const [file] of probes) rmSync(join(root, file), { force: true });
    }
    const results = JSON.parse(out) as { filePath: string; messages: { ruleId: string }[] }[];
    found = new Map(results.map((r) => [r.filePath.slice(root.length + 1), r.messages.map((m) => m.ruleId)]));
  }, 120_000);

  it.each(probes)('%s', (file, _code, rule) => {
    expect(found.get(file)).toEqual(rule ? [rule] : []);
  });
});
