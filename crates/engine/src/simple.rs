//! Simple mode: no (trusted) metadata, so HTTP only, in ranges of
//! `simple_chunk_size`, never talking to peers.
//!
//! Chunks are requested in ascending order (at most `http_concurrency` at a
//! time, never more than 2 × `http_concurrency` chunks ahead of the first
//! unhashed one), stored as they arrive, and fed to a streaming SHA-256 in
//! file order; chunks that arrive early wait in memory (bounded by that
//! window). That streaming hash is the download's only whole-file hash:
//! `Done` carries it. When the whole-file hash is known and the assembled
//! file does not match, the download ends with `Event::FileHashMismatch`
//! instead of `Done`. Chunks are this engine's pieces: [`Simple::layout`]
//! tells storage where each one goes (a tiny configured chunk size grows so
//! that chunk numbers fit a u32).
//!
//! Answers come whole (`HttpResponse`) or streamed (`HttpHead`, `HttpData`…,
//! `HttpEnd`): a streamed chunk is assembled by a [`RangeBody`], which
//! refuses bytes past the chunk's length before keeping them.
//!
//! Storage back-pressure ([`StoreGate`]): no new range starts while
//! `max_unstored_bytes` of stored-but-unconfirmed chunks are pending, and
//! `Done` waits for every chunk's `PieceStored`.
//!
//! States: Downloading → Hashed (every chunk hashed, writes pending) → Done
//! | Failed (hash mismatch, or a failed write: `StoreFailed`). Failed requests are
//! retried with the shared [`HttpRetry`] policy (exponential backoff; a
//! request unanswered after `slow_piece_timeout_ms`, doubled per consecutive
//! failure, counts as failed and a late answer to it is ignored).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::config::EngineConfig;
use crate::range_body::RangeBody;
use crate::retry::HttpRetry;
use crate::store_gate::StoreGate;
use crate::types::{Event, HttpRequestId, Input, Layout, Millis, Output, Source, Stats};

pub(crate) struct Simple {
    cfg: EngineConfig,
    file_size: u64,
    file_sha256: Option<[u8; 32]>,
    chunk: u64,
    chunks: u32,
    /// Failed chunks to request again, ascending (retried before new ones).
    again: BTreeSet<u32>,
    /// The first chunk never requested yet.
    next_new: u32,
    /// Request → (chunk, deadline).
    in_flight: BTreeMap<HttpRequestId, (u32, Millis)>,
    /// Streamed answers whose status was accepted: their bodies so far.
    streaming: BTreeMap<HttpRequestId, RangeBody>,
    next_id: u64,
    early: BTreeMap<u32, Arc<[u8]>>,
    next_to_hash: u32,
    hasher: Sha256,
    /// The whole-file hash once every chunk is hashed (Hashed state).
    digest: Option<[u8; 32]>,
    store: StoreGate,
    retry: HttpRetry,
    out: VecDeque<Output>,
    stats: Stats,
    finished: bool,
    now: Millis,
}

impl Simple {
    pub fn new(
        cfg: EngineConfig,
        file_size: u64,
        file_sha256: Option<[u8; 32]>,
        now: Millis,
    ) -> Self {
        // Chunks are numbered by u32: a tiny configured chunk size grows so
        // that the whole file is still covered.
        let chunk =
            u64::from(cfg.simple_chunk_size.max(1)).max(file_size.div_ceil(u64::from(u32::MAX)));
        let chunks = u32::try_from(file_size.div_ceil(chunk)).unwrap_or(u32::MAX);
        let store = StoreGate::new(cfg.max_unstored_bytes);
        let mut s = Self {
            cfg,
            file_size,
            file_sha256,
            chunk,
            chunks,
            again: BTreeSet::new(),
            next_new: 0,
            in_flight: BTreeMap::new(),
            streaming: BTreeMap::new(),
            next_id: 0,
            early: BTreeMap::new(),
            next_to_hash: 0,
            hasher: Sha256::new(),
            digest: None,
            store,
            retry: HttpRetry::default(),
            out: VecDeque::new(),
            stats: Stats {
                bytes_left: file_size,
                ..Stats::default()
            },
            finished: false,
            now,
        };
        s.tick();
        s
    }

    /// Chunks are this engine's pieces.
    pub fn layout(&self) -> Layout {
        Layout {
            file_size: self.file_size,
            piece_size: self.chunk,
        }
    }

    fn range(&self, c: u32) -> std::ops::Range<u64> {
        let start = u64::from(c) * self.chunk;
        start..start.saturating_add(self.chunk).min(self.file_size)
    }

    pub fn handle(&mut self, now: Millis, input: Input) {
        self.now = self.now.max(now);
        match input {
            Input::PeerConnected { peer } => self.out.push_back(Output::DisconnectPeer { peer }),
            Input::HttpResponse { id, status, body } => {
                self.streaming.remove(&id);
                if let Some((c, _)) = self.in_flight.remove(&id) {
                    self.stats.bytes_from_http += body.len() as u64;
                    let r = self.range(c);
                    let ok = self.status_ok(status) && body.len() as u64 == r.end - r.start;
                    if ok {
                        self.retry.succeeded();
                        self.accept(c, body.into());
                    } else {
                        self.retry_later(c);
                    }
                }
            }
            Input::HttpHead { id, status } => self.on_head(id, status),
            Input::HttpData { id, bytes } => self.on_data(id, bytes),
            Input::HttpEnd { id } | Input::HttpFailed { id } => self.fail(id),
            Input::PieceStored { piece } => {
                self.store.stored(piece);
            }
            // A failed write ends the download (see `store_gate`).
            Input::PieceStoreFailed { piece }
                if self.store.store_failed(piece) && !self.finished =>
            {
                self.finished = true;
                self.out
                    .push_back(Output::Event(Event::StoreFailed { piece }));
            }
            _ => {}
        }
        self.tick();
    }

