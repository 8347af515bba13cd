// Shapes shared by the mock's plugins. Each plugin file adds its own decorators by declaration merging;
// what every plugin reads off a request lives here.
import type { FastifyRequest } from 'fastify'
import type { ErrorCode } from './errors.ts'
import type { LimitDecision, LimitPolicy } from './domain/limiter/types.ts'
import type { RestFaultDecision } from './domain/fault-plan.ts'

/** Who the request authenticated as (set by plugins/auth.ts). Never holds the secret. */
export interface AuthContext {
  tenantId: string
  tenantSlug: string
  keyId: string
  scopes: readonly string[]
  /** The key's own requests-per-window, when it has one (contract 2.3). */
  rateLimit: number | undefined
}

/** Per-request state every plugin reads and writes; becomes the record entry (contract 7.3). */
export interface RequestState {
  startNs: bigint
  /** The route's config and URL pattern, read once: request.routeOptions builds a new frozen object per access. */
  config: Partial<FastifyRequest['routeOptions']['config']>
  route: string | undefined
  auth: AuthContext | undefined
  /** Outcome of authentication: undefined for public routes. */
  authOutcome: 'ok' | 'refused' | undefined
  authCode: ErrorCode | undefined
  /** The key's id, or its first 12 chars when the key is unknown (contract 2.7). */
  keyRef: string | undefined
  /** On a refused attempt, the tenant the key belongs to (or claims, by its slug) when it exists (2.7). */
  authTenant?: string | undefined
  rateLimit: LimitDecision | undefined
  faults: RestFaultDecision | undefined
  idempotencyKey: string | undefined
  /** 'missing' marks a mutation sent without a key (contract 6.2). */
  idempotency?: 'missing' | 'new' | 'stored' | 'replayed' | 'in_progress' | 'mismatch'
  replayed: boolean
  /** Set when a lost-response fault dropped the connection; the entry is already recorded. */
  lost?: boolean
  recorded?: boolean
  /** The raw response, so a request the client abandons can still be recorded with what was sent. */
  res?: import('node:http').ServerResponse
  errorCode: string | undefined
  traceId: string | undefined
}

/** Route options every route may set in `config` (declaration-merged into Fastify's FastifyContextConfig). */
export interface RouteAccess {
  /** No key needed, never rate limited (contract 1.7). */
  public?: boolean
  /** Scope the key must hold (contract 2.4). */
  scope?: string
  /** Route-specific limit policy, or false to exempt the route. */
  rateLimit?: Partial<LimitPolicy> | false
  /** Admin routes authenticate with X-Admin-API-Key (contract 2.6). */
  admin?: boolean
  /** Control API: loopback and control token, no key (contract 7.1). */
  control?: boolean
}

declare module 'fastify' {
  interface FastifyRequest {
    state: RequestState
  }
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface FastifyContextConfig extends RouteAccess {}
}
