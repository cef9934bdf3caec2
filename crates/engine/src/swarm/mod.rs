//! The P2P (and HTTP-only-with-metadata) download: pieces from peers and the
//! CDN, each verified against the metadata before it is stored, announced or
//! served.
//!
//! Submodules, one concern each: [`pieces`] (piece states, rarest-first
//! picker), [`peer`] (per-peer state), [`downloads`] (our requests to a
//! peer and their receive buffers), [`inbound`] (messages from peers),
//! [`download`] (whom to ask for what, stalls, endgame), [`http`] (the CDN),
//! [`http_runs`] (how many pieces one CDN request covers),
//! [`http_stream`] (its answers, piece by piece), [`lease`] (peers' fetch
//! leases: pieces they are fetching from the CDN), [`rate`] (download-rate
//! meter for the minimum-QoS rule), [`race`] (the CDN's and the peers'
//! throughputs, for the CDN race), [`slots`] (whom to dial, who may hold a
//! connection slot), [`upload`] (serving verified pieces fairly under a rate
//! cap), [`local`] (the local cache, the upload budget, the background share).
//!
//! Every input runs `tick` afterwards, which checks stalls and fills request
//! pipelines, HTTP slots and uploads; so outputs always reflect the latest state.

mod download;
mod downloads;
mod http;
mod http_runs;
mod http_stream;
mod inbound;
mod lease;
mod local;
mod peer;
mod pieces;
mod race;
pub(crate) mod rate;
pub(crate) mod share;
mod slots;
mod stored;
mod upload;
mod verify;

use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};

use edgeswarm_protocol::wire::{self, Bitfield, Message, PROTOCOL_VERSION};
use edgeswarm_protocol::Metadata;
use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;

use crate::config::EngineConfig;
use crate::store_gate::StoreGate;
use crate::types::{BanReason, Event, Input, Layout, Millis, Output, PeerKey, Source, Stats};
use peer::{Peer, Phase};
use pieces::PieceTable;

pub(crate) struct Swarm {
    cfg: EngineConfig,
    meta: Metadata,
    meta_sha256: [u8; 32],
    /// False in HTTP-only mode: no peers at all.
    p2p: bool,
    pieces: PieceTable,
    peers: BTreeMap<PeerKey, Peer>,
    banned: HashSet<PeerKey>,
    /// Peers disconnected for holding a slot uselessly (see `slots`).
    evicted: slots::Evicted,
    candidates: VecDeque<PeerKey>,
    /// Peers we asked the glue to connect to, and since when.
    dialing: BTreeMap<PeerKey, Millis>,
    /// Peers whose request pipelines need a look (see `schedule_peers`).
    dirty: BTreeSet<PeerKey>,
    /// All pipelines need a look.
    all_dirty: bool,
    http: http::HttpState,
    /// The CDN's and the peers' throughputs (the CDN race).
    race: race::Race,
    /// Pieces some peer has leased (`lease`): each at most once per download.
    leased_once: peer::PieceSet,
    /// The array's division of the CDN's work (`share`).
    share: share::ShareState,
    upload: upload::UploadState,
    /// What the local host allows to upload (`Input::UploadBudget`).
    upload_budget: Option<u64>,
    /// Background share of the download rate (`Input::Background`).
    background: local::Background,
    /// Verified pieces storage has not confirmed (back-pressure, `Done`).
    store: StoreGate,
    /// Pieces the glue is hashing (`EngineConfig::hash_outside`).
    hashing: verify::Hashing,
    rng: ChaCha8Rng,
    out: VecDeque<Output>,
    stats: Stats,
    done: bool,
    now: Millis,
}

