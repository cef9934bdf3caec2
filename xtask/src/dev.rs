//! `cargo xtask dev` (being written by the edge-worker work).

use anyhow::Result;

use crate::setup::Tools;

pub fn run(_tools: &Tools) -> Result<()> {
    anyhow::bail!("`cargo xtask dev` cannot serve the product yet: the edge worker is not built")
}
