//! The `Downloader` class the page uses (docs/api.md):
//!
//! ```js
//! const d = new Downloader({ server, contentId, downloadMode, groupId });
//! d.onprogress = (stats) => { … };
//! const file = await d.start();   // resolved only after whole-file verification
//! d.stats(); d.cancel();
//! ```
//!
//! `start()` runs the service flow ([`crate::plan`]), opens the piece store,
//! joins the array, and hands everything to a [`Session`]. The promise settles
//! when the session delivers the verified `File` (or fails); the session then
//! keeps serving peers until `cancel()`. `start()` may be called once.
//!
//! `cancel()` works in every phase: it aborts the service-flow fetches, stops
//! the session (connections, timers, requests) and rejects a pending
//! `start()` promise. Verified pieces in the cache stay there (a later
//! download of the same content resumes from them, `crate::cache`); a
//! temporary store is deleted unless a verified `File` was already
//! delivered. A cancelled `Downloader` cannot be started. Freeing the
//! `Downloader` (`free()`) cancels it too.
//!
//! `status()` gives DO's Get-DeliveryOptimizationStatus fields for this
//! download; the module-level `status()`, `perfSnap()` and `deleteCache()`
//! (`crate::status`) cover the origin's cache.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use edgeswarm_protocol::ContentId;
use futures_channel::mpsc::{self, UnboundedSender};
use futures_channel::oneshot;
use futures_util::future::join4;
use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{future_to_promise, spawn_local};

use crate::http::Abort;
use crate::options::{FilePromise, JsOptions, JsStats, Options, ProgressCallback};
use crate::peers::PeerTable;
use crate::plan::{plan, Plan};
use crate::rtc::RtcOptions;
use crate::session::{Ev, Reporter, Session, SessionParts};
use crate::stats::{Phase, Shared, PIECE_MISSING};
use crate::store::{PieceStore, MEMORY_FALLBACK_LIMIT};
use crate::time::now_ms;

/// The most pieces a download may have (4 TiB at the default 1 MiB pieces).
const MAX_PIECES: u32 = 1 << 22;

/// A download of one content item.
#[wasm_bindgen]
pub struct Downloader {
    options: Options,
    shared: Rc<RefCell<Shared>>,
    progress: Rc<RefCell<Option<Function>>>,
    tx: Rc<RefCell<Option<UnboundedSender<Ev>>>>,
    started: Cell<bool>,
    cancelled: Rc<Cell<bool>>,
    /// Aborts the service-flow fetches of `start()` on `cancel()`.
    abort: Abort,
}

fn random_seed() -> u64 {
    // The engine's tie-breaks only need variety between pages, not secrecy.
    let hi = (js_sys::Math::random() * 4_294_967_296.0) as u64;
    let lo = (js_sys::Math::random() * 4_294_967_296.0) as u64;
    (hi << 32) | lo
}

#[wasm_bindgen]
impl Downloader {
    /// Validates the options; throws on a bad one.
    #[wasm_bindgen(constructor)]
    pub fn new(options: JsOptions) -> Result<Downloader, JsError> {
        let options = Options::from_js(options.into()).map_err(|e| JsError::new(&e))?;
        Ok(Self {
            options,
            shared: Rc::default(),
            progress: Rc::default(),
            tx: Rc::default(),
            started: Cell::new(false),
            cancelled: Rc::default(),
            abort: Abort::new(),
        })
    }

    #[wasm_bindgen(getter)]
    pub fn onprogress(&self) -> ProgressCallback {
        match self.progress.borrow().as_ref() {
            Some(f) => f.clone().unchecked_into(),
            None => JsValue::NULL.unchecked_into(),
        }
    }

    #[wasm_bindgen(setter)]
    pub fn set_onprogress(&self, callback: ProgressCallback) {
        *self.progress.borrow_mut() = callback.dyn_into::<Function>().ok();
    }

    /// A snapshot of the download's counters (`DownloaderStats`).
    pub fn stats(&self) -> JsStats {
        self.shared.borrow().view(now_ms()).unchecked_into()
    }

    /// DO's Get-DeliveryOptimizationStatus fields for this download
    /// (`DownloadStatus`).
    #[wasm_bindgen(unchecked_return_type = "DownloadStatus")]
    pub fn status(&self) -> JsValue {
        self.shared.borrow().do_status()
    }

