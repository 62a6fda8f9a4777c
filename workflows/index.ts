// The workflow bundle's entry point: every workflow type the worker registers.
export { incidentWorkflow } from './incident';
export { runbookWorkflow } from './runbook';
export { zoomConnectorWorkflow } from './connector';
export { meetingMailboxWorkflow } from './meeting-mailbox';
export { zoomHostPoolWorkflow } from './host-pool';
