//! The OPFS backend: one OPFS file per piece, in a directory per download
//! (`edgeswarm/cache/<contentId>` for the cache, `edgeswarm/tmp/<name>` for
//! downloads that are not kept).
//!
//! One file per piece (named by its index) instead of one file written at
//! offsets: a `createWritable()` on an existing file copies it to a swap file
//! first, which would make each write cost O(file size). A fresh small file per
//! piece makes each write O(piece), needs no worker for sync access handles,
//! and `File` objects from `getFile()` can be composed into one disk-backed
//! `File` for the caller without reading the data into memory.

use std::cell::RefCell;
use std::sync::Arc;

use js_sys::{Array, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    FileSystemDirectoryHandle, FileSystemFileHandle, FileSystemGetDirectoryOptions,
    FileSystemGetFileOptions, FileSystemRemoveOptions, FileSystemWritableFileStream,
};

use super::StoreError;

/// The top-level OPFS directory everything of edgeswarm lives under.
pub(crate) const ROOT_DIR: &str = "edgeswarm";

/// Pieces of one download, stored as OPFS files.
pub struct OpfsPieces {
    parent: FileSystemDirectoryHandle,
    dir: FileSystemDirectoryHandle,
    name: String,
    /// Write buffers to reuse (at most [`SPARE_WRITE_BYTES`] of them): a
    /// write copies the piece out of wasm memory into one, and the stream
    /// has its own copy once `write()`'s promise resolves; a buffer returns
    /// here only after its `write` and `close` have settled. Without them
    /// every piece left a piece-sized `ArrayBuffer` for V8 to collect (the
    /// page's JS heap and RSS).
    spare: RefCell<Vec<Uint8Array>>,
}

/// Most bytes of spare write buffers kept: four 1 MiB pieces' writes in
/// flight; larger pieces keep fewer (a 16 MiB piece none).
const SPARE_WRITE_BYTES: u32 = 4 << 20;

pub(crate) fn storage() -> Result<web_sys::StorageManager, StoreError> {
    let global = js_sys::global();
    let navigator = if let Some(w) = global.dyn_ref::<web_sys::Window>() {
        w.navigator().storage()
    } else if let Some(w) = global.dyn_ref::<web_sys::WorkerGlobalScope>() {
        w.navigator().storage()
    } else {
        return Err(StoreError::Js("no navigator".into()));
    };
    Ok(navigator)
}

pub(crate) async fn await_js<T: JsCast>(p: js_sys::Promise) -> Result<T, StoreError> {
    JsFuture::from(p)
        .await
        .map_err(StoreError::js)?
        .dyn_into::<T>()
        .map_err(|v| StoreError::Js(format!("unexpected value {v:?}")))
}

/// The directory `edgeswarm/<path…>` in OPFS, created when missing.
pub(crate) async fn opfs_dir(path: &[&str]) -> Result<FileSystemDirectoryHandle, StoreError> {
    let storage = storage()?;
    // Some browsers lack getDirectory entirely: calling it would throw a TypeError.
    if !js_sys::Reflect::has(&storage, &"getDirectory".into()).unwrap_or(false) {
        return Err(StoreError::Js("no OPFS".into()));
    }
    let mut dir: FileSystemDirectoryHandle = await_js(storage.get_directory()).await?;
    let create = FileSystemGetDirectoryOptions::new();
    create.set_create(true);
    for name in std::iter::once(&ROOT_DIR).chain(path) {
        dir = await_js(dir.get_directory_handle_with_options(name, &create)).await?;
    }
    Ok(dir)
}

impl OpfsPieces {
    /// Opens the directory `name` under `parent` (`edgeswarm/<parent…>`),
    /// emptied first when `fresh`, created when missing.
    pub async fn open(parent: &[&str], name: &str, fresh: bool) -> Result<Self, StoreError> {
        let parent = opfs_dir(parent).await?;
        if fresh {
            let _ = remove_entry(&parent, name).await;
        }
        let create = FileSystemGetDirectoryOptions::new();
        create.set_create(true);
        let dir = await_js(parent.get_directory_handle_with_options(name, &create)).await?;
        Ok(Self {
            parent,
            dir,
            name: name.to_owned(),
            spare: RefCell::new(Vec::new()),
        })
    }

    /// The download's directory (the cache keeps its record there).
    pub fn dir(&self) -> &FileSystemDirectoryHandle {
        &self.dir
    }

    /// The pieces stored here: (index, size) of every file named by a number.
    pub async fn stored(&self) -> Result<Vec<(u32, u64)>, StoreError> {
        let mut out = Vec::new();
        for (name, file) in dir_files(&self.dir).await? {
            if let Ok(i) = name.parse::<u32>() {
                out.push((i, file.size() as u64));
            }
        }
        Ok(out)
    }

    /// Deletes one stored piece (a leftover of the wrong size).
    pub async fn remove_piece(&self, index: u32) {
        let _ = JsFuture::from(self.dir.remove_entry(&index.to_string())).await;
    }

    async fn file(&self, index: u32, create: bool) -> Result<FileSystemFileHandle, StoreError> {
        let opts = FileSystemGetFileOptions::new();
        opts.set_create(create);
        await_js(
            self.dir
                .get_file_handle_with_options(&index.to_string(), &opts),
        )
        .await
    }

