// The page's shell: the WebSocket to `shuaka sim --web`, and one module per device kind.
//
// Protocol (host-sim/src/web/web_server.ts): the server sends `hello` (every device with its
// kind, fixed info and state), then `state` when a device's state changes and `events` as they
// happen; the page sends `{device, verb, args}` and gets a `result`. A device kind is drawn by
// `device_<kind>.js`, which exports `mountDevice(root, device, api)`; adding a kind (the gate)
// adds a module here and changes nothing in this file.

import { BeepPlayer } from './audio.js';

const devicesRoot = document.getElementById('devices');
const link = document.getElementById('link');
const soundButton = document.getElementById('sound');
const beeps = new BeepPlayer();
const mounted = new Map();
const pending = [];
let socket = null;

/** What tests and curious people can read: the beeps really played, LED changes, results. */
window.shuaka = { beeps: beeps.log, leds: [], results: [], ready: false };

function setLink(state, text) {
  link.dataset.state = state;
  link.textContent = text;
}

function unlockAudio() {
  beeps.unlock();
  soundButton.textContent = `sound: ${beeps.state()}`;
}
soundButton.addEventListener('click', unlockAudio);
// Any click on the page counts as the gesture browsers require before audio plays.
document.addEventListener('pointerdown', unlockAudio, { capture: true });

/** Sends an action; resolves with the server's result for it. */
function act(device, verb, args) {
  return new Promise((resolve) => {
    pending.push(resolve);
    socket.send(JSON.stringify({ device, verb, args }));
  });
}

async function mount(device) {
  const root = document.createElement('section');
  root.className = `device device-${device.kind}`;
  root.dataset.device = device.id;
  devicesRoot.append(root);
  const module = await import(`./device_${device.kind}.js`);
  const view = module.mountDevice(root, device, { act: (verb, args) => act(device.id, verb, args) });
  mounted.set(device.id, view);
  view.update(device.state);
}

function onEvents(id, events) {
  for (const event of events) {
    if (event.type === 'indicator') {
      beeps.edge(id, event);
      window.shuaka.leds.push({ device: id, atMs: event.atMs, green: event.green, red: event.red });
    }
  }
  mounted.get(id)?.events(events);
}

async function onMessage(message) {
  switch (message.type) {
    case 'hello':
      devicesRoot.replaceChildren();
      mounted.clear();
      for (const device of message.devices) await mount(device);
      window.shuaka.ready = true;
      break;
    case 'state':
      mounted.get(message.device)?.update(message.state);
      break;
    case 'events':
      onEvents(message.device, message.events);
      break;
    case 'result':
      window.shuaka.results.push(message);
      pending.shift()?.(message);
      break;
    default:
      console.warn('unknown message', message);
  }
}

function connect() {
  const url = new URL('ws', window.location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  socket = new WebSocket(url);
  let queue = Promise.resolve();
  socket.addEventListener('open', () => setLink('open', 'live'));
  socket.addEventListener('message', (e) => {
    const message = JSON.parse(e.data);
    // In order: a state must not overtake the hello that mounts its device.
    queue = queue.then(() => onMessage(message));
  });
  socket.addEventListener('close', () => {
    setLink('closed', 'disconnected: is `shuaka sim --web` still running?');
    window.shuaka.ready = false;
  });
}

connect();