impl Swarm {
    pub fn new(
        cfg: EngineConfig,
        meta: Metadata,
        meta_sha256: [u8; 32],
        p2p: bool,
        now: Millis,
        seed: u64,
    ) -> Self {
        let pieces = PieceTable::new(meta.piece_count());
        let http_start = if p2p {
            now.plus(u64::from(cfg.http_delay_secs) * 1000)
        } else {
            now
        };
        let stats = Stats {
            bytes_left: meta.file_size(),
            ..Stats::default()
        };
        let mut s = Self {
            http: http::HttpState::new(
                http_start,
                p2p.then(|| now.plus(cfg.discovery_grace_ms)),
                now,
            ),
            race: race::Race::new(now, u64::from(meta.piece_size().get())),
            leased_once: peer::PieceSet::new(meta.piece_count()),
            share: share::ShareState::new(meta.piece_count()),
            upload: upload::UploadState::new(now),
            upload_budget: None,
            background: local::Background::default(),
            store: StoreGate::new(cfg.max_unstored_bytes),
            hashing: verify::Hashing::default(),
            cfg,
            meta,
            meta_sha256,
            p2p,
            pieces,
            peers: BTreeMap::new(),
            banned: HashSet::new(),
            evicted: slots::Evicted::default(),
            candidates: VecDeque::new(),
            dialing: BTreeMap::new(),
            dirty: BTreeSet::new(),
            all_dirty: true,
            rng: ChaCha8Rng::seed_from_u64(seed),
            out: VecDeque::new(),
            stats,
            done: false,
            now,
        };
        s.finish();
        s.tick();
        s
    }

