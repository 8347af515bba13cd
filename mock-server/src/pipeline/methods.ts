// 405 and 501 for a request no route matched (RFC 9110 15.5.6, 15.6.2), for both mocks: a method the
// API never uses is 501, a known method on a path that exists for others is 405 with Allow, anything else
// stays 404 not_found. The contract's codes are kept (1.6): `validation_error` naming the method.
import { ApiError } from '../errors.ts'

export const NOT_IMPLEMENTED = new ApiError('validation_error', 'This API does not implement that method on any route.', [{ field: 'method', message: 'not implemented' }], undefined, 501)

/**
 * 405 and 501 (RFC 9110 15.5.6, 15.6.2): which methods each route pattern answers, learned at
 * registration. A method the API never uses is 501; a path that exists for other methods is 405 with Allow.
 */
export function createMethodTable () {
  const routes: Array<{ re: RegExp, methods: Set<string> }> = []
  let allowCache = new Map<string, string>()
  return {
    /** A route: its method(s) and URL pattern (`/api/keys/:id`). */
    add (method: string | readonly string[], url: string): void {
      const methods = typeof method === 'string' ? [method] : method
      // '/api/keys/:id' -> ^/api/keys/[^/]+$
      const source = '^' + url.split('/').map((seg) => (seg.startsWith(':') ? '[^/]+' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('/') + '$'
      let entry = routes.find((r) => r.re.source === source)
      if (entry === undefined) { entry = { re: new RegExp(source), methods: new Set() }; routes.push(entry) }
      for (const m of methods) {
        entry.methods.add(m)
        // Fastify answers HEAD for every GET route.
        if (m === 'GET') entry.methods.add('HEAD')
      }
      allowCache = new Map()
    },
    /** 501, 405 (with Allow) or undefined (a plain 404) for a request no route matched. */
    refusal (method: string, url: string): ApiError | undefined {
      if (!IMPLEMENTED.has(method)) return NOT_IMPLEMENTED
      const q = url.indexOf('?')
      const path = q === -1 ? url : url.slice(0, q)
      let allow = allowCache.get(path)
      if (allow === undefined) {
        const set = new Set<string>()
        for (const r of routes) if (r.re.test(path)) for (const m of r.methods) set.add(m)
        allow = [...set].sort((a, b) => ORDER.indexOf(a) - ORDER.indexOf(b)).join(', ')
        if (allowCache.size < 1024) allowCache.set(path, allow)
      }
      if (allow === '' || allow.split(', ').includes(method)) return undefined
      return new ApiError('validation_error', `${method} is not allowed here; this path answers ${allow}.`, [{ field: 'method', message: `must be one of ${allow}` }], { allow }, 405)
    }
  }
}

const ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']
/** The methods of the API and its control API (contract 2-4, 7.4): fixed, so both mocks agree whatever routes each has. */
const IMPLEMENTED = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE'])
