//! The simulator's answer to the engine's `Output::HashPiece`: SHA-256 on a
//! second thread, so that a large swarm hashes on one core while the world
//! runs the engines on the other.
//!
//! The world hands each job to [`Hasher::submit`] when the engine asks and
//! takes the digest back with [`Hasher::take`] when the answer's virtual
//! time comes ([`hash_delay_us`] later). Determinism: the digest is a
//! function of the bytes and the virtual time of the answer a function of
//! their length, so the report never depends on how the thread is
//! scheduled; only wall time does.
//!
//! Invariants: every submitted ticket is answered once; if the thread cannot
//! be started (or dies) the digest is computed on the caller's thread;
//! dropping the hasher ends the thread.

use std::collections::HashMap;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;

use edgeswarm_protocol::sha256;

/// SHA-256 throughput the virtual clock charges (the engine bench's
/// 669 µs per MiB with SHA-NI, rounded).
pub const HASH_BYTES_PER_SEC: u64 = 1_500_000_000;

/// Virtual time, in µs, between a hash job and its answer.
pub fn hash_delay_us(len: usize) -> u64 {
    (len as u64).saturating_mul(1_000_000) / HASH_BYTES_PER_SEC + 1
}

type Job = (u64, Arc<[u8]>);

pub(crate) struct Hasher {
    jobs: Option<Sender<Job>>,
    results: Option<Receiver<(u64, [u8; 32])>>,
    thread: Option<JoinHandle<()>>,
    /// Digests that came back before their turn, and inline ones.
    ready: HashMap<u64, [u8; 32]>,
    /// Jobs submitted to the thread and not yet taken, by ticket.
    pending: HashMap<u64, Arc<[u8]>>,
    next: u64,
}

impl Hasher {
    pub fn new() -> Self {
        let (jobs, inbox) = channel::<Job>();
        let (outbox, results) = channel();
        let thread = std::thread::Builder::new()
            .name("sim-sha256".into())
            .spawn(move || {
                for (ticket, bytes) in inbox {
                    if outbox.send((ticket, sha256(&bytes))).is_err() {
                        break;
                    }
                }
            })
            .ok();
        let (jobs, results) = match thread {
            Some(_) => (Some(jobs), Some(results)),
            None => (None, None),
        };
        Self {
            jobs,
            results,
            thread,
            ready: HashMap::new(),
            pending: HashMap::new(),
            next: 0,
        }
    }

    /// Starts hashing `bytes`; the ticket names the digest for [`Self::take`].
    pub fn submit(&mut self, bytes: Arc<[u8]>) -> u64 {
        let ticket = self.next;
        self.next += 1;
        let sent = self
            .jobs
            .as_ref()
            .is_some_and(|j| j.send((ticket, bytes.clone())).is_ok());
        if sent {
            self.pending.insert(ticket, bytes);
        } else {
            self.ready.insert(ticket, sha256(&bytes));
        }
        ticket
    }

    /// The digest of the bytes submitted under `ticket` (waits for the
    /// thread if it is not done yet).
    pub fn take(&mut self, ticket: u64) -> Option<[u8; 32]> {
        while !self.ready.contains_key(&ticket) && self.pending.contains_key(&ticket) {
            match self.results.as_ref().map(Receiver::recv) {
                Some(Ok((t, digest))) => {
                    self.pending.remove(&t);
                    self.ready.insert(t, digest);
                }
                // The thread is gone: hash what it left here.
                _ => {
                    self.results = None;
                    for (t, bytes) in self.pending.drain() {
                        self.ready.insert(t, sha256(&bytes));
                    }
                }
            }
        }
        self.ready.remove(&ticket)
    }
}

impl Drop for Hasher {
    fn drop(&mut self) {
        self.jobs = None;
        self.results = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_come_back_under_their_tickets_in_any_order() {
        let mut h = Hasher::new();
        let a = h.submit(Arc::from(&b"abc"[..]));
        let b = h.submit(Arc::from(vec![7u8; 1 << 20]));
        assert_eq!(h.take(b), Some(sha256(&vec![7u8; 1 << 20])));
        assert_eq!(h.take(a), Some(sha256(b"abc")));
        assert_eq!(h.take(a), None, "answered once");
        assert!(hash_delay_us(1 << 20) >= 600);
    }
}
