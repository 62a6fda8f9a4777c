/**
 * Which Zoom scopes allow each operation: classic scopes (user level, then :admin) and granular
 * scopes, from Zoom's API reference (see shared/reference/zoom-api.md §2.1). Holding any one
 * listed scope is enough: Zoom lists every level as an alternative.
 */
export const OPERATION_SCOPES = {
  createMeeting: ['meeting:write', 'meeting:write:admin', 'meeting:write:meeting', 'meeting:write:meeting:admin'],
  getMeeting: ['meeting:read', 'meeting:read:admin', 'meeting:read:meeting', 'meeting:read:meeting:admin'],
  listMeetings: ['meeting:read', 'meeting:read:admin', 'meeting:read:list_meetings', 'meeting:read:list_meetings:admin'],
} as const satisfies Record<string, readonly string[]>;

export type ZoomOperation = keyof typeof OPERATION_SCOPES;

export function allows(granted: readonly string[], operation: ZoomOperation): boolean {
  return OPERATION_SCOPES[operation].some((s) => granted.includes(s));
}
