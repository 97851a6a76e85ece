// Simulcast and SVC through ferrosoup: A publishes VP8 as 3 simulcast encodings (r0/r1/r2, L1T3, 240/480/960 px
// wide), or VP9 as one L3T3_KEY SVC encoding (the same three sizes as spatial layers); B receives. Asserts what B's browser decodes (frame width) and what the server reports (layer notifications,
// consumer stats), while:
//   - B's application changes its preferred layers (setConsumerPreferredLayers) — with and without the
//     abs-capture-time header extension (mediasoup 3.27 needs it to switch layers; ferrosoup must not);
//   - the server→B link is limited to 300 kbit/s with tc (htb + u32 filter on B's ICE port), then freed;
//   - B needs fewer layers (or none): the server tells A (producerLayersNeeded), A stops encoding them, and starts
//     again when B wants them back.

import { execFileSync } from 'node:child_process';
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { poll, sharedEnv, sleep } from './harness.mjs';

const TOP_WIDTH = 960;
const LIMIT_KBIT = 300;

function tc(ns, ...args) {
  execFileSync('ip', ['netns', 'exec', ns, 'tc', ...args]);
}

/**
 * Limits what the server sends to page `b` to `kbit` kbit/s (htb on `lo`, a u32 filter on the server's media port
 * and b's ICE port, as the server reports it; a short queue so the link drops rather than buffers for seconds).
 * Returns b's receive transport id. `unlimit` lifts it.
 */
async function limitDownlink(env, b, kbit) {
  const recv = (await b.page.evaluate(() => window.ferrosoup.transportIds())).recv;
  const [stats] = await request(b, 'getTransportStats', { transportId: recv });
  const bPort = stats.iceSelectedTuple.remotePort;
  tc(env.ns, 'qdisc', 'add', 'dev', 'lo', 'root', 'handle', '1:', 'htb', 'default', '10');
  tc(env.ns, 'class', 'add', 'dev', 'lo', 'parent', '1:', 'classid', '1:10', 'htb', 'rate', '10gbit');
  tc(env.ns, 'class', 'add', 'dev', 'lo', 'parent', '1:', 'classid', '1:20', 'htb', 'rate', `${kbit}kbit`, 'ceil', `${kbit}kbit`);
  tc(env.ns, 'qdisc', 'add', 'dev', 'lo', 'parent', '1:20', 'handle', '20:', 'pfifo', 'limit', '50');
  tc(env.ns, 'filter', 'add', 'dev', 'lo', 'protocol', 'ip', 'parent', '1:', 'prio', '1', 'u32',
    'match', 'ip', 'sport', String(env.rtcPort), '0xffff', 'match', 'ip', 'dport', String(bPort), '0xffff', 'flowid', '1:20');
  return recv;
}

function unlimit(env) {
  tc(env.ns, 'qdisc', 'del', 'dev', 'lo', 'root');
}

async function ready(p) {
  await p.page.evaluate(() => window.ferrosoup.ready);
}

/** B's video consumer as its browser sees it. */
async function videoOf(b) {
  const list = await b.page.evaluate(() => window.ferrosoup.statsList());
  return list.find((c) => c.kind === 'video') || null;
}

function request(p, type, data) {
  return p.page.evaluate(([t, d]) => window.ferrosoup.request(t, d), [type, data]);
}

/** What A sends, what B decodes and what the server estimates: attached to timeouts. */
async function diagnose(b) {
  const out = {};
  try {
    out.b = await videoOf(b);
    const recv = (await b.page.evaluate(() => window.ferrosoup.transportIds())).recv;
    const [t] = await request(b, 'getTransportStats', { transportId: recv });
    out.server = { estimate: t.availableOutgoingBitrate, sendBitrate: t.sendBitrate, probation: t.probationBytesSent };
    const a = diagnose.publisher;
    if (a) {
      const list = await a.page.evaluate(() => window.ferrosoup.producerStats());
      out.a = (list.find((p) => p.kind === 'video')?.outbound || []).map((o) => ({
        rid: o.rid, width: o.frameWidth, bytes: o.bytesSent, limit: o.qualityLimitationReason,
      }));
    }
  } catch (err) {
    out.error = String(err);
  }
  return JSON.stringify(out);
}

