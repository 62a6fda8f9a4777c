import { writeFileSync } from 'node:fs';
import { bundleWorkflowCode } from '@temporalio/worker';
import { failureConverterPath } from '../temporal/codec';

const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error };

/** Diagnostic variants of the bundle (benchmarks): the worker always runs the default one. */
export interface BundleOptions {
  /** Modules evaluated once per V8 context instead of once per workflow (e.g. '@temporalio/proto'). */
  preloadModules?: string[];
  /** false: without the failure converter, for a worker whose payloads are plain JSON. */
  encryptFailures?: boolean;
}

/**
 * The workflow code as the worker runs it, with the failure converter that encrypts failure
 * messages. Built ahead (`npm run bundle`, then ZR_WORKFLOW_BUNDLE) a worker starts polling in a
 * second instead of bundling for 10-30 s: that is how long a crashed worker's incidents wait.
 * Rebuild it with every deploy: a bundle older than the code replays old workflow logic.
 */
export async function buildWorkflowBundle(options: BundleOptions = {}): Promise<string> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../../workflows'),
    failureConverterPath: options.encryptFailures === false ? undefined : failureConverterPath(),
    preloadModules: options.preloadModules,
    logger: quiet,
  });
  return code;
}

/** Builds the bundle into `file` (the worker's ZR_WORKFLOW_BUNDLE); resolves with its size in bytes. */
export async function writeWorkflowBundle(file: string, options?: BundleOptions): Promise<number> {
  const code = await buildWorkflowBundle(options);
  writeFileSync(file, code);
  return code.length;
}

if (require.main === module) {
  const out = process.argv[2] ?? 'dist/workflow-bundle.js';
  writeWorkflowBundle(out).then(
    (size) =>
      console.log(
        `Workflow bundle written to ${out} (${(size / 2 ** 20).toFixed(1)} MiB); start the worker with ZR_WORKFLOW_BUNDLE=${out}`,
      ),
    (err: Error) => {
      console.error(`Could not bundle the workflows: ${err.message}`);
      process.exit(1);
    },
  );
}
