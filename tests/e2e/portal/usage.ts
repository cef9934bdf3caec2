// Type-checked by portal.test.mjs with `tsc --noEmit --strict` against the
// INSTALLED package: what a TypeScript portal writes must compile, and the
// package's types must be the generated ones (documented once, in
// client-wasm/src/options.rs).
import { Downloader, init, status, perfSnap, deleteCache, type DownloaderOptions, type DownloaderStats, type PeerStats } from "edgeswarm";
import type * as Generated from "edgeswarm/client_wasm.js";

await init(new URL("/assets/client_wasm_bg.wasm", location.href));
const options: DownloaderOptions = { server: "https://edge.example.com", contentId: "win-update", downloadMode: 2, groupId: "g" };
const d = new Downloader(options);
d.onprogress = (s: DownloaderStats) => console.log(s.bytesFromPeers, s.pieceMap.length);
d.addEventListener("progress", (e) => console.log(e.detail.bytesLeft, e.detail.mode, e.detail.modeReason));
d.addEventListener("peer", (e) => console.log(e.detail.peer.id, e.detail.previousState ?? "new", e.detail.peer.state));
d.addEventListener("done", (e) => console.log(e.detail.file.size, e.detail.stats.sha256));
d.addEventListener("error", (e) => console.error(e.detail.error.message, e.detail.stats?.state));
const file: File = await d.start();
const job = d.status();
const fromPeersPct: number = job?.percentPeerCaching ?? 0;
const items = await status();
const snap = await perfSnap();
const removed: number = await deleteCache(items[0]?.fileId);
console.log(fromPeersPct, snap.uploadedThisMonthBytes <= snap.monthlyUploadCapBytes, removed);
const narrowed = new Downloader({ server: "", contentId: "x", upload: { monthlyCapBytes: 1 }, cache: { maxAgeSecs: 60 }, seedOnly: true });
narrowed.free();
const s: DownloaderStats | null = d.stats();
const peers: PeerStats[] = s?.peers ?? [];
console.log(file.name, peers.length);
d.cancel();
d.free();

// The package re-exports wasm-bindgen's types: assignable both ways.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const sameOptions: Same<DownloaderOptions, Generated.DownloaderOptions> = true;
const sameStats: Same<DownloaderStats, Generated.DownloaderStats> = true;
const samePeer: Same<PeerStats, Generated.PeerStats> = true;
console.log(sameOptions, sameStats, samePeer);
