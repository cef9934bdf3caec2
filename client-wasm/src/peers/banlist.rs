//! A bounded ban list: a set that keeps its newest `cap` entries (the oldest
//! ban is forgotten first), so bans cost bounded memory however many peers
//! misbehave.

use std::collections::{HashSet, VecDeque};
use std::hash::Hash;

pub struct BanList<T> {
    set: HashSet<T>,
    order: VecDeque<T>,
    cap: usize,
}

impl<T: Eq + Hash + Clone> BanList<T> {
    pub fn new(cap: usize) -> Self {
        Self {
            set: HashSet::new(),
            order: VecDeque::new(),
            cap: cap.max(1),
        }
    }

    pub fn insert(&mut self, item: T) {
        if !self.set.insert(item.clone()) {
            return;
        }
        self.order.push_back(item);
        if self.order.len() > self.cap {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
    }

    pub fn contains(&self, item: &T) -> bool {
        self.set.contains(item)
    }
}
