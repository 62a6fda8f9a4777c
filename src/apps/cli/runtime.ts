import { Client } from '@temporalio/client';
import { ConfigError, TemporalConfig, temporalConfig } from '../../platform/config';
import { IncidentNotFoundError } from '../../temporal/handles';
import { PayloadKeyError } from '../../temporal/codec';
import { InvalidIncidentEventError } from '../../core/incident';
import { RunbookError } from '../../core/runbook-loader';
import { connectClient } from '../../temporal/connection';
import { ZoomError } from '../../zoom/errors';
import { CliError, progress } from './shared';

/** Errors whose message says everything: printed without a stack trace. */
export function isKnownError(err: Error): boolean {
  const known = [
    ConfigError,
    RunbookError,
    InvalidIncidentEventError,
    IncidentNotFoundError,
    PayloadKeyError,
    ZoomError,
    CliError,
  ];
  return known.some((k) => err instanceof k) || err.message.startsWith('Cannot reach Temporal');
}

export async function connect(): Promise<{ client: Client; temporal: TemporalConfig }> {
  const temporal = temporalConfig();
  progress(`connecting to Temporal at ${temporal.address} (namespace ${temporal.namespace})…`);
  return { client: await connectClient(temporal), temporal };
}
