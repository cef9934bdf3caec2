//! The event loop: honest nodes run the real engine, attackers run scripts,
//! and the network delivers their messages in virtual time. Submodules:
//! `effects` (what an engine's outputs do), `scripts` (attackers' inputs
//! and drip bytes), `flow` (messages, CDN responses and reads on their way
//! into a node, through its CPU: [`crate::Costs`]).

use std::sync::Arc;

use edgeswarm_engine::{Content, Engine, Input, Millis, PeerKey};
use edgeswarm_protocol::{sha256, ContentId, Metadata, MetadataBuilder, PieceSize};
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

use crate::attacker::Attacker;
use crate::cdn::Cdn;
use crate::config::{SimConfig, SimReport, StopReason};
use crate::cpu::Cpu;
use crate::net::{Ev, Micros, Net, Queue};
use crate::node::Honest;

mod effects;
mod flow;
mod scripts;
mod share;

/// Largest simulated file (it is generated and kept in memory once).
pub const MAX_FILE_SIZE: u64 = 4 << 30;

/// Why a configuration cannot be simulated.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("invalid piece size: {0}")]
    PieceSize(#[from] edgeswarm_protocol::PieceSizeError),
    #[error("invalid metadata: {0}")]
    Metadata(#[from] edgeswarm_protocol::MetadataError),
    #[error("need at least one honest peer")]
    NoPeers,
    #[error("file size {0} is above the simulator's limit of 4 GiB (it holds the file in memory)")]
    FileTooLarge(u64),
    #[error("invalid simulation parameter: {0}")]
    Invalid(&'static str),
}

/// Most simulated peers, honest and malicious together.
pub const MAX_NODES: usize = 100_000;
/// Longest mean link latency, ms (keeps virtual-time arithmetic far from overflow).
pub const MAX_LATENCY_MS: u64 = 3_600_000;
/// Longest join spread, seconds.
pub const MAX_JOIN_SPREAD_SECS: f64 = 1e7;

pub(crate) enum Node {
    Honest(Box<Honest>),
    Attacker(Attacker),
}

pub(crate) struct World {
    pub cfg: SimConfig,
    pub file: Arc<Vec<u8>>,
    /// Each piece's bytes, made on its first read-back and then handed to
    /// every engine that reads it (`Input::PieceRead` shares them: 300
    /// upload caches hold one copy of a piece, not 300).
    pub read_back: Vec<Option<Arc<[u8]>>>,
    pub meta: Metadata,
    pub meta_bytes: Vec<u8>,
    pub meta_sha: [u8; 32],
    pub nodes: Vec<Node>,
    pub joined: Vec<bool>,
    pub net: Net,
    pub cdn: Cdn,
    /// SHA-256 of received pieces, on a second thread.
    pub hasher: crate::hasher::Hasher,
    pub cpu: Cpu,
    pub queue: Queue,
    pub rng: ChaCha8Rng,
    pub now: Micros,
    pub cdn_bytes: u64,
    pub events: u64,
    pub finished: usize,
    /// The modelled array's share pushes (`share`).
    shares: share::ShareBook,
}

impl World {
    pub fn new(cfg: SimConfig) -> Result<Self, SimError> {
        if cfg.peers == 0 {
            return Err(SimError::NoPeers);
        }
        if cfg.file_size > MAX_FILE_SIZE {
            return Err(SimError::FileTooLarge(cfg.file_size));
        }
        if cfg.peers.saturating_add(cfg.malicious) > MAX_NODES {
            return Err(SimError::Invalid("more than 100000 peers in all"));
        }
        if cfg.latency_ms > MAX_LATENCY_MS {
            return Err(SimError::Invalid("latency above one hour"));
        }
        if !(0.0..=MAX_JOIN_SPREAD_SECS).contains(&cfg.join_spread_secs) {
            return Err(SimError::Invalid("join spread not in 0..=1e7 seconds"));
        }
        if !(0.0..=MAX_JOIN_SPREAD_SECS).contains(&cfg.join_every_secs) {
            return Err(SimError::Invalid("join interval not in 0..=1e7 seconds"));
        }
        if !(0.0..1.0).contains(&cfg.loss) {
            return Err(SimError::Invalid("loss not in [0, 1)"));
        }
        let piece_size = PieceSize::new(u64::from(cfg.piece_size))?;
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        let mut file = vec![0u8; usize::try_from(cfg.file_size).unwrap_or(usize::MAX)];
        rng.fill_bytes(&mut file);
        // "sim-content" is a valid content id (allowed characters only).
        let id = ContentId::new("sim-content").expect("constant id is valid");
        let mut b = MetadataBuilder::new(id, piece_size);
        b.update(&file);
        let meta = b.finish()?;
        let meta_bytes = meta.encode();
        let meta_sha = sha256(&meta_bytes);
        let total = cfg.peers + cfg.malicious;
        let net = Net::new(total, cfg.latency_ms, cfg.loss, cfg.peer_rate, cfg.seed);
        let mut w = Self {
            file: Arc::new(file),
            read_back: vec![None; meta.piece_count() as usize],
            meta,
            meta_bytes,
            meta_sha,
            nodes: Vec::with_capacity(total),
            joined: vec![false; total],
            net,
            cdn: Cdn::new(cfg.cdn_rate),
            hasher: crate::hasher::Hasher::new(),
            cpu: Cpu::new(total, cfg.costs.cpu_cores),
            queue: Queue::default(),
            rng,
            now: 0,
            cdn_bytes: 0,
            events: 0,
            finished: 0,
            shares: share::ShareBook::default(),
            cfg,
        };
        let spread_us = (w.cfg.join_spread_secs * 1e6) as u64;
        let every_us = (w.cfg.join_every_secs * 1e6) as u64;
        // Attackers are in the array first (queued first, they join first).
        for i in w.cfg.peers..total {
            w.queue.push(0, Ev::Join(i));
        }
        for i in 0..total {
            if i < w.cfg.peers {
                let at = if every_us > 0 {
                    every_us.saturating_mul(i as u64)
                } else if spread_us == 0 {
                    0
                } else {
                    w.rng.next_u64() % (spread_us + 1)
                };
                w.nodes
                    .push(Node::Honest(Box::new(Honest::new(w.meta.piece_count()))));
                w.queue.push(at, Ev::Join(i));
            } else {
                let kind = w.cfg.malicious_kind.for_attacker(i - w.cfg.peers);
                w.nodes.push(Node::Attacker(Attacker::new(kind)));
            }
        }
        Ok(w)
    }

    fn now_ms(&self) -> Millis {
        Millis(self.now / 1000)
    }

    pub fn run(mut self) -> SimReport {
        let max_us = self.cfg.max_virtual_secs.saturating_mul(1_000_000);
        let stop = loop {
            if self.finished == self.cfg.peers {
                break StopReason::Completed;
            }
            let Some((at, ev)) = self.queue.pop() else {
                break StopReason::Idle;
            };
            if at > max_us {
                break StopReason::TimeLimit;
            }
            self.events += 1;
            if self.events > self.cfg.max_events {
                break StopReason::EventLimit;
            }
            self.now = self.now.max(at);
            self.dispatch(ev);
        };
        crate::report::build(&self, stop)
    }

    fn dispatch(&mut self, ev: Ev) {
        match ev {
            Ev::Join(i) => self.join(i),
            Ev::SharePush => self.push_shares(),
            Ev::Deliver {
                from,
                to,
                gen,
                bytes,
            } => self.arrive(from, to, gen, bytes),
            Ev::Connect { a, b } => self.connect(a, b),
            Ev::Gone { to, peer } => {
                if self.net.conn(to, peer).is_none() {
                    self.deliver(
                        to,
                        Input::PeerGone {
                            peer: PeerKey(peer as u64),
                        },
                        peer,
                    );
                }
            }
            Ev::Http { node, id, range } => self.http_arrives(node, id, range),
            Ev::CdnJoin { node, id, range } => {
                self.cdn.join(self.now, node, id, range);
                self.schedule_cdn_tick();
            }
            Ev::CdnTick { gen } => self.cdn_tick(gen),
            Ev::Read { node, piece } => self.read_done(node, piece),
            Ev::Hashed { node, job, ticket } => {
                if let Some(sha256) = self.hasher.take(ticket) {
                    self.deliver(node, Input::PieceHashed { job, sha256 }, node);
                }
            }
            Ev::Input {
                node,
                other,
                gen,
                input,
            } => {
                if gen.is_none() || self.net.conn(other, node) == gen {
                    self.deliver(node, input, other);
                }
            }
            Ev::Drip {
                attacker,
                victim,
                piece,
            } => {
                if let Node::Attacker(att) = &mut self.nodes[attacker] {
                    if let Some(frame) = att.drip(victim, piece, &self.file, &self.meta) {
                        self.send(attacker, victim, frame);
                    }
                }
                self.schedule_drips(attacker);
            }
            Ev::Timer { node, at_ms } => {
                if let Node::Honest(h) = &mut self.nodes[node] {
                    if h.timer == Some(at_ms) {
                        h.timer = None;
                        self.drive(node, Input::Timeout);
                    }
                }
            }
        }
    }

    fn join(&mut self, i: usize) {
        self.joined[i] = true;
        let list = crate::tracker::peer_list(self, i);
        match &mut self.nodes[i] {
            Node::Honest(h) => {
                let mode = match (self.cfg.cdn_only, self.cfg.lan) {
                    (true, _) => edgeswarm_protocol::DownloadMode::HttpOnly,
                    (false, true) => edgeswarm_protocol::DownloadMode::Lan,
                    (false, false) => edgeswarm_protocol::DownloadMode::Internet,
                };
                let content = Content {
                    mode,
                    metadata: Some(self.meta_bytes.clone()),
                    metadata_sha256: Some(self.meta_sha),
                    p2p_allowed: true,
                    file_size: self.cfg.file_size,
                    file_sha256: None,
                };
                let mut ecfg = self.cfg.engine.clone();
                if ecfg.upload_rate == 0 {
                    // Below the link rate (see `SimConfig::engine`).
                    ecfg.upload_rate = (self.cfg.peer_rate / 10 * 9).max(1);
                }
                let seed = self.cfg.seed ^ ((i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
                h.engine = Some(Engine::new(ecfg, content, Millis(self.now / 1000), seed));
                h.joined_at = self.now;
                // The array's answer to the first report: the joiner's
                // share, then the ranked peer list.
                self.share_joined(i);
                self.drive(i, Input::PeerCandidates(list));
                // Attackers dial every honest peer that joins.
                for a in self.cfg.peers..self.nodes.len() {
                    if self.joined[a] {
                        let at = self.now + 2 * self.net.latency(a, i);
                        self.queue.push(at, Ev::Connect { a, b: i });
                    }
                }
            }
            Node::Attacker(_) => {
                self.share_joined(i);
                for b in 0..self.cfg.peers {
                    if self.joined[b] {
                        let at = self.now + 2 * self.net.latency(i, b);
                        self.queue.push(at, Ev::Connect { a: i, b });
                    }
                }
            }
        }
    }

    fn connect(&mut self, a: usize, b: usize) {
        if self.net.conn(a, b).is_some() {
            return;
        }
        if !self.joined[b] || !self.joined[a] {
            self.deliver(
                a,
                Input::PeerGone {
                    peer: PeerKey(b as u64),
                },
                b,
            );
            return;
        }
        self.net.open(a, b);
        self.deliver(
            a,
            Input::PeerConnected {
                peer: PeerKey(b as u64),
            },
            b,
        );
        if self.net.conn(a, b).is_some() {
            self.deliver(
                b,
                Input::PeerConnected {
                    peer: PeerKey(a as u64),
                },
                a,
            );
        }
    }

    /// Feeds an input to an honest engine and carries out everything it asks.
    pub(super) fn drive(&mut self, i: usize, input: Input) {
        let now_ms = self.now_ms();
        let mut pending = vec![input];
        while let Some(input) = pending.pop() {
            let Node::Honest(h) = &mut self.nodes[i] else {
                return;
            };
            let Some(engine) = h.engine.as_mut() else {
                return;
            };
            engine.handle_input(now_ms, input);
            while let Some(out) = self.honest_engine(i).and_then(Engine::poll_output) {
                if let Some(next) = self.carry_out(i, out) {
                    pending.push(next);
                }
            }
        }
        let Node::Honest(h) = &mut self.nodes[i] else {
            return;
        };
        let next = h.engine.as_ref().and_then(Engine::poll_timeout);
        if let Some(t) = next {
            if h.timer != Some(t.0) {
                h.timer = Some(t.0);
                self.queue.push(
                    t.0.saturating_mul(1000),
                    Ev::Timer {
                        node: i,
                        at_ms: t.0,
                    },
                );
            }
        }
    }

    fn honest_engine(&mut self, i: usize) -> Option<&mut Engine> {
        match &mut self.nodes[i] {
            Node::Honest(h) => h.engine.as_mut(),
            Node::Attacker(_) => None,
        }
    }
}
