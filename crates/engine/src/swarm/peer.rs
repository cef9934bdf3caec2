//! Per-peer state: connection phase, what the peer has, our downloads from
//! it, its strikes, its throughput, its delivery window (the drip defence),
//! when it was last useful (slot eviction), and its requests to us.
//!
//! Connection phases (both sides send Handshake then Bitfield on connect):
//!
//! ```text
//! AwaitHandshake ──Handshake(same content, metadata, version)──▶ AwaitBitfield
//! AwaitBitfield  ──Bitfield(right length)──────────────────────▶ Ready
//! Ready          ──Have/Request/PieceData/Cancel/Reject/Fetching──▶ Ready
//! any phase      ──anything else, malformed frame, strikes─────▶ removed (banned)
//! AwaitHandshake ──Handshake of other content/version──────────▶ removed (not banned)
//! AwaitHandshake, AwaitBitfield ──not Ready `connect_timeout_ms`
//!                                 after connecting─────────────▶ removed (not banned)
//! ```

use std::collections::VecDeque;

use edgeswarm_protocol::wire::Bitfield;
use edgeswarm_protocol::PieceIndex;

use super::downloads::Downloads;
use super::lease::Leases;
use crate::types::Millis;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    AwaitHandshake,
    AwaitBitfield,
    Ready,
}

/// A set of pieces of one download (a bit per piece, allocated up front:
/// no larger than the peer's `has` bitfield).
#[derive(Debug)]
pub struct PieceSet(Bitfield);

impl PieceSet {
    pub fn new(piece_count: u32) -> Self {
        Self(Bitfield::new(piece_count))
    }

    pub fn contains(&self, p: &PieceIndex) -> bool {
        self.0.get(p.get())
    }

    pub fn insert(&mut self, p: PieceIndex) {
        self.0.set(p.get());
    }

    /// The set in the wire bitfield's layout.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl Extend<PieceIndex> for PieceSet {
    fn extend<I: IntoIterator<Item = PieceIndex>>(&mut self, iter: I) {
        for p in iter {
            self.insert(p);
        }
    }
}

/// One request of theirs that we serve: piece and the next byte offset to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Upload {
    pub piece: PieceIndex,
    pub offset: u32,
}

#[derive(Debug)]
pub struct Peer {
    pub phase: Phase,
    pub has: Bitfield,
    pub strikes: u32,
    /// When the channel opened (a peer not `Ready` soon after is dropped).
    pub connected_at: Millis,
    /// Our in-flight whole-piece requests to this peer.
    pub downloads: Downloads,
    /// Pieces we cancelled, were refused, or got bad bytes for from this peer:
    /// late blocks for them are ignored and we never ask this peer for them again.
    pub given_up: PieceSet,
    /// Last time this peer sent us piece bytes (or we started asking it).
    pub last_progress: Millis,
    /// No new requests to this peer before this time.
    pub snubbed_until: Millis,
    /// How fast this peer delivers our requests (sizes the pipeline).
    pub throughput: PeerThroughput,
    /// Its requests to us, in arrival order; the head is being served.
    pub uploads: VecDeque<Upload>,
    /// This client dialled it (it holds a dialled slot, not an inbound one).
    pub dialed: bool,
    /// The drip defence's delivery window.
    pub window: DeliveryWindow,
    /// Whole pieces it delivered (verified or not): a peer that never did
    /// may not take over pieces stuck with slow peers.
    pub pieces_delivered: u32,
    /// Last time it announced a piece we lack, sent us accepted bytes, or
    /// asked us for a piece (a peer idle for long gives up its slot under
    /// slot pressure).
    pub last_useful: Millis,
    /// Pieces it said it is fetching from the CDN (`Fetching`).
    pub leases: Leases,
}

impl Peer {
    pub fn new(piece_count: u32, now: Millis) -> Self {
        Self {
            phase: Phase::AwaitHandshake,
            has: Bitfield::new(piece_count),
            strikes: 0,
            connected_at: now,
            downloads: Downloads::default(),
            given_up: PieceSet::new(piece_count),
            last_progress: now,
            snubbed_until: Millis(0),
            throughput: PeerThroughput::default(),
            uploads: VecDeque::new(),
            dialed: false,
            window: DeliveryWindow::default(),
            pieces_delivered: 0,
            last_useful: now,
            leases: Leases::default(),
        }
    }

    /// True when we may ask this peer for piece `p` now.
    pub fn can_serve(&self, p: PieceIndex, now: Millis) -> bool {
        self.phase == Phase::Ready
            && self.snubbed_until <= now
            && self.has.get(p.get())
            && !self.given_up.contains(&p)
    }

    /// True when this peer does not earn its requests (see
    /// [`DeliveryWindow::slow`]).
    pub fn slow(&self, floor: u64, grace_request_ms: u64) -> bool {
        self.window.slow(floor, grace_request_ms)
    }

    /// Start of the current silence, if requests are outstanding: the later
    /// of the last piece bytes and the oldest outstanding request (requests
    /// that ended otherwise — cancelled, rejected, verified elsewhere — do not
    /// count against the peer).
    pub fn silent_since(&self) -> Option<Millis> {
        Some(self.silent_since_given(self.oldest_request()?))
    }

