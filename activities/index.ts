import { activityInfo, ApplicationFailure, heartbeat, log } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type {
  Incident,
  IncidentEventType,
  MeetingClaim,
  MeetingRecord,
  RunbookDefinition,
  SealedTokenSet,
} from '../workflows/contract';
import { DEFAULT_INCIDENT_POLICY, IncidentPolicy } from '../src/platform/config';
import { ConnectorGate, sealTokens } from '../src/temporal/connectors';
import { runbookMatches } from '../src/core/runbook';
import { ScheduleError } from '../src/core/schedule';
import { renderStepInputs, RenderRequest, StepAction, StepInputs } from '../src/core/step-inputs';
import { SecretBox } from '../src/platform/secrets';
import { TemplateError } from '../src/core/templates';
import { OAuthClientCredentials } from '../src/zoom/auth';
import { ZoomConfigError, ZoomDailyLimitError, ZoomNotFoundError, ZoomValidationError } from '../src/zoom/errors';
import { agendaWithMarker, checkedPasscode, FieldCuts, fittedRegistrant, ZOOM_LIMITS } from '../src/zoom/limits';
import { MeetingSettings } from '../src/zoom/types';
import { refreshTokens } from '../src/zoom/user-oauth';
import { callZoom, goneIsDone, inLiveMeeting, isAlreadyRegistered, maskingPhone, onMeeting } from './failures';
import { findByMarker, idempotencyMarker, markerIn, removeMarked, withMarker } from './idempotency';
import { createMeetingEventActivities } from './meeting-events';
import type {
  AttendanceRecord,
  CallOutInput,
  CreatedMeeting,
  CreateMeetingInput,
  FieldsCut,
  ManageParticipantsInput,
  MeetingCall,
  MeetingRemoval,
  RecordingControlInput,
  RecordingSettingsInput,
  RecordingSummary,
  SummaryCall,
  SummaryLookup,
  TranscriptCall,
  TranscriptLookup,
  UpdateMeetingInput,
  ZoomConnector,
} from './types';
import {
  callOutControl,
  edit,
  meetingSettings,
  recordingMethod,
  summarise,
  zoomRecurrence,
  zoomSettings,
} from './zoom-mapping';

export { idempotencyMarker, markerIn } from './idempotency';
export * from './types';

export interface ActivityDeps {
  connectors: Map<string, ZoomConnector>;
  runbooks: RunbookDefinition[];
  /** User-OAuth apps by connector name, for the connector workflow's refreshes. */
  oauthApps?: Map<string, OAuthClientCredentials>;
  secrets?: SecretBox;
  /** Refuses calls through connectors whose Zoom app was uninstalled. */
  gate?: ConnectorGate;
  incidentPolicy?: IncidentPolicy;
  /** For the meeting mailboxes' fallback to the ZoomMeetingIds search attribute. */
  client?: Client;
  /** Records that a run follows a meeting (its mailbox forwards Zoom's webhooks there) and tells its incident; the worker's client does it. */
  claimMeeting?: (claim: MeetingClaim) => Promise<void>;
  /** Lets go of a meeting a run removed (its mailbox is started if need be, so a late claim finds the release). */
  releaseMeeting?: (release: { meetingId: string; owner: string }) => Promise<void>;
}

/**
 * Activities, built once per worker around shared Zoom clients, so every activity in the
 * process shares one token cache per connector.
 */
