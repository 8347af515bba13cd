// What a drill profile asks the session to do on top of its fault plan: rehearse the practices of
// Tenzro's security guide (the seed) against the client. Timings count from the client's first
// request, like every profile's clock.
import type { Network } from '../../../mock-server/src/domain/key-store.ts'

export interface DrillSpec {
  /**
   * Key rotation: the client also gets TENZRO_API_KEY_FILE. At `atS` a new key is issued and written
   * to the file (atomically, as secret managers swap a mounted file); `graceS` later the old key is
   * revoked, which closes its streams.
   */
  rotation?: { atS: number, graceS: number }
  /** Hostile payloads (docs/api.md 7.6) published on the stream and added to the wallet list at `atS`. */
  hostileAtS?: number
  /** Bind the client's key to this network (docs/api.md 2.8); the client gets TENZRO_NETWORK. */
  network?: Network
  /**
   * Incident: every key of the tenant revoked at once at `atS`. `sentinels` more keys of the tenant
   * each hold an event stream open (the tenant's other services), so the drill sees every stream close.
   */
  incident?: { atS: number, sentinels: number }
}
