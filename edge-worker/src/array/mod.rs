//! The array service: one instance per array id (a Durable Object in
//! production, see [`object`]), matching peers and relaying WebRTC signals.
//!
//! [`ArrayCore`] is the sans-IO heart: the glue feeds it joins, leaves and
//! raw frames with the time, and carries out the [`Action`]s it returns.
//!
//! Per-socket state machine:
//! - `Joined` (on accept: the server assigned the id and sent `welcome`) →
//!   `Joined` on every admitted message; reports update the roster, signals
//!   are relayed to a peer of the same array only, always with the sender's
//!   own id as `from`, within the recipient's inbound budget (the same rate
//!   and burst as one sender's; beyond it `recipient_busy`, no strike) and
//!   the pair's offer cap (beyond it `offer_limit`, no strike; [`relay`]).
//!   A report that makes the peer a downloading member (or ends that)
//!   changes the members' shares of the CDN's work (`share`); report
//!   rates are clamped to plausible values; attestations (`attest`)
//!   give standing and share bans ([`standing`]): peer lists rank peers with
//!   standing first and leave out peers dropped by a quorum of accusers.
//! - A refused message (too large, over the rate, malformed, speaking for
//!   another peer) answers an `error` and adds a strike; the error is sent
//!   once per run of rate-limited messages, so a flood cannot make the server
//!   flood back. A signal to a peer that is not (or no longer) in the array
//!   answers `unknown_peer` without a strike: it is a benign race.
//! - `Joined` → `Closed` when the socket closes (the peer leaves the roster at
//!   once and the others get `peerLeft`), or when strikes reach
//!   [`MAX_STRIKES`] (the server closes it with 1008).
//! - `Joined` → `Closed` when no message of the peer was admitted for the
//!   core's idle deadline (a socket whose far end vanished without a close,
//!   or one held open to take a slot): [`ArrayCore::evict_idle`] closes it
//!   with [`CLOSE_IDLE`] and it leaves, so idle sockets cannot keep a full
//!   array closed to others for longer than the deadline. The glue evicts
//!   before it refuses a join as full, and on a timer.
//!
//! Invariants: the roster holds at most `limits.max_peers` peers; a message is
//! never relayed outside this array; no input makes the core panic.

pub mod object;
pub mod offers;
pub mod ratelimit;
mod relay;
mod roster;
pub mod select;
mod share;
pub mod standing;

#[cfg(test)]
mod defence_tests;
#[cfg(test)]
mod select_tests;
#[cfg(test)]
mod share_tests;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use edgeswarm_protocol::array::{
    ArrayErrorCode, ArrayLimits, Attestation, ClientMessage, PeerId, Report, ServerMessage,
    SHARE_PUSH_MS,
};

use offers::PairOffers;
use ratelimit::TokenBucket;
use standing::{Claims, Standing};

/// Refused messages after which the server closes a socket.
pub const MAX_STRIKES: u32 = 64;
/// WebSocket close code for a policy violation.
pub const CLOSE_POLICY: u16 = 1008;
/// Silence after which a peer's socket is closed, unless the glue sets
/// another time ([`ArrayCore::set_stale_after_ms`]).
pub const DEFAULT_STALE_AFTER_MS: f64 = 120_000.0;
/// WebSocket close code for a socket closed because it was silent too long.
pub const CLOSE_IDLE: u16 = 4000;

/// What the glue must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Send {
        to: PeerId,
        msg: ServerMessage,
    },
    Close {
        peer: PeerId,
        code: u16,
        reason: &'static str,
    },
    /// The peer's stored report changed: persist it (socket attachment).
    Persist {
        peer: PeerId,
    },
}

#[derive(Debug, Clone)]
struct PeerState {
    report: Option<Report>,
    /// When the peer's last message was admitted (or it joined).
    last_seen_ms: f64,
    bucket: TokenBucket,
    /// Signals relayed *to* this peer, all senders together: a flood aimed
    /// at one peer from many sockets is cut off at one sender's allowance.
    inbound: TokenBucket,
    strikes: u32,
    throttled: bool,
    /// Offers this peer sent, per recipient (the per-pair cap).
    offers: PairOffers,
    /// Its current attestation (whom it vouches for and accuses).
    claims: Claims,
    /// When it joined (ms): its place in the division of the CDN's work.
    joined_ms: f64,
    /// The share last sent to it (`share`).
    share: Option<(u32, u32)>,
    /// It once reported `left` 0: no longer a member of the division.
    seeded: bool,
}