/** Waits until B decodes video of exactly `width` pixels, and returns how long that took (ms). */
async function waitWidth(b, width, timeout, what) {
  const start = Date.now();
  try {
    await poll(
      async () => {
        const v = await videoOf(b);
        return v && v.frameWidth === width && v.framesDecoded > 0;
      },
      { timeout, interval: 250, what: `${what}: B decodes ${width} px wide video` },
    );
  } catch (err) {
    err.message += `\n${await diagnose(b)}`;
    throw err;
  }
  return Date.now() - start;
}

const MODES = {
  simulcast: { codec: 'vp8', simulcast: '1' },
  svc: { codec: 'vp9', svc: 'L3T3_KEY' },
  // AV1's layers are known only from the dependency descriptor extension, which ferrosoup parses and rewrites.
  'AV1 simulcast': { codec: 'av1', simulcast: '1' },
  'AV1 SVC L3T3_KEY': { codec: 'av1', svc: 'L3T3_KEY' },
  'AV1 SVC L3T3': { codec: 'av1', svc: 'L3T3' },
};

async function setupCall(env, room, query = {}, mode = 'simulcast') {
  const a = await env.open({ room, name: 'A', width: '960', height: '540', audio: '0', ...MODES[mode], ...query }, 'A');
  await ready(a);
  diagnose.publisher = a;
  const b = await env.open({ room, name: 'B', publish: '0' }, 'B');
  await ready(b);
  await poll(async () => (await videoOf(b))?.framesDecoded > 0, { timeout: 20000, what: 'B decodes video' });
  const consumerId = (await videoOf(b)).id;
  return { a, b, consumerId };
}

/** A's video upload in bits per second over `ms`, in total and per encoding (from its RTCRtpSender stats). */
async function uploadRate(a, ms) {
  const read = async () => {
    const list = await a.page.evaluate(() => window.ferrosoup.producerStats());
    const video = list.find((p) => p.kind === 'video');
    return (video?.outbound || []).map((o) => ({ rid: o.rid ?? '', bytes: o.bytesSent ?? 0 }));
  };
  const before = await read();
  await sleep(ms);
  const after = await read();
  const perEncoding = {};
  let total = 0;
  for (const o of after) {
    const b = before.find((x) => x.rid === o.rid);
    const bps = Math.round(((o.bytes - (b ? b.bytes : 0)) * 8 * 1000) / ms);
    perEncoding[o.rid || 'single'] = bps;
    total += bps;
  }
  return { total, perEncoding };
}

async function layersNeeded(a) {
  return a.page.evaluate(() => {
    const id = window.ferrosoup.producers.video;
    const all = window.ferrosoup.layersNeeded();
    return id in all ? all[id] : undefined;
  });
}

