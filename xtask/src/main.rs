//! `cargo xtask`: project automation (the xtask pattern; alias in `.cargo/config.toml`).
//!
//! - `setup`: install every tool the project needs, at pinned versions, idempotently.
//! - `test`:  setup, then every test layer (format, lint, unit + simulator tests,
//!   wasm32 builds, the edge worker on real workerd, the browser layers).
//! - `dev`:   setup, then serve the worker and the demo page locally with a demo file.
//! - `bench`: run the benchmarks and print their JSON.
//! - `build`: build what `wrangler deploy` ships (www/pkg and edge-worker/build).
//! - `pack`:  build the client and pack the npm package `target/npm/edgeswarm-<version>.tgz`.
//! - `fuzz`:  the libFuzzer targets in `fuzz/` on stable, N CPU-seconds each (not in `test`).
//! - `api-fuzz`: schemathesis against docs/openapi.yaml on a local worker (not in `test`).

use anyhow::{bail, Result};

mod api_fuzz;
mod bench;
mod browser;
mod cmd;
mod dev;
mod fuzz;
mod pack;
mod setup;
mod test;
mod worker;

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let task = args.next().unwrap_or_default();
    let rest: Vec<String> = args.collect();
    match task.as_str() {
        "setup" => setup::ensure().map(|t| eprint!("\n{}", t.summary())),
        "test" => test::run(&rest),
        "dev" => dev::run(&setup::ensure()?),
        "bench" => bench::run(&rest),
        "build" => {
            let tools = setup::ensure()?;
            browser::build_client(&tools)?;
            worker::build(&tools)
        }
        "build-worker" => worker::build(&setup::ensure()?),
        "pack" => pack::run_task(&setup::ensure()?).map(drop),
        "fuzz" => fuzz::run_task(&rest),
        "api-fuzz" => api_fuzz::run_task(&rest),
        _ => bail!(
            "usage: cargo xtask <setup|test|dev|bench|build|build-worker|pack|fuzz|api-fuzz>\n\
             \n  setup         install pinned tools (wasm32 target, wasm-bindgen-cli, worker-build, npm packages, chromium)\
             \n  test          run every test layer (what CI runs)\
             \n  dev           serve the worker and demo page on http://127.0.0.1:8787 with a demo file published\
             \n  bench         run the benchmarks and print JSON\
             \n  build         build the client package (www/pkg) and the worker (edge-worker/build) for deploy\
             \n  build-worker  build edge-worker/build with worker-build\
             \n  pack          build the client and pack the npm package target/npm/edgeswarm-<version>.tgz\
             \n  fuzz [T] [S]  run fuzz target T (default: all) for S CPU-seconds each (default 600)\
             \n  api-fuzz [N]  schemathesis (all checks, N cases per operation) against docs/openapi.yaml on a local worker"
        ),
    }
}
