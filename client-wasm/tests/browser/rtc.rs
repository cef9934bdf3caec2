//! Two real `RTCPeerConnection`s in one page, signalled directly.

use std::cell::RefCell;
use std::rc::Rc;

use client_wasm::rtc::{Role, RtcEvent, RtcOptions, RtcPeer};
use futures_channel::mpsc;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use wasm_bindgen_test::wasm_bindgen_test;

pub(crate) type Slot = Rc<RefCell<Option<RtcPeer>>>;

/// A pair whose signals go straight to each other; events land on two channels.
pub(crate) fn pair(
    options: RtcOptions,
) -> (
    Slot,
    Slot,
    mpsc::UnboundedReceiver<RtcEvent>,
    mpsc::UnboundedReceiver<RtcEvent>,
) {
    let a: Slot = Rc::default();
    let b: Slot = Rc::default();
    let (ta, ra) = mpsc::unbounded();
    let (tb, rb) = mpsc::unbounded();
    let to_b = b.clone();
    let peer_a = RtcPeer::new(options.clone(), Role::Offerer, move |e| match e {
        RtcEvent::Signal { kind, data } => {
            if let Some(p) = to_b.borrow().as_ref() {
                p.handle_signal(kind, data);
            }
        }
        other => {
            let _ = ta.unbounded_send(other);
        }
    })
    .expect("peer a");
    let to_a = a.clone();
    let peer_b = RtcPeer::new(options, Role::Answerer, move |e| match e {
        RtcEvent::Signal { kind, data } => {
            if let Some(p) = to_a.borrow().as_ref() {
                p.handle_signal(kind, data);
            }
        }
        other => {
            let _ = tb.unbounded_send(other);
        }
    })
    .expect("peer b");
    // The offer is created asynchronously, after both slots are filled.
    *a.borrow_mut() = Some(peer_a);
    *b.borrow_mut() = Some(peer_b);
    (a, b, ra, rb)
}

#[wasm_bindgen_test]
async fn data_channel_loop_delivers_every_byte_in_order_with_backpressure() {
    let options = RtcOptions {
        high_water: 128 * 1024,
        low_water: 32 * 1024,
        ..RtcOptions::default()
    };
    let (a, b, mut ea, mut eb) = pair(options);
    assert_eq!(ea.next().await, Some(RtcEvent::Open));
    assert_eq!(eb.next().await, Some(RtcEvent::Open));

    // 8 MiB in 64 KiB messages, queued all at once: far above the high-water
    // mark, so the queue must drain through bufferedamountlow.
    let mut sent = Sha256::new();
    let count = 128u32;
    {
        let a = a.borrow();
        let a = a.as_ref().expect("peer a");
        for i in 0..count {
            let msg: Vec<u8> = (0..65_536u32).map(|j| ((i * 13 + j) % 256) as u8).collect();
            sent.update(&msg);
            a.send(msg);
        }
        assert!(
            a.backlog() > 128 * 1024,
            "sender queues beyond the high-water mark"
        );
    }
    let mut got = Sha256::new();
    for _ in 0..count {
        match eb.next().await {
            Some(RtcEvent::Message(m)) => {
                assert_eq!(m.len(), 65_536);
                got.update(&m);
            }
            other => panic!("expected a message, got {other:?}"),
        }
    }
    assert_eq!(
        got.finalize(),
        sent.finalize(),
        "bytes arrive intact, in order"
    );

    // Echo back the other way.
    b.borrow().as_ref().expect("peer b").send(b"pong".to_vec());
    assert_eq!(ea.next().await, Some(RtcEvent::Message(b"pong".to_vec())));

    // Closing one side is reported on the other.
    drop(a.borrow_mut().take());
    assert!(matches!(eb.next().await, Some(RtcEvent::Closed(_))));
}

#[wasm_bindgen_test]
async fn peer_that_never_answers_times_out() {
    let (tx, mut rx) = mpsc::unbounded();
    let options = RtcOptions {
        connect_timeout_ms: 50,
        ..RtcOptions::default()
    };
    let _lonely = RtcPeer::new(options, Role::Offerer, move |e| {
        if !matches!(e, RtcEvent::Signal { .. }) {
            let _ = tx.unbounded_send(e);
        }
    })
    .expect("peer");
    assert_eq!(
        rx.next().await,
        Some(RtcEvent::Closed("connect timeout".into()))
    );
}
