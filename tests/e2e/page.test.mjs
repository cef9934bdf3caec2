// The demo page vouches only for what it checked: it refuses to download from
// another origin than its own (which it would otherwise present as
// "Verified" by this site), and it says "Verified" only when the engine
// checked the file against a trusted hash.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as h from "./harness.mjs";

const env = h.sharedWorkerAndBrowser();

test("a server parameter naming another origin is refused before any request", async () => {
  const foreign = "http://127.0.0.1:9"; // nothing listens there; no request may go out
  const requests = [];
  const p = await h.openPage(env.browser, env.worker,
    `server=${encodeURIComponent(foreign)}&content=setup.exe&mode=3&autostart=1`, {
      beforeGoto: (page) => page.on("request", (r) => {
        if (r.url().startsWith(foreign)) requests.push(r.url());
      }),
    });
  const r = await h.result(p.page);
  assert.equal(r.state, "error");
  const message = await p.page.textContent("#message");
  assert.match(message, /only from its own origin/);
  assert.doesNotMatch(message, /Verified/);
  assert.deepEqual(requests, [], "nothing was asked of the foreign server");
  await p.context.close();
});

test("the page says Verified only when the file was checked against a trusted hash", async () => {
  const size = 2 * h.MiB;
  const id = `e2e-verified-${process.pid}`;
  const pub = h.publishRandom(env.worker, size, 7, id, 256 * 1024);
  // Mode 99 (simple) has no trusted whole-file hash on the demo page.
  const simple = await h.openPage(env.browser, env.worker, `content=${id}&mode=99&autostart=1`);
  const rs = await h.result(simple.page);
  assert.equal(rs.state, "done", rs.error);
  assert.equal(rs.sha256, pub.fileSha256);
  assert.equal(rs.stats.verified, false);
  assert.doesNotMatch(await simple.page.textContent("#message"), /Verified/);
  // Mode 0 checks every piece against the policy-authenticated metadata.
  const checked = await h.openPage(env.browser, env.worker, `content=${id}&mode=0&autostart=1`);
  const rc = await h.result(checked.page);
  assert.equal(rc.state, "done", rc.error);
  assert.equal(rc.stats.verified, true);
  assert.match(await checked.page.textContent("#message"), /^Verified /);
  await simple.context.close();
  await checked.context.close();
});
