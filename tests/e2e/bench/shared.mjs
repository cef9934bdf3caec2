// The shared-link scenario of issue 9 (docs/bench/browser.md): N pages open
// STAGGER apart and download one file over ONE CDN link (cdn.mjs, a token
// bucket shared by every response), side by side:
// - edgeswarm mode 3 (P2P), the demo page `/?content=ID&mode=3&autostart=1`,
//   its content policy naming the shared-link server as `contentUrl`;
// - edgeswarm mode 0 (CDN only), the same pages and link;
// - WebTorrent from npm (webtorrent.mjs), the shared-link server as web seed.
//
// Env: SHARED_RATE (bytes/s, default 5 000 000 = 40 Mbit/s; 0 = unlimited),
// SHARED_NS (default "2,4,8"), SHARED_STAGGER_MS (1500), SHARED_SIZE
// (32 MiB), SHARED_PIECE (1 MiB), SHARED_SYSTEMS ("mode3,mode0,webtorrent"),
// SHARED_MARKS (1: the pages set performance marks, `trace=1`; 0: none),
// SHARED_PROFILE (a directory: a V8 CPU profile of one
// edgeswarm page, index SHARED_PROFILE_PAGE, default 3, from just after its
// load to its end, written there and summarised as a "shared-profile" line;
// the profiler's own cost is in that run's CPU),
// SHARED_PAGE ("demo", the default: the demo page as users run it;
// "client": the client alone in a page of the worker's origin, no UI, as
// link.mjs's `client` — "done" when `start()` resolved, intact by the
// engine's own whole-file SHA-256; any other value is refused). With
// SHARED_SYSTEMS=mode0 (no mode3), the BENCH_PKGS builds run in mode 0 too
// (`edgeswarm-mode0@<name>` lines).
//
// Invariants:
// - Measures, never asserts. One JSON line per run of one system at one N
//   ("shared"), one per N with the three side by side and their ratios
//   ("shared-summary"), one per run with performance marks when the pages
//   set any ("marks", marks.mjs).
// - A page's time runs from just before its `page.goto` to the moment its
//   `document.body.dataset.state` became "done" (stamped inside the page by a
//   MutationObserver, so the poll that notices it adds nothing). Wall time
//   runs from the first goto to the last "done". The stagger is the
//   scenario's arrival schedule, never a wait for a result.
// - CDN copies = body bytes the shared-link server sent during the run ÷
//   file size; the counter is reset before each run and read when the last
//   page is done.
// - CPU: the machine's busy share of its cores (/proc/stat) and Chromium's
//   CPU seconds per thread (cpuprofile.mjs), from the first goto to the last
//   "done" — whether a run is bound by the link or by the pages' work.
// - Bounded: every page has a timeout (then it counts as not done: state
//   "timeout"); every context, tracker and server is closed at the end.
import { cpus, loadavg } from "node:os";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { createHash } from "node:crypto";
import * as h from "../harness.mjs";
import { startSharedLinkCdn } from "./cdn.mjs";
import { startTracker, makeTorrent, startSite, WEBTORRENT_VERSION } from "./webtorrent.mjs";
import { collectMarks, summarise } from "./marks.mjs";
import { variants, routePkg, descendants, processType } from "./single.mjs";
import { selfTimes, startProfile, threadCpu } from "./cpuprofile.mjs";
import { startClientInPage } from "./link.mjs";

const env = process.env;
export const CONFIG = {
  rate: Number(env.SHARED_RATE ?? 5_000_000),
  ns: (env.SHARED_NS ?? "2,4,8").split(",").map(Number).filter((n) => n > 0),
  staggerMs: Number(env.SHARED_STAGGER_MS ?? 1500),
  size: Number(env.SHARED_SIZE ?? 32 * h.MiB),
  pieceSize: Number(env.SHARED_PIECE ?? h.MiB),
  systems: (env.SHARED_SYSTEMS ?? "mode3,mode0,webtorrent").split(",").filter(Boolean),
  marks: (env.SHARED_MARKS ?? "1") !== "0",
  profileDir: env.SHARED_PROFILE,
  profilePage: Number(env.SHARED_PROFILE_PAGE ?? 3),
  page: env.SHARED_PAGE ?? "demo",
};
if (!["demo", "client"].includes(CONFIG.page)) {
  throw new Error(`SHARED_PAGE=${CONFIG.page}: expected "demo" or "client"`);
}

const out = (o) => console.log(JSON.stringify(o));
const load = () => Math.round(loadavg()[0] * 100) / 100;
const r2 = (x) => (x === null || x === undefined || !Number.isFinite(x) ? null : Math.round(x * 1000) / 1000);