/// The roster and rules of one array.
#[derive(Debug, Clone)]
pub struct ArrayCore {
    limits: ArrayLimits,
    stale_after_ms: f64,
    peers: BTreeMap<PeerId, PeerState>,
    /// The downloading members by rank (`share`).
    slots: Vec<PeerId>,
    /// Downloading members at the last share push (`share`).
    pushed_members: usize,
    /// When the armed share push is due.
    share_due_ms: Option<f64>,
}

impl ArrayCore {
    pub fn new(limits: ArrayLimits) -> Self {
        ArrayCore {
            limits,
            stale_after_ms: DEFAULT_STALE_AFTER_MS,
            peers: BTreeMap::new(),
            slots: Vec::new(),
            pushed_members: 0,
            share_due_ms: None,
        }
    }

    /// Sets how long a silent peer keeps its socket (and its place on offer).
    pub fn set_stale_after_ms(&mut self, ms: f64) {
        self.stale_after_ms = ms;
    }

    /// The idle deadline in ms.
    pub fn stale_after_ms(&self) -> f64 {
        self.stale_after_ms
    }

    pub fn limits(&self) -> ArrayLimits {
        self.limits
    }

    pub fn len(&self) -> usize {
        self.peers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.peers.is_empty()
    }

    pub fn contains(&self, peer: &PeerId) -> bool {
        self.peers.contains_key(peer)
    }

    /// Whether another peer may join.
    pub fn is_full(&self) -> bool {
        self.peers.len() >= self.limits.max_peers as usize
    }

    /// The stored report of `peer`.
    pub fn report(&self, peer: &PeerId) -> Option<&Report> {
        self.peers.get(peer).and_then(|p| p.report.as_ref())
    }

    /// When a message of `peer` was last admitted.
    pub fn last_seen_ms(&self, peer: &PeerId) -> Option<f64> {
        self.peers.get(peer).map(|p| p.last_seen_ms)
    }

    /// Adds a peer (a new socket). Returns false, adding nothing, when the
    /// array is full or the id taken.
    pub fn join(&mut self, peer: PeerId, report: Option<Report>, now_ms: f64) -> bool {
        self.restore(peer, report, false, now_ms, now_ms)
    }

    /// Adds a peer restored after hibernation, last seen at `last_seen_ms`
    /// and `seeded` if it once reported `left` 0 (both as persisted with its
    /// report). Like [`ArrayCore::join`] otherwise.
    pub fn restore(
        &mut self,
        peer: PeerId,
        report: Option<Report>,
        seeded: bool,
        last_seen_ms: f64,
        now_ms: f64,
    ) -> bool {
        if self.is_full() || self.peers.contains_key(&peer) {
            return false;
        }
        let bucket = TokenBucket::new(self.limits.messages_per_second, self.limits.burst, now_ms);
        let inbound = bucket.clone();
        let seeded = seeded || report.as_ref().is_some_and(|r| r.left == 0);
        // A member restored after hibernation: the slots are rebuilt in
        // join order, a re-division every member must hear of soon.
        if !seeded && report.as_ref().is_some_and(|r| r.left > 0) {
            self.share_due_ms
                .get_or_insert(now_ms + SHARE_PUSH_MS as f64);
        }
        self.peers.insert(
            peer,
            PeerState {
                report,
                last_seen_ms,
                bucket,
                inbound,
                strikes: 0,
                throttled: false,
                offers: PairOffers::default(),
                claims: Claims::default(),
                joined_ms: last_seen_ms,
                share: None,
                seeded,
            },
        );
        true
    }

    /// The welcome for a peer that just joined.
    pub fn welcome(&self, peer: &PeerId, array_id: &str) -> ServerMessage {
        ServerMessage::Welcome {
            peer_id: peer.clone(),
            array_id: array_id.to_owned(),
            limits: self.limits,
        }
    }

    /// A binary frame of `len` bytes: not part of the protocol.
    pub fn on_binary(&mut self, from: &PeerId, len: usize, now_ms: f64) -> Vec<Action> {
        let mut out = Vec::new();
        if self.admit(from, len, now_ms, &mut out) {
            self.refuse(
                from,
                ArrayErrorCode::BinaryNotSupported,
                "send JSON text frames",
                &mut out,
            );
        }
        out
    }

