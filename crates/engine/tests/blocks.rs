//! The receive path for piece blocks: a piece arriving in blocks of any size
//! is assembled (once, when its last byte is in, into the buffer that is
//! then stored and served) with every byte intact; a block at the wrong offset or running past the
//! piece's end bans its sender and nothing of it is stored.

mod common;

use common::*;
use edgeswarm_engine::{BanReason, Event, Input, PeerKey};
use edgeswarm_protocol::wire::{self, Message};

const A: PeerKey = PeerKey(1);

/// A node connected to `A`, which has every piece; returns the node and
/// the piece it asked `A` for first.
fn asking_a(f: &[u8]) -> (Node, u32) {
    let mut n = greeted_by(f, A, vec![0xf0]);
    let piece = frames_to(&n.drain(), A)
        .into_iter()
        .find_map(|m| match m {
            Message::Request { piece } => Some(piece),
            _ => None,
        })
        .expect("a request to A");
    (n, piece)
}

fn block(n: &mut Node, piece: u32, offset: usize, data: &[u8]) {
    let bytes = wire::encode_piece_data(piece, offset as u32, data);
    n.input(Input::PeerData { peer: A, bytes });
}

fn banned_for_offset(n: &Node) -> bool {
    n.events.contains(&Event::PeerBanned {
        peer: A,
        reason: BanReason::ProtocolViolation("block at the wrong offset"),
    })
}

#[test]
fn a_piece_in_uneven_blocks_is_stored_intact() {
    let f = file(4 * PIECE);
    let (mut n, piece) = asking_a(&f);
    let start = piece as usize * PIECE;
    let mut at = 0;
    for len in [1, 4095, 7000, PIECE - 11_096] {
        block(&mut n, piece, at, &f[start + at..start + at + len]);
        at += len;
    }
    n.drain();
    assert!(n
        .events
        .iter()
        .any(|e| matches!(e, Event::PieceVerified { piece: p, .. } if *p == piece)));
    assert_eq!(&n.stored[start..start + PIECE], &f[start..start + PIECE]);
    assert_eq!(n.engine.stats().peers_banned, 0);
}

#[test]
fn a_block_at_the_wrong_offset_or_past_the_end_bans_and_stores_nothing() {
    let f = file(4 * PIECE);
    for (first, second_at, second_len) in [
        (PIECE / 2, 0, 16),                    // repeats bytes already received
        (PIECE / 2, PIECE / 2 + 1, 16),        // leaves a gap
        (PIECE / 2, PIECE / 2, PIECE / 2 + 1), // runs past the end
        (0, 0, PIECE + 1),                     // a first block longer than the piece
    ] {
        let (mut n, piece) = asking_a(&f);
        let start = piece as usize * PIECE;
        if first > 0 {
            block(&mut n, piece, 0, &f[start..start + first]);
        }
        block(&mut n, piece, second_at, &vec![7; second_len]);
        n.drain();
        assert!(
            banned_for_offset(&n),
            "{first} then {second_len} at {second_at}"
        );
        assert!(n.stored.iter().all(|b| *b == 0), "nothing was stored");
    }
}
