// Chinook Pulse dashboard: sign in with a token, then live widgets fed by pusher-js from the edge.
// Every delta carries the absolute state of what it describes plus the channel's `seq`; subscribing
// gives the channel's current state, and a resubscribe after a reconnect sends `last_seq` so the
// edge replays only what was missed (or says `chinook:resync` and sends the current state).
import { drawHourly } from './chart.js';
import {
  byAmountDesc,
  dayIn,
  formatCount,
  formatDay,
  formatInstant,
  formatInstantLong,
  formatMoney,
  hourIn,
  maxCents,
  ratio,
  toCents,
} from './format.js';

const TOKEN_KEY = 'chinook-pulse.token';
const CH = {
  sales: 'private-admin.sales',
  invoices: 'private-admin.invoices',
  users: 'private-admin.users',
  tracks: 'private-admin.tracks',
  notifications: 'private-admin.notifications',
  alerts: 'private-admin.alerts',
};
const CARDS_OF = {
  [CH.sales]: ['card-sales', 'card-country', 'card-genre'],
  [CH.invoices]: ['card-invoices'],
  [CH.users]: ['card-users'],
  [CH.tracks]: ['card-tracks'],
  [CH.notifications]: ['card-alerts'],
  [CH.alerts]: ['card-alerts'],
};
const FEED_MAX = 20;
const NEW_ROW_MS = 20_000;
const SNAPSHOT_GRACE_MS = 1_000;
const BARS_MAX = 10;

const $ = (id) => document.getElementById(id);

const app = {
  config: null,
  user: null,
  token: null,
  pusher: null,
  lastSeq: new Map(), // channel -> highest seq applied (dedupe; last_seq on resubscribe)
  firstSubscribedAt: new Map(), // channel -> when its first subscription succeeded (snapshot vs live)
  pendingResync: null, // channels still to resubscribe after a reconnect
  resyncedAt: '',
  everConnected: false,
  missedReplaced: false,
  sales: null,
  invoiceIds: null,
  feedCount: 0,
};

// -- small DOM helpers ---------------------------------------------------------------------

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k.startsWith('data-') || k.startsWith('aria-') || k === 'role' || k === 'datetime' || k === 'title')
      node.setAttribute(k, String(v));
    else node[k] = v;
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

/** An instant, in the viewer's own time zone (the full date and zone in its tooltip). */
function timeEl(iso) {
  return h('time', { datetime: iso, title: formatInstantLong(iso), text: formatInstant(iso) });
}

function money(text) {
  return formatMoney(text, { currency: app.config?.currency || 'USD' });
}

// -- card states: loading, ready, denied, error ---------------------------------------------

function setCardState(cardId, stateName, message) {
  const card = $(cardId);
  if (!card) return;
  card.dataset.state = stateName;
  card.setAttribute('aria-busy', stateName === 'loading' ? 'true' : 'false');
  let notice = card.querySelector(':scope > .notice');
  const body = card.querySelector(':scope > .card-body');
  if (stateName === 'ready') {
    notice?.remove();
    if (body) body.hidden = false;
    return;
  }
  if (!notice) {
    notice = h('p', { class: 'notice' });
    card.querySelector(':scope > .card-head').after(notice);
  }
  notice.className = `notice ${stateName}`;
  notice.textContent = message;
  if (stateName === 'denied') notice.setAttribute('role', 'note');
  else notice.removeAttribute('role');
  // nothing to show yet (or ever, when not allowed): only the notice, no empty chart or dashes
  if (body && (stateName === 'denied' || (stateName === 'loading' && cardId !== 'card-alerts'))) body.hidden = true;
}

function cardsOf(channel, stateName, message) {
  for (const id of CARDS_OF[channel] || []) {
    // a card fed by two channels (alerts) stays denied once either is denied
    if (stateName !== 'denied' && $(id)?.dataset.state === 'denied') continue;
    setCardState(id, stateName, message);
  }
}

