//! The array's share pushes (`ServerMessage::Share`), as edge-worker's array
//! sends them: a change among the downloading members (a join, a member
//! done) pushes at once when their number moved by a quarter since the last
//! push, else arms one push [`SHARE_PUSH_MS`] later; a push gives every
//! downloading honest member whose (rank, members) changed its new pair,
//! and a joiner gets its pair with its first peer list. Ranks are slots, as
//! there: a new member takes the next slot, a member done gives its slot to
//! the last member. Members are the peers the array would count as
//! downloading ([`crate::tracker::downloading`]), attackers included.

use edgeswarm_engine::Input;
use edgeswarm_protocol::array::{share_push_now, SHARE_PUSH_MS};

use super::{Node, World};
use crate::net::Ev;

/// What the modelled array keeps for its pushes.
#[derive(Debug, Default)]
pub(crate) struct ShareBook {
    /// Join order of each node (`None` until it joins).
    join_seq: Vec<Option<u64>>,
    joins: u64,
    /// The downloading members by rank, and whether each node has a slot.
    slots: Vec<usize>,
    seated: Vec<bool>,
    /// A push is armed.
    pending: bool,
    /// The pair last pushed to each node.
    sent: Vec<Option<(u32, u32)>>,
    /// The member count of the last push.
    pushed_members: usize,
}

/// Member counts and ranks are far below `u32::MAX` (`MAX_NODES`).
fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl World {
    /// Node `i` joined: it takes a slot after every earlier joiner, and the
    /// array's answer to its first report carries its share (fed before the
    /// peer list: the engine decides nothing before that).
    pub(super) fn share_joined(&mut self, i: usize) {
        let len = self.nodes.len();
        let book = &mut self.shares;
        book.join_seq.resize(len, None);
        book.seated.resize(len, false);
        book.sent.resize(len, None);
        book.join_seq[i] = Some(book.joins);
        book.joins += 1;
        self.share_changed();
        let Some(rank) = self.shares.slots.iter().position(|&j| j == i) else {
            return;
        };
        let pair = (to_u32(rank), to_u32(self.shares.slots.len()));
        if self.shares.sent[i] != Some(pair) {
            self.shares.sent[i] = Some(pair);
            self.feed_share(i, pair);
        }
    }

    /// The slots, up to date: members done give their slot to the last
    /// member; new members take the next slots in join order.
    fn sync_slots(&mut self) {
        let mut i = self.shares.slots.len();
        while i > 0 {
            i -= 1;
            let j = self.shares.slots[i];
            if !crate::tracker::downloading(self, j) {
                self.shares.seated[j] = false;
                self.shares.slots.swap_remove(i);
            }
        }
        let mut new: Vec<(u64, usize)> = (0..self.nodes.len())
            .filter(|&j| !self.shares.seated[j] && crate::tracker::downloading(self, j))
            .filter_map(|j| self.shares.join_seq[j].map(|s| (s, j)))
            .collect();
        new.sort_unstable();
        for (_, j) in new {
            self.shares.seated[j] = true;
            self.shares.slots.push(j);
        }
    }

    /// The downloading members changed: push now if their number moved by a
    /// quarter since the last push ([`share_push_now`]), else arm a push
    /// unless one is armed.
    pub(super) fn share_changed(&mut self) {
        self.sync_slots();
        if share_push_now(self.shares.pushed_members, self.shares.slots.len()) {
            self.push_shares();
        } else if !self.shares.pending {
            self.shares.pending = true;
            let at = self.now + SHARE_PUSH_MS * 1000;
            self.queue.push(at, Ev::SharePush);
        }
    }

    /// A push: every downloading member's rank and their number.
    pub(super) fn push_shares(&mut self) {
        self.shares.pending = false;
        self.sync_slots();
        let members = self.shares.slots.clone();
        self.shares.pushed_members = members.len();
        let n = to_u32(members.len());
        for (rank, j) in members.into_iter().enumerate() {
            let pair = (to_u32(rank), n);
            if self.shares.sent[j] != Some(pair) {
                self.shares.sent[j] = Some(pair);
                self.feed_share(j, pair);
            }
        }
    }

    fn feed_share(&mut self, j: usize, (rank, members): (u32, u32)) {
        if self.cfg.array_shares && matches!(self.nodes[j], Node::Honest(_)) {
            self.drive(j, Input::ArrayShare { rank, members });
        }
    }
}
