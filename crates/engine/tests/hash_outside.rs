//! `EngineConfig::hash_outside`: the glue computes each received piece's
//! SHA-256 (`Output::HashPiece` → `Input::PieceHashed`), the engine still
//! decides. A piece is verified only when the digest it is given is the
//! metadata's, a wrong digest is a bad piece (its sender struck, then
//! banned), and the piece is not asked for again while it is being hashed.

mod common;

use common::*;
use edgeswarm_engine::{BanReason, EngineConfig, Event, HashJob, Input, Output, PeerKey, Source};
use edgeswarm_protocol::sha256;
use edgeswarm_protocol::wire::Message;

const A: PeerKey = PeerKey(1);

/// A node with peer A holding every piece, and the pieces it asked A for.
fn node(f: &[u8]) -> (Node, Vec<u32>) {
    let (meta, mb) = metadata(f);
    let cfg = EngineConfig {
        hash_outside: true,
        ..EngineConfig::default()
    };
    let mut n = Node::new(cfg, content(&mb, true), f.len());
    n.input(Input::PeerCandidates(vec![A]));
    n.input(Input::PeerConnected { peer: A });
    for fr in hello(&meta, &mb, vec![0xf0]) {
        n.input(Input::PeerData { peer: A, bytes: fr });
    }
    let asked = frames_to(&n.drain(), A)
        .iter()
        .filter_map(|m| match m {
            Message::Request { piece, .. } => Some(*piece),
            _ => None,
        })
        .collect();
    (n, asked)
}

fn jobs(outs: &[Output]) -> Vec<(HashJob, u32, Vec<u8>)> {
    outs.iter()
        .filter_map(|o| match o {
            Output::HashPiece { job, piece, bytes } => Some((*job, *piece, bytes.to_vec())),
            _ => None,
        })
        .collect()
}

#[test]
fn the_glue_hashes_and_the_engine_decides() {
    let f = file(4 * PIECE);
    let (mut n, asked) = node(&f);
    let first = asked[0];
    send_piece(&mut n, A, &f, first);
    let outs = n.drain();
    let asked = jobs(&outs);
    assert_eq!(asked.len(), 1, "{outs:?}");
    let (job, piece, bytes) = asked[0].clone();
    let at = first as usize * PIECE;
    assert_eq!((piece, &bytes[..]), (first, &f[at..at + PIECE]));
    assert!(!n
        .events
        .iter()
        .any(|e| matches!(e, Event::PieceVerified { .. })));
    let again = frames_to(&outs, A)
        .iter()
        .any(|m| matches!(m, Message::Request { piece, .. } if *piece == first));
    assert!(!again, "a piece being hashed is not asked again");

    n.input(Input::PieceHashed {
        job,
        sha256: sha256(&bytes),
    });
    n.drain();
    assert!(n.events.contains(&Event::PieceVerified {
        piece: first,
        source: Source::Peer(A)
    }));
    assert_eq!(
        &n.stored[at..at + PIECE],
        &f[at..at + PIECE],
        "stored as received"
    );
    // Answered twice, or never asked: ignored.
    n.input(Input::PieceHashed {
        job,
        sha256: [0; 32],
    });
    n.input(Input::PieceHashed {
        job: HashJob(999),
        sha256: [0; 32],
    });
    let verified = |n: &Node| {
        n.events
            .iter()
            .filter(|e| matches!(e, Event::PieceVerified { .. }))
            .count()
    };
    assert_eq!(verified(&n), 1);
    assert!(!n
        .events
        .iter()
        .any(|e| matches!(e, Event::PieceRejected { .. })));
}

#[test]
fn a_digest_that_is_not_the_metadatas_is_a_bad_piece() {
    let f = file(4 * PIECE);
    let (mut n, asked) = node(&f);
    assert!(asked.len() >= 2, "{asked:?}");
    for &piece in &asked[..2] {
        send_piece(&mut n, A, &f, piece);
        let outs = n.drain();
        for (job, _, bytes) in jobs(&outs) {
            // The glue's digest of other bytes (as if the bytes were corrupt).
            let mut other = bytes.clone();
            other[0] ^= 1;
            n.input(Input::PieceHashed {
                job,
                sha256: sha256(&other),
            });
        }
        n.drain();
    }
    let rejected = n
        .events
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::PieceRejected {
                    source: Source::Peer(A),
                    ..
                }
            )
        })
        .count();
    assert_eq!(rejected, 2);
    assert!(n.events.contains(&Event::PeerBanned {
        peer: A,
        reason: BanReason::BadPieces
    }));
    assert!(!n
        .events
        .iter()
        .any(|e| matches!(e, Event::PieceVerified { .. })));
}

#[test]
fn pieces_waiting_for_their_hash_hold_new_requests_back() {
    const N: usize = 32;
    let f = file(N * PIECE);
    let (meta, mb) = metadata(&f);
    let cfg = EngineConfig {
        hash_outside: true,
        max_unstored_bytes: 2 * PIECE as u64,
        ..EngineConfig::default()
    };
    let mut n = Node::new(cfg, content(&mb, true), f.len());
    n.input(Input::PeerCandidates(vec![A]));
    n.input(Input::PeerConnected { peer: A });
    for fr in hello(&meta, &mb, vec![0xff; N / 8]) {
        n.input(Input::PeerData { peer: A, bytes: fr });
    }
    // A answers every request at once; nobody answers a hash job.
    let mut waiting = Vec::new();
    let mut outs = n.drain();
    let mut sent = 0;
    loop {
        waiting.extend(jobs(&outs));
        let asked: Vec<u32> = frames_to(&outs, A)
            .iter()
            .filter_map(|m| match m {
                Message::Request { piece, .. } => Some(*piece),
                _ => None,
            })
            .collect();
        if asked.is_empty() {
            break;
        }
        for piece in asked {
            send_piece(&mut n, A, &f, piece);
            sent += 1;
        }
        outs = n.drain();
    }
    // The bound, plus what was in flight when it was reached (one pipeline).
    let bound = 2 + EngineConfig::default().max_requests_per_peer;
    assert!(
        sent <= bound,
        "{sent} pieces sent while {} wait for their hash",
        waiting.len()
    );
    assert!(!waiting.is_empty());
    // The digests come back: the hold lifts and the download goes on.
    for (job, _, bytes) in waiting {
        n.input(Input::PieceHashed {
            job,
            sha256: sha256(&bytes),
        });
    }
    let more = frames_to(&n.drain(), A)
        .iter()
        .any(|m| matches!(m, Message::Request { .. }));
    assert!(more, "requests start again once the hashes are in");
}