// -- connection state ----------------------------------------------------------------------

function showConnection(stateName, text) {
  const pill = $('connection');
  pill.dataset.state = stateName;
  pill.textContent = text;
}

function onConnectionChange({ previous, current }) {
  if (current === 'connected') {
    if (!app.everConnected) {
      app.everConnected = true;
      showConnection('connected', 'Live');
    } else {
      app.pendingResync = new Set(Object.values(CH));
      app.missedReplaced = false;
      showConnection('resyncing', 'Reconnected · catching up…');
    }
  } else if (current === 'connecting' || current === 'unavailable') {
    showConnection(app.everConnected ? 'reconnecting' : 'connecting', app.everConnected ? 'Reconnecting…' : 'Connecting…');
  } else if (current === 'failed') {
    showConnection('offline', 'Cannot connect: this browser has no websockets');
  } else if (current === 'disconnected' && previous !== 'initialized') {
    showConnection('offline', 'Disconnected');
  }
}

function resubscribed(channel) {
  if (!app.pendingResync) return;
  app.pendingResync.delete(channel);
  if (app.pendingResync.size === 0) {
    app.pendingResync = null;
    app.resyncedAt = formatInstant(new Date().toISOString());
    showResynced();
  }
}

function showResynced() {
  const note = app.missedReplaced ? ' (current state reloaded)' : '';
  showConnection('resynced', `Live · resynced ${app.resyncedAt}${note}`);
}

// -- widgets -----------------------------------------------------------------------------

function renderSales(data) {
  app.sales = data;
  const tz = app.config.timezone;
  const total = $('sales-total');
  total.textContent = money(data.total);
  total.dataset.value = data.total;
  const count = $('sales-count');
  count.dataset.value = String(data.invoice_count);
  count.textContent = `${formatCount(data.invoice_count)} ${data.invoice_count === 1 ? 'invoice' : 'invoices'}`;
  $('sales-day').textContent = `${formatDay(data.date)} (${tz})`;
  drawChart();
  $('sales-chart-caption').textContent = `Sales per hour of the day, ${tz}. The current hour is highlighted.`;
  const tbody = $('hourly-table').tBodies[0];
  tbody.replaceChildren(
    ...(data.hourly || []).map((v, hour) =>
      h('tr', {}, h('th', { scope: 'row', text: `${String(hour).padStart(2, '0')}:00` }), h('td', { class: 'num', text: money(v) })),
    ),
  );
  renderBars($('country-list'), data.by_country, 'No sales in any country yet today.');
  renderBars($('genre-list'), data.by_genre, 'No sales in any genre yet today.');
  cardsOf(CH.sales, 'ready');
}

function drawChart() {
  if (!app.sales) return;
  const tz = app.config.timezone;
  const today = app.sales.date === dayIn(tz);
  const host = $('sales-chart');
  drawHourly(host, app.sales.hourly, {
    currentHour: today ? hourIn(tz) : null,
    currency: app.config.currency,
    timeZone: tz,
  });
  host.dataset.width = String(host.clientWidth);
}

function renderBars(list, amounts, emptyText) {
  const entries = byAmountDesc(Object.entries(amounts || {}));
  if (entries.length === 0) {
    list.replaceChildren(h('li', { class: 'empty', text: emptyText }));
    return;
  }
  const max = maxCents(entries.map(([, v]) => v));
  const shown = entries.slice(0, BARS_MAX);
  const items = shown.map(([name, value]) => {
    const bar = h('span', { class: 'bar-fill' });
    bar.style.width = `${(ratio(toCents(value), max) * 100).toFixed(1)}%`;
    return h(
      'li',
      { 'data-name': name, 'data-value': value },
      h('span', { class: 'bar-label' }, h('span', { class: 'bar-name', text: name }), h('span', { class: 'bar-amount', text: money(value) })),
      h('span', { class: 'bar-track', 'aria-hidden': 'true' }, bar),
    );
  });
  if (entries.length > shown.length) {
    const more = entries.length - shown.length;
    items.push(h('li', { class: 'more', text: `and ${more} more` }));
  }
  list.replaceChildren(...items);
}

