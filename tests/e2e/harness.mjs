// Shared helpers for the end-to-end swarm tests (tests/e2e/*.test.mjs).
//
// The worker: `cargo xtask test` starts real workerd (wrangler dev on
// 127.0.0.1, xtask/src/worker.rs LocalWorker) and passes E2E_SERVER and
// E2E_TOKEN. Run by hand without them, startWorker() starts wrangler itself
// the same way (own process group, fresh state dir, readiness by polling).
// Browsers: Debian's Chromium through playwright-core, one browser context per
// page (separate storage), docs/toolchain.md's flags. Loopback only.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, readFileSync, existsSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createServer } from "node:net";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";
import { before, after } from "node:test";
import { setTimeout as delay } from "node:timers/promises";

export const ROOT = resolve(import.meta.dirname, "../..");
export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
export const EDGESWARM_BIN = process.env.EDGESWARM_BIN ?? join(ROOT, "target/release/edgeswarm");
export const MALICIOUS_PKG = process.env.E2E_MALICIOUS_PKG ?? join(ROOT, "target/e2e/malicious-pkg");
export const MiB = 1024 * 1024;
/** The e2e worker's upload limit (xtask's test worker uses the same). */
export const MAX_UPLOAD_BYTES = 8 * MiB;

export const CHROME_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
  "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
  "--allow-loopback-in-peer-connection", "--use-fake-ui-for-media-stream",
];

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once("error", rej);
    s.listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => res(port)); });
  });
}

/**
 * A port for the cross-origin portal pages (portal.test.mjs), picked once per
 * run and kept in E2E_PORTAL_PORT so the worker (started here or by run.mjs)
 * can allow exactly that origin. Chosen below the kernel's ephemeral range,
 * so no outgoing connection takes it before the portal server listens.
 */
export async function portalPort() {
  if (process.env.E2E_PORTAL_PORT) return Number(process.env.E2E_PORTAL_PORT);
  for (let port = 20000 + (process.pid % 5000); port < 32000; port += 1) {
    const free = await new Promise((res) => {
      const s = createServer();
      s.once("error", () => res(false));
      s.listen(port, "127.0.0.1", () => s.close(() => res(true)));
    });
    if (free) {
      process.env.E2E_PORTAL_PORT = String(port);
      return port;
    }
  }
  throw new Error("no free port for the portal pages");
}

/**
 * Resolves when wrangler prints its "Ready on" line (an event, not a timer),
 * then checks that the API answers; rejects if wrangler exits first.
 */
async function waitReady(url, child) {
  await new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    const onExit = (code) => reject(new Error(`wrangler exited with ${code} before it was ready`));
    child.once("exit", onExit);
    lines.on("line", (line) => {
      if (/Ready on http/.test(line)) {
        child.off("exit", onExit);
        resolve();
      }
    });
  });
  // Keep draining wrangler's output so it never blocks on a full pipe.
  child.stdout.resume();
  const r = await fetch(`${url}/do/v1/kv`);
  if (r.status !== 200) throw new Error(`wrangler is up but /do/v1/kv answered ${r.status}`);
}

/**
 * Registers a test file's hooks: one worker and one browser shared by all of
 * its tests, started before the first and stopped after the last. Returns
 * `{ worker, browser }`, filled in once the hooks have run.
 */
export function sharedWorkerAndBrowser() {
  const env = { worker: undefined, browser: undefined };
  before(async () => {
    env.worker = await startWorker();
    env.browser = await launchBrowser();
  });
  after(async () => {
    await env.browser?.close();
    await env.worker?.stop();
  });
  return env;
}

/** The worker under test: from the environment, or a wrangler dev of our own. */
export async function startWorker() {
  if (process.env.E2E_SERVER) {
    return { url: process.env.E2E_SERVER, token: process.env.E2E_TOKEN, stop: async () => {} };
  }
  const dir = mkdtempSync(join(tmpdir(), "edgeswarm-e2e-"));
  const token = `e2e-${process.pid}`;
  writeFileSync(join(dir, "dev.vars"), `ADMIN_TOKEN=${token}\n`);
  const port = await freePort();
  // Browsers may use this worker from its own origin and from the portal
  // origin only: the allow-list is what the portal test exercises.
  const portal = `http://127.0.0.1:${await portalPort()}`;
  const wrangler = process.env.WRANGLER ?? join(ROOT, "node_modules/.bin/wrangler");
  const child = spawn(wrangler, [
    "dev", "--local", "--ip", "127.0.0.1", "--port", String(port),
    "--show-interactive-dev-session=false", "--persist-to", join(dir, "state"),
    "--env-file", join(dir, "dev.vars"), "--var", "REPORT_INTERVAL_MS:2000",
    "--var", `ALLOWED_ORIGINS:${portal}`,
    // A small upload limit, so files above 8 MiB are published in parts.
    "--var", `MAX_UPLOAD_BYTES:${MAX_UPLOAD_BYTES}`,
    // Extra worker vars for benchmarks, e.g. WORKER_VARS=MIN_DOWNLOAD_BYTES_PER_SECOND:0
    ...(process.env.WORKER_VARS ?? "").split(",").filter(Boolean).flatMap((v) => ["--var", v]),
  ], {
    cwd: ROOT, detached: true, stdio: ["ignore", "pipe", "ignore"],
    // A private dev registry: another `wrangler dev` of the same worker name
    // joining or leaving the shared one reloads this worker mid-request.
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false",
      WRANGLER_REGISTRY_PATH: join(dir, "registry") },
  });
  const url = `http://127.0.0.1:${port}`;
  await waitReady(url, child);
  return {
    url, token,
    stop: async () => {
      try { process.kill(-child.pid, "SIGTERM"); } catch { /* already gone */ }
      if (child.exitCode === null) await new Promise((r) => child.once("exit", r));
      try { process.kill(-child.pid, "SIGKILL"); } catch { /* group gone */ }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Deterministic pseudo-random bytes (xorshift32), `size` long. */
export function makeFile(size, seed) {
  const buf = Buffer.alloc(size);
  let x = (seed >>> 0) || 1;
  for (let i = 0; i + 4 <= size; i += 4) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    buf.writeUInt32LE(x, i);
  }
  const dir = mkdtempSync(join(tmpdir(), "edgeswarm-file-"));
  const path = join(dir, "content.bin");
  writeFileSync(path, buf);
  return path;
}

/** Publishes `path` as `contentId` with the real CLI; returns its JSON summary. */
export function publish(worker, path, contentId, pieceSize = MiB) {
  const out = mkdtempSync(join(tmpdir(), "edgeswarm-meta-"));
  try {
    const stdout = execFileSync(EDGESWARM_BIN, [
      "publish", path, "--content-id", contentId, "--piece-size", String(pieceSize),
      "--out", out, "--server", worker.url,
    ], { encoding: "utf8", env: { ...process.env, EDGESWARM_TOKEN: worker.token } });
    return JSON.parse(stdout);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** Publishes `size` deterministic bytes as `contentId`; the local copy is deleted. */
export function publishRandom(worker, size, seed, contentId, pieceSize = MiB) {
  const path = makeFile(size, seed);
  try {
    return publish(worker, path, contentId, pieceSize);
  } finally {
    rmSync(dirname(path), { recursive: true, force: true });
  }
}

export async function launchBrowser(extraArgs = []) {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROME_ARGS, ...extraArgs] });
}

