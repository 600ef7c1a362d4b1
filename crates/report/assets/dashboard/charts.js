// SVG charts drawn in the browser, no library: stacked columns over time and a share bar.
// Labels are set as text nodes (see dom.js), so names from logs cannot inject markup.

import { s, h, num } from './dom.js';

const STEPS = [60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 7 * 86400, 14 * 86400, 28 * 86400];

function ticks(start, end, max = 8) {
  const span = Math.max(60, end - start);
  const step = STEPS.find((st) => span / st <= max) || Math.ceil(span / max);
  const out = [];
  let lastDay = null;
  for (let t = Math.ceil(start / step) * step; t <= end && out.length < 64; t += step) {
    const iso = new Date(t * 1000).toISOString();
    const day = iso.slice(0, 10);
    const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
    const dayLabel = `${Number(iso.slice(8, 10))} ${months[Number(iso.slice(5, 7)) - 1]}`;
    let label;
    if (step >= 86400) label = dayLabel;
    else if (day !== lastDay) label = `${dayLabel} ${iso.slice(11, 16)}`;
    else label = iso.slice(11, 16);
    lastDay = day;
    out.push([t, label]);
  }
  return out;
}

function niceStep(max, n) {
  if (!(max > 0)) return 1;
  const raw = max / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  return Math.max(1, (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag);
}

/**
 * A bucket width in words for axis labels: 10 → "10 s", 60 → "minute", 3600 → "hour",
 * 21600 → "6 hours", 86400 → "day". The server picks the width (docs/dashboard-api.md), so the
 * label always comes from the data, never from an assumption.
 */
export function widthLabel(secs) {
  const w = Number(secs);
  if (!(w > 0)) return 'bucket';
  for (const [unit, name] of [[86400, 'day'], [3600, 'hour'], [60, 'minute']]) {
    if (w % unit === 0) return w === unit ? name : `${w / unit} ${name}s`;
  }
  return `${w} s`;
}

/** The width of the first bucket that says it (buckets of one answer share a width). */
export function bucketWidth(buckets) {
  const b = (buckets || []).find((x) => x.width_secs > 0);
  return b ? b.width_secs : null;
}

const short = (v) => (v >= 1e6 ? `${+(v / 1e6).toFixed(1)}M` : v >= 1e4 ? `${+(v / 1e3).toFixed(1)}k` : num(Math.round(v)));

/**
 * Stacked columns over time.
 * buckets: [{start: RFC3339, width_secs?, ...values}]; layers: [{key, label, colour}] bottom first.
 * markers: [{at, label}]. span: [fromSecs, toSecs] widens the time axis to at least that range
 * (so a lone bucket does not fill the whole chart).
 */
export function stackedColumns(buckets, layers, { height = 240, yLabel = 'attempts', markers = [], title = 'Attempts over time', span = null } = {}) {
  const w = 960, left = 56, right = 14, top = 12, bottom = height - 28;
  const svg = s('svg', { class: 'chart', viewBox: `0 0 ${w} ${height}`, role: 'img', 'data-chart': 'columns', 'data-points': String(buckets.length) },
    s('title', {}, title));
  const legend = h('div', { class: 'legend' }, layers.map((l) => h('span', {}, h('i', { class: 'sw', style: `background:${l.colour}` }), l.label)));
  if (!buckets.length) {
    svg.appendChild(s('text', { x: w / 2, y: height / 2, 'text-anchor': 'middle', class: 'muted-text' }, 'No attempts in this period.'));
    return h('figure', { class: 'chart-box' }, svg, legend);
  }
  const secs = (ts) => Math.floor(new Date(ts).getTime() / 1000);
  const sorted = [...buckets].sort((a, b) => secs(a.start) - secs(b.start));
  const widths = sorted.map((b, i) => b.width_secs || (sorted[i + 1] ? secs(sorted[i + 1].start) - secs(b.start) : null));
  const fallback = widths.find((x) => x) || 3600;
  let start = secs(sorted[0].start);
  let end = secs(sorted[sorted.length - 1].start) + (widths[widths.length - 1] || fallback);
  if (span) {
    start = Math.min(start, span[0]);
    end = Math.max(end, span[1]);
  }
  const x = (t) => left + ((w - left - right) * (t - start)) / Math.max(60, end - start);
  const totals = sorted.map((b) => layers.reduce((acc, l) => acc + (b[l.key] || 0), 0));
  const max = Math.max(0, ...totals);
  const step = niceStep(max, 4);
  const topV = Math.max(1, Math.ceil((max * 1.04) / step)) * step; // headroom above the tallest bar
  const y = (v) => bottom - ((bottom - top) * v) / topV;
  for (let v = 0; v <= topV + 1e-9; v += step) {
    svg.appendChild(s('line', { x1: left, x2: w - right, y1: y(v), y2: y(v), class: 'grid' }));
    svg.appendChild(s('text', { x: left - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'axis' }, short(v)));
  }
  for (const [t, label] of ticks(start, end)) {
    svg.appendChild(s('line', { x1: x(t), x2: x(t), y1: top, y2: bottom, class: 'grid' }));
    // Labels at the edges are anchored inwards so they are not cut off.
    const anchor = x(t) > w - right - 24 ? 'end' : x(t) < left + 24 ? 'start' : 'middle';
    svg.appendChild(s('text', { x: x(t), y: bottom + 16, 'text-anchor': anchor, class: 'axis' }, label));
  }
  sorted.forEach((b, i) => {
    const t0 = secs(b.start);
    const xa = x(t0), xb = x(t0 + (widths[i] || fallback));
    const bw = Math.max(0.8, xb - xa - 0.6);
    let base = 0;
    for (const l of layers) {
      const v = b[l.key] || 0;
      if (v <= 0) continue;
      svg.appendChild(s('rect', { x: xa.toFixed(2), y: y(base + v).toFixed(2), width: bw.toFixed(2), height: Math.max(0.5, y(base) - y(base + v)).toFixed(2), fill: l.colour, class: 'bar' },
        s('title', {}, `${b.start}: ${num(v)} ${l.label}`)));
      base += v;
    }
  });
  for (const m of markers) {
    const t = secs(m.at);
    if (t < start || t > end) continue;
    svg.appendChild(s('line', { x1: x(t), x2: x(t), y1: top, y2: bottom, class: 'marker' }));
    svg.appendChild(s('text', { x: x(t) + 4, y: top + 10, class: 'marker-text' }, m.label));
  }
  svg.appendChild(s('line', { x1: left, x2: w - right, y1: bottom, y2: bottom, class: 'axis-line' }));
  svg.appendChild(s('text', { transform: `translate(14 ${(top + bottom) / 2}) rotate(-90)`, 'text-anchor': 'middle', class: 'axis y-label' }, yLabel));
  return h('figure', { class: 'chart-box' }, svg, legend);
}

/** One bar split into shares: parts [{label, value, colour}]. */
export function shareBar(parts, { title = 'Shares' } = {}) {
  const total = parts.reduce((a, p) => a + (p.value || 0), 0);
  const w = 960;
  const svg = s('svg', { class: 'chart share', viewBox: `0 0 ${w} 26`, preserveAspectRatio: 'none', role: 'img', 'data-chart': 'share', 'data-points': String(parts.filter((p) => p.value > 0).length) }, s('title', {}, title));
  let x = 0;
  for (const p of parts) {
    if (!(p.value > 0) || total === 0) continue;
    const pw = (w * p.value) / total;
    svg.appendChild(s('rect', { x: x.toFixed(2), y: 0, width: pw.toFixed(2), height: 26, fill: p.colour, class: 'bar' }, s('title', {}, `${p.label}: ${num(p.value)}`)));
    x += pw;
  }
  const legend = h('div', { class: 'legend' }, parts.filter((p) => p.value > 0).map((p) =>
    h('span', {}, h('i', { class: 'sw', style: `background:${p.colour}` }), `${p.label} ${num(p.value)} (${((100 * p.value) / total).toFixed(1)} %)`)));
  if (total === 0) return h('figure', { class: 'chart-box' }, h('p', { class: 'muted' }, 'Nothing recorded yet.'));
  return h('figure', { class: 'chart-box' }, svg, legend);
}

export const TRAFFIC_LAYERS = [
  { key: 'unfamiliar_failures', label: 'failures from unfamiliar sources', colour: '#c0392b' },
  { key: 'familiar_failures', label: 'failures from familiar sources', colour: '#486581' },
  { key: 'successes', label: 'successes', colour: '#9fb3c8' },
];

export const VERDICT_COLOURS = { allow: '#2f855a', tarpit: '#d69e2e', deny: '#c0392b', internal_only: '#2b6cb0' };

/** Fills in derived counts so a bucket with only attempts/failures/unfamiliar_failures draws. */
export function normalizeBuckets(buckets) {
  return (buckets || []).map((b) => {
    const failures = b.failures || 0;
    const unfamiliar = Math.min(failures, b.unfamiliar_failures || 0);
    return {
      ...b,
      unfamiliar_failures: unfamiliar,
      familiar_failures: b.familiar_failures ?? failures - unfamiliar,
      successes: b.successes ?? Math.max(0, (b.attempts || 0) - failures),
    };
  });
}