function renderLastSale(data) {
  const p = $('last-sale');
  p.replaceChildren(
    'Last sale: ',
    h('strong', { text: money(data.total) }),
    ` to ${data.customer_name || 'a customer'}, invoice #${data.id}, `,
    timeEl(data.created_at),
  );
  p.dataset.id = String(data.id);
}

function renderInvoices(latest) {
  if (!Array.isArray(latest)) return;
  const tbody = $('invoices-table').tBodies[0];
  const previous = app.invoiceIds;
  const now = Date.now();
  const rows = latest.map((inv) => {
    const isNew = previous !== null && !previous.has(inv.id);
    const firstCell = h('td', {}, `#${inv.id}`);
    if (isNew) firstCell.append(' ', h('span', { class: 'badge', text: 'New' }));
    const row = h(
      'tr',
      { 'data-id': inv.id, 'data-total': inv.total, class: isNew ? 'is-new' : '' },
      firstCell,
      // on a phone the time column is hidden and the time shows under the customer's name instead
      h('td', {}, inv.customer_name || 'Unknown', h('span', { class: 'inline-time' }, timeEl(inv.created_at))),
      h('td', { class: 'num', text: money(inv.total) }),
      h('td', { class: 'col-time' }, timeEl(inv.created_at)),
    );
    if (isNew) row.dataset.newUntil = String(now + NEW_ROW_MS);
    return row;
  });
  // keep the highlight of rows that were new a moment ago and still are on the list
  for (const row of rows) {
    const old = tbody.querySelector(`tr[data-id="${row.dataset.id}"]`);
    if (old?.dataset.newUntil && Number(old.dataset.newUntil) > now && !row.dataset.newUntil) {
      row.dataset.newUntil = old.dataset.newUntil;
      row.classList.add('is-new');
      row.cells[0].append(' ', h('span', { class: 'badge', text: 'New' }));
    }
  }
  if (rows.length === 0) rows.push(h('tr', {}, h('td', { colSpan: 4, class: 'empty', text: 'No invoices yet.' })));
  tbody.replaceChildren(...rows);
  app.invoiceIds = new Set(latest.map((inv) => inv.id));
  cardsOf(CH.invoices, 'ready');
}

function expireNewRows() {
  const now = Date.now();
  for (const row of document.querySelectorAll('#invoices-table tr.is-new')) {
    if (Number(row.dataset.newUntil || 0) <= now) {
      row.classList.remove('is-new');
      row.querySelector('.badge')?.remove();
      delete row.dataset.newUntil;
    }
  }
}

function renderUsers(data) {
  const count = $('users-count');
  count.textContent = formatCount(data.count);
  count.dataset.value = String(data.count);
  const minutes = Math.round((data.window_seconds || 300) / 60);
  $('users-window').replaceChildren(`Active in the last ${minutes} minutes, as of `, timeEl(data.as_of));
  cardsOf(CH.users, 'ready');
}

function renderTracks(data) {
  const list = $('tracks-list');
  const top = Array.isArray(data.top) ? data.top : [];
  if (top.length === 0) {
    list.replaceChildren(h('li', { class: 'empty', text: 'No tracks sold yet today.' }));
  } else {
    list.replaceChildren(
      ...top.map((t) =>
        h(
          'li',
          { 'data-track-id': t.track_id },
          h('span', { class: 'track' }, h('span', { class: 'track-name', text: t.name }), h('span', { class: 'track-artist', text: t.artist })),
          h(
            'span',
            { class: 'track-figures' },
            h('span', { class: 'units', text: `${formatCount(t.units)} sold` }),
            h('span', { class: 'revenue', text: money(t.revenue) }),
          ),
        ),
      ),
    );
  }
  cardsOf(CH.tracks, 'ready');
}

