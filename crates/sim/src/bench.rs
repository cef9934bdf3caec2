//! Figures (not tests): CDN copies per file for swarms of 8, 32 and 300
//! peers starting at once, simulated peer-pieces per wall-clock second, and
//! engine time per piece next to SHA-256 time per piece. Meant for release
//! builds (`cargo run --release -p edgeswarm-sim --example bench`).

use std::time::Instant;

use edgeswarm_engine::{Content, Engine, EngineConfig, Input, Millis, Output, PeerKey};
use edgeswarm_protocol::{sha256, ContentId, MetadataBuilder, PieceSize};
use serde::Serialize;

use crate::{run, SimConfig, SimReport};

/// One swarm size's outcome.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SwarmFigure {
    pub peers: usize,
    pub cdn_copies: f64,
    pub completed: usize,
    pub virtual_seconds: f64,
    pub wall_seconds: f64,
    /// Pieces verified by all peers together per wall-clock second.
    pub peer_pieces_per_wall_second: f64,
    /// Wall time per verified piece, everything included, microseconds.
    pub sim_micros_per_piece: f64,
}

/// All figures.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BenchReport {
    pub file_size: u64,
    pub piece_size: u32,
    pub swarms: Vec<SwarmFigure>,
    /// SHA-256 of one piece, microseconds.
    pub sha256_micros_per_piece: f64,
    /// Simulation time per piece minus SHA-256: the engine, the codec and the
    /// simulated network together, microseconds.
    pub overhead_micros_per_piece: f64,
    /// Two engines in one thread, no simulator: one serves a 64 MiB file in
    /// 1 MiB pieces to the other. Both engines' time per piece, microseconds
    /// (includes the receiver's SHA-256).
    pub engine_pair_micros_per_1mib_piece: f64,
    /// SHA-256 of one 1 MiB piece, microseconds.
    pub sha256_micros_per_1mib_piece: f64,
}

/// The swarm used for the CDN-copies figure: everyone starts at once.
pub fn swarm_config(peers: usize) -> SimConfig {
    SimConfig {
        peers,
        file_size: 8 << 20,
        piece_size: 128 << 10,
        seed: 7,
        ..SimConfig::default()
    }
}

fn figure(peers: usize) -> (SwarmFigure, SimReport) {
    let cfg = swarm_config(peers);
    let pieces = cfg.file_size.div_ceil(u64::from(cfg.piece_size)) as f64;
    let start = Instant::now();
    // The bench configuration is valid by construction.
    let r = run(cfg).expect("bench configuration is valid");
    let wall = start.elapsed().as_secs_f64();
    let total = pieces * r.completed as f64;
    let fig = SwarmFigure {
        peers,
        cdn_copies: r.cdn_copies,
        completed: r.completed,
        virtual_seconds: r.virtual_seconds,
        wall_seconds: wall,
        peer_pieces_per_wall_second: total / wall,
        sim_micros_per_piece: wall * 1e6 / total.max(1.0),
    };
    (fig, r)
}

/// Runs every figure and returns them.
pub fn bench_report() -> BenchReport {
    let swarms: Vec<SwarmFigure> = [8, 32, 300].into_iter().map(|n| figure(n).0).collect();
    let cfg = swarm_config(1);
    let piece = vec![0x5au8; cfg.piece_size as usize];
    let rounds = 200;
    let start = Instant::now();
    let mut acc = 0u8;
    for _ in 0..rounds {
        acc ^= sha256(&piece)[0];
    }
    let sha_us = start.elapsed().as_secs_f64() * 1e6 / f64::from(rounds);
    std::hint::black_box(acc);
    let per_piece = swarms.last().map_or(0.0, |s| s.sim_micros_per_piece);
    let (pair_us, sha_1mib_us) = engine_pair(64 << 20, 1 << 20);
    BenchReport {
        engine_pair_micros_per_1mib_piece: pair_us,
        sha256_micros_per_1mib_piece: sha_1mib_us,
        file_size: cfg.file_size,
        piece_size: cfg.piece_size,
        swarms,
        sha256_micros_per_piece: sha_us,
        overhead_micros_per_piece: per_piece - sha_us,
    }
}

