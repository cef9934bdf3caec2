// Publishing above the edge's upload limit, seen from a real page: the e2e
// worker accepts at most MAX_UPLOAD_BYTES (8 MiB) per request, so the real
// CLI publishes a 40 MiB file in parts (R2 multipart, every piece verified
// by the worker on the way in), and a demo page then downloads it intact.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as h from "./harness.mjs";

const env = h.sharedWorkerAndBrowser();

test("a file above 2 × MAX_UPLOAD_BYTES publishes in parts and downloads intact in a page", async () => {
  const size = 5 * h.MAX_UPLOAD_BYTES; // 40 MiB
  const id = `e2e-multipart-${process.pid}`;
  const pub = h.publishRandom(env.worker, size, 21, id, h.MiB);
  assert.equal(pub.upload.mode, "multipart");
  assert.equal(pub.upload.maxUploadBytes, h.MAX_UPLOAD_BYTES);
  assert.equal(pub.upload.multipart.partCount, 5);
  assert.equal(pub.upload.multipart.parts.length, 5);

  const p = await h.openPage(env.browser, env.worker, `content=${id}&mode=3&autostart=1`);
  const r = await h.result(p.page);
  assert.equal(r.state, "done", r.error);
  assert.equal(r.sha256, pub.fileSha256);
  assert.equal(r.stats.bytesFromHttp + r.stats.bytesFromPeers, size);
  await p.context.close();
});
