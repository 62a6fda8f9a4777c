import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { matchRoute, parseJson, readBody, Route, route, SandboxRequest, send, ZoomHttpError } from './http';
import { oauthRoutes } from './oauth';
import { SandboxRateLimits, SandboxRateLimitsOptions } from './rate-limits';
import { endMeeting, simulationRoutes } from './simulate';
import { WebhookSender } from './webhook-sender';
import {
  defaultAccount,
  MeetingInstance,
  newUserOAuthState,
  SandboxCredentials,
  SandboxState,
  SandboxUser,
  StoredMeeting,
  zoomRoutes,
} from './zoom-api';

/** Every scope the emulated app is granted unless a test narrows them. */
export const SANDBOX_DEFAULT_SCOPES = [
  'meeting:write:meeting:admin',
  'meeting:read:meeting:admin',
  'meeting:update:meeting:admin',
  'meeting:delete:meeting:admin',
  'meeting:update:status:admin',
  'meeting:read:list_meetings:admin',
  'meeting:write:registrant:admin',
  'meeting:update:in_meeting_controls:admin',
  'meeting:read:past_meeting:admin',
  'meeting:read:summary:admin',
  'meeting:read:list_past_participants:admin',
  'report:read:list_meeting_participants:admin',
  'cloud_recording:read:list_recording_files:admin',
  'cloud_recording:read:meeting_transcript:admin',
  'cloud_recording:update:recording_settings:admin',
  'user:read:user:admin',
  'group:read:list_groups:admin',
  'group:read:list_members:admin',
];

export const SANDBOX_DEFAULT_CREDENTIALS: SandboxCredentials = {
  accountId: 'sandbox-account',
  clientId: 'sandbox-client-id',
  clientSecret: 'sandbox-client-secret',
};

export const SANDBOX_DEFAULT_USERS: SandboxUser[] = [
  { id: 'sbxHostUser001', email: 'bridge-host@sandbox.zoom.test', first_name: 'Bridge', last_name: 'Host' },
  { id: 'sbxHostUser002', email: 'bridge-host-2@sandbox.zoom.test', first_name: 'Second', last_name: 'Host' },
  { id: 'sbxOnCallUser01', email: 'oncall@sandbox.zoom.test', first_name: 'On', last_name: 'Call' },
];

export interface SandboxOptions {
  port?: number;
  host?: string;
  credentials?: Partial<SandboxCredentials>;
  users?: SandboxUser[];
  scopes?: string[];
  tokenTtlSeconds?: number;
  /** Zoom's rate limits by plan (Pro by default); false turns them off. */
  rateLimits?: SandboxRateLimitsOptions | false;
}

/** A fault applies to the next `times` requests that match it (method and a path regex). */
const faultSchema = z.object({
  method: z.string().optional(),
  path: z.string().optional(),
  status: z.number().int().min(100).max(599).optional(),
  code: z.number().int().optional(),
  message: z.string().optional(),
  headers: z.record(z.string()).optional(),
  delayMs: z.number().int().min(0).max(120_000).optional(),
  /** Handle the request (state changes happen, webhooks go out) and only then wait this long to answer: a slow answer. */
  holdResponseMs: z.number().int().min(0).max(120_000).optional(),
  /** Handle the request (state changes happen) but never answer: a response lost on the wire. */
  dropResponse: z.boolean().optional(),
  /**
   * A list answers the page asked for but offers the token it was asked with as the next one again
   * (the first page keeps its own): a server stuck on one page, which a client that trusts
   * next_page_token alone asks forever.
   */
  repeatPageToken: z.boolean().optional(),
  times: z.number().int().min(1).default(1),
});
export type Fault = z.infer<typeof faultSchema>;

/** What `PATCH /_sandbox/account` may change: cloud recording and AI Companion on or off, the dial-in numbers. */
const accountSchema = z
  .object({
    cloudRecording: z.boolean().optional(),
    callOut: z.boolean().optional(),
    aiCompanion: z.boolean().optional(),
    dialInNumbers: z
      .array(
        z
          .object({
            country: z.string().min(2),
            country_name: z.string(),
            city: z.string().optional(),
            number: z.string().min(1),
            type: z.enum(['toll', 'tollfree']),
          })
          .strict(),
      )
      .optional(),
  })
  .strict();

export interface RecordedRequest {
  at: string;
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  status: number;
  /** What the sandbox answered (JSON), so tests can check it against Zoom's spec. */
  response?: unknown;
}

