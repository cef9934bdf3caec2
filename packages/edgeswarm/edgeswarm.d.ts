// Types of the `edgeswarm` package (edgeswarm.js). Hand-written and
// documented; the end-to-end test type-checks a usage sample against this
// file with `tsc` and checks that these options/stats types are
// interchangeable with the ones wasm-bindgen generates (client_wasm.d.ts).

/** Delivery Optimization download modes. */
export type DownloadMode =
  /** HTTP only: metadata still verified, never a peer connection. */
  | 0
  /** LAN: peers behind the same external IP address. */
  | 1
  /** Group: peers with the same `groupId`. */
  | 2
  /** Internet: any peer of the swarm (the default). */
  | 3
  /** Simple: no services, plain HTTP (optionally checked against `fileSha256`). */
  | 99;

/** What `new Downloader(options)` accepts. */
export interface DownloaderOptions {
  /** Origin of the edgeswarm edge worker, e.g. `"https://edge.example.com"`; `""` = this page's origin. */
  server: string;
  /** The published content id (`[A-Za-z0-9._-]`, 1–255 chars); `""` to look it up by `altCatalogId`. */
  contentId: string;
  /** The download mode (default 3, Internet). */
  downloadMode?: DownloadMode;
  /** Required for mode 2: pages of different groups never meet. 1 to 128 bytes without
   *  control characters (what discovery accepts; anything else rejects `start()`). */
  groupId?: string;
  /** The download URL, used by the services when the content id is empty or unknown. */
  altCatalogId?: string;
  /** Mode 99 only: the file URL (default: the server's content route). */
  contentUrl?: string;
  /** Mode 99 only: expected whole-file SHA-256 (hex), checked before `start()` resolves. */
  fileSha256?: string;
  /** Name of the resulting `File` (default: the content id). */
  fileName?: string;
  /** A background download waits longer before using HTTP (the server's `httpDelay`). */
  isBackground?: boolean;
  /** `"auto"` (OPFS; memory for files ≤ 256 MiB when OPFS is missing) or `"memory"`. */
  storage?: "auto" | "memory";
  /** Overrides of the engine's tunables (camelCase `EngineConfig` fields, e.g. `{ strikeLimit: 2 }`). */
  engine?: Record<string, number>;
  /** Milliseconds between stats reports to the array (default: the server's `REPORT_INTERVAL_MS`). */
  reportIntervalMs?: number;
  /** Milliseconds before an unopened peer connection is abandoned (default 15000). */
  connectTimeoutMs?: number;
  /** Record per-piece performance marks named `"es:<phase>:<piece>"` (default false). */
  trace?: boolean;
}

/** Where one piece came from: 0 missing, 1 from HTTP (the CDN), 2 from a peer. */
export type PieceState = 0 | 1 | 2;

/** One remote peer, as `stats().peers` lists it. */
export interface PeerStats {
  /** The peer's id in the array (swarm). */
  id: string;
  /** `connecting` → `connected` → `closed`; `banned` after it sent a piece that failed its hash. */
  state: "connecting" | "connected" | "closed" | "banned";
  /** Verified bytes received from this peer. */
  bytesFrom: number;
  /** Bytes served to this peer. */
  bytesTo: number;
  /** Verified pieces received from this peer. */
  piecesFrom: number;
  /** Pieces from this peer that failed their SHA-256. */
  piecesRejected: number;
  /** Why the peer was banned, when it was. */
  banReason?: string;
}

/** A snapshot of one download (`stats()`, `onprogress`, the `progress` event). */
export interface DownloaderStats {
  /** The phase; `done`, `error` and `cancelled` are final. */
  state: "idle" | "starting" | "downloading" | "verifying" | "done" | "error" | "cancelled";
  /** The engine's mode: `"p2p"` (peers and the CDN), `"http-only"` (the CDN only, every piece
   *  verified against the metadata) or `"simple"` (the CDN only, no trusted metadata). */
  mode: "p2p" | "http-only" | "simple";
  /** Why the mode is not `"p2p"`, in the engine's words. */
  modeReason?: string;
  /** Why a `"p2p"` download found no array (it goes on over HTTP). */
  discoveryError?: string;
  /** The error message, once `state` is `error`. */
  error?: string;
  /** Verified bytes received from peers. */
  bytesFromPeers: number;
  /** Verified bytes received over HTTP from the CDN. */
  bytesFromHttp: number;
  /** Bytes served to other peers. */
  bytesToPeers: number;
  /** Bytes still missing. */
  bytesLeft: number;
  /** Pieces received and verified. */
  piecesVerified: number;
  /** Pieces that failed their SHA-256 (from any source); they are fetched again. */
  piecesRejected: number;
  /** Peers with an open data channel now. */
  peersConnected: number;
  /** Peers banned for sending bad pieces. */
  peersBanned: number;
  /** The file's size in bytes (0 until known). */
  fileSize: number;
  /** The piece size in bytes. */
  pieceSize: number;
  /** The number of pieces. */
  pieceCount: number;
  /** Per piece: 0 missing, 1 from HTTP, 2 from a peer. */
  pieceMap: PieceState[];
  /** Every peer this download has seen. */
  peers: PeerStats[];
  /** `"opfs"` (Origin Private File System) or `"memory"` (the in-memory fallback). */
  storage: string;
  /** This page's peer id in the array. */
  peerId?: string;
  /** The array (swarm) this page joined. */
  arrayId?: string;
  /** The country the worker saw this page in (from `/geo`). */
  countryCode?: string;
  /** Lowercase hex SHA-256 of the file, once every piece is in: the metadata's (every piece
   *  matched it) or, in simple mode, the hash of the bytes received. */
  sha256?: string;
  /** Whether the whole-file hash was checked against a trusted value. */
  verified: boolean;
  /** Milliseconds since `start()`. */
  elapsedMs: number;
}

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
