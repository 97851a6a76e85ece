// Media quality under impairment: random packet loss injected with nftables inside the test's loopback namespace.
// The receiver must keep decoding thanks to NACK/RTX (ferrosoup NACKs the publisher and answers the receiver's NACKs).

import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { startEnv } from './harness.mjs';

const LOSS_PERCENT = 5;

function nft(ns, ...args) {
  execFileSync('ip', ['netns', 'exec', ns, 'nft', ...args]);
}

async function videoReceiverStats(page) {
  return page.evaluate(async () => {
    const c = window.ferrosoup.consumers.find((x) => x.kind === 'video');
    if (!c) return null;
    const report = await c.consumer.rtpReceiver.getStats();
    let out = null;
    report.forEach((s) => {
      if (s.type === 'inbound-rtp') {
        out = {
          packetsReceived: s.packetsReceived ?? 0,
          nackCount: s.nackCount ?? 0,
          retransmitted: s.retransmittedPacketsReceived ?? 0,
          framesDecoded: s.framesDecoded ?? 0,
          freezeSeconds: s.totalFreezesDuration ?? 0,
        };
      }
    });
    return out;
  });
}

describe('quality under impairment', () => {
  let env;

  before(async () => {
    env = await startEnv();
  });

  after(async () => {
    if (env) await env.stop();
  });

  test(`${LOSS_PERCENT}% random loss both ways: the receiver keeps decoding through NACK/RTX`, { timeout: 90000 }, async () => {
    await env.withArtifacts('quality-loss', async () => {
      const a = await env.open({ room: 'loss', name: 'A', codec: 'vp8' }, 'A');
      await a.page.evaluate(() => window.ferrosoup.ready);
      const b = await env.open({ room: 'loss', name: 'B', publish: '0' }, 'B');
      await b.page.evaluate(() => window.ferrosoup.ready);
      await new Promise((r) => setTimeout(r, 2000));

      nft(env.ns, 'add', 'table', 'inet', 'loss');
      nft(env.ns, 'add', 'chain', 'inet', 'loss', 'in', '{ type filter hook input priority 0 ; }');
      for (const dir of ['sport', 'dport']) {
        nft(env.ns, 'add', 'rule', 'inet', 'loss', 'in', 'udp', dir, String(env.rtcPort),
          'numgen', 'random', 'mod', '100', '<', String(LOSS_PERCENT), 'drop');
      }
      try {
        const before = await videoReceiverStats(b.page);
        await new Promise((r) => setTimeout(r, 10000));
        const after = await videoReceiverStats(b.page);
        assert.ok(before && after, 'B has a video consumer');
        const decoded = after.framesDecoded - before.framesDecoded;
        const frozen = after.freezeSeconds - before.freezeSeconds;
        assert.ok(after.nackCount > before.nackCount, `B sent NACKs: ${JSON.stringify(after)}`);
        assert.ok(after.retransmitted > before.retransmitted, `B got retransmissions: ${JSON.stringify({ before, after })}`);
        assert.ok(decoded > 100, `B kept decoding (${decoded} frames in 10 s)`);
        assert.ok(frozen < 2, `B froze ${frozen.toFixed(2)} s in 10 s`);
      } finally {
        nft(env.ns, 'delete', 'table', 'inet', 'loss');
      }
    });
  });
});
