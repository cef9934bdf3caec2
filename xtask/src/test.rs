//! `cargo xtask test`: every test layer, in order, stopping at the first failure.
//!
//! Layers: setup → `cargo fmt --check` → clippy (native, warnings denied) →
//! clippy for wasm32 (the crates that ship to browsers and the edge) →
//! `cargo test --workspace` (unit tests, protocol proptests, the swarm simulator,
//! CLI tests) → the edge worker on real workerd → the client glue in headless
//! Chromium → end-to-end swarms of Chromium pages on workerd. Ends with a plain
//! `N passed, N failed` line counting layers.

use anyhow::Result;

use crate::cmd::{self, cargo, step};
use crate::{browser, setup, worker};

/// A named test layer.
struct Layer {
    name: &'static str,
    run: fn(&setup::Tools) -> Result<()>,
}

const LAYERS: &[Layer] = &[
    Layer {
        name: "format (cargo fmt --check)",
        run: |_| cmd::run(cargo().args(["fmt", "--all", "--check"])),
    },
    Layer {
        name: "lint (cargo clippy, native, -D warnings)",
        run: |_| {
            cmd::run(cargo().args([
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ]))
        },
    },
    Layer {
        name: "lint (cargo clippy, wasm32-unknown-unknown, -D warnings)",
        run: |_| {
            cmd::run(cargo().args([
                "clippy",
                "--target",
                "wasm32-unknown-unknown",
                "-p",
                "edgeswarm-protocol",
                "-p",
                "edgeswarm-engine",
                "-p",
                "client-wasm",
                "-p",
                "edge-worker",
                "--",
                "-D",
                "warnings",
            ]))
        },
    },
    Layer {
        name: "unit, property and simulator tests (cargo test --workspace)",
        run: |_| cmd::run(cargo().args(["test", "--workspace"])),
    },
    Layer {
        name: "edge worker on real workerd",
        run: worker::test_layer,
    },
    Layer {
        name: "client glue in headless Chromium (wasm-bindgen-test)",
        run: browser::wasm_test_layer,
    },
    Layer {
        name: "end to end: workerd + a swarm of Chromium pages",
        run: browser::e2e_layer,
    },
];

pub fn run_layers(only: Option<&str>) -> Result<()> {
    let tools = setup::ensure()?;
    let mut passed = 0;
    for layer in LAYERS {
        if only.is_some_and(|o| !layer.name.contains(o)) {
            continue;
        }
        step(&format!("test: {}", layer.name));
        if let Err(e) = (layer.run)(&tools) {
            eprintln!("xtask test: layer failed: {}: {e:#}", layer.name);
            println!("{passed} passed, 1 failed");
            return Err(e);
        }
        passed += 1;
    }
    println!("{passed} passed, 0 failed");
    Ok(())
}

/// `cargo xtask test [--only SUBSTRING]`.
pub fn run(args: &[String]) -> Result<()> {
    let only = match args {
        [] => None,
        [flag, name] if flag == "--only" => Some(name.as_str()),
        _ => anyhow::bail!("usage: cargo xtask test [--only LAYER-NAME-SUBSTRING]"),
    };
    run_layers(only)
}
