// One page, CDN only (mode 0), unthrottled: the browser data path at line
// rate, and its memory (docs/bench/browser.md, "Unthrottled: one page" and
// "Memory"). Issue 9 §2.
//
// - The CDN is cdn.mjs with no rate (the server the shared bench uses), named
//   by the content policy's contentUrl; the file is published with the CLI.
// - Each client variant gets a fresh browser with a fresh profile ON DISK
//   (an off-the-record context keeps OPFS in memory), `--enable-precise-memory-info
//   --js-flags=--expose-gc`, and one blank page that imports the client
//   package and runs `new Downloader({downloadMode: 0})` itself, so the time
//   is the client's alone: from `start()` to its promise resolving with the
//   `File`, i.e. every piece SHA-256-verified and stored, the whole-file
//   SHA-256 checked. By default that page runs with NO DevTools attached
//   (detached.mjs: a Chromium of its own, the page on the portal origin the
//   worker admits, results posted back; the inspector's copies of response
//   bodies would sit in the renderer and cost it time); BENCH_TRACE=1
//   (`unthrottled`) or MEMORY_DEVTOOLS=1 (`memory`) run it as a page of the
//   worker's origin driven by Playwright instead. After the clock stops, the
//   delivered `File` is read back and hashed, every 64 MiB slice, and must
//   match (`downloadInPage`, the same in both kinds of page).
// - Before the download, in the same page: a plain `fetch()` of the whole file
//   (body streamed and dropped), and 1 MiB ranged fetches with 2 and 8 in
//   flight (`arrayBuffer()` each, dropped): what HTTP alone does here.
// - Memory, sampled during the download only: inside the page every 100 ms
//   (`WebAssembly.Memory` byte length, `performance.memory.usedJSHeapSize`);
//   outside, every 100 ms, VmRSS (/proc/<pid>/status) of every process under
//   this node process whose name says chrom*: the largest single process
//   (and its --type) and the sum.
//
// - In a Playwright page, BENCH_MEMDUMP_S=s adds one memory-infra dump
//   (memdump.mjs) s seconds into the download.
//
// Env: SINGLE_SIZE (bytes, default 256 MiB), MEMORY_SIZE (default 2 GiB),
// BENCH_PKGS ("name=/dir/of/pkg,…": extra client builds served in place of
// www/pkg, e.g. main's, measured in the same run), BENCH_ENGINE (JSON engine
// overrides for the Downloader, e.g. '{"httpConcurrency":8}'), BENCH_TRACE
// (1 = performance marks, summarised, in a Playwright page; default off).
//
// Invariants: measures, never asserts; one JSON line per variant; every
// browser, page and server is closed at the end.
import { closeSync, openSync, readFileSync, readdirSync, rmSync, mkdtempSync, writeSync } from "node:fs";
import { createHash } from "node:crypto";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import * as h from "../harness.mjs";
import { startSharedLinkCdn } from "./cdn.mjs";
import { collectMarks, summarise } from "./marks.mjs";
import { fileURLToPath } from "node:url";
import { READ_BACK_SLICE, detachedDownload } from "./detached.mjs";
import { memoryDump } from "./memdump.mjs";
import { publishOnLink } from "./shared.mjs";

const env = process.env;
const out = (o) => console.log(JSON.stringify(o));
const r2 = (x) => (Number.isFinite(x) ? Math.round(x * 100) / 100 : null);

/** Deterministic bytes (harness.makeFile's xorshift32), kept in memory. */
function makeBytes(size, seed) {
  const buf = Buffer.alloc(size);
  let x = (seed >>> 0) || 1;
  for (let i = 0; i + 4 <= size; i += 4) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    buf.writeUInt32LE(x, i);
  }
  return buf;
}

/** Writes `bytes` to `path` in slices (one write call takes < 2 GiB). */
function writeAll(path, bytes) {
  const fd = openSync(path, "w");
  try {
    for (let at = 0; at < bytes.length; at += 256 * 1024 * 1024) {
      const end = Math.min(bytes.length, at + 256 * 1024 * 1024);
      for (let off = at; off < end;) off += writeSync(fd, bytes, off, end - off);
    }
  } finally {
    closeSync(fd);
  }
}

/** SHA-256 of each `slice` bytes of `bytes`, hex. */
function sliceSha256s(bytes, slice) {
  const out = [];
  for (let at = 0; at < bytes.length; at += slice) {
    out.push(createHash("sha256").update(bytes.subarray(at, at + slice)).digest("hex"));
  }
  return out;
}

