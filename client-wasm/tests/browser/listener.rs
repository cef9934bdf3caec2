use std::cell::Cell;
use std::rc::Rc;

use client_wasm::listener::EventListener;
use wasm_bindgen_test::wasm_bindgen_test;
use web_sys::{Event, EventTarget};

fn fire(target: &EventTarget, kind: &str) {
    let e = Event::new(kind).expect("Event constructor");
    target.dispatch_event(&e).expect("dispatchEvent");
}

#[wasm_bindgen_test]
fn listener_fires_while_alive_and_never_after_drop() {
    let target = EventTarget::new().expect("EventTarget constructor");
    let count = Rc::new(Cell::new(0));
    let c = count.clone();
    let listener = EventListener::new(&target, "ping", move |_| c.set(c.get() + 1));
    fire(&target, "ping");
    fire(&target, "other");
    assert_eq!(count.get(), 1, "fires for its own event kind only");
    drop(listener);
    // Dispatching after the drop must neither call the closure nor throw
    // "closure invoked recursively or after being dropped".
    fire(&target, "ping");
    assert_eq!(count.get(), 1, "a dropped listener no longer fires");
}

#[wasm_bindgen_test]
fn dropping_one_listener_leaves_the_others() {
    let target = EventTarget::new().expect("EventTarget constructor");
    let a = Rc::new(Cell::new(0));
    let b = Rc::new(Cell::new(0));
    let (ca, cb) = (a.clone(), b.clone());
    let la = EventListener::new(&target, "ping", move |_| ca.set(ca.get() + 1));
    let _lb = EventListener::new(&target, "ping", move |_| cb.set(cb.get() + 1));
    drop(la);
    fire(&target, "ping");
    assert_eq!((a.get(), b.get()), (0, 1));
}
