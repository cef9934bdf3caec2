//! Simulation parameters and the report a run produces (both camelCase JSON).

use edgeswarm_engine::EngineConfig;
use serde::{Deserialize, Serialize};

use crate::costs::Costs;

/// How a malicious peer misbehaves. All of them join at time 0 and connect
/// to every honest peer that joins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "camelCase")]
pub enum MaliciousKind {
    /// Claims every piece and serves bytes that are all wrong.
    Corrupt,
    /// Claims every piece and serves the right bytes with one bit flipped.
    FlipBit,
    /// Claims every piece and refuses every request ("not have").
    Lie,
    /// Claims every piece and never answers requests.
    Stall,
    /// Sends undecodable frames after its handshake.
    Garbage,
    /// Requests every piece its victims announce, and more than allowed.
    Flood,
    /// Attacker `i` uses kind `i mod 6` of the six kinds above.
    Mixed,
    /// Claims every piece and answers each request with one byte about
    /// every 19 s (just under the 20 s stall timeout), never finishing it.
    Drip,
    /// Claims every piece and answers each request with 1 KiB every 250 ms
    /// (4 KiB/s, above the drip defence's floor), never finishing it.
    Trickle,
    /// Lies to the array (reports `left` 0 and a huge upload speed) so that
    /// the array ranks it first in every peer list, joins before everyone,
    /// connects to every honest peer and then just holds the slot (an empty
    /// bitfield, nothing else).
    ForgedReport,
    /// Holds nothing and says it is fetching every piece its victim lacks
    /// from the CDN (`Fetching`, the last pieces first) when it connects and
    /// again after every `Have` it receives, never sending one (fetch
    /// leases that hold the CDN back).
    FalseLease,
}

impl MaliciousKind {
    pub const ALL: [MaliciousKind; 6] = [
        MaliciousKind::Corrupt,
        MaliciousKind::FlipBit,
        MaliciousKind::Lie,
        MaliciousKind::Stall,
        MaliciousKind::Garbage,
        MaliciousKind::Flood,
    ];

    /// The concrete kind of attacker number `i`.
    pub fn for_attacker(self, i: usize) -> MaliciousKind {
        match self {
            MaliciousKind::Mixed => Self::ALL[i % Self::ALL.len()],
            k => k,
        }
    }
}

/// One simulated swarm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SimConfig {
    /// Honest peers, all starting empty.
    pub peers: usize,
    /// Malicious peers added to them.
    pub malicious: usize,
    pub malicious_kind: MaliciousKind,
    pub file_size: u64,
    pub piece_size: u32,
    pub seed: u64,
    /// CDN bandwidth shared by all requests, bytes/s (FIFO).
    pub cdn_rate: u64,
    /// Upload bandwidth of each peer, bytes/s.
    pub peer_rate: u64,
    /// Honest peers join uniformly at random in [0, join_spread_secs].
    pub join_spread_secs: f64,
    /// When above 0: honest peer `i` joins at exactly `i ×` this many
    /// seconds instead (pages opened on a schedule, as the browser
    /// benchmarks open them); `join_spread_secs` is then ignored.
    pub join_every_secs: f64,
    /// Mean one-way latency of a peer link and of the CDN, ms (each link
    /// draws its own in [½, 1½] × this).
    pub latency_ms: u64,
    /// Probability that a message is lost once and retransmitted (reliable,
    /// ordered channels: loss shows up as delay, like SCTP).
    pub loss: f64,
    /// Peers the tracker hands a joining peer.
    pub peers_wanted: usize,
    /// Stop after this much virtual time.
    pub max_virtual_secs: u64,
    /// Stop after this many events (a livelock guard).
    pub max_events: u64,
    /// Engine tunables for honest peers (`uploadRate` 0 here means 90 % of
    /// `peerRate`: a cap equal to the link rate would keep the simulated
    /// uplink saturated, its queue growing with every control message).
    pub engine: EngineConfig,
    /// Honest peers download in mode 0 (HTTP only, every piece verified):
    /// the CDN-only baseline of the browser benchmarks.
    pub cdn_only: bool,
    /// Honest peers download in mode 1 (LAN: peers behind one external
    /// address, whose link to the CDN they share — the simulator's one CDN
    /// link) instead of mode 3 (Internet). Ignored with `cdn_only`.
    pub lan: bool,
    /// What work costs a node (store and read latency, CPU per message and
    /// per byte, shared cores) and how the CDN link is shared; all off by
    /// default.
    pub costs: Costs,
    /// The array pushes each member its share of the CDN's work
    /// (`ServerMessage::Share`; false: an array without shares).
    pub array_shares: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            peers: 8,
            malicious: 0,
            malicious_kind: MaliciousKind::Corrupt,
            file_size: 64 << 20,
            piece_size: 1 << 20,
            seed: 1,
            cdn_rate: 20_000_000,
            peer_rate: 5_000_000,
            join_spread_secs: 0.0,
            join_every_secs: 0.0,
            latency_ms: 20,
            loss: 0.0,
            peers_wanted: 16,
            max_virtual_secs: 24 * 3600,
            max_events: 200_000_000,
            // The simulator hashes on a second thread (`hasher`).
            engine: EngineConfig {
                hash_outside: true,
                ..EngineConfig::default()
            },
            cdn_only: false,
            lan: false,
            costs: Costs::default(),
            array_shares: true,
        }
    }
}

