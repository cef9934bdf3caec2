//! `cargo xtask api-fuzz [MAX-EXAMPLES]`: schemathesis against
//! `docs/openapi.yaml` on a local worker, every check (`--checks all`,
//! `unsupported_method` included); not part of `cargo xtask test`.
//!
//! Steps: schemathesis [`SCHEMATHESIS_VERSION`] from PyPI into a venv under
//! `target/api-fuzz/venv` (once; pip's ordinary client); the worker built as
//! for the tests; a fresh [`LocalWorker`] (loopback only, its own state
//! under `target/api-fuzz/run-<pid>/`, an admin token of its own, the test
//! `request.cf`); then `schemathesis run` with that token as the bearer of
//! every request, a fixed seed (reproducible), one worker, and reports in
//! `target/api-fuzz/run-<pid>/report/` (JUnit and NDJSON). The worker is
//! stopped afterwards; schemathesis's verdict is the task's.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::cmd::{output, repo_root, run, step};
use crate::setup;
use crate::worker::{self, LocalWorker, WorkerOptions, TEST_CF};

/// The schemathesis release the figures in docs/security.md come from.
pub const SCHEMATHESIS_VERSION: &str = "4.32.5";
/// Test cases per operation unless given.
const DEFAULT_MAX_EXAMPLES: u32 = 100;
/// The seed of every run (same cases on the same spec and version).
const SEED: &str = "11";

const SCHEMATHESIS_TOML: &str = r#"[[operations]]
include-path = "/admin/content/{contentId}/metadata"
include-method = "PUT"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409"]
"#;

pub fn run_task(args: &[String]) -> Result<()> {
    let max_examples = match args {
        [] => DEFAULT_MAX_EXAMPLES,
        [n] => n.parse().context("MAX-EXAMPLES must be a whole number")?,
        _ => bail!("usage: cargo xtask api-fuzz [MAX-EXAMPLES]"),
    };
    let root = repo_root();
    let st = ensure_schemathesis(&root.join("target/api-fuzz/venv"))?;
    let tools = setup::ensure()?;
    worker::build(&tools)?;
    let dir = root
        .join("target/api-fuzz")
        .join(format!("run-{}", std::process::id()));
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    // The one check the spec cannot satisfy: a metadata file's validity (a
    // binary format, docs/format.md) is not expressible in OpenAPI, so a
    // schema-valid body (any bytes) may rightly get 400 bad_metadata there,
    // and only there.
    std::fs::write(dir.join("schemathesis.toml"), SCHEMATHESIS_TOML)?;
    let token = format!("api-fuzz-token-{}", std::process::id());
    step("api-fuzz: starting wrangler dev (loopback)");
    let worker = LocalWorker::start(
        &tools,
        &WorkerOptions {
            port: worker::free_port()?,
            state_dir: dir.join("state"),
            admin_token: Some(token.clone()),
            cf_json: Some(TEST_CF.into()),
            vars: Vec::new(),
            log: Some(dir.join("wrangler.log")),
            own_group: true,
        },
    )?;
    step(&format!(
        "api-fuzz: schemathesis {SCHEMATHESIS_VERSION} on docs/openapi.yaml against {}",
        worker.url
    ));
    let report = dir.join("report");
    let result = run(Command::new(&st)
        .arg("run")
        .arg(root.join("docs/openapi.yaml"))
        .arg("--url")
        .arg(format!("{}/do/v1", worker.url))
        .args(["--checks", "all", "--seed", SEED, "--workers", "1"])
        .arg(format!("--max-examples={max_examples}"))
        .args(["--request-timeout", "30"])
        .arg("--header")
        .arg(format!("Authorization: Bearer {token}"))
        .args(["--report", "junit,ndjson", "--report-dir"])
        .arg(&report)
        .env("SCHEMATHESIS_TELEMETRY", "false")
        .current_dir(&dir));
    drop(worker);
    result.with_context(|| {
        format!(
            "schemathesis found failures; reports in {}, wrangler log in {}",
            report.display(),
            dir.join("wrangler.log").display()
        )
    })
}

/// The venv's `schemathesis`, installed at the pinned version if missing.
fn ensure_schemathesis(venv: &Path) -> Result<PathBuf> {
    let st = venv.join("bin/schemathesis");
    let installed = output(Command::new(&st).arg("--version"))
        .is_some_and(|v| v.trim().ends_with(SCHEMATHESIS_VERSION));
    if installed {
        return Ok(st);
    }
    step(&format!(
        "api-fuzz: installing schemathesis {SCHEMATHESIS_VERSION} into {}",
        venv.display()
    ));
    run(Command::new("python3").arg("-m").arg("venv").arg(venv))?;
    run(Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet"])
        .arg(format!("schemathesis=={SCHEMATHESIS_VERSION}")))?;
    Ok(st)
}
