import type { ZoomConnectorConfig } from '../../src/platform/config';
import { ServerToServerTokenProvider } from '../../src/zoom/auth';
import { ZoomClient } from '../../src/zoom/client';
import { AccountRateLimiter } from '../../src/zoom/rate-limiter';

/**
 * A Zoom create-meeting call with nothing around it (no Temporal, no runbook): the bare cost of
 * the one Zoom call a bridge needs. Its own token provider and pacer, as a second process would have.
 */
export function bareZoomClient(connector: ZoomConnectorConfig): ZoomClient {
  const tokens = new ServerToServerTokenProvider({
    accountId: connector.accountId ?? '',
    clientId: connector.clientId,
    clientSecret: connector.clientSecret,
    tokenUrl: connector.tokenUrl,
  });
  return new ZoomClient({
    apiUrl: connector.apiUrl,
    tokens,
    pacer: new AccountRateLimiter({ plan: connector.plan ?? 'pro' }),
  });
}

/**
 * Creates a meeting shaped as the bench runbook's bridge (`POST /users/{host}/meetings`), with
 * `label` opening the agenda (how the benches find it in the sandbox's request log); resolves with
 * the join URL.
 */
export async function createBareMeeting(zoom: ZoomClient, host: string, label: string): Promise<string> {
  const meeting = await zoom.createMeeting(host, {
    topic: `${label} - Incident Bridge`,
    type: 2,
    start_time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    duration: 60,
    agenda: `${label}\n\n[zoom-runbooks:${label.replace(/\s+/g, '-')}]`,
    settings: { join_before_host: true, waiting_room: false, auto_recording: 'none' },
  });
  return meeting.join_url;
}
