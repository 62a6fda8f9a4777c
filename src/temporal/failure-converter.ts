import { DefaultFailureConverter } from '@temporalio/common';

/**
 * Failure messages and stack traces go into an encoded payload, so the codec encrypts them too.
 * The data converter's `failureConverterPath`: it is bundled into the workflow code, and each
 * workflow evaluates it, so it imports nothing else (src/temporal/codec.ts would bring 4.5 MB of protobuf
 * definitions into every workflow: several MB of memory and tens of ms of CPU each).
 */
export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
