//! Ctrl-C during an upload: the first one asks every transfer to stop (the
//! readers feeding request bodies fail, retries and new parts are not
//! started) so the command can say what it leaves behind; a second one exits
//! at once. Exit status 130 either way ([`EXIT_INTERRUPTED`]).
//!
//! Invariant: the handler is installed at most once per process and only
//! sets a flag (async-signal-safe work); the message comes from the code
//! that knows what was left, as an [`Interrupted`] error.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;

/// The exit status after Ctrl-C (128 + SIGINT), as shells report it.
pub const EXIT_INTERRUPTED: u8 = 130;

static REQUESTED: AtomicBool = AtomicBool::new(false);
static INSTALL: Once = Once::new();

/// The command stopped because of Ctrl-C; the message says what it left.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Interrupted(pub String);

/// Installs the Ctrl-C handler (idempotent).
pub fn install() -> anyhow::Result<()> {
    let mut result = Ok(());
    INSTALL.call_once(|| {
        result = ctrlc::set_handler(|| {
            if REQUESTED.swap(true, Ordering::SeqCst) {
                std::process::exit(i32::from(EXIT_INTERRUPTED));
            }
        });
    });
    result.map_err(|e| anyhow::anyhow!("cannot install the Ctrl-C handler: {e}"))
}

/// Whether Ctrl-C was pressed.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// An I/O error once Ctrl-C was pressed, so a body being sent stops.
pub fn check() -> std::io::Result<()> {
    if requested() {
        // Not ErrorKind::Interrupted: std's read loops retry that one.
        Err(std::io::Error::other("interrupted by Ctrl-C"))
    } else {
        Ok(())
    }
}
