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

#[cfg(test)]
mod tests {
    use super::BanList;

    #[test]
    fn keeps_the_newest_cap_entries() {
        let mut bans = BanList::new(3);
        for n in 0..10 {
            bans.insert(n);
            bans.insert(n); // a repeat is not a second entry
        }
        assert_eq!(bans.set.len(), 3);
        assert_eq!(bans.order.len(), 3);
        assert!((7..10).all(|n| bans.contains(&n)));
        assert!(!bans.contains(&6), "the oldest ban is forgotten first");
    }
}
