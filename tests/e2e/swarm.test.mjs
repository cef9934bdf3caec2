// A swarm of real pages: everyone gets the publisher's bytes, later joiners get
// them from peers, the CDN serves far less than one copy per page when the
// peers are the faster source (the engine's CDN race takes a CDN that is
// faster than the peers alongside them, so the first test throttles it), and
// a page that disappears mid-transfer does not stall the others.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as h from "./harness.mjs";

const env = h.sharedWorkerAndBrowser();

test("five pages download one 32 MiB file from a 1 MiB/s CDN; peers carry most of it", async () => {
  const size = 32 * h.MiB;
  const id = `e2e-swarm-${process.pid}`;
  const pub = h.publishRandom(env.worker, size, 1, id);
  const q = `content=${id}&mode=3&autostart=1`;
  const open = () => h.openPage(env.browser, env.worker, q, { beforeGoto: (page) => h.throttleCdn(page, h.MiB) });
  const first = await open();
  await h.until(first.page, "s => s.piecesVerified >= 4");
  const joiners = await Promise.all([1, 2, 3, 4].map(open));
  const pages = [first, ...joiners];
  const results = await Promise.all(pages.map((p) => h.result(p.page)));

  for (const r of results) {
    assert.equal(r.state, "done", r.error);
    assert.equal(r.sha256, pub.fileSha256, "every page holds the publisher's bytes");
    assert.equal(r.stats.mode, "p2p");
    assert.equal(r.stats.piecesRejected, 0);
    assert.equal(r.stats.peersBanned, 0, "no honest peer is banned");
  }
  for (const r of results.slice(1)) {
    assert.ok(r.stats.bytesFromPeers > 0, "a later joiner gets bytes from peers");
  }
  const cdnByStats = results.reduce((n, r) => n + r.stats.bytesFromHttp, 0);
  const cdnByNetwork = pages.reduce((n, p) => n + p.cdnBytes(), 0);
  const allCopies = pages.length * size;
  console.log(JSON.stringify({ pages: pages.length, fileSize: size, cdnByStats, cdnByNetwork,
    cdnCopies: cdnByStats / size, peerBytes: results.map((r) => r.stats.bytesFromPeers) }));
  assert.ok(cdnByStats < allCopies / 2, `CDN served ${cdnByStats} of ${allCopies} bytes`);
  assert.ok(cdnByNetwork < allCopies / 2, `the network saw ${cdnByNetwork} CDN bytes`);
  await Promise.all(pages.map((p) => p.context.close()));
});

test("a page closed mid-transfer does not stall the others", async () => {
  const size = 32 * h.MiB;
  const id = `e2e-leave-${process.pid}`;
  const pub = h.publishRandom(env.worker, size, 2, id);
  const q = `content=${id}&mode=3&autostart=1`;
  const seed = await h.openPage(env.browser, env.worker, q);
  await h.until(seed.page, "s => s.piecesVerified >= 8");
  const joiners = await Promise.all([1, 2, 3].map(() => h.openPage(env.browser, env.worker, q)));
  // Once the first joiner is receiving from peers, the seed (which others are
  // also downloading from) goes away without saying goodbye.
  await h.until(joiners[0].page, "s => s.bytesFromPeers > 0");
  const before = await Promise.all(joiners.map((p) => h.stats(p.page)));
  await seed.context.close();
  assert.ok(before.some((s) => s.state !== "done"), "the seed left while others were downloading");

  const results = await Promise.all(joiners.map((p) => h.result(p.page)));
  for (const r of results) {
    assert.equal(r.state, "done", r.error);
    assert.equal(r.sha256, pub.fileSha256);
    assert.equal(r.stats.peersBanned, 0, "leaving is not misbehaving");
  }
  await Promise.all(joiners.map((p) => p.context.close()));
});
