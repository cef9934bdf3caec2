//! JSON messages between a client and the array service (one Durable Object
//! per peer group), documented in `docs/array-protocol.md`.
//!
//! Every message is one WebSocket text frame holding one JSON object whose
//! `type` field names it. The client sends [`ClientMessage`]s (a stats
//! [`Report`] with the seed's field list, or a WebRTC [`Signal`] for one
//! peer); the server sends [`ServerMessage`]s (its welcome with the peer id it
//! assigned, peer lists, relayed signals, departures, its share of the
//! CDN's work and errors).
//!
//! Invariants: a [`PeerId`] is always 1..=64 characters of `[A-Za-z0-9_-]`;
//! [`Report::validate`] bounds every free-text field, so a report the server
//! keeps costs a bounded number of bytes. Decoding never panics.

use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::ids::ContentId;
use crate::modes::{check_group_key, DownloadMode, GroupKeyError};

#[cfg(test)]
mod tests;

/// Longest peer id, in bytes.
pub const MAX_PEER_ID_LEN: usize = 64;
/// Longest free-text field of a [`Report`] (profile, versions, ids, IP), in bytes.
pub const MAX_REPORT_TEXT_LEN: usize = 256;
/// Longest `altCatalogId` of a [`Report`], in bytes: a download URL, as long
/// as the edge worker lets a content policy register one.
pub const MAX_ALT_CATALOG_ID_LEN: usize = 2048;
/// Largest `peersWanted` a client may ask for; larger asks are clamped to it.
pub const MAX_PEERS_WANTED: u32 = 64;
/// Offers one peer may send to one other peer per [`OFFER_WINDOW_MS`]; more
/// are refused with [`ArrayErrorCode::OfferLimit`]. An honest client offers
/// once per connection attempt.
pub const MAX_OFFERS_PER_PAIR: u32 = 4;
/// The window of [`MAX_OFFERS_PER_PAIR`], in milliseconds.
pub const OFFER_WINDOW_MS: u64 = 60_000;
/// Highest self-reported rate the array believes (10 Gbit/s, in bytes per
/// second); a report's rates are clamped to it and to its own counters.
pub const MAX_PLAUSIBLE_BPS: u64 = 1_250_000_000;
/// Most peers one [`Attestation`] list may name.
pub const MAX_ATTESTED_PEERS: usize = 16;
/// The array pushes [`ServerMessage::Share`] this many milliseconds after
/// the downloading members change, once for all changes in between —
/// unless [`share_push_now`] says at once.
pub const SHARE_PUSH_MS: u64 = 250;

/// Whether the array pushes shares at once: the number of downloading
/// members moved by a quarter or more since the last push (`pushed`
/// members then, `now` members now). A burst of joins into an empty array
/// then costs a few pushes per doubling, and each page's view of the
/// array's size is never off by more than a quarter for longer than
/// [`SHARE_PUSH_MS`].
pub fn share_push_now(pushed: usize, now: usize) -> bool {
    now.saturating_mul(4) >= pushed.saturating_mul(5)
        || now.saturating_mul(5) <= pushed.saturating_mul(4)
}
/// Distinct accusers with standing after whom a peer is dropped from peer
/// lists (unless more peers vouch for it).
pub const BAN_QUORUM: usize = 2;

/// Why a string is not a valid [`PeerId`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PeerIdError {
    #[error("peer id must be 1..={MAX_PEER_ID_LEN} bytes, got {0}")]
    Length(usize),
    #[error("peer id may only hold A-Z a-z 0-9 _ -")]
    BadCharacter,
}

/// A peer id, assigned by the array service: 1..=64 characters of `[A-Za-z0-9_-]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PeerId(String);

