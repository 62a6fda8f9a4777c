import { ZoomValidationError } from './errors';

/**
 * Zoom's documented field limits (the maxLength values of Zoom's Meeting API spec for create
 * meeting and add registrant). Past them Zoom refuses the whole call with 400/300, so a long
 * incident title or agenda would cost the bridge; those fields are cut instead, and the cut is
 * reported. Lengths are counted in UTF-16 units, which is never fewer than the characters Zoom counts.
 */
export const ZOOM_LIMITS = {
  topic: 200,
  agenda: 2000,
  /** Meeting passcode; also only letters, digits and @ - _ *. */
  passcode: 10,
  registrantFirstName: 64,
  registrantLastName: 64,
  registrantEmail: 128,
} as const;

/** Zoom's passcode alphabet (§2.2): letters, digits and @ - _ *. */
const PASSCODE = /^[A-Za-z0-9@\-_*]+$/;

/** What the agenda carries before the marker: a blank line. */
const MARKER_SEPARATOR = '\n\n';

/** A value we refuse to send because Zoom would refuse it and cutting it would make it wrong. */
export class ZoomFieldLimitError extends ZoomValidationError {}

/** Collects what was cut to fit, as "agenda (2500 → 1963 characters)", for the run's timeline. */
export class FieldCuts {
  readonly notes: string[] = [];

  /** `text` cut to `max` (ending in "…"), noted under `field` when it had to be. */
  fit(field: string, text: string, max: number): string {
    if (text.length <= max) return text;
    const cut = cutText(text, max);
    this.notes.push(`${field} (${text.length} → ${cut.length} characters)`);
    return cut;
  }

  /** Only when something was cut, so results stay as they were otherwise. */
  get cut(): { cut?: string[] } {
    return this.notes.length ? { cut: [...this.notes] } : {};
  }
}

/** At most `max` units, the last being "…"; never half of a surrogate pair. */
export function cutText(text: string, max: number): string {
  if (text.length <= max) return text;
  let head = text.slice(0, Math.max(0, max - 1));
  if (/[\uD800-\uDBFF]$/.test(head)) head = head.slice(0, -1);
  return `${head}…`;
}

/**
 * The agenda Zoom stores: the runbook's agenda, a blank line, then the idempotency marker, within
 * Zoom's 2,000 characters. Only the runbook's part is cut: the marker is how a retried create finds
 * the meeting an earlier attempt made, so it always ends the agenda intact. Without a marker (a
 * meeting this service did not create) the agenda alone is fitted.
 */
export function agendaWithMarker(agenda: string | undefined, marker: string | undefined, cuts: FieldCuts): string {
  if (!marker) return cuts.fit('agenda', agenda ?? '', ZOOM_LIMITS.agenda);
  if (!agenda) return marker;
  const room = ZOOM_LIMITS.agenda - marker.length - MARKER_SEPARATOR.length;
  return `${cuts.fit('agenda', agenda, room)}${MARKER_SEPARATOR}${marker}`;
}

/**
 * A passcode Zoom will take, else a ZoomFieldLimitError. A passcode is never cut: people would be
 * told one passcode and the meeting would have another. The message never repeats the passcode.
 */
export function checkedPasscode(passcode: string | undefined): string | undefined {
  if (passcode === undefined) return undefined;
  if (passcode.length === 0 || passcode.length > ZOOM_LIMITS.passcode) {
    throw new ZoomFieldLimitError(
      `The meeting passcode is ${passcode.length} characters long; Zoom takes 1 to ${ZOOM_LIMITS.passcode}. Set a shorter passcode in the runbook (it is not cut, since a cut passcode would not be the one people were given).`,
    );
  }
  if (!PASSCODE.test(passcode)) {
    throw new ZoomFieldLimitError(
      'The meeting passcode has characters Zoom does not accept: use only letters, digits and @ - _ *.',
    );
  }
  return passcode;
}

/**
 * A registrant's fields within Zoom's limits: names are cut (a shortened name still reaches the right
 * person), an over-long email is refused (a cut one would reach no one).
 */
export function fittedRegistrant<R extends { email: string; first_name: string; last_name?: string }>(
  r: R,
  cuts: FieldCuts,
): R {
  if (r.email.length > ZOOM_LIMITS.registrantEmail) {
    throw new ZoomFieldLimitError(
      `A registrant's email address is ${r.email.length} characters long; Zoom takes at most ${ZOOM_LIMITS.registrantEmail}.`,
    );
  }
  return {
    ...r,
    first_name: cuts.fit('registrant first name', r.first_name, ZOOM_LIMITS.registrantFirstName),
    ...(r.last_name === undefined
      ? {}
      : { last_name: cuts.fit('registrant last name', r.last_name, ZOOM_LIMITS.registrantLastName) }),
  };
}
