// Browser end-to-end: two headless Chromium pages running the demo page (mediasoup-client) against ferrosoup.
// Page A publishes camera + microphone (fake devices) with a forced video codec; page B only receives.
// B must decode A's video in that codec and receive A's audio; when A goes away, B must be told and the
// server must release everything A had.

import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { poll, sharedEnv } from './harness.mjs';

const CODECS = [
  // `order`: who opens first. A-first exercises `joined.producers`, B-first the `newProducer` notifications.
  { codec: 'vp8', order: 'A-first' },
  { codec: 'vp9', order: 'B-first' },
  { codec: 'h264', order: 'A-first' },
  { codec: 'av1', order: 'B-first' },
];

const READY_TIMEOUT = 20000;
const MEDIA_TIMEOUT = 20000;

async function ready(p) {
  let timer;
  try {
    await Promise.race([
      p.page.evaluate(() => window.ferrosoup.ready),
      new Promise((_, rej) => {
        timer = setTimeout(() => rej(new Error(`not ready within ${READY_TIMEOUT} ms`)), READY_TIMEOUT);
      }),
    ]);
  } catch (err) {
    const status = await p.page.textContent('#status').catch(() => '?');
    throw new Error(`page ${p.label} failed to set up: ${err.message} (status line: ${status})`);
  } finally {
    clearTimeout(timer);
  }
}

function statsOf(p) {
  return p.page.evaluate(() => window.ferrosoup.statsList());
}

function notificationsOf(p) {
  return p.page.evaluate(() => window.ferrosoup.notifications);
}

describe('media through ferrosoup (Chromium ↔ Chromium)', () => {
  const shared = sharedEnv();
  let env;
  before(() => {
    env = shared.env;
  });

  for (const { codec, order } of CODECS) {
    test(`${codec}: B receives A's ${codec} video and opus audio; A's departure is cleaned up (${order})`, { timeout: 120000 }, async () => {
      await env.withArtifacts(`media-${codec}`, async () => {
        const room = `e2e-${codec}`;
        const openA = () => env.open({ room, name: `A-${codec}`, codec }, `A-${codec}`);
        const openB = () => env.open({ room, name: `B-${codec}`, publish: '0' }, `B-${codec}`);

        let a;
        let b;
        if (order === 'A-first') {
          a = await openA();
          await ready(a);
          b = await openB();
          await ready(b);
        } else {
          b = await openB();
          await ready(b);
          a = await openA();
          await ready(a);
        }

        const aPeerId = await a.page.evaluate(() => window.ferrosoup.peerId);
        const bPeerId = await b.page.evaluate(() => window.ferrosoup.peerId);
        const aProducers = await a.page.evaluate(() => ({ ...window.ferrosoup.producers }));
        assert.ok(aPeerId && bPeerId && aPeerId !== bPeerId, `distinct peer ids (A ${aPeerId}, B ${bPeerId})`);
        assert.ok(aProducers.audio && aProducers.video, `A produced audio and video: ${JSON.stringify(aProducers)}`);

        // --- media arrives at B, decoded, in the forced codec ---
        const wantMime = `video/${codec}`;
        let last;
        try {
          await poll(
            async () => {
              last = await statsOf(b);
              const video = last.find((c) => c.kind === 'video' && c.producerId === aProducers.video);
              const audio = last.find((c) => c.kind === 'audio' && c.producerId === aProducers.audio);
              return (
                video &&
                audio &&
                video.framesDecoded > 0 &&
                video.videoWidth > 0 &&
                String(video.mimeType).toLowerCase() === wantMime &&
                audio.packetsReceived > 0
              );
            },
            { timeout: MEDIA_TIMEOUT, interval: 500, what: `B decoding A's ${codec} video and receiving audio` },
          );
        } catch (err) {
          const aSend = await a.page.evaluate(() => window.ferrosoup.producerStats?.()).catch((e) => String(e));
          const st = await env.status().catch((e) => String(e));
          err.message +=
            `\nB's consumer stats: ${JSON.stringify(last)}` +
            `\nA's producer stats: ${JSON.stringify(aSend)}` +
            `\n/status: ${JSON.stringify(st)}` +
            `\nA's timeline (ms): ${JSON.stringify(await a.page.evaluate(() => window.ferrosoup.events).catch(() => null))}` +
            `\nB's timeline (ms): ${JSON.stringify(await b.page.evaluate(() => window.ferrosoup.events).catch(() => null))}`;
          throw err;
        }

        const latency = (await env.status()).latency;
        assert.ok(latency.count > 0, `the worker timed the packets it forwarded: ${JSON.stringify(latency)}`);
        console.log(
          `# ${codec}: server-added latency p50 ${latency.p50Us} µs, p99 ${latency.p99Us} µs over ${latency.count} datagrams`,
        );

        // A has nothing to consume (B publishes nothing).
        assert.deepEqual(await a.page.evaluate(() => window.ferrosoup.consumers.length), 0);

        // --- server bookkeeping with both peers present ---
        const both = await env.status();
        assert.deepEqual(
          both,
          { ...both, rooms: 1, peers: 2, transports: 4, producers: 2, consumers: 2 },
          'status with A (2 transports, 2 producers) and B (2 transports, 2 consumers)',
        );

        // --- A leaves ---
        await env.closePage(a);

        await poll(
          async () => {
            const n = await notificationsOf(b);
            const closed = new Set(n.filter((m) => m.type === 'producerClosed').map((m) => m.data && m.data.producerId));
            const left = n.some((m) => m.type === 'peerLeft' && m.data && m.data.peerId === aPeerId);
            return closed.has(aProducers.audio) && closed.has(aProducers.video) && left;
          },
          { timeout: 10000, what: `B to get producerClosed for ${JSON.stringify(aProducers)} and peerLeft for ${aPeerId}` },
        );

        // B dropped its consumers (and their elements).
        await poll(
          () => b.page.evaluate(() => window.ferrosoup.consumers.length === 0 && !document.querySelector('.tile.remote')),
          { timeout: 5000, what: "B's page to drop A's consumers and tile" },
        );

        // Only B's resources remain: 2 transports, no producers, no consumers.
        let st;
        await poll(
          async () => {
            st = await env.status();
            return st.rooms === 1 && st.peers === 1 && st.transports === 2 && st.producers === 0 && st.consumers === 0;
          },
          { timeout: 10000, what: 'status {rooms:1, peers:1, transports:2, producers:0, consumers:0}' },
        ).catch((err) => {
          err.message += `\nlast /status: ${JSON.stringify(st)}`;
          throw err;
        });

        // Page errors (uncaught exceptions) in either page are failures.
        for (const p of [a, b]) {
          assert.deepEqual(p.pageErrors, [], `uncaught errors in page ${p.label}`);
        }

        // --- B leaves too: the room closes and the server is empty again ---
        await env.closePage(b);
        await poll(
          async () => {
            st = await env.status();
            return st.rooms === 0 && st.peers === 0 && st.transports === 0 && st.producers === 0 && st.consumers === 0;
          },
          { timeout: 10000, what: 'status all zero after both pages closed' },
        ).catch((err) => {
          err.message += `\nlast /status: ${JSON.stringify(st)}`;
          throw err;
        });
      });
    });
  }
});
