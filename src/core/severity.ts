/**
 * One severity scale for every incident, whatever its source: SEV1 (the most severe) … SEV5.
 *
 * Sources speak their own scales; at the door (an incident event parsed, a PagerDuty webhook
 * mapped) their value is read onto ours with `toSeverity`, and the source's own value is kept
 * beside it as `sourceSeverity` when it differs. Trimmed and case-insensitive:
 *
 * | Source value                                         | Severity |
 * | ---------------------------------------------------- | -------- |
 * | `SEV0`, `0`, `P0`                                    | SEV1     |
 * | `SEV1`…`SEV5` (also `sev1`, `Sev 1`, `SEV-1`, `SEV_1`) | SEV1…SEV5 |
 * | `P1`…`P5` (PagerDuty, Opsgenie priorities; `p1`, `P-1`) | SEV1…SEV5 |
 * | `1`…`5` (a JSON number or a numeric string)          | SEV1…SEV5 |
 * | `critical`                                           | SEV1     |
 * | `high`, `major`                                      | SEV2     |
 * | `medium`, `moderate`, `warning`                      | SEV3     |
 * | `low`, `minor`                                       | SEV4     |
 * | `info`, `informational`                              | SEV5     |
 *
 * Level 0: scales that start at 0 (SEV0, P0) use it for their worst incidents, and ours starts at
 * SEV1, so 0 is read as SEV1, beside 1; nothing is shifted (SEV2 stays SEV2). Anything else
 * (`SEV6`, `SEV9`, `P7`, `-1`, `1.5`, `urgent`) is refused, naming what is accepted: a severity
 * guessed wrong would open (or skip) the wrong runbooks.
 *
 * Runbook conditions are stricter (see runbook.ts): only `SEV1`…`SEV5` and `P1`…`P5` spellings.
 *
 * Pure, no I/O: the workflows' code may import it too.
 */

export const SEVERITIES = ['SEV1', 'SEV2', 'SEV3', 'SEV4', 'SEV5'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** The words, by the severity they give. */
const WORDS: Readonly<Record<string, Severity>> = {
  critical: 'SEV1',
  high: 'SEV2',
  major: 'SEV2',
  medium: 'SEV3',
  moderate: 'SEV3',
  warning: 'SEV3',
  low: 'SEV4',
  minor: 'SEV4',
  info: 'SEV5',
  informational: 'SEV5',
};

/** `SEV1`, `sev 1`, `Sev-1`, `SEV_1`, `P1`, `p-1`… : the scale's prefix and its level. */
const LEVEL = /^(sev|p)[\s_-]?(\d+)$/i;

/** Longer values are no severity (and are not worth reading). */
const MAX_LENGTH = 32;

/** What is accepted, for error messages. */
export const ACCEPTED_SEVERITIES =
  'SEV1, SEV2, SEV3, SEV4 or SEV5 (also read: SEV0 and P0 and 0 as SEV1; P1-P5 and 1-5 as SEV1-SEV5; critical; high, major; medium, moderate, warning; low, minor; info, informational)';

/** True for a canonical severity (`SEV1`…`SEV5`, exactly). */
export function isSeverity(value: unknown): value is Severity {
  return typeof value === 'string' && (SEVERITIES as readonly string[]).includes(value);
}

/** The canonical severity a source's value means, or undefined when it means none (see the table above). */
export function toSeverity(value: unknown): Severity | undefined {
  if (typeof value === 'number') return fromLevel(value);
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (text.length > MAX_LENGTH) return undefined;
  if (/^\d+$/.test(text)) return fromLevel(Number(text));
  const level = LEVEL.exec(text);
  if (level) return fromLevel(Number(level[2]));
  return Object.prototype.hasOwnProperty.call(WORDS, text.toLowerCase()) ? WORDS[text.toLowerCase()] : undefined;
}

function fromLevel(level: number): Severity | undefined {
  if (!Number.isInteger(level) || level < 0 || level > SEVERITIES.length) return undefined;
  return SEVERITIES[Math.max(level, 1) - 1];
}

/** Why `value` is not a severity, for a problem list (the field path goes before it). */
export function severityProblem(value: unknown): string {
  const shown =
    typeof value === 'string' ? JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value) : String(value);
  return `unknown severity ${shown}; use ${ACCEPTED_SEVERITIES}`;
}

export class InvalidSeverityError extends Error {
  constructor(readonly value: unknown) {
    super(severityProblem(value));
    this.name = 'InvalidSeverityError';
  }
}

/**
 * A source's severity on our scale, with the source's own value when it differs (`P1` gives
 * `{ severity: 'SEV1', sourceSeverity: 'P1' }`; `SEV1` gives `{ severity: 'SEV1' }`).
 * Throws InvalidSeverityError for a value that means no severity.
 */
export function normalizeSeverity(value: string | number): { severity: Severity; sourceSeverity?: string } {
  const severity = toSeverity(value);
  if (!severity) throw new InvalidSeverityError(value);
  const source = String(value);
  return source === severity ? { severity } : { severity, sourceSeverity: source };
}
