// The page's formatters (web/src/format.js): money from decimal strings, exactly, and dates.
import assert from 'node:assert/strict';
import test from 'node:test';

import {
  byAmountDesc,
  dayIn,
  formatCount,
  formatDay,
  formatInstant,
  formatMoney,
  hourIn,
  maxCents,
  ratio,
  toCents,
} from '../../web/src/format.js';

test('money is formatted from the decimal string, never through a float', () => {
  assert.equal(formatMoney('0'), '$0.00');
  assert.equal(formatMoney('0.1'), '$0.10');
  assert.equal(formatMoney('1234.5'), '$1,234.50');
  assert.equal(formatMoney('1234567.89'), '$1,234,567.89');
  assert.equal(formatMoney('-5.00'), '−$5.00');
  // beyond float precision: every digit survives
  assert.equal(formatMoney('90071992547409931.03'), '$90,071,992,547,409,931.03');
  assert.equal(formatMoney('0.995'), '$1.00');
  assert.equal(formatMoney('0.30'), '$0.30');
});

test('what is not money is shown as it came, empty as a dash', () => {
  assert.equal(formatMoney(''), '—');
  assert.equal(formatMoney(null), '—');
  assert.equal(formatMoney(undefined), '—');
  assert.equal(formatMoney('n/a'), 'n/a');
  assert.equal(formatMoney('1e5'), '1e5');
});

test('cents, maxima, ratios and ordering are exact', () => {
  assert.equal(toCents('0.10'), 10n);
  assert.equal(toCents('-1.005'), -101n);
  assert.equal(maxCents(['1.00', '10.01', '9.99']), 1001n);
  assert.equal(maxCents([]), 0n);
  assert.equal(ratio(toCents('5'), toCents('10')), 0.5);
  assert.equal(ratio(toCents('0'), 0n), 0);
  assert.deepEqual(
    byAmountDesc([
      ['Brazil', '1.98'],
      ['USA', '10.00'],
      ['Canada', '9.99'],
      ['Austria', '1.98'],
    ]).map(([k]) => k),
    ['USA', 'Canada', 'Austria', 'Brazil'],
  );
});

test('dates for people', () => {
  assert.match(formatDay('2026-03-06'), /^Friday,? 6 March 2026$/); // the comma depends on ICU's version
  assert.equal(formatDay('not a day'), 'not a day');
  assert.equal(formatCount(12345), '12,345');
  assert.equal(formatCount(undefined), '—');
  const now = new Date('2026-03-06T12:00:00Z');
  assert.equal(formatInstant('2026-03-06T09:05:07Z', { now, timeZone: 'UTC' }), '09:05:07');
  assert.equal(formatInstant('2026-03-05T09:05:07Z', { now, timeZone: 'UTC' }), '5 Mar, 09:05');
  assert.equal(formatInstant('garbage'), 'garbage');
  assert.equal(hourIn('UTC', now), 12);
  assert.equal(hourIn('Asia/Kolkata', now), 17);
  assert.equal(dayIn('Pacific/Kiritimati', new Date('2026-03-06T23:00:00Z')), '2026-03-07');
});
