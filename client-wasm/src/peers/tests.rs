//! The peer table in headless Chromium, with real `RTCPeerConnection`s in
//! one page: tables signal each other directly (the test plays the array)
//! and the test plays the engine (it reads the `Input`s a table returns and
//! calls `ban` as the session does on `Event::PeerBanned`).

use std::collections::VecDeque;
use std::rc::Rc;

use edgeswarm_engine::{Input, PeerKey};
use edgeswarm_protocol::array::{PeerId, MAX_PEERS_WANTED};
use edgeswarm_protocol::wire::MAX_MESSAGE_LEN;
use futures_channel::mpsc;
use futures_util::StreamExt;
use js_sys::{Array, Object, Reflect};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::RtcPeerConnection;

use super::PeerTable;
use crate::rtc::{RtcEvent, RtcOptions};

wasm_bindgen_test_configure!(run_in_browser);

type Events = mpsc::UnboundedReceiver<(PeerKey, u64, RtcEvent)>;

fn id(s: &str) -> PeerId {
    PeerId::new(s).expect("peer id")
}

fn table(me: &str, options: RtcOptions) -> (PeerTable, Events) {
    let (tx, rx) = mpsc::unbounded();
    let mut t = PeerTable::with_sink(
        options,
        4,
        Rc::new(move |k, g, e| {
            let _ = tx.unbounded_send((k, g, e));
        }),
    );
    t.set_me(id(me));
    (t, rx)
}

/// One page's worth of tables. `pump` moves every signal to its addressee
/// and returns the first engine input some table produced.
struct Swarm {
    tables: Vec<(PeerId, PeerTable, Events)>,
    inputs: VecDeque<(PeerId, Input)>,
}

impl Swarm {
    fn add(&mut self, me: &str, options: RtcOptions) -> usize {
        let (t, rx) = table(me, options);
        self.tables.push((id(me), t, rx));
        self.tables.len() - 1
    }

    fn key(&mut self, at: usize, of: &str) -> PeerKey {
        self.tables[at].1.key(&id(of))
    }

    /// Waits for the next engine input from any table (routing signals).
    async fn next_input(&mut self) -> (PeerId, Input) {
        loop {
            if let Some(i) = self.inputs.pop_front() {
                return i;
            }
            let streams = self
                .tables
                .iter_mut()
                .enumerate()
                .map(|(n, (_, _, rx))| rx.map(move |e| (n, e)));
            let (n, (key, generation, event)) = futures_util::stream::select_all(streams)
                .next()
                .await
                .expect("a table event");
            match event {
                RtcEvent::Signal { kind, data } => {
                    let from = self.tables[n].0.clone();
                    let to = self.tables[n].1.id(key).cloned().expect("addressee");
                    if let Some((_, t, _)) = self.tables.iter_mut().find(|(me, ..)| *me == to) {
                        t.on_signal(&from, kind, data);
                    }
                }
                other => {
                    let me = self.tables[n].0.clone();
                    if let Some(input) = self.tables[n].1.on_rtc(key, generation, other, None) {
                        self.inputs.push_back((me, input));
                    }
                }
            }
        }
    }

    /// Dials `to` from table `from` and waits until both sides report open.
    async fn connect(&mut self, from: usize, to: usize) {
        let to_id = self.tables[to].0.as_str().to_owned();
        let key = self.key(from, &to_id);
        assert_eq!(self.tables[from].1.connect(key), None, "dialling");
        let ends = [self.tables[from].0.clone(), self.tables[to].0.clone()];
        let mut open = 0;
        while open < 2 {
            match self.next_input().await {
                // Earlier connections of other tables may still be closing.
                (who, _) if !ends.contains(&who) => {}
                (_, Input::PeerConnected { .. }) => open += 1,
                (who, other) => panic!("{who}: expected PeerConnected, got {other:?}"),
            }
        }
    }
}

fn swarm() -> Swarm {
    Swarm {
        tables: Vec::new(),
        inputs: VecDeque::new(),
    }
}

/// One ECDSA certificate, as a page that reuses it for every connection would hold.
async fn shared_certificate() -> Array {
    let algo = Object::new();
    Reflect::set(&algo, &"name".into(), &"ECDSA".into()).expect("set");
    Reflect::set(&algo, &"namedCurve".into(), &"P-256".into()).expect("set");
    let cert = JsFuture::from(
        RtcPeerConnection::generate_certificate_with_object(&algo).expect("generate"),
    )
    .await
    .expect("certificate");
    Array::of1(&cert)
}

