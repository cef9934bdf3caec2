//! Download modes, peering scopes and the limits on the keys that place a
//! client in an array (`groupId`, `partitionId`): one definition for the
//! client, the worker and the docs (docs/api.md, docs/openapi.yaml).
//!
//! Invariants: a [`DownloadMode`] is one of Delivery Optimization's codes
//! 0, 1, 2, 3, 99; a [`Scope`] is one of the peering modes 1, 2, 3 (modes 0
//! and 99 use no peers and have no array); [`check_group_key`] accepts
//! exactly what discovery accepts, so a client can refuse a key before it
//! sends any request.

use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Longest `groupId` or `partitionId`, in bytes.
pub const MAX_GROUP_KEY_LEN: usize = 128;

/// Why a `groupId` / `partitionId` is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum GroupKeyError {
    #[error("{name} is empty")]
    Empty { name: &'static str },
    #[error("{name} is {len} bytes long; at most {MAX_GROUP_KEY_LEN} are allowed")]
    TooLong { name: &'static str, len: usize },
    #[error("{name} holds a control character")]
    ControlCharacter { name: &'static str },
}

/// Checks a `groupId` or `partitionId` (`name` says which, for the message):
/// 1..=[`MAX_GROUP_KEY_LEN`] bytes without control characters.
pub fn check_group_key(name: &'static str, value: &str) -> Result<(), GroupKeyError> {
    if value.is_empty() {
        return Err(GroupKeyError::Empty { name });
    }
    if value.len() > MAX_GROUP_KEY_LEN {
        return Err(GroupKeyError::TooLong {
            name,
            len: value.len(),
        });
    }
    if value.chars().any(char::is_control) {
        return Err(GroupKeyError::ControlCharacter { name });
    }
    Ok(())
}

/// Delivery Optimization's download modes (the `downloadMode` option, the
/// report's `scope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub enum DownloadMode {
    /// 0: HTTP only; the metadata is still fetched and every piece verified.
    HttpOnly,
    /// 1: peers behind the same external IP.
    Lan,
    /// 2: peers with the same `groupId`.
    Group,
    /// 3: peers anywhere.
    Internet,
    /// 99: no services at all, plain HTTP.
    Simple,
}

/// A number that is not a download mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("download mode must be 0, 1, 2, 3 or 99, not {0}")]
pub struct BadDownloadMode(pub u64);

impl DownloadMode {
    pub fn code(self) -> u8 {
        match self {
            Self::HttpOnly => 0,
            Self::Lan => 1,
            Self::Group => 2,
            Self::Internet => 3,
            Self::Simple => 99,
        }
    }

    pub fn from_code(code: u64) -> Result<Self, BadDownloadMode> {
        Ok(match code {
            0 => Self::HttpOnly,
            1 => Self::Lan,
            2 => Self::Group,
            3 => Self::Internet,
            99 => Self::Simple,
            other => return Err(BadDownloadMode(other)),
        })
    }

    /// The peering scope of this mode; `None` for modes without peers (0, 99).
    pub fn scope(self) -> Option<Scope> {
        match self {
            Self::Lan => Some(Scope::Lan),
            Self::Group => Some(Scope::Group),
            Self::Internet => Some(Scope::Internet),
            Self::HttpOnly | Self::Simple => None,
        }
    }
}

impl TryFrom<u8> for DownloadMode {
    type Error = BadDownloadMode;
    fn try_from(code: u8) -> Result<Self, Self::Error> {
        Self::from_code(code.into())
    }
}

impl From<DownloadMode> for u8 {
    fn from(m: DownloadMode) -> u8 {
        m.code()
    }
}

/// A peering download mode: which peers share an array.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// 1: the group key is the caller's external IP.
    Lan,
    /// 2: the group key is `groupId` (required).
    Group,
    /// 3: one group per content (and partition).
    Internet,
}

/// Why a `scope` value is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ScopeError {
    #[error("download modes 0 and 99 use no peers and have no array")]
    WithoutPeers,
    #[error("scope must be 1, 2 or 3, not {0:?}")]
    Bad(String),
}

impl Scope {
    pub fn code(self) -> u8 {
        self.mode().code()
    }

    pub fn mode(self) -> DownloadMode {
        match self {
            Scope::Lan => DownloadMode::Lan,
            Scope::Group => DownloadMode::Group,
            Scope::Internet => DownloadMode::Internet,
        }
    }

    /// Parses the `scope` query value of `/disc`; absent means Internet (3).
    pub fn parse(s: Option<&str>) -> Result<Self, ScopeError> {
        let Some(s) = s else {
            return Ok(Scope::Internet);
        };
        match s.parse::<u64>().map(DownloadMode::from_code) {
            Ok(Ok(mode)) => mode.scope().ok_or(ScopeError::WithoutPeers),
            _ => Err(ScopeError::Bad(s.to_owned())),
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.code().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_codes_round_trip() {
        for code in [0u8, 1, 2, 3, 99] {
            let m = DownloadMode::try_from(code).unwrap();
            assert_eq!(m.code(), code);
            let json = serde_json::to_string(&m).unwrap();
            assert_eq!(json, code.to_string());
            assert_eq!(serde_json::from_str::<DownloadMode>(&json).unwrap(), m);
        }
        assert_eq!(DownloadMode::from_code(4), Err(BadDownloadMode(4)));
        assert!(serde_json::from_str::<DownloadMode>("7").is_err());
    }

    #[test]
    fn scopes_are_the_peering_modes() {
        assert_eq!(Scope::parse(None), Ok(Scope::Internet));
        assert_eq!(Scope::parse(Some("1")), Ok(Scope::Lan));
        assert_eq!(Scope::parse(Some("2")), Ok(Scope::Group));
        assert_eq!(Scope::parse(Some("0")), Err(ScopeError::WithoutPeers));
        assert_eq!(Scope::parse(Some("99")), Err(ScopeError::WithoutPeers));
        assert!(matches!(Scope::parse(Some("7")), Err(ScopeError::Bad(_))));
        assert!(matches!(Scope::parse(Some("x")), Err(ScopeError::Bad(_))));
        assert_eq!(DownloadMode::HttpOnly.scope(), None);
        assert_eq!(Scope::Group.code(), 2);
    }

    #[test]
    fn group_keys_are_bounded() {
        assert!(check_group_key("groupId", "team-a").is_ok());
        assert!(check_group_key("groupId", &"g".repeat(MAX_GROUP_KEY_LEN)).is_ok());
        assert_eq!(
            check_group_key("groupId", &"g".repeat(MAX_GROUP_KEY_LEN + 1)),
            Err(GroupKeyError::TooLong {
                name: "groupId",
                len: MAX_GROUP_KEY_LEN + 1
            })
        );
        assert_eq!(
            check_group_key("groupId", ""),
            Err(GroupKeyError::Empty { name: "groupId" })
        );
        assert_eq!(
            check_group_key("partitionId", "a\nb"),
            Err(GroupKeyError::ControlCharacter {
                name: "partitionId"
            })
        );
    }
}