describe('simulcast (Chromium → ferrosoup → Chromium)', () => {
  const shared = sharedEnv();
  let env;
  before(() => {
    env = shared.env;
  });

  const variants = [
    { mode: 'simulcast', absCapture: false },
    { mode: 'simulcast', absCapture: true },
    { mode: 'svc', absCapture: false },
    { mode: 'AV1 simulcast', absCapture: false },
    { mode: 'AV1 SVC L3T3_KEY', absCapture: false },
    { mode: 'AV1 SVC L3T3', absCapture: false },
  ];
  for (const { mode, absCapture } of variants) {
    test(`${mode}: preferred layers switch the spatial layer (abs-capture-time ${absCapture ? 'on' : 'off'})`, { timeout: 120000 }, async () => {
      const slug = mode.replace(/\W+/g, '-');
      await env.withArtifacts(`${slug}-preferred-${absCapture}`, async () => {
        const { a, b, consumerId } = await setupCall(env, `${slug}-pref-${absCapture}`, absCapture ? { abscapture: '1' } : {}, mode);
        // Unlimited loopback: the estimate climbs and B ends up on the top layer.
        const up = await waitWidth(b, TOP_WIDTH, 40000, 'top layer on a free link');
        let meter = '';
        if (mode.startsWith('AV1')) {
          // The server meters AV1 layers from the descriptor (what the bandwidth allocation prices layers at); read
          // while every layer is needed (A stops encoding unneeded simulcast layers). The meter's first figure for a
          // stream comes a second after its first packet, and B may decode the top layer before that.
          const producerId = await a.page.evaluate(() => window.ferrosoup.producers.video);
          let top = {};
          let base = '0.0';
          const measured = () => top['2.2'] > top[base] && top[base] > 0;
          await poll(
            async () => {
              const inbound = await request(a, 'getProducerStats', { producerId });
              base = inbound.length > 1 ? '2.0' : '0.0';
              top = inbound.at(-1).bitrateByLayer;
              return measured();
            },
            { timeout: 6000, interval: 250, what: 'per-layer bitrates of the top stream' },
          ).catch(() => {}); // the assertion below reports it
          meter = `; bit/s by layer of the top stream ${JSON.stringify(top)}`;
          const detail = measured() ? '' : `\n${await diagnose(b)}`;
          assert.ok(measured(), `per-layer bitrates measured${meter}${detail}`);
        }

        await request(b, 'setConsumerPreferredLayers', { consumerId, spatialLayer: 0, temporalLayer: 2 });
        const down = await waitWidth(b, TOP_WIDTH / 4, 15000, 'preferred spatial layer 0');
        let temporal = '';
        if (mode.startsWith('AV1')) {
          const v = await videoOf(b);
          assert.equal(v.mimeType, 'video/AV1', `B decodes AV1: ${JSON.stringify(v)}`);
          const extensions = await b.page.evaluate(() => window.ferrosoup.consumers
            .find((c) => c.consumer.kind === 'video').consumer.rtpParameters.headerExtensions.map((e) => e.uri));
          assert.ok(extensions.some((u) => u.includes('dependency-descriptor')), `B receives the dependency descriptor: ${extensions}`);
          // Temporal layers, known only from the dependency descriptor: the lowest one is a fraction of the frames.
          // On spatial layer 0, which costs little, so that the time back up is the selector's, not the bandwidth
          // estimator's (going back to T2 at 960 px waits for the estimate to climb again: 1–10+ s).
          // What A encodes (its top encoding) beside what B decodes: software AV1 SVC on a shared 2-core machine may
          // not keep up with the camera, and then B's rate follows A's.
          const encoded = async () => {
            const list = await a.page.evaluate(() => window.ferrosoup.producerStats());
            const out = list.find((p) => p.kind === 'video')?.outbound || [];
            return Math.max(0, ...out.map((o) => o.framesEncoded ?? 0));
          };
          const sent = [];
          const fps = async () => {
            const before = (await videoOf(b)).framesDecoded;
            const encodedBefore = await encoded();
            await sleep(4000);
            sent.push(((await encoded()) - encodedBefore) / 4);
            return ((await videoOf(b)).framesDecoded - before) / 4;
          };
          await sleep(1000);
          const all = await fps();
          await request(b, 'setConsumerPreferredLayers', { consumerId, spatialLayer: 0, temporalLayer: 0 });
          await sleep(1000);
          const t0 = await fps();
          const lastLayers = async () => (await b.page.evaluate(() => window.ferrosoup.notifications))
            .filter((n) => n.type === 'consumerLayersChanged' && n.data.consumerId === consumerId).at(-1)?.data;
          const upAt = Date.now();
          await request(b, 'setConsumerPreferredLayers', { consumerId, spatialLayer: 0, temporalLayer: 2 });
          try {
            await poll(async () => (await lastLayers())?.temporalLayer === 2, { timeout: 10000, interval: 100, what: 'back to temporal layer 2' });
          } catch (err) {
            err.message += `\n${await diagnose(b)}`;
            throw err;
          }
          const tUp = Date.now() - upAt;
          const again = await fps();
          const w = (await videoOf(b)).frameWidth;
          temporal = `; frames/s at T2 ${all}, T0 ${t0}, T2 again ${again} after ${tUp} ms (${w} px; A encoded ${sent.join(', ')})`;
          assert.ok(t0 > 0.5 && t0 < 0.75 * Math.min(all, again), `the lowest temporal layer has fewer frames, still decoding${temporal}`);
          assert.equal(w, TOP_WIDTH / 4, `still spatial layer 0${temporal}`);
        }
        await request(b, 'setConsumerPreferredLayers', { consumerId, spatialLayer: 1 });
        await waitWidth(b, TOP_WIDTH / 2, 15000, 'preferred spatial layer 1');
        await request(b, 'setConsumerPreferredLayers', { consumerId, spatialLayer: 2 });
        const back = await waitWidth(b, TOP_WIDTH, 15000, 'preferred spatial layer 2');

        const layers = (await b.page.evaluate(() => window.ferrosoup.notifications))
          .filter((n) => n.type === 'consumerLayersChanged' && n.data.consumerId === consumerId)
          .map((n) => n.data.spatialLayer);
        for (const s of [0, 1, 2]) assert.ok(layers.includes(s), `consumerLayersChanged reported layer ${s}: ${layers}`);
        const v = await videoOf(b);
        assert.ok(v.keyFramesDecoded >= 3, `a key frame per switch: ${JSON.stringify(v)}`);
        console.log(`# ${mode} abs-capture-time=${absCapture}: top layer after ${up} ms, down in ${down} ms, up again in ${back} ms${temporal}${meter}`);
      });
    });
  }

  for (const mode of ['simulcast', 'svc']) test(`${mode}: a ${LIMIT_KBIT} kbit/s link settles on a lower layer and returns to the top when freed`, { timeout: 180000 }, async () => {
    await env.withArtifacts(`${mode}-bandwidth`, async () => {
      const { b, consumerId } = await setupCall(env, `${mode}-bw`, {}, mode);
      await waitWidth(b, TOP_WIDTH, 40000, 'top layer before the limit');

      const recv = await limitDownlink(env, b, LIMIT_KBIT);
      let limited;
      try {
        const start = Date.now();
        await poll(
          async () => {
            const v = await videoOf(b);
            return v && v.frameWidth > 0 && v.frameWidth < TOP_WIDTH;
          },
          { timeout: 30000, interval: 500, what: 'B drops below the top layer' },
        );
        const settle = Date.now() - start;
        await sleep(5000);
        // The estimate wobbles around the limit: look for a settled 5 s window (below the top layer, decoding, the
        // server's sending fitting the link) within 30 s rather than judging one arbitrary window.
        const deadline = Date.now() + 30000;
        let ok = false;
        while (!ok && Date.now() < deadline) {
          const before = await videoOf(b);
          await sleep(5000);
          const after = await videoOf(b);
          const [t] = await request(b, 'getTransportStats', { transportId: recv });
          limited = { settle, width: after.frameWidth, decoded: after.framesDecoded - before.framesDecoded, estimate: t.availableOutgoingBitrate, sendBitrate: t.sendBitrate };
          // At the lowest temporal layer a 30 fps camera is ~7 fps; with the link's loss on top, a few fps. The
          // estimate itself may sit above the link while the sender is application-limited (GCC only finds the
          // ceiling by hitting it); what must hold is that the server does not push more than the link takes.
          ok = after.frameWidth < TOP_WIDTH && limited.decoded > 10 && t.sendBitrate < LIMIT_KBIT * 1000 * 1.5;
        }
        assert.ok(ok, `under the limit: below the top layer, decoding, sending what fits: ${JSON.stringify(limited)}`);
      } finally {
        unlimit(env);
      }
      const recover = await waitWidth(b, TOP_WIDTH, 60000, 'top layer after the limit is lifted');
      const [consumerStats] = await request(b, 'getConsumerStats', { consumerId });
      assert.equal(consumerStats.type, 'outbound-rtp');
      console.log(`# ${mode} under ${LIMIT_KBIT} kbit/s: ${JSON.stringify(limited)}; top layer back ${recover} ms after the limit was lifted`);
    });
  });

  test('simulcast: layers nobody needs are switched off at the sender, and back on when needed', { timeout: 180000 }, async () => {
    await env.withArtifacts('simulcast-demand', async () => {
      const { a, b, consumerId } = await setupCall(env, 'sim-demand');
      await waitWidth(b, TOP_WIDTH, 40000, 'top layer first');
      const full = await uploadRate(a, 3000);

      await request(b, 'setConsumerPreferredLayers', { consumerId, spatialLayer: 0 });
      await poll(async () => (await layersNeeded(a)) === 0, { timeout: 15000, what: 'A told only layer 0 is needed' });
      await sleep(2000);
      const low = await uploadRate(a, 3000);
      assert.ok(low.perEncoding.r2 < 20000 && low.perEncoding.r1 < 20000, `r1/r2 switched off: ${JSON.stringify(low)}`);
      assert.ok(low.perEncoding.r0 > 20000, `r0 still sent: ${JSON.stringify(low)}`);
      await waitWidth(b, TOP_WIDTH / 4, 10000, 'B on layer 0');

      await request(b, 'setConsumerPreferredLayers', { consumerId, spatialLayer: 2 });
      const start = Date.now();
      await poll(async () => (await layersNeeded(a)) === 2, { timeout: 5000, what: 'A told layer 2 is needed again' });
      const told = Date.now() - start;
      await waitWidth(b, TOP_WIDTH, 20000, 'top layer after re-enabling it');
      const restored = Date.now() - start;

      await request(b, 'pauseConsumer', { consumerId });
      await poll(async () => (await layersNeeded(a)) === null, { timeout: 15000, what: 'A told no layer is needed' });
      await sleep(2000);
      const none = await uploadRate(a, 3000);
      assert.ok(none.total < 30000, `nothing sent while nobody watches: ${JSON.stringify(none)}`);
      await request(b, 'resumeConsumer', { consumerId });
      await poll(async () => (await layersNeeded(a)) !== null, { timeout: 5000, what: 'A told video is needed again' });
      const before = (await videoOf(b)).framesDecoded;
      await poll(async () => (await videoOf(b)).framesDecoded > before + 10, { timeout: 15000, what: 'B decodes again' });
      console.log(`# upload by A: all layers ${JSON.stringify(full)}; only layer 0 needed ${JSON.stringify(low)}; nobody watching ${JSON.stringify(none)}; layer 2 asked for again: A told in ${told} ms, B on the top layer after ${restored} ms`);
    });
  });

  test(`screen share: under ${LIMIT_KBIT} kbit/s it keeps its resolution and gives up frame rate`, { timeout: 180000 }, async () => {
    await env.withArtifacts('simulcast-screen', async () => {
      const { b } = await setupCall(env, 'sim-screen', { source: 'screen' });
      await waitWidth(b, TOP_WIDTH, 40000, 'top layer first');
      await limitDownlink(env, b, LIMIT_KBIT);
      try {
        await sleep(12000);
        const widths = [];
        const before = await videoOf(b);
        for (let i = 0; i < 10; i++) {
          await sleep(500);
          widths.push((await videoOf(b)).frameWidth);
        }
        const after = await videoOf(b);
        const fps = (after.framesDecoded - before.framesDecoded) / 5;
        const layers = (await b.page.evaluate(() => window.ferrosoup.notifications))
          .filter((n) => n.type === 'consumerLayersChanged').map((n) => `${n.data.spatialLayer}.${n.data.temporalLayer}`);
        const seen = { widths, fps, layers: layers.slice(-6) };
        // The estimate wobbles around the limit, so a brief step down can happen; most of the time it is 960 px.
        const median = [...widths].sort((x, y) => x - y)[widths.length >> 1];
        assert.equal(median, TOP_WIDTH, `the screen share kept 960 px most of the time: ${JSON.stringify(seen)}`);
        assert.ok(fps > 1, `still moving: ${JSON.stringify(seen)}`);
        console.log(`# screen share under ${LIMIT_KBIT} kbit/s: ${JSON.stringify(seen)}`);
      } finally {
        unlimit(env);
      }
    });
  });
});
