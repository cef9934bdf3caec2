//! The engine's vocabulary: time, peer keys, inputs, outputs, events, stats.
//!
//! Everything the glue exchanges with the engine is one of these plain values;
//! piece numbers are `u32` so that a JavaScript glue can pass them as numbers
//! (the engine validates every one it is given before it uses it).

use std::fmt;
use std::sync::Arc;

use edgeswarm_protocol::wire::WireError;
use serde::Serialize;

/// Milliseconds on the caller's monotonic clock (e.g. `performance.now()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
pub struct Millis(pub u64);

impl Millis {
    pub fn plus(self, ms: u64) -> Millis {
        Millis(self.0.saturating_add(ms))
    }
    pub fn since(self, earlier: Millis) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

/// A peer, as the glue names it (the array service's string ids mapped to numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct PeerKey(pub u64);

impl fmt::Display for PeerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "peer {}", self.0)
    }
}

/// Identifies one HTTP request the engine asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct HttpRequestId(pub u64);

/// Where piece bytes came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Source {
    Peer(PeerKey),
    Http,
}

/// What the glue tells the engine. Every call also passes the current time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Peers the glue could connect to (from the array service). The engine
    /// answers with [`Output::ConnectPeer`] for as many as it wants.
    PeerCandidates(Vec<PeerKey>),
    /// The array's share of the CDN's work for this page (its
    /// `ServerMessage::Share`): member `rank` (0-based, join order) of the
    /// `members` members still downloading (`swarm::share`).
    ArrayShare { rank: u32, members: u32 },
    /// A data channel to `peer` is open (either side initiated it).
    PeerConnected { peer: PeerKey },
    /// One transport message from `peer` (one wire frame).
    PeerData { peer: PeerKey, bytes: Vec<u8> },
    /// The channel to `peer` closed or could not be opened.
    PeerGone { peer: PeerKey },
    /// The glue refused something `peer` sent below the wire protocol (a
    /// data-channel message above `wire::MAX_MESSAGE_LEN`, a text message):
    /// remote misbehaviour, so the engine bans it
    /// (`BanReason::ProtocolViolation(reason)`).
    PeerMisbehaved { peer: PeerKey, reason: &'static str },
    /// Answer to [`Output::HttpRequest`].
    HttpResponse {
        id: HttpRequestId,
        status: u16,
        body: Vec<u8>,
    },
    /// Streamed answer to [`Output::HttpRequest`], first part: the status.
    /// `HttpData` chunks follow, then `HttpEnd`; together they mean what one
    /// `HttpResponse` with the whole body means.
    HttpHead { id: HttpRequestId, status: u16 },
    /// The next bytes of a streamed body (after `HttpHead`, in order). A
    /// body longer than the range asked for fails the request, checked
    /// before any byte is kept.
    HttpData { id: HttpRequestId, bytes: Vec<u8> },
    /// A streamed body ended; bytes missing from the range fail only the
    /// pieces they belong to.
    HttpEnd { id: HttpRequestId },
    /// The HTTP request failed without a (whole) response (network error,
    /// abort), possibly after `HttpHead` and some `HttpData`: pieces already
    /// complete stay verified.
    HttpFailed { id: HttpRequestId },
    /// Answer to [`Output::ReadPiece`]: the stored bytes of a verified piece
    /// (shared: the engine keeps them in its upload cache as they are, and a
    /// glue that holds the piece already, or a simulator that answers many
    /// engines, hands over the same bytes without copying them).
    PieceRead { piece: u32, bytes: Arc<[u8]> },
    /// Storage could not read the piece back.
    PieceReadFailed { piece: u32 },
    /// Answer to [`Output::StorePiece`]: the write of `piece` completed.
    /// Until it comes the piece's bytes count against
    /// `EngineConfig::max_unstored_bytes`, and `Event::Done` waits for it.
    PieceStored { piece: u32 },
    /// Answer to [`Output::StorePiece`]: the write of `piece` failed. The
    /// download fails (`Event::StoreFailed`); see `store_gate`.
    PieceStoreFailed { piece: u32 },
    /// Pieces the glue's cache already holds from an earlier session of the
    /// same content and metadata (each written only after it was verified,
    /// so they count as verified without a download). Given once, before
    /// any peer connects; out-of-range and already-verified pieces are
    /// ignored. P2P and HTTP-only modes; simple mode ignores it.
    PiecesFromCache { pieces: Vec<u32> },
    /// How many more bytes this download may upload (`None`: no limit,
    /// `Some(0)`: none now). The glue's policies decide it (monthly cap,
    /// battery); the engine never sends a block beyond it and answers
    /// requests it cannot serve with `Reject(Busy)`. Default `None`.
    UploadBudget { bytes: Option<u64> },
    /// The download moved to the background (`true`: a hidden page, or the
    /// page said so) or to the foreground; see
    /// `EngineConfig::background_download_percent`. Default foreground.
    Background { on: bool },
    /// Answer to [`Output::HashPiece`]: the SHA-256 of the bytes it gave.
    /// An unknown `job` (answered twice, or never asked) is ignored.
    PieceHashed { job: HashJob, sha256: [u8; 32] },
    /// Nothing happened but time passed (the timer from `poll_timeout` fired).
    Timeout,
}

