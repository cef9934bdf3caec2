//! The piece pickers over a [`PieceTable`]: rarest-first with a uniform
//! random tie-break (reservoir sampling, one random draw per tie), a
//! bitwise variant that skips pieces eight at a time, and the endgame's
//! random pick. The two rarest-first pickers make the same choice with the
//! same random draws when given the same candidates (tested below), so the
//! faster one changes no decision.

use edgeswarm_protocol::{Metadata, PieceIndex};
use rand_chacha::ChaCha8Rng;
use rand_core::Rng;

use super::{PieceState, PieceTable, MAX_ATTEMPTS};
use crate::types::Source;

/// The picker's running choice: lowest availability, ties broken uniformly
/// at random (reservoir sampling: one draw per tie).
#[derive(Default)]
struct Rarest {
    best: Option<(u32, PieceIndex)>,
    ties: u64,
}

impl Rarest {
    fn offer(&mut self, a: u32, i: PieceIndex, rng: &mut ChaCha8Rng) {
        match self.best {
            Some((ba, _)) if a > ba => {}
            Some((ba, _)) if a == ba => {
                self.ties += 1;
                if rng.next_u64().is_multiple_of(self.ties) {
                    self.best = Some((a, i));
                }
            }
            _ => {
                self.best = Some((a, i));
                self.ties = 1;
            }
        }
    }
}

impl PieceTable {
    /// Rarest missing piece of `meta` (the metadata this table was built
    /// for) for which `eligible` holds; ties broken at random.
    #[cfg(test)]
    pub fn pick_rarest(
        &self,
        meta: &Metadata,
        rng: &mut ChaCha8Rng,
        eligible: impl Fn(PieceIndex) -> bool,
    ) -> Option<PieceIndex> {
        self.pick_rarest_reclaiming(meta, rng, eligible, |_| false)
    }

    /// Like `pick_rarest`, but an in-flight piece that can take another
    /// attempt and whose attempts all satisfy `reclaim` (their sources are
    /// too slow to count on) competes as if it were missing.
    pub fn pick_rarest_reclaiming(
        &self,
        meta: &Metadata,
        rng: &mut ChaCha8Rng,
        eligible: impl Fn(PieceIndex) -> bool,
        reclaim: impl Fn(&[Source]) -> bool,
    ) -> Option<PieceIndex> {
        let mut r = Rarest::default();
        for i in meta.pieces() {
            let open = match self.states.get(i.as_usize()) {
                Some(PieceState::Missing) => true,
                Some(PieceState::InFlight(v)) => v.len() < MAX_ATTEMPTS && reclaim(v),
                _ => false,
            };
            if !open || !eligible(i) {
                continue;
            }
            r.offer(
                self.availability.get(i.as_usize()).copied().unwrap_or(0),
                i,
                rng,
            );
        }
        r.best.map(|(_, i)| i)
    }

    /// The rarest missing piece in `has` and not in `excluded` (a peer's
    /// bitfield and its given-up set, in the wire bitfield's layout): the
    /// same piece, after the same random draws, as `pick_rarest_reclaiming`
    /// with that `eligible` and no reclaiming, but it skips eight pieces at
    /// a time where there is no candidate.
    pub fn pick_rarest_of(
        &self,
        meta: &Metadata,
        rng: &mut ChaCha8Rng,
        has: &[u8],
        excluded: &[u8],
    ) -> Option<PieceIndex> {
        let mut r = Rarest::default();
        let bytes = self.missing_bits.iter().zip(has).zip(excluded);
        for (at, ((m, h), x)) in bytes.enumerate() {
            let mut bits = m & h & !x;
            while bits != 0 {
                let lz = bits.leading_zeros();
                bits &= !(0x80u8 >> lz);
                let raw = u32::try_from(at * 8 + lz as usize).ok();
                let Some(i) = raw.and_then(|raw| meta.piece(raw)) else {
                    continue;
                };
                r.offer(
                    self.availability.get(i.as_usize()).copied().unwrap_or(0),
                    i,
                    rng,
                );
            }
        }
        r.best.map(|(_, i)| i)
    }

    /// A random in-flight piece of `meta` that can take another attempt and
    /// satisfies `eligible`.
    pub fn pick_endgame(
        &self,
        meta: &Metadata,
        rng: &mut ChaCha8Rng,
        eligible: impl Fn(PieceIndex, &[Source]) -> bool,
    ) -> Option<PieceIndex> {
        let mut chosen = None;
        let mut seen = 0u64;
        for i in meta.pieces() {
            if let Some(PieceState::InFlight(v)) = self.states.get(i.as_usize()) {
                if v.len() < MAX_ATTEMPTS && eligible(i, v) {
                    seen += 1;
                    if rng.next_u64().is_multiple_of(seen) {
                        chosen = Some(i);
                    }
                }
            }
        }
        chosen
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::SeedableRng;

    use super::super::tests::meta;

    #[test]
    fn the_bitwise_picker_chooses_as_the_general_one_does() {
        use edgeswarm_protocol::wire::Bitfield;
        let mut setup = ChaCha8Rng::seed_from_u64(7);
        for n in [1u32, 7, 8, 9, 64, 77] {
            let m = meta(n);
            for _ in 0..20 {
                let mut t = PieceTable::new(n);
                let (mut has, mut excluded) = (Bitfield::new(n), Bitfield::new(n));
                for p in m.pieces() {
                    let r = setup.next_u64();
                    match r % 4 {
                        0 => drop(t.start(p, Source::Http)),
                        1 => {
                            t.start(p, Source::Http);
                            t.set_verified(p, Source::Http);
                        }
                        2 => {
                            t.start(p, Source::Http);
                            t.end_attempt(p, Source::Http);
                        }
                        _ => {}
                    }
                    for _ in 0..(r >> 8) % 3 {
                        t.add_availability(p);
                    }
                    if (r >> 16) % 3 > 0 {
                        has.set(p.get());
                    }
                    if (r >> 24) % 5 == 0 {
                        excluded.set(p.get());
                    }
                }
                let seed = setup.next_u64();
                let (mut a, mut b) = (
                    ChaCha8Rng::seed_from_u64(seed),
                    ChaCha8Rng::seed_from_u64(seed),
                );
                let eligible = |p: PieceIndex| has.get(p.get()) && !excluded.get(p.get());
                let general = t.pick_rarest_reclaiming(&m, &mut a, eligible, |_| false);
                let bitwise = t.pick_rarest_of(&m, &mut b, has.as_bytes(), excluded.as_bytes());
                assert_eq!(general, bitwise);
                assert_eq!(a.next_u64(), b.next_u64(), "same random draws");
            }
        }
    }

    #[test]
    fn picks_rarest_and_breaks_ties_randomly() {
        let m = meta(4);
        let mut t = PieceTable::new(4);
        for p in [0, 0, 1, 2, 2, 3] {
            t.add_availability(m.piece(p).unwrap());
        }
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut seen = [false; 4];
        for _ in 0..50 {
            seen[t.pick_rarest(&m, &mut rng, |_| true).unwrap().as_usize()] = true;
        }
        assert_eq!(seen, [false, true, false, true]);
        assert_eq!(t.pick_rarest(&m, &mut rng, |p| p.get() == 2), m.piece(2));
    }
}
