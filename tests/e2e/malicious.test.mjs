// A page built with the test-only `malicious-corrupt-serving` feature serves
// corrupted pieces; honest pages reject them, ban it, and still finish intact.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as h from "./harness.mjs";

const env = h.sharedWorkerAndBrowser();

test("honest pages ban a corrupting peer and still get intact bytes", async () => {
  const size = 16 * h.MiB;
  const id = `e2e-evil-${process.pid}`;
  const pub = h.publishRandom(env.worker, size, 3, id, 256 * 1024);
  const q = `content=${id}&mode=3&autostart=1`;
  // The attacker downloads honestly (from the CDN), then serves garbage.
  const evil = await h.openPage(env.browser, env.worker, q, { malicious: true });
  const evilResult = await h.result(evil.page);
  assert.equal(evilResult.state, "done", evilResult.error);
  const evilId = evilResult.stats.peerId;
  assert.ok(evilId, "the attacker joined the array");

  const honest = await Promise.all([1, 2, 3].map(() => h.openPage(env.browser, env.worker, q)));
  const results = await Promise.all(honest.map((p) => h.result(p.page)));
  const honestIds = results.map((r) => r.stats.peerId);
  const { config } = await (await fetch(`${env.worker.url}/do/v1/kv`)).json();
  const strikeLimit = config.strikeLimit;
  let bans = 0;
  let rejected = 0;
  for (const r of results) {
    assert.equal(r.state, "done", r.error);
    assert.equal(r.sha256, pub.fileSha256, "no corrupt piece was accepted");
    rejected += r.stats.piecesRejected;
    for (const p of r.stats.peers) {
      if (p.state === "banned") {
        assert.equal(p.id, evilId, `an honest peer (${p.id}) was banned`);
        assert.ok(!honestIds.includes(p.id));
        bans += 1;
      }
      if (p.id === evilId && p.piecesRejected >= strikeLimit) {
        assert.equal(p.state, "banned", "a peer over the strike limit is banned");
      }
    }
  }
  console.log(JSON.stringify({ bans, rejected, attacker: evilId }));
  assert.ok(rejected > 0, "the attacker's pieces were rejected");
  assert.ok(bans >= 1, "the attacker was banned");
  await Promise.all([evil, ...honest].map((p) => p.context.close()));
});
