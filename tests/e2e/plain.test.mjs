// Browser end-to-end for plain transports: a real ffmpeg publishes a VP8 test pattern as plain RTP into a room (the
// signaling done by this script over the WebSocket protocol, as docs/protocol.md's worked example does), and a
// headless Chromium page with mediasoup-client consumes and decodes it. ffmpeg runs in the test's network namespace
// and talks to 127.0.0.1 only.

import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';

import { poll, sharedEnv, spawnInNetns } from './harness.mjs';

const FFMPEG = process.env.FFMPEG || 'ffmpeg';
const SSRC = 22222222;
const PAYLOAD_TYPE = 101;
// ffmpeg's own ports: it sends RTP from `localrtpport` and RTCP from the next port up.
const FFMPEG_RTP_PORT = 50000;
const FFMPEG_RTCP_PORT = 50001;

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

describe('plain transport: ffmpeg → ferrosoup → Chromium', () => {
  // Plain transports are off unless the operator allows them.
  const shared = sharedEnv({ serverArgs: ['--workers', '1', '--plain-transports'] });
  let env;
  before(() => {
    env = shared.env;
    assert.ok(haveFfmpeg(), `${FFMPEG} not found (Debian package ffmpeg)`);
  });

  test('Chromium decodes the VP8 test pattern ffmpeg sends to a plain transport', { timeout: 90000 }, async () => {
    await env.withArtifacts('plain-ffmpeg', async () => {
      const room = 'e2e-plain';
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
          `&localrtcpport=${FFMPEG_RTCP_PORT}&pkt_size=1200`;
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
      } finally {
        if (ffmpeg) await ffmpeg.stop();
        ws.close();
      }
    });
  });
});
