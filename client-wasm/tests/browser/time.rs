use std::cell::Cell;
use std::rc::Rc;

use client_wasm::time::{now_ms, Timeout};
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen_test]
fn clock_is_monotonic() {
    let a = now_ms();
    let b = now_ms();
    assert!(a >= 0.0 && b >= a);
}

/// A dropped timeout never fires; a kept one does (awaited through a promise).
#[wasm_bindgen_test]
async fn dropped_timeout_never_fires() {
    let dropped_fired = Rc::new(Cell::new(false));
    let flag = dropped_fired.clone();
    drop(Timeout::new(0, move || flag.set(true)));

    // Wait for a later timer: timers with equal or shorter delays run first.
    let mut keep = None;
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        keep = Some(Timeout::new(1, move || {
            let _ = resolve.call0(&wasm_bindgen::JsValue::UNDEFINED);
        }));
    });
    wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .expect("timer promise");
    assert!(keep.as_ref().is_some_and(Timeout::fired));
    assert!(!dropped_fired.get(), "the dropped timer must not fire");
}
