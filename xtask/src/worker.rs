//! Edge worker build, local workerd, and its test layer (being written by the edge-worker work).

use anyhow::Result;

use crate::setup::Tools;

pub fn build(_tools: &Tools) -> Result<()> {
    anyhow::bail!("building the edge worker is not implemented yet")
}

pub fn test_layer(_tools: &Tools) -> Result<()> {
    anyhow::bail!("the edge worker test layer is not implemented yet")
}

pub fn bench(_tools: &Tools) -> Result<()> {
    anyhow::bail!("the edge worker benchmark is not implemented yet")
}
