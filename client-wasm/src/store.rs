//! Where verified pieces live: the Origin Private File System, or memory.
//!
//! [`PieceStore`] follows the engine's [`Layout`] (piece `i` at
//! `layout.offset(i)`; in simple mode the engine's chunks) and the offset of
//! every `StorePiece`, which must agree with it. Invariants:
//! - only bytes the engine has verified are written (the glue calls
//!   [`PieceStore::write_piece`] on the engine's `StorePiece` output);
//! - a piece can be read back as soon as its write has *started*: until the
//!   backend has it, the bytes are served from a small pending map, so a peer's
//!   request that races the write is still answered;
//! - the whole file is never held in memory with the OPFS backend:
//!   [`PieceStore::to_file`] composes a `File` from the disk-backed pieces.
//!
//! A download is either *cached* ([`PieceStore::open_cached`]: its pieces stay
//! in the origin's cache, see [`crate::cache`], and are resumed and seeded
//! later) or *temporary* ([`PieceStore::open`]: deleted when the session ends
//! without delivering the file, e.g. files below the cache's minimum size).
//!
//! OPFS is preferred. When it is missing (old browsers, some private modes),
//! files up to [`MEMORY_FALLBACK_LIMIT`] are kept in memory instead, and
//! [`PieceStore::kind`] says so (the `Downloader` reports it in `stats()`).

mod memory;
pub(crate) mod opfs;

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use thiserror::Error;
use wasm_bindgen::JsValue;

use crate::cache::{self, ItemRecord, CACHE_DIR};
pub use memory::MemoryPieces;
pub use opfs::OpfsPieces;

/// The largest file the in-memory fallback accepts.
pub const MEMORY_FALLBACK_LIMIT: u64 = 256 * 1024 * 1024;

/// A storage failure.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StoreError {
    #[error("no OPFS in this browser and the file ({0} bytes) is too large for memory")]
    Unavailable(u64),
    #[error("piece {0} is out of range")]
    OutOfRange(u32),
    #[error("piece {index} has {got} bytes, expected {want}")]
    WrongLength { index: u32, got: usize, want: u64 },
    #[error("piece {index} belongs at offset {want}, not {got}")]
    WrongOffset { index: u32, got: u64, want: u64 },
    #[error("piece {0} was never stored")]
    Missing(u32),
    #[error("storage error: {0}")]
    Js(String),
}

impl StoreError {
    pub(crate) fn js(e: JsValue) -> Self {
        let msg = js_sys::Reflect::get(&e, &"message".into())
            .ok()
            .and_then(|m| m.as_string())
            .unwrap_or_else(|| format!("{e:?}"));
        Self::Js(msg)
    }
}

/// Which backend a [`PieceStore`] uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    Opfs,
    Memory,
}

impl StoreKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Opfs => "opfs",
            Self::Memory => "memory",
        }
    }
}

pub use edgeswarm_engine::Layout;

enum Backend {
    Opfs(OpfsPieces),
    Memory(MemoryPieces),
}

/// Verified pieces of one download.
pub struct PieceStore {
    backend: Backend,
    layout: Layout,
    pending: RefCell<HashMap<u32, Arc<[u8]>>>,
    /// The cache's record when the pieces live in the cache (kept after the
    /// session, resumed and seeded later); None for a temporary store.
    record: RefCell<Option<ItemRecord>>,
}

/// The directory of downloads that are not kept (`edgeswarm/tmp/<name>`).
const TMP_DIR: &str = "tmp";

impl PieceStore {
    /// Opens a fresh temporary store named `name`: OPFS when available, else
    /// memory (only for files up to `memory_limit` bytes). Its pieces are
    /// deleted with [`PieceStore::remove`].
    pub async fn open(name: &str, layout: Layout, memory_limit: u64) -> Result<Self, StoreError> {
        let backend = match OpfsPieces::open(&[TMP_DIR], name, true).await {
            Ok(o) => Backend::Opfs(o),
            Err(_) if layout.file_size <= memory_limit => {
                Backend::Memory(MemoryPieces::new(layout.file_size)?)
            }
            Err(_) => return Err(StoreError::Unavailable(layout.file_size)),
        };
        Ok(Self::with_backend(backend, layout))
    }