// -- notifications and alerts --------------------------------------------------------------

const LEVELS = new Set(['info', 'success', 'warning', 'error', 'critical']);

function feedItem(channel, event, data) {
  const isAlert = channel === CH.alerts;
  const payload = data && typeof data === 'object' ? data : { value: data };
  let level = String(payload.severity || payload.level || payload.type || (isAlert ? 'warning' : 'info')).toLowerCase();
  if (level === 'danger') level = 'error';
  if (!LEVELS.has(level)) level = 'info';
  let message = payload.message ?? payload.title ?? payload.text ?? payload.value;
  if (message === undefined) {
    const { seq: _seq, ...rest } = payload;
    message = JSON.stringify(rest);
  }
  const when = payload.created_at || payload.at || new Date().toISOString();
  return { kind: isAlert ? 'System alert' : 'Notification', event, level, message: String(message), when, seq: payload.seq };
}

function addFeed(channel, event, data) {
  const item = feedItem(channel, event, data);
  const list = $('alerts-list');
  // the current state sent again after a `chinook:resync` is not listed twice
  if (item.seq !== undefined && list.querySelector(`li[data-channel="${channel}"][data-seq="${item.seq}"]`)) return;
  const li = h(
    'li',
    { class: `feed-item level-${item.level}`, 'data-event': event, 'data-channel': channel, 'data-seq': item.seq },
    h('span', { class: `level level-${item.level}`, text: item.level }),
    h('span', { class: 'feed-text' }, h('span', { class: 'feed-kind', text: `${item.kind}: ` }), item.message),
    timeEl(item.when),
  );
  list.prepend(li);
  while (list.children.length > FEED_MAX) list.lastElementChild.remove();
  $('alerts-empty').hidden = true;
  const first = app.firstSubscribedAt.get(channel);
  const snapshot = first !== undefined && Date.now() - first < SNAPSHOT_GRACE_MS && !app.pendingResync;
  if (!snapshot) toast(item);
}

function toast(item) {
  const urgent = item.level === 'error' || item.level === 'critical';
  const close = h('button', { type: 'button', class: 'toast-close', 'aria-label': `Dismiss: ${item.message}`, text: '×' });
  const box = h(
    'div',
    { class: `toast level-${item.level}`, role: urgent ? 'alert' : 'status' },
    h('p', { class: 'toast-title', text: `${item.kind} · ${item.level}` }),
    h('p', { class: 'toast-text', text: item.message }),
    close,
  );
  close.addEventListener('click', () => box.remove());
  $('toasts').append(box);
  while ($('toasts').children.length > 4) $('toasts').firstElementChild.remove();
  if (!urgent) setTimeout(() => box.remove(), 10_000);
}

// -- the channels --------------------------------------------------------------------------

const HANDLERS = {
  [CH.sales]: { SalesUpdated: renderSales, SaleCompleted: renderLastSale },
  [CH.invoices]: {
    InvoiceCreated: (d) => renderInvoices(d.latest),
    InvoiceUpdated: (d) => renderInvoices(d.latest),
    InvoiceDeleted: (d) => renderInvoices(d.latest),
    LatestInvoicesUpdated: (d) => renderInvoices(d.latest),
  },
  [CH.users]: { ActiveUsersUpdated: renderUsers },
  [CH.tracks]: { PopularTracksUpdated: renderTracks },
};

