//! Attacker scripts in the world: an input about a peer becomes a call into
//! the attacker's script (honest nodes get it through their engine), the
//! frames the script answers go on the links, and the drip bytes it has due
//! are queued `DRIP_EVERY_US` later.

use edgeswarm_engine::Input;

use super::{Node, World};
use crate::net::Ev;

impl World {
    /// Hands an input about `other` to node `to` (engine or attacker script).
    pub(super) fn deliver(&mut self, to: usize, input: Input, other: usize) {
        if matches!(self.nodes[to], Node::Honest(_)) {
            return self.drive(to, input);
        }
        let Node::Attacker(att) = &mut self.nodes[to] else {
            return;
        };
        let frames = match input {
            Input::PeerConnected { .. } => att.on_connect(other, &self.meta, self.meta_sha),
            Input::PeerData { bytes, .. } => {
                att.on_frame(other, &bytes, &self.meta, &self.file, &mut self.rng)
            }
            Input::PeerGone { .. } => {
                att.on_gone(other);
                Vec::new()
            }
            _ => Vec::new(),
        };
        for f in frames {
            self.send(to, other, f);
        }
        self.schedule_drips(to);
    }

    /// Queues the drip bytes attacker `a` has due.
    pub(super) fn schedule_drips(&mut self, a: usize) {
        let Node::Attacker(att) = &mut self.nodes[a] else {
            return;
        };
        let at = self.now + att.drip_every_us();
        for (victim, piece) in std::mem::take(&mut att.drip_due) {
            let ev = Ev::Drip {
                attacker: a,
                victim,
                piece,
            };
            self.queue.push(at, ev);
        }
    }
}