/** SHA-256 of `bytes` in slices (one update takes < 2 GiB). */
function sha256Of(bytes) {
  const hash = createHash("sha256");
  for (let at = 0; at < bytes.length; at += 256 * 1024 * 1024) hash.update(bytes.subarray(at, at + 256 * 1024 * 1024));
  return hash.digest("hex");
}

/** Every process under `root` (this node process): pid → {ppid, comm}. */
export function descendants(root) {
  const procs = new Map();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      const comm = stat.slice(stat.indexOf("(") + 1, close);
      const ppid = Number(stat.slice(close + 2).split(" ")[1]);
      procs.set(Number(d), { ppid, comm });
    } catch { /* gone */ }
  }
  const under = new Set([root]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, p] of procs) {
      if (!under.has(pid) && under.has(p.ppid)) { under.add(pid); grew = true; }
    }
  }
  under.delete(root);
  return [...under].map((pid) => ({ pid, comm: procs.get(pid).comm }));
}

/** VmRSS and its parts (anonymous, file-backed, shared memory) in KiB. */
function rssKiB(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kib = (k) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
    return { rss: kib("VmRSS"), anon: kib("RssAnon"), file: kib("RssFile"), shmem: kib("RssShmem") };
  } catch {
    return { rss: 0, anon: 0, file: 0, shmem: 0 };
  }
}

export function processType(pid) {
  try {
    const m = /--type=([a-z-]+)/.exec(readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " "));
    return m ? m[1] : "browser";
  } catch {
    return "?";
  }
}

/** Samples the RSS of every Chromium process under this one, every `ms`. */
function rssSampler(ms = 100) {
  const peak = { maxKiB: 0, maxPid: 0, sumKiB: 0 };
  const tick = () => {
    let sum = 0;
    for (const { pid, comm } of descendants(process.pid)) {
      if (!/chrom/i.test(comm)) continue;
      const r = rssKiB(pid);
      sum += r.rss;
      if (r.rss > peak.maxKiB) Object.assign(peak, { maxKiB: r.rss, maxPid: pid, maxType: processType(pid), parts: r });
    }
    peak.sumKiB = Math.max(peak.sumKiB, sum);
  };
  tick();
  // What the processes held before the download (the plain-fetch
  // baselines done, the client loaded): the part of the peak the download
  // did not add.
  const before = { MiB: r2(peak.maxKiB / 1024), type: peak.maxType };
  const timer = setInterval(tick, ms);
  return () => {
    clearInterval(timer);
    tick();
    const mib = (k) => r2((peak.parts?.[k] ?? 0) / 1024);
    return { largestProcessMiB: r2(peak.maxKiB / 1024), largestProcessType: peak.maxType,
      largestBeforeMiB: before.MiB, largestBeforeType: before.type,
      largestAnonFileShmemMiB: [mib("anon"), mib("file"), mib("shmem")], allChromiumMiB: r2(peak.sumKiB / 1024) };
  };
}

/** In the page: HTTP alone — one whole-body fetch, then 1 MiB ranges with c in flight. */
async function httpBaselines(page, url, size) {
  return page.evaluate(baselinesInPage, { url, size });
}

/** The page side of `httpBaselines` (also run by detached.mjs's page). */
export async function baselinesInPage({ url, size }) {
  const t0 = performance.now();
  const r = await fetch(url, { cache: "no-store" });
  const reader = r.body.getReader();
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.length;
  }
  const whole = (performance.now() - t0) / 1000;
  const ranged = async (c) => {
    const piece = 1 << 20;
    let next = 0;
    const t = performance.now();
    await Promise.all(Array.from({ length: c }, async () => {
      while (next * piece < size) {
        const at = next++ * piece;
        const end = Math.min(size, at + piece) - 1;
        const res = await fetch(url, { cache: "no-store", headers: { Range: `bytes=${at}-${end}` } });
        await res.arrayBuffer();
      }
    }));
    return (performance.now() - t) / 1000;
  };
  const r2s = await ranged(2);
  const r8s = await ranged(8);
  globalThis.gc?.();
  return { bytes: n, wholeSeconds: whole, ranged2Seconds: r2s, ranged8Seconds: r8s };
}

/**
 * In the page (a Playwright page, or detached.mjs's): the client's download
 * in mode 0, timed from `start()` to its `File`, with the in-page memory
 * peaks (`q`: server, contentId, engine, trace, slice). The page's
 * `benchReady()` is awaited once the client is loaded, before the download,
 * and `benchSampled()` after it (the outside RSS sampler runs between them);
 * then every `q.slice` bytes of the delivered `File` are read back and
 * hashed (`readBackSlices`, compared with the file's by the bench).
 */
