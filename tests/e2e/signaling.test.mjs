// Signaling over raw WebSockets from node (no browser): bad input gets `error` replies carrying the request id
// where one could be read, and the connection keeps serving. Also checks the HTTP side (page, /health, /status).
// Error codes are those of docs/protocol.md.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { poll, startEnv } from './harness.mjs';

const FINGERPRINT = {
  algorithm: 'sha-256',
  value: Array.from({ length: 32 }, (_, i) => i.toString(16).padStart(2, '0').toUpperCase()).join(':'),
};

const OPUS_RTP_PARAMETERS = {
  mid: '0',
  codecs: [
    {
      mimeType: 'audio/opus',
      payloadType: 111,
      clockRate: 48000,
      channels: 2,
      parameters: { minptime: 10, useinbandfec: 1 },
      rtcpFeedback: [{ type: 'transport-cc', parameter: '' }],
    },
  ],
  headerExtensions: [{ uri: 'urn:ietf:params:rtp-hdrext:sdes:mid', id: 4, encrypt: false, parameters: {} }],
  encodings: [{ ssrc: 11111111, dtx: false }],
  rtcp: { cname: 'e2e', reducedSize: true },
};

function hasNoId(msg) {
  return msg.id === undefined || msg.id === null;
}

/** Asserts `msg` is an error reply with `code`, echoing `id` (or carrying none when `id` is undefined). */
function assertError(msg, code, id, what) {
  const ctx = `${what}: got ${JSON.stringify(msg)}`;
  assert.equal(typeof msg, 'object', ctx);
  assert.equal(msg.type, 'error', ctx);
  assert.ok(msg.error && typeof msg.error === 'object', ctx);
  assert.equal(msg.error.code, code, ctx);
  assert.equal(typeof msg.error.message, 'string', ctx);
  if (id === undefined) assert.ok(hasNoId(msg), `${ctx} (no id expected)`);
  else assert.equal(msg.id, id, ctx);
}

function assertOk(msg, type, id, what) {
  const ctx = `${what}: got ${JSON.stringify(msg)}`.slice(0, 2000);
  assert.equal(msg.type, type, ctx);
  if (id === undefined) assert.ok(hasNoId(msg), `${ctx} (no id expected)`);
  else assert.equal(msg.id, id, ctx);
  assert.ok(msg.data && typeof msg.data === 'object', ctx);
  return msg.data;
}

function assertCapabilities(data, what) {
  assert.ok(Array.isArray(data.codecs) && data.codecs.length > 0, `${what}: codecs`);
  assert.ok(Array.isArray(data.headerExtensions), `${what}: headerExtensions`);
  const mimes = data.codecs.map((c) => String(c.mimeType).toLowerCase());
  for (const m of ['audio/opus', 'video/vp8', 'video/vp9', 'video/h264']) {
    assert.ok(mimes.includes(m), `${what}: router codecs include ${m} (have ${mimes.join(', ')})`);
  }
}

