import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import type { MetricMeter } from '@temporalio/common';
import { DefaultLogger, LogEntry, LogLevel, LogMetadata, makeTelemetryFilterString, Runtime } from '@temporalio/worker';

/**
 * One place for what operators watch: the Temporal runtime (its metrics exporter and the logger
 * every part of a worker process logs through: our code, activities, workflows via the
 * replay-aware logger, and the Rust core) and our own metrics on the runtime's meter.
 */

export type LogFormat = 'json' | 'text';

export interface ObservabilityOptions {
  /** Prometheus `/metrics` on this address (host:port); none when unset. */
  metricsAddress?: string;
  logFormat?: LogFormat;
  logLevel?: LogLevel;
}

/** From ZR_METRICS_ADDRESS, ZR_LOG_FORMAT (json | text, default json) and ZR_LOG_LEVEL (default INFO). */
export function observabilityFromEnv(env: Record<string, string | undefined> = process.env): ObservabilityOptions {
  const format = env.ZR_LOG_FORMAT || 'json';
  if (format !== 'json' && format !== 'text')
    throw new Error(`ZR_LOG_FORMAT must be "json" or "text"; got "${format}".`);
  const level = (env.ZR_LOG_LEVEL || 'INFO').toUpperCase();
  if (!['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'].includes(level))
    throw new Error(`ZR_LOG_LEVEL must be TRACE, DEBUG, INFO, WARN or ERROR; got "${env.ZR_LOG_LEVEL}".`);
  return { metricsAddress: env.ZR_METRICS_ADDRESS || undefined, logFormat: format, logLevel: level as LogLevel };
}

/** A JSON line per entry: time, level, message, then the metadata (workflow id, activity, incident…). */
export function jsonLogLine(entry: LogEntry): string {
  const { sdkComponent, ...meta } = entry.meta ?? {};
  return JSON.stringify({
    time: new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString(),
    level: entry.level,
    msg: entry.message,
    component: sdkComponent,
    ...meta,
  });
}

/** The Zoom task queue's worker has no workflows by design: the SDK's warning about that is not news. */
const BY_DESIGN = 'No workflows registered, not polling for workflow tasks';

class RuntimeLogger extends DefaultLogger {
  override log(level: LogLevel, message: string, meta?: LogMetadata): void {
    super.log(message === BY_DESIGN ? 'DEBUG' : level, message, meta);
  }
}

/** Installs the process's Temporal runtime once; later calls return the installed one. */
export function installRuntime(options: ObservabilityOptions = {}): Runtime {
  const level = options.logLevel ?? 'INFO';
  const logger =
    options.logFormat === 'text'
      ? new RuntimeLogger(level)
      : new RuntimeLogger(level, (entry) => {
          process.stdout.write(`${jsonLogLine(entry)}\n`);
        });
  try {
    return Runtime.install({
      logger,
      telemetryOptions: {
        logging: {
          forward: {},
          filter: makeTelemetryFilterString({ core: level === 'TRACE' || level === 'DEBUG' ? level : 'WARN' }),
        },
        ...(options.metricsAddress
          ? {
              metrics: {
                prometheus: {
                  bindAddress: options.metricsAddress,
                  countersTotalSuffix: true,
                  useSecondsForDurations: true,
                },
              },
            }
          : {}),
      },
    });
  } catch (err) {
    // Already installed (tests install one per process): use it.
    if (/already been instantiated|already installed/i.test((err as Error).message)) return Runtime.instance();
    throw err;
  }
}

export type ZoomCallOutcome = 'ok' | 'client_error' | 'rate_limited' | 'server_error' | 'network_error';

/** What the Zoom client reports about each HTTP call and each token request. */
export interface ZoomCallObserver {
  call(operation: string, outcome: ZoomCallOutcome, seconds: number): void;
  tokenRequest(kind: 'client_credentials' | 'refresh'): void;
}

/** Zoom calls by operation and outcome, their latency, 429s and token requests, on the runtime's meter. */
export function zoomMetrics(meter: MetricMeter): ZoomCallObserver {
  const calls = meter.createCounter('zoom_runbooks_zoom_calls', 'calls', 'Zoom REST calls by operation and outcome');
  const latency = meter.createHistogram('zoom_runbooks_zoom_call_latency', 'float', 's', 'Zoom REST call latency');
  const limited = meter.createCounter(
    'zoom_runbooks_zoom_rate_limited',
    'calls',
    'Zoom answers 429 (per-second or daily limits)',
  );
  const tokens = meter.createCounter(
    'zoom_runbooks_zoom_token_requests',
    'requests',
    'OAuth token requests (new tokens and refreshes)',
  );
  return {
    call(operation, outcome, seconds) {
      calls.add(1, { operation, outcome });
      latency.record(seconds, { operation });
      if (outcome === 'rate_limited') limited.add(1, { operation });
    },
    tokenRequest(kind) {
      tokens.add(1, { kind });
    },
  };
}

export interface HealthServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/**
 * Liveness (`/healthz`: the process answers) and readiness (`/readyz`: `ready()` says the process
 * does its job, e.g. a worker's pollers are running) on a small HTTP server of their own.
 */
export async function startHealthServer(options: {
  port: number;
  host?: string;
  ready: () => boolean | Promise<boolean>;
}): Promise<HealthServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    const answer = (status: number, body: object) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (path === '/healthz') return answer(200, { ok: true });
    if (path === '/readyz') {
      return void Promise.resolve(options.ready())
        .catch(() => false)
        .then((ready) => answer(ready ? 200 : 503, { ready }));
    }
    answer(404, { error: 'not found' });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    server,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