/** Init script: stamps the epoch ms at which body[data-state] became done/error. */
function stampEndState() {
  new MutationObserver(() => {
    const s = document.body?.dataset.state;
    if ((s === "done" || s === "error") && !window.benchEnd) {
      // `ms`: on the page's own clock, as its performance marks.
      window.benchEnd = { state: s, at: performance.timeOrigin + performance.now(), ms: performance.now() };
    }
  }).observe(document, { subtree: true, attributes: true, attributeFilter: ["data-state"] });
}

/** Per-page bound: generous against the link's own time for N copies. */
function pageTimeout(n) {
  const linkSeconds = CONFIG.rate > 0 ? (n * CONFIG.size) / CONFIG.rate : 10;
  return Math.round(Math.max(120, 3 * linkSeconds + 60) * 1000);
}

/**
 * Opens n pages STAGGER apart with `open(i, onGoto)` → {context, page},
 * waits for each page's end state, reads `read(page)`; returns per-page
 * records and the CDN bytes at the moment the last page ended.
 */
async function staggeredRun(n, cdn, open, read, profile = null) {
  cdn.reset();
  const busy = machineBusy();
  const cpu = threadCpu(descendants, processType);
  const start = Date.now();
  const timeout = pageTimeout(n);
  let lastEndCdn = 0;
  const pages = await Promise.all(Array.from({ length: n }, async (_, i) => {
    const wait = start + i * CONFIG.staggerMs - Date.now();
    if (wait > 0) await delay(wait); // the arrival schedule
    let gotoAt = 0;
    const { context, page } = await open(i, () => { gotoAt = Date.now(); });
    const stopProfile = profile && i === CONFIG.profilePage ? await startProfile(context, page) : null;
    let end;
    try {
      await page.waitForFunction(() => window.benchEnd, null, { timeout, polling: 250 });
      end = await page.evaluate(() => window.benchEnd);
    } catch {
      end = { state: "timeout", at: NaN };
    }
    lastEndCdn = Math.max(lastEndCdn, cdn.bytesServed());
    if (stopProfile) {
      const p = await stopProfile();
      mkdirSync(CONFIG.profileDir, { recursive: true });
      writeFileSync(join(CONFIG.profileDir, `${profile}-n${n}-page${i}.cpuprofile`), JSON.stringify(p));
      out({ bench: "shared-profile", system: profile, n, page: i, ...selfTimes(p, 40) });
    }
    // A page that timed out: what it showed (its state and text), for the log.
    const result = end.state === "timeout"
      ? { timedOut: await page.evaluate(() => ({ state: document.body?.dataset.state,
        text: document.body?.innerText?.slice(0, 600) })).catch((e) => ({ error: String(e) })) }
      : await read(page).catch((e) => ({ error: String(e) }));
    return { context, page, gotoAt, end, result, seconds: (end.at - gotoAt) / 1000 };
  }));
  const cpuUsed = { machineBusy: busy(), ...cpu() };
  const marks = summarise(await Promise.all(pages.map((p) => collectMarks(p.page).catch(() => []))));
  const requests = cdn.requests();
  await Promise.all(pages.map((p) => p.context.close()));
  return { pages, cdnBytes: lastEndCdn, cdnRequests: requests, marks, cpu: cpuUsed };
}

/**
 * The machine's CPU from now on (/proc/stat): returns stop(), which gives
 * the cores, the busy CPU seconds since the call and their share of the
 * cores' time (1 = every core busy all along).
 */
function machineBusy() {
  const snap = () => {
    // user nice system idle iowait irq softirq steal (guest time is in user).
    const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1, 9).map(Number);
    const idle = f[3] + (f[4] ?? 0);
    return { idle, total: f.reduce((a, b) => a + b, 0) };
  };
  const cores = cpus().length;
  const a = snap();
  return () => {
    const b = snap();
    const total = b.total - a.total;
    const busyTicks = total - (b.idle - a.idle);
    return { cores, busyCpuSeconds: r2(busyTicks / 100), busyShare: total > 0 ? r2(busyTicks / total) : null };
  };
}