impl PeerId {
    pub fn new(s: &str) -> Result<Self, PeerIdError> {
        if s.is_empty() || s.len() > MAX_PEER_ID_LEN {
            return Err(PeerIdError::Length(s.len()));
        }
        if !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(PeerIdError::BadCharacter);
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for PeerId {
    type Error = PeerIdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(&s)
    }
}

impl From<PeerId> for String {
    fn from(id: PeerId) -> Self {
        id.0
    }
}

/// A client's stats report: the Delivery Optimization seed's field list, in
/// camelCase. Counters are bytes; rates are bytes per second.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Report {
    /// Device type (e.g. "browser").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_id: Option<ContentId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub do_client_version: Option<String>,
    /// The download URL, when no content id is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alt_catalog_id: Option<String>,
    /// If present, must equal the id the server assigned to this socket.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer_id: Option<PeerId>,
    /// The internal / private IP address, as the client sees it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reported_ip: Option<String>,
    pub is_background: bool,
    /// Total bytes uploaded to peers.
    pub uploaded: u64,
    /// Total bytes downloaded from peers.
    pub downloaded: u64,
    /// Total bytes downloaded from the CDN.
    pub downloaded_cdn: u64,
    /// Bytes left to download; 0 for a complete copy (a seed).
    pub left: u64,
    /// How many peers the client wants in the answer (clamped to [`MAX_PEERS_WANTED`]).
    pub peers_wanted: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    /// The download mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<DownloadMode>,
    pub uploaded_bps: u64,
    pub download_bps: u64,
    /// Client grouping id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub e_id: Option<String>,
}

/// Why a [`Report`] is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReportError {
    #[error("field {field} is {len} bytes long; at most {max} are allowed")]
    FieldTooLong {
        field: &'static str,
        len: usize,
        max: usize,
    },
    #[error(transparent)]
    GroupId(#[from] GroupKeyError),
}

impl Report {
    /// Checks the bounds of every free-text field.
    pub fn validate(&self) -> Result<(), ReportError> {
        let text = MAX_REPORT_TEXT_LEN;
        if let Some(g) = &self.group_id {
            check_group_key("groupId", g)?;
        }
        let fields: [(&'static str, &Option<String>, usize); 5] = [
            ("profile", &self.profile, text),
            ("doClientVersion", &self.do_client_version, text),
            ("altCatalogId", &self.alt_catalog_id, MAX_ALT_CATALOG_ID_LEN),
            ("reportedIp", &self.reported_ip, text),
            ("eId", &self.e_id, text),
        ];
        for (field, value, max) in fields {
            if let Some(v) = value {
                if v.len() > max {
                    return Err(ReportError::FieldTooLong {
                        field,
                        len: v.len(),
                        max,
                    });
                }
            }
        }
        Ok(())
    }

    /// `peersWanted`, clamped to [`MAX_PEERS_WANTED`].
    pub fn peers_wanted_clamped(&self) -> usize {
        self.peers_wanted.min(MAX_PEERS_WANTED) as usize
    }
}

/// The kind of a WebRTC signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SignalKind {
    Offer,
    Answer,
    Ice,
}

/// A WebRTC signal a client asks the array to relay to one peer of the same array.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Signal {
    /// The receiving peer.
    pub to: PeerId,
    pub kind: SignalKind,
    /// Opaque to the server: SDP text for offer/answer, a JSON-encoded
    /// candidate for ice.
    pub data: String,
}

/// What a client vouches for and accuses, sent on its own (`type:
/// "attest"`); each attestation replaces the sender's previous one, so a
/// client repeats its current lists (e.g. with every report).
///
/// A peer named in some other peer's `verifiedFrom` has *standing*: the array
/// ranks it ahead of every peer without standing, whatever the reports say.
/// A peer named in `banned` by [`BAN_QUORUM`] distinct peers *with standing*,
/// and by more of them than vouch for it, is left out of peer lists.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Attestation {
    /// Peers this client received SHA-256-verified pieces from.
    pub verified_from: Vec<PeerId>,
    /// Peers this client banned (e.g. for a corrupt piece).
    pub banned: Vec<PeerId>,
}

