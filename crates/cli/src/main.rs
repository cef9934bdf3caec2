//! The `edgeswarm` command-line tool (docs/api.md): publish, inspect, verify, simulate.
//!
//! Output contract: results are JSON on stdout; errors are one line on stderr
//! and a non-zero exit status ([`EXIT_CODES`]: 1 failure, 2 usage, 130
//! interrupted). Nothing reachable from file contents panics.

use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

mod client;
mod credentials;
mod hashing;
mod huge_pages;
mod inspect;
mod interrupt;
mod multipart;
mod pace;
mod progress;
mod publish;
mod simulate;
mod upload;
mod verify;

/// The exit statuses, as `--help` prints them.
const EXIT_CODES: &str = "\
Exit status:
  0    success (the JSON result is on stdout)
  1    failure (one line on stderr: `edgeswarm: ...`)
  2    usage error (bad arguments)
  130  interrupted by Ctrl-C (a multipart upload is left resumable: rerun with --resume)";

#[derive(Parser)]
#[command(
    name = "edgeswarm",
    version,
    about = "Publish, inspect, verify and simulate edgeswarm content",
    after_help = EXIT_CODES
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Hash FILE into a format-v1 metadata file (and optionally upload it).
    #[command(after_help = EXIT_CODES)]
    Publish(publish::Args),
    /// Print a metadata file as JSON.
    Inspect(inspect::Args),
    /// Check FILE against a metadata file.
    Verify(verify::Args),
    /// Run the real download engine over a simulated network in virtual time.
    Simulate(simulate::Args),
}

fn main() -> ExitCode {
    let matches = match Cli::command().try_get_matches() {
        Ok(m) => m,
        Err(e) => return usage_error(e),
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    let result = match cli.command {
        Command::Publish(mut a) => {
            a.token_on_command_line = matches
                .subcommand_matches("publish")
                .and_then(|m| m.value_source("token"))
                == Some(ValueSource::CommandLine);
            publish::run(a)
        }
        Command::Inspect(a) => inspect::run(a),
        Command::Verify(a) => verify::run(a),
        Command::Simulate(a) => simulate::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.downcast_ref::<interrupt::Interrupted>().is_some() => {
            eprintln!("edgeswarm: {}", format!("{e:#}").replace('\n', " "));
            ExitCode::from(interrupt::EXIT_INTERRUPTED)
        }
        Err(e) => {
            // One line: join the error chain with ": ".
            eprintln!("edgeswarm: {}", format!("{e:#}").replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}

/// Help and version go out as clap prints them; a usage error becomes the
/// same one-line `edgeswarm: …` form as every other error, exit status 2.
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        e.exit();
    }
    // clap's message is the paragraph before its usage block.
    let text = e.to_string();
    let message: Vec<&str> = text
        .lines()
        .map(str::trim)
        .skip_while(|l| l.is_empty())
        .take_while(|l| !l.is_empty() && !l.starts_with("Usage:"))
        .collect();
    let message = message.join(" ");
    let message = message.strip_prefix("error: ").unwrap_or(&message);
    eprintln!("edgeswarm: {message} (see --help)");
    ExitCode::from(2)
}