/// What the engine asks the glue to do, drained with `poll_output`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send one transport message (one wire frame) to `peer`.
    SendToPeer { peer: PeerKey, bytes: Vec<u8> },
    /// Fetch bytes `range` (end exclusive; `Range: bytes=start-(end-1)`) of the content URL.
    HttpRequest {
        id: HttpRequestId,
        range: std::ops::Range<u64>,
    },
    /// Open a data channel to `peer` (a hint: the glue may fail and report `PeerGone`).
    ConnectPeer { peer: PeerKey },
    /// Close the channel to `peer` and send it nothing more.
    DisconnectPeer { peer: PeerKey },
    /// Write verified bytes at `offset` of the output file (piece `piece`;
    /// `offset` is the engine's [`Layout::offset`] of it), then answer
    /// `PieceStored` (or `PieceStoreFailed`). The piece must stay servable
    /// (`ReadPiece`) from the moment this output is taken.
    StorePiece {
        piece: u32,
        offset: u64,
        bytes: Arc<[u8]>,
    },
    /// Compute the SHA-256 of `bytes` (all bytes of piece `piece`, as
    /// received) and answer `PieceHashed` with the same `job`
    /// (`EngineConfig::hash_outside` only). Until then the piece is neither
    /// verified nor asked for again.
    HashPiece {
        job: HashJob,
        piece: u32,
        bytes: Arc<[u8]>,
    },
    /// Read a stored piece back (answer with `PieceRead`), for serving it.
    ReadPiece { piece: u32 },
    /// Something worth telling the user or the stats report.
    Event(Event),
}

/// One `Output::HashPiece` job, named in its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HashJob(pub u64);

/// Why a peer was banned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum BanReason {
    /// It sent `strike_limit` pieces that failed their SHA-256 (or other strikes).
    BadPieces,
    /// It sent an undecodable frame.
    Malformed(String),
    /// It broke a protocol rule (message out of order, unknown piece, ...).
    ProtocolViolation(&'static str),
    /// It stalled or lied about pieces until it ran out of strikes.
    Unresponsive,
    /// It had more than the protocol's cap of unanswered requests.
    RequestFlood,
    /// It delivered below the per-request floor (`minRequestBps`) window
    /// after window (a drip) until it ran out of strikes.
    TooSlow,
}

impl BanReason {
    pub(crate) fn malformed(e: &WireError) -> Self {
        BanReason::Malformed(e.to_string())
    }
}

/// Why the engine runs HTTP only (the first output of such an engine is
/// `Event::ModeChanged` with this reason; [`HttpOnlyReason::describe`] is
/// the sentence users see).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum HttpOnlyReason {
    /// Download mode 99 was asked for: simple mode, no services.
    SimpleRequested,
    /// No metadata bytes could be fetched: simple mode.
    MetadataMissing,
    /// The metadata bytes fail their SHA-256 or do not decode: simple mode.
    MetadataInvalid,
    /// Download mode 0 was asked for: pieces are still verified.
    HttpOnlyRequested,
    /// Content policy forbids P2P: pieces are still verified against metadata.
    P2pNotAllowed,
    /// More pieces than a wire bitfield can describe: pieces are still verified.
    TooManyPieces,
}

