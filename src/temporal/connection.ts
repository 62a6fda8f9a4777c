import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { DataConverter } from '@temporalio/common';
import { createDataConverter } from './codec';
import { TemporalConfig } from '../platform/config';
import { SEARCH_ATTRIBUTES } from '../../workflows/contract/shared';

/** Connection options shared by the client and the worker: address, TLS and API key. */
function connectionOptions(cfg: TemporalConfig) {
  return { address: cfg.address, tls: cfg.tls, apiKey: cfg.apiKey };
}

function unreachable(cfg: TemporalConfig) {
  return (err: Error): never => {
    throw new Error(
      `Cannot reach Temporal at ${cfg.address}: ${err.message}. Is the server running (./temporal-dev.sh) and TEMPORAL_ADDRESS right?`,
    );
  };
}

export async function connectClient(cfg: TemporalConfig): Promise<Client> {
  const connection = await Connection.connect({ ...connectionOptions(cfg), connectTimeout: '5s' }).catch(
    unreachable(cfg),
  );
  return new Client({ connection, namespace: cfg.namespace, dataConverter: dataConverter(cfg) });
}

/** Encrypting payloads when keys are configured: the client, the worker and the CLI agree on it. */
export function dataConverter(cfg: TemporalConfig): DataConverter | undefined {
  return cfg.payloadKeys && createDataConverter(cfg.payloadKeys);
}

export function connectWorker(cfg: TemporalConfig): Promise<NativeConnection> {
  return NativeConnection.connect(connectionOptions(cfg)).catch(unreachable(cfg));
}

/**
 * A long-running process started before Temporal (or while it restarts) waits for it rather than
 * exiting: it tries again every two seconds for up to `waitMs`, then fails with the last reason.
 */
export async function untilReachable<T>(
  connect: () => Promise<T>,
  waitMs: number,
  onRetry: (reason: string) => void,
): Promise<T> {
  const giveUpAt = Date.now() + waitMs;
  for (;;) {
    try {
      return await connect();
    } catch (err) {
      if (Date.now() >= giveUpAt) throw err;
      onRetry((err as Error).message);
      await new Promise((resolve) => setTimeout(resolve, 2_000));
    }
  }
}

/**
 * Our search attributes as the dev server's `--search-attribute name=Type` flags: the one list
 * the dev script (`print-search-attribute-flags`), tests, bench and chaos start servers with.
 */
export function searchAttributeFlags(): string[] {
  return SEARCH_ATTRIBUTES.flatMap((key) => [
    '--search-attribute',
    `${key.name}=${key.type === 'KEYWORD_LIST' ? 'KeywordList' : 'Keyword'}`,
  ]);
}

/**
 * `temporal server start-dev` arguments for a headless server on loopback with our search
 * attributes: the one way tests, bench and chaos start a dev server (temporal-dev.sh adds the UI).
 */
export function devServerArgs(port: number, dbFile: string): string[] {
  const where = ['--ip', '127.0.0.1', '--port', String(port), '--db-filename', dbFile];
  return ['server', 'start-dev', ...where, '--headless', '--log-level', 'error', ...searchAttributeFlags()];
}

/** Registers our search attributes on a server started without the flags (the time-skipping test server). */
export async function registerSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  const { KEYWORD, KEYWORD_LIST } = { KEYWORD: 2, KEYWORD_LIST: 7 } as const; // temporal.api.enums.v1.IndexedValueType
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(
      SEARCH_ATTRIBUTES.map((key) => [key.name, key.type === 'KEYWORD_LIST' ? KEYWORD_LIST : KEYWORD]),
    ),
  });
}

// `tsx src/temporal/connection.ts print-search-attribute-flags`: for temporal-dev.sh, one flag per line.
if (require.main === module && process.argv[2] === 'print-search-attribute-flags')
  console.log(searchAttributeFlags().join('\n'));
