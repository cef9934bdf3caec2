//! Scripted malicious peers. They speak the real wire protocol (so they pass
//! the handshake) and then misbehave according to their [`MaliciousKind`].

use std::collections::HashMap;

use edgeswarm_protocol::wire::{
    self, Bitfield, Message, RejectReason, MAX_BLOCK_LEN, PROTOCOL_VERSION,
};
use edgeswarm_protocol::Metadata;
use rand_chacha::ChaCha8Rng;
use rand_core::Rng;

use crate::config::MaliciousKind;

/// Virtual time between two bytes of a drip (µs): just under the engine's
/// default 20 s stall timeout.
pub const DRIP_EVERY_US: u64 = 19_000_000;

/// Trickle: bytes per block and the time between blocks — 4 KiB/s per
/// request, twice the drip defence's floor (`minRequestBps`, 2 KiB/s).
pub const TRICKLE_BYTES: u32 = 1024;
pub const TRICKLE_EVERY_US: u64 = 250_000;

pub struct Attacker {
    pub kind: MaliciousKind,
    /// Pieces each connected victim announced (for the flood).
    victims: HashMap<usize, Vec<u32>>,
    /// Drip: requests being dripped, (victim, piece) → next offset.
    dripping: HashMap<(usize, u32), u32>,
    /// Drip: (victim, piece) whose next byte is due in `DRIP_EVERY_US`
    /// (the world drains this and schedules the timers).
    pub drip_due: Vec<(usize, u32)>,
}

impl Attacker {
    pub fn new(kind: MaliciousKind) -> Self {
        Self {
            kind,
            victims: HashMap::new(),
            dripping: HashMap::new(),
            drip_due: Vec::new(),
        }
    }

    /// Drip: the next one-byte block of `piece` for `victim`, if that
    /// request is still live (then the next one is due again later).
    pub fn drip(
        &mut self,
        victim: usize,
        piece: u32,
        file: &[u8],
        meta: &Metadata,
    ) -> Option<Vec<u8>> {
        let index = meta.piece(piece)?;
        let block = self.drip_bytes();
        let offset = self.dripping.get_mut(&(victim, piece))?;
        // Never the last byte: the request is never finished.
        let left = meta.piece_len(index).saturating_sub(*offset + 1);
        let len = left.min(block);
        if len == 0 {
            return None;
        }
        let at = meta.piece_offset(index) as usize + *offset as usize;
        let frame = wire::encode(&Message::PieceData {
            piece,
            offset: *offset,
            data: file.get(at..at + len as usize)?.to_vec(),
        });
        *offset += len;
        self.drip_due.push((victim, piece));
        Some(frame)
    }

    /// Bytes per drip block: one (drip) or [`TRICKLE_BYTES`] (trickle).
    fn drip_bytes(&self) -> u32 {
        match self.kind {
            MaliciousKind::Trickle => TRICKLE_BYTES,
            _ => 1,
        }
    }

    /// Time between drip blocks.
    pub fn drip_every_us(&self) -> u64 {
        match self.kind {
            MaliciousKind::Trickle => TRICKLE_EVERY_US,
            _ => DRIP_EVERY_US,
        }
    }

    /// Frames to send when a channel to `victim` opens.
    pub fn on_connect(
        &mut self,
        victim: usize,
        meta: &Metadata,
        meta_sha: [u8; 32],
    ) -> Vec<Vec<u8>> {
        self.victims.insert(victim, Vec::new());
        let hs = Message::Handshake {
            version: PROTOCOL_VERSION,
            content_id: meta.content_id().clone(),
            metadata_sha256: meta_sha,
        };
        let n = meta.piece_count();
        let bits = if matches!(
            self.kind,
            MaliciousKind::Flood | MaliciousKind::ForgedReport | MaliciousKind::FalseLease
        ) {
            Bitfield::new(n)
        } else {
            Bitfield::full(n)
        };
        let bits = bits.as_bytes().to_vec();
        let mut out = vec![wire::encode(&hs), wire::encode(&Message::Bitfield(bits))];
        if self.kind == MaliciousKind::Garbage {
            out.push(vec![0xff, 0xff, 0xff, 0x7f, 0xde, 0xad, 0xbe, 0xef]);
        }
        if self.kind == MaliciousKind::FalseLease {
            out.extend(self.false_leases(victim, n));
        }
        out
    }