    /// Starts the download; resolves with the verified `File`.
    pub fn start(&self) -> FilePromise {
        if self.started.replace(true) {
            return Promise::reject(&JsError::new("start() was already called").into())
                .unchecked_into();
        }
        if self.cancelled.get() {
            return Promise::reject(&JsError::new("cancelled").into()).unchecked_into();
        }
        let options = self.options.clone();
        let shared = self.shared.clone();
        let progress = self.progress.clone();
        let cancelled = self.cancelled.clone();
        let signal = self.abort.signal();
        let (tx, rx) = mpsc::unbounded();
        *self.tx.borrow_mut() = Some(tx.clone());
        {
            let mut s = shared.borrow_mut();
            s.phase = Phase::Starting;
            s.started_ms = now_ms();
        }
        future_to_promise(async move {
            let (done_tx, done_rx) = oneshot::channel();
            let prepared = prepare(&options, signal.as_ref(), &shared, &progress, tx, done_tx);
            match prepared.await {
                // cancel() ran while the service flow was under way: the
                // session never starts, and frees what prepare() opened.
                Ok(session) if cancelled.get() => session.abandon(),
                Ok(session) => spawn_local(session.run(rx)),
                Err(e) => {
                    let e = if cancelled.get() {
                        "cancelled".into()
                    } else {
                        e
                    };
                    let mut s = shared.borrow_mut();
                    if !s.phase.is_final() {
                        s.phase = Phase::Error;
                    }
                    s.error = Some(e.clone());
                    s.ended_ms = Some(now_ms());
                    let view = s.view(now_ms());
                    drop(s);
                    let cb = progress.borrow().clone();
                    if let Some(f) = cb {
                        let _ = f.call1(&JsValue::NULL, &view);
                    }
                    return Err(JsError::new(&e).into());
                }
            }
            match done_rx.await {
                Ok(Ok(file)) => Ok(file.into()),
                Ok(Err(e)) => Err(JsError::new(&e).into()),
                Err(_) => Err(JsError::new("the download stopped").into()),
            }
        })
        .unchecked_into()
    }

    /// Stops the download (or the seeding after it) and closes every connection.
    pub fn cancel(&self) {
        self.cancelled.set(true);
        self.abort.abort();
        if let Some(tx) = self.tx.borrow_mut().take() {
            let _ = tx.unbounded_send(Ev::Cancel);
        }
        let mut s = self.shared.borrow_mut();
        if !s.phase.is_final() {
            s.phase = Phase::Cancelled;
            s.ended_ms = Some(now_ms());
        }
    }
}

impl Drop for Downloader {
    fn drop(&mut self) {
        self.cancel();
    }
}

