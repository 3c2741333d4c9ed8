// Drives Laravel Echo (the real npm package, broadcaster "pusher" over pusher-js) for the Python
// integration tests, configured as the original design's resources/js/echo.js: window.Pusher set,
// an `authorizer` posting {socket_id, channel_name} as JSON with the user's bearer token.
// Reads one JSON command per line on stdin, writes one JSON report per line on stdout.
//   {"op":"connect","client":"a","key":"...","host":"127.0.0.1","port":8000,"token":"..."}
//   {"op":"private","client":"a","channel":"admin.invoices","event":".InvoiceCreated"}   Echo.private().listen()
//   {"op":"listenToAll","client":"a","channel":"admin.invoices"}                       private(...).listenToAll()
//   {"op":"join","client":"a","channel":"dashboard"}                                   Echo.join() here/joining/leaving
//   {"op":"leave","client":"a","channel":"dashboard"}
//   {"op":"signin","client":"a"}                    Echo's signin; user events are reported as user_event
//   {"op":"disconnect","client":"a"}
//   {"op":"exit"}
import { createRequire } from 'node:module';
import readline from 'node:readline';
import Echo from 'laravel-echo';

const require = createRequire(import.meta.url);
const Pusher = require('pusher-js');

globalThis.window = { Pusher }; // as `window.Pusher = Pusher` in resources/js/echo.js

const clients = new Map();
const report = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');

function connect(cmd) {
  const base = `http://${cmd.host}:${cmd.port}`;
  const client = cmd.client;
  const echo = new Echo({
    broadcaster: 'pusher',
    key: cmd.key,
    cluster: 'mt1',
    wsHost: cmd.host,
    wsPort: cmd.port,
    wssPort: cmd.port,
    forceTLS: false,
    enabledTransports: ['ws', 'wss'],
    disableStats: true,
    bearerToken: cmd.token || null, // Echo puts it on the user-authentication request
    userAuthentication: { endpoint: `${base}/broadcasting/user-auth`, headers: {} },
    authorizer: (channel) => ({
      authorize: (socketId, callback) => {
        fetch(`${base}/broadcasting/auth`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', ...(cmd.token ? { Authorization: `Bearer ${cmd.token}` } : {}) },
          body: JSON.stringify({ socket_id: socketId, channel_name: channel.name }),
        })
          .then(async (response) => {
            if (!response.ok) throw new Error(`auth ${response.status}`);
            callback(false, await response.json());
          })
          .catch((error) => callback(true, error));
      },
    }),
  });
  clients.set(client, echo);
  const pusher = echo.connector.pusher;
  pusher.connection.bind('message', (event) => {
    if (event.event === 'pusher_internal:subscription_succeeded' && event.channel && event.channel.startsWith('#')) {
      report({ client, type: 'user_channel_subscribed', channel: event.channel });
    }
  });
  pusher.user.bind_global((event, data) => report({ client, type: 'user_event', event, data }));
  pusher.connection.bind('state_change', (s) =>
    report({ client, type: 'state', previous: s.previous, current: s.current, socket_id: echo.socketId() }),
  );
}

const ops = {
  connect,
  private: (cmd) => {
    const base = { client: cmd.client, channel: cmd.channel };
    clients
      .get(cmd.client)
      .private(cmd.channel)
      .subscribed(() => report({ ...base, type: 'subscribed' }))
      .error((error) => report({ ...base, type: 'subscription_error', error }))
      .listen(cmd.event, (data) => report({ ...base, type: 'event', event: cmd.event, data }));
  },
  listenToAll: (cmd) => {
    const base = { client: cmd.client, channel: cmd.channel };
    clients
      .get(cmd.client)
      .private(cmd.channel)
      .listenToAll((event, data) => report({ ...base, type: 'any_event', event, data }));
  },
  join: (cmd) => {
    const base = { client: cmd.client, channel: cmd.channel };
    clients
      .get(cmd.client)
      .join(cmd.channel)
      .here((members) => report({ ...base, type: 'here', members }))
      .joining((member) => report({ ...base, type: 'joining', member }))
      .leaving((member) => report({ ...base, type: 'leaving', member }))
      .error((error) => report({ ...base, type: 'subscription_error', error }));
  },
  leave: (cmd) => clients.get(cmd.client).leave(cmd.channel),
  signin: (cmd) => clients.get(cmd.client).connector.signin(),
  disconnect: (cmd) => {
    clients.get(cmd.client).disconnect();
    clients.delete(cmd.client);
  },
  exit: () => {
    for (const echo of clients.values()) echo.disconnect();
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
report({ type: 'ready', pusher: Pusher.VERSION, echo: true });
