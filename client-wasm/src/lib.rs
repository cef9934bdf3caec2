//! `client-wasm`: the edgeswarm download client for browsers.
//!
//! A thin layer of wasm-bindgen glue around the sans-IO engine
//! (`edgeswarm-engine`): browser events (fetch replies, WebSocket messages,
//! data channel messages, timers) become engine inputs, engine outputs become
//! browser calls. The engine decides everything; this crate only moves bytes.
//!
//! Modules, one purpose each:
//! - [`time`]: `performance.now()` and owned `setTimeout` timers;
//! - [`listener`]: an event listener that owns its closure and unhooks on drop;
//! - [`http`]: `fetch` with HTTP Range and `AbortController`;
//! - [`store`]: verified pieces in OPFS (or memory for small files);
//! - [`rtc`]: one `RTCPeerConnection` + data channel with backpressure;
//! - [`trace`]: per-piece performance marks (the `trace` option).
//!
//! Invariants: nothing reachable from network bytes panics; no closure is
//! leaked (forgotten) per peer; the whole file is never held in memory
//! when OPFS is available.

pub mod cache;
pub mod digest;
pub mod host;
pub mod http;
pub mod listener;
pub mod rtc;
pub mod store;
pub mod time;
pub mod trace;

mod array_ws;
mod downloader;
mod options;
mod peers;
mod plan;
mod session;
mod stats;
mod status;
mod uploads;

pub use downloader::Downloader;

/// The engine's clock: `performance.now()` in whole milliseconds.
pub(crate) fn session_now() -> edgeswarm_engine::Millis {
    edgeswarm_engine::Millis(time::now_millis())
}
