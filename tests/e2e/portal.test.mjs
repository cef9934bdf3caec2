// Embedding from another origin, the way a portal developer would: the packed
// npm tarball (cargo xtask pack; E2E_NPM_PACKAGE) is installed offline into a
// fresh directory, type-checked with tsc, bundled with esbuild, and served by
// a separate static server on 127.0.0.1:E2E_PORTAL_PORT — another origin than
// the worker, which runs with ALLOWED_ORIGINS = that origin (harness.mjs).
// Two portal pages (plain ESM import, esbuild bundle) under a strict CSP
// download a freshly published file from the worker and swarm; a page on a
// third origin is refused by the worker's CORS answers.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { createServer, request } from "node:http";
import {
  copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { extname, join, normalize, sep } from "node:path";
import * as h from "./harness.mjs";

// One hook sets everything up in order (the portal needs the worker's URL).
const env = { worker: undefined, browser: undefined };
const FIXTURES = join(h.ROOT, "tests/e2e/portal");
const FIXTURE_FILES = ["plain.html", "plain.js", "bundle.html", "bundle-entry.js", "portal.js", "usage.ts", "usage-bad.ts"];
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm", ".json": "application/json" };

const portal = { dir: undefined, tgz: undefined, servers: [], origin: undefined, deniedOrigin: undefined };

function packageTarball() {
  if (process.env.E2E_NPM_PACKAGE) return process.env.E2E_NPM_PACKAGE;
  const dir = join(h.ROOT, "target/npm");
  const found = existsSync(dir) ? readdirSync(dir).filter((f) => /^edgeswarm-.+\.tgz$/.test(f)) : [];
  if (found.length !== 1) throw new Error(`want one target/npm/edgeswarm-*.tgz (cargo xtask pack), found ${found}`);
  return join(dir, found[0]);
}

/** A static file server for `root` on 127.0.0.1:`port` (0 = any), with the CSP the package README asks for. */
function serve(root, port, workerUrl) {
  const csp = [
    "default-src 'self'",
    "script-src 'self' 'wasm-unsafe-eval'",
    `connect-src 'self' ${workerUrl} ${workerUrl.replace(/^http/, "ws")}`,
  ].join("; ");
  const server = createServer((req, res) => {
    let path;
    try {
      path = decodeURIComponent(new URL(req.url, "http://portal").pathname);
    } catch {
      res.writeHead(400).end();
      return;
    }
    if (path === "/favicon.ico") {
      res.writeHead(204).end();
      return;
    }
    const file = normalize(join(root, path));
    if (!file.startsWith(root + sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, {
      "content-type": TYPES[extname(file)] ?? "application/octet-stream",
      "content-security-policy": csp,
      "cache-control": "no-store",
    });
    res.end(readFileSync(file));
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      portal.servers.push(server);
      resolve(`http://127.0.0.1:${server.address().port}`);
    });
  });
}

before(async () => {
  env.worker = await h.startWorker();
  env.browser = await h.launchBrowser();
  portal.tgz = packageTarball();
  portal.dir = mkdtempSync(join(tmpdir(), "edgeswarm-portal-"));
  writeFileSync(join(portal.dir, "package.json"), JSON.stringify({ name: "portal", private: true, type: "module" }));
  // No network beyond the local npm cache: the package must have no dependencies.
  execFileSync("npm", ["install", "--offline", "--no-audit", "--no-fund", portal.tgz], {
    cwd: portal.dir, stdio: ["ignore", "ignore", "inherit"],
  });
  for (const f of FIXTURE_FILES) copyFileSync(join(FIXTURES, f), join(portal.dir, f));
  // The bundler flavour: esbuild resolves `edgeswarm` through the package's
  // exports; the .wasm goes next to the bundle (README: "Bundlers").
  execFileSync(join(h.ROOT, "node_modules/.bin/esbuild"), [
    "bundle-entry.js", "--bundle", "--format=esm", "--outfile=dist/bundle.js", "--log-level=warning",
  ], { cwd: portal.dir, stdio: ["ignore", "inherit", "inherit"] });
  mkdirSync(join(portal.dir, "dist"), { recursive: true });
  copyFileSync(join(portal.dir, "node_modules/edgeswarm/client_wasm_bg.wasm"), join(portal.dir, "dist/client_wasm_bg.wasm"));
  portal.origin = await serve(portal.dir, await h.portalPort(), env.worker.url);
  portal.deniedOrigin = await serve(portal.dir, 0, env.worker.url);
});

