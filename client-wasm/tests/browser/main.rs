//! Browser tests of the glue modules, run in headless Chromium by
//! `wasm-bindgen-test-runner` (`cargo xtask test`, or see `xtask/src/browser.rs`
//! for the environment: `CHROMEDRIVER`, `WASM_BINDGEN_TEST_WEBDRIVER_JSON`).
//!
//! Every test uses the real browser API it wraps: OPFS, `fetch`, two real
//! `RTCPeerConnection`s in one page, real DOM events. Tests wait for events,
//! never for fixed delays.

#![cfg(target_arch = "wasm32")]

use wasm_bindgen_test::wasm_bindgen_test_configure;

wasm_bindgen_test_configure!(run_in_browser);

mod digest;
mod downloader;
mod http;
mod listener;
mod rtc;
mod rtc_limits;
mod store;
mod time;