    pub fn handle(&mut self, now: Millis, input: Input) {
        // A share in an array too small to use it changes nothing (`share`).
        if let Input::ArrayShare { rank, members } = input {
            let used = self.share_used();
            self.on_share(rank, members, now.max(self.now));
            if !used && !self.share_used() {
                return;
            }
        }
        let later = now > self.now;
        self.now = self.now.max(now);
        // A write's answer that releases no request changes no decision.
        if let Input::PieceStored { piece } = input {
            if !self.on_stored(piece) && !later {
                return;
            }
        }

        self.account_windows();
        // Block and Have messages only concern their sender's pipeline
        // (inbound marks it); everything else may change any pipeline.
        if !matches!(input, Input::PeerData { .. }) {
            self.all_dirty = true;
        }
        match input {
            Input::PeerCandidates(list) => self.on_candidates(list),
            Input::ArrayShare { .. } => {}
            Input::PeerConnected { peer } => self.on_connected(peer),
            Input::PeerData { peer, bytes } => self.on_peer_data(peer, &bytes),
            Input::PeerMisbehaved { peer, reason } => {
                self.ban(peer, BanReason::ProtocolViolation(reason));
            }
            Input::PeerGone { peer } => {
                self.dialing.remove(&peer);
                self.remove_peer(peer);
            }
            Input::HttpResponse { id, status, body } => self.on_http_response(id, status, body),
            Input::HttpHead { id, status } => self.on_http_head(id, status),
            Input::HttpData { id, bytes } => self.on_http_data(id, bytes),
            Input::HttpEnd { id } | Input::HttpFailed { id } => self.on_http_end(id),
            Input::PieceRead { piece, bytes } => self.on_piece_read(piece, bytes),
            Input::PieceReadFailed { piece } => self.on_piece_read_failed(piece),
            Input::PieceStored { .. } => {}
            Input::PieceStoreFailed { piece } => self.on_store_failed(piece),
            Input::PiecesFromCache { pieces } => self.on_cached(pieces),
            Input::UploadBudget { bytes } => self.set_upload_budget(bytes),
            Input::Background { on } => self.background.on = on,
            Input::PieceHashed { job, sha256 } => self.on_hashed(job, &sha256),
            Input::Timeout => {}
        }
        self.tick();
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    pub fn stats(&self) -> Stats {
        let mut s = self.stats.clone();
        s.peers_connected = self
            .peers
            .values()
            .filter(|p| p.phase == Phase::Ready)
            .count() as u64;
        s
    }

    pub fn is_done(&self) -> bool {
        self.done || self.store.failed()
    }

    pub fn layout(&self) -> Layout {
        Layout {
            file_size: self.meta.file_size(),
            piece_size: u64::from(self.meta.piece_size().get()),
        }
    }

    /// Earliest future time at which a timer-driven decision is due.
    pub fn poll_timeout(&self) -> Option<Millis> {
        let now = self.now;
        let dial = self
            .dialing
            .values()
            .map(|t| t.plus(self.cfg.connect_timeout_ms))
            .min();
        [
            self.download_deadline(),
            self.http_deadline(),
            self.upload_deadline(),
            self.background_recheck(),
            dial,
        ]
        .into_iter()
        .flatten()
        .filter(|t| *t > now)
        .min()
    }

    fn tick(&mut self) {
        self.race.cdn.record(self.now, self.stats.bytes_from_http);
        self.race
            .peers
            .record(self.now, self.stats.bytes_from_peers);
        self.check_stalls();
        self.evict_idle();
        self.dial();
        self.measure_background();
        self.schedule_peers();
        self.schedule_http();
        self.pump_uploads();
        self.race.cdn.set_busy(!self.http.in_flight.is_empty());
        let peers_busy = self.peers.values().any(|p| !p.downloads.is_empty());
        self.race.peers.set_busy(peers_busy);
        // Connected peers only: a connection still being set up is not yet
        // a peer that fails to deliver.
        self.race.note_peers(self.now, !self.peers.is_empty());
    }

    fn event(&mut self, e: Event) {
        self.out.push_back(Output::Event(e));
    }

    fn send(&mut self, peer: PeerKey, msg: &Message) {
        self.out.push_back(Output::SendToPeer {
            peer,
            bytes: wire::encode(msg),
        });
    }

    fn on_connected(&mut self, k: PeerKey) {
        let dialed = self.dialing.remove(&k).is_some();
        if self.peers.contains_key(&k) {
            return;
        }
        // Inbound peers may not take the slots reserved for dialled ones.
        let full = !dialed && self.p2p && !self.admit_inbound();
        if !self.p2p || self.banned.contains(&k) || full {
            self.out.push_back(Output::DisconnectPeer { peer: k });
            return;
        }
        let mut peer = Peer::new(self.pieces.len(), self.now);
        peer.dialed = dialed;
        self.peers.insert(k, peer);
        let hs = Message::Handshake {
            version: PROTOCOL_VERSION,
            content_id: self.meta.content_id().clone(),
            metadata_sha256: self.meta_sha256,
        };
        self.send(k, &hs);
        let mut have = Bitfield::new(self.pieces.len());
        for p in self.meta.pieces() {
            if self.pieces.is_verified(p) {
                have.set(p.get());
            }
        }
        self.send(k, &Message::Bitfield(have.as_bytes().to_vec()));
    }

    /// Forgets a peer: its in-flight pieces become available to others.
    fn remove_peer(&mut self, k: PeerKey) -> bool {
        let Some(peer) = self.peers.remove(&k) else {
            return false;
        };
        self.all_dirty = true;
        for &p in peer.downloads.keys() {
            self.pieces.end_attempt(p, Source::Peer(k));
        }
        if peer.phase == Phase::Ready {
            for p in peer.has.ones().filter_map(|p| self.meta.piece(p)) {
                self.pieces.remove_availability(p);
            }
        }
        true
    }

    /// Disconnects `k` for good (this download never talks to it again).
    fn ban(&mut self, k: PeerKey, reason: BanReason) {
        if !self.banned.insert(k) {
            return;
        }
        self.remove_peer(k);
        self.stats.peers_banned += 1;
        self.out.push_back(Output::DisconnectPeer { peer: k });
        self.event(Event::PeerBanned { peer: k, reason });
    }

    /// Disconnects `k` without banning it (e.g. it serves other content).
    fn drop_peer(&mut self, k: PeerKey) {
        if self.remove_peer(k) {
            self.out.push_back(Output::DisconnectPeer { peer: k });
        }
    }

    /// One strike; bans at the configured limit.
    fn strike(&mut self, k: PeerKey, reason: BanReason) {
        let limit = self.cfg.strike_limit.max(1);
        let Some(peer) = self.peers.get_mut(&k) else {
            return;
        };
        peer.strikes += 1;
        if peer.strikes >= limit {
            self.ban(k, reason);
        }
    }
}