after(async () => {
  await Promise.all(portal.servers.map((s) => new Promise((r) => s.close(r))));
  if (portal.dir) rmSync(portal.dir, { recursive: true, force: true });
  await env.browser?.close();
  await env.worker?.stop();
});

async function openPortal(origin, page, query) {
  const context = await env.browser.newContext();
  const p = await context.newPage();
  p.on("pageerror", (e) => console.error(`[${origin}/${page}] ${e.message}`));
  p.on("console", (m) => { if (m.type() === "error") console.error(`[${origin}/${page}] ${m.text()}`); });
  await h.visit(p, `${origin}/${page}?${query}`);
  return { page: p, context };
}

async function outcome(page) {
  await page.waitForFunction(() => ["done", "error"].includes(document.body.dataset.state), null,
    { timeout: 180_000, polling: 100 });
  return page.evaluate(() => ({ state: document.body.dataset.state, ...window.portalResult }));
}

test("the packed tarball installs offline, alone, and its types check a usage sample", () => {
  const pkgDir = join(portal.dir, "node_modules/edgeswarm");
  const pkg = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8"));
  const cargoVersion = /\[workspace\.package\][^[]*?\nversion\s*=\s*"([^"]+)"/.exec(
    readFileSync(join(h.ROOT, "Cargo.toml"), "utf8"))[1];
  assert.equal(pkg.version, cargoVersion, "the package version is the workspace version");
  assert.ok(portal.tgz.endsWith(`edgeswarm-${cargoVersion}.tgz`));
  assert.equal(pkg.dependencies, undefined, "no dependencies: portals install it offline");
  assert.equal(pkg.sideEffects, false);
  assert.equal(pkg.exports["."].types, "./edgeswarm.d.ts");
  for (const f of ["edgeswarm.js", "edgeswarm.d.ts", "client_wasm.js", "client_wasm_bg.wasm", "README.md"]) {
    assert.ok(existsSync(join(pkgDir, f)), `the package ships ${f}`);
  }
  const installed = readdirSync(join(portal.dir, "node_modules")).filter((f) => !f.startsWith("."));
  assert.deepEqual(installed, ["edgeswarm"], "installing it brings nothing else");

  const tsc = (file) => spawnSync(process.execPath, [
    join(h.ROOT, "node_modules/typescript/bin/tsc"), "--noEmit", "--strict", "--target", "es2022",
    "--module", "esnext", "--moduleResolution", "bundler", "--lib", "esnext,dom", file,
  ], { cwd: portal.dir, encoding: "utf8" });
  const good = tsc("usage.ts");
  assert.equal(good.status, 0, `tsc rejected the usage sample:\n${good.stdout}${good.stderr}`);
  // The check can fail: every line marked BAD in usage-bad.ts is an error, and only those.
  const bad = tsc("usage-bad.ts");
  assert.notEqual(bad.status, 0, "tsc accepted usage-bad.ts");
  const errorLines = new Set([...bad.stdout.matchAll(/usage-bad\.ts\((\d+),\d+\): error/g)].map((m) => Number(m[1])));
  const marked = new Set(readFileSync(join(portal.dir, "usage-bad.ts"), "utf8").split("\n")
    .flatMap((l, i) => (l.includes("// BAD") ? [i + 1] : [])));
  assert.deepEqual([...errorLines].sort(), [...marked].sort(), bad.stdout);
});

/** One HTTP request on a fresh connection, as a browser would send it: {status, headers, body}. */
function httpRequest(url, method, headers) {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent: false }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