/**
 * A local, stateful emulator of the Zoom REST API and OAuth endpoints, with an admin API
 * under `/_sandbox` for tests: inspect state and requests, inject faults, expire tokens.
 * Real Zoom answers the same requests the same way (shapes from Zoom's OpenAPI spec).
 */
export class ZoomSandbox {
  readonly state: SandboxState;
  readonly requests: RecordedRequest[] = [];
  /** Signs and sends Zoom webhooks to the subscription set with POST /_sandbox/webhooks. */
  readonly webhooks: WebhookSender;
  private faults: Fault[] = [];
  private server?: Server;
  private readonly routes: Route[];

  constructor(private readonly options: SandboxOptions = {}) {
    this.state = {
      credentials: { ...SANDBOX_DEFAULT_CREDENTIALS, ...options.credentials },
      account: defaultAccount(),
      callOuts: [],
      users: options.users ?? SANDBOX_DEFAULT_USERS,
      groups: [
        {
          id: 'sbxGroupSre',
          name: 'SRE On-call',
          memberIds: (options.users ?? SANDBOX_DEFAULT_USERS).map((u) => u.id),
        },
      ],
      scopes: options.scopes ?? SANDBOX_DEFAULT_SCOPES,
      tokenTtlSeconds: options.tokenTtlSeconds ?? 3600,
      tokens: new Map(),
      tokenRequests: 0,
      oauth: newUserOAuthState(),
      meetings: new Map(),
      instances: [],
      lobby: [],
      rateLimits: options.rateLimits === false ? undefined : new SandboxRateLimits(options.rateLimits),
      publicUrl: '',
      files: new Map(),
      downloadTokens: new Set(),
    };
    this.webhooks = new WebhookSender(() => this.state.webhook);
    this.routes = [
      ...oauthRoutes(this.state),
      ...zoomRoutes(this.state, { endMeeting: (m) => endMeeting(this.state, this.webhooks, m) }),
      ...simulationRoutes(this.state, this.webhooks),
      ...this.adminRoutes(),
    ];
  }

