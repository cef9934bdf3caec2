//! Carrying out one engine [`Output`].

use edgeswarm_engine::Output;
use wasm_bindgen_futures::spawn_local;

use super::{now, Ev, Session};

impl Session {
    pub(super) fn on_output(&mut self, out: Output) {
        match out {
            Output::SendToPeer { peer, bytes } => {
                let Some(bytes) = corrupt_if_malicious(bytes) else {
                    return;
                };
                let len = bytes.len() as u64;
                if self.peers.send(peer, bytes) {
                    if let Some(id) = self.peers.id(peer).map(ToString::to_string) {
                        self.shared.borrow_mut().peer_mut(&id).bytes_to += len;
                    }
                }
            }
            Output::HttpRequest { id, range } => self.start_http(id, range),
            Output::ConnectPeer { peer } => {
                if let Some(input) = self.peers.connect(peer) {
                    self.engine.handle_input(now(), input);
                }
            }
            Output::DisconnectPeer { peer } => self.peers.disconnect(peer),
            Output::StorePiece {
                piece,
                offset,
                bytes,
            } => self.start_write(piece, offset, bytes),
            Output::ReadPiece { piece } => {
                let store = self.store.clone();
                let tx = self.tx.clone();
                spawn_local(async move {
                    let r = store.read_piece(piece).await;
                    let _ = tx.unbounded_send(Ev::Read(piece, r));
                });
            }
            // `hashOutside` (on where WebCrypto is, see `plan`): hashed
            // off the page's thread; in wasm, at once, without WebCrypto
            // or if it fails.
            Output::HashPiece { job, bytes, .. } => match self.digest.start(&bytes) {
                Some(promise) => {
                    let tx = self.tx.clone();
                    spawn_local(async move {
                        let sha256 = match crate::digest::finish(promise).await {
                            Some(d) => d,
                            None => edgeswarm_protocol::sha256(&bytes),
                        };
                        let _ = tx.unbounded_send(Ev::Hashed(job, sha256));
                    });
                }
                // Through the channel as well, so that the driver's step
                // after it (held readers resumed) runs as for WebCrypto's.
                None => {
                    let sha256 = edgeswarm_protocol::sha256(&bytes);
                    let _ = self.tx.unbounded_send(Ev::Hashed(job, sha256));
                }
            },
            Output::Event(e) => self.on_event_output(e),
        }
    }
}

/// The test-only attacker. By default every block of piece data this client
/// serves is flipped, so honest peers see pieces that fail their SHA-256.
/// With `globalThis.edgeswarmMaliciousMode = "drip"` (set by the e2e test
/// before the page loads; read only in this build) it drips instead: the
/// first byte of each requested piece, then nothing (`None`: not sent).
#[cfg(feature = "malicious-corrupt-serving")]
fn corrupt_if_malicious(bytes: Vec<u8>) -> Option<Vec<u8>> {
    use edgeswarm_protocol::wire::{decode, encode, Message};
    let drip = js_sys::Reflect::get(&js_sys::global(), &"edgeswarmMaliciousMode".into())
        .ok()
        .and_then(|v| v.as_string())
        .is_some_and(|m| m == "drip");
    match decode(&bytes) {
        Ok(Message::PieceData {
            piece,
            offset,
            data,
        }) if drip => (offset == 0).then(|| {
            encode(&Message::PieceData {
                piece,
                offset,
                data: data.into_iter().take(1).collect(),
            })
        }),
        Ok(Message::PieceData {
            piece,
            offset,
            mut data,
        }) => {
            for b in data.iter_mut() {
                *b ^= 0x5a;
            }
            Some(encode(&Message::PieceData {
                piece,
                offset,
                data,
            }))
        }
        _ => Some(bytes),
    }
}

#[cfg(not(feature = "malicious-corrupt-serving"))]
fn corrupt_if_malicious(bytes: Vec<u8>) -> Option<Vec<u8>> {
    Some(bytes)
}