function figures(system, n, run, intact, extra = {}) {
  const { pages } = run;
  const done = pages.filter((p) => p.end.state === "done");
  const secs = pages.map((p) => p.seconds);
  const allDone = done.length === pages.length;
  const first = Math.min(...pages.map((p) => p.gotoAt));
  const last = Math.max(...pages.map((p) => p.end.at));
  return {
    bench: "shared", system, n, rateBytesPerSecond: CONFIG.rate, staggerMs: CONFIG.staggerMs,
    fileSize: CONFIG.size, pieceSize: CONFIG.pieceSize,
    lastPageSeconds: allDone ? r2(Math.max(...secs)) : null,
    wallSeconds: allDone ? r2((last - first) / 1000) : null,
    meanSeconds: allDone ? r2(secs.reduce((a, b) => a + b, 0) / n) : null,
    cdnCopies: r2(run.cdnBytes / CONFIG.size), cdnRequests: run.cdnRequests,
    pagesDone: done.length, allIntact: allDone && pages.every(intact),
    pageSeconds: secs.map(r2), ...extra, cpu: run.cpu, load: load(),
  };
}

async function edgeswarmRun(browser, worker, cdn, n, mode, id, sha256, variant = { name: "this", pkg: null }) {
  const client = CONFIG.page === "client";
  const system = `edgeswarm-mode${mode}${variant.pkg ? `@${variant.name}` : ""}${client ? "-client" : ""}`;
  const query = client ? "" : `content=${id}&mode=${mode}&autostart=1${CONFIG.marks ? "&trace=1" : ""}`;
  const run = await staggeredRun(n, cdn,
    async (i, onGoto) => {
      const p = await h.openPage(browser, worker, query,
        { initScript: stampEndState, beforeGoto: async (page) => { await routePkg(page, variant.pkg); onGoto(); } });
      if (client) await p.page.evaluate(startClientInPage, { contentId: id, downloadMode: mode, trace: CONFIG.marks });
      return p;
    },
    (page) => page.evaluate(() => ({ ...window.edgeswarmResult })),
    CONFIG.profileDir ? system : null);
  const sum = (k) => run.pages.reduce((a, p) => a + (p.result.stats?.[k] ?? 0), 0);
  const f = figures(system, n, run, (p) => p.result.sha256 === sha256,
    {
      httpBytesByPages: sum("bytesFromHttp"), peerBytesByPages: sum("bytesFromPeers"),
      // Per page, in join order: which pages took the CDN.
      pageHttpMiB: run.pages.map((p) => r2((p.result.stats?.bytesFromHttp ?? 0) / 2 ** 20)),
      // When each page was done, in ms since its navigation (the clock of
      // the marks' firsts and lasts).
      pageEndMs: run.pages.map((p) => r2(p.end.ms ?? NaN)),
      timedOut: run.pages.flatMap((p, i) => (p.result.timedOut ? [{ page: i, ...p.result.timedOut }] : [])),
    });
  out(f);
  if (run.marks) out({ bench: "marks", system: f.system, n, ...run.marks });
  return f;
}

async function webtorrentRun(browser, cdn, site, n, contentUrl, bytes, sha256) {
  const tracker = await startTracker();
  try {
    site.setTorrent(await makeTorrent(bytes, { announce: tracker.announce, webSeed: contentUrl,
      pieceLength: CONFIG.pieceSize }));
    const run = await staggeredRun(n, cdn, async (i, onGoto) => {
      const context = await browser.newContext();
      const page = await context.newPage();
      page.on("pageerror", (e) => console.error(`[webtorrent page ${i}] ${e.message}`));
      await page.addInitScript(stampEndState);
      onGoto();
      await page.goto(site.url);
      return { context, page };
    }, (page) => page.evaluate(() => ({ ...window.wtResult })));
    const f = figures("webtorrent", n, run, (p) => p.result.sha256 === sha256, {
      version: WEBTORRENT_VERSION,
      // To WebTorrent's own `done` (every byte), without the read-back SHA-256
      // check that the demo page's "done" includes too.
      allBytesLastPageSeconds: r2(Math.max(...run.pages.map((p) => (p.result.allBytesAt - p.gotoAt) / 1000))),
      verifySecondsMax: r2(Math.max(...run.pages.map((p) => (p.end.at - p.result.allBytesAt) / 1000))),
      peerBytesByPages: run.pages.reduce((a, p) => a + (p.result.peerBytesOpenWires ?? 0), 0),
      webSeedBytesByPages: run.pages.reduce((a, p) => a + (p.result.webSeedBytesOpenWires ?? 0), 0),
      errors: run.pages.map((p) => p.result.error).filter(Boolean),
    });
    out(f);
    return f;
  } finally {
    await tracker.stop();
  }
}

/**
 * fetch, retried (up to 3 tries) when the socket closed under it: node's
 * fetch may reuse a keep-alive connection that workerd closed while the CLI
 * was publishing. Only for idempotent requests.
 */
