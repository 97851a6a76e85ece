// The example's front end: starts the embedded server through the plugin, then joins a room with mediasoup-client
// over ferrosoup's signaling protocol (docs/protocol.md): send camera + microphone, receive everyone else.
//
// Tauri's API comes from window.__TAURI__ (tauri.conf.json: app.withGlobalTauri), so only mediasoup-client is bundled.

import { Device } from 'mediasoup-client';

const { invoke } = window.__TAURI__.core;
const { listen } = window.__TAURI__.event;

const $ = (id) => document.getElementById(id);
const log = (text) => {
  $('log').textContent += `${new Date().toLocaleTimeString()} ${text}\n`;
  $('log').scrollTop = $('log').scrollHeight;
};
$('name').value = `teacher-${Math.random().toString(36).slice(2, 6)}`;

// ---------------------------------------------------------------------------------------------------------------------
// The plugin: commands and events.

let server = null; // { url, signalingUrl, mediaPort, mediaAddresses } while running

function showServer(info) {
  server = info;
  $('state').textContent = info ? 'running' : 'stopped';
  $('urls').innerHTML = info
    ? `signaling <code>${info.signalingUrl}</code> media udp <code>${info.mediaAddresses.join(', ')}</code>`
    : '';
}

async function startServer() {
  try {
    showServer(await invoke('plugin:ferrosoup|start')); // a second start returns the same addresses
  } catch (e) {
    log(`start failed: ${e}`);
  }
}

$('start').onclick = startServer;
$('stop').onclick = () => invoke('plugin:ferrosoup|stop').catch((e) => log(`stop failed: ${e}`));
$('status').onclick = async () => log(`status ${JSON.stringify(await invoke('plugin:ferrosoup|status'))}`);
// Closing the last window exits the app; the plugin then stops the server (rooms closed, ports released).
$('quit').onclick = () => window.__TAURI__.window.getCurrentWindow().close();

listen('ferrosoup://started', (e) => { log(`started ${e.payload.url}`); showServer(e.payload); });
listen('ferrosoup://stopped', () => { log('stopped'); showServer(null); leave(); $('counts').textContent = ''; });
listen('ferrosoup://peer-joined', (e) => log(`peer joined ${e.payload.roomId}: ${e.payload.displayName}`));
listen('ferrosoup://peer-left', (e) => log(`peer left ${e.payload.roomId}: ${e.payload.peerId}`));

// ---------------------------------------------------------------------------------------------------------------------
// Signaling: one WebSocket, JSON requests with ids, replies matched by id, notifications by type.

let ws = null;
let nextId = 1;
const pending = new Map();
const handlers = {};

function connect(url) {
  return new Promise((resolve, reject) => {
    ws = new WebSocket(url);
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error(`cannot connect to ${url}`));
    ws.onclose = () => { for (const p of pending.values()) p.reject(new Error('connection closed')); pending.clear(); };
    ws.onmessage = (event) => {
      const msg = JSON.parse(event.data);
      if (msg.id !== undefined && pending.has(msg.id)) {
        const p = pending.get(msg.id);
        pending.delete(msg.id);
        if (msg.type === 'error') p.reject(new Error(`${msg.error.code}: ${msg.error.message}`));
        else p.resolve(msg.data);
      } else if (handlers[msg.type]) {
        handlers[msg.type](msg.data);
      }
    };
  });
}

function request(type, params = {}) {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    ws.send(JSON.stringify({ id, type, ...params }));
  });
}

// ---------------------------------------------------------------------------------------------------------------------
// mediasoup-client.

let device, sendTransport, recvTransport;
const consumers = new Map(); // producerId -> { consumer, figure }

