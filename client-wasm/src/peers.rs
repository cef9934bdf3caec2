//! The glue's table of remote peers: array peer ids ↔ engine `PeerKey`s, one
//! [`RtcPeer`] per connection, and the ban list.
//!
//! Per peer: `Unknown → Connecting (offerer or answerer) → Open → Closed`.
//! - The engine's `ConnectPeer` makes us the offerer; an offer from the array
//!   makes us the answerer. If both sides offer at once ("glare"), the side
//!   with the smaller peer id keeps its offer and the other one answers.
//! - A banned peer is disconnected and never reconnected: its offers are
//!   ignored for the rest of the download. The ban holds its peer id *and*
//!   the DTLS certificate fingerprint of its description (`a=fingerprint`),
//!   so the same certificate under a new peer id is refused too (offers
//!   ignored; an answer closes our connection). Browsers that make a fresh
//!   certificate per connection evade the fingerprint half
//!   (docs/security.md).
//! - A message the transport refuses ([`RtcEvent::Violation`]) becomes
//!   `Input::PeerMisbehaved`: the engine bans, the table follows its ban.
//! - The table is bounded: it knows at most `max_connections +
//!   2 * MAX_PEERS_WANTED` peer ids (the engine's connections plus two
//!   peer-list answers); past that, the least recently used id without a
//!   connection is forgotten (a later `ConnectPeer` for its key fails with
//!   `PeerGone`). The ban lists keep their newest [`MAX_BANS`] entries.
//! - Every `RtcPeer` gets a generation number; events still queued from a
//!   replaced connection are ignored.
//! - The engine hears `PeerConnected` when a channel opens and `PeerGone`
//!   when a connection it knows of ends.

use std::collections::HashMap;
use std::rc::Rc;

use edgeswarm_engine::{Input, PeerKey};
use edgeswarm_protocol::array::{ClientMessage, PeerId, Signal, SignalKind, MAX_PEERS_WANTED};
use edgeswarm_protocol::rtc::{sdp_fingerprint, DtlsFingerprint};
use futures_channel::mpsc::UnboundedSender;

use banlist::BanList;

use crate::array_ws::ArraySocket;
use crate::rtc::{Role, RtcEvent, RtcOptions, RtcPeer};
use crate::session::Ev;

mod banlist;
#[cfg(all(test, target_arch = "wasm32"))]
mod tests;

/// Most banned peer ids, and most banned fingerprints, remembered.
pub const MAX_BANS: usize = 256;

/// Where a connection's events go: (peer key, connection generation, event).
pub type RtcSink = Rc<dyn Fn(PeerKey, u64, RtcEvent)>;

/// What the table knows of one peer id.
struct Known {
    id: PeerId,
    /// From its last accepted offer or answer.
    fingerprint: Option<DtlsFingerprint>,
    /// Use counter value at the last lookup (least recently used goes first).
    last_use: u64,
}

struct Conn {
    rtc: RtcPeer,
    role: Role,
    generation: u64,
    open: bool,
    /// The engine asked for it or saw it open, so it must hear `PeerGone`.
    engine_knows: bool,
}

/// Remote peers of this download.
pub struct PeerTable {
    me: Option<PeerId>,
    keys: HashMap<PeerId, PeerKey>,
    known: HashMap<PeerKey, Known>,
    capacity: usize,
    uses: u64,
    next_key: u64,
    next_generation: u64,
    conns: HashMap<PeerKey, Conn>,
    banned_ids: BanList<PeerId>,
    banned_fingerprints: BanList<DtlsFingerprint>,
    max_connections: usize,
    options: RtcOptions,
    sink: RtcSink,
}

impl PeerTable {
    pub fn new(options: RtcOptions, max_connections: usize, tx: UnboundedSender<Ev>) -> Self {
        Self::with_sink(
            options,
            max_connections,
            Rc::new(move |key, generation, e| {
                let _ = tx.unbounded_send(Ev::Rtc(key, generation, e));
            }),
        )
    }

