// A page built with the test-only `malicious-corrupt-serving` feature, told
// at runtime to drip (`globalThis.edgeswarmMaliciousMode = "drip"`: the
// first byte of every requested piece, then nothing), announces every piece.
// Honest pages route around it (the engine's drip defence): they finish
// intact, within 1.5x of the same three pages without it (both swarms run
// here; the ratio is compared, not a time), and the drip page is starved
// (it delivers no piece) or banned; no honest peer is banned.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as h from "./harness.mjs";

const env = h.sharedWorkerAndBrowser();
const size = 16 * h.MiB;
const DRIP = () => { globalThis.edgeswarmMaliciousMode = "drip"; };

/** Three honest pages on `id`; returns their results and the wall ms they took. */
async function honestSwarm(id) {
  const q = `content=${id}&mode=3&autostart=1`;
  const started = Date.now();
  const pages = await Promise.all([1, 2, 3].map(() => h.openPage(env.browser, env.worker, q)));
  const results = await Promise.all(pages.map((p) => h.result(p.page)));
  const ms = Date.now() - started;
  return { pages, results, ms };
}

test("honest pages route around a dripping peer and finish within 1.5x", async () => {
  const baseId = `e2e-drip-base-${process.pid}`;
  const dripId = `e2e-drip-${process.pid}`;
  const basePub = h.publishRandom(env.worker, size, 5, baseId, 256 * 1024);
  const dripPub = h.publishRandom(env.worker, size, 6, dripId, 256 * 1024);

  const base = await honestSwarm(baseId);
  for (const r of base.results) {
    assert.equal(r.state, "done", r.error);
    assert.equal(r.sha256, basePub.fileSha256);
  }

  // The dripper downloads honestly (from the CDN), then drips.
  const q = `content=${dripId}&mode=3&autostart=1`;
  const drip = await h.openPage(env.browser, env.worker, q, { malicious: true, initScript: DRIP });
  const dripResult = await h.result(drip.page);
  assert.equal(dripResult.state, "done", dripResult.error);
  const dripPeer = dripResult.stats.peerId;
  assert.ok(dripPeer, "the dripper joined the array");

  const attacked = await honestSwarm(dripId);
  const honestIds = attacked.results.map((r) => r.stats.peerId);
  let met = 0;
  let banned = 0;
  for (const r of attacked.results) {
    assert.equal(r.state, "done", r.error);
    assert.equal(r.sha256, dripPub.fileSha256, "intact bytes");
    for (const p of r.stats.peers) {
      if (p.state === "banned") {
        assert.ok(!honestIds.includes(p.id), `an honest peer (${p.id}) was banned`);
      }
      if (p.id !== dripPeer) continue;
      met += 1;
      assert.equal(p.piecesFrom, 0, "the dripper delivered no piece");
      if (p.state === "banned") banned += 1;
    }
  }
  const ratio = attacked.ms / base.ms;
  console.log(JSON.stringify({ baseMs: base.ms, attackedMs: attacked.ms, ratio, met, banned }));
  assert.ok(met >= 1, "honest pages connected to the dripper");
  assert.ok(ratio <= 1.5, `with the dripper ${ratio.toFixed(2)}x the time without it`);
  await Promise.all([drip, ...base.pages, ...attacked.pages].map((p) => p.context.close()));
});