export async function downloadInPage(q) {
  const client = await import("/pkg/client_wasm.js");
  const wasm = await client.default();
  globalThis.gc?.();
  const peaks = { wasm: 0, heap: 0 };
  const sample = () => {
    peaks.wasm = Math.max(peaks.wasm, wasm.memory.buffer.byteLength);
    peaks.heap = Math.max(peaks.heap, performance.memory?.usedJSHeapSize ?? 0);
  };
  await globalThis.benchReady?.();
  sample();
  const timer = setInterval(sample, 100);
  const d = new client.Downloader({ server: q.server, contentId: q.contentId, downloadMode: 0,
    fileName: q.contentId, trace: q.trace, ...(q.engine ? { engine: q.engine } : {}) });
  const t0 = performance.now();
  let file = null;
  let error = null;
  try {
    file = await d.start();
  } catch (e) {
    error = String(e?.message ?? e);
  }
  const seconds = (performance.now() - t0) / 1000;
  sample();
  clearInterval(timer);
  const s = d.stats();
  await globalThis.benchSampled?.();
  let readBackSlices = null;
  if (file) {
    readBackSlices = [];
    for (let at = 0; at < file.size; at += q.slice) {
      const dg = await crypto.subtle.digest("SHA-256", await file.slice(at, at + q.slice).arrayBuffer());
      readBackSlices.push([...new Uint8Array(dg)].map((b) => b.toString(16).padStart(2, "0")).join(""));
    }
  }
  return { seconds, error, fileSize: file?.size ?? 0, sha256: s.sha256, verified: s.verified, storage: s.storage,
    bytesFromHttp: s.bytesFromHttp, peakWasmBytes: peaks.wasm, peakHeapBytes: peaks.heap, readBackSlices };
}

export function variants() {
  const list = [{ name: "this", pkg: null }];
  for (const v of (env.BENCH_PKGS ?? "").split(",").filter(Boolean)) {
    const [name, pkg] = v.split("=");
    list.push({ name, pkg });
  }
  return list;
}

export async function routePkg(page, pkg) {
  if (!pkg) return;
  await page.route("**/pkg/client_wasm.js", (r) =>
    r.fulfill({ contentType: "text/javascript", body: readFileSync(join(pkg, "client_wasm.js")) }));
  await page.route("**/pkg/client_wasm_bg.wasm", (r) =>
    r.fulfill({ contentType: "application/wasm", body: readFileSync(join(pkg, "client_wasm_bg.wasm")) }));
}

