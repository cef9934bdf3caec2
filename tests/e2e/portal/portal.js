// A scratch "portal" for portal.test.mjs: a page on another origin than the
// edge worker that downloads one content with the installed `edgeswarm`
// package and records what a portal developer would observe — the
// EventTarget events, the onprogress callback, the File and its SHA-256.
// `edgeswarm` is the package's module namespace (plain ESM import or an
// esbuild bundle, see plain.js / bundle-entry.js).
// URL: ?server=WORKER_ORIGIN&content=ID. The outcome ends up in
// document.body.dataset.state ("done"/"error") and window.portalResult.
export async function run(edgeswarm, flavour) {
  const params = new URLSearchParams(location.search);
  const events = { progress: 0, peer: 0, done: 0, error: 0, onprogress: 0, peerStates: [] };
  let doneDetail = null;
  let errorDetail = null;
  const d = new edgeswarm.Downloader({
    server: params.get("server"),
    contentId: params.get("content"),
    downloadMode: 3,
  });
  window.portalDownloader = d;
  window.portalEvents = events;
  d.onprogress = () => { events.onprogress += 1; };
  d.addEventListener("progress", (e) => { events.progress += 1; window.portalStats = e.detail; });
  d.addEventListener("peer", (e) => {
    events.peer += 1;
    events.peerStates.push(`${e.detail.previousState ?? "new"}->${e.detail.peer.state}`);
  });
  d.addEventListener("done", (e) => { events.done += 1; doneDetail = e.detail; });
  d.addEventListener("error", (e) => { events.error += 1; errorDetail = e.detail; });
  try {
    const file = await d.start();
    const digest = await crypto.subtle.digest("SHA-256", await file.arrayBuffer());
    const sha256 = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
    window.portalResult = {
      flavour, sha256, fileSize: file.size, stats: d.stats(), events,
      doneFileIsResult: doneDetail?.file === file,
      doneStatsSha256: doneDetail?.stats?.sha256 ?? null,
    };
    document.body.dataset.state = "done";
  } catch (e) {
    window.portalResult = {
      flavour, error: String(e?.message ?? e), stats: d.stats(), events,
      errorDetailIsRejection: errorDetail?.error?.message === e?.message,
    };
    document.body.dataset.state = "error";
  }
}
