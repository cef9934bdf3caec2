//! The memory a download holds for pieces being received grows with the
//! bytes that came, not with the pieces requested (docs/security.md,
//! "memory of a download (piece receive buffers), amplified"): peers that
//! send one byte of every piece they were asked for must not make the
//! engine hold whole pieces. Counted by a global allocator, so this file
//! holds this one test (another test's allocations would count too).

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use common::{content, frames_to, hello, metadata_sized, Node};
use edgeswarm_engine::{EngineConfig, Input, PeerKey};
use edgeswarm_protocol::wire::{self, Message};

/// Bytes currently allocated through the global allocator.
static LIVE: AtomicIsize = AtomicIsize::new(0);

struct Counting;

/// Adds `by` to `LIVE` when the allocation it belongs to succeeded.
fn count(ptr: *mut u8, by: isize) -> *mut u8 {
    if !ptr.is_null() {
        LIVE.fetch_add(by, Ordering::Relaxed);
    }
    ptr
}

// SAFETY: every call goes to `System` unchanged; only a counter is added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(unsafe { System.alloc(layout) }, layout.size() as isize)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(
            unsafe { System.alloc_zeroed(layout) },
            layout.size() as isize,
        )
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let by = new_size as isize - layout.size() as isize;
        count(unsafe { System.realloc(ptr, layout, new_size) }, by)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const PIECE: usize = 4 << 20;
const PIECES: usize = 16;
const PEERS: u64 = 8;

#[test]
fn one_byte_of_every_requested_piece_holds_bytes_not_pieces() {
    let f = vec![0x5a_u8; PIECE * PIECES];
    let (meta, mb) = metadata_sized(&f, PIECE);
    let cfg = EngineConfig {
        http_delay_secs: 3600,
        ..EngineConfig::default()
    };
    let mut n = Node::new(cfg, content(&mb, true), f.len());
    let peers: Vec<PeerKey> = (1..=PEERS).map(PeerKey).collect();
    n.input(Input::PeerCandidates(peers.clone()));
    for &p in &peers {
        n.input(Input::PeerConnected { peer: p });
        for fr in hello(&meta, &mb, vec![0xff, 0xff]) {
            n.input(Input::PeerData { peer: p, bytes: fr });
        }
    }
    let outs = n.drain();
    let asked: Vec<(PeerKey, u32)> = peers
        .iter()
        .flat_map(|&p| {
            frames_to(&outs, p)
                .into_iter()
                .filter_map(move |m| match m {
                    Message::Request { piece } => Some((p, piece)),
                    _ => None,
                })
        })
        .collect();
    assert!(
        asked.len() >= PEERS as usize,
        "every peer was asked: {asked:?}"
    );

    let before = LIVE.load(Ordering::Relaxed);
    for &(peer, piece) in &asked {
        let bytes = wire::encode_piece_data(piece, 0, &[0x5a]);
        n.input(Input::PeerData { peer, bytes });
    }
    let grew = LIVE.load(Ordering::Relaxed) - before;
    n.drain();

    assert_eq!(
        n.engine.stats().bytes_from_peers,
        asked.len() as u64,
        "every one-byte block was taken"
    );
    // A whole piece per request would be asked.len() × 4 MiB (32 MiB and
    // more), a whole 64 KiB chunk per request 64 KiB each; what came is one
    // byte each, plus bookkeeping.
    assert!(
        grew < asked.len() as isize * 4096,
        "{} requests answered with one byte each grew the heap by {grew} bytes",
        asked.len()
    );
    assert_eq!(n.engine.stats().peers_banned, 0);
}
