/**
 * The Zoom connector workflow's contract: the single durable owner of a user-OAuth connector's
 * tokens, which every worker process asks for an access token.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

/** Its type name, as `temporal workflow list --query "WorkflowType = '…'"` and the Web UI show it. */
export const ZOOM_CONNECTOR_WORKFLOW_TYPE = 'zoomConnectorWorkflow';

export function connectorWorkflowId(connector: string): string {
  return `zoom-connector-${connector}`;
}

export interface ConnectorWorkflowInput {
  connector: string;
  /** Carried over continue-as-new. */
  tokens?: SealedTokenSet;
  refreshes?: number;
  needsReauthorization?: string;
  disabled?: string;
}

/** Its signature, for clients that signal-with-start it without importing workflow code. */
export type ZoomConnectorWorkflow = (input: ConnectorWorkflowInput) => Promise<void>;

/**
 * A user-OAuth connector's tokens as its owner workflow keeps them: sealed (AES-GCM, see
 * src/platform/secrets.ts), so history never holds a token; the fingerprint names the access token.
 */
export interface SealedTokenSet {
  sealedAccessToken: string;
  accessFingerprint: string;
  sealedRefreshToken: string;
  /** Epoch milliseconds. */
  expiresAt: number;
  scopes: string[];
}

export type SealedAccessToken = Pick<SealedTokenSet, 'sealedAccessToken' | 'expiresAt' | 'scopes'>;

export interface ConnectorStatus {
  connector: string;
  authorised: boolean;
  expiresAt?: number;
  refreshes: number;
  /** Why the connector needs re-authorising, when it does. */
  needsReauthorization?: string;
  /** Set when the Zoom app was uninstalled: why and when. Its tokens are gone. */
  disabled?: string;
}

export function connectorDisabledMessage(connector: string): string {
  return `Zoom connector ${connector} is disabled (app uninstalled)`;
}

/** Store tokens from a fresh authorisation (the OAuth callback sends this). */
export const installTokensSignal = defineSignal<[SealedTokenSet]>('installTokens');
/** The Zoom app was uninstalled: delete the tokens and refuse every call until re-authorised. */
export const appDeauthorizedSignal = defineSignal<[{ at: string }]>('appDeauthorized');
/** The app is installed again (Server-to-Server apps; user-OAuth apps re-authorise through installTokens). */
export const enableConnectorSignal = defineSignal('enable');
/** A valid access token; `staleFingerprint` names one Zoom just rejected. */
export const accessTokenUpdate = defineUpdate<SealedAccessToken, [{ staleFingerprint?: string }]>('accessToken');
/** Whether it is authorised, token expiry, refresh count. */
export const connectorStatusQuery = defineQuery<ConnectorStatus>('connectorStatus');

/**
 * Failure types its accessToken update raises (`ApplicationFailure.type`): the names of the
 * src/zoom/errors.ts classes the client turns them back into.
 */
export const CONNECTOR_FAILURE_TYPE = {
  /** The app was uninstalled. */
  disabled: 'ZoomConnectorDisabledError',
  /** Zoom refused the refresh token: someone must authorise the connector again. */
  needsReauthorization: 'ZoomReauthorizationError',
  /** No tokens yet: the app has not been installed for this connector. */
  notAuthorised: 'ZoomAuthError',
  /** The token could not be refreshed just now; try again shortly. */
  unavailable: 'ZoomUnavailableError',
} as const;

/** Its patch ids (`patched(…)`): recorded in histories, so a value never changes once released. */
export const CONNECTOR_PATCHES = {
  /** Refresh on a local activity (runs recorded before it refresh on a regular activity). */
  refreshAsLocalActivity: 'refresh-as-local-activity',
} as const;
