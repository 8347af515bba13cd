// A self-contained HTML report: inline CSS and SVG charts, no script and no external resource, so it
// opens offline and from a CI artifact store. Charts: requests and 429s over time, latency
// distribution, the SSE timeline with drops and reconnects; then every check with its evidence.
import { summaryLine } from './console.ts'
import type { HarnessReport, SuiteReport, TimelinePoint } from './model.ts'

const esc = (s: string) => s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&#39;', '"': '&quot;' })[c]!)
const W = 720
const H = 180
const PAD = 36

function axis (maxY: number, xLabel: string, yLabel: string): string {
  const ticks = [0, 0.5, 1].map((f) => {
    const y = H - PAD - f * (H - 2 * PAD)
    return `<line x1="${PAD}" x2="${W - 10}" y1="${y}" y2="${y}" class="grid"/><text x="${PAD - 4}" y="${y + 4}" class="tick" text-anchor="end">${Math.round(f * maxY)}</text>`
  }).join('')
  return `${ticks}<text x="${W / 2}" y="${H - 6}" class="label" text-anchor="middle">${esc(xLabel)}</text><text x="10" y="14" class="label">${esc(yLabel)}</text>`
}

function requestsChart (s: SuiteReport): string {
  const { requests, r429, r5xx } = s.series
  const n = requests.length
  const maxY = Math.max(1, ...requests)
  const x = (i: number) => PAD + (i + 0.5) * ((W - PAD - 10) / n)
  const y = (v: number) => H - PAD - (v / maxY) * (H - 2 * PAD)
  const line = (vals: number[], cls: string) => `<polyline class="${cls}" points="${vals.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}"/>`
  return `<figure data-chart="requests"><figcaption>Requests, 429s and 5xx per second</figcaption><svg viewBox="0 0 ${W} ${H}" role="img" aria-label="requests over time">${axis(maxY, 'seconds since start', 'per second')}${line(requests, 'req')}${line(r429, 'r429')}${line(r5xx, 'r5xx')}</svg>
<p class="legend"><span class="req">requests</span> <span class="r429">429</span> <span class="r5xx">5xx</span></p></figure>`
}

function latencyChart (s: SuiteReport): string {
  const { boundsMs, counts, p50, p95, p99 } = s.latency
  const maxY = Math.max(1, ...counts)
  const bw = (W - PAD - 10) / counts.length
  const bars = counts.map((c, i) => {
    const h = (c / maxY) * (H - 2 * PAD)
    const label = boundsMs[i] === -1 ? `>${boundsMs[i - 1]}` : `≤${boundsMs[i]}`
    return `<rect class="bar" x="${(PAD + i * bw + 2).toFixed(1)}" y="${(H - PAD - h).toFixed(1)}" width="${(bw - 4).toFixed(1)}" height="${h.toFixed(1)}"><title>${label} ms: ${c}</title></rect><text class="tick" x="${(PAD + (i + 0.5) * bw).toFixed(1)}" y="${H - PAD + 12}" text-anchor="middle">${label}</text>`
  }).join('')
  return `<figure data-chart="latency"><figcaption>Latency distribution (ms): p50 ${p50}, p95 ${p95}, p99 ${p99}</figcaption><svg viewBox="0 0 ${W} ${H}" role="img" aria-label="latency histogram">${axis(maxY, 'latency bucket (ms)', 'requests')}${bars}</svg></figure>`
}

const KIND_CLASS: Record<TimelinePoint['kind'], string> = { open: 'open', close: 'close', drop: 'drop', resume: 'resume', gap: 'gap', stall: 'stall', reject: 'reject' }

