//! The array Durable Object: glue between workerd's hibernatable WebSockets
//! and [`ArrayCore`].
//!
//! Each socket is accepted with the hibernation API and tagged with the
//! peer id the server assigned; its attachment holds that id and the
//! peer's last report (counters only) with the time it arrived, so the
//! roster, staleness included, can be rebuilt when the object wakes from
//! hibernation with an empty memory. Rate-limit allowances start afresh after
//! a wake-up (a hibernated object had no traffic to limit). A peer's socket is
//! closed after four report intervals of silence, never sooner than a minute
//! (or after `ARRAY_IDLE_MS`): idle peers are evicted before a join is refused
//! as full, and by an alarm every half deadline while the array has peers.
//! The same alarm is brought forward to the core's armed share push
//! (`share`), and every alarm pushes the shares that changed (after a wake-up
//! from hibernation, which forgets what was sent, that is every share).
//! Nothing here decides anything: the core does.

use std::cell::RefCell;

use serde::{Deserialize, Serialize};
use wasm_bindgen::JsCast;
use worker::{
    durable_object, js_sys, wasm_bindgen, DurableObject, Env, Request, Response, Result, State,
    WebSocket, WebSocketIncomingMessage, WebSocketPair,
};

use edgeswarm_protocol::array::{PeerId, Report, ServerMessage};

use super::{Action, ArrayCore};
use crate::error::ApiError;

/// What each socket carries across hibernation.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Attachment {
    peer_id: PeerId,
    array_id: String,
    report: Option<Report>,
    /// When the peer joined or its last report was admitted (ms since the epoch).
    #[serde(default)]
    last_seen_ms: Option<f64>,
    /// When the peer joined (ms since the epoch): its rank in the division
    /// of the CDN's work.
    #[serde(default)]
    joined_ms: Option<f64>,
    /// It once reported `left` 0: out of the division for good.
    #[serde(default)]
    seeded: bool,
}

/// Floor of the stale-after time, whatever the report interval.
const MIN_STALE_AFTER_MS: f64 = 60_000.0;
/// Report intervals of silence after which a peer is stale.
const STALE_AFTER_REPORTS: f64 = 4.0;

#[durable_object]
pub struct ArrayObject {
    state: State,
    env: Env,
    core: RefCell<Option<ArrayCore>>,
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// A fresh random peer id (a v4 UUID from the platform's CSPRNG).
fn new_peer_id() -> Result<PeerId> {
    let crypto = js_sys::Reflect::get(&js_sys::global(), &"crypto".into())?;
    let f: js_sys::Function = js_sys::Reflect::get(&crypto, &"randomUUID".into())?.dyn_into()?;
    let uuid = f.call0(&crypto)?.as_string().unwrap_or_default();
    PeerId::new(&uuid).map_err(|e| worker::Error::RustError(format!("peer id: {e}")))
}

fn send(ws: &WebSocket, msg: &ServerMessage) {
    if let Ok(text) = serde_json::to_string(msg) {
        // A socket that is closing cannot take more messages; that is fine.
        let _ = ws.send_with_str(text);
    }
}

impl ArrayObject {
    /// Runs `f` on the core, rebuilding it from the sockets' attachments first
    /// if this instance just woke up.
    fn with_core<T>(&self, f: impl FnOnce(&mut ArrayCore) -> T) -> Result<T> {
        let mut slot = self.core.borrow_mut();
        if slot.is_none() {
            let settings = crate::glue::settings(&self.env)
                .map_err(|e| worker::Error::RustError(e.message))?;
            let mut core = ArrayCore::new(settings.client.array);
            // u64 milliseconds as f64: exact below 2^53 ms, i.e. always in practice.
            let interval = settings.client.report_interval_ms as f64;
            let idle = match settings.array_idle_ms {
                Some(ms) => ms as f64,
                None => (STALE_AFTER_REPORTS * interval).max(MIN_STALE_AFTER_MS),
            };
            core.set_stale_after_ms(idle);
            let now = now_ms();
            for ws in self.state.get_websockets() {
                if let Ok(Some(a)) = ws.deserialize_attachment::<Attachment>() {
                    let seen = a.last_seen_ms.unwrap_or(now);
                    let joined = a.joined_ms;
                    let peer = a.peer_id.clone();
                    core.restore(a.peer_id, a.report, a.seeded, seen, now);
                    if let Some(t) = joined {
                        core.set_joined_ms(&peer, t);
                    }
                }
            }
            *slot = Some(core);
        }
        match slot.as_mut() {
            Some(core) => Ok(f(core)),
            None => Err(worker::Error::RustError("array core missing".into())),
        }
    }

    fn socket_of(&self, peer: &PeerId) -> Option<WebSocket> {
        self.state
            .get_websockets_with_tag(peer.as_str())
            .into_iter()
            .next()
    }

