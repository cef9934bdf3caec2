//! Which browser origins may use the worker: the `ALLOWED_ORIGINS` var and
//! the CORS headers it leads to (pure logic; `glue` applies it).
//!
//! - `ALLOWED_ORIGINS` unset, empty or containing `*`: any origin, every
//!   answer carries `Access-Control-Allow-Origin: *` (the demo default).
//! - Otherwise a list of origins (`scheme://host[:port]`, separated by commas
//!   and/or whitespace). A request whose `Origin` is listed, or is the
//!   worker's own origin (the demo page beside it), gets that origin echoed
//!   back with `Vary: Origin`. A request with an `Origin` that is not listed
//!   is refused with `403 {"error":{"code":"origin_not_allowed",…}}` and no
//!   `Access-Control-Allow-Origin` — before any route runs, so a refused
//!   page reaches neither the services, the CDN nor an array's WebSocket
//!   (browsers send `Origin` on WebSocket upgrades too). A request without
//!   `Origin` (the CLI, curl, same-origin `GET`s) is not a browser
//!   cross-origin request and passes, without `Access-Control-Allow-Origin`.
//!
//! Invariants: the allow-list is a browser policy, not authentication (any
//! non-browser client can send any `Origin`); an unparsable list is a
//! configuration error (500 on every request: fail closed, visibly), never a
//! silent "allow all"; nothing here panics on request bytes.

use crate::error::ApiError;

/// The parsed `ALLOWED_ORIGINS` var.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedOrigins {
    /// `*`: any origin.
    Any,
    /// Only these origins (lowercase, no trailing slash), plus the worker's own.
    List(Vec<String>),
}

impl AllowedOrigins {
    /// Parses the var; `None`, empty or any `*` entry means [`AllowedOrigins::Any`].
    pub fn parse(var: Option<&str>) -> Result<Self, String> {
        let entries: Vec<&str> = var
            .unwrap_or("")
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .collect();
        if entries.is_empty() || entries.contains(&"*") {
            return Ok(Self::Any);
        }
        let mut list = Vec::with_capacity(entries.len());
        for e in entries {
            let origin = normalize(e.trim_end_matches('/'));
            if !is_origin(&origin) {
                return Err(format!(
                    "ALLOWED_ORIGINS: {e:?} is not an origin (scheme://host[:port]) nor *"
                ));
            }
            list.push(origin);
        }
        Ok(Self::List(list))
    }

    /// Whether a request from `origin` may use a worker whose own origin is `own`.
    pub fn allows(&self, origin: &str, own: Option<&str>) -> bool {
        match self {
            Self::Any => true,
            Self::List(list) => {
                let origin = normalize(origin);
                own.is_some_and(|o| normalize(o) == origin) || list.contains(&origin)
            }
        }
    }
}

/// The CORS headers one answer carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cors {
    /// `Access-Control-Allow-Origin`, or none at all.
    pub allow_origin: Option<String>,
    /// Whether the answer depends on `Origin` (`Vary: Origin`), so caches keep them apart.
    pub vary_origin: bool,
}

impl Cors {
    /// What a refused request's answer carries: no `Access-Control-Allow-Origin`.
    pub fn refused() -> Self {
        Self {
            allow_origin: None,
            vary_origin: true,
        }
    }

    /// Decides for one request: its `Origin` header (if any), the worker's
    /// own origin and the `ALLOWED_ORIGINS` var. `Err` is the answer to send
    /// instead of running the route (403 for a refused origin, 500 for a
    /// broken var), which must carry [`Cors::refused`]'s headers.
    pub fn decide(
        allowed_var: Option<&str>,
        origin: Option<&str>,
        own: Option<&str>,
    ) -> Result<Self, ApiError> {
        let allowed = AllowedOrigins::parse(allowed_var)
            .map_err(|e| ApiError::internal(format!("configuration: {e}")))?;
        match (&allowed, origin) {
            (AllowedOrigins::Any, _) => Ok(Self {
                allow_origin: Some("*".into()),
                vary_origin: false,
            }),
            (AllowedOrigins::List(_), None) => Ok(Self::refused()),
            (AllowedOrigins::List(_), Some(o)) if allowed.allows(o, own) => Ok(Self {
                allow_origin: Some(o.to_string()),
                vary_origin: true,
            }),
            (AllowedOrigins::List(_), Some(o)) => Err(refusal(o)),
        }
    }
}

/// The 403 a disallowed origin gets.
pub fn refusal(origin: &str) -> ApiError {
    let shown: String = origin.chars().take(200).collect();
    ApiError::new(
        403,
        "origin_not_allowed",
        format!("origin {shown:?} is not in this worker's ALLOWED_ORIGINS"),
    )
}

