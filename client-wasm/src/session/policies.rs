//! DO's client policies while a session runs: the upload budget it gives
//! the engine (monthly cap of the origin, battery), the count of what it
//! uploaded, and the cache's bookkeeping once the file is assembled.
//!
//! It also tells the engine when the download moves to the background or
//! back (`visibilitychange`, or the page's `isBackground`), for DO's
//! background share of the download rate.
//!
//! The engine decides what to send within the budget; this module only
//! measures the host (ledger, battery) and tells the engine the number.
//! The budget is re-computed before every drain of the engine's outputs,
//! from the origin's ledger, which every session of the page shares, so
//! that sessions together stay within the cap (each at most one block over
//! what another spent in the same turn).

use edgeswarm_engine::Input;
use edgeswarm_protocol::policies::{CachePolicy, UploadPolicy};
use wasm_bindgen::JsCast;

use futures_channel::mpsc::UnboundedSender;

use super::{now, Ev, Session};
use crate::host::Battery;
use crate::listener::EventListener;
use crate::store::PieceStore;
use crate::uploads;

/// The upload side of the session's policies.
pub struct UploadLimits {
    policy: UploadPolicy,
    battery: Option<Battery>,
    /// The engine's `bytes_to_peers` already counted in the ledger.
    counted: u64,
    /// The budget last given to the engine (None: never given).
    given: Option<Option<u64>>,
}

impl UploadLimits {
    pub fn new(policy: UploadPolicy, battery: Option<Battery>) -> Self {
        Self {
            policy,
            battery,
            counted: 0,
            given: None,
        }
    }

    /// What the engine may still upload: nothing on a low battery; the
    /// month's remaining cap; else no limit.
    fn budget(&self) -> Option<u64> {
        let min = self.policy.min_battery_percent;
        if self.battery.as_ref().is_some_and(|b| !b.allows_upload(min)) {
            return Some(0);
        }
        let cap = self.policy.monthly_cap_bytes;
        (cap > 0).then(|| cap.saturating_sub(uploads::used()))
    }
}

/// Whether the download is in the background, and the listener that says
/// when that changes (unhooked when the session is dropped).
pub struct Visibility {
    forced: bool,
    _listener: Option<EventListener>,
}

impl Visibility {
    pub fn new(forced: bool, tx: &UnboundedSender<Ev>) -> Self {
        let document = js_sys::global()
            .dyn_into::<web_sys::Window>()
            .ok()
            .and_then(|w| w.document());
        let tx = tx.clone();
        let listener = document.map(|d| {
            EventListener::new(&d, "visibilitychange", move |_| {
                let _ = tx.unbounded_send(Ev::Visibility);
            })
        });
        Self {
            forced,
            _listener: listener,
        }
    }

    /// The engine input for the current state.
    pub fn input(&self) -> Input {
        Input::Background {
            on: self.forced || crate::host::page_hidden(),
        }
    }
}

impl Session {
    /// Counts new uploads in the origin's ledger and gives the engine its
    /// budget when it changed.
    pub(super) fn apply_upload_limits(&mut self) {
        let sent = self.engine.stats().bytes_to_peers;
        let l = &mut self.policies;
        uploads::record(sent.saturating_sub(l.counted));
        l.counted = sent;
        let budget = l.budget();
        if l.given != Some(budget) {
            l.given = Some(budget);
            self.engine
                .handle_input(now(), Input::UploadBudget { bytes: budget });
        }
    }
}

/// Every piece is stored and the file assembled: the cache records the item
/// as complete (it can be seeded from now on) and applies its limits, never
/// evicting this item.
pub(super) async fn cache_completed(store: &PieceStore, policy: &CachePolicy) {
    if !store.is_cached() {
        return;
    }
    let _ = store.mark_complete().await;
    let keep = store.record().map(|r| r.content_id);
    let _ = crate::cache::enforce(policy, keep.as_deref(), js_sys::Date::now()).await;
}
