// Browser benchmarks (docs/bench/browser.md). Measures, never asserts; prints
// one JSON object per line. Starts its own worker (wrangler dev on 127.0.0.1)
// unless E2E_SERVER/E2E_TOKEN are set. `cargo xtask bench browser` runs it
// inside a loopback-only network namespace.
//
//   node tests/e2e/bench/bench.mjs [raw] [link] [swarm] [unthrottled] [memory] [shared] [webtorrent]
//   (default: all but `webtorrent`, which `shared` includes)
//
// - raw:    RTCDataChannel throughput between two pages of the same browser,
//           64 KiB messages, 256 KiB high-water mark (the client's).
// - link:   one seed, one joiner: the joiner's goodput over one peer link,
//           in the demo page and in a page running only the client (link.mjs;
//           LINK_PROFILE, LINK_TRACE, LINK_PAGES there).
//           raw and link print the CPU seconds every Chromium thread used
//           (per process type and thread), and per GiB moved; LINK_REPS=n
//           alternates raw and link n times.
// - swarm:  N = 2, 4, 8 pages start together, each page's requests to the
//           content route (the CDN) throttled to CDN_RATE bytes/s (CDP
//           Network.emulateNetworkConditionsByRule with a URL pattern, so the
//           data channels are not: a per-client CDN); completion time and CDN
//           copies, next to the same N in mode 0 (CDN only) at the same throttle.
// - unthrottled: one page, mode 0, 256 MiB from cdn.mjs with no rate: the
//           client's time to a verified, stored File next to plain fetch()es
//           of the same file in the same page (single.mjs).
// - memory: the same for a 2 GiB file (MEMORY_SIZE) in a page with no
//           DevTools attached (detached.mjs; MEMORY_DEVTOOLS=1 in a Playwright
//           page): peak wasm memory and JS heap inside the page, peak RSS of
//           every Chromium process outside.
// - shared: issue 9's scenario (shared.mjs): N = 2, 4, 8 pages 1.5 s apart
//           on ONE shared CDN link (cdn.mjs, SHARED_RATE bytes/s for all
//           pages together, default 40 Mbit/s; 0 = unlimited) named by the
//           content policy's contentUrl: edgeswarm mode 3, mode 0 (CDN only)
//           and WebTorrent from npm with the same link as web seed, side by
//           side with their ratios.
// - webtorrent: only the WebTorrent column of `shared`.
// After the swarm and shared runs, any `es:` performance marks the pages set
// are summarised per step (marks.mjs).
import { loadavg } from "node:os";
import * as h from "../harness.mjs";
import { threadCpu } from "./cpuprofile.mjs";
import { link } from "./link.mjs";
import { collectMarks, summarise } from "./marks.mjs";
import { shared } from "./shared.mjs";
import { descendants, memory, processType, unthrottled } from "./single.mjs";

const which = new Set(process.argv.slice(2));
const want = (k) => (which.size === 0 ? k !== "webtorrent" : which.has(k));
const CDN_RATE = Number(process.env.CDN_RATE ?? 4 * h.MiB);
const out = (o) => console.log(JSON.stringify(o));

async function raw(browser, worker) {
  // Two pages (two renderers, like two peers), signalled through this script.
  const [ca, cb] = [await browser.newContext(), await browser.newContext()];
  const [a, b] = [await ca.newPage(), await cb.newPage()];
  await a.goto(`${worker.url}/`);
  await b.goto(`${worker.url}/`);
  const setup = async (offer) => {
    window.pc = new RTCPeerConnection();
    window.dc = window.pc.createDataChannel("x", { negotiated: true, id: 0 });
    window.dc.binaryType = "arraybuffer";
    const gathered = new Promise((r) => {
      window.pc.onicegatheringstatechange = () => window.pc.iceGatheringState === "complete" && r();
    });
    if (offer) { await window.pc.setRemoteDescription(offer); }
    await window.pc.setLocalDescription();
    await gathered;
    return window.pc.localDescription.toJSON();
  };
  const offer = await a.evaluate(setup, null);
  const answer = await b.evaluate(setup, offer);
  await a.evaluate((ans) => window.pc.setRemoteDescription(ans), answer);
  const total = 256 * h.MiB;
  const cpu = threadCpu(descendants, processType);
  const received = b.evaluate((total) => new Promise((resolve) => {
    let got = 0, t0 = 0;
    window.dc.onmessage = (e) => {
      if (!t0) t0 = performance.now();
      got += e.data.byteLength;
      if (got >= total) resolve((performance.now() - t0) / 1000);
    };
  }), total);
  await a.evaluate((total) => new Promise((resolve) => {
    const dc = window.dc;
    const go = () => {
      const msg = new Uint8Array(64 * 1024);
      let sent = 0;
      dc.bufferedAmountLowThreshold = 64 * 1024;
      const pump = () => {
        while (sent < total && dc.bufferedAmount < 256 * 1024) { dc.send(msg); sent += msg.length; }
        if (sent >= total) resolve(); else dc.onbufferedamountlow = pump;
      };
      pump();
    };
    if (dc.readyState === "open") go(); else dc.onopen = go;
  }), total);
  const seconds = await received;
  const used = cpu();
  await ca.close();
  await cb.close();
  const r = { bytes: total, seconds, mibPerSecond: total / seconds / h.MiB,
    cpuSecondsPerGiB: used.cpuSeconds / (total / 1024 / h.MiB), ...used };
  out({ bench: "raw-rtcdatachannel", ...r, load: loadavg()[0] });
  return r;
}