    /// Opens the cache's store of `record.content_id` (OPFS only) and
    /// returns the pieces it already holds for this metadata. An item
    /// verified against other metadata or another layout (republished) is
    /// emptied first; a piece file of the wrong length is deleted.
    pub async fn open_cached(
        mut record: ItemRecord,
        layout: Layout,
    ) -> Result<(Self, Vec<u32>), StoreError> {
        let id = record.content_id.clone();
        let mut o = OpfsPieces::open(&[CACHE_DIR], &id, false).await?;
        let same = |old: &ItemRecord| {
            old.metadata_sha256 == record.metadata_sha256
                && old.file_size == layout.file_size
                && old.piece_size == layout.piece_size
        };
        match cache::read_record(o.dir()).await {
            Some(old) if same(&old) => {
                record.created_ms = old.created_ms;
                record.complete = old.complete;
            }
            Some(_) => o = OpfsPieces::open(&[CACHE_DIR], &id, true).await?,
            None => {}
        }
        cache::write_record(o.dir(), &record).await?;
        let mut have = Vec::new();
        for (index, size) in o.stored().await? {
            if layout.piece_len(index) == Some(size) {
                have.push(index);
            } else {
                o.remove_piece(index).await;
            }
        }
        have.sort_unstable();
        let store = Self::with_backend(Backend::Opfs(o), layout);
        *store.record.borrow_mut() = Some(record);
        Ok((store, have))
    }

    /// Whether the pieces stay in the cache after the session.
    pub fn is_cached(&self) -> bool {
        self.record.borrow().is_some()
    }

    /// The cache's record of this download, if it is cached.
    pub fn record(&self) -> Option<ItemRecord> {
        self.record.borrow().clone()
    }

    /// Records that every piece is stored (the item can be seeded later).
    pub async fn mark_complete(&self) -> Result<(), StoreError> {
        let Backend::Opfs(o) = &self.backend else {
            return Ok(());
        };
        let record = {
            let mut r = self.record.borrow_mut();
            let Some(r) = r.as_mut() else { return Ok(()) };
            r.complete = true;
            r.last_used_ms = js_sys::Date::now();
            r.clone()
        };
        cache::write_record(o.dir(), &record).await
    }

    /// A store that keeps everything in memory (used when OPFS is unwanted).
    pub fn in_memory(layout: Layout) -> Result<Self, StoreError> {
        Ok(Self::with_backend(
            Backend::Memory(MemoryPieces::new(layout.file_size)?),
            layout,
        ))
    }

    fn with_backend(backend: Backend, layout: Layout) -> Self {
        Self {
            backend,
            layout,
            pending: RefCell::new(HashMap::new()),
            record: RefCell::new(None),
        }
    }

    pub fn kind(&self) -> StoreKind {
        match self.backend {
            Backend::Opfs(_) => StoreKind::Opfs,
            Backend::Memory(_) => StoreKind::Memory,
        }
    }

    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// Checks a write against the layout: piece `index` of `len` bytes at `offset`.
    fn check(&self, index: u32, offset: u64, len: usize) -> Result<(), StoreError> {
        let want = self
            .layout
            .piece_len(index)
            .ok_or(StoreError::OutOfRange(index))?;
        if len as u64 != want {
            return Err(StoreError::WrongLength {
                index,
                got: len,
                want,
            });
        }
        let at = self.layout.offset(index).unwrap_or(0);
        if offset != at {
            return Err(StoreError::WrongOffset {
                index,
                got: offset,
                want: at,
            });
        }
        Ok(())
    }

    /// Stores piece `index` at `offset` (the engine's `StorePiece`; its bytes
    /// must be the whole piece).
    pub async fn write_piece(
        &self,
        index: u32,
        offset: u64,
        bytes: Arc<[u8]>,
    ) -> Result<(), StoreError> {
        self.check(index, offset, bytes.len())?;
        self.pending.borrow_mut().insert(index, bytes.clone());
        let result = match &self.backend {
            Backend::Opfs(o) => o.write(index, &bytes).await,
            Backend::Memory(m) => m.write(offset, &bytes),
        };
        self.pending.borrow_mut().remove(&index);
        result
    }

    /// Reads piece `index` back (a piece still being written is shared, not
    /// copied).
    pub async fn read_piece(&self, index: u32) -> Result<Arc<[u8]>, StoreError> {
        let len = self
            .layout
            .piece_len(index)
            .ok_or(StoreError::OutOfRange(index))?;
        if let Some(bytes) = self.pending.borrow().get(&index) {
            return Ok(bytes.clone());
        }
        let offset = self.layout.offset(index).unwrap_or(0);
        let bytes = match &self.backend {
            Backend::Opfs(o) => o.read(index).await?,
            Backend::Memory(m) => m.read(offset, len)?,
        };
        if bytes.len() as u64 != len {
            return Err(StoreError::Missing(index));
        }
        Ok(bytes)
    }

    /// The assembled file (disk-backed with OPFS).
    pub async fn to_file(&self, name: &str) -> Result<web_sys::File, StoreError> {
        match &self.backend {
            Backend::Opfs(o) => o.to_file(name, self.layout.piece_count()).await,
            Backend::Memory(m) => m.to_file(name),
        }
    }

    /// Deletes the stored pieces of a temporary store (a `File` made earlier
    /// stops being readable); a cached store keeps them (resume, seeding).
    pub async fn remove(&self) {
        if self.is_cached() {
            return;
        }
        if let Backend::Opfs(o) = &self.backend {
            o.remove().await;
        }
    }
}
