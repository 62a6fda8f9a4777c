import { DefaultFailureConverter } from '@temporalio/common';

/**
 * DIAGNOSTIC bundle variant "split" (bench/README.md): the same failure converter as
 * src/codec.ts exports (`encodeCommonAttributes: true`), in a module that imports nothing else.
 * src/codec.ts also imports @temporalio/proto (about 4.5 MB of generated code), and being the
 * failureConverterPath, drags it into the workflow bundle, where every workflow evaluates it again
 * (reuseV8Context keeps a module cache per workflow). This file shows what moving the converter
 * into a module of its own would save.
 */
export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
