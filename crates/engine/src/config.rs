//! Engine configuration: every tunable, with defaults, deserializable from the
//! bootstrap (`GET /do/v1/kv`) JSON in camelCase. Missing fields take defaults.

use serde::{Deserialize, Serialize};

/// Tunables of one download. `Default` gives the values documented per field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EngineConfig {
    /// Bad pieces (or stalls, or lies) after which a peer is banned. Default 2.
    pub strike_limit: u32,
    /// DO's "delay download from HTTP": seconds after start before the CDN is
    /// used at all in P2P mode. Default 0.
    pub http_delay_secs: u32,
    /// Most connected peers. Default 32.
    pub max_peers: usize,
    /// Fewest whole-piece requests kept in flight per peer. Default 2.
    pub min_requests_per_peer: usize,
    /// Most whole-piece requests in flight per peer (capped by the protocol's
    /// 32). Default 8.
    pub max_requests_per_peer: usize,
    /// The request pipeline of a peer holds about this many milliseconds of
    /// its measured throughput. Default 1000.
    pub pipeline_ms: u64,
    /// Most concurrent CDN range requests when no peer can help. Default 2.
    pub http_concurrency: usize,
    /// HTTP-only mode: most consecutive missing pieces one CDN range request
    /// covers (its body is verified and stored piece by piece as it streams,
    /// so memory stays about one piece per request). Requests shrink towards
    /// the end so that every slot stays busy. In P2P mode only the CDN race
    /// and an owner's fetch ask runs (held to the race's slow start); other
    /// P2P requests, and simple mode's, ask one piece (chunk). Default 16;
    /// 0 counts as 1.
    pub http_max_range_pieces: usize,
    /// When peers are connected but none can serve anything useful, wait a
    /// random time of up to this many ms per connected peer before asking the
    /// CDN (so that one copy, not one per peer, comes from HTTP). Default 100.
    pub http_patience_ms_per_peer: u64,
    /// First HTTP retry delay, doubled per consecutive failure. Default 500.
    pub http_backoff_ms: u64,
    /// Longest HTTP retry delay. Default 30000.
    pub http_backoff_max_ms: u64,
    /// Upload cap in bytes per second, shared fairly by requesters; 0 = none.
    /// Default 0.
    pub upload_rate: u64,
    /// A peer with requests in flight that sends nothing for this long is
    /// stalled: one strike, its requests go elsewhere. Default 20000. (A
    /// peer that sends a byte now and then is not stalled but slow: see
    /// `min_request_bps`.)
    pub stall_timeout_ms: u64,
    /// A single piece request older than this is cancelled and reassigned
    /// (no strike: the holder is slow). An HTTP range request unanswered
    /// this long (doubled per consecutive HTTP failure) is given up and
    /// retried. Default 120000.
    pub slow_piece_timeout_ms: u64,
    /// After a stall or a busy answer, no new requests go to that peer for
    /// this long. Default 5000.
    pub snub_ms: u64,
    /// Endgame starts when no piece is unassigned and at most this many are
    /// in flight: idle sources then duplicate in-flight pieces. Default 4.
    pub endgame_pieces: usize,
    /// Pieces kept in memory for serving. Default 8.
    pub upload_cache_pieces: usize,
    /// Requests queued for upload, all requesters together, before new ones
    /// are answered Busy. (Per requester the protocol caps unanswered
    /// requests at 32; more is a flood and bans.) Default 128.
    pub upload_queue_total: usize,
    /// A `ConnectPeer` hint the glue has not answered (connected or gone)
    /// within this many ms stops counting as a pending connection; a connected
    /// peer that has not sent its handshake and bitfield this many ms after
    /// its channel opened is disconnected (not banned). Default 15000.
    pub connect_timeout_ms: u64,
    /// P2P mode: longest wait for the first `PeerCandidates` input before
    /// the CDN may be used. Default 3000.
    pub discovery_grace_ms: u64,
    /// Range size for simple mode (no metadata). Default 1 MiB.
    pub simple_chunk_size: u32,
    /// DO's "minimum download QoS", bytes per second; 0 = off. In P2P mode,
    /// once the download has run for one measuring window (3 s) and the
    /// HTTP delay and discovery grace are over, a download rate (peers + CDN)
    /// below this lets the CDN run up to `http_concurrency` requests, even
    /// while peers are downloading: for the pieces no peer holds first, then
    /// for any missing piece, those in flight at peers too (a peer that
    /// holds every piece and sends each slowly, above the drip floor, must
    /// not keep them from the CDN; leases are ignored too).
    /// The bootstrap's `httpDelay.minDownloadBytesPerSecond`. Default 0.
    pub min_download_bps: u64,
    /// DO's `DOPercentageMaxBackgroundBandwidth`: while the download is in
    /// the background (`Input::Background`), no new request (peer or CDN)
    /// starts while the download rate is at or above this percentage of the
    /// highest rate measured; 0 = no limit. The bootstrap's
    /// `background.downloadPercent`. Default 0.
    pub background_download_percent: u8,
    /// Drip defence (libtorrent's snubbing and parole): the floor, in accepted
    /// piece bytes per second per outstanding request (per request-second),
    /// a peer must deliver. A peer below it (measured after a quarter of
    /// `slow_window_ms` of request time) gets no new requests and no longer
    /// holds its pieces or the CDN back: others (peers, CDN) may fetch them
    /// too. A peer whose window closes below it loses its requests
    /// (cancelled, reassigned, snubbed for `snub_ms`); the second and every
    /// further consecutive such window is also a strike. 0 = off.
    /// Default 2048 (a trickle of one byte per 19 s is far below; an honest
    /// peer serving eight requests at 16 KiB/s is far above).
    pub min_request_bps: u64,
    /// Length of the drip defence's measuring window, ms. Default 10000.
    pub slow_window_ms: u64,
    /// Connection slots only peers this client dialled may take: inbound
    /// connections are refused once `max_peers` minus these are inbound, so
    /// peers that connect to us cannot take every slot. At most half of
    /// `max_peers`. Default 8.
    pub dialed_peer_slots: usize,
    /// Under slot pressure (every slot taken while candidates wait, or an
    /// inbound peer finding no free slot), a connected peer that has for
    /// this long neither announced a piece we lack, delivered accepted
    /// bytes, nor asked us for a piece is disconnected (not banned) and not
    /// dialled again. Default 3000.
    pub idle_peer_ms: u64,
    /// Storage back-pressure: while verified pieces handed to storage
    /// (`StorePiece`) and not yet confirmed (`PieceStored`) add up to this
    /// many bytes, no new peer or CDN request starts (bytes already in
    /// flight still arrive). Bounds the memory a slow disk lets pile up.
    /// 0 = no limit. Default 8 MiB.
    pub max_unstored_bytes: u64,
    /// The CDN race (P2P mode): once the CDN's and the peers' throughputs
    /// are both measured (each while it had requests in flight), the CDN
    /// runs much as in HTTP-only mode — `http_concurrency` ranges of up to
    /// `http_max_range_pieces` consecutive missing pieces, no patience wait,
    /// but no new request while its bytes still to come reach what it
    /// carries in 4 s, and no run longer than one piece more than the CDN
    /// has delivered (verified) so far — alongside the peers while the peers' rate is below
    /// `100 / http_race_percent` of the CDN's, i.e. while P2P alone would
    /// take more than `http_race_percent` % of the CDN-alone time. DO's
    /// minimum-QoS idea for a fast CDN: peers never make the download much
    /// slower than HTTP would be. 0 = off. Default 120.
    pub http_race_percent: u64,
    /// In an array larger than `max_peers`, the race too takes only the
    /// pieces the array's share gives this client (`swarm::share`) until
    /// the orphan wait (4 s) has passed, and the time the race would run counts
    /// toward that wait: fewer CDN copies at scale, at the price of up to
    /// that wait beyond the race's bound when members hold pieces back.
    /// `None` (the default) decides by the download mode: on in LAN mode
    /// (`DownloadMode::Lan`, 1), off in the others. A LAN array's members
    /// are behind one external address (their tickets are bound to it), so
    /// they usually share its link to the CDN, where one page's race takes
    /// link from the others (docs/architecture.md, "The array's share of
    /// the CDN's work"); a Sybil member must be behind the same address (a
    /// carrier's NAT counts). Elsewhere the race ignores the share: a page
    /// cannot tell a CDN shared by the members from one that serves each at
    /// full speed.
    pub race_follows_share: Option<bool>,
    /// The glue hashes received pieces: instead of computing a piece's
    /// SHA-256 itself, the engine emits `Output::HashPiece` and decides on
    /// `Input::PieceHashed` (so the glue can hash on another thread, or
    /// with WebCrypto). The engine still compares the digest with the
    /// metadata's; it never takes a verdict. Default false.
    pub hash_outside: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            strike_limit: 2,
            http_delay_secs: 0,
            max_peers: 32,
            min_requests_per_peer: 2,
            max_requests_per_peer: 8,
            pipeline_ms: 1000,
            http_concurrency: 2,
            http_max_range_pieces: 16,
            http_patience_ms_per_peer: 100,
            http_backoff_ms: 500,
            http_backoff_max_ms: 30_000,
            upload_rate: 0,
            stall_timeout_ms: 20_000,
            slow_piece_timeout_ms: 120_000,
            snub_ms: 5_000,
            endgame_pieces: 4,
            upload_cache_pieces: 8,
            upload_queue_total: 128,
            connect_timeout_ms: 15_000,
            discovery_grace_ms: 3_000,
            simple_chunk_size: 1024 * 1024,
            min_download_bps: 0,
            background_download_percent: 0,
            min_request_bps: 2048,
            slow_window_ms: 10_000,
            dialed_peer_slots: 8,
            idle_peer_ms: 3_000,
            max_unstored_bytes: 8 * 1024 * 1024,
            http_race_percent: 120,
            race_follows_share: None,
            hash_outside: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_json_keeps_defaults() {
        let c: EngineConfig =
            serde_json::from_str(r#"{"strikeLimit":3,"httpDelaySecs":10}"#).unwrap();
        assert_eq!(c.strike_limit, 3);
        assert_eq!(c.http_delay_secs, 10);
        assert_eq!(c.max_peers, EngineConfig::default().max_peers);
        assert_eq!(c.race_follows_share, None);
        let c: EngineConfig = serde_json::from_str(r#"{"raceFollowsShare":false}"#).unwrap();
        assert_eq!(c.race_follows_share, Some(false));
    }
}