function sseChart (s: SuiteReport): string {
  const pts = s.timeline
  if (pts.length === 0) return '<figure data-chart="sse"><figcaption>SSE timeline</figcaption><p class="empty">No event stream in this run.</p></figure>'
  const t0 = s.series.t0
  const t1 = Math.max(t0 + 1000, t0 + s.durationMs, ...pts.map((p) => p.t))
  const streams = [...new Set(pts.map((p) => p.streamId ?? '(refused)'))].slice(0, 40)
  const rowH = 14
  const h = PAD + streams.length * rowH + 20
  const x = (t: number) => PAD + ((t - t0) / (t1 - t0)) * (W - PAD - 10)
  // Opens and closes first, so a drop, stall or gap at the same moment is drawn on top of them.
  const layer = (p: TimelinePoint) => (p.kind === 'open' || p.kind === 'close' ? 0 : 1)
  const marks = pts.filter((p) => streams.includes(p.streamId ?? '(refused)')).sort((a, b) => layer(a) - layer(b)).map((p) => {
    const row = streams.indexOf(p.streamId ?? '(refused)')
    return `<circle class="${KIND_CLASS[p.kind]}" cx="${x(p.t).toFixed(1)}" cy="${PAD + row * rowH}" r="4"><title>${esc(p.label)} at +${((p.t - t0) / 1000).toFixed(2)} s</title></circle>`
  }).join('')
  // Each stream's life as a bar from its open to its close (or the end of the run).
  const life = streams.map((id, i) => {
    const own = pts.filter((p) => (p.streamId ?? '(refused)') === id)
    const from = own.find((p) => p.kind === 'open')?.t ?? own[0]!.t
    const to = own.find((p) => p.kind === 'close')?.t ?? t1
    return `<line class="life" x1="${x(from).toFixed(1)}" x2="${Math.max(x(to), x(from) + 2).toFixed(1)}" y1="${PAD + i * rowH}" y2="${PAD + i * rowH}"/>`
  }).join('')
  const rows = streams.map((id, i) => `<text class="tick" x="${PAD - 4}" y="${PAD + i * rowH + 4}" text-anchor="end">${i + 1}</text><line class="grid" x1="${PAD}" x2="${W - 10}" y1="${PAD + i * rowH}" y2="${PAD + i * rowH}"/>`).join('')
  return `<figure data-chart="sse"><figcaption>SSE timeline: one row per stream</figcaption><svg viewBox="0 0 ${W} ${h}" role="img" aria-label="event stream timeline">${rows}${life}${marks}<text x="${W / 2}" y="${h - 4}" class="label" text-anchor="middle">${((t1 - t0) / 1000).toFixed(1)} s</text></svg>
<p class="legend">${Object.keys(KIND_CLASS).map((k) => `<span class="dot ${k}">${k}</span>`).join(' ')}</p></figure>`
}

function checks (s: SuiteReport): string {
  return s.checks.map((c) => `<section class="check ${c.status}" data-check-id="${esc(c.id)}" id="${esc(s.name + '-' + c.id)}">
<h3><span class="badge ${c.status}">${c.status.toUpperCase()}</span> ${esc(c.id)}: ${esc(c.title)}</h3>
<p>${esc(c.summary)}</p>
${c.violations.length > 0 ? `<ul>${c.violations.map((v) => `<li>${esc(v.message)}${v.requestId !== undefined ? ` <code>${esc(v.requestId)}</code>` : ''}</li>`).join('')}</ul>` : ''}
<details><summary>Evidence</summary><pre>${esc(JSON.stringify(c.evidence, null, 2))}</pre></details>
</section>`).join('\n')
}

/** The drill's timeline (incident response: "document the incident timeline"), when the profile is a drill. */
function drillTimeline (s: SuiteReport): string {
  const t = s.drillTimeline ?? []
  if (t.length === 0) return ''
  return `<section class="drill-timeline" data-timeline="${esc(s.name)}"><h3>Timeline</h3>
<table><thead><tr><th>+s</th><th>time</th><th>who</th><th>what</th><th>key</th></tr></thead><tbody>
${t.map((e) => `<tr class="${esc(e.actor)}"><td>${(e.offsetMs / 1000).toFixed(2)}</td><td>${esc(new Date(e.at).toISOString())}</td><td>${esc(e.actor)}</td><td>${esc(e.event)}</td><td>${esc(e.keyId ?? '')}</td></tr>`).join('\n')}
</tbody></table><p class="legend">Every authentication attempt is in audit.ndjson beside this report.</p></section>`
}

function coverage (s: SuiteReport): string {
  const c = s.coverage ?? []
  if (c.length === 0) return ''
  const missing = c.filter((f) => f.delivered === 0).length
  return `<section class="coverage" data-coverage="${esc(s.name)}"><h3>Fault coverage: ${c.length - missing} of ${c.length} faults delivered to the client${missing > 0 ? ' <span class="badge fail">NOT ALL DELIVERED</span>' : ''}</h3>
<table><thead><tr><th>fault</th><th>type</th><th>planned</th><th>matched</th><th>delivered</th></tr></thead><tbody>
${c.map((f) => `<tr class="${f.delivered === 0 ? 'missing' : 'ok'}" data-fault-id="${esc(f.id)}"><td>${esc(f.id)}</td><td>${esc(f.type)}</td><td>${f.planned ?? 'any'}</td><td>${f.matched}</td><td>${f.delivered}</td></tr>`).join('\n')}
</tbody></table></section>`
}