/// Why an [`Attestation`] is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("field {field} names {len} peers; at most {MAX_ATTESTED_PEERS} are allowed")]
pub struct AttestationError {
    pub field: &'static str,
    pub len: usize,
}

impl Attestation {
    /// Checks the list bounds.
    pub fn validate(&self) -> Result<(), AttestationError> {
        for (field, list) in [
            ("verifiedFrom", &self.verified_from),
            ("banned", &self.banned),
        ] {
            if list.len() > MAX_ATTESTED_PEERS {
                return Err(AttestationError {
                    field,
                    len: list.len(),
                });
            }
        }
        Ok(())
    }
}

/// A message from a client to the array.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum ClientMessage {
    Report(Report),
    Signal(Signal),
    Attest(Attestation),
}

/// What the server tells a peer about another peer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PeerInfo {
    pub peer_id: PeerId,
    /// Bytes that peer still lacks (0 = it holds the whole file); `None`
    /// until it has reported.
    pub left: Option<u64>,
    pub uploaded: u64,
    pub downloaded: u64,
    pub uploaded_bps: u64,
    pub download_bps: u64,
    pub is_background: bool,
}

/// The array's limits, announced in the welcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArrayLimits {
    /// Most peers one array holds; further sockets are refused.
    pub max_peers: u32,
    /// Largest message accepted, in bytes.
    pub max_message_bytes: u32,
    /// Sustained messages per second per socket.
    pub messages_per_second: u32,
    /// Messages a socket may send in a burst above the sustained rate.
    pub burst: u32,
}

impl Default for ArrayLimits {
    fn default() -> Self {
        Self {
            max_peers: 512,
            max_message_bytes: 16 * 1024,
            messages_per_second: 20,
            burst: 40,
        }
    }
}

/// Machine-readable reasons in [`ServerMessage::Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArrayErrorCode {
    /// Not JSON, or not a known message.
    BadMessage,
    /// Binary frames are not part of the protocol.
    BinaryNotSupported,
    /// Larger than `maxMessageBytes`; dropped.
    MessageTooLarge,
    /// Over the message rate; dropped.
    RateLimited,
    /// A report named a peer id other than the socket's own.
    PeerIdMismatch,
    /// A report field is out of bounds.
    BadReport,
    /// The signal's target is not a peer of this array (or is the sender).
    UnknownPeer,
    /// The signal's target has received its share of signals for now
    /// (all senders together); dropped.
    RecipientBusy,
    /// This sender already sent [`MAX_OFFERS_PER_PAIR`] offers to this
    /// recipient within [`OFFER_WINDOW_MS`]; dropped.
    OfferLimit,
    /// An attestation list is over [`MAX_ATTESTED_PEERS`].
    BadAttestation,
}

/// A message from the array to a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum ServerMessage {
    /// First message on every socket.
    Welcome {
        peer_id: PeerId,
        array_id: String,
        limits: ArrayLimits,
    },
    /// The answer to a report: up to `peersWanted` other peers, most useful first.
    Peers { peers: Vec<PeerInfo> },
    /// A signal relayed from `from`, a peer of the same array.
    Signal {
        from: PeerId,
        kind: SignalKind,
        data: String,
    },
    /// A peer's socket closed; it is no longer in the array.
    PeerLeft { peer_id: PeerId },
    /// This peer's place in the division of the CDN's work: it holds rank
    /// `rank` (0-based; a new member takes the next rank, a member that
    /// finishes or leaves gives its rank to the last member) of the
    /// `members` peers of the array still downloading (their last report's
    /// `left` is above 0). Sent in the answer to a report when new to the
    /// reporter, and pushed to every member whose pair changed: at once when
    /// [`share_push_now`], else [`SHARE_PUSH_MS`] after the change.
    Share { rank: u32, members: u32 },
    /// A message was refused; the socket stays open unless the server closes it.
    Error {
        code: ArrayErrorCode,
        message: String,
    },
}
