//! The simulated CPU: one thread per honest node (a browser page's main
//! thread) running on a pool of cores shared by every node.
//!
//! Every message a node receives or sends, every CDN response it gets, costs
//! that node's thread `cost` µs of work ([`crate::Costs`]). Work items of one
//! node run one after another, in the order they were submitted; items of
//! different nodes run in parallel on up to `cores` cores (`0`: every node
//! has a core of its own). An item starts when its input is ready, its
//! node's thread is free and a core is free.
//!
//! Cores are assigned greedily at submission, in event order (virtual time):
//! an item takes the core that lets it start earliest, and among those the
//! one that became free last (so the cores left idle stay free for others).
//! Invariants: a node's items finish in submission order, no core runs two
//! items at once, and with every cost zero each item finishes the moment it
//! is submitted (the simulator then behaves exactly as without this model).

use crate::net::Micros;

pub(crate) struct Cpu {
    /// When each node's thread is free.
    thread_free: Vec<Micros>,
    /// When each shared core is free (empty: a core per node).
    core_free: Vec<Micros>,
}

impl Cpu {
    pub fn new(nodes: usize, cores: u32) -> Self {
        Self {
            thread_free: vec![0; nodes],
            core_free: vec![0; cores as usize],
        }
    }

    /// Runs `cost` µs of work for `node`, ready at `ready`; returns when it
    /// finishes. A zero-cost item on a free thread finishes at `ready`.
    pub fn run(&mut self, node: usize, ready: Micros, cost: Micros) -> Micros {
        let Some(free) = self.thread_free.get_mut(node) else {
            return ready;
        };
        let ready = ready.max(*free);
        if cost == 0 {
            // Nothing to run: only the thread's order matters.
            return ready;
        }
        let start = match self.core_free.is_empty() {
            true => ready,
            false => {
                let mut best = 0;
                let mut best_key = (Micros::MAX, 0);
                for (c, &f) in self.core_free.iter().enumerate() {
                    // Earliest start first, then the core idle the shortest.
                    let key = (ready.max(f), Micros::MAX - f.min(ready));
                    if key < best_key {
                        best_key = key;
                        best = c;
                    }
                }
                let start = best_key.0;
                self.core_free[best] = start + cost;
                start
            }
        };
        let done = start + cost;
        *free = done;
        done
    }
}

#[cfg(test)]
mod tests {
    use super::Cpu;

    #[test]
    fn one_node_runs_its_items_in_order() {
        let mut c = Cpu::new(1, 0);
        assert_eq!(c.run(0, 10, 5), 15);
        assert_eq!(c.run(0, 11, 5), 20);
        assert_eq!(c.run(0, 12, 0), 20, "a free item still waits its turn");
        assert_eq!(c.run(0, 30, 0), 30);
    }

    #[test]
    fn nodes_share_the_cores() {
        let mut c = Cpu::new(3, 2);
        assert_eq!(c.run(0, 0, 10), 10);
        assert_eq!(c.run(1, 0, 10), 10);
        assert_eq!(c.run(2, 0, 10), 20, "third node waits for a core");
        let mut own = Cpu::new(3, 0);
        assert_eq!(own.run(2, 0, 10), 10, "with a core per node it does not");
    }

    #[test]
    fn a_core_free_long_ago_is_kept_for_later() {
        let mut c = Cpu::new(3, 2);
        c.run(0, 0, 10); // core A busy until 10
        c.run(1, 50, 0); // free: takes no core
        assert_eq!(c.run(1, 20, 5), 25); // A or B: both free at 20
        assert_eq!(c.run(2, 20, 5), 25, "the other core is still free");
    }
}