    /// A table whose connections report to `sink`.
    pub fn with_sink(options: RtcOptions, max_connections: usize, sink: RtcSink) -> Self {
        Self {
            me: None,
            keys: HashMap::new(),
            known: HashMap::new(),
            capacity: max_connections + 2 * MAX_PEERS_WANTED as usize,
            uses: 0,
            next_key: 1,
            next_generation: 1,
            conns: HashMap::new(),
            banned_ids: BanList::new(MAX_BANS),
            banned_fingerprints: BanList::new(MAX_BANS),
            max_connections,
            options,
            sink,
        }
    }

    pub fn set_me(&mut self, me: PeerId) {
        self.me = Some(me);
    }

    pub fn key(&mut self, id: &PeerId) -> PeerKey {
        self.uses += 1;
        if let Some(k) = self.keys.get(id) {
            if let Some(known) = self.known.get_mut(k) {
                known.last_use = self.uses;
            }
            return *k;
        }
        let k = PeerKey(self.next_key);
        self.next_key += 1;
        self.keys.insert(id.clone(), k);
        self.known.insert(
            k,
            Known {
                id: id.clone(),
                fingerprint: None,
                last_use: self.uses,
            },
        );
        if self.known.len() > self.capacity {
            self.forget_one();
        }
        k
    }

    /// Forgets the least recently used peer id that has no connection.
    fn forget_one(&mut self) {
        let oldest = self
            .known
            .iter()
            .filter(|(k, _)| !self.conns.contains_key(k))
            .min_by_key(|(_, known)| known.last_use)
            .map(|(k, _)| *k);
        if let Some(known) = oldest.and_then(|k| self.known.remove(&k)) {
            self.keys.remove(&known.id);
        }
    }

    /// Peer ids the table knows now (at most `max_connections + 2 * MAX_PEERS_WANTED`).
    #[cfg(all(test, target_arch = "wasm32"))]
    pub fn known_len(&self) -> usize {
        self.known.len()
    }

    pub fn id(&self, key: PeerKey) -> Option<&PeerId> {
        self.known.get(&key).map(|k| &k.id)
    }

    pub fn is_banned(&self, key: PeerKey) -> bool {
        self.id(key).is_some_and(|id| self.banned_ids.contains(id))
    }

    /// Open (or opening) connections.
    #[cfg(all(test, target_arch = "wasm32"))]
    pub fn connections(&self) -> usize {
        self.conns.len()
    }

