//! Array tickets: the proof that a WebSocket upgrade to `/array/{id}` went
//! through discovery.
//!
//! `/disc` places a client and signs a ticket for that one array; the array
//! route refuses an upgrade without a valid, unexpired ticket, before any
//! WebSocket exists. So an array id alone (a public hash) opens nothing, a
//! LAN (scope 1) array only opens to the external address it was computed
//! from, and content whose policy forbids P2P (which `/disc` refuses) has no
//! array anyone can join.
//!
//! Format (opaque to clients, which only carry `arrayUrl`):
//! `{expiresMs}.{binding}.{mac}` in the `ticket` query parameter, where
//! `expiresMs` is decimal milliseconds since the epoch, `binding` is `a`
//! (any address) or `l` (bound to the caller's `CF-Connecting-IP`), and `mac`
//! is the lowercase hex HMAC-SHA256, keyed by the ticket secret, over
//! [`DOMAIN`], the length-prefixed array id, `expiresMs` (u64 LE), the
//! binding byte and the length-prefixed bound address (empty for `a`).
//!
//! Invariants: the MAC is compared in constant time ([`Mac::verify_slice`]);
//! a ticket is checked for shape and length before any hashing; the binding
//! is under the MAC, so a LAN ticket cannot be turned into an unbound one;
//! nothing here panics on caller input.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use thiserror::Error;

use crate::error::ApiError;

/// The query parameter that carries the ticket.
pub const TICKET_PARAM: &str = "ticket";
/// Domain separation: the secret may be shared with the admin token.
pub const DOMAIN: &[u8] = b"edgeswarm-array-ticket-v1";
/// A ticket's lifetime unless `ARRAY_TICKET_TTL_MS` sets another (10 min).
/// A client whose ticket expired re-runs discovery before it reconnects.
pub const DEFAULT_TICKET_TTL_MS: u64 = 600_000;
/// Longest ticket accepted: 20 digits, a dot, a byte, a dot, 64 hex digits.
pub const MAX_TICKET_LEN: usize = 20 + 1 + 1 + 1 + 64;

type HmacSha256 = Hmac<Sha256>;

/// Why an upgrade's ticket is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TicketError {
    #[error("no ticket: get arrayUrl (with its ticket) from /disc")]
    Missing,
    #[error("the ticket is malformed, tampered with, for another array or for another address")]
    Invalid,
    #[error("the ticket expired: ask /disc again")]
    Expired,
}

impl From<TicketError> for ApiError {
    fn from(e: TicketError) -> Self {
        let code = match e {
            TicketError::Missing => "ticket_required",
            TicketError::Invalid => "ticket_invalid",
            TicketError::Expired => "ticket_expired",
        };
        ApiError::new(403, code, e.to_string())
    }
}

fn mac(secret: &[u8], array_id: &str, expires_ms: u64, bound_ip: Option<&str>) -> HmacSha256 {
    // HMAC takes keys of any length; this cannot fail.
    let mut m = <HmacSha256 as KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    let field = |m: &mut HmacSha256, b: &[u8]| {
        m.update(&(b.len() as u64).to_le_bytes());
        m.update(b);
    };
    m.update(DOMAIN);
    field(&mut m, array_id.as_bytes());
    m.update(&expires_ms.to_le_bytes());
    m.update(if bound_ip.is_some() { b"l" } else { b"a" });
    field(&mut m, bound_ip.unwrap_or("").as_bytes());
    m
}

/// A ticket for `array_id` valid until `expires_ms`, bound to `bound_ip` if given.
pub fn issue(secret: &[u8], array_id: &str, expires_ms: u64, bound_ip: Option<&str>) -> String {
    let tag = mac(secret, array_id, expires_ms, bound_ip)
        .finalize()
        .into_bytes();
    let binding = if bound_ip.is_some() { 'l' } else { 'a' };
    format!("{expires_ms}.{binding}.{}", hex::encode(tag))
}

