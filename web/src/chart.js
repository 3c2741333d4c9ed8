// The 24-hour sales chart: an SVG drawn by hand (no chart library). Bar heights come from exact
// cents (BigInt) scaled to pixels; amounts shown are the server's decimal strings, formatted.
import { formatMoney, maxCents, ratio, toCents } from './format.js';

const SVG = 'http://www.w3.org/2000/svg';
const H = 180;
const PAD = { top: 22, right: 8, bottom: 24, left: 8 };

function el(name, attrs = {}, text) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * Draw `hourly` (24 decimal strings) into `host`. `currentHour` (0-23 or null) is highlighted.
 * Returns the SVG element. Each bar carries data-hour and data-value (the exact decimal string).
 */
export function drawHourly(host, hourly, { currentHour = null, currency = 'USD', timeZone = 'UTC' } = {}) {
  // Drawn at the host's own pixel width (redrawn on resize), so text stays readable on a phone.
  const W = Math.max(260, Math.round(host.clientWidth || 720));
  const tickEvery = W < 480 ? 6 : 3;
  const values = Array.from({ length: 24 }, (_, h) => (hourly && hourly[h] != null ? String(hourly[h]) : '0.00'));
  const max = maxCents(values);
  const innerW = W - PAD.left - PAD.right;
  const innerH = H - PAD.top - PAD.bottom;
  const slot = innerW / 24;
  const barW = Math.max(2, slot * 0.72);

  const nonZero = values.filter((v) => (toCents(v) ?? 0n) > 0n).length;
  const label =
    `Sales per hour today (${timeZone}): highest hour ${formatMoney(values[peakHour(values)], { currency })}` +
    ` at ${String(peakHour(values)).padStart(2, '0')}:00; ${nonZero} of 24 hours with sales.`;

  const svg = el('svg', {
    viewBox: `0 0 ${W} ${H}`,
    role: 'img',
    'aria-label': max > 0n ? label : `No sales yet today (${timeZone}).`,
    width: W,
    height: H,
    class: 'hourly',
  });
  // baseline and a top guide line labelled with the largest hour
  const baseY = PAD.top + innerH;
  svg.append(el('line', { x1: PAD.left, x2: W - PAD.right, y1: baseY, y2: baseY, class: 'axis' }));
  if (max > 0n) {
    svg.append(el('line', { x1: PAD.left, x2: W - PAD.right, y1: PAD.top, y2: PAD.top, class: 'guide' }));
    svg.append(
      el('text', { x: PAD.left, y: PAD.top - 6, class: 'guide-label' }, formatMoney(values[peakHour(values)], { currency })),
    );
  }
  values.forEach((value, hour) => {
    const cents = toCents(value);
    const h = Math.round(ratio(cents, max) * innerH * 10) / 10;
    const x = PAD.left + hour * slot + (slot - barW) / 2;
    const bar = el('rect', {
      x: x.toFixed(1),
      y: (baseY - Math.max(h, cents && cents > 0n ? 2 : 0)).toFixed(1),
      width: barW.toFixed(1),
      height: Math.max(h, cents && cents > 0n ? 2 : 0).toFixed(1),
      rx: 2,
      class: hour === currentHour ? 'bar current' : 'bar',
      'data-hour': hour,
      'data-value': value,
    });
    bar.append(el('title', {}, `${String(hour).padStart(2, '0')}:00–${String(hour).padStart(2, '0')}:59: ${formatMoney(value, { currency })}`));
    svg.append(bar);
    if (hour % tickEvery === 0) {
      svg.append(el('text', { x: (PAD.left + hour * slot + slot / 2).toFixed(1), y: H - 6, class: 'tick' }, String(hour).padStart(2, '0')));
    }
  });
  host.replaceChildren(svg);
  return svg;
}

function peakHour(values) {
  let best = 0;
  let bestCents = -1n;
  values.forEach((v, h) => {
    const c = toCents(v) ?? 0n;
    if (c > bestCents) {
      best = h;
      bestCents = c;
    }
  });
  return best;
}
