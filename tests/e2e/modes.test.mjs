// Mode decisions seen from real pages: tampered metadata falls back to simple
// mode (HTTP, still intact), mode 0 never opens a peer connection, and group
// mode never matches peers of different groups.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as h from "./harness.mjs";

const env = h.sharedWorkerAndBrowser();

/** Counts RTCPeerConnection constructions in the page. */
const countPeerConnections = () => {
  const Original = window.RTCPeerConnection;
  window.__rtcCreated = 0;
  window.RTCPeerConnection = class extends Original {
    constructor(...args) { super(...args); window.__rtcCreated += 1; }
  };
};

test("metadata tampered at the CDN: simple mode, file still intact over HTTP", async () => {
  const size = 8 * h.MiB;
  const id = `e2e-tamper-${process.pid}`;
  const pub = h.publishRandom(env.worker, size, 4, id, 256 * 1024);
  const q = `content=${id}&mode=3&autostart=1`;
  // A seed exists, so a P2P client would find a peer.
  const seed = await h.openPage(env.browser, env.worker, q);
  assert.equal((await h.result(seed.page)).state, "done");

  const context = await env.browser.newContext();
  const page = await context.newPage();
  await page.addInitScript(countPeerConnections);
  await page.route("**/do/v1/meta/**", async (route) => {
    const real = await route.fetch();
    const body = Buffer.from(await real.body());
    body[body.length - 1] ^= 0x01; // one flipped bit in the last piece hash
    await route.fulfill({ response: real, body });
  });
  await h.visit(page, `${env.worker.url}/?${q}`);
  const r = await h.result(page);
  assert.equal(r.state, "done", r.error);
  assert.equal(r.sha256, pub.fileSha256);
  assert.equal(r.stats.mode, "simple");
  assert.match(r.stats.modeReason, /failed its SHA-256 check/, "the engine's reason is shown");
  assert.equal(r.stats.bytesFromPeers, 0);
  assert.equal(r.stats.bytesFromHttp, size);
  assert.equal(await page.evaluate(() => window.__rtcCreated), 0, "simple mode opens no peer connection");
  await context.close();
  await seed.context.close();
});

test("mode 0 never opens a peer connection, even with a seed in the swarm", async () => {
  const size = 8 * h.MiB;
  const id = `e2e-mode0-${process.pid}`;
  const pub = h.publishRandom(env.worker, size, 5, id, 256 * 1024);
  const seed = await h.openPage(env.browser, env.worker, `content=${id}&mode=3&autostart=1`);
  assert.equal((await h.result(seed.page)).state, "done");

  const p = await h.openPage(env.browser, env.worker, `content=${id}&mode=0&autostart=1`,
    { initScript: countPeerConnections });
  const sockets = [];
  p.page.on("websocket", (ws) => sockets.push(ws.url()));
  const r = await h.result(p.page);
  assert.equal(r.state, "done", r.error);
  assert.equal(r.sha256, pub.fileSha256);
  assert.equal(r.stats.mode, "http-only", "HTTP-only is not reported as simple");
  assert.match(r.stats.modeReason, /download mode 0/, "the engine's reason is shown");
  assert.equal(r.stats.bytesFromPeers, 0);
  assert.equal(r.stats.peersConnected, 0);
  assert.equal(await p.page.evaluate(() => window.__rtcCreated), 0, "no RTCPeerConnection");
  assert.deepEqual(sockets, [], "no array WebSocket");
  await p.context.close();
  await seed.context.close();
});

test("group mode: peers of different groups never meet", async () => {
  const size = 8 * h.MiB;
  const id = `e2e-group-${process.pid}`;
  const pub = h.publishRandom(env.worker, size, 6, id, 256 * 1024);
  const q = (g) => `content=${id}&mode=2&group=${g}&autostart=1`;
  const seeds = { red: await h.openPage(env.browser, env.worker, q("red")), blue: await h.openPage(env.browser, env.worker, q("blue")) };
  const seedResults = {
    red: await h.result(seeds.red.page),
    blue: await h.result(seeds.blue.page),
  };
  const joiners = { red: await h.openPage(env.browser, env.worker, q("red")), blue: await h.openPage(env.browser, env.worker, q("blue")) };
  const joinResults = { red: await h.result(joiners.red.page), blue: await h.result(joiners.blue.page) };

  for (const g of ["red", "blue"]) {
    for (const r of [seedResults[g], joinResults[g]]) {
      assert.equal(r.state, "done", r.error);
      assert.equal(r.sha256, pub.fileSha256);
    }
    assert.equal(seedResults[g].stats.arrayId, joinResults[g].stats.arrayId, `${g} pages share an array`);
  }
  assert.notEqual(seedResults.red.stats.arrayId, seedResults.blue.stats.arrayId, "groups get different arrays");
  for (const [g, other] of [["red", "blue"], ["blue", "red"]]) {
    const mine = new Set([seedResults[g].stats.peerId, joinResults[g].stats.peerId]);
    const theirs = new Set([seedResults[other].stats.peerId, joinResults[other].stats.peerId]);
    for (const r of [seedResults[g], joinResults[g]]) {
      for (const p of r.stats.peers) {
        assert.ok(!theirs.has(p.id), `a ${g} page met ${other} peer ${p.id}`);
        assert.ok(mine.has(p.id), `a ${g} page met an unknown peer ${p.id}`);
      }
    }
    assert.ok(joinResults[g].stats.bytesFromPeers > 0, `the ${g} joiner got bytes from its group's seed`);
  }
  for (const p of [...Object.values(seeds), ...Object.values(joiners)]) await p.context.close();
});