// Throttles the page's requests to the worker's content route (the CDN) to
// CDN_RATE bytes/s, and nothing else: a rule with a URL pattern leaves the
// page's data channels alone (the pattern-less emulateNetworkConditions
// throttled them too, as found on 2026-12-02: BENCHMARKS.md).
const throttledTo = (origin) => async (page, context) => {
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditionsByRule", {
    offline: false,
    matchedNetworkConditions: [{
      urlPattern: `${origin}/do/v1/content/*`,
      latency: 0, downloadThroughput: CDN_RATE, uploadThroughput: -1,
    }],
  });
};

async function swarmRun(browser, worker, n, mode, id, size, pub) {
  const t0 = Date.now();
  const pages = await Promise.all(Array.from({ length: n }, () =>
    h.openPage(browser, worker, `content=${id}&mode=${mode}&autostart=1&trace=1`,
      { beforeGoto: throttledTo(worker.url) })));
  const results = await Promise.all(pages.map((p) => h.result(p.page, 900_000)));
  const wall = (Date.now() - t0) / 1000;
  const cdn = results.reduce((a, r) => a + r.stats.bytesFromHttp, 0);
  const secs = results.map((r) => r.stats.elapsedMs / 1000);
  const marks = summarise(await Promise.all(pages.map((p) => collectMarks(p.page))));
  if (marks) out({ bench: "marks", scenario: "swarm", n, mode, ...marks });
  await Promise.all(pages.map((p) => p.context.close()));
  return {
    n, mode, cdnRateBytesPerSecond: CDN_RATE, fileSize: size,
    allIntact: results.every((r) => r.state === "done" && r.sha256 === pub.fileSha256),
    meanSeconds: secs.reduce((a, b) => a + b, 0) / n, maxSeconds: Math.max(...secs), wallSeconds: wall,
    cdnCopies: cdn / size, peerBytes: results.reduce((a, r) => a + r.stats.bytesFromPeers, 0),
  };
}

async function swarm(browser, worker) {
  const size = 32 * h.MiB;
  for (const n of [2, 4, 8]) {
    const id = `bench-swarm-${n}-${Date.now()}`;
    const pub = h.publishRandom(worker, size, 30 + n, id);
    const p2p = await swarmRun(browser, worker, n, 3, id, size, pub);
    const cdnOnly = await swarmRun(browser, worker, n, 0, id, size, pub);
    out({ bench: "swarm", n, p2p, cdnOnly, speedup: cdnOnly.meanSeconds / p2p.meanSeconds, load: loadavg()[0] });
  }
}

const worker = await h.startWorker();
const browser = await h.launchBrowser();
try {
  // LINK_REPS=n: raw and link alternate n times (same run, interleaved).
  for (let i = 0; i < Number(process.env.LINK_REPS ?? 1); i += 1) {
    if (want("raw")) await raw(browser, worker);
    if (want("link")) await link(browser, worker);
  }
  if (want("swarm")) await swarm(browser, worker);
  if (want("unthrottled")) await unthrottled(worker);
  if (want("memory")) await memory(worker);
  if (want("shared")) await shared(browser, worker);
  else if (want("webtorrent")) await shared(browser, worker, ["webtorrent"]);
} finally {
  await browser.close();
  await worker.stop();
}
