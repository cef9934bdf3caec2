// edgeswarm: verified, peer-assisted downloads of large files in the browser.
//
// The package's entry point. It wraps the wasm-bindgen client (client_wasm.js,
// built from client-wasm/ by `cargo xtask pack`) in a framework-free API:
//
//   - `init(wasm?)` instantiates the WebAssembly module once. Without an
//     argument the module is fetched from `client_wasm_bg.wasm` next to
//     client_wasm.js (`new URL(..., import.meta.url)`); pass a URL, a
//     Response, bytes or a WebAssembly.Module to load it from elsewhere.
//     `Downloader.start()` calls it, so calling it yourself is optional.
//   - `status()`, `perfSnap()` and `deleteCache(id?)`: the origin's cache and
//     upload figures, like DO's cmdlets (docs/embedding.md); they call init().
//   - `Downloader` is an EventTarget: `progress`, `peer`, `done` and `error`
//     events (CustomEvent, payload in `event.detail`), besides the
//     `onprogress` callback of the underlying client.
//
// Invariants: importing this module has no side effects (no fetch, no
// WebAssembly compilation) until `init()` or `start()`; every `start()` ends
// in exactly one `done` or one `error` event, dispatched before the returned
// promise settles; the wasm Downloader is created inside `start()`, so option
// errors reject `start()` (and dispatch `error`) instead of throwing from the
// constructor.
import wasmInit, {
  Downloader as WasmDownloader,
  status as wasmStatus,
  perfSnap as wasmPerfSnap,
  deleteCache as wasmDeleteCache,
} from "./client_wasm.js";

let ready;

/**
 * Instantiates the WebAssembly module (once; later calls return the same
 * promise). `wasm` is where to load `client_wasm_bg.wasm` from when it is not
 * next to `client_wasm.js` (e.g. after bundling): a URL or string, a
 * Response or promise of one, an ArrayBuffer/typed array or a
 * WebAssembly.Module.
 */
export function init(wasm) {
  if (!ready) {
    ready = wasmInit(wasm === undefined ? undefined : { module_or_path: wasm }).then(
      () => undefined,
      (e) => {
        ready = undefined; // a failed load may be retried (e.g. with another URL)
        throw e;
      },
    );
  }
  return ready;
}

/** Every cached item of this origin (DO's Get-DeliveryOptimizationStatus). */
export async function status() {
  await init();
  return wasmStatus();
}

/** The origin's cache and upload figures (DO's Get-DeliveryOptimizationPerfSnap). */
export async function perfSnap() {
  await init();
  return wasmPerfSnap();
}

/** Deletes one cached item, or all without an argument; resolves with how many. */
export async function deleteCache(contentId) {
  await init();
  return wasmDeleteCache(contentId);
}

function asError(e) {
  return e instanceof Error ? e : new Error(String(e?.message ?? e));
}

function report(e) {
  if (typeof globalThis.reportError === "function") globalThis.reportError(e);
  else console.error(e);
}

/** One download of one published content, from the edge worker and from peers. */
export class Downloader extends EventTarget {
  #options;
  #inner = null;
  #started = false;
  #cancelled = false;
  #last = null;
  #peers = new Map();

  /** Called with every stats snapshot, like the `progress` event. */
  onprogress = null;

  constructor(options) {
    super();
    if (options === null || typeof options !== "object") {
      throw new TypeError("edgeswarm: new Downloader(options) needs an options object");
    }
    this.#options = { ...options };
  }

  /** The latest stats; `null` before `start()` has created the download. */
  stats() {
    return this.#inner ? this.#inner.stats() : this.#last;
  }

  /** DO's Get-DeliveryOptimizationStatus fields; `null` before `start()` has created the download. */
  status() {
    return this.#inner ? this.#inner.status() : null;
  }

  /** Downloads and verifies the whole file; resolves with it (a `File`). Once per Downloader. */
  start() {
    if (this.#started) return Promise.reject(new Error("start() was already called"));
    this.#started = true;
    return this.#run();
  }

  async #run() {
    try {
      if (this.#cancelled) throw new Error("cancelled");
      await init();
      if (this.#cancelled) throw new Error("cancelled");
      this.#inner = new WasmDownloader(this.#options);
      this.#inner.onprogress = (s) => this.#progress(s);
      const file = await this.#inner.start();
      const stats = this.#inner.stats();
      this.#progress(stats);
      this.dispatchEvent(new CustomEvent("done", { detail: { file, stats } }));
      return file;
    } catch (e) {
      const error = asError(e);
      this.dispatchEvent(new CustomEvent("error", { detail: { error, stats: this.stats() } }));
      throw error;
    }
  }

  /**
   * Stops the download, or the sharing with peers after it; closes every
   * connection. A pending `start()` rejects with "cancelled".
   */
  cancel() {
    this.#cancelled = true;
    this.#inner?.cancel();
  }

  /** Cancels and releases the WebAssembly memory of this download. */
  free() {
    this.cancel();
    if (this.#inner) {
      this.#last = this.#inner.stats();
      this.#inner.free();
      this.#inner = null;
    }
  }

  #progress(stats) {
    this.#last = stats;
    for (const peer of stats.peers ?? []) {
      const previousState = this.#peers.get(peer.id) ?? null;
      if (previousState === peer.state) continue;
      this.#peers.set(peer.id, peer.state);
      this.dispatchEvent(new CustomEvent("peer", { detail: { peer, previousState } }));
    }
    if (typeof this.onprogress === "function") {
      try {
        this.onprogress(stats);
      } catch (e) {
        report(e);
      }
    }
    this.dispatchEvent(new CustomEvent("progress", { detail: stats }));
  }
}
