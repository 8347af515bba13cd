// The drills' checks, their titles and the condition each needs to be judged at all (the same shape as
// every other check's entry): a check whose condition did not occur for the client reports `skip` with
// the reason, never `pass`.
import { POISON_MAX_DELIVERIES } from './input-limits.ts'

export interface DrillCheckDef {
  title: string
  requires: string
}

export const INCIDENT_MAX_AFTER_REFUSAL = 10

export const DRILL_CATALOG = {
  'auth/survives-rotation': { title: 'Survives a key rotation: the new key in use within the grace period, no 401 storm, no lost events', requires: 'the harness rotated the key (rotation profile) and the client made a request after the old key was revoked' },
  'auth/old-key-retired': { title: 'Once switched to the new key, the old key never reappears', requires: 'the client used the rotated key at least once' },
  'input/survives-hostile': { title: 'Keeps consuming after hostile payloads: no crash, no exit, no stall', requires: 'a hostile event or a wallet list carrying hostile wallets was delivered to the client (hostile profile)' },
  'input/no-poison-loop': { title: `No event delivered more than ${POISON_MAX_DELIVERIES} times because the client keeps failing on it`, requires: 'a hostile event was delivered on the client\'s stream (hostile profile)' },
  'auth/key-for-this-network': { title: 'The key is only sent to the network it is bound to', requires: 'the client\'s key is bound to a network (environments profile) and the client made a request' },
  'incident/streams-closed': { title: 'Every stream of the tenant closes within one heartbeat of the revocation', requires: 'a stream of the tenant was open when every key was revoked (drill incident)' },
  'incident/nothing-after-revocation': { title: 'No request succeeds and no event is sent after the revocation', requires: 'a request or an event with the tenant\'s keys came after the revocation (drill incident)' },
  'incident/client-stops': { title: `The client stops cleanly: at most ${INCIDENT_MAX_AFTER_REFUSAL} requests after its first refusal`, requires: 'the client was active (a request in the 5 s before, or a stream open) when every key was revoked (drill incident)' }
} as const satisfies Record<string, DrillCheckDef>
