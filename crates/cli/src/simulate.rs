//! `edgeswarm simulate`: runs the real download engine over a simulated
//! network in virtual time and prints the report as one line of JSON
//! (docs/api.md). The same arguments always print the same JSON.

use edgeswarm_sim::{MaliciousKind, SimConfig};

#[derive(clap::Args)]
pub struct Args {
    /// Honest peers, all starting empty.
    #[arg(long, default_value_t = 8)]
    peers: usize,
    /// File size in bytes.
    #[arg(long, default_value_t = 64 << 20)]
    file_size: u64,
    /// Piece size in bytes (a power of two, 16 KiB..=16 MiB).
    #[arg(long, default_value_t = 1 << 20)]
    piece_size: u32,
    /// Malicious peers added to the honest ones.
    #[arg(long, default_value_t = 0)]
    malicious: usize,
    /// What the malicious peers do: corrupt (claim every piece, serve corrupted
    /// bytes), flip-bit, lie, stall, garbage, flood, mixed (the six before),
    /// drip (one byte per request every 19 s) or forged-report (lies to the
    /// array to be ranked first in every peer list, then holds the slot).
    #[arg(long, value_enum, default_value_t = MaliciousKind::Corrupt)]
    malicious_kind: MaliciousKind,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// CDN bandwidth, bytes per second, shared by all requests.
    #[arg(long, default_value_t = 20_000_000)]
    cdn_rate: u64,
    /// Upload bandwidth of each peer, bytes per second.
    #[arg(long, default_value_t = 5_000_000)]
    peer_rate: u64,
    /// Honest peers join at uniformly random times within this many seconds.
    #[arg(long, default_value_t = 0.0)]
    join_spread: f64,
    /// Mean one-way link latency in milliseconds.
    #[arg(long, default_value_t = 20)]
    latency_ms: u64,
    /// Probability that a message needs one retransmission (0..1).
    #[arg(long, default_value_t = 0.0)]
    loss: f64,
    /// DO's "delay download from HTTP", seconds.
    #[arg(long, default_value_t = 0)]
    http_delay: u32,
    /// Bad pieces before a peer is banned.
    #[arg(long, default_value_t = 2)]
    strike_limit: u32,
}

pub fn run_args(a: Args) -> anyhow::Result<String> {
    anyhow::ensure!((0.0..1.0).contains(&a.loss), "--loss must be in [0, 1)");
    anyhow::ensure!(a.join_spread >= 0.0, "--join-spread must not be negative");
    let mut cfg = SimConfig {
        peers: a.peers,
        malicious: a.malicious,
        malicious_kind: a.malicious_kind,
        file_size: a.file_size,
        piece_size: a.piece_size,
        seed: a.seed,
        cdn_rate: a.cdn_rate,
        peer_rate: a.peer_rate,
        join_spread_secs: a.join_spread,
        latency_ms: a.latency_ms,
        loss: a.loss,
        ..SimConfig::default()
    };
    cfg.engine.http_delay_secs = a.http_delay;
    cfg.engine.strike_limit = a.strike_limit;
    let report = edgeswarm_sim::run(cfg)?;
    Ok(serde_json::to_string(&report)?)
}

pub fn run(a: Args) -> anyhow::Result<()> {
    println!("{}", run_args(a)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    fn report(argv: &[&str]) -> serde_json::Value {
        let cli =
            Cli::try_parse_from(std::iter::once("simulate").chain(argv.iter().copied())).unwrap();
        serde_json::from_str(&run_args(cli.args).unwrap()).unwrap()
    }

    #[test]
    fn prints_the_api_fields_and_is_deterministic() {
        let argv = [
            "--peers",
            "4",
            "--malicious",
            "1",
            "--file-size",
            "300000",
            "--piece-size",
            "16384",
            "--seed",
            "9",
        ];
        let r = report(&argv);
        for field in [
            "peers",
            "malicious",
            "completed",
            "corruptPiecesAccepted",
            "maliciousBanned",
            "honestBanned",
            "cdnBytes",
            "peerBytes",
            "fileSize",
            "virtualSeconds",
        ] {
            assert!(r.get(field).is_some(), "missing {field}: {r}");
        }
        assert_eq!(r["completed"], 4);
        assert_eq!(r["corruptPiecesAccepted"], 0);
        assert_eq!(r["maliciousBanned"], 1);
        assert_eq!(r, report(&argv));
    }

    #[test]
    fn issue_11_attackers_are_simulated() {
        for kind in ["drip", "forged-report"] {
            let r = report(&[
                "--peers",
                "4",
                "--malicious",
                "2",
                "--malicious-kind",
                kind,
                "--file-size",
                "300000",
                "--piece-size",
                "16384",
            ]);
            assert_eq!(r["completed"], 4, "{kind}: {r}");
            assert_eq!(r["honestBanned"], 0, "{kind}: {r}");
            assert_eq!(r["corruptPiecesAccepted"], 0, "{kind}: {r}");
        }
    }

    #[test]
    fn bad_arguments_are_errors() {
        let cli = Cli::try_parse_from(["simulate", "--piece-size", "1000"]).unwrap();
        assert!(run_args(cli.args).is_err());
        assert!(Cli::try_parse_from(["simulate", "--malicious-kind", "nice"]).is_err());
        for extreme in [
            ["--join-spread", "inf"],
            ["--latency-ms", "18446744073709551615"],
            ["--malicious", "18446744073709551615"],
        ] {
            let cli = Cli::try_parse_from(std::iter::once("simulate").chain(extreme)).unwrap();
            assert!(run_args(cli.args).is_err(), "{extreme:?}");
        }
    }
}