    /// A text frame from `from`.
    pub fn on_text(&mut self, from: &PeerId, text: &str, now_ms: f64) -> Vec<Action> {
        let mut out = Vec::new();
        if !self.admit(from, text.len(), now_ms, &mut out) {
            return out;
        }
        match serde_json::from_str::<ClientMessage>(text) {
            Err(e) => self.refuse(from, ArrayErrorCode::BadMessage, &e.to_string(), &mut out),
            Ok(ClientMessage::Report(r)) => self.on_report(from, r, now_ms, &mut out),
            Ok(ClientMessage::Signal(s)) => self.on_signal(from, s, now_ms, &mut out),
            Ok(ClientMessage::Attest(a)) => self.on_attest(from, a, now_ms, &mut out),
        }
        out
    }

    /// Size and rate checks; false when the message is dropped.
    fn admit(&mut self, from: &PeerId, len: usize, now_ms: f64, out: &mut Vec<Action>) -> bool {
        let max = self.limits.max_message_bytes as usize;
        let Some(p) = self.peers.get_mut(from) else {
            return false;
        };
        if !p.bucket.try_take(now_ms) {
            let first = !p.throttled;
            p.throttled = true;
            if first {
                self.refuse(
                    from,
                    ArrayErrorCode::RateLimited,
                    "over the message rate; dropped",
                    out,
                );
            } else {
                self.strike(from, out);
            }
            return false;
        }
        p.throttled = false;
        // A refused message below still shows the far end is alive.
        if now_ms > p.last_seen_ms {
            p.last_seen_ms = now_ms;
        }
        if len > max {
            let msg = format!("message of {len} bytes is over the {max}-byte limit; dropped");
            self.refuse(from, ArrayErrorCode::MessageTooLarge, &msg, out);
            return false;
        }
        true
    }

    fn strike(&mut self, from: &PeerId, out: &mut Vec<Action>) {
        if let Some(p) = self.peers.get_mut(from) {
            // Saturating: frames already queued after the close still strike.
            p.strikes = p.strikes.saturating_add(1);
            if p.strikes == MAX_STRIKES {
                out.push(Action::Close {
                    peer: from.clone(),
                    code: CLOSE_POLICY,
                    reason: "too many refused messages",
                });
            }
        }
    }

    fn refuse(
        &mut self,
        from: &PeerId,
        code: ArrayErrorCode,
        message: &str,
        out: &mut Vec<Action>,
    ) {
        out.push(Action::Send {
            to: from.clone(),
            msg: ServerMessage::Error {
                code,
                message: message.to_owned(),
            },
        });
        self.strike(from, out);
    }

    fn on_report(&mut self, from: &PeerId, report: Report, now_ms: f64, out: &mut Vec<Action>) {
        if report.peer_id.as_ref().is_some_and(|p| p != from) {
            let msg = "a report may only speak for the socket's own peer id";
            return self.refuse(from, ArrayErrorCode::PeerIdMismatch, msg, out);
        }
        if let Err(e) = report.validate() {
            return self.refuse(from, ArrayErrorCode::BadReport, &e.to_string(), out);
        }
        let want = report.peers_wanted_clamped();
        let was_downloading = self.is_downloading(from);
        // Only the counters are kept, rates made plausible: they are all
        // selection needs, and they fit the platform's small attachment.
        if let Some(p) = self.peers.get_mut(from) {
            p.report = Some(standing::plausible(&report));
            p.seeded |= report.left == 0;
        }
        out.push(Action::Persist { peer: from.clone() });
        // The division of the CDN's work, before the peer list (`share`).
        if self.is_downloading(from) != was_downloading {
            self.shares_changed(now_ms, out);
        }
        self.share_for_reporter(from, out);
        let fresh_since = now_ms - self.stale_after_ms;
        let standing = self.standing();
        let peers = select::select(
            from,
            self.report(from),
            self.peers
                .iter()
                .filter(|(id, p)| p.last_seen_ms >= fresh_since && !standing.is_dropped(id))
                .map(|(id, p)| (id, p.report.as_ref(), standing.has_standing(id))),
            want,
        );
        out.push(Action::Send {
            to: from.clone(),
            msg: ServerMessage::Peers { peers },
        });
    }

    /// Who has standing and who is dropped, over the current roster.
    pub fn standing(&self) -> Standing {
        Standing::assess(&self.peers.iter().map(|(id, p)| (id, &p.claims)).collect())
    }

    fn on_attest(&mut self, from: &PeerId, a: Attestation, now_ms: f64, out: &mut Vec<Action>) {
        if let Err(e) = a.validate() {
            return self.refuse(from, ArrayErrorCode::BadAttestation, &e.to_string(), out);
        }
        if let Some(p) = self.peers.get_mut(from) {
            p.claims = Claims::new(from, a);
        }
        // A quorum dropping (or no longer dropping) a member moves shares.
        self.resync_shares(now_ms, out);
    }
}