    pub async fn write(&self, index: u32, bytes: &[u8]) -> Result<(), StoreError> {
        let len =
            u32::try_from(bytes.len()).map_err(|_| StoreError::Js("piece too large".into()))?;
        let buffer = self.write_buffer(len);
        let result = self
            .write_from(index, &buffer.subarray(0, len), bytes)
            .await;
        let mut spare = self.spare.borrow_mut();
        let kept: u32 = spare.iter().map(Uint8Array::length).sum();
        if kept.saturating_add(buffer.length()) <= SPARE_WRITE_BYTES {
            spare.push(buffer);
        }
        result
    }

    /// A spare buffer of at least `len` bytes, or a new one.
    fn write_buffer(&self, len: u32) -> Uint8Array {
        let mut spare = self.spare.borrow_mut();
        match spare.iter().position(|b| b.length() >= len) {
            Some(i) => spare.swap_remove(i),
            None => Uint8Array::new_with_length(len),
        }
    }

    /// Writes `bytes` through `view` (a JS copy, not a view of wasm memory:
    /// the write completes asynchronously and wasm memory may move).
    async fn write_from(
        &self,
        index: u32,
        view: &Uint8Array,
        bytes: &[u8],
    ) -> Result<(), StoreError> {
        view.copy_from(bytes);
        let handle = self.file(index, true).await?;
        let stream: FileSystemWritableFileStream = await_js(handle.create_writable()).await?;
        let written = stream
            .write_with_buffer_source(view)
            .map_err(StoreError::js);
        match written {
            Ok(p) => {
                if let Err(e) = JsFuture::from(p).await {
                    let _ = JsFuture::from(stream.abort()).await;
                    return Err(StoreError::js(e));
                }
            }
            Err(e) => {
                let _ = JsFuture::from(stream.abort()).await;
                return Err(e);
            }
        }
        JsFuture::from(stream.close())
            .await
            .map_err(StoreError::js)?;
        Ok(())
    }

    /// Piece `index`'s bytes, copied once out of the browser's buffer.
    pub async fn read(&self, index: u32) -> Result<Arc<[u8]>, StoreError> {
        let handle = self
            .file(index, false)
            .await
            .map_err(|_| StoreError::Missing(index))?;
        let file: web_sys::File = await_js(handle.get_file()).await?;
        let buf = JsFuture::from(file.array_buffer())
            .await
            .map_err(StoreError::js)?;
        let view = Uint8Array::new(&buf);
        let mut bytes: Arc<[u8]> = std::iter::repeat_n(0u8, view.length() as usize).collect();
        if let Some(dst) = Arc::get_mut(&mut bytes) {
            view.copy_to(dst);
        }
        Ok(bytes)
    }

    pub async fn to_file(&self, name: &str, pieces: u32) -> Result<web_sys::File, StoreError> {
        let parts = Array::new();
        for index in 0..pieces {
            let handle = self
                .file(index, false)
                .await
                .map_err(|_| StoreError::Missing(index))?;
            let file: web_sys::File = await_js(handle.get_file()).await?;
            parts.push(&file);
        }
        let opts = web_sys::FilePropertyBag::new();
        opts.set_type("application/octet-stream");
        web_sys::File::new_with_blob_sequence_and_options(&parts, name, &opts)
            .map_err(StoreError::js)
    }

    pub async fn remove(&self) {
        let _ = remove_entry(&self.parent, &self.name).await;
    }
}

/// Every file directly in `dir`, with its name.
pub(crate) async fn dir_files(
    dir: &FileSystemDirectoryHandle,
) -> Result<Vec<(String, web_sys::File)>, StoreError> {
    let mut out = Vec::new();
    for (name, handle) in dir_entries(dir).await? {
        if let Ok(h) = handle.dyn_into::<FileSystemFileHandle>() {
            out.push((name, await_js(h.get_file()).await?));
        }
    }
    Ok(out)
}

/// Every entry (name, handle) directly in `dir`.
pub(crate) async fn dir_entries(
    dir: &FileSystemDirectoryHandle,
) -> Result<Vec<(String, wasm_bindgen::JsValue)>, StoreError> {
    let iter = dir.entries();
    let mut out = Vec::new();
    loop {
        let next = iter.next().map_err(StoreError::js)?;
        let step = JsFuture::from(next).await.map_err(StoreError::js)?;
        let done = js_sys::Reflect::get(&step, &"done".into()).map_err(StoreError::js)?;
        if done.is_truthy() {
            break;
        }
        let pair: Array = js_sys::Reflect::get(&step, &"value".into())
            .map_err(StoreError::js)?
            .unchecked_into();
        if let Some(name) = pair.get(0).as_string() {
            out.push((name, pair.get(1)));
        }
    }
    Ok(out)
}

pub(crate) async fn remove_entry(
    parent: &FileSystemDirectoryHandle,
    name: &str,
) -> Result<(), StoreError> {
    let opts = FileSystemRemoveOptions::new();
    opts.set_recursive(true);
    JsFuture::from(parent.remove_entry_with_options(name, &opts))
        .await
        .map_err(StoreError::js)?;
    Ok(())
}
