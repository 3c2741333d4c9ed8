// Drives Debian's Chromium (/usr/bin/chromium, headless) with playwright-core for tests/browser.
// Spawned by pytest. One JSON command per line on stdin, one JSON answer per line on stdout:
//   {"id":1,"op":"open","page":"desk","url":"http://127.0.0.1:8000/","width":1280,"height":800}
//   {"id":2,"op":"signin","page":"desk","token":"cp_..."}
//   {"id":3,"op":"wait","page":"desk","expr":"<JS expression>","timeout_ms":2000,"what":"..."}
//   {"id":4,"op":"state","page":"desk"}            -> the dashboard as the DOM shows it
//   {"id":5,"op":"screenshot","page":"desk","path":"/abs/file.png","full_page":true}
//   {"id":6,"op":"keys","page":"desk","keys":["Tab","Enter"]}
//   {"id":7,"op":"close","page":"desk"}   {"op":"exit"}
// Answers: {"id":N,"ok":true,...} or {"id":N,"ok":false,"error":"...","state":{...}}.
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';

import { chromium } from 'playwright-core';

const EXECUTABLE = process.env.CHROMIUM || '/usr/bin/chromium';
// As root, with the machine's closed network: no sandbox, no background connections (see
// /work/.library/env/machines/polyglot.md, "Known to work").
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

const pages = new Map(); // name -> { context, page, console: [] }
let browser = null;
const say = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');

// What the dashboard shows, read from the DOM (data-* attributes carry the exact values).
function readState() {
  const q = (s) => document.querySelector(s);
  const text = (s) => q(s)?.textContent?.trim() ?? null;
  const cards = {};
  for (const card of document.querySelectorAll('#dashboard .card')) {
    cards[card.id] = { state: card.dataset.state || null, notice: card.querySelector(':scope > .notice')?.textContent ?? null };
  }
  return {
    signin_visible: !q('#signin').hidden,
    signin_error: text('#signin-error'),
    dashboard_visible: !q('#dashboard').hidden,
    who: text('#who'),
    connection: { state: q('#connection').dataset.state, text: text('#connection') },
    cards,
    sales: {
      total: q('#sales-total').dataset.value ?? null,
      total_text: text('#sales-total'),
      count: q('#sales-count').dataset.value ?? null,
      day: text('#sales-day'),
      hourly: [...document.querySelectorAll('#sales-chart rect.bar')].map((r) => r.dataset.value),
      current_hour: document.querySelector('#sales-chart rect.bar.current')?.dataset.hour ?? null,
      last_sale: text('#last-sale'),
    },
    by_country: Object.fromEntries([...document.querySelectorAll('#country-list li[data-name]')].map((li) => [li.dataset.name, li.dataset.value])),
    by_genre: Object.fromEntries([...document.querySelectorAll('#genre-list li[data-name]')].map((li) => [li.dataset.name, li.dataset.value])),
    invoices: [...document.querySelectorAll('#invoices-table tbody tr[data-id]')].map((tr) => ({
      id: Number(tr.dataset.id),
      total: tr.dataset.total,
      is_new: tr.classList.contains('is-new'),
      cells: [...tr.cells].map((c) => c.textContent.trim()),
    })),
    users: q('#users-count').dataset.value ?? null,
    tracks: [...document.querySelectorAll('#tracks-list li[data-track-id]')].map((li) => ({
      track_id: Number(li.dataset.trackId),
      text: li.textContent.trim(),
    })),
    feed: [...document.querySelectorAll('#alerts-list li')].map((li) => ({ event: li.dataset.event, text: li.textContent.trim() })),
    toasts: [...document.querySelectorAll('#toasts .toast')].map((t) => t.textContent.trim()),
    body_text: document.body.innerText,
  };
}

async function state(name) {
  return pages.get(name).page.evaluate(readState);
}

