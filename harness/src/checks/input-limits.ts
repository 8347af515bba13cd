// Limits of the hostile-input checks, apart so the catalog and the checks share them without a cycle.
/** Deliveries of one event id beyond which the client is looping on it. */
export const POISON_MAX_DELIVERIES = 3
/** Silence at the end of the run that counts as a stall (at least; a slow poller gets twice its interval). */
export const HOSTILE_STALL_MS = 5000
