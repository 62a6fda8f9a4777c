import { Client, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import {
  appDeauthorizedSignal,
  CONNECTOR_FAILURE_TYPE,
  connectorDisabledMessage,
  connectorWorkflowId,
  installTokensSignal,
  SealedTokenSet,
  ZOOM_CONNECTOR_WORKFLOW_TYPE,
  ZoomConnectorWorkflow,
} from '../../workflows/contract/connector';
import { SecretBox } from '../platform/secrets';
import { GrantedTokens } from '../zoom/auth';
import {
  ZoomAuthError,
  ZoomConnectorDisabledError,
  ZoomReauthorizationError,
  ZoomUnavailableError,
} from '../zoom/errors';
import { OwnedAccessToken, TokenOwner, tokenFingerprint } from '../zoom/user-oauth';
import { connectorHandle } from './handles';

/** Seals freshly granted tokens for the connector workflow (which must never see them in clear). */
export function sealTokens(box: SecretBox, granted: GrantedTokens, now = Date.now()): SealedTokenSet {
  if (!granted.refreshToken)
    throw new ZoomAuthError('Zoom granted no refresh token: the connector needs a user-level OAuth app.');
  return {
    sealedAccessToken: box.seal(granted.accessToken),
    accessFingerprint: tokenFingerprint(granted.accessToken),
    sealedRefreshToken: box.seal(granted.refreshToken),
    expiresAt: now + granted.expiresInMs,
    scopes: granted.scopes,
  };
}

/** Hands a new authorisation to the connector's owner workflow, starting it if needed. */
export async function installUserTokens(
  client: Client,
  taskQueue: string,
  connector: string,
  box: SecretBox,
  granted: GrantedTokens,
): Promise<void> {
  await client.workflow.signalWithStart<ZoomConnectorWorkflow, [SealedTokenSet]>(ZOOM_CONNECTOR_WORKFLOW_TYPE, {
    workflowId: connectorWorkflowId(connector),
    taskQueue,
    args: [{ connector }],
    signal: installTokensSignal,
    signalArgs: [sealTokens(box, granted)],
    staticSummary: `Zoom connector **${connector}** (user OAuth token owner)`,
  });
}

/** Asks the connector workflow for access tokens: the TokenOwner of every worker process. */
export class WorkflowTokenOwner implements TokenOwner {
  constructor(
    private readonly client: Client,
    private readonly connector: string,
    private readonly box: SecretBox,
  ) {}

  async accessToken(stale?: string): Promise<OwnedAccessToken> {
    try {
      const owned = await connectorHandle(this.client, this.connector).accessToken(stale && tokenFingerprint(stale));
      return { token: this.box.open(owned.sealedAccessToken), expiresAt: owned.expiresAt, scopes: owned.scopes };
    } catch (err) {
      if (err instanceof WorkflowNotFoundError)
        throw new ZoomAuthError(`Zoom connector ${this.connector} is not authorised yet: install the Zoom app for it.`);
      if (err instanceof WorkflowUpdateFailedError) {
        const cause = err.cause as { type?: string; message?: string } | undefined;
        const message = cause?.message ?? err.message;
        if (cause?.type === CONNECTOR_FAILURE_TYPE.disabled) throw new ZoomConnectorDisabledError(message);
        if (cause?.type === CONNECTOR_FAILURE_TYPE.needsReauthorization) throw new ZoomReauthorizationError(message);
        if (cause?.type === CONNECTOR_FAILURE_TYPE.notAuthorised) throw new ZoomAuthError(message);
        throw new ZoomUnavailableError(message);
      }
      throw err;
    }
  }
}

/**
 * Zoom's app_deauthorized: the connector workflow (started if the connector had none, as
 * Server-to-Server connectors do) deletes its tokens and refuses every call from now on.
 */
export async function deauthorizeConnector(
  client: Client,
  taskQueue: string,
  connector: string,
  at = new Date().toISOString(),
): Promise<void> {
  await client.workflow.signalWithStart<ZoomConnectorWorkflow, [{ at: string }]>(ZOOM_CONNECTOR_WORKFLOW_TYPE, {
    workflowId: connectorWorkflowId(connector),
    taskQueue,
    args: [{ connector }],
    signal: appDeauthorizedSignal,
    signalArgs: [{ at }],
    staticSummary: `Zoom connector **${connector}**`,
  });
}

/**
 * Whether a connector may call Zoom, as its connector workflow's memo says; asked at most every
 * `ttlMs` per connector and process, so an uninstall stops every worker within that time.
 */
export class ConnectorGate {
  private readonly known = new Map<
    string,
    { disabled?: string; until: number; pending?: Promise<string | undefined> }
  >();

  constructor(
    private readonly client: Client,
    private readonly ttlMs = 2000,
  ) {}

  async assertEnabled(connector: string): Promise<void> {
    if (await this.disabled(connector))
      throw new ZoomConnectorDisabledError(`${connectorDisabledMessage(connector)}.`, {
        hint: 'install the Zoom app again to restore it.',
      });
  }

  private async disabled(connector: string): Promise<string | undefined> {
    const entry = this.known.get(connector);
    if (entry && entry.until > Date.now()) return entry.disabled;
    if (entry?.pending) return entry.pending;
    const pending = this.ask(connector).then((disabled) => {
      this.known.set(connector, { disabled, until: Date.now() + this.ttlMs });
      return disabled;
    });
    this.known.set(connector, { ...(entry ?? { until: 0 }), pending });
    try {
      return await pending;
    } catch (err) {
      this.known.delete(connector);
      throw err;
    }
  }

  private async ask(connector: string): Promise<string | undefined> {
    try {
      const { memo } = await connectorHandle(this.client, connector).workflow.describe();
      return typeof memo?.disabled === 'string' ? memo.disabled : undefined;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined; // never uninstalled
      throw err;
    }
  }
}