    fn status_ok(&self, status: u16) -> bool {
        status == 206 || (status == 200 && self.chunks == 1)
    }

    /// A streamed answer's status: accepted, or the request failed.
    fn on_head(&mut self, id: HttpRequestId, status: u16) {
        let Some(&(c, _)) = self.in_flight.get(&id) else {
            return;
        };
        if self.status_ok(status) && !self.streaming.contains_key(&id) {
            let r = self.range(c);
            let len = r.end - r.start;
            self.streaming.insert(id, RangeBody::new(len, len));
        } else {
            self.fail(id);
        }
    }

    /// The next bytes of a streamed chunk (its one piece comes out whole).
    fn on_data(&mut self, id: HttpRequestId, bytes: Vec<u8>) {
        let Some(&(c, _)) = self.in_flight.get(&id) else {
            return;
        };
        self.stats.bytes_from_http += bytes.len() as u64;
        let fed = self.streaming.get_mut(&id).map(|b| b.feed(bytes, |_| true));
        match fed {
            Some(Ok(fed)) => {
                if let Some((_, bytes)) = fed.done.into_iter().next() {
                    self.in_flight.remove(&id);
                    self.streaming.remove(&id);
                    self.retry.succeeded();
                    self.accept(c, bytes.into());
                }
            }
            // Bytes before the status, or past the chunk's length.
            None | Some(Err(_)) => self.fail(id),
        }
    }

    /// The request ended without its whole chunk (or failed).
    fn fail(&mut self, id: HttpRequestId) {
        self.streaming.remove(&id);
        if let Some((c, _)) = self.in_flight.remove(&id) {
            self.retry_later(c);
        }
    }

    fn retry_later(&mut self, c: u32) {
        self.again.insert(c);
        self.retry.failed(&self.cfg, self.now);
    }

    fn accept(&mut self, c: u32, bytes: Arc<[u8]>) {
        let r = self.range(c);
        self.stats.bytes_left = self.stats.bytes_left.saturating_sub(bytes.len() as u64);
        self.stats.pieces_verified += 1;
        self.store.handed(c, bytes.len() as u64);
        self.out.push_back(Output::StorePiece {
            piece: c,
            offset: r.start,
            bytes: bytes.clone(),
        });
        self.out.push_back(Output::Event(Event::PieceVerified {
            piece: c,
            source: Source::Http,
        }));
        self.early.insert(c, bytes);
        while let Some(b) = self.early.remove(&self.next_to_hash) {
            self.hasher.update(&b);
            self.next_to_hash += 1;
        }
    }

    /// Requests past their deadline are retried (see the module doc).
    fn expire(&mut self) {
        let now = self.now;
        let expired: Vec<HttpRequestId> = self
            .in_flight
            .iter()
            .filter(|(_, (_, deadline))| *deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            self.fail(id);
        }
    }

    fn tick(&mut self) {
        if self.finished {
            return;
        }
        self.expire();
        if self.next_to_hash == self.chunks {
            let digest = match self.digest {
                Some(d) => d,
                None => {
                    let d: [u8; 32] = std::mem::take(&mut self.hasher).finalize().into();
                    self.digest = Some(d);
                    d
                }
            };
            let event = match self.file_sha256 {
                Some(want) if want != digest => Event::FileHashMismatch,
                // Done only once every chunk's write is confirmed.
                _ if !self.store.drained() => return,
                known => Event::Done {
                    sha256: digest,
                    verified: known.is_some(),
                },
            };
            self.finished = true;
            self.out.push_back(Output::Event(event));
            return;
        }
        if self.now < self.retry.backoff_until() {
            return;
        }
        let concurrency = self.cfg.http_concurrency.max(1);
        // Chunks wait in memory until the ones before them are hashed: never
        // run further ahead than twice the concurrency.
        let window = u32::try_from(2 * concurrency).unwrap_or(u32::MAX);
        let limit = self.next_to_hash.saturating_add(window).min(self.chunks);
        while self.in_flight.len() < concurrency && !self.store.holds() {
            let c = match self.again.pop_first() {
                Some(c) => c,
                None if self.next_new < limit => {
                    self.next_new += 1;
                    self.next_new - 1
                }
                None => break,
            };
            let id = HttpRequestId(self.next_id);
            self.next_id += 1;
            let timeout = self.retry.request_timeout(&self.cfg);
            self.in_flight.insert(id, (c, self.now.plus(timeout)));
            let range = self.range(c);
            self.out.push_back(Output::HttpRequest { id, range });
        }
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<Millis> {
        if self.finished {
            return None;
        }
        let until = self.retry.backoff_until();
        let backoff = (until > self.now).then_some(until);
        let expiry = self.in_flight.values().map(|(_, deadline)| *deadline).min();
        [backoff, expiry].into_iter().flatten().min()
    }

    pub fn stats(&self) -> Stats {
        self.stats.clone()
    }

    pub fn is_done(&self) -> bool {
        self.finished
    }

    /// Storage is behind (the gate holds): no new range starts.
    pub fn storage_holds(&self) -> bool {
        self.store.holds()
    }
}
