//! Signalling steps of an [`RtcPeer`](super::RtcPeer): making the offer,
//! applying the remote offer/answer (and answering an offer), and applying
//! trickled ICE candidates, queued until the remote description is set.
//! Remote candidates beyond [`MAX_ICE_CANDIDATES`] per connection are
//! ignored: each one makes the browser probe the address it names.

use std::rc::Weak;

use edgeswarm_protocol::array::SignalKind;
use edgeswarm_protocol::rtc::MAX_ICE_CANDIDATES;
use js_sys::{Reflect, JSON};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{RtcIceCandidateInit, RtcPeerConnection, RtcSdpType, RtcSessionDescriptionInit};

use super::{js_err, Inner, RtcEvent};

/// The `sdp` field of a description returned by createOffer/createAnswer.
fn sdp_of(desc: &wasm_bindgen::JsValue) -> Option<String> {
    Reflect::get(desc, &"sdp".into())
        .ok()
        .and_then(|s| s.as_string())
}

impl Inner {
    pub(super) async fn offer(weak: &Weak<Self>) -> Result<(), String> {
        let Some(pc) = weak.upgrade().map(|i| i.pc.clone()) else {
            return Ok(());
        };
        let offer = JsFuture::from(pc.create_offer()).await.map_err(js_err)?;
        set_local_and_send(weak, &pc, &offer, SignalKind::Offer).await
    }

    pub(super) async fn signal(
        weak: &Weak<Self>,
        kind: SignalKind,
        data: String,
    ) -> Result<(), String> {
        let Some(pc) = weak.upgrade().map(|i| i.pc.clone()) else {
            return Ok(());
        };
        if kind == SignalKind::Ice {
            let Some(i) = weak.upgrade() else {
                return Ok(());
            };
            // Relayed from the remote peer: bound what it can make us probe
            // (and hold, before the description). Extra candidates are ignored.
            let taken = i.ice_taken.get();
            if taken >= MAX_ICE_CANDIDATES {
                return Ok(());
            }
            i.ice_taken.set(taken + 1);
            if i.remote_set.get() {
                drop(i);
                add_ice(&pc, &data).await?;
            } else {
                i.pending_ice.borrow_mut().push(data);
            }
            return Ok(());
        }
        let sdp_type = if kind == SignalKind::Offer {
            RtcSdpType::Offer
        } else {
            RtcSdpType::Answer
        };
        let desc = RtcSessionDescriptionInit::new(sdp_type);
        desc.set_sdp(&data);
        JsFuture::from(pc.set_remote_description(&desc))
            .await
            .map_err(js_err)?;
        let pending = match weak.upgrade() {
            Some(i) => {
                i.remote_set.set(true);
                std::mem::take(&mut *i.pending_ice.borrow_mut())
            }
            None => return Ok(()),
        };
        for c in pending {
            add_ice(&pc, &c).await?;
        }
        if kind == SignalKind::Offer {
            let answer = JsFuture::from(pc.create_answer()).await.map_err(js_err)?;
            set_local_and_send(weak, &pc, &answer, SignalKind::Answer).await?;
        }
        Ok(())
    }
}

/// Sets a description made by createOffer/createAnswer as the local one and
/// hands its SDP to the peer's sink as a `kind` (offer or answer) signal.
async fn set_local_and_send(
    weak: &Weak<Inner>,
    pc: &RtcPeerConnection,
    created: &wasm_bindgen::JsValue,
    kind: SignalKind,
) -> Result<(), String> {
    let (sdp_type, what) = match kind {
        SignalKind::Offer => (RtcSdpType::Offer, "offer"),
        _ => (RtcSdpType::Answer, "answer"),
    };
    let sdp = sdp_of(created).ok_or_else(|| format!("{what} without sdp"))?;
    let desc = RtcSessionDescriptionInit::new(sdp_type);
    desc.set_sdp(&sdp);
    JsFuture::from(pc.set_local_description(&desc))
        .await
        .map_err(js_err)?;
    if let Some(i) = weak.upgrade() {
        (i.sink)(RtcEvent::Signal { kind, data: sdp });
    }
    Ok(())
}

/// Applies one trickled candidate (the JSON of `RTCIceCandidate.toJSON()`).
async fn add_ice(pc: &RtcPeerConnection, json: &str) -> Result<(), String> {
    let value = JSON::parse(json).map_err(|_| "ICE candidate is not JSON".to_string())?;
    if !value.is_object() {
        return Err("ICE candidate is not an object".into());
    }
    let init: RtcIceCandidateInit = value.unchecked_into();
    JsFuture::from(pc.add_ice_candidate_with_opt_rtc_ice_candidate_init(Some(&init)))
        .await
        .map_err(js_err)?;
    Ok(())
}
