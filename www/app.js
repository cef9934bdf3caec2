// The edgeswarm demo page: drives one Downloader from the form or from the URL
// (`/?content=ID&mode=3[&group=G][&autostart=1][&server=ORIGIN][&trace=1]
//  [&uploadCap=BYTES][&minBattery=PERCENT][&cacheMax=BYTES]`, docs/api.md). The
// last three narrow the server's monthly upload cap, minimum battery level for
// uploads and absolute cache size (docs/embedding.md).
// When a download ends, document.body.dataset.state becomes "done" or "error"
// and window.edgeswarmResult holds {sha256, stats}, so scripts can drive pages;
// document.body.dataset.progress is the verified percentage while it runs.
// Without `?content=`, the page seeds every complete item of the origin's
// cache that policy allows: document.body.dataset.seeding holds how many.
// The client package is built into /pkg by `cargo xtask dev` (or `cargo xtask test`).
let client = null;
try {
  client = await import("/pkg/client_wasm.js");
} catch (e) {
  client = null;
  console.error("edgeswarm client package missing", e);
}

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
// The page only ever talks to its own origin's worker: a `server` parameter
// naming another origin would make this origin vouch ("Verified …") for a
// file some other server chose.
const serverParam = params.get("server") ?? "";
const serverRefused = serverParam !== "" && serverParam.replace(/\/+$/, "") !== location.origin;
const server = serverRefused ? "" : serverParam;
let downloader = null;
let saveUrl = null;
let seeders = [];
// Narrowing of the server's policies from the URL (never a widening).
const policyOptions = {};
if (params.has("uploadCap") || params.has("minBattery")) {
  policyOptions.upload = {};
  if (params.has("uploadCap")) policyOptions.upload.monthlyCapBytes = Number(params.get("uploadCap"));
  if (params.has("minBattery")) policyOptions.upload.minBatteryPercent = Number(params.get("minBattery"));
}
if (params.has("cacheMax")) policyOptions.cache = { absoluteMaxSizeBytes: Number(params.get("cacheMax")) };
let lastMapLength = -1;

function fmtBytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

function setState(state) {
  document.body.dataset.state = state;
  $("status").textContent = state;
}

// The page redraws at most every 100 ms (the client's progress callback) and
// writes only what changed (a text set again, even to the same value, can
// make the browser lay out and paint again; no gain was measurable against
// the machine's noise: docs/bench/browser.md, "A quiet machine").
function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

function setWidth(el, pct) {
  const w = `${pct.toFixed(1)}%`;
  if (el.dataset.width !== w) {
    el.style.width = w;
    el.dataset.width = w;
  }
}

function renderPieceMap(map) {
  const el = $("piece-map");
  if (map.length !== lastMapLength) {
    el.replaceChildren(...map.map(() => Object.assign(document.createElement("i"), { className: "cell" })));
    lastMapLength = map.length;
  }
  const cells = el.children;
  for (let i = 0; i < map.length; i++) {
    const cls = ["cell", "cell http", "cell peer", "cell cache"][map[i]] ?? "cell";
    if (cells[i].className !== cls) cells[i].className = cls;
  }
}

// The peers table keeps its rows and rewrites only the cells that changed.
function renderPeers(peers) {
  const body = $("peer-rows");
  if (peers.length === 0) {
    if (body.dataset.empty !== "1") {
      const tr = document.createElement("tr");
      tr.append(Object.assign(document.createElement("td"), { colSpan: 5, className: "muted", textContent: "no peers yet" }));
      body.replaceChildren(tr);
      body.dataset.empty = "1";
    }
    return;
  }
  if (body.dataset.empty !== "0") {
    body.replaceChildren();
    body.dataset.empty = "0";
  }
  while (body.children.length > peers.length) body.lastElementChild.remove();
  while (body.children.length < peers.length) {
    const tr = document.createElement("tr");
    for (let i = 0; i < 5; i++) tr.append(document.createElement("td"));
    body.append(tr);
  }
  peers.forEach((p, i) => {
    const tds = body.children[i].children;
    const cells = [p.id, p.state, fmtBytes(p.bytesFrom), fmtBytes(p.bytesTo), `${p.piecesFrom}${p.piecesRejected ? ` (${p.piecesRejected} bad)` : ""}`];
    cells.forEach((text, j) => setText(tds[j], text));
    const cls = `state-${p.state}`;
    if (tds[1].className !== cls) tds[1].className = cls;
    const title = p.banReason ?? "";
    if (tds[1].title !== title) tds[1].title = title;
  });
}

