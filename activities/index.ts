import { createHash } from 'node:crypto';
import { activityInfo, ApplicationFailure, log } from '@temporalio/activity';
import type { Incident, IncidentEventType, MeetingSummary, RunbookDefinition, SealedTokenSet } from '../workflows/definitions';
import { sealTokens } from '../src/connectors';
import { SecretBox } from '../src/secrets';
import { refreshTokens } from '../src/zoom/user-oauth';
import { renderValue, TemplateContext, TemplateError } from '../src/templates';
import { OAuthClientCredentials, TokenProvider } from '../src/zoom/auth';
import { ZoomClient } from '../src/zoom/client';
import { isPermanent, ZoomConfigError, ZoomError } from '../src/zoom/errors';
import { Meeting, MeetingSettings } from '../src/zoom/types';
import { resolveInvitees, runbookMatches } from '../src/runbook';
import { computeStart, ScheduleError, StartSpec } from '../src/schedule';

export interface ZoomConnector {
  name: string;
  client: ZoomClient;
  tokens: TokenProvider;
  /** Zoom user (id or email) who hosts new meetings. */
  hostUser: string;
}

export interface ActivityDeps {
  connectors: Map<string, ZoomConnector>;
  runbooks: RunbookDefinition[];
  /** User-OAuth apps by connector name, for the connector workflow's refreshes. */
  oauthApps?: Map<string, OAuthClientCredentials>;
  secrets?: SecretBox;
}

export interface CreateMeetingInput {
  connector?: string;
  /** Stable per runbook step: the same key never yields a second meeting. */
  idempotencyKey: string;
  topic: string;
  agenda?: string;
  /** Minutes. */
  duration?: number;
  /** ISO time; absent means "now". */
  startTime?: string;
  timezone?: string;
  passcode?: string;
  settings?: {
    joinBeforeHost?: boolean;
    waitingRoom?: boolean;
    autoRecording?: 'local' | 'cloud' | 'none';
    muteUponEntry?: boolean;
  };
  invitees?: string[];
  alternativeHosts?: string[];
}

/**
 * Activities, built once per worker around shared Zoom clients, so every activity in the
 * process shares one token cache per connector.
 */