export function renderHtml (r: HarnessReport): string {
  const t = r.totals
  const suites = r.suites.map((s) => `<article class="suite" data-suite="${esc(s.name)}">
<h2>${esc(s.name)} <small>${esc(s.description)}</small></h2>
<p class="stats">${Object.entries(s.stats).map(([k, v]) => `<span>${esc(k)}: <b>${esc(String(v))}</b></span>`).join(' ')}</p>
<div class="charts">${requestsChart(s)}${latencyChart(s)}${sseChart(s)}</div>
${coverage(s)}
${checks(s)}
${drillTimeline(s)}
</article>`).join('\n')
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>tenzro-harness ${esc(r.command)}: ${t.fail + t.error === 0 ? 'passed' : 'failed'}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:16px;color:#1b1f24;background:#fff}
h1{font-size:20px}h2{font-size:17px;border-bottom:1px solid #ddd;padding-bottom:4px}h2 small{font-weight:normal;color:#57606a}
h3{font-size:14px;margin:6px 0}.stats span{margin-right:12px;color:#57606a}
.totals span{display:inline-block;margin-right:10px;padding:2px 8px;border-radius:10px;background:#eee}
.charts{display:grid;grid-template-columns:1fr;gap:8px}figure{margin:0;border:1px solid #e5e7eb;border-radius:6px;padding:6px}
figcaption{font-weight:600;margin-bottom:4px}svg{width:100%;height:auto}
.grid{stroke:#eee}.life{stroke:#1a7f37;stroke-width:4;stroke-opacity:.35}.tick{font-size:10px;fill:#57606a}.label{font-size:11px;fill:#57606a}
polyline{fill:none;stroke-width:2}.req{stroke:#0969da;color:#0969da}.r429{stroke:#bf8700;color:#bf8700}.r5xx{stroke:#cf222e;color:#cf222e}
.bar{fill:#8250df}.legend span{margin-right:10px;font-weight:600}
circle.open{fill:#1a7f37}circle.close{fill:#57606a}circle.drop{fill:#cf222e}circle.resume{fill:#0969da}circle.gap{fill:#bf8700}circle.stall{fill:#8250df}circle.reject{fill:#000}
.dot::before{content:"●";margin-right:3px}.dot.open{color:#1a7f37}.dot.close{color:#57606a}.dot.drop{color:#cf222e}.dot.resume{color:#0969da}.dot.gap{color:#bf8700}.dot.stall{color:#8250df}.dot.reject{color:#000}
.check{border-left:4px solid #ccc;padding:2px 10px;margin:8px 0}.check.pass{border-color:#1a7f37}.check.fail,.check.error{border-color:#cf222e;background:#fff5f5}.check.skip{border-color:#afb8c1}
.badge{font-size:11px;padding:1px 6px;border-radius:8px;color:#fff}.badge.pass{background:#1a7f37}.badge.fail,.badge.error{background:#cf222e}.badge.skip{background:#afb8c1}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #e5e7eb;padding:2px 8px;text-align:left}tr.missing{background:#fff5f5;color:#cf222e}
pre{background:#f6f8fa;padding:8px;overflow:auto;font-size:12px}.empty{color:#57606a}
</style></head>
<body>
<h1>tenzro-harness ${esc(r.command)} <small>${esc(r.startedAt)} against ${esc(r.target)}</small></h1>
<p class="totals"><span>${t.pass} passed</span><span>${t.fail} failed</span><span>${t.error} errors</span><span>${t.skip} skipped</span><span>${(r.durationMs / 1000).toFixed(1)} s</span>${r.strict === true ? '<span>--strict</span>' : ''}</p>
<p class="summary">${esc(summaryLine(r))}</p>
${suites}
<footer><p>tenzro-harness ${esc(r.version)}. Keys appear only as ids or redacted previews.</p></footer>
</body></html>
`
}
