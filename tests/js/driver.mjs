// Drives pusher-js (the real npm package, Node build) for the Python integration tests.
// Reads one JSON command per line on stdin, writes one JSON report per line on stdout.
//   {"op":"connect","client":"a","key":"...","host":"127.0.0.1","port":8000,"token":"...","userId":"1"}
//   {"op":"subscribe","client":"a","channel":"private-admin.sales"}
//   {"op":"unsubscribe","client":"a","channel":"..."}
//   {"op":"trigger","client":"a","channel":"...","event":"client-x","data":{}}
//   {"op":"signin","client":"a"}             (pusher:signin through /broadcasting/user-auth)
//   {"op":"disconnect","client":"a"}
//   {"op":"exit"}
import { createRequire } from 'node:module';
import readline from 'node:readline';

const require = createRequire(import.meta.url);
const Pusher = require('pusher-js');

const clients = new Map();
const report = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');

function connect(cmd) {
  const headers = cmd.token ? { Authorization: `Bearer ${cmd.token}` } : {};
  const pusher = new Pusher(cmd.key, {
    wsHost: cmd.host,
    wsPort: cmd.port,
    forceTLS: false,
    enabledTransports: ['ws'],
    disableStats: true,
    cluster: 'mt1',
    channelAuthorization: {
      endpoint: `http://${cmd.host}:${cmd.port}/broadcasting/auth`,
      transport: 'ajax',
      headers,
    },
    userAuthentication: {
      endpoint: `http://${cmd.host}:${cmd.port}/broadcasting/user-auth`,
      transport: 'ajax',
      headers,
    },
  });
  const client = cmd.client;
  clients.set(client, pusher);
  pusher.connection.bind('state_change', (s) =>
    report({ client, type: 'state', previous: s.previous, current: s.current, socket_id: pusher.connection.socket_id }),
  );
  pusher.connection.bind('message', (event) => {
    if (event.event === 'pusher:signin_success') report({ client, type: 'signin_success', data: event.data });
    if (event.event === 'pusher_internal:subscription_succeeded' && event.channel && event.channel.startsWith('#')) {
      report({ client, type: 'user_channel_subscribed', channel: event.channel });
    }
  });
  pusher.user.bind_global((event, data) => report({ client, type: 'user_event', event, data }));
  pusher.connection.bind('error', (err) =>
    report({ client, type: 'error', error: err && err.data ? err.data : String(err && err.type) }),
  );
}

function subscribe(cmd) {
  const pusher = clients.get(cmd.client);
  const channel = pusher.subscribe(cmd.channel);
  const base = { client: cmd.client, channel: cmd.channel };
  channel.bind('pusher:subscription_succeeded', (data) => report({ ...base, type: 'subscribed', data }));
  channel.bind('pusher:subscription_error', (data) => report({ ...base, type: 'subscription_error', data }));
  channel.bind('pusher:member_added', (member) => report({ ...base, type: 'member_added', member }));
  channel.bind('pusher:member_removed', (member) => report({ ...base, type: 'member_removed', member }));
  channel.bind('pusher:cache_miss', () => report({ ...base, type: 'cache_miss' }));
  channel.bind_global((event, data) => {
    if (!event.startsWith('pusher:') && !event.startsWith('pusher_internal:')) {
      report({ ...base, type: 'event', event, data });
    }
  });
}

const ops = {
  connect,
  subscribe,
  signin: (cmd) => clients.get(cmd.client).signin(),
  unsubscribe: (cmd) => clients.get(cmd.client).unsubscribe(cmd.channel),
  trigger: (cmd) => clients.get(cmd.client).channel(cmd.channel).trigger(cmd.event, cmd.data),
  disconnect: (cmd) => {
    clients.get(cmd.client).disconnect();
    clients.delete(cmd.client);
  },
  exit: () => {
    for (const pusher of clients.values()) pusher.disconnect();
    process.exit(0);
  },
};

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
  if (!line.trim()) return;
  let cmd;
  try {
    cmd = JSON.parse(line);
    ops[cmd.op](cmd);
    report({ type: 'ack', op: cmd.op, client: cmd.client });
  } catch (e) {
    report({ type: 'driver_error', error: String(e), line });
  }
});
rl.on('close', () => process.exit(0));
report({ type: 'ready', pusher: Pusher.VERSION });
