//! `cargo xtask setup`: installs what the project needs, idempotently, at pinned versions.
//!
//! Each step first checks whether it is already satisfied and then does nothing,
//! so a second run takes seconds. Versions come from the committed lock files:
//! wasm-bindgen-cli matches `wasm-bindgen` in Cargo.lock, worker-build matches
//! `worker` in Cargo.lock, npm packages come from package-lock.json (`npm ci`).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::cmd::{cargo, output, repo_root, run, step};

/// Paths of the tools the build steps need.
#[derive(Debug, Clone)]
pub struct Tools {
    pub wasm_bindgen: PathBuf,
    pub wasm_bindgen_test_runner: PathBuf,
    pub worker_build: PathBuf,
    /// wasm-opt from the npm `binaryen` package (Debian's is too old, docs/toolchain.md).
    pub wasm_opt: PathBuf,
    pub esbuild: PathBuf,
    pub wrangler: PathBuf,
    /// `None` when Chromium is absent and could not be installed (not root).
    pub chromium: Option<PathBuf>,
    pub chromedriver: Option<PathBuf>,
}

impl Tools {
    /// One line per tool, for `cargo xtask setup`.
    pub fn summary(&self) -> String {
        let opt = |p: &Option<PathBuf>| {
            p.as_ref()
                .map_or("missing".into(), |p| p.display().to_string())
        };
        [
            ("wasm-bindgen", self.wasm_bindgen.display().to_string()),
            (
                "wasm-bindgen-test-runner",
                self.wasm_bindgen_test_runner.display().to_string(),
            ),
            ("worker-build", self.worker_build.display().to_string()),
            ("wasm-opt", self.wasm_opt.display().to_string()),
            ("esbuild", self.esbuild.display().to_string()),
            ("wrangler", self.wrangler.display().to_string()),
            ("chromium", opt(&self.chromium)),
            ("chromedriver", opt(&self.chromedriver)),
        ]
        .iter()
        .map(|(name, path)| format!("{name:>26}  {path}\n"))
        .collect()
    }
}

/// Installs whatever is missing and returns the tool paths.
pub fn ensure() -> Result<Tools> {
    let root = repo_root();
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).context("reading Cargo.lock")?;
    let bin = cargo_bin_dir();

    step("setup: rustup target wasm32-unknown-unknown");
    let installed =
        output(Command::new("rustup").args(["target", "list", "--installed"])).unwrap_or_default();
    if installed
        .lines()
        .any(|l| l.trim() == "wasm32-unknown-unknown")
    {
        eprintln!("already installed");
    } else {
        run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
    }

    let wbg_version = locked_version(&lock, "wasm-bindgen")?;
    let wasm_bindgen = bin.join("wasm-bindgen");
    cargo_install(&wasm_bindgen, "wasm-bindgen-cli", &wbg_version)?;

    let worker_version = locked_version(&lock, "worker")?;
    let worker_build = bin.join("worker-build");
    cargo_install(&worker_build, "worker-build", &worker_version)?;

    npm_ci(&root)?;
    let (chromium, chromedriver) = chromium()?;

    let node_bin = root.join("node_modules/.bin");
    Ok(Tools {
        wasm_bindgen,
        wasm_bindgen_test_runner: bin.join("wasm-bindgen-test-runner"),
        worker_build,
        wasm_opt: node_bin.join("wasm-opt"),
        esbuild: node_bin.join("esbuild"),
        wrangler: node_bin.join("wrangler"),
        chromium,
        chromedriver,
    })
}

/// `$CARGO_HOME/bin`, where `cargo install` puts binaries.
fn cargo_bin_dir() -> PathBuf {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from(".cargo"));
    home.join("bin")
}

/// The version of `package` recorded in Cargo.lock.
fn locked_version(lock: &str, package: &str) -> Result<String> {
    let needle = format!("name = \"{package}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == needle {
            if let Some(v) = lines
                .next()
                .and_then(|l| l.trim().strip_prefix("version = "))
            {
                return Ok(v.trim_matches('"').to_owned());
            }
        }
    }
    bail!("Cargo.lock has no package {package}; run `cargo generate-lockfile`")
}

/// `cargo install CRATE --version VERSION` unless `binary --version` already reports it.
fn cargo_install(binary: &Path, krate: &str, version: &str) -> Result<()> {
    step(&format!("setup: {krate} {version}"));
    let current = output(Command::new(binary).arg("--version")).unwrap_or_default();
    if current.split_whitespace().any(|w| w == version) {
        eprintln!("already installed: {}", current.trim());
        return Ok(());
    }
    // No --locked: the crate's own lock wants a crate the registry snapshot lacks (docs/toolchain.md).
    run(cargo().args(["install", krate, "--version", version, "--force"]))
}

/// `npm ci` unless node_modules already matches package-lock.json.
fn npm_ci(root: &Path) -> Result<()> {
    step("setup: npm packages (npm ci)");
    let lock =
        std::fs::read(root.join("package-lock.json")).context("reading package-lock.json")?;
    let stamp_path = root.join("node_modules/.edgeswarm-lock-stamp");
    let stamp = format!("{:x}", fnv1a(&lock));
    if std::fs::read_to_string(&stamp_path).ok().as_deref() == Some(stamp.as_str()) {
        eprintln!("node_modules matches package-lock.json");
        return Ok(());
    }
    run(Command::new("npm").args(["ci", "--no-audit", "--no-fund"]))?;
    std::fs::write(&stamp_path, stamp).context("writing the npm stamp")?;
    Ok(())
}

/// A content fingerprint of the lock file, to notice when it changes.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Debian's chromium + chromium-driver, installed with apt when missing and root.
fn chromium() -> Result<(Option<PathBuf>, Option<PathBuf>)> {
    step("setup: chromium + chromium-driver");
    let browser = PathBuf::from("/usr/bin/chromium");
    let driver = PathBuf::from("/usr/bin/chromedriver");
    if browser.exists() && driver.exists() {
        eprintln!("already installed");
        return Ok((Some(browser), Some(driver)));
    }
    let is_root = output(Command::new("id").arg("-u")).is_some_and(|u| u.trim() == "0");
    if !is_root {
        eprintln!("warning: chromium is missing and this is not root; browser tests will fail");
        return Ok((None, None));
    }
    run(Command::new("apt-get").args(["update", "-q"]))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-q", "chromium", "chromium-driver"])
        .env("DEBIAN_FRONTEND", "noninteractive"))?;
    Ok((Some(browser), Some(driver)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_locked_version() {
        let lock = "[[package]]\nname = \"worker\"\nversion = \"0.8.7\"\n\n[[package]]\nname = \"worker-build\"\nversion = \"9\"\n";
        assert_eq!(locked_version(lock, "worker").unwrap(), "0.8.7");
        assert!(locked_version(lock, "nope").is_err());
    }
}