    pub fn on_gone(&mut self, victim: usize) {
        self.victims.remove(&victim);
        self.dripping.retain(|(v, _), _| *v != victim);
    }

    /// Frames to answer a frame from `victim` with.
    pub fn on_frame(
        &mut self,
        victim: usize,
        frame: &[u8],
        meta: &Metadata,
        file: &[u8],
        rng: &mut ChaCha8Rng,
    ) -> Vec<Vec<u8>> {
        let Ok(msg) = wire::decode(frame) else {
            return Vec::new();
        };
        match (self.kind, msg) {
            (MaliciousKind::Corrupt | MaliciousKind::FlipBit, Message::Request { piece }) => {
                let Some(index) = meta.piece(piece) else {
                    return Vec::new();
                };
                let start = meta.piece_offset(index) as usize;
                let mut bytes = file[start..start + meta.piece_len(index) as usize].to_vec();
                if self.kind == MaliciousKind::Corrupt {
                    bytes.iter_mut().for_each(|b| *b ^= 0xa5);
                } else {
                    let bit = rng.next_u64() % (bytes.len() as u64 * 8);
                    bytes[(bit / 8) as usize] ^= 1 << (bit % 8);
                }
                bytes
                    .chunks(MAX_BLOCK_LEN)
                    .enumerate()
                    .map(|(i, c)| {
                        wire::encode(&Message::PieceData {
                            piece,
                            offset: (i * MAX_BLOCK_LEN) as u32,
                            data: c.to_vec(),
                        })
                    })
                    .collect()
            }
            (MaliciousKind::Drip | MaliciousKind::Trickle, Message::Request { piece }) => {
                // The first byte at once, then one every `DRIP_EVERY_US`.
                self.dripping.insert((victim, piece), 0);
                self.drip(victim, piece, file, meta).into_iter().collect()
            }
            (MaliciousKind::Drip | MaliciousKind::Trickle, Message::Cancel { piece }) => {
                self.dripping.remove(&(victim, piece));
                Vec::new()
            }
            (MaliciousKind::Lie, Message::Request { piece }) => {
                vec![wire::encode(&Message::Reject {
                    piece,
                    reason: RejectReason::NotHave,
                })]
            }
            // Both track what the victim holds and answer every update.
            (MaliciousKind::Flood | MaliciousKind::FalseLease, Message::Bitfield(bits)) => {
                let have: Vec<u32> = Bitfield::from_wire(&bits, meta.piece_count())
                    .map(|b| b.ones().collect())
                    .unwrap_or_default();
                self.victims.insert(victim, have);
                self.answer_victim(victim, meta.piece_count())
            }
            (MaliciousKind::Flood | MaliciousKind::FalseLease, Message::Have { piece }) => {
                self.victims.entry(victim).or_default().push(piece);
                self.answer_victim(victim, meta.piece_count())
            }
            _ => Vec::new(),
        }
    }

    /// A flood or false leases, for what the victim now holds.
    fn answer_victim(&self, victim: usize, pieces: u32) -> Vec<Vec<u8>> {
        match self.kind {
            MaliciousKind::FalseLease => self.false_leases(victim, pieces),
            _ => self.flood(victim),
        }
    }

    /// "I am fetching it from the CDN" for every piece the victim still
    /// lacks, the last ones first (what it will wait for at the end).
    fn false_leases(&self, victim: usize, pieces: u32) -> Vec<Vec<u8>> {
        let have = self.victims.get(&victim).map(Vec::as_slice).unwrap_or(&[]);
        (0..pieces)
            .rev()
            .filter(|p| !have.contains(p))
            .map(|piece| wire::encode(&Message::Fetching { piece }))
            .collect()
    }

    /// Requests every piece the victim announced, again and again.
    fn flood(&self, victim: usize) -> Vec<Vec<u8>> {
        let have = self.victims.get(&victim).map(Vec::as_slice).unwrap_or(&[]);
        have.iter()
            .map(|&piece| wire::encode(&Message::Request { piece }))
            .collect()
    }
}