    /// `silent_since` for a known oldest request (saves a second walk).
    pub fn silent_since_given(&self, oldest: Millis) -> Millis {
        self.last_progress.max(oldest)
    }

    /// When our oldest outstanding request to this peer went out.
    pub fn oldest_request(&self) -> Option<Millis> {
        self.downloads.oldest()
    }

    /// True when the peer takes new requests now at all.
    pub fn usable(&self, now: Millis) -> bool {
        self.phase == Phase::Ready && self.snubbed_until <= now
    }
}

/// The drip defence's measure of one peer: accepted piece bytes per
/// request-second (the time each of our requests was outstanding, summed),
/// over a window that starts when a request goes to it and closes after
/// `slow_window_ms`. Time without requests does not count, so an honest peer
/// that had little to do is not slow, while a drip whose requests were taken
/// over elsewhere stays slow until its window closes.
#[derive(Debug, Default)]
pub struct DeliveryWindow {
    /// When the window started (None: no request since the last close).
    pub start: Option<Millis>,
    /// Request-milliseconds accounted up to `mark`.
    pub request_ms: u64,
    pub mark: Millis,
    pub bytes: u64,
    /// Consecutive windows closed below the floor (the first is parole,
    /// each further one a strike); reset by a window at or above it.
    pub slow_closes: u32,
}

impl DeliveryWindow {
    /// Adds the request time since the last mark (`outstanding` requests).
    pub fn account(&mut self, now: Millis, outstanding: usize) {
        if self.start.is_some() {
            let ms = now.since(self.mark).saturating_mul(outstanding as u64);
            self.request_ms = self.request_ms.saturating_add(ms);
        }
        self.mark = now;
    }

    /// Opens a window (if none is open) as a request goes out.
    pub fn open(&mut self, now: Millis) {
        if self.start.is_none() {
            *self = Self {
                start: Some(now),
                mark: now,
                slow_closes: self.slow_closes,
                ..Self::default()
            };
        }
    }

    /// Bytes per request-second so far (None before any request time).
    pub fn rate(&self) -> Option<u64> {
        (self.request_ms > 0).then(|| self.bytes.saturating_mul(1000) / self.request_ms)
    }

    /// Below `floor` after at least `grace_request_ms` of request time.
    pub fn lagging(&self, floor: u64, grace_request_ms: u64) -> bool {
        floor > 0 && self.request_ms >= grace_request_ms && self.rate().is_some_and(|r| r < floor)
    }

    /// Lagging, or on parole and not yet measured again.
    pub fn slow(&self, floor: u64, grace_request_ms: u64) -> bool {
        self.lagging(floor, grace_request_ms)
            || (floor > 0 && self.slow_closes > 0 && self.request_ms < grace_request_ms)
    }

    /// Closes the window: true when it ended below `floor` (then the peer
    /// is on parole, or struck if it already was).
    pub fn close(&mut self, floor: u64) -> bool {
        let slow = floor > 0 && self.rate().is_some_and(|r| r < floor);
        *self = Self {
            slow_closes: if slow { self.slow_closes + 1 } else { 0 },
            ..Self::default()
        };
        slow
    }
}

/// The piece bytes one peer delivered to us per second: an average over
/// windows of at least 500 ms (not to be confused with the download's
/// total rate, `super::rate::DownloadRate`).
#[derive(Debug, Default)]
pub struct PeerThroughput {
    window_start: Option<Millis>,
    window_bytes: u64,
    /// Bytes per second; 0 until the first window closes.
    pub bytes_per_sec: u64,
}

impl PeerThroughput {
    const WINDOW_MS: u64 = 500;

    pub fn record(&mut self, now: Millis, bytes: u64) {
        let start = *self.window_start.get_or_insert(now);
        self.window_bytes += bytes;
        let elapsed = now.since(start);
        if elapsed >= Self::WINDOW_MS {
            let inst = self.window_bytes.saturating_mul(1000) / elapsed;
            self.bytes_per_sec = if self.bytes_per_sec == 0 {
                inst
            } else {
                (self.bytes_per_sec + inst) / 2
            };
            self.window_start = Some(now);
            self.window_bytes = 0;
        }
    }

    /// Requests to keep in flight: about `pipeline_ms` of throughput, clamped.
    pub fn depth(&self, piece_len: u32, pipeline_ms: u64, min: usize, max: usize) -> usize {
        let bytes = self.bytes_per_sec.saturating_mul(pipeline_ms) / 1000;
        let pieces = 1 + bytes / u64::from(piece_len.max(1));
        usize::try_from(pieces)
            .unwrap_or(usize::MAX)
            .clamp(min, max.max(min))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipeline_depth_follows_throughput() {
        let mut r = PeerThroughput::default();
        assert_eq!(r.depth(1 << 20, 1000, 2, 8), 2, "unmeasured: minimum");
        r.record(Millis(0), 0);
        r.record(Millis(1000), 5 << 20);
        assert_eq!(r.bytes_per_sec, 5 << 20);
        assert_eq!(r.depth(1 << 20, 1000, 2, 8), 6);
        assert_eq!(r.depth(1 << 16, 1000, 2, 8), 8, "capped");
    }
}