/** One variant in a page Playwright drives (DevTools attached: marks, baselines, memory dumps). */
async function playwrightRun(worker, cdn, { bench, id, engine, trace, baselines, contentUrl, size }, v) {
  // A profile on disk (launchPersistentContext): in an off-the-record
  // context (browser.newContext()) Chromium keeps OPFS in memory, so
  // the renderer's RSS would grow with the file whatever the client does.
  const profile = mkdtempSync(join(tmpdir(), "edgeswarm-profile-"));
  const context = await chromium.launchPersistentContext(profile, { executablePath: h.CHROMIUM,
    headless: true, args: [...h.CHROME_ARGS, "--enable-precise-memory-info", "--js-flags=--expose-gc"] });
  try {
    const page = context.pages()[0] ?? await context.newPage();
    page.on("pageerror", (e) => console.error(`[${bench} ${v.name}] ${e.message}`));
    await routePkg(page, v.pkg);
    let stop = null;
    let rss = null;
    await page.exposeFunction("benchReady", () => { cdn.reset(); stop = rssSampler(); });
    await page.exposeFunction("benchSampled", () => { rss ??= stop?.() ?? null; });
    await page.goto(`${worker.url}/`);
    const http = baselines ? await httpBaselines(page, contentUrl, size) : null;
    // BENCH_MEMDUMP_S=s: one memory-infra dump (allocators per process) s seconds in.
    const dumpAt = Number(env.BENCH_MEMDUMP_S ?? 0);
    const dumping = dumpAt > 0
      ? new Promise((ok) => setTimeout(ok, dumpAt * 1000)).then(() => memoryDump(context, page)).catch((e) => String(e))
      : null;
    const r = await page.evaluate(downloadInPage,
      { server: worker.url, contentId: id, engine, trace, slice: READ_BACK_SLICE });
    rss ??= stop?.() ?? null;
    const byPid = dumping ? await dumping : null;
    const dump = byPid && { atSeconds: dumpAt, allocatorsMiB: typeof byPid === "object"
      ? Object.fromEntries(Object.entries(byPid).map(([pid, a]) => [`${processType(Number(pid))}:${pid}`, a]))
      : byPid };
    const marks = trace ? summarise([await collectMarks(page)]) : null;
    return { r, rss, http, marks, dump };
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

/** One variant in a browser with no DevTools attached (detached.mjs). */
async function detachedRun(worker, cdn, { id, engine, baselines, contentUrl, size }, v) {
  const pkg = v.pkg ?? fileURLToPath(new URL("../../../www/pkg", import.meta.url));
  const { page, rss } = await detachedDownload({ worker, contentId: id, engine, pkg,
    baselines: baselines ? { url: contentUrl, size } : null,
    startSampler: () => { cdn.reset(); return rssSampler(); } });
  if (page.error && !page.seconds) throw new Error(`[${v.name}] ${page.error}`);
  return { r: page, rss, http: page.http ?? null };
}

/** One page downloads `size` bytes in mode 0 from cdn.mjs, per client variant. */
export async function singlePage(worker, { bench, size, trace, baselines, detached = false }) {
  const cdn = await startSharedLinkCdn({ rate: 0 });
  const dir = mkdtempSync(join(tmpdir(), "edgeswarm-single-"));
  try {
    const bytes = makeBytes(size, 77);
    const path = join(dir, "content.bin");
    writeAll(path, bytes);
    const sha256 = sha256Of(bytes);
    const id = `bench-${bench}-${Date.now()}`;
    const { pub, contentUrl } = await publishOnLink(worker, cdn, path, bytes, id);
    if (pub.fileSha256 !== sha256) throw new Error("the publisher's SHA-256 differs from the file's");
    rmSync(path);
    const engine = env.BENCH_ENGINE ? JSON.parse(env.BENCH_ENGINE) : null;
    for (const v of variants()) {
      const run = detached
        ? await detachedRun(worker, cdn, { id, engine, baselines, contentUrl, size }, v)
        : await playwrightRun(worker, cdn, { bench, id, engine, trace, baselines, contentUrl, size }, v);
      const { r, rss, http, marks, dump } = run;
      // The read-back check: every 64 MiB slice of the delivered File.
      const readBackOk = r.readBackSlices
        ? r.readBackSlices.join() === sliceSha256s(bytes, READ_BACK_SLICE).join()
        : null;
      out({
        bench, client: v.name, fileSize: size, engine, devtools: !detached, seconds: r2(r.seconds),
        mbPerSecond: r2(size / r.seconds / 1e6), error: r.error,
        intact: r.sha256 === sha256 && r.verified && r.fileSize === size && readBackOk !== false,
        readBackChecked: readBackOk !== null, storage: r.storage, cdnCopies: r2(cdn.bytesServed() / size),
        peakWasmMiB: r2(r.peakWasmBytes / h.MiB), peakJsHeapMiB: r2(r.peakHeapBytes / h.MiB), ...rss,
        ...(http && {
          fetchWholeSeconds: r2(http.wholeSeconds), fetchWholeMBps: r2(size / http.wholeSeconds / 1e6),
          fetchRanged2MBps: r2(size / http.ranged2Seconds / 1e6),
          fetchRanged8MBps: r2(size / http.ranged8Seconds / 1e6),
          clientOverFetch: r2(r.seconds / http.wholeSeconds),
        }),
        load: r2(loadavg()[0]),
      });
      if (marks) out({ bench: "marks", scenario: bench, client: v.name, ...marks });
      if (dump) out({ bench: "memdump", scenario: bench, client: v.name, ...dump });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await cdn.stop();
  }
}

// Timed with no DevTools attached (the inspector's copies of response bodies
// cost the page time too); BENCH_TRACE=1 runs it in a Playwright page with
// the per-piece marks instead.
export const unthrottled = (worker) => singlePage(worker, {
  bench: "unthrottled-mode0", size: Number(env.SINGLE_SIZE ?? 256 * h.MiB),
  trace: env.BENCH_TRACE === "1", baselines: true, detached: env.BENCH_TRACE !== "1",
});

// The memory figures come from a page with no DevTools attached (detached.mjs);
// MEMORY_DEVTOOLS=1 measures in a Playwright page instead (with BENCH_MEMDUMP_S).
export const memory = (worker) => singlePage(worker, {
  bench: "memory-mode0", size: Number(env.MEMORY_SIZE ?? 2048 * h.MiB),
  trace: env.BENCH_TRACE === "1", baselines: false, detached: env.MEMORY_DEVTOOLS !== "1",
});
