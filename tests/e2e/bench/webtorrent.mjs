// WebTorrent, from npm, as the peer baseline of the shared-link benchmark
// (docs/bench/browser.md, issue 9): the same file, the same pages (headless
// Chromium, one browser context each), the same shared-link CDN as web seed.
//
// - startTracker(): a `bittorrent-tracker` server, WebSocket only (no HTTP
//   announce, no UDP), on 127.0.0.1.
// - makeTorrent(): a single-file torrent made with `create-torrent` in node:
//   the tracker as its only announce URL, the CDN URL as its only web seed
//   (`url-list`), fixed piece length.
// - startSite(): a static server on 127.0.0.1 for the pages: a blank page
//   whose module script imports WebTorrent's own browser bundle
//   (node_modules/webtorrent/dist/webtorrent.min.js) and downloads the torrent.
//
// Invariants:
// - Loopback only. The page's client runs with no DHT, no LSD, no uTP, no
//   NAT traversal, and no STUN servers (`rtcConfig.iceServers = []`; the
//   tracker client signals with trickle off, so an unreachable default STUN
//   server would otherwise hold every offer back until ICE gathering gives
//   up). Peers are found only through the loopback tracker; bytes come only
//   from peers and the web seed.
// - Otherwise WebTorrent runs as it ships: rarest-first piece selection, its
//   default chunk store (OPFS through fsa-chunk-store where the browser has
//   it), its default web-seed concurrency.
// - The page sets `document.body.dataset.state` = "done" at the same end
//   point as the demo page (www/app.js): once the download has every byte
//   (WebTorrent's `done` event: every piece SHA-1-verified and stored) AND
//   the page has read the whole file back and hashed it with WebCrypto
//   SHA-256 (window.wtResult.sha256). `allBytesAt` stamps the `done` event
//   alone. "error" on any failure.
import { createServer } from "node:http";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import Server from "bittorrent-tracker/server";
import createTorrent from "create-torrent";
import { ROOT } from "../harness.mjs";

const BUNDLE = join(ROOT, "node_modules/webtorrent/dist/webtorrent.min.js");
export const WEBTORRENT_VERSION = JSON.parse(
  readFileSync(join(ROOT, "node_modules/webtorrent/package.json"), "utf8")).version;

/** A WebSocket tracker on 127.0.0.1. Returns { announce, stop() }. */
export async function startTracker() {
  const server = new Server({ udp: false, http: false, ws: true, stats: false });
  server.on("warning", () => {});
  server.on("error", (e) => console.error(`[tracker] ${e.message}`));
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.ws.address();
  return {
    announce: `ws://127.0.0.1:${port}`,
    stop: () => new Promise((r) => server.close(r)),
  };
}

/** The .torrent file (Uint8Array) for `bytes`. */
export function makeTorrent(bytes, { name = "content.bin", announce, webSeed, pieceLength }) {
  return new Promise((resolve, reject) => {
    createTorrent(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length), {
      name, pieceLength, announceList: [[announce]], urlList: [webSeed],
      createdBy: "edgeswarm bench", creationDate: new Date(0),
    }, (err, torrent) => (err ? reject(err) : resolve(new Uint8Array(torrent))));
  });
}

// The page. Everything it needs comes from its own origin; the web seed and
// the tracker are named by the torrent file.
const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>WebTorrent bench page</title>
<body data-state="idle">
<script type="module">
import WebTorrent from "/webtorrent.min.js";
const state = (s) => { document.body.dataset.state = s; };
const fail = (e) => { window.wtResult = { error: String(e?.message ?? e) }; state("error"); };
const hex = (buf) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");
try {
  state("loading");
  const torrentFile = new Uint8Array(await (await fetch("/content.torrent", { cache: "no-store" })).arrayBuffer());
  const client = new WebTorrent({
    dht: false, lsd: false, utp: false, natUpnp: false, natPmp: false,
    tracker: { rtcConfig: { iceServers: [] } },
  });
  window.wtClient = client;
  client.on("error", fail);
  state("downloading");
  const torrent = client.add(torrentFile);
  torrent.on("error", fail);
  torrent.on("done", async () => {
    try {
      const allBytesAt = performance.timeOrigin + performance.now();
      let webSeedBytes = 0, peerBytes = 0;
      for (const w of torrent.wires) {
        if (w.type === "webSeed") webSeedBytes += w.downloaded; else peerBytes += w.downloaded;
      }
      const buf = await torrent.files[0].arrayBuffer();
      const sha256 = hex(await crypto.subtle.digest("SHA-256", buf));
      window.wtResult = {
        sha256, size: buf.byteLength, allBytesAt, downloaded: torrent.downloaded,
        webSeedBytesOpenWires: webSeedBytes, peerBytesOpenWires: peerBytes,
      };
      state("done");
    } catch (e) { fail(e); }
  });
} catch (e) { fail(e); }
</script>
`;

/**
 * Static server for the pages: "/" (the page), "/webtorrent.min.js",
 * "/content.torrent" (set with setTorrent). Returns { url, setTorrent, stop }.
 */
export async function startSite() {
  const bundle = readFileSync(BUNDLE);
  let torrent = null;
  const sockets = new Set();
  const server = createServer((req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    const send = (type, body) => {
      res.writeHead(200, { "Content-Type": type, "Content-Length": body.length, "Cache-Control": "no-store" });
      res.end(body);
    };
    if (path === "/") return send("text/html; charset=utf-8", Buffer.from(PAGE));
    if (path === "/webtorrent.min.js") return send("text/javascript", bundle);
    if (path === "/content.torrent" && torrent) return send("application/x-bittorrent", Buffer.from(torrent));
    res.writeHead(404);
    res.end();
  });
  server.on("connection", (s) => { sockets.add(s); s.once("close", () => sockets.delete(s)); });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/`,
    setTorrent: (t) => { torrent = t; },
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
