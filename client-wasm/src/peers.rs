//! The glue's table of remote peers: array peer ids ↔ engine `PeerKey`s, one
//! [`RtcPeer`] per connection, and the ban list.
//!
//! Per peer: `Unknown → Connecting (offerer or answerer) → Open → Closed`.
//! - The engine's `ConnectPeer` makes us the offerer; an offer from the array
//!   makes us the answerer. If both sides offer at once ("glare"), the side
//!   with the smaller peer id keeps its offer and the other one answers.
//! - A banned peer is disconnected and never reconnected: its offers are
//!   ignored for the rest of the download.
//! - Every `RtcPeer` gets a generation number; events still queued from a
//!   replaced connection are ignored.
//! - The engine hears `PeerConnected` when a channel opens and `PeerGone`
//!   when a connection it knows of ends.

use std::collections::{HashMap, HashSet};

use edgeswarm_engine::{Input, PeerKey};
use edgeswarm_protocol::array::{ClientMessage, PeerId, Signal, SignalKind};
use futures_channel::mpsc::UnboundedSender;

use crate::array_ws::ArraySocket;
use crate::rtc::{Role, RtcEvent, RtcOptions, RtcPeer};
use crate::session::Ev;

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
    ids: HashMap<PeerKey, PeerId>,
    next_key: u64,
    next_generation: u64,
    conns: HashMap<PeerKey, Conn>,
    banned: HashSet<PeerKey>,
    max_connections: usize,
    options: RtcOptions,
    tx: UnboundedSender<Ev>,
}

impl PeerTable {
    pub fn new(options: RtcOptions, max_connections: usize, tx: UnboundedSender<Ev>) -> Self {
        Self {
            me: None,
            keys: HashMap::new(),
            ids: HashMap::new(),
            next_key: 1,
            next_generation: 1,
            conns: HashMap::new(),
            banned: HashSet::new(),
            max_connections,
            options,
            tx,
        }
    }

    pub fn set_me(&mut self, me: PeerId) {
        self.me = Some(me);
    }

    pub fn key(&mut self, id: &PeerId) -> PeerKey {
        if let Some(k) = self.keys.get(id) {
            return *k;
        }
        let k = PeerKey(self.next_key);
        self.next_key += 1;
        self.keys.insert(id.clone(), k);
        self.ids.insert(k, id.clone());
        k
    }

    pub fn id(&self, key: PeerKey) -> Option<&PeerId> {
        self.ids.get(&key)
    }

    pub fn is_banned(&self, key: PeerKey) -> bool {
        self.banned.contains(&key)
    }

    /// Engine keys for peers the array offered (never ourselves, never banned).
    pub fn candidates<'a>(&mut self, ids: impl Iterator<Item = &'a PeerId>) -> Vec<PeerKey> {
        let mut out = Vec::new();
        for id in ids {
            if Some(id) == self.me.as_ref() {
                continue;
            }
            let k = self.key(id);
            if !self.banned.contains(&k) {
                out.push(k);
            }
        }
        out
    }

    fn spawn(&mut self, key: PeerKey, role: Role) -> Option<Conn> {
        let generation = self.next_generation;
        self.next_generation += 1;
        let tx = self.tx.clone();
        let rtc = RtcPeer::new(self.options.clone(), role, move |e| {
            let _ = tx.unbounded_send(Ev::Rtc(key, generation, e));
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
        if self.banned.contains(&key)
            || !self.ids.contains_key(&key)
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

    /// The engine banned `key`: disconnect it for good.
    pub fn ban(&mut self, key: PeerKey) {
        self.banned.insert(key);
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
        let key = self.key(from);
        if self.banned.contains(&key) || Some(from) == self.me.as_ref() {
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
                if let (Some(a), Some(to)) = (array, self.ids.get(&key)) {
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
