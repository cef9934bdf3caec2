//! `edgeswarm-engine`: the sans-IO download engine.
//!
//! It decides what to fetch from whom, verifies every piece (SHA-256) before
//! it is stored, announced or served, serves verified pieces, and bans peers
//! that send bad data. It performs no I/O, reads no clock and owns no entropy:
//! the glue (the browser client, the simulator) feeds [`Input`]s with the
//! current time, drains [`Output`]s, and passes a seed for random choices.
//! The same seed and inputs always produce the same outputs. It compiles for
//! native targets and `wasm32-unknown-unknown`.
//!
//! ```text
//! glue ──handle_input(now, Input)──▶ Engine ──poll_output()──▶ Output (send, HTTP range,
//!      ◀─────── poll_timeout() ──────        connect/disconnect, store/read piece, event)
//! ```
//!
//! ## Glue contract
//!
//! - Create with [`Engine::new`] (config from the bootstrap, [`Content`] from
//!   the requested download mode and the content policy + metadata fetch,
//!   the current time, a random seed). The engine decides the mode
//!   ([`Engine::mode`], the `ModeChanged` reason) and the piece layout
//!   ([`Engine::layout`]); the glue only joins an array in `Mode::P2p`.
//! - In P2P mode, feed [`Input::PeerCandidates`] as soon as the array service
//!   answers — **also when the list is empty**: until then (or until
//!   `discoveryGraceMs`) the engine does not use the CDN, expecting peers.
//! - After every `handle_input`, drain `poll_output` until `None`, then arm
//!   one timer for `poll_timeout` and call `handle_input(now, Input::Timeout)`
//!   when it fires (re-arm after every input; `None` means no timer).
//! - `ConnectPeer`: open a channel and answer `PeerConnected` or `PeerGone`.
//!   Incoming channels are reported with `PeerConnected` too.
//! - `DisconnectPeer`: close it; the engine already forgot the peer (a later
//!   `PeerGone` is harmless). A banned peer is refused if it comes back.
//! - `HttpRequest`: GET the content URL with `Range: bytes=start-(end-1)`;
//!   answer `HttpResponse` (status and body, 206 expected) or `HttpFailed`;
//!   or stream the answer: `HttpHead` (status), then the body as it arrives
//!   in `HttpData` chunks (any sizes, in order), then `HttpEnd` — or
//!   `HttpFailed` at any point. A range may span several pieces (HTTP-only
//!   mode, `httpMaxRangePieces`): the engine verifies and stores each piece
//!   as soon as its bytes are in, so the glue never buffers a body. Stop
//!   reading a body once it passes the range's length (the engine has
//!   failed the request by then).
//! - `StorePiece`: write the (verified) bytes at `offset`, and answer
//!   `PieceStored` when the write completed (`PieceStoreFailed` if it did
//!   not: the download then fails with `Event::StoreFailed`). Unanswered
//!   writes hold new requests back at `maxUnstoredBytes` (see
//!   `store_gate`); keep the piece servable meanwhile. `ReadPiece`: read
//!   them back and answer `PieceRead` (or `PieceReadFailed`).
//! - `Event::Done`: every piece is verified and stored (every write
//!   answered), with the file's SHA-256 (the only whole-file hash: the glue
//!   does not hash again); keep the engine running to serve peers. In
//!   simple mode `FileHashMismatch` ends it instead; `StoreFailed` ends any
//!   mode.
//!
//! Nothing that arrives from the network can make the engine panic or return
//! an error: remote misbehaviour becomes an [`Event`] (a rejected piece, a
//! banned peer). Piece states and transitions are documented in
//! `swarm::pieces`; peer connection phases in `swarm::peer`; modes in [`engine`].

pub mod config;
pub mod engine;
mod range_body;
mod retry;
mod simple;
mod store_gate;
mod swarm;
pub mod types;

pub use config::EngineConfig;
pub use engine::{Content, Engine};
pub use swarm::rate::WINDOW_MS as QOS_WINDOW_MS;
pub use swarm::share::{ORPHAN_WAIT_MS as SHARE_ORPHAN_WAIT_MS, SETTLE_MS as SHARE_SETTLE_MS};
pub use types::{
    BanReason, Event, HashJob, HttpOnlyReason, HttpRequestId, Input, Layout, Millis, Mode, Output,
    PeerKey, Source, Stats,
};
