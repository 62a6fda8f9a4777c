import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { TemporalConfig } from './config';

/** Connection options shared by the client and the worker: address, TLS and API key. */
function connectionOptions(cfg: TemporalConfig) {
  return { address: cfg.address, tls: cfg.tls, apiKey: cfg.apiKey };
}

function unreachable(cfg: TemporalConfig) {
  return (err: Error): never => {
    throw new Error(`Cannot reach Temporal at ${cfg.address}: ${err.message}. Is the server running (./temporal-dev.sh) and TEMPORAL_ADDRESS right?`);
  };
}

export async function connectClient(cfg: TemporalConfig): Promise<Client> {
  const connection = await Connection.connect({ ...connectionOptions(cfg), connectTimeout: '5s' }).catch(unreachable(cfg));
  return new Client({ connection, namespace: cfg.namespace });
}

export function connectWorker(cfg: TemporalConfig): Promise<NativeConnection> {
  return NativeConnection.connect(connectionOptions(cfg)).catch(unreachable(cfg));
}
