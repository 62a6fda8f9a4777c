import { Client } from '@temporalio/client';
import { incidentHandle } from '../../src/temporal/handles';

/**
 * Where an incident stands, for a test's failure message: its timeline, and for each runbook
 * still running its pending activities and last history events.
 */
export async function whereItStands(client: Client, incidentId: string): Promise<string> {
  const out: string[] = [];
  try {
    const incident = incidentHandle(client, incidentId);
    for (const e of await incident.timeline())
      out.push(`  ${e.at} ${e.source ?? ''}/${e.step ?? ''} ${e.status ?? ''} ${e.summary}`);
    const parent = await incident.workflow.describe();
    for (const child of parent.raw.pendingChildren ?? []) {
      const handle = client.workflow.getHandle(child.workflowId!);
      const d = await handle.describe();
      out.push(`${child.workflowId} ${d.status.name}`);
      for (const a of d.raw.pendingActivities ?? []) {
        out.push(
          `  pending ${a.activityType?.name} attempt ${a.attempt} state ${a.state} last failure: ${a.lastFailure?.message ?? '-'}`,
        );
      }
      const events = (await handle.fetchHistory()).events ?? [];
      for (const e of events.slice(-12))
        out.push(`  #${e.eventId} ${Object.keys(e).find((k) => k.endsWith('Attributes')) ?? ''}`);
    }
  } catch (err) {
    out.push(`(diagnosis failed: ${String(err)})`);
  }
  return out.join('\n');
}
