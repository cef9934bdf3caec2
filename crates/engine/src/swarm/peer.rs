//! Per-peer state: connection phase, what the peer has, our downloads from
//! it, its strikes, its throughput, and its requests to us.
//!
//! Connection phases (both sides send Handshake then Bitfield on connect):
//!
//! ```text
//! AwaitHandshake ──Handshake(same content, metadata, version)──▶ AwaitBitfield
//! AwaitBitfield  ──Bitfield(right length)──────────────────────▶ Ready
//! Ready          ──Have/Request/PieceData/Cancel/Reject────────▶ Ready
//! any phase      ──anything else, malformed frame, strikes─────▶ removed (banned)
//! AwaitHandshake ──Handshake of other content/version──────────▶ removed (not banned)
//! AwaitHandshake, AwaitBitfield ──not Ready `connect_timeout_ms`
//!                                 after connecting─────────────▶ removed (not banned)
//! ```

use std::collections::{BTreeMap, HashSet, VecDeque};

use edgeswarm_protocol::wire::Bitfield;
use edgeswarm_protocol::PieceIndex;

use crate::types::Millis;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    AwaitHandshake,
    AwaitBitfield,
    Ready,
}

/// One whole-piece request of ours to this peer.
#[derive(Debug)]
pub struct Download {
    /// The bytes received so far (blocks arrive in offset order).
    pub buf: Vec<u8>,
    /// When we sent the request.
    pub since: Millis,
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
    pub downloads: BTreeMap<PieceIndex, Download>,
    /// Pieces we cancelled, were refused, or got bad bytes for from this peer:
    /// late blocks for them are ignored and we never ask this peer for them again.
    pub given_up: HashSet<PieceIndex>,
    /// Last time this peer sent us piece bytes (or we started asking it).
    pub last_progress: Millis,
    /// No new requests to this peer before this time.
    pub snubbed_until: Millis,
    /// How fast this peer delivers our requests (sizes the pipeline).
    pub throughput: PeerThroughput,
    /// Its requests to us, in arrival order; the head is being served.
    pub uploads: VecDeque<Upload>,
}

impl Peer {
    pub fn new(piece_count: u32, now: Millis) -> Self {
        Self {
            phase: Phase::AwaitHandshake,
            has: Bitfield::new(piece_count),
            strikes: 0,
            connected_at: now,
            downloads: BTreeMap::new(),
            given_up: HashSet::new(),
            last_progress: now,
            snubbed_until: Millis(0),
            throughput: PeerThroughput::default(),
            uploads: VecDeque::new(),
        }
    }

    /// True when we may ask this peer for piece `p` now.
    pub fn can_serve(&self, p: PieceIndex, now: Millis) -> bool {
        self.phase == Phase::Ready
            && self.snubbed_until <= now
            && self.has.get(p.get())
            && !self.given_up.contains(&p)
    }

    /// Start of the current silence, if requests are outstanding: the later
    /// of the last piece bytes and the oldest outstanding request (requests
    /// that ended otherwise — cancelled, rejected, verified elsewhere — do not
    /// count against the peer).
    pub fn silent_since(&self) -> Option<Millis> {
        let oldest = self.downloads.values().map(|d| d.since).min()?;
        Some(self.last_progress.max(oldest))
    }

    /// True when the peer takes new requests now at all.
    pub fn usable(&self, now: Millis) -> bool {
        self.phase == Phase::Ready && self.snubbed_until <= now
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