    /// Carries out the core's actions; `ws` is the socket whose message
    /// caused them (a `Persist` is about it), if any.
    fn apply(&self, ws: Option<&WebSocket>, actions: Vec<Action>) -> Result<()> {
        for action in actions {
            match action {
                Action::Send { to, msg } => {
                    if let Some(target) = self.socket_of(&to) {
                        send(&target, &msg);
                    }
                }
                Action::Close { peer, code, reason } => {
                    if let Some(target) = self.socket_of(&peer) {
                        let _ = target.close(Some(code), Some(reason));
                    }
                    let left = self.with_core(|c| c.leave(&peer, now_ms()))?;
                    self.apply(ws, left)?;
                }
                Action::Persist { peer } => {
                    let Some(ws) = ws else { continue };
                    let (report, seen, seeded) = self.with_core(|c| {
                        let seeded = c.seeded(&peer);
                        (c.report(&peer).cloned(), c.last_seen_ms(&peer), seeded)
                    })?;
                    if let Ok(Some(mut a)) = ws.deserialize_attachment::<Attachment>() {
                        if a.peer_id == peer {
                            a.report = report;
                            a.last_seen_ms = seen;
                            a.seeded = seeded;
                            ws.serialize_attachment(&a)?;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn peer_of(ws: &WebSocket) -> Option<PeerId> {
        ws.deserialize_attachment::<Attachment>()
            .ok()
            .flatten()
            .map(|a| a.peer_id)
    }

    /// Closes idle peers' sockets (see the core's `evict_idle`).
    fn evict_idle(&self) -> Result<()> {
        let now = now_ms();
        let actions = self.with_core(|c| c.evict_idle(now))?;
        self.apply(None, actions)
    }

    /// Arms the eviction alarm (every half deadline) unless one is pending.
    async fn arm_alarm(&self) -> Result<()> {
        let storage = self.state.storage();
        if storage.get_alarm().await?.is_none() {
            let half = self.with_core(|c| c.stale_after_ms() / 2.0)?;
            // Whole ms, at least one.
            storage.set_alarm(half.max(1.0) as i64).await?;
        }
        Ok(())
    }

    /// Brings the alarm forward to the core's armed share push, if any.
    async fn arm_share_alarm(&self) -> Result<()> {
        let Some(due) = self.with_core(|c| c.share_due_ms())? else {
            return Ok(());
        };
        let storage = self.state.storage();
        let pending = storage.get_alarm().await?;
        if pending.is_none_or(|t| t as f64 > due) {
            // Whole ms from now, at least one.
            storage.set_alarm((due - now_ms()).max(1.0) as i64).await?;
        }
        Ok(())
    }

    fn on_gone(&self, ws: &WebSocket) -> Result<()> {
        if let Some(peer) = Self::peer_of(ws) {
            let actions = self.with_core(|c| c.leave(&peer, now_ms()))?;
            self.apply(Some(ws), actions)?;
        }
        Ok(())
    }
}

impl DurableObject for ArrayObject {
    fn new(state: State, env: Env) -> Self {
        ArrayObject {
            state,
            env,
            core: RefCell::new(None),
        }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        let array_id = req.path().rsplit('/').next().unwrap_or_default().to_owned();
        // Idle sockets give their slots up before a join is refused.
        if self.with_core(|c| c.is_full())? {
            self.evict_idle()?;
            self.arm_share_alarm().await?;
        }
        if self.with_core(|c| c.is_full())? {
            let e = ApiError::new(429, "array_full", "this array holds its maximum of peers");
            return crate::glue::error_response(&e);
        }
        let peer = new_peer_id()?;
        let pair = WebSocketPair::new()?;
        let server = pair.server;
        let now = now_ms();
        self.state
            .accept_websocket_with_tags(&server, &[peer.as_str()]);
        server.serialize_attachment(&Attachment {
            peer_id: peer.clone(),
            array_id: array_id.clone(),
            report: None,
            last_seen_ms: Some(now),
            joined_ms: Some(now),
            seeded: false,
        })?;
        let welcome = self.with_core(|c| {
            c.join(peer.clone(), None, now);
            c.welcome(&peer, &array_id)
        })?;
        send(&server, &welcome);
        self.arm_alarm().await?;
        // A wake-up from hibernation may have armed a share push.
        self.arm_share_alarm().await?;
        Response::from_websocket(pair.client)
    }

    async fn alarm(&self) -> Result<Response> {
        self.evict_idle()?;
        // The armed share push, or any share a wake-up from hibernation lost.
        let shares = self.with_core(|c| c.push_shares())?;
        self.apply(None, shares)?;
        if !self.with_core(|c| c.is_empty())? {
            self.arm_alarm().await?;
        }
        self.arm_share_alarm().await?;
        Response::ok("")
    }

    async fn websocket_message(
        &self,
        ws: WebSocket,
        message: WebSocketIncomingMessage,
    ) -> Result<()> {
        let Some(peer) = Self::peer_of(&ws) else {
            return Ok(());
        };
        let now = now_ms();
        let actions = self.with_core(|c| {
            // A socket the roster lost (it was closed by the server) is ignored.
            if !c.contains(&peer) {
                return Vec::new();
            }
            match &message {
                WebSocketIncomingMessage::String(text) => c.on_text(&peer, text, now),
                WebSocketIncomingMessage::Binary(bytes) => c.on_binary(&peer, bytes.len(), now),
            }
        })?;
        self.apply(Some(&ws), actions)?;
        self.arm_share_alarm().await
    }

    async fn websocket_close(
        &self,
        ws: WebSocket,
        _code: usize,
        _reason: String,
        _clean: bool,
    ) -> Result<()> {
        self.on_gone(&ws)?;
        // Complete the closing handshake; the socket may already be closed.
        let _ = ws.close(Some(1000), Some("bye"));
        self.arm_share_alarm().await
    }

    async fn websocket_error(&self, ws: WebSocket, _error: worker::Error) -> Result<()> {
        self.on_gone(&ws)?;
        self.arm_share_alarm().await
    }
}