export function createActivities(deps: ActivityDeps) {
  function connector(name = 'default'): ZoomConnector {
    const c = deps.connectors.get(name);
    if (!c) throw ApplicationFailure.nonRetryable(`Zoom connector "${name}" is not configured on this worker.`, ZoomConfigError.name);
    return c;
  }

  return {
    /**
     * Spends the connector's refresh token for a new token pair (Zoom voids the old refresh token).
     * Only the connector workflow calls this, one at a time; tokens come and go sealed.
     */
    async refreshUserToken(input: { connector: string; sealedRefreshToken: string }): Promise<SealedTokenSet> {
      const app = deps.oauthApps?.get(input.connector);
      if (!app || !deps.secrets) throw ApplicationFailure.nonRetryable(`Zoom connector "${input.connector}" is not a user-OAuth connector on this worker.`, ZoomConfigError.name);
      const box = deps.secrets;
      return callZoom(async () => sealTokens(box, await refreshTokens(app, box.open(input.sealedRefreshToken))));
    },

    /** Which runbooks an incident event triggers: a snapshot, so editing runbooks never changes a run. */
    async matchRunbooks(input: { eventType: IncidentEventType; incident: Incident }): Promise<RunbookDefinition[]> {
      return deps.runbooks.filter((rb) => runbookMatches(rb, input.eventType, input.incident));
    },

    /**
     * Renders a step's inputs (strict Handlebars; a missing variable fails the step for good) and
     * turns invitee roles (owner, responders) into the incident's addresses.
     */
    async renderStepInputs(input: { stepId: string; inputs: Record<string, unknown>; context: TemplateContext & { Activity: Incident } }): Promise<Record<string, unknown>> {
      try {
        const rendered = renderValue(input.inputs, input.context, `step "${input.stepId}"`);
        const incident = input.context.Activity;
        if (rendered.invitees !== undefined) rendered.invitees = resolveInvitees(rendered.invitees as Parameters<typeof resolveInvitees>[0], incident);
        // A scheduled meeting's start, from the incident's times: computed here so history records it.
        if (rendered.start !== undefined) {
          const start = rendered.start as StartSpec;
          rendered.startTime = computeStart(start, { now: new Date(), createdAt: incident.createdAt, resolvedAt: incident.resolvedAt }).toISOString();
          rendered.timezone ??= start.timezone;
          delete rendered.start;
        }
        return rendered;
      } catch (err) {
        if (err instanceof TemplateError) throw ApplicationFailure.nonRetryable(err.message, TemplateError.name);
        if (err instanceof ScheduleError) throw ApplicationFailure.nonRetryable(`step "${input.stepId}": ${err.message}`, ScheduleError.name);
        throw err;
      }
    },

    /**
     * Creates a Zoom meeting exactly once per idempotency key. Zoom has no idempotency keys, so
     * the agenda carries a marker; a retry first looks for a meeting with that marker, which
     * covers a worker killed mid-call and a response lost after Zoom created the meeting.
     */
    async createMeeting(input: CreateMeetingInput): Promise<MeetingSummary> {
      const zoom = connector(input.connector);
      const marker = idempotencyMarker(input.idempotencyKey);
      return callZoom(async () => {
        if (activityInfo().attempt > 1) {
          const existing = await findByMarker(zoom, marker);
          if (existing) {
            log.info('Found the meeting an earlier attempt created', { meetingId: existing.id });
            return summarise(existing, false);
          }
        }
        const meeting = await zoom.client.createMeeting(zoom.hostUser, {
          topic: input.topic,
          // Scheduled (type 2) rather than instant, because Zoom's list API only returns scheduled
          // meetings and the marker lookup needs to find it; joining before the host keeps it a bridge.
          type: 2,
          start_time: (input.startTime ? new Date(input.startTime) : new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
          duration: input.duration ?? 60,
          timezone: input.timezone,
          agenda: [input.agenda, marker].filter(Boolean).join('\n\n'),
          password: input.passcode,
          settings: meetingSettings(input),
        });
        return summarise(meeting, true);
      });
    },

    async updateMeeting(input: MeetingCall & Partial<Pick<CreateMeetingInput, 'topic' | 'agenda' | 'settings'>>): Promise<void> {
      const zoom = connector(input.connector);
      const settings = input.settings ? zoomSettings(input.settings) : undefined;
      await callZoom(() => zoom.client.updateMeeting(input.meetingId, { topic: input.topic, agenda: input.agenda, settings }));
    },

    /** Ends the meeting for everyone; a meeting that is not in progress is left as it is (Zoom: no-op). */
    async endMeeting(input: MeetingCall): Promise<void> {
      const zoom = connector(input.connector);
      await callZoom(() => zoom.client.endMeeting(input.meetingId));
    },

    async deleteMeeting(input: MeetingCall): Promise<void> {
      const zoom = connector(input.connector);
      await callZoom(() => zoom.client.deleteMeeting(input.meetingId));
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;

export interface MeetingCall {
  connector?: string;
  meetingId: string;
}

/** A new bridge: join before host, no waiting room, no recording, unless the runbook says otherwise. */
function meetingSettings(input: CreateMeetingInput): MeetingSettings {
  return {
    ...zoomSettings({ joinBeforeHost: true, waitingRoom: false, autoRecording: 'none', ...input.settings }),
    meeting_invitees: input.invitees?.map((email) => ({ email })),
    alternative_hosts: input.alternativeHosts?.join(';'),
  };
}

/** Runbook setting names to Zoom's; settings left out stay out (an update changes only those given). */
function zoomSettings(s: NonNullable<CreateMeetingInput['settings']>): MeetingSettings {
  return { join_before_host: s.joinBeforeHost, waiting_room: s.waitingRoom, auto_recording: s.autoRecording, mute_upon_entry: s.muteUponEntry };
}

export function idempotencyMarker(key: string): string {
  return `[zoom-runbooks:${createHash('sha256').update(key).digest('hex').slice(0, 20)}]`;
}

async function findByMarker(zoom: ZoomConnector, marker: string): Promise<Meeting | undefined> {
  let pageToken: string | undefined;
  do {
    const page = await zoom.client.listMeetings(zoom.hostUser, { type: 'scheduled', page_size: 300, next_page_token: pageToken });
    const hit = page.meetings.find((m) => m.agenda?.includes(marker));
    if (hit) return zoom.client.getMeeting(hit.id);
    pageToken = page.next_page_token || undefined;
  } while (pageToken);
  return undefined;
}

/** Only what may be shared: never start_url (it lets anyone host) nor the passcode. */
function summarise(m: Meeting, created: boolean): MeetingSummary {
  return { id: String(m.id), topic: m.topic, joinUrl: m.join_url, hostEmail: m.host_email, startTime: m.start_time, created };
}

/** Zoom errors become Temporal failures: typed, with Zoom's requested wait as the retry delay. */
async function callZoom<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (!(err instanceof ZoomError)) throw err;
    throw ApplicationFailure.create({
      type: err.name,
      message: err.message,
      nonRetryable: isPermanent(err),
      nextRetryDelay: err.retryAfterMs,
      details: [{ status: err.status, code: err.code, trackingId: err.trackingId }],
    });
  }
}
