// ferrosoup demo page: mediasoup-client against ferrosoup's WebSocket signaling (docs/protocol.md).
//
// Query parameters:
//   room     room id (default "demo")
//   name     display name (default: a random "guest-xxxx")
//   publish  1 (default) to send camera + microphone, 0 to only receive
//   codec    vp8 | vp9 | h264 | av1: force the video codec of the video producer
//   audio    0 to not send audio
//   video    0 to not send video
//   ws       WebSocket URL override (default: ws(s)://<page host>/ws)
//   simulcast 1 to send video as 3 simulcast encodings (rid r0/r1/r2, L1T3, 1/4, 1/2 and full resolution)
//   svc      a scalability mode (e.g. L3T3_KEY) to send one SVC encoding (VP9)
//   width, height  camera resolution to ask for (default 640x480)
//   abscapture 1 to negotiate the abs-capture-time header extension (headerExtensionOptions)
//   token    a join token (JWT) for a server started with --auth-secret
//   source   screen to label the video producer a screen share (appData.source)
//
// Test hooks live on window.ferrosoup (see the bottom of this file).

import { Device } from 'mediasoup-client';

const params = new URLSearchParams(location.search);
const ROOM_ID = params.get('room') || 'demo';
const DISPLAY_NAME = params.get('name') || `guest-${Math.random().toString(36).slice(2, 6)}`;
const PUBLISH = params.get('publish') !== '0';
const SEND_AUDIO = PUBLISH && params.get('audio') !== '0';
const SEND_VIDEO = PUBLISH && params.get('video') !== '0';
const FORCED_CODEC = (params.get('codec') || '').toLowerCase();
const SIMULCAST = params.get('simulcast') === '1';
const SVC_MODE = params.get('svc') || '';
const CAMERA_WIDTH = Number(params.get('width')) || 640;
const CAMERA_HEIGHT = Number(params.get('height')) || 480;
const ABS_CAPTURE_TIME = params.get('abscapture') === '1';
// What the video is, for the server (`screen` gets screen-share treatment; here only a label, for tests).
const VIDEO_SOURCE = params.get('source') === 'screen' ? 'screen' : 'webcam';
// A join token for servers started with --auth-secret (docs/protocol.md, Access control).
const TOKEN = params.get('token') || undefined;
const WS_URL = params.get('ws') || `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;

const REQUEST_TIMEOUT_MS = 15000;

// ---------------------------------------------------------------------------------------------------------------------
// UI helpers

const $ = (id) => document.getElementById(id);
const tilesEl = $('tiles');

function setStatus(text, cls = '') {
  const el = $('status');
  el.textContent = text;
  el.className = cls;
}

function updateEmptyHint() {
  const anyRemote = tilesEl.querySelector('.tile.remote');
  $('empty').style.display = anyRemote ? 'none' : '';
}

function makeTile(key, name, local) {
  const tile = document.createElement('section');
  tile.className = `tile ${local ? 'local' : 'remote'}`;
  tile.dataset.key = key;
  const label = document.createElement('div');
  label.className = 'label';
  const nameEl = document.createElement('span');
  nameEl.className = 'name';
  nameEl.textContent = name;
  const kindsEl = document.createElement('span');
  kindsEl.className = 'kinds';
  label.append(nameEl, kindsEl);
  const placeholder = document.createElement('div');
  placeholder.className = 'placeholder';
  placeholder.textContent = (name || '?').slice(0, 1);
  tile.append(placeholder, label);
  if (local) {
    tilesEl.prepend(tile);
  } else {
    tilesEl.append(tile);
  }
  return tile;
}

function refreshTileKinds(tile) {
  const kinds = [];
  if (tile.querySelector('video')) kinds.push('video');
  if (tile.querySelector('audio')) kinds.push('audio');
  tile.querySelector('.kinds').textContent = kinds.length ? kinds.join(' + ') : 'no media';
}

// Audio that the browser refused to autoplay waits here for a click.
const blockedMedia = new Set();
$('enable-audio').addEventListener('click', () => {
  for (const el of blockedMedia) el.play().catch(() => {});
  blockedMedia.clear();
  $('enable-audio').classList.remove('visible');
});

function playMedia(el) {
  const p = el.play();
  if (p && p.catch) {
    p.catch((err) => {
      if (err && err.name === 'NotAllowedError') {
        blockedMedia.add(el);
        $('enable-audio').classList.add('visible');
      }
    });
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Signaling: one WebSocket, a promise per request, notifications dispatched by type.

const notifications = [];
// A timeline of what happened, for diagnostics: [{t: ms since page start, event}].
const events = [];
function logEvent(event) {
  events.push({ t: Math.round(performance.now()), event });
}
const pending = new Map(); // id -> {resolve, reject, timer, type}
let nextId = 1;
let ws;
let wsOpen;
const notificationHandlers = new Map();

function connect() {
  ws = new WebSocket(WS_URL);
  wsOpen = new Promise((resolve, reject) => {
    ws.addEventListener('open', () => resolve(), { once: true });
    ws.addEventListener('error', () => reject(new Error(`WebSocket to ${WS_URL} failed`)), { once: true });
  });
  ws.addEventListener('message', (ev) => {
    let msg;
    try {
      msg = JSON.parse(ev.data);
    } catch (err) {
      console.warn('ferrosoup: non-JSON message from server', ev.data);
      return;
    }
    if (msg && msg.id !== undefined && msg.id !== null) {
      const p = pending.get(msg.id);
      if (!p) {
        console.warn('ferrosoup: reply to an unknown request', msg);
        return;
      }
      pending.delete(msg.id);
      clearTimeout(p.timer);
      if (msg.type === 'error') {
        const e = msg.error || {};
        const err = new Error(`${p.type}: ${e.code || 'error'}: ${e.message || ''}`);
        err.code = e.code;
        err.reply = msg;
        p.reject(err);
      } else {
        p.resolve(msg.data === undefined ? {} : msg.data);
      }
      return;
    }
    // No id: a notification.
    notifications.push(msg);
    logEvent(`notification ${msg.type}`);
    const handler = notificationHandlers.get(msg.type);
    if (handler) {
      Promise.resolve()
        .then(() => handler(msg.data || {}))
        .catch((err) => console.error(`ferrosoup: handling ${msg.type} failed:`, err));
    }
  });
  ws.addEventListener('close', (ev) => {
    for (const [, p] of pending) {
      clearTimeout(p.timer);
      p.reject(new Error(`${p.type}: WebSocket closed`));
    }
    pending.clear();
    setStatus(`disconnected (code ${ev.code})`, 'error');
  });
  return wsOpen;
}

function request(type, data = {}) {
  if (!ws || ws.readyState !== WebSocket.OPEN) {
    return Promise.reject(new Error(`${type}: WebSocket is not open`));
  }
  const id = nextId++;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      pending.delete(id);
      reject(new Error(`${type}: no reply within ${REQUEST_TIMEOUT_MS} ms`));
    }, REQUEST_TIMEOUT_MS);
    pending.set(id, { resolve, reject, timer, type });
    ws.send(JSON.stringify({ ...data, id, type }));
  });
}

// ---------------------------------------------------------------------------------------------------------------------
// Media state

const state = {
  device: null,
  peerId: null,
  sendTransport: null,
  recvTransport: null,
  localStream: null,
  producers: {}, // kind -> producer id
  producerObjects: new Map(), // producer id -> mediasoup-client Producer
  layersNeeded: new Map(), // producer id -> highest spatial layer anyone needs (null: none), from the server
  consumers: [], // {id, producerId, peerId, kind, track, consumer, element}
  consumedProducers: new Set(),
  peers: new Map(), // peerId -> {displayName, tile}
};

let resolveRecvReady;
const recvReady = new Promise((resolve) => { resolveRecvReady = resolve; });

function peerTile(peerId) {
  let peer = state.peers.get(peerId);
  if (!peer) {
    peer = { displayName: peerId ? `peer ${peerId.slice(0, 8)}` : 'unknown peer', tile: null };
    state.peers.set(peerId, peer);
  }
  if (!peer.tile) {
    peer.tile = makeTile(peerId, peer.displayName, false);
    refreshTileKinds(peer.tile);
    updateEmptyHint();
  }
  return peer.tile;
}

function removePeer(peerId) {
  const peer = state.peers.get(peerId);
  for (const c of [...state.consumers]) {
    if (c.peerId === peerId) closeConsumerLocally(c);
  }
  if (peer && peer.tile) peer.tile.remove();
  state.peers.delete(peerId);
  updateEmptyHint();
}

function updateCountsStatus() {
  const p = Object.keys(state.producers).length;
  const c = state.consumers.length;
  setStatus(`connected · ${p} producer${p === 1 ? '' : 's'} · ${c} consumer${c === 1 ? '' : 's'}`, 'ok');
}

function closeConsumerLocally(entry) {
  const idx = state.consumers.indexOf(entry);
  if (idx === -1) return;
  state.consumers.splice(idx, 1);
  state.consumedProducers.delete(entry.producerId);
  try {
    entry.consumer.close();
  } catch (err) {
    console.warn('ferrosoup: consumer.close() failed', err);
  }
  if (entry.element) {
    blockedMedia.delete(entry.element);
    entry.element.srcObject = null;
    const tile = entry.element.closest('.tile');
    entry.element.remove();
    if (tile) refreshTileKinds(tile);
  }
  updateCountsStatus();
}

async function consumeProducer({ producerId, peerId, kind }) {
  if (state.consumedProducers.has(producerId)) return;
  state.consumedProducers.add(producerId);
  try {
    await recvReady;
    const data = await request('consume', {
      transportId: state.recvTransport.id,
      producerId,
      rtpCapabilities: state.device.rtpCapabilities,
    });
    // The producer may have been closed while we waited.
    if (!state.consumedProducers.has(producerId)) {
      request('closeConsumer', { consumerId: data.id }).catch(() => {});
      return;
    }
    const consumer = await state.recvTransport.consume({
      id: data.id,
      producerId: data.producerId,
      kind: data.kind,
      rtpParameters: data.rtpParameters,
      appData: { ...(data.appData || {}), peerId },
    });
    const entry = {
      id: consumer.id,
      producerId: consumer.producerId,
      peerId,
      kind: consumer.kind,
      track: consumer.track,
      consumer,
      element: null,
    };
    state.consumers.push(entry);

    const tile = peerTile(peerId);
    const el = document.createElement(consumer.kind === 'video' ? 'video' : 'audio');
    el.autoplay = true;
    el.playsInline = true;
    if (consumer.kind === 'video') el.muted = true; // sound goes through the <audio> element
    el.dataset.consumerId = consumer.id;
    el.srcObject = new MediaStream([consumer.track]);
    entry.element = el;
    if (consumer.kind === 'video') {
      tile.insertBefore(el, tile.querySelector('.placeholder'));
    } else {
      tile.append(el);
    }
    refreshTileKinds(tile);
    playMedia(el);

    consumer.on('transportclose', () => closeConsumerLocally(entry));
    consumer.on('trackended', () => closeConsumerLocally(entry));

    logEvent(`consumer ${consumer.kind} ${consumer.id} created`);
    // The server creates consumers paused; resume now that ours exists.
    await request('resumeConsumer', { consumerId: consumer.id });
    logEvent(`consumer ${consumer.kind} ${consumer.id} resumed`);
    updateCountsStatus();
  } catch (err) {
    state.consumedProducers.delete(producerId);
    console.error(`ferrosoup: consuming producer ${producerId} failed:`, err);
    setStatus(`consume failed: ${err.message}`, 'error');
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Notifications

notificationHandlers.set('peerJoined', ({ peerId, displayName }) => {
  const peer = state.peers.get(peerId);
  const name = displayName || `peer ${String(peerId).slice(0, 8)}`;
  if (peer) {
    peer.displayName = name;
    if (peer.tile) {
      peer.tile.querySelector('.name').textContent = name;
      peer.tile.querySelector('.placeholder').textContent = name.slice(0, 1);
    }
  } else {
    state.peers.set(peerId, { displayName: name, tile: null });
  }
  peerTile(peerId);
});

notificationHandlers.set('peerLeft', ({ peerId }) => removePeer(peerId));

notificationHandlers.set('newProducer', (data) => consumeProducer(data));

notificationHandlers.set('producerClosed', ({ producerId }) => {
  state.consumedProducers.delete(producerId);
  for (const c of [...state.consumers]) {
    if (c.producerId === producerId) closeConsumerLocally(c);
  }
});

notificationHandlers.set('consumerClosed', ({ consumerId }) => {
  for (const c of [...state.consumers]) {
    if (c.id === consumerId) closeConsumerLocally(c);
  }
});

// Nobody watches some layers of our video (or all of it): stop encoding and sending them until someone does.
// The server asks for more at once and for less only after a few seconds (docs/protocol.md, producerLayersNeeded).
let layerChange = Promise.resolve();
notificationHandlers.set('producerLayersNeeded', ({ producerId, spatialLayer }) => {
  // One change at a time: a sender refuses setParameters while another is pending.
  layerChange = layerChange.then(() => applyLayersNeeded(producerId, spatialLayer)).catch((err) => {
    console.error('ferrosoup: switching encodings failed:', err);
  });
  return layerChange;
});

async function applyLayersNeeded(producerId, spatialLayer) {
  const producer = state.producerObjects.get(producerId);
  if (!producer || producer.kind !== 'video' || producer.closed) return;
  state.layersNeeded.set(producerId, spatialLayer);
  for (let attempt = 0; ; attempt++) {
    const params = producer.rtpSender.getParameters();
    if (!params.encodings || params.encodings.length === 0) return;
    const simulcast = params.encodings.length > 1;
    params.encodings.forEach((encoding, i) => {
      encoding.active = spatialLayer !== null && (!simulcast || i <= spatialLayer);
    });
    try {
      await producer.rtpSender.setParameters(params);
      break;
    } catch (err) {
      if (attempt >= 2) throw err;
    }
  }
  logEvent(`video layers needed: ${spatialLayer === null ? 'none' : `up to ${spatialLayer}`}`);
}

notificationHandlers.set('producerPaused', ({ producerId }) => {
  for (const c of state.consumers) if (c.producerId === producerId) c.consumer.pause();
});

notificationHandlers.set('producerResumed', ({ producerId }) => {
  for (const c of state.consumers) if (c.producerId === producerId) c.consumer.resume();
});

// ---------------------------------------------------------------------------------------------------------------------
// Setup

function pickVideoCodec() {
  if (!FORCED_CODEC) return undefined;
  const mimeType = `video/${FORCED_CODEC}`;
  const codec = state.device.rtpCapabilities.codecs.find((c) => c.mimeType.toLowerCase() === mimeType);
  if (!codec) throw new Error(`codec ${FORCED_CODEC} is not supported by both this browser and the server`);
  return codec;
}

/** Simulcast or SVC encodings from the query, else mediasoup-client's default (one encoding). */
function videoEncodings() {
  if (SIMULCAST) {
    return [
      { rid: 'r0', scalabilityMode: 'L1T3', scaleResolutionDownBy: 4, maxBitrate: 150000 },
      { rid: 'r1', scalabilityMode: 'L1T3', scaleResolutionDownBy: 2, maxBitrate: 500000 },
      { rid: 'r2', scalabilityMode: 'L1T3', scaleResolutionDownBy: 1, maxBitrate: 1500000 },
    ];
  }
  if (SVC_MODE) return [{ scalabilityMode: SVC_MODE, maxBitrate: 1500000 }];
  return undefined;
}

function wireTransport(transport) {
  transport.on('connect', ({ dtlsParameters }, callback, errback) => {
    request('connectWebRtcTransport', { transportId: transport.id, dtlsParameters })
      .then(() => callback())
      .catch(errback);
  });
  transport.on('connectionstatechange', (s) => {
    logEvent(`${transport.direction} transport ${s}`);
    console.log(`ferrosoup: ${transport.direction} transport ${s}`);
    if (s === 'failed') setStatus(`${transport.direction} transport failed`, 'error');
  });
}

async function createTransport(direction) {
  const data = await request('createWebRtcTransport', { direction });
  const options = {
    id: data.id,
    iceParameters: data.iceParameters,
    iceCandidates: data.iceCandidates,
    dtlsParameters: data.dtlsParameters,
    sctpParameters: data.sctpParameters,
  };
  const transport = direction === 'send'
    ? state.device.createSendTransport(options)
    : state.device.createRecvTransport(options);
  wireTransport(transport);
  return transport;
}

async function main() {
  $('room-name').textContent = ROOM_ID;
  $('me').textContent = `as ${DISPLAY_NAME}${PUBLISH ? '' : ' (receive only)'}`;
  document.title = `ferrosoup · ${ROOM_ID}`;

  setStatus('connecting…');
  await connect();

  setStatus('loading device…');
  const routerRtpCapabilities = await request('getRouterRtpCapabilities', { roomId: ROOM_ID });
  state.device = await Device.factory();
  await state.device.load({ routerRtpCapabilities });
  api.device = state.device;

  setStatus('joining…');
  const joined = await request('join', {
    roomId: ROOM_ID,
    displayName: DISPLAY_NAME,
    rtpCapabilities: state.device.rtpCapabilities,
    token: TOKEN,
  });
  state.peerId = joined.peerId;
  api.peerId = joined.peerId;
  for (const p of joined.peers || []) {
    state.peers.set(p.peerId, { displayName: p.displayName || `peer ${String(p.peerId).slice(0, 8)}`, tile: null });
    peerTile(p.peerId);
  }

  setStatus('creating transports…');
  state.sendTransport = await createTransport('send');
  state.sendTransport.on('produce', ({ kind, rtpParameters, appData }, callback, errback) => {
    request('produce', { transportId: state.sendTransport.id, kind, rtpParameters, appData })
      .then(({ id }) => callback({ id }))
      .catch(errback);
  });
  state.recvTransport = await createTransport('recv');
  resolveRecvReady();

  // Consume whatever the room already has (newProducer notifications may add more concurrently).
  const initialConsumes = (joined.producers || []).map((p) => consumeProducer(p));

  if (SEND_AUDIO || SEND_VIDEO) {
    setStatus('opening camera/microphone…');
    state.localStream = await navigator.mediaDevices.getUserMedia({
      audio: SEND_AUDIO,
      video: SEND_VIDEO ? { width: { ideal: CAMERA_WIDTH }, height: { ideal: CAMERA_HEIGHT } } : false,
    });
    const localTile = makeTile('local', DISPLAY_NAME, true);
    if (SEND_VIDEO) {
      const v = document.createElement('video');
      v.autoplay = true;
      v.playsInline = true;
      v.muted = true;
      v.srcObject = new MediaStream(state.localStream.getVideoTracks());
      localTile.insertBefore(v, localTile.querySelector('.placeholder'));
      playMedia(v);
    }
    refreshTileKinds(localTile);

    setStatus('producing…');
    const audioTrack = state.localStream.getAudioTracks()[0];
    if (audioTrack) {
      const producer = await state.sendTransport.produce({ track: audioTrack, appData: { source: 'mic' } });
      state.producers.audio = producer.id;
      logEvent(`produced audio ${producer.id}`);
      state.producerObjects.set(producer.id, producer);
    }
    const videoTrack = state.localStream.getVideoTracks()[0];
    if (videoTrack) {
      const producer = await state.sendTransport.produce({
        track: videoTrack,
        codec: pickVideoCodec(),
        encodings: videoEncodings(),
        headerExtensionOptions: ABS_CAPTURE_TIME ? { absCaptureTime: true } : undefined,
        appData: { source: VIDEO_SOURCE },
      });
      state.producers.video = producer.id;
      logEvent(`produced video ${producer.id}`);
      state.producerObjects.set(producer.id, producer);
    }
  }

  await Promise.all(initialConsumes);
  updateCountsStatus();
}

// ---------------------------------------------------------------------------------------------------------------------
// Stats and test hooks

async function stats() {
  const out = { peerId: state.peerId, consumers: [] };
  for (const c of state.consumers) {
    const item = {
      id: c.id,
      kind: c.kind,
      producerId: c.producerId,
      peerId: c.peerId,
      packetsReceived: 0,
      bytesReceived: 0,
      framesDecoded: 0,
      frameWidth: 0,
      frameHeight: 0,
      mimeType: null,
      videoWidth: 0,
      videoHeight: 0,
      trackState: c.track ? c.track.readyState : null,
    };
    try {
      const report = await c.consumer.rtpReceiver.getStats();
      const byId = new Map();
      report.forEach((s) => byId.set(s.id, s));
      report.forEach((s) => {
        if (s.type !== 'inbound-rtp') return;
        item.packetsReceived = s.packetsReceived || 0;
        item.bytesReceived = s.bytesReceived || 0;
        if (s.framesDecoded !== undefined) item.framesDecoded = s.framesDecoded;
        if (s.keyFramesDecoded !== undefined) item.keyFramesDecoded = s.keyFramesDecoded;
        if (s.pliCount !== undefined) item.pliCount = s.pliCount;
        if (s.firCount !== undefined) item.firCount = s.firCount;
        if (s.nackCount !== undefined) item.nackCount = s.nackCount;
        if (s.packetsLost !== undefined) item.packetsLost = s.packetsLost;
        if (s.frameWidth !== undefined) item.frameWidth = s.frameWidth;
        if (s.frameHeight !== undefined) item.frameHeight = s.frameHeight;
        const codec = s.codecId ? byId.get(s.codecId) : undefined;
        if (codec) item.mimeType = codec.mimeType;
      });
    } catch (err) {
      item.error = String(err && err.message ? err.message : err);
    }
    if (c.element && c.kind === 'video') {
      item.videoWidth = c.element.videoWidth;
      item.videoHeight = c.element.videoHeight;
    }
    out.consumers.push(item);
  }
  return out;
}

/** Per producer: what the browser sends (outbound-rtp of its RTCRtpSender). For diagnostics. */
async function producerStats() {
  const out = [];
  for (const [id, producer] of state.producerObjects) {
    const item = { id, kind: producer.kind, paused: producer.paused, trackState: producer.track ? producer.track.readyState : null };
    try {
      const report = await producer.rtpSender.getStats();
      const byId = new Map();
      report.forEach((s) => byId.set(s.id, s));
      item.outbound = [];
      report.forEach((s) => {
        if (s.type !== 'outbound-rtp') return;
        const codec = s.codecId ? byId.get(s.codecId) : undefined;
        item.outbound.push({
          ssrc: s.ssrc,
          rid: s.rid,
          mimeType: codec ? codec.mimeType : null,
          packetsSent: s.packetsSent,
          bytesSent: s.bytesSent,
          framesEncoded: s.framesEncoded,
          keyFramesEncoded: s.keyFramesEncoded,
          frameWidth: s.frameWidth,
          pliCount: s.pliCount,
          firCount: s.firCount,
          nackCount: s.nackCount,
          qualityLimitationReason: s.qualityLimitationReason,
        });
      });
      report.forEach((s) => {
        if (s.type === 'transport') {
          item.transport = { dtlsState: s.dtlsState, iceState: s.iceState, bytesSent: s.bytesSent, bytesReceived: s.bytesReceived };
        }
      });
    } catch (err) {
      item.error = String(err && err.message ? err.message : err);
    }
    out.push(item);
  }
  return out;
}

const api = {
  ready: null,
  peerId: null,
  device: null,
  producers: state.producers,
  consumers: state.consumers,
  notifications,
  events,
  request,
  stats: async () => (await stats()).consumers.reduce((acc, c) => { acc[c.id] = c; return acc; }, {}),
  statsList: async () => (await stats()).consumers,
  producerStats,
  layersNeeded: () => Object.fromEntries(state.layersNeeded),
  transportIds: () => ({ send: state.sendTransport?.id, recv: state.recvTransport?.id }),
  error: null,
};
window.ferrosoup = api;

api.ready = main().then(
  () => true,
  (err) => {
    api.error = String(err && err.message ? err.message : err);
    console.error('ferrosoup: setup failed:', err);
    setStatus(`error: ${api.error}`, 'error');
    throw err;
  },
);
// Keep the rejection observable through `ready` without an unhandled-rejection report.
api.ready.catch(() => {});
