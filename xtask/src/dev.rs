//! `cargo xtask dev`: the worker and the demo page on http://127.0.0.1:8787,
//! with a demo file published, until Ctrl-C.
//!
//! Steps: write `.dev.vars` with a random `ADMIN_TOKEN` if it is missing;
//! build the client package (www/pkg) and the worker; start `wrangler dev` (state in `.wrangler/state`, so
//! published content survives restarts); publish `target/dev/demo.bin` (32
//! MiB of deterministic pseudo-random bytes, content id `demo`) with the
//! `edgeswarm` CLI; print the URL to open; wait. wrangler runs in the
//! terminal's process group, so Ctrl-C reaches it and every process it
//! started; if xtask fails first, dropping the [`LocalWorker`] stops it.

use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result};

use crate::cmd::{self, cargo, repo_root, step};
use crate::setup::Tools;
use crate::worker::{self, LocalWorker, WorkerOptions};

/// The dev server's fixed port (docs/api.md, README).
pub const DEV_PORT: u16 = 8787;
/// Content id of the demo file.
pub const DEMO_ID: &str = "demo";
/// Size of the demo file.
const DEMO_SIZE: u64 = 32 * 1024 * 1024;

pub fn run(tools: &Tools) -> Result<()> {
    let root = repo_root();
    let token = ensure_dev_vars(&root.join(".dev.vars"))?;
    crate::browser::build_client(tools)?;
    worker::build(tools)?;
    let demo = root.join("target/dev/demo.bin");
    write_demo_file(&demo, DEMO_SIZE)?;
    step(&format!("dev: wrangler dev on http://127.0.0.1:{DEV_PORT}"));
    let mut server = LocalWorker::start(
        tools,
        &WorkerOptions {
            port: DEV_PORT,
            state_dir: root.join(".wrangler/state"),
            admin_token: None,
            cf_json: None,
            vars: Vec::new(),
            log: None,
            own_group: false,
        },
    )?;
    step("dev: publishing the demo file");
    let url = server.url.clone();
    cmd::run(
        cargo()
            .args([
                "run",
                "-q",
                "--release",
                "-p",
                "edgeswarm-cli",
                "--",
                "publish",
            ])
            .arg(&demo)
            .args(["--content-id", DEMO_ID, "--out"])
            .arg(root.join("target/dev"))
            .args(["--server", &url])
            .env("EDGESWARM_TOKEN", &token),
    )?;
    println!("\nedgeswarm dev server ready:\n  open {url}/?content={DEMO_ID}&mode=3\n  API  {url}/do/v1/kv\nPress Ctrl-C to stop.");
    let status = server.wait()?;
    eprintln!("wrangler exited with {status}");
    Ok(())
}

/// Reads `ADMIN_TOKEN` from `.dev.vars`, creating the file with a random
/// token if it is missing or has none.
fn ensure_dev_vars(path: &Path) -> Result<String> {
    let existing = std::fs::read_to_string(path).unwrap_or_default();
    if let Some(token) = existing
        .lines()
        .find_map(|l| l.trim().strip_prefix("ADMIN_TOKEN="))
        .map(|t| t.trim().trim_matches('"').to_owned())
        .filter(|t| !t.is_empty())
    {
        return Ok(token);
    }
    let token = random_token()?;
    let mut text = existing;
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&format!("ADMIN_TOKEN={token}\n"));
    write_private(path, &text).with_context(|| format!("writing {}", path.display()))?;
    eprintln!("wrote a new ADMIN_TOKEN to {}", path.display());
    Ok(token)
}

/// Writes a secrets file readable by its owner only (a new file is created
/// with mode 0600; an existing one is narrowed to it).
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    f.write_all(text.as_bytes())
}

/// 32 random bytes from the OS, as hex.
fn random_token() -> Result<String> {
    let mut bytes = [0u8; 32];
    use std::io::Read;
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("reading /dev/urandom")?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Writes `size` deterministic pseudo-random bytes (xorshift64*) unless the
/// file already has that size.
/// Writes `size` deterministic pseudo-random bytes (xorshift64*) to `path`,
/// unless a file of that size is already there.
pub(crate) fn write_demo_file(path: &Path, size: u64) -> Result<()> {
    if std::fs::metadata(path).map(|m| m.len()).ok() == Some(size) {
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut out = BufWriter::new(std::fs::File::create(path)?);
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut written = 0;
    while written < size {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let word = state.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes();
        // `size - written` is below 8 only on the last word.
        let n = (size - written).min(8) as usize;
        out.write_all(&word[..n])?;
        written += n as u64;
    }
    out.flush()?;
    Ok(())
}
