//! Delivery Optimization's client policies, as the bootstrap (`GET /kv`,
//! `config.cache`, `config.upload` and `config.background`) sends them and as an embedding page may
//! narrow them (`Downloader` options `cache` and `upload`).
//!
//! DO's policy names, for the docs' mapping: `DOMaxCacheAge`,
//! `DOMaxCacheSize`, `DOAbsoluteMaxCacheSize`, `DOMinFileSizeToCache`,
//! `DOMaxUploadBandwidth`, `DOMonthlyUploadDataCap`,
//! `DOMinBatteryPercentageAllowedToUpload`, `DOPercentageMaxBackgroundBandwidth`.
//!
//! Invariant: [`CachePolicy::narrowed`] and [`UploadPolicy::narrowed`] never
//! widen a server setting: a limit only gets smaller (0 = no limit counts as
//! infinite), a minimum only gets larger.

use serde::{Deserialize, Serialize};

/// The client's cache of completed and partial downloads (resume, seeding).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CachePolicy {
    /// `DOMaxCacheAge`: an item unused for this many seconds is deleted;
    /// 0 = no limit. Default 259200 (3 days, DO's default).
    pub max_age_secs: u64,
    /// `DOMaxCacheSize`: the cache may use this percentage of the origin's
    /// storage quota (`navigator.storage.estimate().quota`), 1–100.
    /// Default 20 (DO's default).
    pub max_size_percent: u8,
    /// `DOAbsoluteMaxCacheSize`, bytes; 0 = no limit. Default 0.
    pub absolute_max_size_bytes: u64,
    /// `DOMinFileSizeToCache`, bytes: smaller files are not kept after
    /// their download (nor resumed). Default 1 MiB.
    pub min_file_size_bytes: u64,
}

impl Default for CachePolicy {
    fn default() -> Self {
        Self {
            max_age_secs: 3 * 24 * 3600,
            max_size_percent: 20,
            absolute_max_size_bytes: 0,
            min_file_size_bytes: 1024 * 1024,
        }
    }
}

/// Serving other peers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UploadPolicy {
    /// `DOMaxUploadBandwidth`, bytes per second for each download; 0 = no
    /// limit. Default 0.
    pub max_bytes_per_second: u64,
    /// `DOMonthlyUploadDataCap`, bytes uploaded per calendar month (UTC), all
    /// downloads and sessions of the origin together; then uploads stop until
    /// the month turns. 0 = no limit. Default 20 GiB (DO's 20 GB).
    pub monthly_cap_bytes: u64,
    /// `DOMinBatteryPercentageAllowedToUpload`: on battery (not charging)
    /// below this level, nothing is uploaded (where the Battery API exists);
    /// 0 = off. Default 0 (DO's default).
    pub min_battery_percent: u8,
}

impl Default for UploadPolicy {
    fn default() -> Self {
        Self {
            max_bytes_per_second: 0,
            monthly_cap_bytes: 20 * 1024 * 1024 * 1024,
            min_battery_percent: 0,
        }
    }
}

/// Downloads while the page is in the background.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BackgroundPolicy {
    /// `DOPercentageMaxBackgroundBandwidth`: a background download (hidden
    /// page or `isBackground`) uses at most this percentage of the highest
    /// download rate the download measured; 0 = no limit. Default 0.
    pub download_percent: u8,
}

/// The smaller of two limits where 0 means none.
fn tighter_limit(server: u64, page: Option<u64>) -> u64 {
    match page {
        None | Some(0) => server,
        Some(p) if server == 0 => p,
        Some(p) => server.min(p),
    }
}

/// A page's narrowing of [`CachePolicy`] (every field optional).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CacheOptions {
    pub max_age_secs: Option<u64>,
    pub max_size_percent: Option<u8>,
    pub absolute_max_size_bytes: Option<u64>,
    pub min_file_size_bytes: Option<u64>,
}

/// A page's narrowing of [`UploadPolicy`] (every field optional).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UploadOptions {
    pub max_bytes_per_second: Option<u64>,
    pub monthly_cap_bytes: Option<u64>,
    pub min_battery_percent: Option<u8>,
}

impl CachePolicy {
    /// The server's policy narrowed by a page's options (never widened).
    pub fn narrowed(self, page: &CacheOptions) -> Self {
        Self {
            max_age_secs: tighter_limit(self.max_age_secs, page.max_age_secs),
            max_size_percent: self
                .max_size_percent
                .clamp(1, 100)
                .min(page.max_size_percent.unwrap_or(100).max(1)),
            absolute_max_size_bytes: tighter_limit(
                self.absolute_max_size_bytes,
                page.absolute_max_size_bytes,
            ),
            min_file_size_bytes: self
                .min_file_size_bytes
                .max(page.min_file_size_bytes.unwrap_or(0)),
        }
    }

    /// The cache's size limit in bytes for a storage quota of `quota` bytes.
    pub fn max_bytes(&self, quota: u64) -> u64 {
        let share = quota / 100 * u64::from(self.max_size_percent.clamp(1, 100));
        tighter_limit(share, Some(self.absolute_max_size_bytes))
    }
}

impl UploadPolicy {
    /// The server's policy narrowed by a page's options (never widened).
    pub fn narrowed(self, page: &UploadOptions) -> Self {
        Self {
            max_bytes_per_second: tighter_limit(
                self.max_bytes_per_second,
                page.max_bytes_per_second,
            ),
            monthly_cap_bytes: tighter_limit(self.monthly_cap_bytes, page.monthly_cap_bytes),
            min_battery_percent: self
                .min_battery_percent
                .max(page.min_battery_percent.unwrap_or(0))
                .min(100),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_page_narrows_and_never_widens() {
        let server = UploadPolicy {
            max_bytes_per_second: 1000,
            monthly_cap_bytes: 0,
            min_battery_percent: 30,
        };
        let page = UploadOptions {
            max_bytes_per_second: Some(5000),
            monthly_cap_bytes: Some(8 << 20),
            min_battery_percent: Some(10),
        };
        let n = server.narrowed(&page);
        assert_eq!(n.max_bytes_per_second, 1000, "5000 would widen");
        assert_eq!(n.monthly_cap_bytes, 8 << 20, "a cap where none was");
        assert_eq!(n.min_battery_percent, 30, "10 would widen");
        let c = CachePolicy::default().narrowed(&CacheOptions {
            absolute_max_size_bytes: Some(40 << 20),
            max_size_percent: Some(90),
            ..CacheOptions::default()
        });
        assert_eq!(c.absolute_max_size_bytes, 40 << 20);
        assert_eq!(c.max_size_percent, 20);
        assert_eq!(c.max_bytes(1 << 40), 40 << 20);
        assert_eq!(CachePolicy::default().max_bytes(1000), 200);
    }

    proptest! {
        #[test]
        fn narrowing_is_never_wider(s in any::<u64>(), p in proptest::option::of(any::<u64>())) {
            let n = tighter_limit(s, p);
            // 0 = no limit: the result is a limit at least as tight as the server's.
            prop_assert!(s == 0 || (n != 0 && n <= s));
        }
    }
}