async fn prepare(
    options: &Options,
    signal: Option<&web_sys::AbortSignal>,
    shared: &Rc<RefCell<Shared>>,
    progress: &Rc<RefCell<Option<Function>>>,
    tx: UnboundedSender<Ev>,
    done: oneshot::Sender<crate::session::Outcome>,
) -> Result<Session, String> {
    let mut p: Plan = plan(options, signal, crate::session_now(), random_seed()).await?;
    // The engine's layout: from the server (a policy's size, a probe's total)
    // in simple mode, so refuse absurd piece counts instead of aborting on
    // the piece map below.
    let layout = p.engine.layout();
    let pieces = layout.piece_count();
    if pieces > MAX_PIECES {
        return Err(format!(
            "the file ({} bytes) has {pieces} pieces, more than {MAX_PIECES}",
            layout.file_size
        ));
    }
    // The store, the upload ledger, the saved policies and the battery are
    // independent (the store lives under `edgeswarm/cache` and `tmp`, the
    // ledger and the policies are files of their own): read and written
    // together, not one after another, since each is OPFS or browser round
    // trips before the first request goes out. A start that fails on its
    // store has still saved its policies: they are those of the last
    // download started here.
    let policies = crate::status::SavedPolicies {
        cache: p.cache_policy,
        upload: p.upload_policy,
    };
    let (opened, (), (), battery) = join4(
        open_store(options, &p, layout),
        crate::uploads::load(),
        crate::status::save_policies(policies),
        crate::host::Battery::get(),
    )
    .await;
    let (store, cached) = opened?;
    if options.seed_only && cached.len() as u64 != u64::from(pieces) {
        return Err(format!(
            "{} is not in the cache (seedOnly)",
            options.content_id
        ));
    }
    if !cached.is_empty() {
        // Before any output is carried out: a cached piece is never fetched.
        p.engine.handle_input(
            crate::session_now(),
            edgeswarm_engine::Input::PiecesFromCache { pieces: cached },
        );
    }
    {
        let mut s = shared.borrow_mut();
        s.storage = store.kind().as_str();
        s.file_size = layout.file_size;
        s.piece_size = layout.piece_size;
        s.piece_map = vec![PIECE_MISSING; pieces as usize];
        s.country_code = p.geo.country_code.clone();
        s.array_id = p.array.as_ref().map(|a| a.array_id.clone());
        s.discovery_error = p.discovery_error.clone();
        s.file_id = p
            .cache_key
            .as_ref()
            .map_or_else(|| options.content_id.clone(), |k| k.0.clone());
        s.source_url = p.content_url.clone();
        s.download_mode = options.mode.code();
        s.is_background = p.is_background;
        s.expire_on = store
            .record()
            .and_then(|r| crate::status::expire_on(r.last_used_ms, &p.cache_policy));
    }
    let rtc = RtcOptions {
        ice_servers: p.ice_servers.clone(),
        connect_timeout_ms: options.connect_timeout_ms,
        ..RtcOptions::default()
    };
    let peers = PeerTable::new(rtc, p.max_peers, tx.clone());
    let report = Reporter::new(
        ContentId::new(&options.content_id).ok(),
        options.alt_catalog_id.clone(),
        options.group_id.clone(),
        options.mode,
        p.is_background,
        p.peers_wanted,
        p.report_interval_ms,
    );
    Ok(Session::new(SessionParts {
        engine: p.engine,
        tx,
        store: Rc::new(store),
        content_url: p.content_url,
        peers,
        array_url: p.array.as_ref().map(|a| a.array_url.clone()),
        shared: shared.clone(),
        file_name: options.file_name.clone(),
        report,
        trace: crate::trace::Trace { on: options.trace },
        result: done,
        progress: progress.clone(),
        cache_policy: p.cache_policy,
        upload_policy: p.upload_policy,
        battery,
        is_background: options.is_background,
    }))
}

/// Where the pieces go: memory when asked; the cache (resumed, kept,
/// seeded later) for content with metadata at or above the cache's minimum
/// size; a temporary OPFS directory otherwise. Returns the pieces the cache
/// already holds.
async fn open_store(
    options: &Options,
    p: &Plan,
    layout: crate::store::Layout,
) -> Result<(PieceStore, Vec<u32>), String> {
    if options.memory_only {
        return Ok((
            PieceStore::in_memory(layout).map_err(|e| e.to_string())?,
            Vec::new(),
        ));
    }
    let now = js_sys::Date::now();
    let cacheable = layout.file_size >= p.cache_policy.min_file_size_bytes;
    if let (Some((id, sha)), true) = (&p.cache_key, cacheable) {
        // Make room first (age and size limits); this item is never evicted.
        let _ = crate::cache::enforce(&p.cache_policy, Some(id), now).await;
        let record = crate::cache::ItemRecord {
            content_id: id.clone(),
            metadata_sha256: sha.clone(),
            file_size: layout.file_size,
            piece_size: layout.piece_size,
            file_name: options.file_name.clone(),
            download_mode: options.mode.code(),
            group_id: options.group_id.clone(),
            created_ms: now,
            last_used_ms: now,
            complete: false,
        };
        if let Ok(opened) = PieceStore::open_cached(record, layout).await {
            return Ok(opened);
        }
    }
    if options.seed_only {
        return Err(format!(
            "{} cannot be cached (seedOnly)",
            options.content_id
        ));
    }
    let name = format!(
        "{}-{:x}",
        options.content_id,
        (js_sys::Math::random() * 4_294_967_296.0) as u64
    );
    let store = PieceStore::open(&name, layout, MEMORY_FALLBACK_LIMIT)
        .await
        .map_err(|e| e.to_string())?;
    Ok((store, Vec::new()))
}
