// Browser end-to-end for plain transports: a real ffmpeg publishes a VP8 test pattern as plain RTP into a room (the
// signaling done by this script over the WebSocket protocol, as docs/protocol.md's worked example does), and a
// headless Chromium page with mediasoup-client consumes and decodes it; and the other way round, ffmpeg receives a
// Chromium camera's VP8 from a plain consumer through an SDP file and decodes it. ffmpeg runs in the test's network
// namespace and talks to 127.0.0.1 only.

import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { poll, sharedEnv, spawnInNetns } from './harness.mjs';

const FFMPEG = process.env.FFMPEG || 'ffmpeg';
const SSRC = 22222222;
const PAYLOAD_TYPE = 101;
// ffmpeg's own ports: it sends RTP from `localrtpport` and RTCP from the next port up.
const FFMPEG_RTP_PORT = 50000;
const FFMPEG_RTCP_PORT = 50001;
// Where a receiving ffmpeg listens (RTP; RTCP on the next port up), as its SDP file says.
const FFMPEG_RECV_RTP_PORT = 50010;

/** A request over a raw WebSocket; skips notifications and waits for the reply with this id. */
function signaler(ws) {
  let nextId = 1;
  return async (type, params = {}) => {
    const id = nextId++;
    ws.send({ id, type, ...params });
    for (;;) {
      const msg = await ws.next(10000);
      if (msg && msg.id === id) {
        if (msg.type === 'error') throw new Error(`${type}: ${JSON.stringify(msg.error)}`);
        return msg.data;
      }
    }
  };
}

