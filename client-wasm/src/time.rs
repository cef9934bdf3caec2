//! Time and timers for the browser glue.
//!
//! `std::time::Instant::now()` panics on `wasm32-unknown-unknown`, so time comes
//! from `performance.now()` (monotonic, milliseconds since the page or worker
//! started). [`Timeout`] owns one `setTimeout` registration and its closure:
//! dropping it cancels the timer, so a callback never runs after its owner is
//! gone and no closure is ever leaked (forgotten).
//!
//! Both work in a window and in a dedicated worker: they bind the global
//! `performance`, `setTimeout` and `clearTimeout`, not `window.*`.

use std::cell::Cell;
use std::rc::Rc;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(callback: &js_sys::Function, millis: i32) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(handle: &JsValue);
}

/// Milliseconds since the page (or worker) started, from `performance.now()`.
pub fn now_ms() -> f64 {
    performance_now()
}

/// Whole milliseconds since the page started, for the engine's clock.
pub fn now_millis() -> u64 {
    // performance.now() is never negative and stays far below u64::MAX.
    now_ms().max(0.0) as u64
}

/// One pending `setTimeout`; dropping it cancels the timer.
pub struct Timeout {
    handle: JsValue,
    fired: Rc<Cell<bool>>,
    _callback: Closure<dyn FnMut()>,
}

impl Timeout {
    /// Calls `f` once after `millis` milliseconds, unless dropped first.
    pub fn new(millis: u32, f: impl FnOnce() + 'static) -> Self {
        let fired = Rc::new(Cell::new(false));
        let flag = fired.clone();
        let mut f = Some(f);
        let callback = Closure::<dyn FnMut()>::new(move || {
            flag.set(true);
            if let Some(f) = f.take() {
                f();
            }
        });
        let delay = i32::try_from(millis).unwrap_or(i32::MAX);
        let handle = set_timeout(callback.as_ref().unchecked_ref(), delay);
        Self {
            handle,
            fired,
            _callback: callback,
        }
    }

    /// Whether the callback has already run.
    pub fn fired(&self) -> bool {
        self.fired.get()
    }
}

impl Drop for Timeout {
    fn drop(&mut self) {
        if !self.fired.get() {
            clear_timeout(&self.handle);
        }
    }
}

/// A future that resolves after `millis` milliseconds (for backoff and
/// pacing; never in tests).
pub async fn sleep(millis: u32) {
    let mut timer = None;
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        timer = Some(Timeout::new(millis, move || {
            let _ = resolve.call0(&JsValue::UNDEFINED);
        }));
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
    drop(timer);
}