test("the worker's CORS answers admit the portal origin and refuse another", async () => {
  const kv = `${env.worker.url}/do/v1/kv`;
  const preflight = (origin) => httpRequest(kv, "OPTIONS",
    { Origin: origin, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "range" });
  const ok = await preflight(portal.origin);
  assert.equal(ok.status, 204);
  assert.equal(ok.headers["access-control-allow-origin"], portal.origin);
  assert.match(ok.headers.vary ?? "", /origin/i);
  assert.match(ok.headers["access-control-allow-methods"] ?? "", /GET/);
  assert.match(ok.headers["access-control-allow-headers"] ?? "", /range/i);

  // The array's WebSocket upgrade is refused too (browsers send Origin on it).
  const upgrade = await httpRequest(`${env.worker.url}/do/v1/array/0123456789abcdef`, "GET", {
    Origin: portal.deniedOrigin, Connection: "Upgrade", Upgrade: "websocket",
    "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
  });
  const refused = [
    await preflight(portal.deniedOrigin), await httpRequest(kv, "GET", { Origin: portal.deniedOrigin }), upgrade,
  ];
  for (const res of refused) {
    assert.equal(res.status, 403);
    assert.equal(res.headers["access-control-allow-origin"], undefined, "a refused origin gets no ACAO");
    const body = JSON.parse(res.body);
    assert.equal(body.error.code, "origin_not_allowed");
    assert.match(body.error.message, /ALLOWED_ORIGINS/);
  }
  // Not a browser cross-origin request (the CLI, curl): served.
  const plain = await httpRequest(kv, "GET", {});
  assert.equal(plain.status, 200);
  assert.ok(JSON.parse(plain.body), "the bootstrap JSON");
});

test("two portal pages on another origin swarm through the worker: plain ESM and an esbuild bundle", async () => {
  const size = 16 * h.MiB;
  const id = `e2e-portal-${process.pid}`;
  const pub = h.publishRandom(env.worker, size, 13, id);
  const query = `server=${encodeURIComponent(env.worker.url)}&content=${id}`;
  const plain = await openPortal(portal.origin, "plain.html", query);
  await plain.page.waitForFunction(() => (window.portalStats?.piecesVerified ?? 0) >= 4, null,
    { timeout: 180_000, polling: 100 });
  const bundle = await openPortal(portal.origin, "bundle.html", query);
  const results = await Promise.all([outcome(plain.page), outcome(bundle.page)]);

  assert.deepEqual(results.map((r) => r.flavour), ["plain", "bundle"]);
  for (const r of results) {
    assert.equal(r.state, "done", `${r.flavour}: ${r.error}`);
    assert.equal(r.sha256, pub.fileSha256, `${r.flavour} holds the publisher's bytes`);
    assert.equal(r.fileSize, size);
    assert.equal(r.stats.mode, "p2p");
    assert.equal(r.stats.piecesRejected, 0);
    // The EventTarget API: progress events (and the onprogress callback beside
    // them), exactly one done carrying the same File, no error, peer events.
    assert.ok(r.events.progress > 0, `${r.flavour}: progress events`);
    assert.equal(r.events.onprogress, r.events.progress, "onprogress sees what the events see");
    assert.equal(r.events.done, 1);
    assert.equal(r.events.error, 0);
    assert.ok(r.doneFileIsResult, "the done event carries the File start() resolves with");
    assert.equal(r.doneStatsSha256, pub.fileSha256);
  }
  // Each page gets a `peer` event for the other one (the earlier page may see
  // it while sharing, after its own `done`).
  for (const p of [plain, bundle]) {
    await p.page.waitForFunction(() => window.portalEvents.peerStates.some((s) => s.endsWith("->connected")),
      null, { timeout: 60_000, polling: 100 });
  }
  console.log(JSON.stringify({ portalPeerBytes: results.map((r) => r.stats.bytesFromPeers) }));
  assert.ok(results.some((r) => r.stats.bytesFromPeers > 0), "the pages swarm: bytes came from a peer");
  assert.ok(results[1].stats.bytesFromPeers > 0, "the later page got bytes from the earlier one");
  await Promise.all([plain.context.close(), bundle.context.close()]);
});

test("a page on an origin outside ALLOWED_ORIGINS cannot use the worker", async () => {
  const id = `e2e-portal-denied-${process.pid}`;
  h.publishRandom(env.worker, 2 * h.MiB, 14, id);
  const denied = await openPortal(portal.deniedOrigin, "plain.html",
    `server=${encodeURIComponent(env.worker.url)}&content=${id}`);
  const r = await outcome(denied.page);
  assert.equal(r.state, "error");
  assert.equal(r.events.error, 1, "one error event");
  assert.equal(r.events.done, 0);
  assert.ok(r.errorDetailIsRejection, "the error event carries the error start() rejects with");
  assert.equal(r.stats.bytesFromHttp + r.stats.bytesFromPeers, 0);
  await denied.context.close();
});
