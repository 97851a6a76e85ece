// A room spread over two workers: the server runs `--workers 2 --peers-per-worker 1`, so A's transports are on the
// first worker (UDP 40000) and B's on the second (40001), and A's producers reach B through an in-memory pipe
// between the workers (Router::pipe_to_router). B must decode A's camera and hear its microphone, and simulcast layer
// switching must work across the pipe as within one worker.

import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { poll, sharedEnv } from './harness.mjs';

const TOP_WIDTH = 960;

function request(p, type, data) {
  return p.page.evaluate(([t, d]) => window.ferrosoup.request(t, d), [type, data]);
}

async function ready(p) {
  await p.page.evaluate(() => window.ferrosoup.ready);
}

async function videoOf(b) {
  const list = await b.page.evaluate(() => window.ferrosoup.statsList());
  return list.find((c) => c.kind === 'video') || null;
}

/** The server port of page p's transport in direction `dir` ('send' or 'recv'), from the server's own stats. */
async function serverPort(p, dir) {
  const id = (await p.page.evaluate(() => window.ferrosoup.transportIds()))[dir];
  const [stats] = await request(p, 'getTransportStats', { transportId: id });
  return stats.iceSelectedTuple.localPort;
}

async function waitWidth(b, width, timeout, what) {
  const start = Date.now();
  await poll(
    async () => {
      const v = await videoOf(b);
      return v && v.frameWidth === width && v.framesDecoded > 0;
    },
    { timeout, interval: 250, what: `${what}: B decodes ${width} px wide video` },
  );
  return Date.now() - start;
}

describe('a room spread over two workers (Chromium → worker 0 → pipe → worker 1 → Chromium)', () => {
  const shared = sharedEnv({ serverArgs: ['--workers', '2', '--peers-per-worker', '1'] });
  let env;
  before(() => {
    env = shared.env;
  });

  test('B on the other worker decodes A\'s video and receives its audio', { timeout: 90000 }, async () => {
    await env.withArtifacts('workers-media', async () => {
      const a = await env.open({ room: 'spread', name: 'A', codec: 'vp8' }, 'A');
      await ready(a);
      const b = await env.open({ room: 'spread', name: 'B', publish: '0' }, 'B');
      await ready(b);
      await poll(
        async () => {
          const list = await b.page.evaluate(() => window.ferrosoup.statsList());
          const video = list.find((c) => c.kind === 'video');
          const audio = list.find((c) => c.kind === 'audio');
          return video && audio && video.framesDecoded > 0 && video.videoWidth > 0 && audio.packetsReceived > 0;
        },
        { timeout: 20000, interval: 500, what: "B decoding A's video and receiving its audio" },
      );
      const aPort = await serverPort(a, 'send');
      const bPort = await serverPort(b, 'recv');
      assert.equal(aPort, env.rtcPort, 'A is on the first worker');
      assert.equal(bPort, env.rtcPort + 1, 'B is on the second worker');
      // A's two producers, and the two pipe producers in B's worker.
      const st = await env.status();
      assert.deepEqual(st, { ...st, rooms: 1, peers: 2, producers: 4, consumers: 2 }, 'pipe producers in /status');
      console.log(`# workers: A on udp ${aPort}, B on udp ${bPort}, B decodes A's video across the pipe`);
    });
  });

  test('simulcast layers switch across the pipe', { timeout: 120000 }, async () => {
    await env.withArtifacts('workers-simulcast', async () => {
      const a = await env.open(
        { room: 'spread-sim', name: 'A', codec: 'vp8', simulcast: '1', width: '960', height: '540', audio: '0' },
        'A',
      );
      await ready(a);
      const b = await env.open({ room: 'spread-sim', name: 'B', publish: '0' }, 'B');
      await ready(b);
      await poll(async () => (await videoOf(b))?.framesDecoded > 0, { timeout: 20000, what: 'B decodes video' });
      const consumerId = (await videoOf(b)).id;
      const up = await waitWidth(b, TOP_WIDTH, 40000, 'top layer on a free link');
      await request(b, 'setConsumerPreferredLayers', { consumerId, spatialLayer: 0 });
      const down = await waitWidth(b, TOP_WIDTH / 4, 15000, 'preferred spatial layer 0');
      await request(b, 'setConsumerPreferredLayers', { consumerId, spatialLayer: 2 });
      const back = await waitWidth(b, TOP_WIDTH, 15000, 'preferred spatial layer 2');
      console.log(`# workers simulcast: top layer after ${up} ms, down in ${down} ms, up again in ${back} ms`);
    });
  });
});
