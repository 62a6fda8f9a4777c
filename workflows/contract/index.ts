/**
 * The Temporal contract of every workflow, in one import: names, ids, messages, search attributes,
 * failure types and patch ids. Each workflow's own part is in its module here (`incident.ts`,
 * `runbook.ts`, `meeting-mailbox.ts`, `connector.ts`, `host-pool.ts`), what several share in `shared.ts`.
 */
import { ZOOM_CONNECTOR_WORKFLOW_TYPE, CONNECTOR_FAILURE_TYPE } from './connector';
import { INCIDENT_FAILURE_TYPE, INCIDENT_WORKFLOW_TYPE } from './incident';
import { ZOOM_HOST_POOL_WORKFLOW_TYPE } from './host-pool';
import { MEETING_MAILBOX_WORKFLOW_TYPE } from './meeting-mailbox';
import { RUNBOOK_FAILURE_TYPE, RUNBOOK_WORKFLOW_TYPE } from './runbook';

export * from './shared';
export * from './incident';
export * from './runbook';
export * from './meeting-mailbox';
export * from './connector';
export * from './host-pool';

/** Every workflow type name, for callers that name several (visibility queries, the CLI, tests). */
export const WORKFLOW_TYPE = {
  incident: INCIDENT_WORKFLOW_TYPE,
  runbook: RUNBOOK_WORKFLOW_TYPE,
  meetingMailbox: MEETING_MAILBOX_WORKFLOW_TYPE,
  zoomConnector: ZOOM_CONNECTOR_WORKFLOW_TYPE,
  zoomHostPool: ZOOM_HOST_POOL_WORKFLOW_TYPE,
} as const;

/** Every failure type the workflows raise (`ApplicationFailure.type`). */
export const FAILURE_TYPE = { ...INCIDENT_FAILURE_TYPE, ...RUNBOOK_FAILURE_TYPE, ...CONNECTOR_FAILURE_TYPE } as const;
