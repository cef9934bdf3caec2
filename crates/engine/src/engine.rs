//! The public [`Engine`]: decides the mode (and so the piece layout) from
//! the requested download mode and what the glue could fetch, then forwards
//! inputs to the P2P swarm or the simple-mode downloader. The glue makes no
//! mode decision of its own: it reads [`Engine::mode`], [`Engine::layout`]
//! and the `ModeChanged` reason.
//!
//! Mode decision (made once, at construction), first matching row wins:
//!
//! | requested mode | metadata bytes | SHA-256 matches and decodes | P2P allowed | mode (reason) |
//! |---|---|---|---|---|
//! | 99 | – | – | – | `Simple` (`SimpleRequested`) |
//! | any | missing | – | – | `Simple` (`MetadataMissing`) |
//! | any | present | no | – | `Simple` (`MetadataInvalid`) |
//! | 0 | present | yes | – | `HttpOnly` (`HttpOnlyRequested`), pieces still verified |
//! | 1, 2, 3 | present | yes | no | `HttpOnly` (`P2pNotAllowed`) |
//! | 1, 2, 3 | present | yes | yes | `P2p` |
//!
//! Content with more pieces than a wire bitfield can describe (2²⁰) cannot be
//! shared with peers; it runs `HttpOnly` (`TooManyPieces`).
//!
//! Any mode other than `P2p` is announced with `Event::ModeChanged` as the first output.

use edgeswarm_protocol::wire::MAX_BITFIELD_LEN;
use edgeswarm_protocol::{sha256, DownloadMode, Metadata};

use crate::config::EngineConfig;
use crate::simple::Simple;
use crate::swarm::Swarm;
use crate::types::{Event, HttpOnlyReason, Input, Layout, Millis, Mode, Output, Stats};

/// What the glue learned about the content before starting (content policy + metadata fetch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content {
    /// The download mode the caller asked for.
    pub mode: DownloadMode,
    /// The metadata file's bytes, if they could be fetched.
    pub metadata: Option<Vec<u8>>,
    /// The metadata's SHA-256 from the content policy service (`metadataSha256`).
    pub metadata_sha256: Option<[u8; 32]>,
    /// Content policy `p2pAllowed`.
    pub p2p_allowed: bool,
    /// Content policy `fileSize` (used in simple mode).
    pub file_size: u64,
    /// Whole-file SHA-256 if known without metadata (used in simple mode).
    pub file_sha256: Option<[u8; 32]>,
}

impl Default for Content {
    fn default() -> Self {
        Self {
            mode: DownloadMode::Internet,
            metadata: None,
            metadata_sha256: None,
            p2p_allowed: false,
            file_size: 0,
            file_sha256: None,
        }
    }
}

/// The verified metadata, or why there is none.
fn verified_metadata(content: &Content) -> Result<(Metadata, [u8; 32]), HttpOnlyReason> {
    if content.mode == DownloadMode::Simple {
        return Err(HttpOnlyReason::SimpleRequested);
    }
    let bytes = content
        .metadata
        .as_deref()
        .ok_or(HttpOnlyReason::MetadataMissing)?;
    let sha = sha256(bytes);
    if Some(sha) != content.metadata_sha256 {
        return Err(HttpOnlyReason::MetadataInvalid);
    }
    let meta = Metadata::decode(bytes).map_err(|_| HttpOnlyReason::MetadataInvalid)?;
    Ok((meta, sha))
}

enum Inner {
    Swarm(Box<Swarm>),
    Simple(Box<Simple>),
}

/// The sans-IO download engine. Feed [`Input`]s with [`Engine::handle_input`],
/// drain [`Output`]s with [`Engine::poll_output`] until `None`, and call
/// `handle_input(now, Input::Timeout)` at [`Engine::poll_timeout`].
pub struct Engine {
    inner: Inner,
    mode: Mode,
    pending_event: Option<Event>,
}

impl Engine {
    /// Starts a download at time `now`. `seed` drives every random choice
    /// (tie-breaks, waits): the same seed and inputs give the same outputs.
    pub fn new(mut config: EngineConfig, content: Content, now: Millis, seed: u64) -> Self {
        // Unset, the race follows the array's share in LAN mode only
        // (`EngineConfig::race_follows_share`).
        config
            .race_follows_share
            .get_or_insert(content.mode == DownloadMode::Lan);
        let (mode, reason, inner) = match verified_metadata(&content) {
            Ok((meta, sha)) => {
                let bitfield_len = meta.piece_count().div_ceil(8) as usize;
                let http_only = if content.mode.scope().is_none() {
                    Some(HttpOnlyReason::HttpOnlyRequested)
                } else if !content.p2p_allowed {
                    Some(HttpOnlyReason::P2pNotAllowed)
                } else if bitfield_len > MAX_BITFIELD_LEN {
                    Some(HttpOnlyReason::TooManyPieces)
                } else {
                    None
                };
                let swarm = Swarm::new(config, meta, sha, http_only.is_none(), now, seed);
                let mode = if http_only.is_none() {
                    Mode::P2p
                } else {
                    Mode::HttpOnly
                };
                (mode, http_only, Inner::Swarm(Box::new(swarm)))
            }
            Err(reason) => {
                let simple = Simple::new(config, content.file_size, content.file_sha256, now);
                (Mode::Simple, Some(reason), Inner::Simple(Box::new(simple)))
            }
        };
        Self {
            inner,
            mode,
            pending_event: reason.map(|reason| Event::ModeChanged { mode, reason }),
        }
    }

    /// Feeds one input that happened at `now` (a monotonic clock in ms).
    pub fn handle_input(&mut self, now: Millis, input: Input) {
        match &mut self.inner {
            Inner::Swarm(s) => s.handle(now, input),
            Inner::Simple(s) => s.handle(now, input),
        }
    }

    /// The next thing to do, or `None` until the next input.
    pub fn poll_output(&mut self) -> Option<Output> {
        if let Some(e) = self.pending_event.take() {
            return Some(Output::Event(e));
        }
        match &mut self.inner {
            Inner::Swarm(s) => s.poll_output(),
            Inner::Simple(s) => s.poll_output(),
        }
    }

    /// When to call `handle_input(now, Input::Timeout)` next; `None`: no timer needed.
    pub fn poll_timeout(&self) -> Option<Millis> {
        match &self.inner {
            Inner::Swarm(s) => s.poll_timeout(),
            Inner::Simple(s) => s.poll_timeout(),
        }
    }

    pub fn stats(&self) -> Stats {
        match &self.inner {
            Inner::Swarm(s) => s.stats(),
            Inner::Simple(s) => s.stats(),
        }
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Where each piece sits in the file (simple mode: each chunk); storage
    /// follows this layout.
    pub fn layout(&self) -> Layout {
        match &self.inner {
            Inner::Swarm(s) => s.layout(),
            Inner::Simple(s) => s.layout(),
        }
    }

    /// True while storage is behind: verified bytes awaiting `PieceStored`
    /// reach `max_unstored_bytes` (or a write failed), so the engine starts
    /// no new request. A glue that streams HTTP bodies pauses reading them
    /// while this holds, as a socket's flow control: the engine decided.
    pub fn storage_holds(&self) -> bool {
        match &self.inner {
            Inner::Swarm(s) => s.storage_holds(),
            Inner::Simple(s) => s.storage_holds(),
        }
    }

    /// True once every piece is verified and stored (or, in simple mode, the
    /// download ended either way).
    pub fn is_finished(&self) -> bool {
        match &self.inner {
            Inner::Swarm(s) => s.is_done(),
            Inner::Simple(s) => s.is_done(),
        }
    }
}
