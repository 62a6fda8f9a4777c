import { allHandlersFinished, condition, continueAsNew, setHandler, workflowInfo } from '@temporalio/workflow';
import {
  emptyHostPool,
  hostSpent,
  leaseHost,
  meetingCreated,
  meetingWebhook,
  prunedHostPool,
} from '../src/core/host-pool';
import { nowMs } from './clock';
import {
  HostPoolWorkflowInput,
  hostMeetingCreatedSignal,
  hostMeetingWebhookSignal,
  hostPoolQuery,
  hostSpentSignal,
  leaseHostUpdate,
} from './contract/host-pool';

/**
 * The one owner of a connector's hosts (id `zoom-hosts/<task queue>/<connector>`): every worker process leases
 * a host here before a create, so the 100-a-day budget holds across processes and who is live is
 * known from the product's own creates and Zoom's webhooks instead of asking Zoom per bridge.
 * The logic is src/core/host-pool.ts; this workflow only keeps its state durable.
 */
export async function zoomHostPoolWorkflow(input: HostPoolWorkflowInput): Promise<void> {
  const state = input.state ?? emptyHostPool();
  setHandler(leaseHostUpdate, (request) => leaseHost(state, request, nowMs()));
  setHandler(hostMeetingCreatedSignal, (created) => meetingCreated(state, created));
  setHandler(hostSpentSignal, ({ host }) => hostSpent(state, host, nowMs()));
  setHandler(hostMeetingWebhookSignal, (event) => meetingWebhook(state, event, nowMs()));
  setHandler(hostPoolQuery, () => prunedHostPool(state, nowMs()));

  await condition(() => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > 2000);
  await condition(allHandlersFinished);
  await continueAsNew<typeof zoomHostPoolWorkflow>({
    connector: input.connector,
    state: prunedHostPool(state, nowMs()),
  });
}
