//! The OPFS piece writer: a dedicated Worker (`opfs_worker.js`, started from
//! a Blob URL so the package stays three files) that writes each verified
//! piece with a `FileSystemSyncAccessHandle`. Measured (docs/bench/browser.md)
//! against one `createWritable()` + `close()` per piece on the page's thread,
//! whose swap-file commit went through the browser process.
//!
//! Invariants:
//! - the piece's bytes are copied once out of wasm memory into an
//!   `ArrayBuffer`, which is *transferred* to the worker (not copied again)
//!   and transferred back once written, into a pool of at most
//!   [`POOL_BUFFERS`] buffers that later writes of the same length reuse:
//!   after the first few pieces a download allocates no piece buffers, so
//!   nothing waits for a garbage collection to give memory back;
//! - a piece file appears under its index only once its bytes are written
//!   whole and flushed (the worker writes `<index>.<random>.part`, then renames
//!   it), so [`crate::cache`]'s rule "a piece file of the right length is a
//!   verified piece" holds;
//! - every [`PieceWriter::write`] gets exactly one answer: the worker's, or
//!   [`WriterGone`] when the worker failed (its script could not start, or it
//!   crashed) or the writer was dropped. After a failure the writer stays
//!   broken and the caller writes on its own thread instead;
//! - the writes queued in the worker are bounded by the engine, not here: the
//!   session answers each `StorePiece` with `PieceStored` only once the
//!   worker acknowledged it, and the engine starts no new request while
//!   `maxUnstoredBytes` (8 MiB) are unconfirmed (`edgeswarm_engine`'s
//!   `store_gate`);
//! - dropping the writer terminates the worker (a write in progress leaves
//!   at most a `.part` file) and revokes its Blob URL. The message handlers
//!   are owned here, never forgotten.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use futures_channel::oneshot;
use js_sys::{Array, ArrayBuffer, Object, Reflect, Uint8Array};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Blob, BlobPropertyBag, FileSystemDirectoryHandle, MessageEvent, Url, Worker};

use super::StoreError;

/// The worker's script.
const SCRIPT: &str = include_str!("opfs_worker.js");

/// The worker is gone (it failed to start, crashed, or the writer was dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriterGone;

type Waiting = Rc<RefCell<HashMap<u32, oneshot::Sender<Result<(), String>>>>>;

/// Most written-piece buffers kept for reuse (more than the engine's
/// default `maxUnstoredBytes` of 1 MiB pieces, so steady state allocates none).
pub const POOL_BUFFERS: usize = 16;

type Pool = Rc<RefCell<Vec<ArrayBuffer>>>;

/// One worker writing the pieces of one download directory.
pub struct PieceWriter {
    worker: Worker,
    url: String,
    waiting: Waiting,
    broken: Rc<Cell<bool>>,
    pool: Pool,
    next_id: Cell<u32>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(JsValue)>,
}

fn set(obj: &Object, key: &str, value: &JsValue) -> Result<(), StoreError> {
    Reflect::set(obj, &key.into(), value)
        .map(|_| ())
        .map_err(StoreError::js)
}