function render(s) {
  const total = s.fileSize || 1;
  const got = Math.max(0, s.fileSize - s.bytesLeft);
  const pct = s.fileSize ? Math.min(100, (100 * got) / total) : 0;
  const pctText = pct.toFixed(0);
  if (document.body.dataset.progress !== pctText) document.body.dataset.progress = pctText;
  const fromPeers = Math.min(s.bytesFromPeers, got);
  const peersPct = s.fileSize ? (100 * fromPeers) / total : 0;
  setWidth($("bar-peers"), peersPct);
  setWidth($("bar-http"), Math.max(0, pct - peersPct));
  if ($("bar").getAttribute("aria-valuenow") !== pctText) $("bar").setAttribute("aria-valuenow", pctText);
  setText($("percent"), `${pct.toFixed(pct < 10 ? 1 : 0)} %`);
  setText($("from-peers"), fmtBytes(s.bytesFromPeers));
  setText($("from-http"), fmtBytes(s.bytesFromHttp));
  setText($("from-cache"), fmtBytes(s.bytesFromCache));
  setText($("to-peers"), fmtBytes(s.bytesToPeers));
  const all = s.bytesFromPeers + s.bytesFromHttp;
  setText($("offload"), all ? `${((100 * s.bytesFromPeers) / all).toFixed(0)} % peers` : "–");
  setText($("peer-count"), String(s.peersConnected));
  setText($("banned-count"), String(s.peersBanned));
  setText($("pieces"), `${s.piecesVerified} / ${s.pieceCount}`);
  setText($("rejected"), String(s.piecesRejected));
  setText($("mode-label"), s.mode === "p2p" ? "peer-to-peer + CDN" : `HTTP only (${s.mode})`);
  const secs = s.elapsedMs / 1000;
  const rate = secs > 0 ? fmtBytes(all / secs) + "/s" : "";
  setText($("details"), [
    s.peerId && `peer ${s.peerId}`,
    s.arrayId && `array ${s.arrayId.slice(0, 8)}…`,
    `storage ${s.storage}`,
    s.countryCode && `country ${s.countryCode}`,
    secs > 0 && `${secs.toFixed(0)} s`,
    rate,
    s.modeReason,
    s.discoveryError,
  ].filter(Boolean).join(" · "));
  renderPieceMap(s.pieceMap);
  renderPeers(s.peers);
}

async function sha256Hex(file, stats) {
  // Hash the delivered File independently of the client (WebCrypto) when it fits in memory.
  if (crypto.subtle && file.size <= 512 * 1024 * 1024) {
    const digest = await crypto.subtle.digest("SHA-256", await file.arrayBuffer());
    return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  }
  return stats.sha256;
}

async function start() {
  const contentId = $("content").value.trim();
  const downloadMode = Number($("mode").value);
  const groupId = $("group").value.trim() || undefined;
  if (saveUrl) URL.revokeObjectURL(saveUrl);
  $("save").hidden = true;
  $("message").textContent = "";
  setState("running");
  $("start").disabled = true;
  $("cancel").textContent = "Cancel";
  $("cancel").disabled = false;
  try {
    if (serverRefused) {
      throw new Error(`refusing server=${serverParam}: this page downloads only from its own origin (${location.origin})`);
    }
    if (!client) throw new Error("the client package /pkg/client_wasm.js is missing: run `cargo xtask dev`");
    const wasm = await client.default();
    window.edgeswarmWasmMemory = wasm.memory; // for the memory benchmark
    // One download per page: the previous one (maybe still sharing) ends here.
    downloader?.cancel();
    downloader?.free();
    downloader = null;
    // `&trace=1` records per-piece performance marks (docs/bench/browser.md).
    const trace = params.get("trace") === "1";
    downloader = new client.Downloader({ server, contentId, downloadMode, groupId, fileName: contentId, trace, ...policyOptions });
    window.edgeswarmDownloader = downloader;
    downloader.onprogress = render;
    const file = await downloader.start();
    const stats = downloader.stats();
    render(stats);
    const sha256 = await sha256Hex(file, stats);
    window.edgeswarmResult = { sha256, stats, fileSize: file.size };
    saveUrl = URL.createObjectURL(file);
    Object.assign($("save"), { href: saveUrl, download: contentId, hidden: false });
    // "Verified" only when the engine checked the file against a trusted hash.
    const what = stats.verified ? "Verified" : "Downloaded (no trusted hash to check against)";
    $("message").textContent = `${what} ${fmtBytes(file.size)} · SHA-256 ${sha256}` +
      (stats.mode === "p2p" ? " · still sharing with peers" : "");
    $("cancel").textContent = stats.mode === "p2p" ? "Stop sharing" : "Cancel";
    $("cancel").disabled = stats.mode !== "p2p";
    setState("done");
    renderCache();
  } catch (e) {
    const stats = downloader?.stats();
    if (stats) render(stats);
    window.edgeswarmResult = { sha256: null, stats, error: String(e?.message ?? e) };
    $("message").textContent = String(e?.message ?? e);
    setState("error");
  } finally {
    $("start").disabled = false;
  }
}