    /// Engine keys for peers the array offered (never ourselves, never banned).
    pub fn candidates<'a>(&mut self, ids: impl Iterator<Item = &'a PeerId>) -> Vec<PeerKey> {
        let mut out = Vec::new();
        for id in ids {
            if Some(id) == self.me.as_ref() {
                continue;
            }
            if self.banned_ids.contains(id) {
                continue;
            }
            out.push(self.key(id));
        }
        out
    }

    fn spawn(&mut self, key: PeerKey, role: Role) -> Option<Conn> {
        let generation = self.next_generation;
        self.next_generation += 1;
        let sink = self.sink.clone();
        let rtc = RtcPeer::new(self.options.clone(), role, move |e| {
            sink(key, generation, e);
        })
        .ok()?;
        Some(Conn {
            rtc,
            role,
            generation,
            open: false,
            engine_knows: false,
        })
    }

    /// The engine's `ConnectPeer`. Returns `PeerGone` when it cannot be tried.
    pub fn connect(&mut self, key: PeerKey) -> Option<Input> {
        if let Some(c) = self.conns.get_mut(&key) {
            c.engine_knows = true;
            return c.open.then_some(Input::PeerConnected { peer: key });
        }
        if self.is_banned(key)
            || !self.known.contains_key(&key)
            || self.conns.len() >= self.max_connections
        {
            return Some(Input::PeerGone { peer: key });
        }
        match self.spawn(key, Role::Offerer) {
            Some(mut c) => {
                c.engine_knows = true;
                self.conns.insert(key, c);
                None
            }
            None => Some(Input::PeerGone { peer: key }),
        }
    }

    /// The engine's `DisconnectPeer`.
    pub fn disconnect(&mut self, key: PeerKey) {
        self.conns.remove(&key);
    }

    /// The engine banned `key`: disconnect it for good, and refuse its
    /// peer id and its certificate fingerprint from now on.
    pub fn ban(&mut self, key: PeerKey) {
        if let Some(known) = self.known.get(&key) {
            self.banned_ids.insert(known.id.clone());
            if let Some(fp) = &known.fingerprint {
                self.banned_fingerprints.insert(fp.clone());
            }
        }
        self.conns.remove(&key);
    }

    pub fn send(&self, key: PeerKey, bytes: Vec<u8>) -> bool {
        match self.conns.get(&key) {
            Some(c) if c.open => {
                c.rtc.send(bytes);
                true
            }
            _ => false,
        }
    }

    /// A signal relayed by the array from `from`.
    pub fn on_signal(&mut self, from: &PeerId, kind: SignalKind, data: String) {
        if self.banned_ids.contains(from) || Some(from) == self.me.as_ref() {
            return;
        }
        let key = self.key(from);
        if kind != SignalKind::Ice && !self.accept_description(key, &data) {
            // No connection is made for it, and one we have with it ends
            // (the engine hears `PeerGone` through its `Closed`).
            if let Some(c) = self.conns.get(&key) {
                c.rtc.close();
            }
            return;
        }
        if kind == SignalKind::Offer {
            let replace = match self.conns.get(&key) {
                None => self.conns.len() < self.max_connections,
                Some(c) if c.role == Role::Offerer && !c.open => {
                    // Glare: the smaller id keeps its own offer.
                    self.me.as_ref().is_none_or(|me| me >= from)
                }
                Some(_) => false,
            };
            if !replace {
                return;
            }
            let knew = self.conns.get(&key).is_some_and(|c| c.engine_knows);
            match self.spawn(key, Role::Answerer) {
                Some(mut c) => {
                    c.engine_knows = knew;
                    c.rtc.handle_signal(kind, data);
                    self.conns.insert(key, c);
                }
                None => {
                    self.conns.remove(&key);
                }
            }
        } else if let Some(c) = self.conns.get(&key) {
            c.rtc.handle_signal(kind, data);
        }
    }

    /// Reads the description's DTLS fingerprint: refused when it has none
    /// usable or it is banned (then the new peer id is banned with it);
    /// otherwise remembered for a later ban.
    fn accept_description(&mut self, key: PeerKey, sdp: &str) -> bool {
        let Ok(fp) = sdp_fingerprint(sdp) else {
            return false;
        };
        let Some(known) = self.known.get_mut(&key) else {
            return false;
        };
        if self.banned_fingerprints.contains(&fp) {
            self.banned_ids.insert(known.id.clone());
            return false;
        }
        known.fingerprint = Some(fp);
        true
    }

    /// The array says `id` left.
    pub fn left(&mut self, id: &PeerId) -> Option<Input> {
        let key = *self.keys.get(id)?;
        let c = self.conns.remove(&key)?;
        c.engine_knows.then_some(Input::PeerGone { peer: key })
    }

    /// An event from one connection; returns what the engine should hear.
    pub fn on_rtc(
        &mut self,
        key: PeerKey,
        generation: u64,
        event: RtcEvent,
        array: Option<&ArraySocket>,
    ) -> Option<Input> {
        let current = self
            .conns
            .get(&key)
            .is_some_and(|c| c.generation == generation);
        if !current {
            return None;
        }
        match event {
            RtcEvent::Signal { kind, data } => {
                if let (Some(a), Some(to)) = (array, self.id(key)) {
                    a.send(&ClientMessage::Signal(Signal {
                        to: to.clone(),
                        kind,
                        data,
                    }));
                }
                None
            }
            RtcEvent::Open => {
                let c = self.conns.get_mut(&key)?;
                c.open = true;
                c.engine_knows = true;
                Some(Input::PeerConnected { peer: key })
            }
            RtcEvent::Message(bytes) => Some(Input::PeerData { peer: key, bytes }),
            RtcEvent::Violation(reason) => Some(Input::PeerMisbehaved { peer: key, reason }),
            RtcEvent::Closed(_) => {
                let c = self.conns.remove(&key)?;
                c.engine_knows.then_some(Input::PeerGone { peer: key })
            }
        }
    }

    /// Closes every connection.
    pub fn clear(&mut self) {
        self.conns.clear();
    }
}
