//! The signal relay: a signal goes to a peer of the same array only,
//! stamped with the sender's own id, within two budgets that a flood aimed at
//! one peer cannot get around: per (sender, recipient) pair at most
//! [`MAX_OFFERS_PER_PAIR`] offers per [`OFFER_WINDOW_MS`]
//! ([`super::offers`]), and per recipient one sender's rate and burst for all
//! senders together. A refused signal is answered to its sender only.
//!
//! Order of the checks: unknown or self target (`unknown_peer`), the pair's
//! offer cap (`offer_limit`, spends nothing), the recipient's budget
//! (`recipient_busy`); only a relayed offer counts toward the pair cap.

use edgeswarm_protocol::array::{
    ArrayErrorCode, PeerId, ServerMessage, Signal, SignalKind, MAX_OFFERS_PER_PAIR, OFFER_WINDOW_MS,
};

use super::{Action, ArrayCore};

impl ArrayCore {
    pub(super) fn on_signal(
        &mut self,
        from: &PeerId,
        s: Signal,
        now_ms: f64,
        out: &mut Vec<Action>,
    ) {
        // No refusal strikes: signalling a peer that has just left is a
        // benign race (the sender's rate limit bounds it), a busy
        // recipient's sender may be honest while others flood it, and an
        // honest client retrying offers stays far below the pair cap.
        let offer = s.kind == SignalKind::Offer;
        let refusal = if &s.to == from || !self.peers.contains_key(&s.to) {
            Some((
                ArrayErrorCode::UnknownPeer,
                format!("peer {} is not in this array", s.to),
            ))
        } else if offer
            && !self
                .peers
                .get(from)
                .is_some_and(|p| p.offers.allows(&s.to, now_ms))
        {
            Some((
                ArrayErrorCode::OfferLimit,
                format!(
                    "{} offers to peer {} within {} ms already; dropped",
                    MAX_OFFERS_PER_PAIR, s.to, OFFER_WINDOW_MS
                ),
            ))
        } else if !self
            .peers
            .get_mut(&s.to)
            .is_some_and(|p| p.inbound.try_take(now_ms))
        {
            Some((
                ArrayErrorCode::RecipientBusy,
                format!("peer {} receives no more signals now; dropped", s.to),
            ))
        } else {
            None
        };
        let (to, msg) = match refusal {
            Some((code, message)) => (from.clone(), ServerMessage::Error { code, message }),
            None => {
                if offer {
                    if let Some(p) = self.peers.get_mut(from) {
                        p.offers.record(&s.to, now_ms);
                    }
                }
                (
                    s.to,
                    ServerMessage::Signal {
                        from: from.clone(),
                        kind: s.kind,
                        data: s.data,
                    },
                )
            }
        };
        out.push(Action::Send { to, msg });
    }
}