function onEvent(channel, event, data) {
  if (event.startsWith('pusher:') || event.startsWith('pusher_internal:')) return;
  if (event === 'chinook:resync') {
    // The edge could not replay from our last_seq: the current state follows, whatever its seq.
    app.lastSeq.set(channel, 0);
    app.missedReplaced = true;
    // it follows the channel's subscription_succeeded: the pill may already say "resynced"
    if ($('connection').dataset.state === 'resynced') showResynced();
    return;
  }
  const seq = data && typeof data === 'object' ? data.seq : undefined;
  if (typeof seq === 'number') {
    if (seq <= (app.lastSeq.get(channel) || 0)) return; // already applied
    app.lastSeq.set(channel, seq);
  }
  try {
    const handler = HANDLERS[channel]?.[event];
    if (handler) handler(data);
    else if (channel === CH.notifications || channel === CH.alerts) addFeed(channel, event, data);
  } catch (err) {
    console.error(`cannot show ${event} on ${channel}`, err);
    cardsOf(channel, 'error', `Could not show the latest ${event}: ${err.message}`);
  }
}

function subscribe(pusher, channelName) {
  const channel = pusher.subscribe(channelName);
  channel.bind('pusher:subscription_succeeded', () => {
    if (!app.firstSubscribedAt.has(channelName)) app.firstSubscribedAt.set(channelName, Date.now());
    if (channelName === CH.notifications || channelName === CH.alerts) {
      cardsOf(channelName, 'ready');
      // arrivals until then are the channels' current state: listed, not toasted
      const card = $('card-alerts');
      const after = app.firstSubscribedAt.get(channelName) + SNAPSHOT_GRACE_MS;
      card.dataset.liveAfter = String(Math.max(after, Number(card.dataset.liveAfter || 0)));
    }
    resubscribed(channelName);
  });
  channel.bind('pusher:subscription_error', (err) => {
    const status = err && err.status;
    if (status === 401) {
      signOut('Your token is no longer valid (revoked or unknown). Sign in with a new one.');
      return;
    }
    if (status === 403) {
      cardsOf(channelName, 'denied', 'Not allowed: this widget needs the admin role.');
      const banner = $('access-banner');
      banner.textContent =
        `You are signed in as ${app.user?.name || 'a user'} (${app.user?.role || 'unknown role'}), who is not allowed ` +
        'to see the store widgets below. Sign out and use an admin token to see them.';
      banner.hidden = false;
    } else {
      cardsOf(channelName, 'error', `Could not subscribe: ${(err && (err.error || err.type)) || 'unknown error'}.`);
    }
    resubscribed(channelName);
  });
  channel.bind_global((event, data) => onEvent(channelName, event, data));
}

function connect() {
  const cfg = app.config;
  const pusher = new window.Pusher(cfg.app_key, {
    wsHost: cfg.ws_host || location.hostname,
    wsPort: cfg.ws_port || Number(location.port) || 80,
    wssPort: cfg.ws_port || Number(location.port) || 443,
    forceTLS: cfg.force_tls,
    enabledTransports: ['ws', 'wss'],
    disableStats: true,
    cluster: 'mt1',
    channelAuthorization: {
      endpoint: cfg.auth_endpoint,
      transport: 'ajax',
      headers: { Authorization: `Bearer ${app.token}` },
    },
  });
  // Resume: pusher-js resubscribes by itself after a reconnect; add the last seq we applied so the
  // edge replays only what we missed (protocol extension, see docs/edge.md).
  const send = pusher.send_event.bind(pusher);
  pusher.send_event = (name, data, channel) => {
    if (name === 'pusher:subscribe' && data && app.lastSeq.get(data.channel) > 0) {
      data = { ...data, last_seq: app.lastSeq.get(data.channel) };
    }
    return send(name, data, channel);
  };
  pusher.connection.bind('state_change', onConnectionChange);
  pusher.connection.bind('error', (err) => {
    const message = err?.data?.message || err?.error?.data?.message;
    if (message) showConnection('offline', `Connection refused: ${message}`);
  });
  for (const name of Object.values(CH)) subscribe(pusher, name);
  app.pusher = pusher;
}

// -- sign in / out ---------------------------------------------------------------------------

