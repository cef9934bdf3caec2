//! An honest simulated peer: an engine plus what the simulator checks about it.
//! Storage keeps no bytes: each stored piece is compared with the original
//! file on the spot and only the verdict is kept (reads are served from the
//! original file, which is what intact storage would return). Writes take
//! `Costs::store_us` each, one after another, and the engine is told
//! (`PieceStored`) when each completes; the peer has finished when its
//! engine is done (which now implies its last write has completed).

use std::collections::BTreeMap;

use edgeswarm_engine::Engine;

use crate::net::Micros;

pub(crate) struct Honest {
    pub engine: Option<Engine>,
    pub joined_at: Micros,
    pub timer: Option<u64>,
    /// When the node's last storage write completes.
    pub store_free: Micros,
    /// Per piece: stored, and stored intact.
    pub stored: Vec<bool>,
    pub stored_count: u32,
    pub corrupt_stored: u64,
    pub finished_at: Option<Micros>,
    pub rejected_by_source: BTreeMap<usize, u64>,
    pub rejected_http: u64,
    /// Banned peers and whether each was honest.
    pub banned: Vec<(usize, bool)>,
}

impl Honest {
    pub fn new(pieces: u32) -> Self {
        Self {
            engine: None,
            joined_at: 0,
            timer: None,
            store_free: 0,
            stored: vec![false; pieces as usize],
            stored_count: 0,
            corrupt_stored: 0,
            finished_at: None,
            rejected_by_source: BTreeMap::new(),
            rejected_http: 0,
            banned: Vec::new(),
        }
    }

    /// A write of `piece` starts; returns when it completes.
    pub fn store(&mut self, piece: u32, intact: bool, now: Micros, store_us: u64) -> Micros {
        self.store_free = self.store_free.max(now) + store_us;
        if !intact {
            self.corrupt_stored += 1;
            return self.store_free;
        }
        if let Some(s) = self.stored.get_mut(piece as usize) {
            if !*s {
                *s = true;
                self.stored_count += 1;
            }
        }
        self.store_free
    }

    pub fn rejected_from(&mut self, k: usize) {
        *self.rejected_by_source.entry(k).or_default() += 1;
    }

    /// The engine said Done: it counts as finished only with every piece
    /// intact, once its last write completes. True when this call finished it.
    pub fn done(&mut self, now: Micros) -> bool {
        let ok = self.stored_count as usize == self.stored.len() && self.corrupt_stored == 0;
        if ok && self.finished_at.is_none() {
            self.finished_at = Some(now.max(self.store_free));
            return true;
        }
        false
    }
}