$("controls").addEventListener("submit", (e) => { e.preventDefault(); start(); });
$("cancel").addEventListener("click", () => {
  downloader?.cancel();
  $("cancel").disabled = true;
});

// The cache panel: what the origin keeps, the month's uploads, delete buttons.
async function renderCache() {
  if (!client) return;
  try {
    await client.default();
    const [items, snap] = await Promise.all([client.status(), client.perfSnap()]);
    window.edgeswarmCache = { items, snap };
    const rows = items.map((it) => {
      const tr = document.createElement("tr");
      const age = ((Date.now() - Date.parse(it.lastUsedAt)) / 60000).toFixed(0);
      const cells = [it.fileId, fmtBytes(it.fileSize), fmtBytes(it.bytesInCache),
        it.complete ? "complete" : "partial", `${age} min`, it.expireOn ?? "never"];
      for (const text of cells) tr.append(Object.assign(document.createElement("td"), { textContent: text }));
      const del = Object.assign(document.createElement("button"), { type: "button", textContent: "Delete" });
      del.dataset.delete = it.fileId;
      del.addEventListener("click", async () => { await client.deleteCache(it.fileId); renderCache(); });
      tr.append(Object.assign(document.createElement("td"), {}));
      tr.lastChild.append(del);
      return tr;
    });
    if (rows.length === 0) {
      const tr = document.createElement("tr");
      tr.append(Object.assign(document.createElement("td"), { colSpan: 7, className: "muted", textContent: "the cache is empty" }));
      rows.push(tr);
    }
    $("cache-rows").replaceChildren(...rows);
    const cap = snap.monthlyUploadCapBytes ? fmtBytes(snap.monthlyUploadCapBytes) : "no cap";
    $("cache-summary").textContent = `${snap.files} items · ${fmtBytes(snap.cacheBytes)} of ${fmtBytes(snap.maxCacheBytes)}` +
      ` · uploaded ${fmtBytes(snap.uploadedThisMonthBytes)} of ${cap} in ${snap.month}`;
  } catch (e) {
    $("cache-summary").textContent = `cache unavailable: ${e?.message ?? e}`;
  }
}

// Seeding: every complete cached item, in its download mode, from the cache only.
async function seedCache() {
  if (!client || serverRefused) return;
  const wasm = await client.default();
  window.edgeswarmWasmMemory = wasm.memory; // for the bounded-memory test
  const items = (await client.status()).filter((it) => it.complete);
  const started = await Promise.all(items.map(async (it) => {
    const d = new client.Downloader({ server, contentId: it.fileId, downloadMode: it.downloadMode,
      groupId: it.groupId, fileName: it.fileName, seedOnly: true, ...policyOptions });
    try {
      await d.start();
      return d;
    } catch (e) {
      console.warn(`not seeding ${it.fileId}: ${e?.message ?? e}`);
      d.free();
      return null;
    }
  }));
  seeders = started.filter(Boolean);
  window.edgeswarmSeeders = seeders;
  document.body.dataset.seeding = String(seeders.length);
  $("seeding").textContent = seeders.length ? `Seeding ${seeders.length} cached item(s) to peers.` : "";
  renderCache();
}

$("cache-clear").addEventListener("click", async () => { await client?.deleteCache(); renderCache(); });

if (params.has("content")) $("content").value = params.get("content");
else seedCache();
renderCache();
if (params.has("mode")) $("mode").value = params.get("mode");
if (params.has("group")) $("group").value = params.get("group");
if (params.get("autostart") === "1") start();
