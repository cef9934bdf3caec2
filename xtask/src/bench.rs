//! `cargo xtask bench`: runs the benchmarks and prints one JSON object per line.
//!
//! Benchmarks measure; they never assert. BENCHMARKS.md records the figures and
//! how each one is reproduced.

use anyhow::Result;

use crate::{setup, worker};

pub fn run(args: &[String]) -> Result<()> {
    let which = args.first().map(String::as_str).unwrap_or("all");
    let all = which == "all";
    if all || which == "worker" {
        worker::bench(&setup::ensure()?)?;
    }
    Ok(())
}
