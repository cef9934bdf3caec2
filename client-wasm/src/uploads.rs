//! The origin's upload ledger for DO's monthly upload data cap
//! (`DOMonthlyUploadDataCap`): bytes uploaded this calendar month (UTC), by
//! every download and seeding session of the origin, persisted in OPFS
//! (`edgeswarm/usage.json`) so that a reload or a later session continues
//! the count.
//!
//! Invariants:
//! - one ledger per page (thread-local), shared by all its sessions;
//! - a save merges: it re-reads the file and adds only this page's unsaved
//!   bytes, so tabs of the same origin add up rather than overwrite;
//! - the month is read from `Date.now()` at every use: when it turns, the
//!   count starts again from 0;
//! - the first bytes are saved at once, later ones at most every
//!   [`SAVE_EVERY_MS`]: a seeding page records bytes on every message, and
//!   back-to-back OPFS read-modify-writes of the file cost the page and the
//!   browser CPU on the data path (docs/bench/browser.md, "One peer link").
//!   Within a page the count is always current (`used()`); only a page
//!   closed less than [`SAVE_EVERY_MS`] after its last upload can leave
//!   those bytes out of the saved file.

use std::cell::RefCell;

use serde::{Deserialize, Serialize};
use wasm_bindgen_futures::spawn_local;

use crate::cache::{read_json, write_json};
use crate::store::opfs::opfs_dir;

const USAGE_FILE: &str = "usage.json";

/// Fewest milliseconds between two saves of the ledger.
pub const SAVE_EVERY_MS: u32 = 500;

/// The persisted form.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    /// `YYYY-MM`, UTC.
    pub month: String,
    pub uploaded_bytes: u64,
}

#[derive(Default)]
struct Ledger {
    month: String,
    used: u64,
    unsaved: u64,
    saving: bool,
}

thread_local! {
    static LEDGER: RefCell<Ledger> = RefCell::new(Ledger::default());
}

/// The current month, `YYYY-MM` in UTC, from `Date.now()`.
pub fn month_now() -> String {
    let d = js_sys::Date::new(&js_sys::Date::now().into());
    format!("{:04}-{:02}", d.get_utc_full_year(), d.get_utc_month() + 1)
}

fn roll(l: &mut Ledger) {
    let month = month_now();
    if l.month != month {
        l.month = month;
        l.used = 0;
        l.unsaved = 0;
    }
}

/// Reads the persisted count (call before the first use in a page).
pub async fn load() {
    let saved: Option<Usage> = match opfs_dir(&[]).await {
        Ok(dir) => read_json(&dir, USAGE_FILE).await,
        Err(_) => None,
    };
    LEDGER.with(|l| {
        let mut l = l.borrow_mut();
        roll(&mut l);
        if let Some(u) = saved.filter(|u| u.month == l.month) {
            l.used = l.used.max(u.uploaded_bytes + l.unsaved);
        }
    });
}

/// Bytes uploaded this month, this origin.
pub fn used() -> u64 {
    LEDGER.with(|l| {
        let mut l = l.borrow_mut();
        roll(&mut l);
        l.used
    })
}

/// The month's usage as persisted form (for `perfSnap()`).
pub fn usage() -> Usage {
    LEDGER.with(|l| {
        let mut l = l.borrow_mut();
        roll(&mut l);
        Usage {
            month: l.month.clone(),
            uploaded_bytes: l.used,
        }
    })
}

/// Counts `bytes` uploaded now and saves soon.
pub fn record(bytes: u64) {
    if bytes == 0 {
        return;
    }
    let start = LEDGER.with(|l| {
        let mut l = l.borrow_mut();
        roll(&mut l);
        l.used += bytes;
        l.unsaved += bytes;
        !std::mem::replace(&mut l.saving, true)
    });
    if start {
        spawn_local(save());
    }
}

/// Saves until nothing is unsaved (one save loop per page at a time), at
/// most every [`SAVE_EVERY_MS`].
async fn save() {
    let mut first = true;
    loop {
        if !std::mem::take(&mut first) {
            crate::time::sleep(SAVE_EVERY_MS).await;
        }
        let (month, delta) = LEDGER.with(|l| {
            let mut l = l.borrow_mut();
            (l.month.clone(), std::mem::take(&mut l.unsaved))
        });
        if delta == 0 {
            LEDGER.with(|l| l.borrow_mut().saving = false);
            return;
        }
        let Ok(dir) = opfs_dir(&[]).await else {
            LEDGER.with(|l| l.borrow_mut().saving = false);
            return;
        };
        let saved: Option<Usage> = read_json(&dir, USAGE_FILE).await;
        let base = saved
            .filter(|u| u.month == month)
            .map_or(0, |u| u.uploaded_bytes);
        let merged = Usage {
            month,
            uploaded_bytes: base + delta,
        };
        let _ = write_json(&dir, USAGE_FILE, &merged).await;
        LEDGER.with(|l| {
            let mut l = l.borrow_mut();
            if l.month == merged.month {
                l.used = l.used.max(merged.uploaded_bytes + l.unsaved);
            }
        });
    }
}