async function createTransport(direction) {
  const params = await request('createWebRtcTransport', { direction });
  const transport = direction === 'send' ? device.createSendTransport(params) : device.createRecvTransport(params);
  transport.on('connect', ({ dtlsParameters }, ok, fail) =>
    request('connectWebRtcTransport', { transportId: transport.id, dtlsParameters }).then(ok, fail));
  if (direction === 'send') {
    transport.on('produce', ({ kind, rtpParameters, appData }, ok, fail) =>
      request('produce', { transportId: transport.id, kind, rtpParameters, appData }).then(({ id }) => ok({ id }), fail));
  }
  return transport;
}

function addVideo(key, label, track, muted) {
  let figure = document.querySelector(`figure[data-key="${key}"]`);
  if (!figure) {
    figure = document.createElement('figure');
    figure.dataset.key = key;
    figure.innerHTML = '<video autoplay playsinline></video><figcaption></figcaption>';
    figure.querySelector('figcaption').textContent = label;
    $('videos').append(figure);
  }
  const video = figure.querySelector('video');
  video.muted = muted;
  const stream = video.srcObject || new MediaStream();
  stream.addTrack(track);
  video.srcObject = stream;
  video.play().catch(() => {});
  return figure;
}

async function consume({ producerId, peerId }) {
  const data = await request('consume', { transportId: recvTransport.id, producerId });
  const consumer = await recvTransport.consume(data);
  const figure = addVideo(peerId, peerId.slice(0, 8), consumer.track, false);
  consumers.set(producerId, { consumer, figure });
  await request('resumeConsumer', { consumerId: consumer.id }); // consumers start paused
}

function dropConsumer(producerId) {
  const entry = consumers.get(producerId);
  if (!entry) return;
  consumers.delete(producerId);
  entry.consumer.close();
  const others = [...consumers.values()].some((c) => c.figure === entry.figure);
  if (!others) entry.figure.remove();
}

handlers.newProducer = (p) => consume(p).catch((e) => log(`consume failed: ${e.message}`));
handlers.producerClosed = ({ producerId }) => dropConsumer(producerId);
handlers.consumerClosed = ({ producerId }) => dropConsumer(producerId);
handlers.peerJoined = ({ displayName }) => log(`${displayName} is here`);
handlers.peerLeft = ({ peerId }) => log(`${peerId.slice(0, 8)} left`);

async function join() {
  if (!server) await startServer();
  if (!server) return;
  $('join').disabled = true;
  try {
    await connect(server.signalingUrl);
    const roomId = $('room').value;
    device = new Device();
    await device.load({ routerRtpCapabilities: await request('getRouterRtpCapabilities', { roomId }) });
    const joined = await request('join', {
      roomId,
      displayName: $('name').value,
      rtpCapabilities: device.rtpCapabilities,
    });
    log(`joined ${roomId} as ${joined.peerId.slice(0, 8)} with ${joined.peers.length} other(s)`);
    recvTransport = await createTransport('recv');
    for (const p of joined.producers) await consume(p);

    sendTransport = await createTransport('send');
    try {
      const media = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480 } });
      for (const track of media.getTracks()) {
        await sendTransport.produce({ track });
        if (track.kind === 'video') addVideo('me', `${$('name').value} (you)`, track, true);
      }
    } catch (e) {
      log(`no camera/microphone (${e.message}): receiving only`);
    }
    $('leave').disabled = false;
  } catch (e) {
    log(`join failed: ${e.message}`);
    leave();
  }
}

function leave() {
  for (const producerId of [...consumers.keys()]) dropConsumer(producerId);
  sendTransport?.close();
  recvTransport?.close();
  sendTransport = recvTransport = null;
  ws?.close();
  ws = null;
  $('videos').replaceChildren();
  $('join').disabled = false;
  $('leave').disabled = true;
}

$('join').onclick = join;
$('leave').onclick = leave;
setInterval(async () => {
  if (!server) return;
  const s = await invoke('plugin:ferrosoup|status');
  $('counts').textContent = `${s.rooms} room(s), ${s.peers} peer(s), ${s.producers} producer(s), ${s.consumers} consumer(s)`;
}, 2000);

startServer();