#[wasm_bindgen_test]
async fn oversize_and_text_messages_are_refused_uncopied_and_their_sender_reported() {
    let mut s = swarm();
    let victim = s.add("victim", RtcOptions::default());
    let mallory = s.add("mallory", RtcOptions::default());
    s.connect(mallory, victim).await;
    let at_mallory = s.key(mallory, "victim");
    let at_victim = s.key(victim, "mallory");

    // One byte above the protocol's largest message (under SCTP's 256 KiB).
    assert!(s.tables[mallory]
        .1
        .send(at_mallory, vec![7; MAX_MESSAGE_LEN + 1]));
    assert_eq!(
        s.next_input().await,
        (
            id("victim"),
            Input::PeerMisbehaved {
                peer: at_victim,
                reason: "oversize data-channel message"
            }
        )
    );
    s.tables[mallory].1.conns[&at_mallory]
        .rtc
        .send_text("{\"hello\":1}")
        .expect("text sent");
    assert_eq!(
        s.next_input().await,
        (
            id("victim"),
            Input::PeerMisbehaved {
                peer: at_victim,
                reason: "text data-channel message"
            }
        )
    );
    // A message of exactly the largest size still goes through, and it is
    // the only thing the victim ever copied.
    assert!(s.tables[mallory]
        .1
        .send(at_mallory, vec![1; MAX_MESSAGE_LEN]));
    match s.next_input().await {
        (who, Input::PeerData { peer, bytes }) => {
            assert_eq!(
                (who, peer, bytes.len()),
                (id("victim"), at_victim, MAX_MESSAGE_LEN)
            );
        }
        other => panic!("expected PeerData, got {other:?}"),
    }
    let copied = s.tables[victim].1.conns[&at_victim].rtc.bytes_copied();
    assert_eq!(
        copied, MAX_MESSAGE_LEN as u64,
        "refused messages were never copied"
    );
}

#[wasm_bindgen_test]
async fn a_banned_certificate_is_refused_under_a_new_peer_id() {
    let cert = shared_certificate().await;
    let reused = RtcOptions {
        certificates: Some(cert),
        ..RtcOptions::default()
    };
    let mut s = swarm();
    let victim = s.add("victim", RtcOptions::default());
    let first = s.add("mallory-1", reused.clone());
    s.connect(first, victim).await;
    let banned = s.key(victim, "mallory-1");
    // The engine banned it (as on Event::PeerBanned).
    s.tables[victim].1.ban(banned);
    assert_eq!(s.tables[victim].1.connections(), 0);

    // Same certificate, new peer id: its offer is refused before any
    // RTCPeerConnection is made, and the new id is banned with it.
    let second = s.add("mallory-2", reused);
    let key = s.key(second, "victim");
    assert_eq!(s.tables[second].1.connect(key), None);
    let (_, offer) = loop {
        let (k, g, e) = s.tables[second].2.next().await.expect("event");
        if let RtcEvent::Signal { kind, data } = e {
            break ((k, g), (kind, data));
        }
    };
    s.tables[victim]
        .1
        .on_signal(&id("mallory-2"), offer.0, offer.1);
    assert_eq!(s.tables[victim].1.connections(), 0, "no connection for it");
    let rejoined = s.key(victim, "mallory-2");
    assert!(s.tables[victim].1.is_banned(rejoined));
    assert!(s.tables[victim]
        .1
        .candidates([id("mallory-2")].iter())
        .is_empty());

    // What it does not stop: a fresh certificate (Chromium's default per
    // connection) under another new id connects.
    let third = s.add("mallory-3", RtcOptions::default());
    s.connect(third, victim).await;
    assert_eq!(s.tables[victim].1.connections(), 1);
}

#[wasm_bindgen_test]
async fn the_table_forgets_the_least_recently_used_ids_beyond_its_bound() {
    let (mut t, _events) = table("me", RtcOptions::default());
    let bound = 4 + 2 * MAX_PEERS_WANTED as usize;
    // A connection in progress is never forgotten.
    let dialled = t.key(&id("dialled"));
    assert_eq!(t.connect(dialled), None);
    let first = t.key(&id("sender-0"));
    for n in 1..2_000 {
        t.key(&id(&format!("sender-{n}")));
        assert!(t.known_len() <= bound, "bounded at {bound}");
    }
    assert_eq!(t.known_len(), bound);
    assert_eq!(t.id(dialled), Some(&id("dialled")), "connected id kept");
    assert_eq!(t.id(first), None, "oldest unused id forgotten");
    assert_eq!(t.connect(first), Some(Input::PeerGone { peer: first }));
    let newest = t.key(&id("sender-1999"));
    assert_eq!(t.id(newest), Some(&id("sender-1999")), "newest kept");
}