/**
 * Opens the demo page in its own browser context. With `malicious`, the page
 * gets the test-only corrupting client package instead of www/pkg.
 * Returns {page, context, cdnBytes()} where cdnBytes adds up the
 * Content-Length of every content-route response the page received.
 */
export async function openPage(browser, worker, query, { malicious = false, initScript, beforeGoto } = {}) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error(`[page ${query}] ${e.message}`));
  if (initScript) await page.addInitScript(initScript);
  if (malicious) {
    if (!existsSync(join(MALICIOUS_PKG, "client_wasm_bg.wasm"))) {
      throw new Error(`no malicious client in ${MALICIOUS_PKG} (cargo xtask builds it)`);
    }
    await page.route("**/pkg/client_wasm.js", (r) =>
      r.fulfill({ contentType: "text/javascript", body: readFileSync(join(MALICIOUS_PKG, "client_wasm.js")) }));
    await page.route("**/pkg/client_wasm_bg.wasm", (r) =>
      r.fulfill({ contentType: "application/wasm", body: readFileSync(join(MALICIOUS_PKG, "client_wasm_bg.wasm")) }));
  }
  let cdn = 0;
  page.on("response", (res) => {
    if (!res.url().includes("/do/v1/content/")) return;
    cdn += Number(res.headers()["content-length"] ?? 0);
  });
  if (beforeGoto) await beforeGoto(page, context);
  await visit(page, `${worker.url}/?${query}`);
  return { page, context, cdnBytes: () => cdn };
}

/**
 * Navigates `page` to `url` and returns once its DOM is parsed (so
 * `document.body` exists). Tests then wait for the page's own signals
 * (`document.body.dataset.state`, `.seeding`), each with its own timeout. The
 * `load` event is not waited for: it adds nothing those signals don't say, and
 * on a loaded shared machine one CI run spent over Playwright's 30 s default
 * waiting for it on a page of the mode tests.
 */
export async function visit(page, url) {
  await page.goto(url, { waitUntil: "domcontentloaded", timeout: 120_000 });
}

/**
 * Throttles the page's CDN: every response of the content route is held
 * back for as long as its body would take at `bytesPerSecond` (per request).
 * Only HTTP is slowed; data channels are not (DevTools network emulation
 * would slow those too).
 */
export async function throttleCdn(page, bytesPerSecond) {
  await page.route("**/do/v1/content/**", async (route) => {
    try {
      const response = await route.fetch();
      const body = await response.body();
      await delay((1000 * body.length) / bytesPerSecond);
      await route.fulfill({ response, body });
    } catch {
      // The proxied fetch failed: a test closed the page mid-request on
      // purpose ("a page closed mid-transfer…"), or the file's last pages
      // were still fetching when the worker stopped (ECONNRESET). The page
      // sees a network error, as it would without the proxy; a rejection
      // here would escape every test (an unhandledRejection fails the file).
      await route.abort().catch(() => {});
    }
  });
}

/** Waits until the page's download ended; returns window.edgeswarmResult. */
export async function result(page, timeout = 180_000) {
  await page.waitForFunction(
    () => ["done", "error"].includes(document.body.dataset.state), null, { timeout, polling: 100 });
  return page.evaluate(() => ({ state: document.body.dataset.state, ...window.edgeswarmResult }));
}

/** Waits until the page's live stats satisfy `predicate` (a function of stats, as source). */
export async function until(page, predicate, timeout = 180_000) {
  await page.waitForFunction(
    `(() => { const d = window.edgeswarmDownloader; if (!d) return false; const s = d.stats(); return (${predicate})(s); })()`,
    null, { timeout, polling: 100 });
}

export function stats(page) {
  return page.evaluate(() => window.edgeswarmDownloader?.stats());
}