/// Times one engine serving a whole file to another, directly connected.
/// Returns (µs per piece for both engines, µs of SHA-256 per piece); the
/// first is NaN unless the receiver stored every byte of the file intact.
///
/// # Panics
/// If `piece_size` is not a valid piece size (a power of two, 16 KiB..=16 MiB).
pub fn engine_pair(file_size: usize, piece_size: u32) -> (f64, f64) {
    let file: Vec<u8> = (0..file_size).map(|i| (i ^ (i >> 11)) as u8).collect();
    // A constant, valid id; the piece size is the caller's promise (see # Panics).
    let id = ContentId::new("bench").expect("valid id");
    let mut b = MetadataBuilder::new(
        id,
        PieceSize::new(u64::from(piece_size)).expect("valid piece size"),
    );
    b.update(&file);
    // An in-memory file has far fewer than 2^32 pieces of at least 16 KiB.
    let meta = b.finish().expect("metadata of an in-memory file");
    let meta_bytes = meta.encode();
    let content = Content {
        mode: edgeswarm_protocol::DownloadMode::Internet,
        metadata_sha256: Some(sha256(&meta_bytes)),
        metadata: Some(meta_bytes),
        p2p_allowed: true,
        ..Content::default()
    };
    let (a_key, b_key) = (PeerKey(1), PeerKey(2));
    let mut a = Engine::new(EngineConfig::default(), content.clone(), Millis(0), 1);
    a.handle_input(Millis(0), Input::PeerCandidates(Vec::new()));
    // A fetches everything from "HTTP" (memory), answering at once.
    while !a.is_finished() {
        let mut fed = false;
        while let Some(o) = a.poll_output() {
            match o {
                Output::HttpRequest { id, range } => {
                    let body = file[range.start as usize..range.end as usize].to_vec();
                    a.handle_input(
                        Millis(0),
                        Input::HttpResponse {
                            id,
                            status: 206,
                            body,
                        },
                    );
                    fed = true;
                }
                Output::StorePiece { piece, .. } => {
                    a.handle_input(Millis(0), Input::PieceStored { piece });
                    fed = true;
                }
                _ => {}
            }
        }
        if !fed {
            break;
        }
    }
    let cfg = EngineConfig {
        http_delay_secs: 3600,
        ..EngineConfig::default()
    };
    let mut b = Engine::new(cfg, content, Millis(0), 2);
    let start = Instant::now();
    b.handle_input(Millis(0), Input::PeerCandidates(vec![a_key]));
    a.handle_input(Millis(0), Input::PeerConnected { peer: b_key });
    b.handle_input(Millis(0), Input::PeerConnected { peer: a_key });
    let mut t = 0;
    let mut stored = 0u64;
    let mut intact = true;
    while !b.is_finished() {
        t += 1;
        let mut moved = false;
        while let Some(o) = a.poll_output() {
            match o {
                Output::SendToPeer { bytes, .. } => {
                    b.handle_input(Millis(t), Input::PeerData { peer: a_key, bytes });
                    moved = true;
                }
                Output::ReadPiece { piece } => {
                    // The engine only reads back pieces it verified, which exist.
                    let index = meta.piece(piece).expect("engine asks for valid pieces");
                    let s = meta.piece_offset(index) as usize;
                    let bytes = file[s..s + meta.piece_len(index) as usize].into();
                    a.handle_input(Millis(t), Input::PieceRead { piece, bytes });
                    moved = true;
                }
                _ => {}
            }
        }
        while let Some(o) = b.poll_output() {
            match o {
                Output::SendToPeer { bytes, .. } => {
                    a.handle_input(Millis(t), Input::PeerData { peer: b_key, bytes });
                    moved = true;
                }
                Output::StorePiece {
                    piece,
                    offset,
                    bytes,
                } => {
                    let at = offset as usize;
                    intact &= file.get(at..at + bytes.len()) == Some(&bytes[..]);
                    stored += bytes.len() as u64;
                    b.handle_input(Millis(t), Input::PieceStored { piece });
                }
                _ => {}
            }
        }
        if !moved {
            break;
        }
    }
    let pieces = f64::from(meta.piece_count());
    let pair_us = if b.is_finished() && intact && stored == file_size as u64 {
        start.elapsed().as_secs_f64() * 1e6 / pieces
    } else {
        f64::NAN // the transfer stalled: no figure
    };
    let piece = &file[..(piece_size as usize).min(file.len())];
    let rounds = 50;
    let start = Instant::now();
    let mut acc = 0u8;
    for _ in 0..rounds {
        acc ^= sha256(piece)[0];
    }
    std::hint::black_box(acc);
    (
        pair_us,
        start.elapsed().as_secs_f64() * 1e6 / f64::from(rounds),
    )
}
