// One peer link (docs/bench/browser.md, "One peer link vs a raw
// RTCDataChannel"; issue 9 §2): a seed page downloads a 128 MiB file (1 MiB
// pieces) from the worker, then a joiner downloads it from that seed over one
// data channel. Printed per client variant (BENCH_PKGS, single.mjs) and page
// kind, as `"bench":"peer-link"`: the joiner's goodput (file size over the
// client's own elapsed time), where its bytes came from, and the CPU seconds
// of every Chromium thread during the transfer (cpuprofile.mjs threadCpu;
// "renderer+" = the joiner's renderer).
//
// Page kinds (LINK_PAGES, default "demo,client"):
// - demo: the demo page, `/?content=ID&mode=3&autostart=1`, as users run it,
//   with its UI updated from the progress callback (10 Hz);
// - client: the client alone, as the raw bench's pages: a page of the worker's
//   origin (not started) that imports the package and runs
//   `new Downloader({downloadMode: 3})` itself; no UI is updated.
// (`demo-static`, the demo page with its CSS transitions off, is gone: the
// demo page has none since 2026-12-03, docs/bench/browser.md "Where the CPU
// goes".)
// The window for CPU, profiles and traces runs from just before the joiner
// opens to every piece verified (demo: `dataset.progress` 100; client:
// `start()` resolved), so the demo page's read-back check is not in it.
//
// LINK_PROFILE=dir: V8 CPU profiles of both pages in that window
// (`link-<client>-<page>-<side>.cpuprofile`) and their top self times.
// LINK_TRACE=dir: a Chromium trace of the whole browser in that window.
//
// Invariants: measures, never asserts; the seed and joiner of one variant are
// closed before the next pair opens.
import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import * as h from "../harness.mjs";
import { selfTimes, startProfile, threadCpu } from "./cpuprofile.mjs";
import { descendants, processType, routePkg, variants } from "./single.mjs";

const env = process.env;
const out = (o) => console.log(JSON.stringify(o));
const PROFILE = env.LINK_PROFILE;
const TRACE = env.LINK_TRACE;
const TRACE_CATEGORIES = ["toplevel", "devtools.timeline", "disabled-by-default-devtools.timeline", "v8", "blink"];
const PAGES = (env.LINK_PAGES ?? "demo,client").split(",").filter(Boolean);
for (const kind of PAGES) {
  if (!["demo", "client"].includes(kind)) throw new Error(`LINK_PAGES: unknown page kind "${kind}" (demo, client)`);
}

/** The demo page downloading `id` in P2P mode; done() → the page's result. */
async function demoPage(browser, worker, id, pkg) {
  const q = `content=${id}&mode=3&autostart=1`;
  const p = await h.openPage(browser, worker, q, { beforeGoto: (page) => routePkg(page, pkg) });
  return {
    ...p,
    verified: () => p.page.waitForFunction(() => document.body.dataset.progress === "100", null,
      { timeout: 600_000, polling: 100 }),
    done: async () => {
      const r = await h.result(p.page, 600_000);
      return { sha256: r.sha256, stats: r.stats };
    },
  };
}

/**
 * Runs inside a page of the worker's origin: the client alone downloads
 * `contentId` (no UI) and keeps seeding after `start()` resolves.
 * `globalThis.benchDone` resolves with `{stats, error}`; the end is also
 * marked as the demo page marks it (`window.edgeswarmResult`,
 * `document.body.dataset.state` "done" or "error"), for shared.mjs's clock.
 */
export async function startClientInPage({ contentId, downloadMode, trace = false }) {
  const client = await import("/pkg/client_wasm.js");
  await client.default();
  const d = new client.Downloader({ server: location.origin, contentId, downloadMode, fileName: contentId, trace });
  globalThis.benchDownloader = d; // keeps seeding after start() resolves
  globalThis.benchDone = d.start().then(() => ({ stats: d.stats() }),
    (e) => ({ error: String(e?.message ?? e), stats: d.stats() }));
  globalThis.benchDone.then(({ stats, error }) => {
    window.edgeswarmResult = { sha256: error ? null : stats.sha256, stats, error };
    document.body.dataset.state = error ? "error" : "done";
  });
}

/** A page that runs only the client: a P2P download of `id` that keeps seeding. */
async function clientPage(browser, worker, id, pkg) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error(`[link client page] ${e.message}`));
  await routePkg(page, pkg);
  await page.goto(`${worker.url}/`);
  await page.evaluate(startClientInPage, { contentId: id, downloadMode: 3 });
  const done = async () => {
    const r = await page.evaluate(() => globalThis.benchDone);
    return { sha256: r.stats.sha256, stats: r.stats, error: r.error };
  };
  return { page, context, verified: () => page.evaluate(() => globalThis.benchDone), done };
}

export async function link(browser, worker) {
  for (const dir of [PROFILE, TRACE]) if (dir) mkdirSync(dir, { recursive: true });
  const size = 128 * h.MiB;
  const id = `bench-link-${Date.now()}`;
  const pub = h.publishRandom(worker, size, 21, id);
  for (const v of variants()) {
    for (const kind of PAGES) {
      const open = kind === "client" ? clientPage : demoPage;
      const name = `${v.name}-${kind}`;
      const seed = await open(browser, worker, id, v.pkg);
      await seed.done();
      const stopSeed = PROFILE && await startProfile(seed.context, seed.page);
      const cpu = threadCpu(descendants, processType);
      if (TRACE) await browser.startTracing(undefined, { path: join(TRACE, `link-${name}.json`), categories: TRACE_CATEGORIES });
      const joiner = await open(browser, worker, id, v.pkg);
      const stopJoiner = PROFILE && await startProfile(joiner.context, joiner.page);
      await joiner.verified();
      const used = cpu();
      if (TRACE) await browser.stopTracing();
      const r = await joiner.done();
      const s = r.stats;
      out({ bench: "peer-link", client: v.name, page: kind, fileSize: size, ok: r.sha256 === pub.fileSha256,
        error: r.error, seconds: s.elapsedMs / 1000, bytesFromPeers: s.bytesFromPeers, bytesFromHttp: s.bytesFromHttp,
        goodputMiBps: size / (s.elapsedMs / 1000) / h.MiB, load: loadavg()[0],
        cpuSecondsPerGiB: used.cpuSeconds / (size / 1024 / h.MiB), ...used });
      for (const [side, stop] of PROFILE ? [["seed", stopSeed], ["joiner", stopJoiner]] : []) {
        const profile = await stop();
        writeFileSync(join(PROFILE, `link-${name}-${side}.cpuprofile`), JSON.stringify(profile));
        out({ bench: "peer-link-profile", client: v.name, page: kind, side, ...selfTimes(profile) });
      }
      await seed.context.close();
      await joiner.context.close();
    }
  }
}