async function whoami(token) {
  const res = await fetch(app.config.whoami_endpoint, { headers: { Authorization: `Bearer ${token}` }, cache: 'no-store' });
  if (res.status === 401) return { error: 'This token is unknown or has been revoked.' };
  if (!res.ok) return { error: `The server could not check the token (HTTP ${res.status}). Try again shortly.` };
  return { user: await res.json() };
}

function resetWidgets() {
  app.lastSeq.clear();
  app.firstSubscribedAt.clear();
  app.pendingResync = null;
  app.everConnected = false;
  app.sales = null;
  app.invoiceIds = null;
  delete $('card-alerts').dataset.liveAfter;
  for (const card of document.querySelectorAll('#dashboard .card')) {
    card.querySelector(':scope > .card-body').hidden = false;
    setCardState(card.id, 'loading', 'Waiting for the first live update…');
  }
  for (const id of ['sales-total', 'users-count']) {
    $(id).textContent = '—';
    delete $(id).dataset.value;
  }
  for (const id of ['sales-count', 'sales-day', 'last-sale', 'users-window']) $(id).textContent = '';
  for (const id of ['sales-chart', 'alerts-list', 'country-list', 'genre-list', 'tracks-list']) $(id).replaceChildren();
  $('invoices-table').tBodies[0].replaceChildren();
  $('hourly-table').tBodies[0].replaceChildren();
  $('alerts-empty').hidden = false;
  $('access-banner').hidden = true;
  $('toasts').replaceChildren();
}

function showSignIn(message = '') {
  $('dashboard').hidden = true;
  $('signin').hidden = false;
  $('who').hidden = true;
  $('sign-out').hidden = true;
  $('signin-error').textContent = message;
  showConnection('offline', 'Not connected');
  $('token').focus();
}

async function signIn(token) {
  token = token.trim();
  if (!token) {
    showSignIn('Paste a token first.');
    return;
  }
  let result;
  try {
    result = await whoami(token);
  } catch {
    result = { error: 'Cannot reach the server. Is the edge running?' };
  }
  if (result.error) {
    sessionStorage.removeItem(TOKEN_KEY);
    showSignIn(result.error);
    return;
  }
  app.token = token;
  app.user = result.user;
  sessionStorage.setItem(TOKEN_KEY, token);
  $('token').value = '';
  $('signin').hidden = true;
  $('dashboard').hidden = false;
  $('who').hidden = false;
  $('who').textContent = `${app.user.name} · ${app.user.role}`;
  $('sign-out').hidden = false;
  resetWidgets();
  showConnection('connecting', 'Connecting…');
  connect();
}

function signOut(message = '') {
  if (app.pusher) {
    app.pusher.disconnect();
    app.pusher = null;
  }
  sessionStorage.removeItem(TOKEN_KEY);
  app.token = null;
  app.user = null;
  resetWidgets();
  showSignIn(message);
}

// -- start -----------------------------------------------------------------------------------

async function start() {
  try {
    const res = await fetch('/config.json', { cache: 'no-store' });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    app.config = await res.json();
  } catch (err) {
    showSignIn(`Cannot load the dashboard's settings (${err.message}).`);
    return;
  }
  if (!window.Pusher) {
    showSignIn('pusher-js is missing on the server: run `npm ci --prefix web` and reload.');
    return;
  }
  $('signin-form').addEventListener('submit', (e) => {
    e.preventDefault();
    signIn($('token').value);
  });
  $('sign-out').addEventListener('click', () => signOut('Signed out.'));
  let lastWidth = 0;
  new ResizeObserver(() => {
    const w = $('sales-chart').clientWidth;
    if (Math.abs(w - lastWidth) > 4) {
      lastWidth = w;
      drawChart();
    }
  }).observe($('sales-chart'));
  setInterval(expireNewRows, 1_000);
  // keep the "current hour" highlight right when the hour turns
  setInterval(drawChart, 60_000);
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) await signIn(saved);
  else showSignIn();
}

start();