export function createActivities(deps: ActivityDeps) {
  /** The connector a call goes through, unless it is unknown here or disabled (its app was uninstalled). */
  async function connector(name = 'default'): Promise<ZoomConnector> {
    const c = deps.connectors.get(name);
    if (!c)
      throw ApplicationFailure.nonRetryable(
        `Zoom connector "${name}" is not configured on this worker.`,
        ZoomConfigError.name,
      );
    const gate = deps.gate;
    if (gate) await callZoom(() => gate.assertEnabled(name));
    return c;
  }

  /**
   * Before the create answers: claims the meeting's mailbox for the run that asked for it (Zoom's
   * webhooks sent before this answer reaches the run are held there, not lost) and tells the
   * incident, which then knows the meeting even if the run never hears the answer (terminated).
   * See docs/lifecycle.md.
   */
  async function claimed<T extends { id: string }>(input: CreateMeetingInput, meeting: T): Promise<T> {
    const owner = activityInfo().workflowExecution?.workflowId;
    if (!owner) return meeting;
    const told = input.incident;
    const record: MeetingRecord | undefined = told && {
      id: meeting.id,
      kind: told.kind,
      owner,
      connector: input.connector,
    };
    await deps.claimMeeting?.({
      meetingId: meeting.id,
      owner,
      incident: told && record && { workflowId: told.workflowId, record },
    });
    return meeting;
  }

  /** The run no longer follows meetings it removed: their mailboxes may end, and a claim that comes late is ignored. */
  async function released(meetingIds: string[]): Promise<string[]> {
    const owner = activityInfo().workflowExecution?.workflowId;
    if (owner) for (const meetingId of meetingIds) await deps.releaseMeeting?.({ meetingId, owner });
    return meetingIds;
  }

  return {
    /**
     * Spends the connector's refresh token for a new token pair (Zoom voids the old refresh token).
     * Only the connector workflow calls this, one at a time; tokens come and go sealed.
     */
    async refreshUserToken(input: { connector: string; sealedRefreshToken: string }): Promise<SealedTokenSet> {
      const app = deps.oauthApps?.get(input.connector);
      if (!app || !deps.secrets)
        throw ApplicationFailure.nonRetryable(
          `Zoom connector "${input.connector}" is not a user-OAuth connector on this worker.`,
          ZoomConfigError.name,
        );
      const box = deps.secrets;
      return callZoom(async () => sealTokens(box, await refreshTokens(app, box.open(input.sealedRefreshToken))));
    },

    /** Which runbooks an incident event triggers: a snapshot, so editing runbooks never changes a run. */
    async matchRunbooks(input: { eventType: IncidentEventType; incident: Incident }): Promise<RunbookDefinition[]> {
      return deps.runbooks.filter((rb) => runbookMatches(rb, input.eventType, input.incident));
    },

    /** How long after its resolution an incident from `source` closes by itself (ZR_CLOSE_AFTER_RESOLVE), or null. */
    async incidentPolicy(input: { source?: unknown }): Promise<{ closeAfterResolveMs: number | null }> {
      const { closeAfterResolveMs, autoCloseSources } = deps.incidentPolicy ?? DEFAULT_INCIDENT_POLICY;
      const applies =
        autoCloseSources.includes('*') || (typeof input.source === 'string' && autoCloseSources.includes(input.source));
      return { closeAfterResolveMs: applies ? closeAfterResolveMs : null };
    },

    ...createMeetingEventActivities(deps.client),

    /** A loaded runbook by name, for running it on demand; undefined when there is none. */
    async findRunbook(input: { name: string }): Promise<RunbookDefinition | undefined> {
      return deps.runbooks.find((rb) => rb.name === input.name);
    },

    /**
     * Renders a step's inputs (strict Handlebars; a missing variable fails the step for good) and
     * turns invitee roles (owner, responders) into the incident's addresses.
     */
    async renderStepInputs<A extends StepAction>(request: RenderRequest<A>): Promise<StepInputs[A]> {
      try {
        return renderStepInputs(request);
      } catch (err) {
        if (err instanceof TemplateError) throw ApplicationFailure.nonRetryable(err.message, TemplateError.name);
        if (err instanceof ScheduleError)
          throw ApplicationFailure.nonRetryable(`step "${request.step.id}": ${err.message}`, ScheduleError.name);
        throw err;
      }
    },

    /**
     * Creates a Zoom meeting exactly once per idempotency key. Zoom has no idempotency keys, so
     * the agenda carries a marker; a retry first looks for a meeting with that marker, which
     * covers a worker killed mid-call and a response lost after Zoom created the meeting.
     */
    async createMeeting(input: CreateMeetingInput): Promise<CreatedMeeting> {
      const zoom = await connector(input.connector);
      const marker = idempotencyMarker(input.idempotencyKey);
      return callZoom(async () => {
        // Built before Zoom is asked anything: a passcode Zoom would refuse fails the step at once,
        // and a retry that finds the earlier attempt's meeting reports the same cuts.
        const cuts = new FieldCuts();
        const start = input.startTime ? new Date(input.startTime) : new Date();
        const request = {
          topic: cuts.fit('topic', input.topic, ZOOM_LIMITS.topic),
          // Scheduled (type 2) rather than instant, because Zoom's list API only returns scheduled
          // meetings and the marker lookup needs to find it; joining before the host keeps it a bridge.
          type: input.recurrence ? 8 : 2,
          start_time: start.toISOString().replace(/\.\d{3}Z$/, 'Z'),
          duration: input.duration ?? 60,
          timezone: input.timezone,
          agenda: agendaWithMarker(input.agenda, marker, cuts),
          password: checkedPasscode(input.passcode),
          settings: meetingSettings(input),
          ...(input.recurrence ? { recurrence: zoomRecurrence(input.recurrence, start, input.timezone) } : {}),
        } as const;
        // Earlier attempts recorded the hosts they asked in their heartbeats: a retry looks there
        // (every host when none was recorded). Looking on every host each time would cost a call
        // per host per retry, which under Zoom's limits makes retries time out and retry again. A
        // create whose heartbeat died with its worker is removed later (removeLateDuplicates).
        const asked = (activityInfo().heartbeatDetails as { hosts?: string[] } | undefined)?.hosts ?? [];
        if (activityInfo().attempt > 1) {
          const existing = await findByMarker(zoom, marker, asked.length ? asked : zoom.hosts.hosts);
          if (existing) {
            log.info('Found the meeting an earlier attempt created', { meetingId: existing.id });
            return claimed(input, { ...summarise(existing, false), ...cuts.cut });
          }
        }
        // A host that Zoom says is out of daily budget is skipped for the next one in the pool.
        const startsNow = start.getTime() <= Date.now() + STARTS_NOW_MS;
        for (;;) {
          const host = await zoom.hosts.pick(zoom.client, { startsNow, leaseId: marker });
          if (!asked.includes(host)) asked.push(host);
          heartbeat({ hosts: asked });
          try {
            const meeting = await zoom.client.createMeeting(host, request);
            // The pool's knowledge only: its reservation expires by itself if this is lost.
            await zoom.hosts
              .created({ host, leaseId: marker, meetingId: String(meeting.id) })
              .catch((err: unknown) => log.warn('Host pool not told of the new meeting', { error: String(err) }));
            if (cuts.notes.length)
              log.warn('Cut meeting fields to fit the limits Zoom documents', {
                meetingId: meeting.id,
                cut: cuts.notes,
              });
            return claimed(input, { ...summarise(meeting, true), ...cuts.cut });
          } catch (err) {
            if (!(err instanceof ZoomDailyLimitError) || zoom.hosts.hosts.length === 1) throw err;
            log.warn('Zoom host is out of daily budget; trying the next one', { host });
            await zoom.hosts.markSpent(host);
          }
        }
      });
    },

    /**
     * Changes the fields given (a PATCH: sending it again changes nothing more, so retries are safe).
     * Topic and agenda are fitted to Zoom's limits; a meeting that no longer exists fails for good.
     */
    async updateMeeting(input: UpdateMeetingInput): Promise<FieldsCut> {
      const zoom = await connector(input.connector);
      const settings = input.settings ? zoomSettings(input.settings) : undefined;
      return callZoom(() =>
        onMeeting(input.meetingId, 'update it', async () => {
          const cuts = new FieldCuts();
          const topic = input.topic === undefined ? undefined : cuts.fit('topic', input.topic, ZOOM_LIMITS.topic);
          // Zoom replaces the whole agenda: the marker the meeting was created with is carried over,
          // so the lookups by marker (a retried create, removeByMarker) still find it.
          const agenda =
            input.agenda === undefined
              ? undefined
              : agendaWithMarker(input.agenda, markerIn((await zoom.client.getMeeting(input.meetingId)).agenda), cuts);
          await zoom.client.updateMeeting(input.meetingId, { topic, agenda, duration: input.duration, settings });
          return cuts.cut;
        }),
      );
    },

    /**
     * Adds and removes invitees and alternative hosts (read, change, write back: Zoom replaces the
     * lists it is given) and registers people. Adding someone already there changes nothing, so a
     * retry after a lost answer is safe; a meeting that no longer exists fails for good.
     */
    async manageParticipants(
      input: ManageParticipantsInput,
    ): Promise<{ invitees: string[]; alternativeHosts: string[]; registered: number } & FieldsCut> {
      const zoom = await connector(input.connector);
      return callZoom(() =>
        onMeeting(input.meetingId, 'change its participants', async () => {
          // Every registrant is checked before anything changes: a refused one leaves the meeting as it was.
          const cuts = new FieldCuts();
          const registrants = (input.registrants ?? []).map((r) =>
            fittedRegistrant({ email: r.email, first_name: r.firstName, last_name: r.lastName }, cuts),
          );
          const meeting = await zoom.client.getMeeting(input.meetingId);
          const settings = (meeting.settings ?? {}) as MeetingSettings;
          const invitees = edit(
            (settings.meeting_invitees ?? []).map((i) => i.email),
            input.addInvitees,
            input.removeInvitees,
          );
          const alternativeHosts = edit(
            (settings.alternative_hosts ?? '').split(/[;,]/),
            input.addAlternativeHosts,
            input.removeAlternativeHosts,
          );
          if (input.addInvitees || input.removeInvitees || input.addAlternativeHosts || input.removeAlternativeHosts) {
            await zoom.client.updateMeeting(input.meetingId, {
              settings: {
                meeting_invitees: invitees.map((email) => ({ email })),
                alternative_hosts: alternativeHosts.join(';'),
              },
            });
          }
          for (const r of registrants) {
            await zoom.client.addRegistrant(input.meetingId, r).catch((err: unknown) => {
              // A retry registers again the people an earlier attempt registered.
              if (!isAlreadyRegistered(err)) throw err;
            });
          }
          return { invitees, alternativeHosts, registered: registrants.length, ...cuts.cut };
        }),
      );
    },

    async updateRecordingSettings(input: RecordingSettingsInput): Promise<void> {
      const zoom = await connector(input.connector);
      // A PATCH: a retry sets the same values again. Zoom's 3301 (no recording yet) stays as it is.
      await callZoom(() =>
        onMeeting(input.meetingId, 'update its recording settings', () =>
          zoom.client.updateRecordingSettings(input.meetingId, {
            share_recording: input.share,
            viewer_download: input.viewerDownload,
            on_demand: input.onDemand,
            recording_authentication: input.requireSignIn,
            auto_delete: input.autoDelete,
          }),
        ),
      );
    },

    /**
     * Starts, pauses, resumes or stops the live meeting's cloud recording. Sent again after a lost
     * answer it asks for the state it asked for before: Zoom accepts that.
     */
    async controlRecording(input: RecordingControlInput): Promise<void> {
      const zoom = await connector(input.connector);
      await callZoom(() =>
        inLiveMeeting(input.meetingId, `${input.action} its cloud recording`, RECORDING_PREREQUISITES, () =>
          zoom.client.inMeetingControl(input.meetingId, { method: recordingMethod(input.action) }),
        ),
      );
    },

    /**
     * Zoom phones one person into the meeting (live or not yet). Zoom's refusals may quote the
     * number: every message leaves masked. Sent again after a lost answer, the phone rings again.
     */
    async callOut(input: CallOutInput): Promise<void> {
      const zoom = await connector(input.connector);
      await callZoom(() =>
        maskingPhone(input.phone, () =>
          inLiveMeeting(input.meetingId, `phone ${input.name} in`, CALL_OUT_PREREQUISITES, () =>
            zoom.client.inMeetingControl(input.meetingId, callOutControl(input)),
          ),
        ),
      );
    },

    /** The meeting's cloud recording, or `ready: false` while Zoom has none (code 3301). */
    async getRecording(input: MeetingCall): Promise<RecordingSummary> {
      const zoom = await connector(input.connector);
      return callZoom(async () => {
        try {
          const r = await zoom.client.getRecordings(input.meetingId);
          const files = r.recording_files.map((f) => ({
            type: String(f.file_type ?? 'unknown'),
            sizeBytes: typeof f.file_size === 'number' ? f.file_size : undefined,
          }));
          const ready = files.length > 0 && r.recording_files.every((f) => f.status !== 'processing');
          return { ready, shareUrl: r.share_url, files };
        } catch (err) {
          if (err instanceof ZoomNotFoundError) return { ready: false, files: [] };
          throw err;
        }
      });
    },

    /**
     * AI Companion's summary of the meeting's instance `uuid`, else of its latest ended instance
     * (`GET /past_meetings/{id}` gives its UUID). Not found (not ended, not written yet) is
     * `pending`; any other refusal (AI Companion off on the account) is `refused` with Zoom's
     * words, since asking again changes nothing. A missing scope still fails, naming the scope.
     * The summary's text is returned, never logged.
     */
    async getMeetingSummary(input: SummaryCall): Promise<SummaryLookup> {
      const zoom = await connector(input.connector);
      return callZoom(async () => {
        try {
          const uuid = input.uuid ?? (await zoom.client.getPastMeeting(input.meetingId)).uuid;
          const s = await zoom.client.getMeetingSummary(uuid);
          return {
            state: 'ready',
            summary: {
              uuid,
              title: s.summary_title,
              overview: s.summary_overview,
              details: s.summary_details.map((d) => ({ label: d.label ?? '', summary: d.summary ?? '' })),
              nextSteps: s.next_steps,
            },
          };
        } catch (err) {
          if (err instanceof ZoomNotFoundError) return { state: 'pending' };
          if (err instanceof ZoomValidationError) return { state: 'refused', reason: err.message };
          throw err;
        }
      });
    },

    /**
     * The meeting's transcript, from both of Zoom's sources in the order that finds the most: AI
     * Companion's (`GET /meetings/{id}/transcript`; Zoom answers 404 there for some meetings whose
     * recording has a transcript), then the cloud recording's TRANSCRIPT file, whose share page is
     * the link. Neither yet is `pending`; a missing scope fails, naming it. The text, when asked
     * for, is read with the connector's token (never the webhook's download token) and never logged.
     */
    async getTranscript(input: TranscriptCall): Promise<TranscriptLookup> {
      const zoom = await connector(input.connector);
      const ref = input.uuid ?? input.meetingId;
      return callZoom(async () => {
        let reason: string | undefined;
        const companion = await absentIfNotFound(zoom.client.getMeetingTranscript(ref)).catch((err: unknown) => {
          // AI Companion's refusal (off on the account) leaves the recording's transcript to look for.
          if (!(err instanceof ZoomValidationError)) throw err;
          reason = err.message;
          return undefined;
        });
        const recording = await absentIfNotFound(zoom.client.getRecordings(ref));
        const file = recording?.recording_files.find(
          (f) => f.file_type === 'TRANSCRIPT' && f.status !== 'processing' && f.download_url,
        );
        const fromCompanion = companion?.can_download ? companion.download_url : undefined;
        const downloadUrl = fromCompanion ?? file?.download_url;
        if (!downloadUrl) return { state: 'pending', reason: companion?.download_restriction_reason ?? reason };
        const text = input.textChars ? await zoom.client.transcriptText(downloadUrl, input.textChars) : undefined;
        return {
          state: 'ready',
          transcript: {
            source: fromCompanion ? 'aiCompanion' : 'cloudRecording',
            uuid: input.uuid ?? recording?.uuid,
            link: recording?.share_url,
            ...text,
          },
        };
      });
    },

    /** Who attended, from Zoom's past-participants API; empty when the meeting was never held. */
    async getAttendance(input: MeetingCall): Promise<AttendanceRecord[]> {
      const zoom = await connector(input.connector);
      return callZoom(async () => {
        try {
          const participants = await zoom.client.listPastParticipants(input.meetingId);
          return participants.map((p) => ({
            name: p.name ?? p.user_email ?? 'unknown',
            email: p.user_email || undefined,
            joinedAt: p.join_time ?? '',
            leftAt: p.leave_time,
            seconds: p.duration ?? 0,
          }));
        } catch (err) {
          if (err instanceof ZoomNotFoundError) return [];
          throw err;
        }
      });
    },

    /**
     * Ends the meeting for everyone. Safe to repeat: Zoom answers 204 for a meeting that is not in
     * progress (nothing to end), and a meeting already deleted (404/3001) has nobody in it either.
     */
    async endMeeting(input: MeetingCall): Promise<MeetingRemoval> {
      const zoom = await connector(input.connector);
      return callZoom(() => goneIsDone(input.meetingId, 'end', () => zoom.client.endMeeting(input.meetingId)));
    },

    /**
     * Deletes the meeting. Safe to repeat: when a worker dies right after Zoom's 204 the retry gets
     * 404/3001, which means the delete it wanted already happened (`alreadyGone`).
     */
    async deleteMeeting(input: MeetingCall): Promise<MeetingRemoval> {
      const zoom = await connector(input.connector);
      return callZoom(() => goneIsDone(input.meetingId, 'delete', () => zoom.client.deleteMeeting(input.meetingId)));
    },

    /**
     * Deletes the meetings that carry this idempotency key's marker other than `keep`: creates
     * that timed-out attempts sent and that reached Zoom after the attempt that won had looked.
     * Returns the ids removed.
     */
    async removeLateDuplicates(input: {
      connector?: string;
      idempotencyKey: string;
      keep?: string;
    }): Promise<string[]> {
      const zoom = await connector(input.connector);
      return released(await callZoom(() => removeMarked(zoom, idempotencyMarker(input.idempotencyKey), input.keep)));
    },

    /**
     * The meetings a create made under this key, on every host: what a run that no longer runs
     * (`owner`, terminated mid-create) made and nobody was told of. Their mailboxes are released on
     * its behalf by signal-with-start, so the dead create's claim, should it still come, is ignored.
     */
    async meetingsByMarker(input: { connector?: string; idempotencyKey: string; owner: string }): Promise<string[]> {
      const zoom = await connector(input.connector);
      const marker = idempotencyMarker(input.idempotencyKey);
      const found = await callZoom(async () => {
        const ids: string[] = [];
        for (const host of zoom.hosts.hosts)
          for (const meeting of await withMarker(zoom, marker, host)) ids.push(String(meeting.id));
        return ids;
      });
      for (const meetingId of found) await deps.releaseMeeting?.({ meetingId, owner: input.owner });
      return found;
    },

    /**
     * Removes every meeting made under this idempotency key, on every host of the pool: for a runbook
     * cancelled while its create may still be in flight. A live one is ended first. Returns the ids
     * removed (a meeting Zoom no longer has counts as removed). A create still on its way to Zoom
     * can land after this looked; calling it again later catches that one.
     */
    async removeByMarker(input: { connector?: string; idempotencyKey: string }): Promise<string[]> {
      const zoom = await connector(input.connector);
      const removed = await callZoom(() => removeMarked(zoom, idempotencyMarker(input.idempotencyKey)));
      if (removed.length) log.info('Removed the meetings made under a cancelled step', { meetingIds: removed });
      return released(removed);
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;

/** Zoom's answer, or undefined when Zoom has no such thing (yet). */
async function absentIfNotFound<T>(call: Promise<T>): Promise<T | undefined> {
  try {
    return await call;
  } catch (err) {
    if (err instanceof ZoomNotFoundError) return undefined;
    throw err;
  }
}

/** What Zoom requires of a recording control besides a live meeting (its 400/300 does not say which is missing). */
const RECORDING_PREREQUISITES =
  'Zoom controls a recording only when cloud recording is enabled on the account (web portal: Settings > Recording > Cloud recording) and the connector acts as the meeting host or an alternative host.';

/** What Zoom requires of a call-out (its 400/300 does not say which is missing). */
const CALL_OUT_PREREQUISITES =
  'Zoom phones people in only when the account has the call-out feature (a Zoom Audio plan; web portal: Settings > Meeting > Call Out) and the connector acts as the meeting host or an alternative host.';

/** A meeting that starts within this is a bridge: its host should not be on another call. */
const STARTS_NOW_MS = 5 * 60_000;
