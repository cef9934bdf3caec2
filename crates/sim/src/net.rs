//! The simulated network: a virtual-time event queue, peer links and the CDN.
//!
//! Model (all deterministic given the seed):
//! - each node has one uplink of `peer_rate` bytes/s; messages leave it in
//!   FIFO order (serialization delay = size / rate); downlinks are unlimited;
//! - a link between two nodes has a one-way latency drawn once per pair in
//!   [½, 1½] × `latency_ms`;
//! - data channels are reliable and ordered: a "lost" message is retransmitted
//!   after one extra round trip, and later messages on that link wait for it
//!   (head-of-line blocking);
//! - the CDN link is `crate::cdn`'s (FIFO or shared), one mean latency
//!   away from every node;
//! - what receiving and sending costs a node's CPU is `crate::cpu`'s.
//!
//! Time is in microseconds; the engines see milliseconds.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use rand_chacha::ChaCha8Rng;
use rand_core::Rng;

/// Virtual time in microseconds.
pub type Micros = u64;

/// Something that happens at a virtual time.
#[derive(Debug)]
pub enum Ev {
    Join(usize),
    /// The array pushes its members' shares (`world::share`).
    SharePush,
    /// A message arrives at `to` over connection generation `gen`.
    Deliver {
        from: usize,
        to: usize,
        gen: u64,
        bytes: Vec<u8>,
    },
    /// Signalling done: open a channel between `a` (who asked) and `b`.
    Connect {
        a: usize,
        b: usize,
    },
    /// `to` learns that its channel to `peer` closed.
    Gone {
        to: usize,
        peer: usize,
    },
    /// The last byte of a CDN response reaches `node` (its bytes are
    /// copied from the file only now, so a long CDN queue holds no bytes).
    Http {
        node: usize,
        id: edgeswarm_engine::HttpRequestId,
        range: std::ops::Range<u64>,
    },
    /// The digest of hash job `ticket` reaches `node` (engine job `job`).
    Hashed {
        node: usize,
        job: edgeswarm_engine::HashJob,
        ticket: u64,
    },
    /// Shared CDN model: a range request reaches the CDN.
    CdnJoin {
        node: usize,
        id: edgeswarm_engine::HttpRequestId,
        range: std::ops::Range<u64>,
    },
    /// Shared CDN model: the next transfer may have ended (ignored unless
    /// `gen` is still the CDN's generation).
    CdnTick {
        gen: u64,
    },
    /// A stored piece has been read back for `node` (`Costs::read_us`).
    Read {
        node: usize,
        piece: u32,
    },
    /// `node`'s thread has done the work of `input` (`Costs`): the engine
    /// gets it now. `gen`: the connection a peer message came over, checked
    /// again (the channel may have closed meanwhile).
    Input {
        node: usize,
        other: usize,
        gen: Option<u64>,
        input: edgeswarm_engine::Input,
    },
    /// A drip attacker's next byte of `piece` for `victim` is due.
    Drip {
        attacker: usize,
        victim: usize,
        piece: u32,
    },
    /// The engine timer of `node` set for `at_ms`.
    Timer {
        node: usize,
        at_ms: u64,
    },
}

struct Queued {
    at: Micros,
    seq: u64,
    ev: Ev,
}

impl PartialEq for Queued {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Queued {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(o.at, o.seq))
    }
}

/// Event queue ordered by (time, insertion order): ties resolve deterministically.
#[derive(Default)]
pub struct Queue {
    heap: BinaryHeap<Reverse<Queued>>,
    seq: u64,
}

impl Queue {
    pub fn push(&mut self, at: Micros, ev: Ev) {
        self.seq += 1;
        self.heap.push(Reverse(Queued {
            at,
            seq: self.seq,
            ev,
        }));
    }

    pub fn pop(&mut self) -> Option<(Micros, Ev)> {
        self.heap.pop().map(|Reverse(q)| (q.at, q.ev))
    }
}

/// Links, uplinks and the CDN.
pub struct Net {
    pub latency_us: u64,
    pub loss: f64,
    pub peer_rate: u64,
    seed: u64,
    up_free: Vec<Micros>,
    last_arrival: HashMap<(usize, usize), Micros>,
    /// Open channels: ordered pair → generation.
    conns: HashMap<(usize, usize), u64>,
    next_gen: u64,
}

fn pair(a: usize, b: usize) -> (usize, usize) {
    (a.min(b), a.max(b))
}

/// SplitMix64 finalizer: a fixed mixing function (per-pair latency from the seed).
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Net {
    pub fn new(nodes: usize, latency_ms: u64, loss: f64, peer_rate: u64, seed: u64) -> Self {
        Self {
            latency_us: latency_ms * 1000,
            loss,
            peer_rate: peer_rate.max(1),
            seed,
            up_free: vec![0; nodes],
            last_arrival: HashMap::new(),
            conns: HashMap::new(),
            next_gen: 0,
        }
    }

    /// One-way latency of the link a–b.
    pub fn latency(&self, a: usize, b: usize) -> Micros {
        let (x, y) = pair(a, b);
        let h = mix(self.seed ^ mix((x as u64) << 32 | y as u64));
        self.latency_us / 2 + h % (self.latency_us + 1)
    }

    pub fn conn(&self, a: usize, b: usize) -> Option<u64> {
        self.conns.get(&pair(a, b)).copied()
    }

    pub fn open(&mut self, a: usize, b: usize) -> u64 {
        self.next_gen += 1;
        self.conns.insert(pair(a, b), self.next_gen);
        self.next_gen
    }

    pub fn close(&mut self, a: usize, b: usize) -> bool {
        self.conns.remove(&pair(a, b)).is_some()
    }

    /// Arrival time of a message sent now from `from` to `to`.
    pub fn transmit(
        &mut self,
        now: Micros,
        from: usize,
        to: usize,
        size: usize,
        rng: &mut ChaCha8Rng,
    ) -> Micros {
        let tx = (size as u64).saturating_mul(1_000_000) / self.peer_rate;
        let depart = self.up_free[from].max(now) + tx;
        self.up_free[from] = depart;
        let lat = self.latency(from, to);
        let mut arrive = depart + lat;
        if self.loss > 0.0 {
            // Each loss costs one retransmission round trip.
            while (rng.next_u64() as f64 / u64::MAX as f64) < self.loss.min(0.9) {
                arrive += 2 * lat;
            }
        }
        let last = self.last_arrival.entry((from, to)).or_insert(0);
        arrive = arrive.max(*last);
        *last = arrive;
        arrive
    }
}
