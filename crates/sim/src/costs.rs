//! What work costs a simulated node: the knobs that let the simulator model
//! a loaded browser (docs/bench/engine.md, "Calibration against the
//! browser"). Every default is zero or the historical model, so a
//! configuration that sets none of them simulates exactly what it did before
//! they existed.

use serde::{Deserialize, Serialize};

/// How concurrent CDN range requests share the CDN link (`crate::cdn`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "camelCase")]
pub enum CdnModel {
    /// One request after another at the full rate.
    #[default]
    Fifo,
    /// Every open request gets an equal share at every instant (one token
    /// bucket for all responses, as the browser benchmark's CDN).
    Shared,
}

/// Per-node costs. Honest nodes pay them; attackers are scripts and do not.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Costs {
    /// How the CDN link is shared by concurrent requests.
    pub cdn_model: CdnModel,
    /// Writing one verified piece to storage, µs. Writes of one node go one
    /// after another (a node's storage queue); a node has finished when the
    /// engine is done *and* its last write is. Serving is not held back: the
    /// engine serves fresh pieces from memory.
    pub store_us: u64,
    /// Reading a stored piece back for serving, µs (the engine's
    /// `ReadPiece` is answered this much later).
    pub read_us: u64,
    /// CPU time of the node's thread per message it sends or receives
    /// (peer messages and CDN responses), µs.
    pub message_us: u64,
    /// Bytes per second the node's thread processes, counting bytes it
    /// receives and bytes it sends (copies, SHA-256, the data channel's own
    /// work); 0 = free.
    pub cpu_bytes_per_sec: u64,
    /// Cores shared by every honest node's thread; 0 = a core per node.
    pub cpu_cores: u32,
}

impl Costs {
    /// CPU time of handling one message of `len` bytes, µs.
    pub fn message_cost(&self, len: usize) -> u64 {
        let bytes = match self.cpu_bytes_per_sec {
            0 => 0,
            r => (len as u64).saturating_mul(1_000_000) / r,
        };
        self.message_us.saturating_add(bytes)
    }

    /// True when messages cost CPU time at all.
    pub fn uses_cpu(&self) -> bool {
        self.message_us > 0 || self.cpu_bytes_per_sec > 0
    }
}