fn normalize(origin: &str) -> String {
    origin.trim().to_ascii_lowercase()
}

/// `http(s)://host[:port]`: a scheme, a non-empty host, no path, query,
/// fragment, userinfo or wildcard.
fn is_origin(s: &str) -> bool {
    let Some(rest) = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
    else {
        return false;
    };
    let (host_ok, port) = match rest.strip_prefix('[') {
        // An IPv6 literal: `[hex:…]` then maybe `:port`.
        Some(v6) => match v6.split_once(']') {
            Some((addr, tail)) => (
                !addr.is_empty() && addr.chars().all(|c| c.is_ascii_hexdigit() || c == ':'),
                match tail {
                    "" => None,
                    t => match t.strip_prefix(':') {
                        Some(p) => Some(p),
                        None => return false,
                    },
                },
            ),
            None => return false,
        },
        None => {
            let (host, port) = match rest.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (rest, None),
            };
            (
                !host.is_empty()
                    && host
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'),
                port,
            )
        }
    };
    let port_ok = port.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= 5
            && p.chars().all(|c| c.is_ascii_digit())
            && p.parse::<u16>().is_ok()
    });
    host_ok && port_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWN: Option<&str> = Some("https://edge.example.com");

    #[test]
    fn default_is_any_origin_with_a_star() {
        for var in [
            None,
            Some(""),
            Some("  "),
            Some("*"),
            Some("https://a.example, *"),
        ] {
            assert_eq!(AllowedOrigins::parse(var), Ok(AllowedOrigins::Any));
            let c = Cors::decide(var, Some("https://evil.example"), OWN).unwrap();
            assert_eq!(c.allow_origin.as_deref(), Some("*"));
            assert!(!c.vary_origin);
        }
    }

    #[test]
    fn a_listed_origin_is_echoed_with_vary() {
        let var = Some("https://portal.example, http://127.0.0.1:8080\nhttps://b.example/");
        let c = Cors::decide(var, Some("http://127.0.0.1:8080"), OWN).unwrap();
        assert_eq!(c.allow_origin.as_deref(), Some("http://127.0.0.1:8080"));
        assert!(c.vary_origin);
        // Trailing slash in the var and case in the header do not matter.
        let c = Cors::decide(var, Some("HTTPS://B.example"), OWN).unwrap();
        assert_eq!(c.allow_origin.as_deref(), Some("HTTPS://B.example"));
    }

    #[test]
    fn an_unlisted_origin_is_refused_with_403() {
        let var = Some("https://portal.example");
        for bad in [
            "https://evil.example",
            "http://portal.example",
            "https://portal.example:444",
            "https://portal.example.evil.example",
            "null",
            "",
            "\u{0}\u{ffff}",
        ] {
            let e = Cors::decide(var, Some(bad), OWN).unwrap_err();
            assert_eq!((e.status, e.code), (403, "origin_not_allowed"), "{bad:?}");
        }
        assert_eq!(Cors::refused().allow_origin, None);
    }

    #[test]
    fn the_own_origin_always_passes() {
        let c = Cors::decide(Some("https://portal.example"), OWN, OWN).unwrap();
        assert_eq!(c.allow_origin.as_deref(), OWN);
    }

    #[test]
    fn no_origin_passes_without_an_allow_origin_header() {
        let c = Cors::decide(Some("https://portal.example"), None, OWN).unwrap();
        assert_eq!(c, Cors::refused());
    }

    #[test]
    fn a_broken_list_fails_closed() {
        for var in [
            "portal.example",
            "https://portal.example/path",
            "https://*.example",
            "https://",
            "https://a.example:99999",
            "ftp://a.example",
            "https://user@a.example",
        ] {
            assert!(AllowedOrigins::parse(Some(var)).is_err(), "{var:?}");
            let e = Cors::decide(Some(var), Some("https://a.example"), OWN).unwrap_err();
            assert_eq!(e.status, 500, "{var:?}");
        }
    }

    #[test]
    fn ipv6_and_ports_parse() {
        let var = Some("http://[::1]:8080 http://localhost:3000 https://x.example:443");
        let AllowedOrigins::List(list) = AllowedOrigins::parse(var).unwrap() else {
            panic!("a list")
        };
        assert_eq!(list.len(), 3);
        assert!(Cors::decide(var, Some("http://[::1]:8080"), None).is_ok());
        assert!(Cors::decide(var, Some("http://[::1]:8081"), None).is_err());
    }
}
