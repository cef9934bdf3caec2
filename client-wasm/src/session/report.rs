//! Periodic stats reports to the array, with the seed's field list.
//!
//! The first report goes out right after the array's welcome (its answer is
//! the first peer list); then one every `reportIntervalMs`, and a last one when
//! the download ends. Rates are bytes per second since the previous report.

use edgeswarm_protocol::array::{ClientMessage, Report};
use edgeswarm_protocol::{ContentId, DownloadMode};
use futures_channel::mpsc::UnboundedSender;

use super::{Ev, Session};
use crate::time::{now_ms, Timeout};

/// Report settings and the counters of the previous report.
pub struct Reporter {
    pub content_id: Option<ContentId>,
    pub alt_catalog_id: Option<String>,
    pub group_id: Option<String>,
    pub scope: DownloadMode,
    pub is_background: bool,
    pub peers_wanted: u32,
    pub interval_ms: u32,
    last: Option<(f64, u64, u64)>,
    timer: Option<Timeout>,
}

impl Reporter {
    pub fn new(
        content_id: Option<ContentId>,
        alt_catalog_id: Option<String>,
        group_id: Option<String>,
        scope: DownloadMode,
        is_background: bool,
        peers_wanted: u32,
        interval_ms: u32,
    ) -> Self {
        Self {
            content_id,
            alt_catalog_id,
            group_id,
            scope,
            is_background,
            peers_wanted,
            interval_ms,
            last: None,
            timer: None,
        }
    }

    fn arm(&mut self, tx: &UnboundedSender<Ev>) {
        let tx = tx.clone();
        self.timer = Some(Timeout::new(self.interval_ms.max(250), move || {
            let _ = tx.unbounded_send(Ev::Report);
        }));
    }

    pub fn stop(&mut self) {
        self.timer = None;
    }
}

impl Session {
    pub(super) fn send_report(&mut self) {
        let Some(array) = &self.array else {
            return;
        };
        let stats = self.engine.stats();
        let now = now_ms();
        let down = stats.bytes_from_peers + stats.bytes_from_http;
        let (up_bps, down_bps) = match self.report.last {
            Some((t, up0, down0)) if now > t => {
                let secs = (now - t) / 1000.0;
                (
                    ((stats.bytes_to_peers.saturating_sub(up0)) as f64 / secs) as u64,
                    ((down.saturating_sub(down0)) as f64 / secs) as u64,
                )
            }
            _ => (0, 0),
        };
        self.report.last = Some((now, stats.bytes_to_peers, down));
        let peer_id = self
            .shared
            .borrow()
            .peer_id
            .as_deref()
            .and_then(|p| edgeswarm_protocol::array::PeerId::new(p).ok());
        let r = &self.report;
        let report = Report {
            profile: Some("browser".into()),
            content_id: r.content_id.clone(),
            do_client_version: Some(concat!("edgeswarm-client/", env!("CARGO_PKG_VERSION")).into()),
            alt_catalog_id: r.alt_catalog_id.clone(),
            peer_id,
            reported_ip: None,
            is_background: r.is_background || crate::host::page_hidden(),
            uploaded: stats.bytes_to_peers,
            downloaded: stats.bytes_from_peers,
            downloaded_cdn: stats.bytes_from_http,
            left: stats.bytes_left,
            peers_wanted: r.peers_wanted,
            group_id: r.group_id.clone(),
            scope: Some(r.scope),
            uploaded_bps: up_bps,
            download_bps: down_bps,
            e_id: None,
        };
        array.send(&ClientMessage::Report(report));
        let tx = self.tx.clone();
        self.report.arm(&tx);
    }
}
