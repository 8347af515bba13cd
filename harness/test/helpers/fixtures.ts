// Constants the check tests build their records from: one key id, a fake canary in the shape of
// contract 2.1 (43 base64url chars after the tenant), a fixed start time and the three routes.
export const KEY_ID = 'key_AAAAAAAAAAAAAAAA'
export const CANARY = 'tnz_acme_FAKEcanaryFAKEcanaryFAKEcanaryFAKEcan'
export const T0 = 1_800_000_000_000
export const LIST = '/api/wallet/list'
export const CREATE = '/api/wallet/create'
export const STREAM = '/api/events/stream'
