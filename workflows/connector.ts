import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { nowMs } from './clock';
import {
  accessTokenUpdate,
  appDeauthorizedSignal,
  CONNECTOR_FAILURE_TYPE,
  CONNECTOR_PATCHES,
  connectorDisabledMessage,
  connectorStatusQuery,
  ConnectorWorkflowInput,
  enableConnectorSignal,
  installTokensSignal,
} from './contract/connector';

/** Refresh this long before expiry, so callers always get a token with time left on it. */
const REFRESH_BEFORE_EXPIRY_MS = 5 * 60_000;

const refreshOptions = {
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 6 },
} as const;
/** Runs where this workflow runs, on local-activity slots: Zoom calls waiting for the new token hold the activity slots. */
const { refreshUserToken: refreshLocally } = proxyLocalActivities<Activities>(refreshOptions);
/** Runs recorded before the local-activity refresh (CONNECTOR_PATCHES.refreshAsLocalActivity). */
const { refreshUserToken } = proxyActivities<Activities>(refreshOptions);

/**
 * The single durable owner of a user-OAuth connector's tokens (id `zoom-connector-<name>`). Zoom
 * rotates the refresh token on every refresh and voids the old one, so only this workflow refreshes:
 * one refresh at a time, and the new refresh token is in history (sealed) before any caller gets
 * the new access token. Every worker process asks it through the `accessToken` update.
 */
export async function zoomConnectorWorkflow(input: ConnectorWorkflowInput): Promise<void> {
  const { connector } = input;
  let tokens = input.tokens;
  let refreshes = input.refreshes ?? 0;
  let needsReauthorization = input.needsReauthorization;
  let disabled = input.disabled;
  let refreshing: Promise<void> | undefined;

  async function refresh(): Promise<void> {
    try {
      const request = { connector, sealedRefreshToken: tokens!.sealedRefreshToken };
      tokens = patched(CONNECTOR_PATCHES.refreshAsLocalActivity)
        ? await refreshLocally(request)
        : await refreshUserToken(request);
      refreshes++;
    } catch (err) {
      // An activity's failure is the cause of an ActivityFailure; a local activity's comes as is.
      const failure = ((err as { cause?: unknown }).cause ?? err) as { type?: string; message: string };
      if (failure.type === CONNECTOR_FAILURE_TYPE.needsReauthorization) needsReauthorization = failure.message;
      throw err;
    }
  }

  // The memo says whether the connector is disabled, so workers can check with a describe
  // (answered by the server) instead of a query (which needs this workflow's worker).
  function setDisabled(why: string | undefined): void {
    if (why === disabled) return;
    disabled = why;
    upsertMemo({ disabled: why ?? null });
  }
  setHandler(installTokensSignal, (fresh) => {
    tokens = fresh;
    needsReauthorization = undefined;
    setDisabled(undefined);
  });
  // Uninstalling the app deletes the tokens here at once (they live nowhere else durably).
  setHandler(appDeauthorizedSignal, ({ at }) => {
    tokens = undefined;
    setDisabled(`app uninstalled at ${at}`);
  });
  setHandler(enableConnectorSignal, () => setDisabled(undefined));
  setHandler(connectorStatusQuery, () => ({
    connector,
    authorised: !!tokens && !needsReauthorization && !disabled,
    expiresAt: tokens?.expiresAt,
    refreshes,
    needsReauthorization,
    disabled,
  }));
  setHandler(accessTokenUpdate, async ({ staleFingerprint }) => {
    const refuse = () => {
      if (disabled)
        throw ApplicationFailure.nonRetryable(connectorDisabledMessage(connector), CONNECTOR_FAILURE_TYPE.disabled);
      if (needsReauthorization)
        throw ApplicationFailure.nonRetryable(
          `Zoom connector ${connector} needs re-authorising: ${needsReauthorization}`,
          CONNECTOR_FAILURE_TYPE.needsReauthorization,
        );
      if (!tokens)
        throw ApplicationFailure.nonRetryable(
          `Zoom connector ${connector} is not authorised yet: install the Zoom app for it.`,
          CONNECTOR_FAILURE_TYPE.notAuthorised,
        );
    };
    refuse();
    const stale =
      tokens!.accessFingerprint === staleFingerprint || tokens!.expiresAt - nowMs() < REFRESH_BEFORE_EXPIRY_MS;
    if (stale) {
      // Callers that arrive while a refresh runs wait for it instead of starting another.
      refreshing ??= refresh().finally(() => (refreshing = undefined));
      await refreshing.catch(() => undefined);
      refuse();
      // A failed refresh still leaves a usable token unless it is the rejected one or has expired.
      if (tokens!.accessFingerprint === staleFingerprint || tokens!.expiresAt <= nowMs()) {
        throw ApplicationFailure.retryable(
          `Zoom connector ${connector} could not refresh its token; try again shortly.`,
          CONNECTOR_FAILURE_TYPE.unavailable,
        );
      }
    }
    return { sealedAccessToken: tokens!.sealedAccessToken, expiresAt: tokens!.expiresAt, scopes: tokens!.scopes };
  });

  await condition(() => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > 2000);
  await condition(allHandlersFinished);
  await continueAsNew<typeof zoomConnectorWorkflow>({ connector, tokens, refreshes, needsReauthorization, disabled });
}
