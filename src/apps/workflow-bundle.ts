import { writeFileSync } from 'node:fs';
import { bundleWorkflowCode } from '@temporalio/worker';
import { failureConverterPath } from '../temporal/codec';

const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error };

/**
 * The workflow code as the worker runs it, with the failure converter that encrypts failure
 * messages. Built ahead (`npm run bundle`, then ZR_WORKFLOW_BUNDLE) a worker starts polling in a
 * second instead of bundling for 10-30 s: that is how long a crashed worker's incidents wait.
 * Rebuild it with every deploy: a bundle older than the code replays old workflow logic.
 */
export async function buildWorkflowBundle(): Promise<string> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../../workflows'),
    failureConverterPath: failureConverterPath(),
    logger: quiet,
  });
  return code;
}

if (require.main === module) {
  const out = process.argv[2] ?? 'dist/workflow-bundle.js';
  buildWorkflowBundle().then(
    (code) => {
      writeFileSync(out, code);
      console.log(
        `Workflow bundle written to ${out} (${(code.length / 2 ** 20).toFixed(1)} MiB); start the worker with ZR_WORKFLOW_BUNDLE=${out}`,
      );
    },
    (err: Error) => {
      console.error(`Could not bundle the workflows: ${err.message}`);
      process.exit(1);
    },
  );
}