impl SimConfig {
    /// Issue 11's attack scenario (tests/attacks.rs, examples/issue11.rs):
    /// 8 honest peers, an 8 MiB file in 128 KiB pieces, `malicious`
    /// attackers of `kind`, and a browser-sized connection table (the
    /// client's default of 8) that eight attackers could fill.
    pub fn attack_swarm(seed: u64, malicious: usize, kind: MaliciousKind) -> Self {
        let mut cfg = SimConfig {
            peers: 8,
            malicious,
            malicious_kind: kind,
            file_size: 8 << 20,
            piece_size: 128 << 10,
            seed,
            ..SimConfig::default()
        };
        cfg.engine.max_peers = 8;
        cfg
    }
}

/// Why a run stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum StopReason {
    /// Every honest peer finished.
    Completed,
    /// Nothing left to happen but some honest peer is not finished.
    Idle,
    TimeLimit,
    EventLimit,
}

/// The outcome of a run (docs/api.md's fields first).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SimReport {
    pub peers: usize,
    pub malicious: usize,
    /// Honest peers that finished with every piece verified and intact.
    pub completed: usize,
    /// Pieces stored by an honest peer whose bytes differ from the file (must be 0).
    pub corrupt_pieces_accepted: u64,
    /// Malicious peers banned by at least one honest peer.
    pub malicious_banned: usize,
    /// Bans of honest peers by honest peers (must be 0).
    pub honest_banned: u64,
    pub cdn_bytes: u64,
    /// Piece bytes honest peers received from other peers (incl. attackers).
    pub peer_bytes: u64,
    pub file_size: u64,
    /// Virtual time when the run stopped.
    pub virtual_seconds: f64,
    /// `cdnBytes / fileSize` (ideal 1.0 when all start empty).
    pub cdn_copies: f64,
    /// Pieces rejected by honest peers (bad hash).
    pub pieces_rejected: u64,
    /// Malicious peers that got at least one bad piece rejected.
    pub malicious_sent_bad_data: usize,
    /// (honest, attacker) pairs where the honest peer rejected at least
    /// `strikeLimit` bad pieces from the attacker but did not ban it (must be 0).
    pub unbanned_repeat_offenders: u64,
    /// Virtual seconds until the last honest peer finished (None if one did not).
    pub last_finish_seconds: Option<f64>,
    /// The longest time one honest peer took, from its join to its finish
    /// (the browser benchmarks' "last page"; None if one did not finish).
    pub slowest_peer_seconds: Option<f64>,
    /// The mean of those times (None if a peer did not finish).
    pub mean_peer_seconds: Option<f64>,
    pub events: u64,
    pub stop_reason: StopReason,
}
