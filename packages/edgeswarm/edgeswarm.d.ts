// Types of the `edgeswarm` package (edgeswarm.js). The options and stats
// types are the ones wasm-bindgen generates from client-wasm/src/options.rs
// (client_wasm.d.ts), documented there once and re-exported here; the
// EventTarget API of edgeswarm.js is typed below. The end-to-end test
// type-checks a usage sample against this file with `tsc`.

export type {
  DownloadMode,
  DownloaderOptions,
  PieceState,
  PeerStats,
  DownloaderStats,
  CacheOptions,
  UploadOptions,
  DownloadStatus,
  CacheItemStatus,
  PerfSnap,
} from "./client_wasm.js";
import type {
  CacheItemStatus,
  DownloadStatus,
  DownloaderOptions,
  DownloaderStats,
  PeerStats,
  PerfSnap,
} from "./client_wasm.js";

/** Every cached item of this origin, least recently used first (DO's Get-DeliveryOptimizationStatus). */
export function status(): Promise<CacheItemStatus[]>;
/** The origin's cache and upload figures (DO's Get-DeliveryOptimizationPerfSnap). */
export function perfSnap(): Promise<PerfSnap>;
/** Deletes one cached item, or every item without an argument; resolves with how many were deleted. */
export function deleteCache(contentId?: string): Promise<number>;

/** `event.detail` of the `peer` event: a peer appeared or changed state. */
export interface PeerEventDetail {
  /** The peer now. */
  peer: PeerStats;
  /** Its state before, `null` when the peer is new. */
  previousState: PeerStats["state"] | null;
}

/** `event.detail` of the `done` event. */
export interface DoneEventDetail {
  /** The verified file (disk-backed by OPFS for large downloads); the same object `start()` resolves with. */
  file: File;
  /** The final stats. */
  stats: DownloaderStats;
}

/** `event.detail` of the `error` event. */
export interface ErrorEventDetail {
  /** What went wrong; the same error `start()` rejects with (`"cancelled"` after `cancel()`). */
  error: Error;
  /** The stats when it happened (`null` if the download never began). */
  stats: DownloaderStats | null;
}

/** The events a `Downloader` dispatches (all `CustomEvent`s). */
export interface DownloaderEventMap {
  /** Every stats update: at most every 100 ms, and on every state change; also after `done`, while sharing. */
  progress: CustomEvent<DownloaderStats>;
  /** A peer appeared or changed state (connecting, connected, closed, banned). */
  peer: CustomEvent<PeerEventDetail>;
  /** The whole file is verified; dispatched once, before `start()` resolves. */
  done: CustomEvent<DoneEventDetail>;
  /** The download failed or was cancelled; dispatched once, before `start()` rejects. */
  error: CustomEvent<ErrorEventDetail>;
}

/**
 * Where to load the WebAssembly module from, for `init()`: a URL (or string),
 * a `Request`, a `Response` (or a promise of one), the bytes, or a compiled module.
 */
export type WasmSource =
  | URL
  | string
  | Request
  | Response
  | Promise<Response>
  | BufferSource
  | WebAssembly.Module;

/**
 * Instantiates the WebAssembly module, once (later calls return the same
 * promise; a failed load may be retried). Without `wasm`, it loads
 * `client_wasm_bg.wasm` relative to the package's `client_wasm.js`
 * (`new URL(..., import.meta.url)`). `start()` calls it: call it yourself
 * only to load the module early or from another location.
 */
export function init(wasm?: WasmSource): Promise<void>;

/**
 * One download of one published content, from the edge worker (HTTP) and
 * from other pages (WebRTC), every piece checked against its SHA-256.
 */
export class Downloader extends EventTarget {
  /** Stores the options; they are validated when `start()` creates the download. */
  constructor(options: DownloaderOptions);
  /** Called with every stats snapshot, like the `progress` event. */
  onprogress: ((stats: DownloaderStats) => void) | null;
  /** The latest stats; `null` before `start()` has created the download. */
  stats(): DownloaderStats | null;
  /** DO's Get-DeliveryOptimizationStatus fields; `null` before `start()` has created the download. */
  status(): DownloadStatus | null;
  /**
   * Downloads and verifies the whole file; resolves with it. Once per
   * Downloader. Rejects on invalid options, on failure and after `cancel()`.
   * After it resolves the page keeps sharing verified pieces until `cancel()`.
   */
  start(): Promise<File>;
  /** Stops the download or the sharing after it; closes every connection. */
  cancel(): void;
  /** Cancels and releases this download's WebAssembly memory. */
  free(): void;

  addEventListener<K extends keyof DownloaderEventMap>(
    type: K,
    listener: (this: Downloader, ev: DownloaderEventMap[K]) => unknown,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
  removeEventListener<K extends keyof DownloaderEventMap>(
    type: K,
    listener: (this: Downloader, ev: DownloaderEventMap[K]) => unknown,
    options?: boolean | EventListenerOptions,
  ): void;
  removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void;
}
