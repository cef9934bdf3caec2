//! What the host page and device say, read where a policy needs it:
//! whether the page is in the background (`document.visibilityState`), and
//! the battery (the Battery API, where it exists).
//!
//! Invariant: a missing API (no document in a worker, no `getBattery` in
//! the browser) reads as "foreground" and "on mains power": a policy never
//! blocks on an API the browser lacks.

use js_sys::Reflect;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// True when the page is hidden (a background tab or minimised window).
pub fn page_hidden() -> bool {
    js_sys::global()
        .dyn_into::<web_sys::Window>()
        .ok()
        .and_then(|w| w.document())
        .is_some_and(|d| d.visibility_state() == web_sys::VisibilityState::Hidden)
}

/// The device's battery (`navigator.getBattery()`).
pub struct Battery {
    manager: JsValue,
}

impl Battery {
    /// The battery manager, or None where the API does not exist.
    pub async fn get() -> Option<Self> {
        let nav = Reflect::get(&js_sys::global(), &"navigator".into()).ok()?;
        let f = Reflect::get(&nav, &"getBattery".into())
            .ok()?
            .dyn_into::<js_sys::Function>()
            .ok()?;
        let p = f.call0(&nav).ok()?.dyn_into::<js_sys::Promise>().ok()?;
        let manager = JsFuture::from(p).await.ok()?;
        Some(Self { manager })
    }

    /// DO's `DOMinBatteryPercentageAllowedToUpload`: false when on battery
    /// (not charging) below `min_percent`; 0 = always true.
    pub fn allows_upload(&self, min_percent: u8) -> bool {
        if min_percent == 0 {
            return true;
        }
        let charging = Reflect::get(&self.manager, &"charging".into())
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(true);
        let level = Reflect::get(&self.manager, &"level".into())
            .ok()
            .and_then(|v| v.as_f64())
            .unwrap_or(1.0);
        charging || level * 100.0 >= f64::from(min_percent)
    }
}
