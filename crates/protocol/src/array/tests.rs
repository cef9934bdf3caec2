//! Unit tests for the array message types: the JSON shape clients rely on.

use super::*;

#[test]
fn report_uses_the_seed_field_names() {
    let json = r#"{"type":"report","profile":"browser","contentId":"demo",
        "doClientVersion":"0.1","altCatalogId":"https://x/y","peerId":"abc",
        "reportedIp":"10.0.0.2","isBackground":true,"uploaded":1,"downloaded":2,
        "downloadedCdn":3,"left":4,"peersWanted":5,"groupId":"g","scope":2,
        "uploadedBps":6,"downloadBps":7,"eId":"e"}"#;
    let msg: ClientMessage = serde_json::from_str(json).unwrap();
    let ClientMessage::Report(r) = msg else {
        panic!("not a report")
    };
    assert_eq!(r.profile.as_deref(), Some("browser"));
    assert_eq!(r.content_id.as_ref().map(|c| c.as_str()), Some("demo"));
    assert_eq!(r.peer_id.as_ref().map(|p| p.as_str()), Some("abc"));
    assert!(r.is_background);
    assert_eq!(
        (r.uploaded, r.downloaded, r.downloaded_cdn, r.left),
        (1, 2, 3, 4)
    );
    assert_eq!((r.peers_wanted, r.scope), (5, Some(DownloadMode::Group)));
    assert_eq!((r.uploaded_bps, r.download_bps), (6, 7));
    assert_eq!(r.e_id.as_deref(), Some("e"));
    assert_eq!(r.validate(), Ok(()));
}

#[test]
fn minimal_report_defaults_every_field() {
    let msg: ClientMessage = serde_json::from_str(r#"{"type":"report"}"#).unwrap();
    assert_eq!(msg, ClientMessage::Report(Report::default()));
}

#[test]
fn report_rejects_bad_ids_and_long_text() {
    assert!(serde_json::from_str::<ClientMessage>(r#"{"type":"report","peerId":"a b"}"#).is_err());
    assert!(
        serde_json::from_str::<ClientMessage>(r#"{"type":"report","contentId":"../x"}"#).is_err()
    );
    let r = Report {
        profile: Some("x".repeat(MAX_REPORT_TEXT_LEN + 1)),
        ..Report::default()
    };
    assert_eq!(
        r.validate(),
        Err(ReportError::FieldTooLong {
            field: "profile",
            len: MAX_REPORT_TEXT_LEN + 1,
            max: MAX_REPORT_TEXT_LEN
        })
    );
}

#[test]
fn report_group_ids_follow_the_discovery_limit() {
    let long = Report {
        group_id: Some("g".repeat(crate::modes::MAX_GROUP_KEY_LEN + 1)),
        ..Report::default()
    };
    assert!(matches!(long.validate(), Err(ReportError::GroupId(_))));
    let control = Report {
        group_id: Some("a\u{7}b".into()),
        ..Report::default()
    };
    assert!(matches!(control.validate(), Err(ReportError::GroupId(_))));
    assert!(serde_json::from_str::<ClientMessage>(r#"{"type":"report","scope":7}"#).is_err());
}

#[test]
fn a_long_download_url_is_a_valid_alt_catalog_id() {
    // A policy may register an altCatalogId URL of up to 2048 bytes; a client
    // naming its content by such a URL must still get its reports answered.
    let url = format!("https://downloads.example/{}", "a".repeat(1500));
    let ok = Report {
        alt_catalog_id: Some(url),
        ..Report::default()
    };
    assert_eq!(ok.validate(), Ok(()));
    let too_long = Report {
        alt_catalog_id: Some("a".repeat(MAX_ALT_CATALOG_ID_LEN + 1)),
        ..Report::default()
    };
    assert_eq!(
        too_long.validate(),
        Err(ReportError::FieldTooLong {
            field: "altCatalogId",
            len: MAX_ALT_CATALOG_ID_LEN + 1,
            max: MAX_ALT_CATALOG_ID_LEN
        })
    );
}

#[test]
fn peers_wanted_is_clamped() {
    let r = Report {
        peers_wanted: 1_000_000,
        ..Report::default()
    };
    assert_eq!(r.peers_wanted_clamped(), MAX_PEERS_WANTED as usize);
}

#[test]
fn signal_round_trips() {
    let json = r#"{"type":"signal","to":"p-2","kind":"offer","data":"v=0"}"#;
    let msg: ClientMessage = serde_json::from_str(json).unwrap();
    assert_eq!(
        msg,
        ClientMessage::Signal(Signal {
            to: PeerId::new("p-2").unwrap(),
            kind: SignalKind::Offer,
            data: "v=0".into()
        })
    );
    assert!(serde_json::from_str::<ClientMessage>(
        r#"{"type":"signal","to":"p","kind":"bye","data":""}"#
    )
    .is_err());
}

#[test]
fn server_messages_are_tagged_camel_case() {
    let m = ServerMessage::PeerLeft {
        peer_id: PeerId::new("p1").unwrap(),
    };
    assert_eq!(
        serde_json::to_string(&m).unwrap(),
        r#"{"type":"peerLeft","peerId":"p1"}"#
    );
    let share = ServerMessage::Share {
        rank: 3,
        members: 300,
    };
    let text = r#"{"type":"share","rank":3,"members":300}"#;
    assert_eq!(serde_json::to_string(&share).unwrap(), text);
    assert_eq!(serde_json::from_str::<ServerMessage>(text).unwrap(), share);
    let e = ServerMessage::Error {
        code: ArrayErrorCode::RateLimited,
        message: "slow down".into(),
    };
    assert_eq!(
        serde_json::to_string(&e).unwrap(),
        r#"{"type":"error","code":"rate_limited","message":"slow down"}"#
    );
    let w = ServerMessage::Welcome {
        peer_id: PeerId::new("p1").unwrap(),
        array_id: "a".into(),
        limits: ArrayLimits {
            max_peers: 1,
            max_message_bytes: 2,
            messages_per_second: 3,
            burst: 4,
        },
    };
    let text = serde_json::to_string(&w).unwrap();
    assert!(text.contains(r#""peerId":"p1""#) && text.contains(r#""maxMessageBytes":2"#));
    assert_eq!(serde_json::from_str::<ServerMessage>(&text).unwrap(), w);
}

#[test]
fn peer_id_bounds() {
    assert!(PeerId::new("").is_err());
    assert!(PeerId::new(&"a".repeat(65)).is_err());
    assert!(PeerId::new(&"a".repeat(64)).is_ok());
    assert_eq!(PeerId::new("a/b"), Err(PeerIdError::BadCharacter));
}

#[test]
fn attestation_shape_and_bounds() {
    let msg: ClientMessage =
        serde_json::from_str(r#"{"type":"attest","verifiedFrom":["a"],"banned":["b","c"]}"#)
            .unwrap();
    let ClientMessage::Attest(a) = msg else {
        panic!("not an attestation")
    };
    assert_eq!(a.verified_from, [PeerId::new("a").unwrap()]);
    assert_eq!(a.banned.len(), 2);
    assert_eq!(a.validate(), Ok(()));
    let many = Attestation {
        banned: vec![PeerId::new("x").unwrap(); MAX_ATTESTED_PEERS + 1],
        ..Attestation::default()
    };
    assert_eq!(
        many.validate(),
        Err(AttestationError {
            field: "banned",
            len: MAX_ATTESTED_PEERS + 1
        })
    );
    let code = serde_json::to_value(ArrayErrorCode::OfferLimit).unwrap();
    assert_eq!(code, "offer_limit");
}
