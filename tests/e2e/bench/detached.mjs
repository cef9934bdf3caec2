// One page with NO DevTools attached, for the memory and unthrottled benches
// (single.mjs, docs/bench/browser.md "Memory without DevTools").
//
// Why: a page driven by Playwright has the DevTools Network domain enabled,
// and Chromium's inspector then keeps copies of response bodies in the
// renderer (up to its default 200 MB buffer): ~180 MiB of the renderer's RSS
// in a memory-infra dump of a download, memory no user's page has. So here
// Chromium is started by this script with nothing but a URL (no remote
// debugging, no CDP session), and the page reports back over HTTP.
//
// The page (served by this script's own server on the portal origin that the
// worker's allow-list admits, 127.0.0.1: a secure context with its own OPFS)
// imports the client package from `pkg`, runs `new Downloader({server:
// worker, downloadMode: 0, …})` against the worker (cross-origin, as an
// embedder's page would) with single.mjs's `downloadInPage` (in-page memory
// peaks, the slice-by-slice read-back), and POSTs the result.
// With `baselines` ({url, size}) it first times plain fetch()es of the file
// in the same page (single.mjs's `baselinesInPage`).
// The RSS sampler (single.mjs) runs from the page's "ready" (client loaded,
// baselines done, download not started) to the end of the download (before
// the read-back check).
//
// Invariants: measures, never asserts; the browser, its profile and the
// server are gone when `detachedDownload` returns or throws.
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as h from "../harness.mjs";
import { baselinesInPage, downloadInPage } from "./single.mjs";

const PAGE = `<!doctype html><meta charset="utf-8"><title>edgeswarm memory bench</title>
<script type="module">
const q = JSON.parse(decodeURIComponent(location.hash.slice(1)));
const post = (path, o) => fetch(path, { method: "POST", body: JSON.stringify(o ?? {}) });
globalThis.benchReady = () => post("/ready");
globalThis.benchSampled = () => post("/sampled");
try {
  const http = q.baselines ? await (${baselinesInPage.toString()})(q.baselines) : null;
  const r = await (${downloadInPage.toString()})(q);
  await post("/result", { ...r, http });
} catch (e) {
  await post("/result", { error: "page: " + String(e?.message ?? e) });
}
</script>`;

/** The read-back check's slice: the page hashes the File this much at a time. */
export const READ_BACK_SLICE = 64 * 1024 * 1024;

function readBody(req) {
  return new Promise((resolve, reject) => {
    const parts = [];
    req.on("data", (c) => parts.push(c));
    req.on("end", () => resolve(Buffer.concat(parts).toString("utf8")));
    req.on("error", reject);
  });
}

/**
 * Downloads `contentId` in mode 0 in a fresh Chromium (profile on disk) with
 * no DevTools attached. `startSampler()` is called when the page is ready and
 * returns `stop()`, whose value comes back as `rss`. Returns the page's
 * result and `rss`.
 */
export async function detachedDownload({ worker, contentId, engine, pkg, baselines, startSampler,
  slice = READ_BACK_SLICE, timeoutMs = 20 * 60_000 }) {
  let stop = null;
  let rss = null;
  let settle;
  const result = new Promise((resolve, reject) => { settle = { resolve, reject }; });
  const server = createServer(async (req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    try {
      if (path === "/") {
        res.writeHead(200, { "Content-Type": "text/html" });
        return res.end(PAGE);
      }
      if (path === "/pkg/client_wasm.js" || path === "/pkg/client_wasm_bg.wasm") {
        const js = path.endsWith(".js");
        res.writeHead(200, { "Content-Type": js ? "text/javascript" : "application/wasm" });
        return res.end(readFileSync(join(pkg, path.slice("/pkg/".length))));
      }
      if (path === "/ready" && req.method === "POST") {
        await readBody(req);
        stop ??= startSampler();
        return res.end("{}");
      }
      if (path === "/sampled" && req.method === "POST") {
        // The download is over: the read-back check that follows is not sampled.
        await readBody(req);
        rss ??= stop?.() ?? null;
        return res.end("{}");
      }
      if (path === "/result" && req.method === "POST") {
        const body = JSON.parse(await readBody(req));
        res.end("{}");
        return settle.resolve(body);
      }
      res.writeHead(404);
      res.end();
    } catch (e) {
      res.writeHead(500);
      res.end(String(e));
      settle.reject(e);
    }
  });
  // The worker's allow-list (harness.startWorker) admits the portal origin:
  // this page is served there, as an embedder's page would be.
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    h.portalPort().then((port) => server.listen(port, "127.0.0.1", resolve), reject);
  });
  const profile = mkdtempSync(join(tmpdir(), "edgeswarm-detached-"));
  const query = encodeURIComponent(JSON.stringify({ server: worker.url, contentId, engine, trace: false,
    baselines, slice }));
  const url = `http://127.0.0.1:${server.address().port}/#${query}`;
  const browser = spawn(h.CHROMIUM, [...h.CHROME_ARGS, `--user-data-dir=${profile}`,
    "--enable-precise-memory-info", "--js-flags=--expose-gc", url], { stdio: "ignore", detached: true });
  const exited = new Promise((r) => {
    browser.once("exit", r);
    browser.once("error", (e) => { settle.reject(e); r(null); });
  });
  let timer;
  try {
    const page = await Promise.race([
      result,
      exited.then((code) => { throw new Error(`chromium exited (${code}) before the page reported`); }),
      new Promise((_, reject) => { timer = setTimeout(() => reject(new Error("the detached page did not report in time")), timeoutMs); }),
    ]);
    rss ??= stop?.() ?? null;
    return { page, rss };
  } finally {
    rss ??= stop?.() ?? null; // the sampler's timer stops on every path
    clearTimeout(timer);
    // The whole process group (its own: `detached`), helpers included, so
    // none of them still writes the profile when it is removed.
    try { process.kill(-browser.pid, "SIGKILL"); } catch { /* already gone */ }
    await exited;
    server.close();
    // Chromium's helpers may still be writing the profile for a moment.
    rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  }
}
