/**
 * Typed handles on our workflows: each message of a workflow's contract as a method, so a caller
 * cannot send a workflow a message of another (the incident and its runbooks both answer `bridge`,
 * each with its own meaning). `workflow` is Temporal's own handle, for describe, result, history.
 */
import { Client, WorkflowHandle, WorkflowNotFoundError } from '@temporalio/client';
import {
  accessTokenUpdate,
  connectorStatusQuery,
  connectorWorkflowId,
  ZoomConnectorWorkflow,
} from '../../workflows/contract/connector';
import {
  EndBridgeRequest,
  incidentBridgeQuery,
  incidentEndBridgeSignal,
  incidentQuery,
  IncidentWorkflow,
  incidentWorkflowId,
  RunRunbookRequest,
  runRunbookUpdate,
  timelineQuery,
} from '../../workflows/contract/incident';
import {
  addParticipantsUpdate,
  callOutUpdate,
  AddParticipantsRequest,
  CallOutRequest,
  CancelRunbookRequest,
  cancelRunbookSignal,
  runbookBridgeQuery,
  runbookEndBridgeSignal,
  RunbookWorkflow,
  runbookWorkflowId,
} from '../../workflows/contract/runbook';

export class IncidentNotFoundError extends Error {
  constructor(id: string) {
    super(`No incident "${id}" is known to Temporal (no workflow ${incidentWorkflowId(id)}).`);
    this.name = 'IncidentNotFoundError';
  }
}

/** The workflow of one incident. Every call fails with IncidentNotFoundError when it has none. */
export class IncidentHandle {
  readonly workflow: WorkflowHandle<IncidentWorkflow>;

  constructor(
    private readonly client: Client,
    readonly incidentId: string,
  ) {
    this.workflow = client.workflow.getHandle<IncidentWorkflow>(incidentWorkflowId(incidentId));
  }

  get workflowId(): string {
    return this.workflow.workflowId;
  }

  /** The merged timeline, oldest first. */
  timeline() {
    return this.known(() => this.workflow.query(timelineQuery));
  }

  /** The incident's current fields. */
  incident() {
    return this.known(() => this.workflow.query(incidentQuery));
  }

  /** The latest bridge any of its runbooks opened, or null. */
  bridge() {
    return this.known(() => this.workflow.query(incidentBridgeQuery));
  }

  /** Ends a bridge itself (default: the incident's), for when the runbook that opened it no longer runs. */
  endBridge(request?: EndBridgeRequest) {
    return this.known(() => this.workflow.signal(incidentEndBridgeSignal, request));
  }

  /** Runs a runbook now; its request id, the update's id too, makes a retry return the first run. */
  runRunbook(request: RunRunbookRequest) {
    return this.known(() =>
      this.workflow.executeUpdate(runRunbookUpdate, { args: [request], updateId: request.requestId }),
    );
  }

  /** A run of one of its runbooks, by name (an on-demand run: `<name>/on-demand-<n>`). */
  runbook(name: string): RunbookHandle {
    return runbookHandle(this.client, runbookWorkflowId(this.workflowId, name));
  }

  private async known<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new IncidentNotFoundError(this.incidentId);
      throw err;
    }
  }
}

/** One runbook run, by its workflow id (`runbookWorkflowId`). */
export class RunbookHandle {
  constructor(readonly workflow: WorkflowHandle<RunbookWorkflow>) {}

  get workflowId(): string {
    return this.workflow.workflowId;
  }

  /** The bridge it opened, or null. */
  bridge() {
    return this.workflow.query(runbookBridgeQuery);
  }

  /** Stops it; its cleanup runs unless `cleanup` is false. */
  cancel(request?: CancelRunbookRequest) {
    return this.workflow.signal(cancelRunbookSignal, request);
  }

  /** Ends the bridge it opened, for everyone; the run goes on. */
  endBridge() {
    return this.workflow.signal(runbookEndBridgeSignal);
  }

  /** Invites people to a meeting it created (default: its bridge); answers with the meeting's invitees. */
  addParticipants(request: AddParticipantsRequest) {
    return this.workflow.executeUpdate(addParticipantsUpdate, { args: [request] });
  }

  /** Zoom phones someone into a meeting it created (default: its bridge); answers with the number masked. */
  callOut(request: CallOutRequest) {
    return this.workflow.executeUpdate(callOutUpdate, { args: [request] });
  }
}

/** The owner workflow of a user-OAuth connector's tokens. */
export class ConnectorHandle {
  constructor(readonly workflow: WorkflowHandle<ZoomConnectorWorkflow>) {}

  /** Whether it is authorised, its token's expiry, how often it refreshed. */
  status() {
    return this.workflow.query(connectorStatusQuery);
  }

  /** A valid access token (sealed); `staleFingerprint` names one Zoom just rejected. */
  accessToken(staleFingerprint?: string) {
    return this.workflow.executeUpdate(accessTokenUpdate, { args: [{ staleFingerprint }] });
  }
}

export function incidentHandle(client: Client, incidentId: string): IncidentHandle {
  return new IncidentHandle(client, incidentId);
}

export function runbookHandle(client: Client, workflowId: string): RunbookHandle {
  return new RunbookHandle(client.workflow.getHandle<RunbookWorkflow>(workflowId));
}

export function connectorHandle(client: Client, connector: string): ConnectorHandle {
  return new ConnectorHandle(client.workflow.getHandle<ZoomConnectorWorkflow>(connectorWorkflowId(connector)));
}