/// Checks `ticket` (the query value, if any) for `array_id` at `now_ms`;
/// `client_ip` is the caller's `CF-Connecting-IP`.
pub fn verify(
    secret: &[u8],
    array_id: &str,
    ticket: Option<&str>,
    now_ms: u64,
    client_ip: Option<&str>,
) -> Result<(), TicketError> {
    let ticket = ticket
        .filter(|t| !t.is_empty())
        .ok_or(TicketError::Missing)?;
    if ticket.len() > MAX_TICKET_LEN {
        return Err(TicketError::Invalid);
    }
    let mut parts = ticket.split('.');
    let (Some(expires), Some(binding), Some(tag), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TicketError::Invalid);
    };
    if expires.is_empty() || !expires.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TicketError::Invalid);
    }
    let expires_ms: u64 = expires.parse().map_err(|_| TicketError::Invalid)?;
    let bound_ip = match binding {
        "a" => None,
        "l" => Some(client_ip.ok_or(TicketError::Invalid)?),
        _ => return Err(TicketError::Invalid),
    };
    let tag = hex::decode(tag).map_err(|_| TicketError::Invalid)?;
    mac(secret, array_id, expires_ms, bound_ip)
        .verify_slice(&tag)
        .map_err(|_| TicketError::Invalid)?;
    if now_ms > expires_ms {
        return Err(TicketError::Expired);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: &[u8] = b"secret";
    const A: &str = "0123456789abcdef0123456789abcdef";
    const B: &str = "fedcba9876543210fedcba9876543210";

    #[test]
    fn a_fresh_ticket_opens_its_array_only() {
        let t = issue(K, A, 2_000, None);
        assert_eq!(verify(K, A, Some(&t), 1_000, None), Ok(()));
        assert_eq!(verify(K, A, Some(&t), 2_000, Some("9.9.9.9")), Ok(()));
        assert_eq!(
            verify(K, B, Some(&t), 1_000, None),
            Err(TicketError::Invalid)
        );
        assert_eq!(
            verify(b"other", A, Some(&t), 1_000, None),
            Err(TicketError::Invalid)
        );
    }

    #[test]
    fn missing_expired_and_tampered_tickets_are_refused() {
        assert_eq!(verify(K, A, None, 0, None), Err(TicketError::Missing));
        assert_eq!(verify(K, A, Some(""), 0, None), Err(TicketError::Missing));
        let t = issue(K, A, 2_000, None);
        assert_eq!(
            verify(K, A, Some(&t), 2_001, None),
            Err(TicketError::Expired)
        );
        // A later expiry under the old MAC.
        let later = t.replacen("2000", "9000", 1);
        assert_eq!(
            verify(K, A, Some(&later), 1_000, None),
            Err(TicketError::Invalid)
        );
        // One flipped MAC digit.
        let mut flipped = t.clone().into_bytes();
        let last = flipped.len() - 1;
        flipped[last] = if flipped[last] == b'0' { b'1' } else { b'0' };
        let flipped = String::from_utf8(flipped).unwrap();
        assert_eq!(
            verify(K, A, Some(&flipped), 1_000, None),
            Err(TicketError::Invalid)
        );
        for junk in [
            "x",
            "1.a",
            "1.a.zz",
            "+1.a.00",
            "1.q.00",
            "1.a.00.00",
            &"9".repeat(200),
        ] {
            assert_eq!(
                verify(K, A, Some(junk), 0, None),
                Err(TicketError::Invalid),
                "{junk}"
            );
        }
    }

    #[test]
    fn a_lan_ticket_binds_the_address_and_its_binding() {
        let t = issue(K, A, 2_000, Some("1.2.3.4"));
        assert!(t.contains(".l."));
        assert_eq!(verify(K, A, Some(&t), 1_000, Some("1.2.3.4")), Ok(()));
        assert_eq!(
            verify(K, A, Some(&t), 1_000, Some("1.2.3.5")),
            Err(TicketError::Invalid)
        );
        assert_eq!(
            verify(K, A, Some(&t), 1_000, None),
            Err(TicketError::Invalid)
        );
        // Claiming "any address" under the LAN ticket's MAC fails.
        let unbound = t.replacen(".l.", ".a.", 1);
        assert_eq!(
            verify(K, A, Some(&unbound), 1_000, Some("1.2.3.5")),
            Err(TicketError::Invalid)
        );
    }

    #[test]
    fn refusals_are_403_json_codes() {
        let e: ApiError = TicketError::Expired.into();
        assert_eq!((e.status, e.code), (403, "ticket_expired"));
    }
}
