//! The array's division of the CDN's work (`ServerMessage::Share`): each
//! member still downloading (its last report's `left` is above 0, and no
//! ban quorum dropped it) learns its rank among them and their number.
//! Ranks are slots: a new member takes the next one (members arriving
//! together in join order), and a member that finishes or leaves gives its
//! slot to the last member, so that only that member's rank changes (the
//! engine owns pieces by jump consistent hashing over the count: a count
//! that moves by one at the end moves about 1/n of the pieces). Its engine then fetches
//! from the CDN the pieces its rank owns (engine `swarm::share`), so that
//! pages which never meet do not fetch the same pieces.
//!
//! When pushes happen:
//! - the answer to a report starts with the reporter's share when it is new
//!   to it (a joiner's first report, before its first peer list);
//! - a change among the downloading members (a first report, a leave, a
//!   report crossing `left` 0) pushes at once when their number moved by a quarter
//!   since the last push ([`share_push_now`]), else arms one push
//!   [`SHARE_PUSH_MS`] later for every change in between (the glue's alarm
//!   at [`ArrayCore::share_due_ms`] calls [`ArrayCore::push_shares`]);
//! - a push sends each member only a pair that changed for it.
//!
//! A burst of n joins into an empty array thus costs O(n) messages per
//! doubling of the array; joins further apart than [`SHARE_PUSH_MS`] cost a
//! push each.
//!
//! Invariants: the slots hold each downloading member once; a member's rank
//! is below the member count; the ranks of one push are distinct; nothing
//! here sends to a peer outside the roster.

use edgeswarm_protocol::array::{share_push_now, PeerId, ServerMessage, SHARE_PUSH_MS};

use super::{Action, ArrayCore};

impl ArrayCore {
    /// Sets when `peer` joined (as persisted; a restored peer otherwise
    /// counts as joined when it was last seen). Its shares follow.
    pub fn set_joined_ms(&mut self, peer: &PeerId, joined_ms: f64) {
        if let Some(p) = self.peers.get_mut(peer) {
            p.joined_ms = joined_ms;
        }
    }

    /// When `peer` joined.
    pub fn joined_ms(&self, peer: &PeerId) -> Option<f64> {
        self.peers.get(peer).map(|p| p.joined_ms)
    }

    /// Whether `peer` once reported `left` 0.
    pub fn seeded(&self, peer: &PeerId) -> bool {
        self.peers.get(peer).is_some_and(|p| p.seeded)
    }

    /// Brings the slots (index = rank) up to date: a member that stopped
    /// downloading, left, or was dropped by a ban quorum gives its slot to
    /// the last member, and new members take the next slots in join order.
    /// So a leave or a finish moves one member's rank, not the ranks of
    /// everyone who joined after it.
    fn sync_slots(&mut self) {
        let standing = self.standing();
        let member = |c: &Self, id: &PeerId| c.is_downloading(id) && !standing.is_dropped(id);
        let mut i = self.slots.len();
        while i > 0 {
            i -= 1;
            if !member(self, &self.slots[i]) {
                // The last slot's member (already checked) moves into i.
                self.slots.swap_remove(i);
            }
        }
        let seated: std::collections::BTreeSet<&PeerId> = self.slots.iter().collect();
        let mut new: Vec<(f64, PeerId)> = self
            .peers
            .iter()
            .filter(|(id, _)| !seated.contains(id) && member(self, id))
            .map(|(id, p)| (p.joined_ms, id.clone()))
            .collect();
        new.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
        self.slots.extend(new.into_iter().map(|(_, id)| id));
    }

    /// The members may have changed without a report or a leave of one of
    /// them (a ban quorum's verdict): push if the slots moved.
    pub(super) fn resync_shares(&mut self, now_ms: f64, out: &mut Vec<Action>) {
        let before = self.slots.clone();
        self.sync_slots();
        if self.slots != before {
            self.shares_changed(now_ms, out);
        }
    }

    /// Whether `peer` counts as downloading (its last report).
    /// A peer that once reported `left` 0 never counts again: flipping its
    /// report cannot make the array push shares to every member.
    pub(super) fn is_downloading(&self, peer: &PeerId) -> bool {
        self.peers
            .get(peer)
            .is_some_and(|p| !p.seeded && p.report.as_ref().is_some_and(|r| r.left > 0))
    }

    /// `peer`'s current (rank, members), if it is a downloading member.
    pub fn share_of(&mut self, peer: &PeerId) -> Option<(u32, u32)> {
        self.sync_slots();
        let rank = self.slots.iter().position(|id| id == peer)?;
        Some((to_u32(rank), to_u32(self.slots.len())))
    }

    /// The reporter's share, when it has not been sent that pair yet.
    pub(super) fn share_for_reporter(&mut self, peer: &PeerId, out: &mut Vec<Action>) {
        let Some(pair) = self.share_of(peer) else {
            return;
        };
        if let Some(p) = self.peers.get_mut(peer) {
            if p.share != Some(pair) {
                p.share = Some(pair);
                out.push(share_action(peer, pair));
            }
        }
    }

    /// The downloading members may have changed: push now or arm a push.
    pub(super) fn shares_changed(&mut self, now_ms: f64, out: &mut Vec<Action>) {
        self.sync_slots();
        let n = self.slots.len();
        if share_push_now(self.pushed_members, n) {
            out.extend(self.push_shares());
        } else if self.share_due_ms.is_none() {
            self.share_due_ms = Some(now_ms + SHARE_PUSH_MS as f64);
        }
    }

    /// When the glue must call [`ArrayCore::push_due_shares`], if at all.
    pub fn share_due_ms(&self) -> Option<f64> {
        self.share_due_ms
    }

    /// The armed push, if it is due.
    pub fn push_due_shares(&mut self, now_ms: f64) -> Vec<Action> {
        match self.share_due_ms {
            Some(t) if t <= now_ms => self.push_shares(),
            _ => Vec::new(),
        }
    }

    /// Sends every downloading member whose pair changed its new pair.
    pub fn push_shares(&mut self) -> Vec<Action> {
        self.share_due_ms = None;
        self.sync_slots();
        let members = self.slots.clone();
        self.pushed_members = members.len();
        let n = to_u32(members.len());
        let mut out = Vec::new();
        for (rank, id) in members.iter().enumerate() {
            let pair = (to_u32(rank), n);
            if let Some(p) = self.peers.get_mut(id) {
                if p.share != Some(pair) {
                    p.share = Some(pair);
                    out.push(share_action(id, pair));
                }
            }
        }
        out
    }
}

/// Roster sizes are far below `u32::MAX` (`ArrayLimits::max_peers`).
fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn share_action(to: &PeerId, (rank, members): (u32, u32)) -> Action {
    Action::Send {
        to: to.clone(),
        msg: ServerMessage::Share { rank, members },
    }
}