impl HttpOnlyReason {
    /// A sentence for the user.
    pub fn describe(self) -> &'static str {
        match self {
            Self::SimpleRequested => "download mode 99 (simple): plain HTTP, no services",
            Self::MetadataMissing => "the metadata could not be fetched: simple mode",
            Self::MetadataInvalid => "the metadata failed its SHA-256 check: simple mode",
            Self::HttpOnlyRequested => "download mode 0: HTTP only, every piece verified",
            Self::P2pNotAllowed => "the publisher does not allow peer-to-peer",
            Self::TooManyPieces => "too many pieces to share with peers",
        }
    }
}

/// Where each piece (or, in simple mode, each chunk) sits in the file: the
/// engine's layout, which storage follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Layout {
    pub file_size: u64,
    /// Bytes per piece (the last one may be shorter); never 0.
    pub piece_size: u64,
}

impl Layout {
    pub fn piece_count(&self) -> u32 {
        u32::try_from(self.file_size.div_ceil(self.piece_size.max(1))).unwrap_or(u32::MAX)
    }

    /// Byte offset of piece `index`, or `None` past the end.
    pub fn offset(&self, index: u32) -> Option<u64> {
        let start = u64::from(index).checked_mul(self.piece_size)?;
        (start < self.file_size).then_some(start)
    }

    /// Byte length of piece `index`, or `None` past the end.
    pub fn piece_len(&self, index: u32) -> Option<u64> {
        let start = self.offset(index)?;
        Some((self.file_size - start).min(self.piece_size))
    }
}

/// The download's mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Mode {
    /// Peers and CDN, every piece verified.
    P2p,
    /// CDN only, every piece verified against the metadata.
    HttpOnly,
    /// CDN only without metadata; the whole-file hash is checked if known.
    Simple,
}

/// Something that happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Event {
    /// A piece was asked of `source` (a peer request, or an HTTP range).
    PieceRequested {
        piece: u32,
        source: Source,
    },
    /// The first bytes of a requested piece arrived (a peer's first block,
    /// or the piece's first bytes in a streamed HTTP range).
    PieceFirstBytes {
        piece: u32,
        source: Source,
    },
    /// The first block of a piece went to a peer that asked for it.
    PieceServed {
        piece: u32,
        peer: PeerKey,
    },
    PieceVerified {
        piece: u32,
        source: Source,
    },
    /// A piece counted from the cache (`Input::PiecesFromCache`), announced
    /// and servable like a verified one.
    PieceFromCache {
        piece: u32,
    },
    PieceRejected {
        piece: u32,
        source: Source,
    },
    PeerBanned {
        peer: PeerKey,
        reason: BanReason,
    },
    ModeChanged {
        mode: Mode,
        reason: HttpOnlyReason,
    },
    /// Every piece is verified and stored (every `StorePiece` answered with
    /// `PieceStored`; the engine keeps serving peers). `sha256` is the whole file's: with metadata, the
    /// metadata's (every piece matched it, so the file does); in simple
    /// mode, the hash of the bytes received, and `verified` says whether it
    /// matched a trusted value. This is the only whole-file hash.
    Done {
        sha256: [u8; 32],
        verified: bool,
    },
    /// Simple mode only: the assembled file does not match its known SHA-256.
    FileHashMismatch,
    /// Storage could not write `piece` (`Input::PieceStoreFailed`): the
    /// download has failed; no `Done` follows and nothing more is requested.
    StoreFailed {
        piece: u32,
    },
}

/// Counters for the UI and the array service report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    pub bytes_from_peers: u64,
    pub bytes_from_http: u64,
    /// Bytes counted from the cache of an earlier session (not downloaded).
    pub bytes_from_cache: u64,
    pub bytes_to_peers: u64,
    pub pieces_verified: u64,
    pub pieces_rejected: u64,
    pub peers_connected: u64,
    pub peers_banned: u64,
    /// Bytes of the file still missing.
    pub bytes_left: u64,
}

#[cfg(test)]
mod tests {
    use super::Layout;

    #[test]
    fn layout_places_a_short_last_piece() {
        let l = Layout {
            file_size: 2 * 16384 + 5,
            piece_size: 16384,
        };
        assert_eq!(l.piece_count(), 3);
        assert_eq!(l.piece_len(0), Some(16384));
        assert_eq!((l.offset(2), l.piece_len(2)), (Some(32768), Some(5)));
        assert_eq!(l.piece_len(3), None);
        assert_eq!(l.offset(u32::MAX), None);
        let empty = Layout {
            file_size: 0,
            piece_size: 16384,
        };
        assert_eq!(empty.piece_count(), 0);
    }
}
