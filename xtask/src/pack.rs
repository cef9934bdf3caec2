//! `cargo xtask pack`: the npm package `edgeswarm` → `target/npm/edgeswarm-<version>.tgz`.
//!
//! The package is `packages/edgeswarm/` (hand-written ESM entry
//! `edgeswarm.js`, its `edgeswarm.d.ts`, README and a `package.json`
//! template) plus the wasm-bindgen output of [`crate::browser::build_client`]
//! (`client_wasm.js`, `client_wasm.d.ts`, `client_wasm_bg.wasm` from
//! `www/pkg`). They are staged in `target/npm/stage` and packed with
//! `npm pack`.
//!
//! Invariants: the package version is the workspace version of the root
//! `Cargo.toml` (the template's placeholder must be replaced, or packing
//! fails); the package has no dependencies (it installs offline); the
//! tarball never contains a client built with a test-only feature (it is
//! always packed from `www/pkg`, the plain build).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::cmd::{repo_root, run, step};
use crate::setup::Tools;

/// The placeholder the template's `"version"` holds.
const VERSION_PLACEHOLDER: &str = "0.0.0-set-by-cargo-xtask-pack";
/// Files copied from `packages/edgeswarm`.
const PACKAGE_FILES: &[&str] = &["edgeswarm.js", "edgeswarm.d.ts", "README.md"];
/// Files copied from the wasm-bindgen output.
const CLIENT_FILES: &[&str] = &["client_wasm.js", "client_wasm.d.ts", "client_wasm_bg.wasm"];

/// `cargo xtask pack`: builds the client, then packs it.
pub fn run_task(tools: &Tools) -> Result<PathBuf> {
    crate::browser::build_client(tools)?;
    let tgz = pack_built()?;
    eprintln!("{}", tgz.display());
    Ok(tgz)
}

/// Packs the client already built in `www/pkg`; returns the tarball's path.
pub fn pack_built() -> Result<PathBuf> {
    let root = repo_root();
    let version = workspace_version(&root.join("Cargo.toml"))?;
    let out = root.join("target/npm");
    let stage = out.join("stage");
    step(&format!(
        "pack: npm package edgeswarm {version} → {}",
        out.display()
    ));
    if stage.exists() {
        std::fs::remove_dir_all(&stage).context("clearing target/npm/stage")?;
    }
    std::fs::create_dir_all(&stage).context("creating target/npm/stage")?;

    let src = root.join("packages/edgeswarm");
    let template = std::fs::read_to_string(src.join("package.json"))
        .context("reading packages/edgeswarm/package.json")?;
    if !template.contains(VERSION_PLACEHOLDER) {
        bail!("packages/edgeswarm/package.json lost its version placeholder {VERSION_PLACEHOLDER}");
    }
    if template.contains("\"dependencies\"") {
        bail!("the edgeswarm package must have no dependencies (portals install it offline)");
    }
    std::fs::write(
        stage.join("package.json"),
        template.replace(VERSION_PLACEHOLDER, &version),
    )?;
    copy_all(&src, &stage, PACKAGE_FILES)?;
    copy_all(&root.join("www/pkg"), &stage, CLIENT_FILES)
        .context("the client is not built in www/pkg (cargo xtask build)")?;

    let tgz = out.join(format!("edgeswarm-{version}.tgz"));
    if tgz.exists() {
        std::fs::remove_file(&tgz)?;
    }
    run(Command::new("npm")
        .args(["pack", "--silent", "--pack-destination"])
        .arg(&out)
        .current_dir(&stage))?;
    if !tgz.exists() {
        bail!("npm pack did not write {}", tgz.display());
    }
    Ok(tgz)
}

fn copy_all(from: &Path, to: &Path, names: &[&str]) -> Result<()> {
    for name in names {
        std::fs::copy(from.join(name), to.join(name))
            .with_context(|| format!("copying {}", from.join(name).display()))?;
    }
    Ok(())
}

/// `version` of `[workspace.package]` in the root Cargo.toml.
fn workspace_version(cargo_toml: &Path) -> Result<String> {
    let text = std::fs::read_to_string(cargo_toml).context("reading Cargo.toml")?;
    parse_workspace_version(&text).context("no version in [workspace.package] of Cargo.toml")
}

fn parse_workspace_version(text: &str) -> Option<String> {
    let mut in_section = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_section = line == "[workspace.package]";
        } else if in_section {
            if let Some(value) = line.strip_prefix("version") {
                let value = value.trim_start().strip_prefix('=')?.trim();
                return Some(value.trim_matches('"').to_string());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::parse_workspace_version;

    #[test]
    fn reads_the_workspace_version_only() {
        let toml = "[package]\nversion = \"9.9.9\"\n[workspace.package]\nedition = \"2021\"\nversion = \"0.1.0\"\n[x]\nversion = \"1\"\n";
        assert_eq!(parse_workspace_version(toml).as_deref(), Some("0.1.0"));
        assert_eq!(parse_workspace_version("[package]\nversion = \"1\""), None);
    }
}
