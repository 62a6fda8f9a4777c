/** Zoom phones people into a run's meeting: the zoom.callOut step and the operator's callOut update. */
import { condition } from '@temporalio/workflow';
import type { StepInputs, StepOf } from '../../src/core/step-inputs';
import { e164, maskPhone } from '../../src/core/phone';
import type { CallOutRequest, CallOutResult } from '../contract/runbook';
import { isSettled } from './meetings';
import { RunbookRun, StepResult } from './run';

type CallOutOptions = Pick<StepInputs['zoom.callOut'], 'requireGreeting' | 'requirePressingOne'>;

/** One person phoned in (one activity: a retry rings only them); answers with the number masked. */
async function phoneIn(
  run: RunbookRun,
  meetingId: string,
  { name, phone }: { name: string; phone: string },
  options: CallOutOptions = {},
): Promise<{ name: string; phone: string }> {
  const masked = maskPhone(phone);
  await run.zoom.callOut.executeWithOptions({ summary: `Phone ${name} (${masked}) into Zoom meeting ${meetingId}` }, [
    { connector: run.connector, meetingId, name, phone, ...options },
  ]);
  return { name, phone: masked };
}

/** Someone has the incident: its source says `acknowledged` (PagerDuty, Opsgenie…), or it is already resolved or closed. */
const isAcknowledged = (run: RunbookRun) =>
  run.incident.sourceStatus?.toLowerCase() === 'acknowledged' || isSettled(run);

/**
 * Zoom phones each person into the meeting. With `when.notAcknowledgedWithin`, first waits that
 * long for the incident to be acknowledged and phones nobody if it is. Numbers are shown masked;
 * the output keeps them masked too.
 */
export async function callOut(
  run: RunbookRun,
  step: StepOf<'zoom.callOut'>,
  { people, requireGreeting, requirePressingOne, when }: StepInputs['zoom.callOut'],
): Promise<StepResult> {
  const meetingId = run.meetingOf(step.with.meeting);
  if (when && (await condition(() => isAcknowledged(run), when.notAcknowledgedWithin)))
    return {
      output: { meetingId, called: [], acknowledged: true },
      entry: {
        status: 'info',
        summary: `Nobody phoned into Zoom meeting ${meetingId}: the incident was acknowledged within ${when.notAcknowledgedWithin}`,
      },
    };
  const called: { name: string; phone: string }[] = [];
  for (const person of people)
    called.push(await phoneIn(run, meetingId, person, { requireGreeting, requirePressingOne }));
  return {
    output: { meetingId, called, ...(when ? { acknowledged: false } : {}) },
    entry: {
      status: 'ok',
      summary: `Zoom is phoning ${called.map((c) => `${c.name} (${c.phone})`).join(', ')} into meeting ${meetingId}`,
    },
  };
}

/** The callOut update (checked by its validator): Zoom phones them into the meeting (default: the bridge). */
export async function callOutByOperator(run: RunbookRun, request: CallOutRequest): Promise<CallOutResult> {
  const meetingId = request.meeting ? run.meetingOf(request.meeting) : run.bridge!.id;
  // The validator let only E.164 numbers through: this is the number without its separators.
  const phone = e164(request.phone) ?? request.phone;
  const called = await phoneIn(run, meetingId, { name: request.name, phone });
  await run.post({
    status: 'ok',
    summary: `Zoom is phoning ${called.name} (${called.phone}) into meeting ${meetingId}, at an operator's request`,
  });
  return { meetingId, ...called };
}