async function fetchIdempotent(url, init) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fetch(url, init);
    } catch (e) {
      if (attempt >= 3 || !["UND_ERR_SOCKET", "EPIPE", "ECONNRESET"].includes(e?.cause?.code)) throw e;
    }
  }
}

/** Publishes `bytes` as `id` and points its policy's contentUrl at the shared link. */
export async function publishOnLink(worker, cdn, path, bytes, id) {
  const pub = h.publish(worker, path, id, CONFIG.pieceSize);
  const contentUrl = cdn.add(`/content/${id}`, bytes);
  const r = await fetchIdempotent(`${worker.url}/do/v1/admin/content/${id}/policy`, {
    method: "PUT",
    headers: { Authorization: `Bearer ${worker.token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ p2pAllowed: true, contentUrl }),
  });
  if (!r.ok) throw new Error(`policy PUT for ${id}: ${r.status} ${await r.text()}`);
  const cp = await (await fetchIdempotent(`${worker.url}/do/v1/cp/${id}`)).json();
  if (cp.contentUrl !== contentUrl) throw new Error(`/cp/${id} names ${cp.contentUrl}, not ${contentUrl}`);
  return { pub, contentUrl };
}

const ratio = (a, b) => (a === null || b === null || !b ? null : r2(a / b));

/** The scenario: `systems` ⊆ mode3, mode0, webtorrent. */
export async function shared(browser, worker, systems = CONFIG.systems) {
  const cdn = await startSharedLinkCdn({ rate: CONFIG.rate });
  const site = systems.includes("webtorrent") ? await startSite() : null;
  const path = h.makeFile(CONFIG.size, 40);
  try {
    const bytes = readFileSync(path);
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    for (const n of CONFIG.ns) {
      const id = `bench-shared-${n}-${Date.now()}`;
      let contentUrl = cdn.add(`/content/${id}`, bytes);
      if (systems.includes("mode3") || systems.includes("mode0")) {
        const p = await publishOnLink(worker, cdn, path, bytes, id);
        if (p.pub.fileSha256 !== sha256) throw new Error("the publisher's SHA-256 differs from the file's");
        contentUrl = p.contentUrl;
      }
      const r = {};
      if (systems.includes("mode3")) r.edgeswarm = await edgeswarmRun(browser, worker, cdn, n, 3, id, sha256);
      // Other client builds (BENCH_PKGS, as in single.mjs), mode 3, same file and link.
      for (const v of variants().filter((v) => v.pkg && systems.includes("mode3"))) {
        r[`edgeswarm@${v.name}`] = await edgeswarmRun(browser, worker, cdn, n, 3, id, sha256, v);
      }
      if (systems.includes("mode0")) r.cdnOnly = await edgeswarmRun(browser, worker, cdn, n, 0, id, sha256);
      // Mode 0 of the other builds only when mode 3 is not asked for (a
      // CDN-only comparison of the builds' data paths).
      for (const v of variants().filter((v) => v.pkg && systems.includes("mode0") && !systems.includes("mode3"))) {
        r[`cdnOnly@${v.name}`] = await edgeswarmRun(browser, worker, cdn, n, 0, id, sha256, v);
      }
      if (systems.includes("webtorrent")) {
        r.webtorrent = await webtorrentRun(browser, cdn, site, n, contentUrl, bytes, sha256);
      }
      const pick = (f) => f && { lastPageSeconds: f.lastPageSeconds, wallSeconds: f.wallSeconds,
        meanSeconds: f.meanSeconds, cdnCopies: f.cdnCopies, allIntact: f.allIntact };
      const ratios = (a, b) => a && b && {
        lastPage: ratio(a.lastPageSeconds, b.lastPageSeconds), wall: ratio(a.wallSeconds, b.wallSeconds),
        mean: ratio(a.meanSeconds, b.meanSeconds), cdnCopies: ratio(a.cdnCopies, b.cdnCopies) };
      out({ bench: "shared-summary", n, rateBytesPerSecond: CONFIG.rate, staggerMs: CONFIG.staggerMs,
        fileSize: CONFIG.size, edgeswarm: pick(r.edgeswarm), cdnOnly: pick(r.cdnOnly), webtorrent: pick(r.webtorrent),
        edgeswarmOverCdnOnly: ratios(r.edgeswarm, r.cdnOnly),
        edgeswarmOverWebtorrent: ratios(r.edgeswarm, r.webtorrent), load: load() });
    }
  } finally {
    rmSync(dirname(path), { recursive: true, force: true });
    await site?.stop();
    await cdn.stop();
  }
}