  /** Base URL, e.g. http://127.0.0.1:9100; the REST API is under /v2, OAuth under /oauth. */
  get url(): string {
    if (!this.server) throw new Error('The Zoom sandbox is not started.');
    const { port } = this.server.address() as AddressInfo;
    return `http://${this.options.host ?? '127.0.0.1'}:${port}`;
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', () => resolve());
    });
    this.state.publicUrl = this.url;
    return this.url;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  addFault(fault: z.input<typeof faultSchema>): void {
    this.faults.push(faultSchema.parse(fault));
  }

  reset(): void {
    this.state.account = defaultAccount();
    this.state.callOuts.length = 0;
    this.state.meetings.clear();
    this.state.instances.length = 0;
    this.state.lobby.length = 0;
    this.state.files.clear();
    this.state.downloadTokens.clear();
    this.state.webhook = undefined;
    this.webhooks.deliveries.length = 0;
    this.state.tokens.clear();
    this.state.tokenRequests = 0;
    this.state.oauth = newUserOAuthState();
    this.state.rateLimits?.reset();
    this.requests.length = 0;
    this.faults = [];
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sandbox');
    const method = req.method ?? 'GET';
    const record = !url.pathname.startsWith('/_sandbox');
    let status = 500;
    let body: unknown;
    const responseHeaders: Record<string, string> = {};
    let response: unknown;
    try {
      const rawBody = await readBody(req);
      const contentType = String(req.headers['content-type'] ?? '');
      body = contentType.includes('json') ? safeJson(rawBody) : rawBody || undefined;
      const fault = record ? this.takeFault(method, url.pathname) : undefined;
      if (fault?.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
      if (fault?.status) {
        throw new ZoomHttpError(fault.status, fault.code, fault.message ?? 'Injected fault.', fault.headers ?? {});
      }
      const match = matchRoute(this.routes, method, url.pathname);
      if (!match) throw new ZoomHttpError(404, 404, `No such endpoint: ${method} ${url.pathname}`);
      const request: SandboxRequest = {
        method,
        path: url.pathname,
        params: match.params,
        query: url.searchParams,
        headers: req.headers,
        rawBody,
        responseHeaders,
        json: () => parseJson(rawBody),
        form: () => new URLSearchParams(rawBody),
      };
      const out = await match.route.handler(request);
      if (fault?.holdResponseMs) await new Promise((r) => setTimeout(r, fault.holdResponseMs));
      if (fault?.repeatPageToken) repeatPageToken(out.body, url.searchParams.get('next_page_token'));
      status = out.status;
      response = out.body;
      if (fault?.dropResponse) {
        req.socket.destroy();
        return;
      }
      // The admin API (/_sandbox/…) is read in browsers as well as by tests: indented.
      send(res, {
        ...out,
        pretty: !record,
        headers: { 'x-zm-trackingid': trackingId(), ...responseHeaders, ...(out.headers ?? {}) },
      });
    } catch (err) {
      const e = err instanceof ZoomHttpError ? err : new ZoomHttpError(500, 500, 'Internal sandbox error.');
      status = e.status;
      const errBody = { code: e.code, message: e.message, ...e.extra };
      response = errBody;
      send(res, {
        status: e.status,
        body: errBody,
        headers: { 'x-zm-trackingid': trackingId(), ...responseHeaders, ...e.headers },
      });
    } finally {
      if (record) {
        this.requests.push({
          at: new Date().toISOString(),
          method,
          path: url.pathname,
          query: Object.fromEntries(url.searchParams),
          body,
          status,
          response,
        });
      }
    }
  }

  /** The cloud recording of the meeting's live occurrence; a meeting not in progress records nothing. */
  cloudRecording(meeting: StoredMeeting): NonNullable<MeetingInstance['cloudRecording']> {
    const live = this.state.instances.find((i) => i.meetingId === meeting.id && !i.endTime);
    return live?.cloudRecording ?? 'stopped';
  }

  private takeFault(method: string, path: string): Fault | undefined {
    const i = this.faults.findIndex(
      (f) => (!f.method || f.method === method) && (!f.path || new RegExp(f.path).test(path)),
    );
    if (i < 0) return undefined;
    const fault = this.faults[i];
    if (--fault.times <= 0) this.faults.splice(i, 1);
    return fault;
  }

  private adminRoutes(): Route[] {
    return [
      // Each meeting as Zoom stores it, plus where its cloud recording stands, whom Zoom phoned and who waits to get in (not Zoom fields).
      route('GET', '/_sandbox/meetings', () => ({
        status: 200,
        body: {
          meetings: [...this.state.meetings.values()].map((m) => ({
            ...m,
            cloudRecording: this.cloudRecording(m),
            callOuts: this.state.callOuts.filter((c) => c.meetingId === m.id),
            lobby: this.state.lobby.filter((p) => p.meetingId === m.id),
          })),
        },
      })),
      route('GET', '/_sandbox/account', () => ({ status: 200, body: this.state.account })),
      route('PATCH', '/_sandbox/account', (req) => {
        const parsed = accountSchema.safeParse(req.json());
        if (!parsed.success)
          throw new ZoomHttpError(
            400,
            300,
            `Invalid account settings: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
          );
        Object.assign(this.state.account, parsed.data);
        return { status: 200, body: this.state.account };
      }),
      route('GET', '/_sandbox/requests', () => ({ status: 200, body: { requests: this.requests } })),
      route('GET', '/_sandbox/stats', () => ({
        status: 200,
        body: {
          meetings: this.state.meetings.size,
          tokenRequests: this.state.tokenRequests,
          refreshRequests: this.state.oauth.refreshRequests,
          requests: this.requests.length,
        },
      })),
      route('POST', '/_sandbox/faults', (req) => {
        const parsed = faultSchema.safeParse(req.json());
        if (!parsed.success)
          throw new ZoomHttpError(
            400,
            300,
            `Invalid fault: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
          );
        this.faults.push(parsed.data);
        return { status: 201, body: parsed.data };
      }),
      route('DELETE', '/_sandbox/faults', () => {
        this.faults = [];
        return { status: 204 };
      }),
      route('POST', '/_sandbox/tokens/expire', () => {
        for (const t of this.state.tokens.values()) t.expiresAt = 0;
        return { status: 204 };
      }),
      route('POST', '/_sandbox/reset', () => {
        this.reset();
        return { status: 204 };
      }),
    ];
  }
}

/** The repeatPageToken fault: the token asked with comes back as the next one. */
function repeatPageToken(body: unknown, asked: string | null): void {
  if (!asked || !body || typeof body !== 'object' || !('next_page_token' in body)) return;
  (body as { next_page_token: string }).next_page_token = asked;
}

function safeJson(raw: string): unknown {
  try {
    return raw ? JSON.parse(raw) : undefined;
  } catch {
    return raw;
  }
}

function trackingId(): string {
  return `sbx_${randomUUID()}`;
}
