//! Peers leaving the array: a socket that closed, or one evicted for
//! silence (see the state machine in the parent module). A leave tells the
//! others (`peerLeft`) and, when the peer was downloading, changes their
//! shares of the CDN's work (`share`).

use edgeswarm_protocol::array::{PeerId, ServerMessage};

use super::{Action, ArrayCore, CLOSE_IDLE};

impl ArrayCore {
    /// Closes every peer no message of which was admitted for the idle
    /// deadline: each gets a `Close` with [`CLOSE_IDLE`], leaves the roster,
    /// and the others are told (`peerLeft`).
    pub fn evict_idle(&mut self, now_ms: f64) -> Vec<Action> {
        let cutoff = now_ms - self.stale_after_ms;
        let idle: Vec<PeerId> = self
            .peers
            .iter()
            .filter(|(_, p)| p.last_seen_ms < cutoff)
            .map(|(id, _)| id.clone())
            .collect();
        let mut out = Vec::new();
        for peer in idle {
            out.push(Action::Close {
                peer: peer.clone(),
                code: CLOSE_IDLE,
                reason: "idle: no message within the deadline",
            });
            out.extend(self.leave(&peer, now_ms));
        }
        out
    }

    /// Removes a peer whose socket closed; tells the others.
    /// A downloading peer's leave changes the others' shares (`share`).
    pub fn leave(&mut self, peer: &PeerId, now_ms: f64) -> Vec<Action> {
        let downloading = self.is_downloading(peer);
        if self.peers.remove(peer).is_none() {
            return Vec::new();
        }
        for p in self.peers.values_mut() {
            p.offers.forget(peer);
        }
        let mut out: Vec<Action> = self
            .peers
            .keys()
            .map(|to| Action::Send {
                to: to.clone(),
                msg: ServerMessage::PeerLeft {
                    peer_id: peer.clone(),
                },
            })
            .collect();
        if downloading {
            self.shares_changed(now_ms, &mut out);
        } else {
            // An accuser or voucher leaving can change who is dropped.
            self.resync_shares(now_ms, &mut out);
        }
        out
    }
}
