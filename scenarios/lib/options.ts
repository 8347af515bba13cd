// Options every script shares. Pure.

/**
 * System tags kept on metrics. `url` and `ip` are left out: every request sets tags.name to its route,
 * and a cursor or id in a URL would otherwise make one time series per request in Prometheus.
 */
export const SYSTEM_TAGS = ['status', 'method', 'name', 'group', 'check', 'error', 'error_code', 'scenario', 'expected_response', 'proto', 'tls_version']

export const TREND_STATS = ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'count']
