import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.temporal/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: no Node built-ins, no I/O libraries.
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            ...nodeBuiltins,
            'axios',
            'handlebars',
            '@temporalio/activity',
            '@temporalio/client',
            '@temporalio/worker',
          ],
          // Types from the rest of the project are fine; runtime code is not, but for the pure
          // domain code written for both sides (no imports, no clock, no I/O). Paths are relative,
          // from workflows/ and from its folders (contract/, runbook-run/).
          patterns: [
            {
              group: [
                ...['../', '../../'].flatMap((up) => [
                  `${up}src/*`,
                  `!${up}src/core`,
                  `${up}src/core/*`,
                  `!${up}src/core/conditions`,
                  `!${up}src/core/phone`,
                  `!${up}src/core/meeting-events`,
                  `!${up}src/core/host-pool`,
                  `${up}activities`,
                  `${up}activities/*`,
                ]),
              ],
              allowTypeImports: true,
            },
          ],
        },
      ],
      'no-restricted-globals': ['error', 'setTimeout', 'setInterval', 'process', 'fetch'],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'Read time through workflows/clock.ts.' },
      ],
    },
  },
  { files: ['workflows/clock.ts'], rules: { 'no-restricted-properties': 'off' } },
  { files: ['**/*.js', '**/*.mjs'], ...tseslint.configs.disableTypeChecked },
  {
    files: ['**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly' } },
  },
);
