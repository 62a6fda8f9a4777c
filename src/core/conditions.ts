/**
 * Conditions in runbooks (a trigger's `when`, a step's `if`), evaluated against the incident and
 * earlier step outputs. Pure and deterministic: used by workflows and by runbook matching alike.
 *
 *   { severity: { in: [SEV1, SEV2] } }          every listed field must match
 *   { status: resolved }                        a plain value means "equals"
 *   { fields.service: { notIn: [batch] } }      dotted paths reach nested fields
 *   { owner.email: { exists: true } }
 *   { title: { matches: "^DB" } }               a regular expression
 *   { anyOf: [ {...}, {...} ] }, { allOf: [...] }, { not: {...} }
 */
export type Scalar = string | number | boolean;

export interface Matcher {
  equals?: Scalar;
  in?: Scalar[];
  notIn?: Scalar[];
  exists?: boolean;
  matches?: string;
}

export type Condition =
  { anyOf: Condition[] } | { allOf: Condition[] } | { not: Condition } | { [path: string]: Scalar | Matcher };

export function evaluate(condition: Condition, subject: Record<string, unknown>): boolean {
  if ('anyOf' in condition && Array.isArray(condition.anyOf)) return condition.anyOf.some((c) => evaluate(c, subject));
  if ('allOf' in condition && Array.isArray(condition.allOf)) return condition.allOf.every((c) => evaluate(c, subject));
  if ('not' in condition && isObject(condition.not)) return !evaluate(condition.not as Condition, subject);
  return Object.entries(condition).every(([path, expected]) =>
    matches(valueAt(subject, path), expected as Scalar | Matcher),
  );
}

const MATCH_LIMIT = 1000;

function matches(actual: unknown, expected: Scalar | Matcher): boolean {
  if (!isObject(expected)) return actual === expected;
  const m = expected as Matcher;
  if (m.exists !== undefined && (actual !== undefined && actual !== null) !== m.exists) return false;
  if (m.equals !== undefined && actual !== m.equals) return false;
  if (m.in !== undefined && !m.in.includes(actual as Scalar)) return false;
  if (m.notIn !== undefined && m.notIn.includes(actual as Scalar)) return false;
  // Only the first 1000 characters are matched: a bound on what a costly pattern can do to a worker.
  if (
    m.matches !== undefined &&
    !(typeof actual === 'string' && new RegExp(m.matches).test(actual.slice(0, MATCH_LIMIT)))
  )
    return false;
  return true;
}

export function valueAt(subject: Record<string, unknown>, path: string): unknown {
  let value: unknown = subject;
  for (const key of path.split('.')) {
    if (!isObject(value) || !Object.prototype.hasOwnProperty.call(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