const ops = {
  async launch() {
    if (!fs.existsSync(EXECUTABLE)) throw new Error(`${EXECUTABLE} not found: apt-get install -y chromium`);
    browser = await chromium.launch({ executablePath: EXECUTABLE, headless: true, args: ARGS, timeout: 30_000 });
    return { version: browser.version() };
  },
  async open(cmd) {
    const context = await browser.newContext({ viewport: { width: cmd.width, height: cmd.height }, deviceScaleFactor: 1 });
    const page = await context.newPage();
    const log = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') log.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => log.push(`pageerror: ${e.message}`));
    page.on('requestfailed', (r) => log.push(`requestfailed: ${r.url()} ${r.failure()?.errorText}`));
    pages.set(cmd.page, { context, page, log });
    await page.goto(cmd.url, { waitUntil: 'load', timeout: 15_000 });
    return {};
  },
  async signin(cmd) {
    const { page } = pages.get(cmd.page);
    // by its label, and submitted with the keyboard
    const input = page.getByLabel('API token');
    await input.waitFor({ state: 'visible', timeout: 10_000 });
    await input.fill(cmd.token);
    await input.press('Enter');
    return {};
  },
  async wait(cmd) {
    // Polls an expression through the DevTools protocol (the page's CSP forbids eval, so Playwright's
    // waitForFunction with a string cannot run there), every 10 ms, until true or the time is up.
    const { page } = pages.get(cmd.page);
    const started = Date.now();
    // an expression, or a function called with `arg`
    const source = `(() => { const v = (${cmd.expr}); return typeof v === 'function' ? v(${JSON.stringify(cmd.arg ?? null)}) : v; })()`;
    for (;;) {
      if (await page.evaluate(source)) return { elapsed_ms: Date.now() - started };
      if (Date.now() - started > cmd.timeout_ms) {
        throw new Error(`timed out after ${cmd.timeout_ms} ms waiting for ${cmd.what || cmd.expr}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  },
  async state(cmd) {
    return { state: await state(cmd.page) };
  },
  async eval(cmd) {
    const { page } = pages.get(cmd.page);
    return { value: await page.evaluate(cmd.expr) };
  },
  async keys(cmd) {
    const { page } = pages.get(cmd.page);
    for (const key of cmd.keys) await page.keyboard.press(key);
    const focused = await page.evaluate(() => {
      const el = document.activeElement;
      return el ? { tag: el.tagName.toLowerCase(), id: el.id, text: (el.textContent || '').trim().slice(0, 60) } : null;
    });
    return { focused };
  },
  async screenshot(cmd) {
    const { page } = pages.get(cmd.page);
    fs.mkdirSync(path.dirname(cmd.path), { recursive: true });
    await page.screenshot({ path: cmd.path, fullPage: Boolean(cmd.full_page), animations: 'disabled', timeout: 15_000 });
    return { path: cmd.path };
  },
  async log(cmd) {
    return { log: pages.get(cmd.page).log };
  },
  async close(cmd) {
    const entry = pages.get(cmd.page);
    pages.delete(cmd.page);
    if (entry) await entry.context.close();
    return {};
  },
};

async function handle(cmd) {
  if (cmd.op === 'exit') {
    if (browser) await browser.close();
    say({ id: cmd.id, ok: true });
    process.exit(0);
  }
  const op = ops[cmd.op];
  if (!op) return say({ id: cmd.id, ok: false, error: `unknown op ${cmd.op}` });
  try {
    say({ id: cmd.id, ok: true, ...(await op(cmd)) });
  } catch (err) {
    let snapshot = null;
    if (cmd.page && pages.has(cmd.page)) snapshot = await state(cmd.page).catch(() => null);
    say({ id: cmd.id, ok: false, error: String(err && err.message ? err.message : err).split('\n')[0], state: snapshot });
  }
}

// Commands run one at a time, in order.
let chain = Promise.resolve();
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  if (!line.trim()) return;
  const cmd = JSON.parse(line);
  chain = chain.then(() => handle(cmd));
});
process.stdin.on('end', async () => {
  await chain;
  if (browser) await browser.close();
  process.exit(0);
});
say({ type: 'ready' });