describe('signaling (raw WebSocket)', () => {
  let env;

  before(async () => {
    env = await startEnv({ browser: false });
  });

  after(async () => {
    if (env) await env.stop();
  });

  test('HTTP: demo page, app.js, /health, /status', async () => {
    await env.withArtifacts('http', async () => {
      const index = await env.get('/');
      assert.equal(index.status, 200, 'GET /');
      assert.match(String(index.headers['content-type']), /text\/html/, 'GET / content-type');
      assert.match(index.body, /<script src="app\.js">/, 'GET / is the demo page');

      const app = await env.get('/app.js');
      assert.equal(app.status, 200, 'GET /app.js');
      assert.match(String(app.headers['content-type']), /javascript/, 'GET /app.js content-type');
      assert.ok(app.body.length > 10000, 'GET /app.js is the bundle');

      const health = await env.get('/health');
      assert.equal(health.status, 200, 'GET /health');

      const st = await env.status();
      for (const k of ['rooms', 'peers', 'transports', 'producers', 'consumers']) {
        assert.equal(typeof st[k], 'number', `/status.${k} is a number: ${JSON.stringify(st)}`);
      }
      // The workers' latency histogram: a summary and the buckets a tool subtracts for a window.
      for (const k of ['count', 'p50Us', 'p90Us', 'p99Us', 'p999Us', 'maxUs']) {
        assert.equal(typeof st.latency?.[k], 'number', `/status.latency.${k} is a number: ${JSON.stringify(st.latency)}`);
      }
      assert.ok(Array.isArray(st.latency.buckets), '/status.latency.buckets is an array');
      for (const bucket of st.latency.buckets) {
        assert.ok(bucket.length === 2 && bucket[1] > 0, `bucket [upperNs, count]: ${JSON.stringify(bucket)}`);
      }
    });
  });

  test('bad input gets error replies and the connection keeps working', async () => {
    await env.withArtifacts('bad-input', async () => {
      const c = await env.ws('/ws');

      // Unreadable messages: no id can be read, so the error carries none.
      assertError(await c.call('this is not json'), 'bad_request', undefined, 'non-JSON');
      assertError(await c.call('{"id":1,"type":'), 'bad_request', undefined, 'truncated JSON');
      assertError(await c.call('[1,2,3]'), 'bad_request', undefined, 'JSON array');
      assertError(await c.call('"a string"'), 'bad_request', undefined, 'JSON string');
      assertError(await c.call(Buffer.from([0x7b, 0x7d])), 'bad_request', undefined, 'binary frame');

      // Readable id, bad request.
      assertError(await c.call({ id: 2 }), 'bad_request', 2, 'missing type');
      assertError(await c.call({ id: 3, type: 'noSuchMethod' }), 'unknown_method', 3, 'unknown type');
      assertError(await c.call({ id: 's4', type: 'join' }), 'bad_request', 's4', 'join without roomId (string id)');
      assertError(await c.call({ id: 5, type: 'join', roomId: 42 }), 'bad_request', 5, 'join with numeric roomId');
      assertError(
        await c.call({ id: 6, type: 'produce', transportId: 'x', kind: 'audio', rtpParameters: OPUS_RTP_PARAMETERS }),
        'not_joined',
        6,
        'produce before join',
      );

      // Still serving.
      assertCapabilities(
        assertOk(await c.call({ id: 7, type: 'getRouterRtpCapabilities' }), 'routerRtpCapabilities', 7, 'caps'),
        'caps',
      );
      // No id in, no id out.
      assertOk(await c.call({ type: 'getRouterRtpCapabilities' }), 'routerRtpCapabilities', undefined, 'caps without id');

      // Joined now.
      const joined = assertOk(await c.call({ id: 8, type: 'join', roomId: 'e2e-bad-input' }), 'joined', 8, 'join');
      assert.equal(typeof joined.peerId, 'string', 'joined.peerId');
      assert.deepEqual(joined.peers, [], 'joined.peers');
      assert.deepEqual(joined.producers, [], 'joined.producers');
      assertError(await c.call({ id: 9, type: 'join', roomId: 'e2e-bad-input' }), 'already_joined', 9, 'join twice');

      assertError(
        await c.call({ id: 10, type: 'createWebRtcTransport', direction: 'sideways' }),
        'bad_request',
        10,
        'bad direction',
      );
      assertError(
        await c.call({
          id: 11,
          type: 'connectWebRtcTransport',
          transportId: 'no-such-transport',
          dtlsParameters: { role: 'client', fingerprints: [FINGERPRINT] },
        }),
        'not_found',
        11,
        'connect unknown transport',
      );
      assertError(await c.call({ id: 12, type: 'produce' }), 'bad_request', 12, 'produce without fields');
      assertError(
        await c.call({ id: 13, type: 'consume', transportId: 'no-such-transport', producerId: 'no-such-producer' }),
        'not_found',
        13,
        'consume unknown transport/producer',
      );
      assertError(await c.call({ id: 14, type: 'resumeConsumer', consumerId: 'nope' }), 'not_found', 14, 'resume unknown consumer');
      assertError(await c.call({ id: 15, type: 'resumeConsumer' }), 'bad_request', 15, 'resumeConsumer without consumerId');
      assertError(await c.call({ id: 16, type: 'closeProducer', producerId: 'nope' }), 'not_found', 16, 'close unknown producer');

      // produce on a receive transport is invalid_state; nonsense rtpParameters on a send transport is bad_request.
      const recv = assertOk(
        await c.call({ id: 17, type: 'createWebRtcTransport', direction: 'recv' }),
        'webRtcTransportCreated',
        17,
        'create recv transport',
      );
      const send = assertOk(
        await c.call({ id: 18, type: 'createWebRtcTransport', direction: 'send' }),
        'webRtcTransportCreated',
        18,
        'create send transport',
      );
      for (const t of [recv, send]) {
        assert.equal(typeof t.id, 'string', 'transport id');
        assert.equal(t.iceParameters.iceLite, true, 'iceLite');
        assert.ok(t.iceCandidates.length > 0, 'candidates');
        assert.equal(t.iceCandidates[0].address ?? t.iceCandidates[0].ip, '127.0.0.1', 'candidate address is --rtc-ip');
        assert.equal(t.iceCandidates[0].port, env.rtcPort, 'candidate port is --rtc-port');
        assert.ok(t.dtlsParameters.fingerprints.length > 0, 'fingerprints');
      }
      assertError(
        await c.call({ id: 19, type: 'produce', transportId: recv.id, kind: 'audio', rtpParameters: OPUS_RTP_PARAMETERS }),
        'invalid_state',
        19,
        'produce on a recv transport',
      );
      assertError(
        await c.call({ id: 20, type: 'produce', transportId: send.id, kind: 'audio', rtpParameters: { codecs: 'nope' } }),
        'bad_request',
        20,
        'produce with invalid rtpParameters',
      );
      assertError(
        await c.call({
          id: 21,
          type: 'connectWebRtcTransport',
          transportId: send.id,
          dtlsParameters: { role: 'client' },
        }),
        'bad_request',
        21,
        'connect without fingerprints',
      );

      // Larger than the default 256 KiB limit.
      const big = JSON.stringify({ id: 22, type: 'getRouterRtpCapabilities', pad: 'x'.repeat(300 * 1024) });
      const tooLarge = await c.call(big);
      assert.equal(tooLarge.type, 'error', `too large: ${JSON.stringify(tooLarge).slice(0, 300)}`);
      assert.equal(tooLarge.error.code, 'too_large', `too large: ${JSON.stringify(tooLarge).slice(0, 300)}`);

      // After all that, the connection still answers.
      assertCapabilities(
        assertOk(await c.call({ id: 99, type: 'getRouterRtpCapabilities' }), 'routerRtpCapabilities', 99, 'caps at the end'),
        'caps at the end',
      );
      assert.equal(c.closed, null, 'connection still open');

      // leave, then join again.
      assertOk(await c.call({ id: 100, type: 'leave' }), 'left', 100, 'leave');
      assertOk(await c.call({ id: 101, type: 'join', roomId: 'e2e-bad-input' }), 'joined', 101, 'join after leave');
      c.close();

      let st;
      await poll(
        async () => {
          st = await env.status();
          return st.rooms === 0 && st.peers === 0 && st.transports === 0;
        },
        { timeout: 5000, what: 'status back to zero after the connection closed' },
      ).catch((err) => {
        err.message += ` (last /status: ${JSON.stringify(st)})`;
        throw err;
      });
    });
  });

  test("another peer's ids are not found; WebSocket upgrade on / works without ids", async () => {
    await env.withArtifacts('isolation', async () => {
      const a = await env.ws('/ws');
      const b = await env.ws('/');
      // The original sidecar's clients: no ids, WebSocket on `/`.
      assertCapabilities(assertOk(await b.call({ type: 'getRouterRtpCapabilities' }), 'routerRtpCapabilities', undefined, 'caps on /'), 'caps on /');

      assertOk(await a.call({ id: 1, type: 'join', roomId: 'e2e-iso', displayName: 'a' }), 'joined', 1, 'a joins');
      const t = assertOk(await a.call({ id: 2, type: 'createWebRtcTransport', direction: 'send' }), 'webRtcTransportCreated', 2, 'a transport');

      const bJoined = assertOk(await b.call({ type: 'join', roomId: 'e2e-iso', displayName: 'b' }), 'joined', undefined, 'b joins');
      assert.equal(bJoined.peers.length, 1, `b sees a: ${JSON.stringify(bJoined)}`);
      const pj = await a.next();
      assert.equal(pj.type, 'peerJoined', `a is told about b: ${JSON.stringify(pj)}`);
      assert.ok(hasNoId(pj), 'notifications carry no id');
      assert.equal(pj.data.peerId, bJoined.peerId, 'peerJoined.peerId');
      assert.equal(pj.data.displayName, 'b', 'peerJoined.displayName');

      assertError(
        await b.call({
          id: 'x',
          type: 'connectWebRtcTransport',
          transportId: t.id,
          dtlsParameters: { role: 'client', fingerprints: [FINGERPRINT] },
        }),
        'not_found',
        'x',
        "b connecting a's transport",
      );

      b.close();
      const pl = await a.next();
      assert.equal(pl.type, 'peerLeft', `a is told b left: ${JSON.stringify(pl)}`);
      assert.equal(pl.data.peerId, bJoined.peerId, 'peerLeft.peerId');
      a.close();
    });
  });
});
