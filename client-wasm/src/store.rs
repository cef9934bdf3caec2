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
//! OPFS is preferred. When it is missing (old browsers, some private modes),
//! files up to [`MEMORY_FALLBACK_LIMIT`] are kept in memory instead, and
//! [`PieceStore::kind`] says so (the `Downloader` reports it in `stats()`).

mod memory;
mod opfs;

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use thiserror::Error;
use wasm_bindgen::JsValue;

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
}

impl PieceStore {
    /// Opens a fresh store named `name`: OPFS when available, else memory
    /// (only for files up to `memory_limit` bytes).
    pub async fn open(name: &str, layout: Layout, memory_limit: u64) -> Result<Self, StoreError> {
        let backend = match OpfsPieces::open(name).await {
            Ok(o) => Backend::Opfs(o),
            Err(_) if layout.file_size <= memory_limit => {
                Backend::Memory(MemoryPieces::new(layout.file_size)?)
            }
            Err(_) => return Err(StoreError::Unavailable(layout.file_size)),
        };
        Ok(Self::with_backend(backend, layout))
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

    /// Reads piece `index` back.
    pub async fn read_piece(&self, index: u32) -> Result<Vec<u8>, StoreError> {
        let len = self
            .layout
            .piece_len(index)
            .ok_or(StoreError::OutOfRange(index))?;
        if let Some(bytes) = self.pending.borrow().get(&index) {
            return Ok(bytes.to_vec());
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

    /// Deletes the stored pieces (a `File` made earlier stops being readable).
    pub async fn remove(&self) {
        if let Backend::Opfs(o) = &self.backend {
            o.remove().await;
        }
    }
}
