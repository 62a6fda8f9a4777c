import { TokenProvider } from './auth';
import { ZoomClient } from './client';
import { ZoomError } from './errors';
import { OPERATIONS, ZoomOperation } from './operations';

/** The Zoom operations each runbook action performs. */
export const ACTION_OPERATIONS: Record<string, ZoomOperation[]> = {
  'zoom.createMeeting': ['createMeeting', 'listMeetings', 'getMeeting'],
  'zoom.scheduleMeeting': ['createMeeting', 'listMeetings', 'getMeeting', 'updateMeeting', 'deleteMeeting'],
  'zoom.recurringMeeting': ['createMeeting', 'listMeetings', 'getMeeting', 'deleteMeeting'],
  'zoom.updateMeeting': ['updateMeeting', 'getMeeting'],
  'zoom.manageParticipants': ['updateMeeting', 'getMeeting', 'addRegistrant'],
  'zoom.endMeeting': ['endMeeting'],
  'zoom.deleteMeeting': ['deleteMeeting'],
  'zoom.collectRecordings': ['getRecordings'],
  'zoom.collectSummary': ['getPastMeeting', 'getMeetingSummary'],
  'zoom.collectTranscript': ['getMeetingTranscript', 'getRecordings'],
  'zoom.recordingSettings': ['updateRecordingSettings'],
  'zoom.recordingControl': ['inMeetingControl'],
  'zoom.callOut': ['inMeetingControl'],
  'zoom.collectAttendance': ['listPastParticipants'],
};

export interface ActionScopeCheck {
  action: string;
  allowed: boolean;
  /** For each operation the action cannot perform: the scopes of which any one would allow it. */
  missing: { operation: ZoomOperation; anyOf: readonly string[] }[];
}

export interface ScopeReport {
  grantedScopes: string[];
  /** The host user the connector acts as, or why it could not be read. */
  host: { id: string; email: string } | { error: string };
  actions: ActionScopeCheck[];
}

/**
 * Checks a connector: its credentials yield a token, its host user is readable, and which runbook
 * actions the granted scopes allow. Classic and granular scope names both count.
 */
export async function scopeReport(
  connector: { client: ZoomClient; tokens: TokenProvider; hosts: { hosts: string[] } },
  actions = Object.keys(ACTION_OPERATIONS),
): Promise<ScopeReport> {
  const grantedScopes = await connector.tokens.grantedScopes();
  let host: ScopeReport['host'];
  try {
    const user = await connector.client.getUser(connector.hosts.hosts[0]);
    host = { id: user.id, email: user.email };
  } catch (err) {
    if (!(err instanceof ZoomError)) throw err;
    host = { error: err.message };
  }
  return {
    grantedScopes,
    host,
    actions: actions.map((action) => {
      const operations = ACTION_OPERATIONS[action];
      if (!operations)
        throw new Error(`Unknown runbook action "${action}"; known: ${Object.keys(ACTION_OPERATIONS).join(', ')}.`);
      const missing = operations
        .filter((op) => !OPERATIONS[op].scopes.some((s) => grantedScopes.includes(s)))
        .map((operation) => ({ operation, anyOf: OPERATIONS[operation].scopes }));
      return { action, allowed: missing.length === 0, missing };
    }),
  };
}
