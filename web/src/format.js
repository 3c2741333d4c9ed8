// Formatting for people. Money arrives as decimal strings ("1234.50") and is never parsed into a
// float: amounts are handled as integer cents (BigInt) and grouped by Intl from the BigInt, which is
// exact. Numbers derived from money here are for drawing only (bar lengths), never for sums.

const MONEY_RE = /^(-?)(\d+)(?:\.(\d*))?$/;

/** "1234.5" -> 123450n (cents, rounded half away from zero beyond two places); null if not a decimal. */
export function toCents(text) {
  const m = MONEY_RE.exec(String(text ?? '').trim());
  if (!m) return null;
  const [, sign, whole, frac = ''] = m;
  let cents = BigInt(whole) * 100n + BigInt((frac + '00').slice(0, 2));
  if (frac.length > 2 && Number(frac[2]) >= 5) cents += 1n;
  return sign === '-' ? -cents : cents;
}

const currencyFormats = new Map();

function currencyFormat(locale, currency) {
  const key = `${locale}|${currency}`;
  if (!currencyFormats.has(key)) {
    currencyFormats.set(
      key,
      new Intl.NumberFormat(locale, { style: 'currency', currency, minimumFractionDigits: 2, maximumFractionDigits: 2 }),
    );
  }
  return currencyFormats.get(key);
}

/** "1234.5" -> "$1,234.50"; a value that is not a decimal string is shown as it came ("—" if empty). */
export function formatMoney(text, { currency = 'USD', locale = 'en-US' } = {}) {
  const cents = toCents(text);
  if (cents === null) return text == null || text === '' ? '—' : String(text);
  const negative = cents < 0n;
  const abs = negative ? -cents : cents;
  const whole = abs / 100n;
  const frac = (abs % 100n).toString().padStart(2, '0');
  // Intl formats the BigInt whole part exactly (grouping, symbol); we put our own two digits after it.
  const parts = currencyFormat(locale, currency).formatToParts(whole);
  const out = parts.map((p) => (p.type === 'fraction' ? frac : p.value)).join('');
  return negative ? `−${out}` : out;
}

/** Largest of some decimal strings, in cents (0n for none). */
export function maxCents(values) {
  let max = 0n;
  for (const v of values) {
    const c = toCents(v);
    if (c !== null && c > max) max = c;
  }
  return max;
}

/** cents / maxCents as a number in [0, 1], for drawing only. */
export function ratio(cents, max) {
  if (max <= 0n || cents === null || cents <= 0n) return 0;
  return Number((cents * 10000n) / max) / 10000;
}

/** Sort [name, decimal string] pairs by amount, largest first (exact, by cents), then by name. */
export function byAmountDesc(entries) {
  return [...entries].sort((a, b) => {
    const ca = toCents(a[1]) ?? 0n;
    const cb = toCents(b[1]) ?? 0n;
    if (ca !== cb) return ca > cb ? -1 : 1;
    return String(a[0]).localeCompare(String(b[0]));
  });
}

export function formatCount(n, locale = 'en-US') {
  return typeof n === 'number' && Number.isFinite(n) ? new Intl.NumberFormat(locale).format(n) : '—';
}

/** "2026-03-06" (a calendar day in the report's zone) -> "Friday 6 March 2026". */
export function formatDay(isoDay, locale = 'en-GB') {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(isoDay ?? ''));
  if (!m) return String(isoDay ?? '');
  const date = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return new Intl.DateTimeFormat(locale, {
    weekday: 'long',
    day: 'numeric',
    month: 'long',
    year: 'numeric',
    timeZone: 'UTC',
  }).format(date);
}

/** An ISO instant -> "14:03:21" if it is today where the viewer is, else "6 Mar, 14:03". */
export function formatInstant(iso, { now = new Date(), locale = 'en-GB', timeZone } = {}) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso ?? '');
  const opts = timeZone ? { timeZone } : {};
  const dayOf = (d) => new Intl.DateTimeFormat('en-CA', { ...opts, year: 'numeric', month: '2-digit', day: '2-digit' }).format(d);
  if (dayOf(date) === dayOf(now)) {
    return new Intl.DateTimeFormat(locale, { ...opts, hour: '2-digit', minute: '2-digit', second: '2-digit' }).format(date);
  }
  return new Intl.DateTimeFormat(locale, { ...opts, day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' }).format(
    date,
  );
}

/** An ISO instant in full, for a tooltip / screen readers: "Friday 6 March 2026 at 14:03:21 CET". */
export function formatInstantLong(iso, { locale = 'en-GB', timeZone } = {}) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso ?? '');
  return new Intl.DateTimeFormat(locale, {
    ...(timeZone ? { timeZone } : {}),
    dateStyle: 'full',
    timeStyle: 'long',
  }).format(date);
}

/** The hour of the day (0-23) of `now` in a time zone (the report's zone for the hourly chart). */
export function hourIn(timeZone, now = new Date()) {
  const text = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', hourCycle: 'h23' }).format(now);
  return Number(text);
}

/** The calendar day (YYYY-MM-DD) of `now` in a time zone. */
export function dayIn(timeZone, now = new Date()) {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
}
