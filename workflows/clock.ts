/**
 * Workflow time. Inside Temporal's sandbox `Date` is the deterministic workflow clock (the time of
 * the current workflow task), so this is replay-safe; every workflow reads time through here.
 */
export function nowIso(): string {
  return new Date(Date.now()).toISOString();
}

export function nowMs(): number {
  return Date.now();
}