impl PieceWriter {
    /// Starts a worker that writes into `dir`.
    pub fn start(dir: &FileSystemDirectoryHandle) -> Result<Self, StoreError> {
        let opts = BlobPropertyBag::new();
        opts.set_type("text/javascript");
        let parts = Array::of1(&JsValue::from_str(SCRIPT));
        let blob =
            Blob::new_with_str_sequence_and_options(&parts, &opts).map_err(StoreError::js)?;
        let url = Url::create_object_url_with_blob(&blob).map_err(StoreError::js)?;
        let worker = match Worker::new(&url) {
            Ok(w) => w,
            Err(e) => {
                let _ = Url::revoke_object_url(&url);
                return Err(StoreError::js(e));
            }
        };
        let waiting: Waiting = Rc::default();
        let broken = Rc::new(Cell::new(false));
        let pool: Pool = Rc::default();
        let on_message = {
            let (waiting, pool) = (waiting.clone(), pool.clone());
            Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
                let data = e.data();
                if let Ok(buf) = Reflect::get(&data, &"buf".into())
                    .and_then(|b| b.dyn_into::<ArrayBuffer>().map_err(JsValue::from))
                {
                    let mut pool = pool.borrow_mut();
                    if pool.len() < POOL_BUFFERS {
                        pool.push(buf);
                    }
                }
                let Some(id) = Reflect::get(&data, &"id".into())
                    .ok()
                    .and_then(|v| v.as_f64())
                else {
                    return;
                };
                let error = Reflect::get(&data, &"error".into())
                    .ok()
                    .and_then(|v| v.as_string());
                if let Some(tx) = waiting.borrow_mut().remove(&(id as u32)) {
                    let _ = tx.send(error.map_or(Ok(()), Err));
                }
            })
        };
        let on_error = {
            let (waiting, broken) = (waiting.clone(), broken.clone());
            Closure::<dyn FnMut(JsValue)>::new(move |_| {
                broken.set(true);
                // Dropping the senders answers every waiting write with WriterGone.
                waiting.borrow_mut().clear();
            })
        };
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        worker.set_onmessageerror(Some(on_error.as_ref().unchecked_ref()));
        let init = Object::new();
        set(&init, "op", &"init".into())?;
        set(&init, "dir", dir)?;
        worker.post_message(&init).map_err(StoreError::js)?;
        Ok(Self {
            worker,
            url,
            waiting,
            broken,
            pool,
            next_id: Cell::new(0),
            _on_message: on_message,
            _on_error: on_error,
        })
    }

    /// Whether the worker failed (writes then go elsewhere).
    pub fn is_broken(&self) -> bool {
        self.broken.get()
    }

    /// Writes `bytes` as the file `name`; `Ok(Err(_))` is a storage error
    /// the worker reported, `Err(WriterGone)` means the worker is gone.
    pub async fn write(
        &self,
        name: &str,
        bytes: &[u8],
    ) -> Result<Result<(), StoreError>, WriterGone> {
        if self.broken.get() {
            return Err(WriterGone);
        }
        let id = self.next_id.get();
        self.next_id.set(id.wrapping_add(1));
        let Ok(len) = u32::try_from(bytes.len()) else {
            return Ok(Err(StoreError::Js("a piece larger than 4 GiB".into())));
        };
        let buf = self.buffer(len);
        Uint8Array::new(&buf).copy_from(bytes);
        let msg = Object::new();
        let filled = set(&msg, "op", &"write".into())
            .and_then(|()| set(&msg, "id", &id.into()))
            .and_then(|()| set(&msg, "name", &name.into()))
            .and_then(|()| set(&msg, "buf", &buf));
        if let Err(e) = filled {
            return Ok(Err(e));
        }
        let (tx, rx) = oneshot::channel();
        self.waiting.borrow_mut().insert(id, tx);
        if let Err(e) = self
            .worker
            .post_message_with_transfer(&msg, &Array::of1(&buf))
        {
            self.waiting.borrow_mut().remove(&id);
            return Ok(Err(StoreError::js(e)));
        }
        match rx.await {
            Ok(r) => Ok(r.map_err(StoreError::Js)),
            Err(_) => Err(WriterGone),
        }
    }
}

impl PieceWriter {
    /// A pooled buffer of exactly `len` bytes, or a new one.
    fn buffer(&self, len: u32) -> ArrayBuffer {
        let mut pool = self.pool.borrow_mut();
        match pool.iter().position(|b| b.byte_length() == len) {
            Some(i) => pool.swap_remove(i),
            None => ArrayBuffer::new(len),
        }
    }
}

impl Drop for PieceWriter {
    fn drop(&mut self) {
        self.worker.set_onmessage(None);
        self.worker.set_onerror(None);
        self.worker.set_onmessageerror(None);
        self.worker.terminate();
        let _ = Url::revoke_object_url(&self.url);
        self.waiting.borrow_mut().clear();
        self.pool.borrow_mut().clear();
    }
}