function haveFfmpeg() {
  try {
    execFileSync(FFMPEG, ['-hide_banner', '-version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * ffmpeg publishes a VP8 test pattern as plain RTP (`pktSize` bytes per packet at most) into `room`; a Chromium
 * viewer must decode it at ffmpeg's size; closing the transport must close the producer for the viewer.
 */
async function ffmpegToChromium(env, room, pktSize) {
  const ws = await env.ws('/ws');
  const call = signaler(ws);
  let ffmpeg;
  try {
    await call('join', { roomId: room, peerId: 'ffmpeg', displayName: 'ffmpeg' });
    // Not comedia and no RTCP mux, the usual ffmpeg set-up: ffmpeg's ports are known in advance.
    const transport = await call('createPlainTransport', { direction: 'send', comedia: false, rtcpMux: false });
    assert.equal(transport.tuple.localAddress, '127.0.0.1');
    assert.ok(transport.rtcpTuple && transport.rtcpTuple.localPort > 0, JSON.stringify(transport));
    const connected = await call('connectPlainTransport', {
      transportId: transport.id,
      ip: '127.0.0.1',
      port: FFMPEG_RTP_PORT,
      rtcpPort: FFMPEG_RTCP_PORT,
    });
    assert.equal(connected.tuple.remotePort, FFMPEG_RTP_PORT);
    assert.equal(connected.rtcpTuple.remotePort, FFMPEG_RTCP_PORT);
    const produced = await call('produce', {
      transportId: transport.id,
      kind: 'video',
      rtpParameters: {
        codecs: [
          {
            mimeType: 'video/VP8',
            payloadType: PAYLOAD_TYPE,
            clockRate: 90000,
            rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }],
          },
        ],
        encodings: [{ ssrc: SSRC }],
        rtcp: { cname: 'ffmpeg' },
      },
      appData: { source: 'camera' },
    });

    const target =
      `rtp://127.0.0.1:${transport.tuple.localPort}` +
      `?rtcpport=${transport.rtcpTuple.localPort}&localrtpport=${FFMPEG_RTP_PORT}` +
      `&localrtcpport=${FFMPEG_RTCP_PORT}&pkt_size=${pktSize}`;
    ffmpeg = spawnInNetns(
      env.ns,
      FFMPEG,
      [
        '-hide_banner', '-nostdin', '-loglevel', 'info', '-re',
        '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=30',
        '-an', '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '500k',
        '-g', '30', '-keyint_min', '30', '-pix_fmt', 'yuv420p',
        '-f', 'rtp', '-payload_type', String(PAYLOAD_TYPE), '-ssrc', String(SSRC), target,
      ],
      { label: 'ffmpeg' },
    );

    const viewer = await env.open({ room, name: 'viewer', publish: '0' }, 'viewer');
    await viewer.page.evaluate(() => window.ferrosoup.ready);
    let last;
    try {
      await poll(
        async () => {
          last = await viewer.page.evaluate(() => window.ferrosoup.statsList());
          const video = last.find((c) => c.kind === 'video' && c.producerId === produced.id);
          return video && video.framesDecoded > 0 && video.videoWidth > 0;
        },
        { timeout: 30000, interval: 500, what: "Chromium decoding ffmpeg's VP8" },
      );
    } catch (err) {
      err.message +=
        `\nviewer stats: ${JSON.stringify(last)}` +
        `\nserver transport stats: ${JSON.stringify(await call('getTransportStats', { transportId: transport.id }).catch((e) => String(e)))}` +
        `\nffmpeg output:\n${ffmpeg.lines.slice(-20).join('\n')}`;
      throw err;
    }
    const video = last.find((c) => c.kind === 'video' && c.producerId === produced.id);
    assert.equal(String(video.mimeType).toLowerCase(), 'video/vp8');
    assert.equal(video.videoWidth, 320, `decoded at ffmpeg's size: ${JSON.stringify(video)}`);

    const [stats] = await call('getTransportStats', { transportId: transport.id });
    assert.equal(stats.type, 'plain-rtp-transport');
    assert.ok(stats.bytesReceived > 0, JSON.stringify(stats));

    // Closing the transport closes its producer for everyone.
    await call('closeTransport', { transportId: transport.id });
    await poll(
      () =>
        viewer.page.evaluate(
          (id) => window.ferrosoup.notifications.some((m) => m.type === 'producerClosed' && m.data.producerId === id),
          produced.id,
        ),
      { timeout: 10000, what: 'the viewer hearing producerClosed' },
    );

    // The viewer's transport has no consumer left, so its bandwidth estimator's timers must go quiet: they once
    // stayed due, and the worker spun at a full core until the viewer left.
    const before = env.server.cpuSeconds();
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const used = env.server.cpuSeconds() - before;
    assert.ok(used < 0.5, `the server used ${used.toFixed(2)} s of CPU in 2 s with nothing to forward`);
  } finally {
    if (ffmpeg) await ffmpeg.stop();
    ws.close();
  }
}

describe('plain transport: ffmpeg ↔ ferrosoup ↔ Chromium', () => {
  // Plain transports are off unless the operator allows them.
  const shared = sharedEnv({ serverArgs: ['--workers', '1', '--plain-transports'] });
  let env;
  before(() => {
    env = shared.env;
    assert.ok(haveFfmpeg(), `${FFMPEG} not found (Debian package ffmpeg)`);
  });

  test('Chromium decodes the VP8 test pattern ffmpeg sends to a plain transport', { timeout: 90000 }, async () => {
    await env.withArtifacts('plain-ffmpeg', () => ffmpegToChromium(env, 'e2e-plain', 1200));
  });

  // The server sends from a socket that never fragments (`worker/sockets.rs`); what is larger than the link's MTU
  // must leave from one that does. ffmpeg's packets of up to 1400 bytes, with the SRTP tag the copies get, are over
  // an MTU of 1300: every full packet takes that other way, and the viewer must still decode.
  test('packets larger than the MTU still reach Chromium, fragmented', { timeout: 90000 }, async () => {
    await env.withArtifacts('plain-ffmpeg-mtu', async () => {
      execFileSync('ip', ['-n', env.ns, 'link', 'set', 'lo', 'mtu', '1300']);
      try {
        await ffmpegToChromium(env, 'e2e-plain-mtu', 1400);
      } finally {
        execFileSync('ip', ['-n', env.ns, 'link', 'set', 'lo', 'mtu', '65536']);
      }
    });
  });

  test("ffmpeg receives and decodes a browser's VP8 from a plain consumer", { timeout: 90000 }, async () => {
    await env.withArtifacts('plain-ffmpeg-recv', async () => {
      const room = 'e2e-plain-recv';
      const camera = await env.open({ room, name: 'camera', codec: 'vp8', audio: '0', width: '320' }, 'camera');
      await camera.page.evaluate(() => window.ferrosoup.ready);
      await poll(async () => (await env.status()).producers >= 1, { timeout: 20000, what: "the camera's producer" });

      const ws = await env.ws('/ws');
      const call = signaler(ws);
      let ffmpeg;
      const sdpPath = path.join(os.tmpdir(), `ferrosoup-e2e-recv-${process.pid}.sdp`);
      try {
        // VP8 alone, no RTX and no header extensions: what an SDP file for ffmpeg can describe.
        const routerCaps = await call('getRouterRtpCapabilities', { roomId: room });
        const vp8 = routerCaps.codecs.find((c) => c.mimeType.toLowerCase() === 'video/vp8');
        const joined = await call('join', {
          roomId: room,
          peerId: 'recorder',
          displayName: 'recorder',
          rtpCapabilities: { codecs: [vp8], headerExtensions: [] },
        });
        const video = joined.producers.find((p) => p.kind === 'video');
        assert.ok(video, `the camera's video is listed at join: ${JSON.stringify(joined.producers)}`);

        const transport = await call('createPlainTransport', { direction: 'recv', comedia: false, rtcpMux: false });
        await call('connectPlainTransport', {
          transportId: transport.id,
          ip: '127.0.0.1',
          port: FFMPEG_RECV_RTP_PORT,
          rtcpPort: FFMPEG_RECV_RTP_PORT + 1,
        });
        const consumer = await call('consume', { transportId: transport.id, producerId: video.producerId });
        const codec = consumer.rtpParameters.codecs[0];
        assert.equal(codec.mimeType.toLowerCase(), 'video/vp8');
        assert.equal(consumer.rtpParameters.codecs.length, 1, 'no RTX when the capabilities have none');

        // ffmpeg listens on the SDP's port (RTCP on the next one up) before the consumer is resumed, so the key frame
        // that resuming asks for reaches it.
        fs.writeFileSync(
          sdpPath,
          [
            'v=0',
            'o=- 0 0 IN IP4 127.0.0.1',
            's=ferrosoup consumer',
            'c=IN IP4 127.0.0.1',
            't=0 0',
            `m=video ${FFMPEG_RECV_RTP_PORT} RTP/AVP ${codec.payloadType}`,
            `a=rtpmap:${codec.payloadType} VP8/90000`,
            '',
          ].join('\n'),
        );
        ffmpeg = spawnInNetns(
          env.ns,
          FFMPEG,
          [
            '-hide_banner', '-nostdin', '-loglevel', 'info', '-protocol_whitelist', 'file,udp,rtp',
            '-i', sdpPath, '-frames:v', '30', '-f', 'null', '-',
          ],
          { label: 'ffmpeg-recv' },
        );
        await new Promise((res) => setTimeout(res, 1000));
        await call('resumeConsumer', { consumerId: consumer.id });

        const exit = await Promise.race([
          ffmpeg.exited,
          new Promise((res) => setTimeout(() => res(null), 30000)),
        ]);
        const log = ffmpeg.log();
        const output = ffmpeg.lines.slice(-25).join('\n');
        assert.deepEqual(exit, { code: 0, signal: null }, `ffmpeg decoded 30 frames and exited:\n${output}`);
        assert.match(log, /Stream #0:0: Video: vp8\b.*\b[1-9]\d*x[1-9]\d*/, `ffmpeg decoded a sized VP8 stream:\n${output}`);
        assert.match(log, /frame=\s*30\b/, `ffmpeg counted 30 frames:\n${output}`);

        console.log(`# ffmpeg received: ${log.match(/Stream #0:0: Video: vp8[^\n]*/)[0].trim()}`);

        const [stats] = await call('getTransportStats', { transportId: transport.id });
        assert.ok(stats.bytesSent > 0, JSON.stringify(stats));
        assert.equal(stats.tuple.remotePort, FFMPEG_RECV_RTP_PORT, JSON.stringify(stats));
        assert.equal(stats.rtcpTuple.remotePort, FFMPEG_RECV_RTP_PORT + 1, JSON.stringify(stats));
      } finally {
        if (ffmpeg) await ffmpeg.stop();
        fs.rmSync(sdpPath, { force: true });
        ws.close();
        await env.closePage(camera);
      }
    });
  });
});
