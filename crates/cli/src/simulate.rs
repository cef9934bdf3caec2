//! `edgeswarm simulate`: runs the real download engine over a simulated
//! network in virtual time and prints the report as one line of JSON
//! (docs/api.md). The same arguments always print the same JSON.

use edgeswarm_sim::{CdnModel, Costs, MaliciousKind, SimConfig};

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
    /// Honest peer i joins at exactly i × this many seconds (overrides
    /// --join-spread), as the browser benchmarks open pages.
    #[arg(long, default_value_t = 0.0)]
    join_every: f64,
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
    /// More engine tunables as a JSON object of camelCase `EngineConfig`
    /// fields, applied last (as a page's `engine` option), e.g.
    /// '{"maxPeers":8,"httpDelaySecs":2,"minDownloadBps":65536}'.
    #[arg(long)]
    engine: Option<String>,
    /// Peers download in mode 0 (HTTP only): the CDN-only baseline.
    #[arg(long)]
    cdn_only: bool,
    /// Peers download in mode 1 (LAN: behind one external address, sharing
    /// its link to the CDN, the simulated CDN link) instead of mode 3.
    #[arg(long, conflicts_with = "cdn_only")]
    lan: bool,
    /// The array sends no shares of the CDN's work (`share`): each page
    /// divides the work only with its connected peers (fetch leases).
    #[arg(long)]
    no_shares: bool,
    /// How concurrent CDN requests share the CDN link: fifo (one after
    /// another at the full rate) or shared (equal shares at every instant,
    /// as one token bucket for all responses).
    #[arg(long, value_enum, default_value_t = CdnModel::Fifo)]
    cdn_model: CdnModel,
    /// Writing one piece to storage, ms (a peer's writes one after another;
    /// it has finished when its last write has).
    #[arg(long, default_value_t = 0.0)]
    store_ms: f64,
    /// Reading a stored piece back for serving, ms.
    #[arg(long, default_value_t = 0.0)]
    read_ms: f64,
    /// CPU time of a peer per message it sends or receives, µs.
    #[arg(long, default_value_t = 0)]
    message_us: u64,
    /// Bytes per second a peer's thread processes (bytes in + out); 0 = free.
    #[arg(long, default_value_t = 0)]
    cpu_rate: u64,
    /// Cores shared by all peers' threads; 0 = a core per peer.
    #[arg(long, default_value_t = 0)]
    cpu_cores: u32,
}

/// Milliseconds (a flag) as whole microseconds.
fn micros(name: &str, ms: f64) -> anyhow::Result<u64> {
    anyhow::ensure!(
        (0.0..=3_600_000.0).contains(&ms),
        "--{name} must be in 0..=3600000 ms"
    );
    Ok((ms * 1000.0).round() as u64)
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
        join_every_secs: a.join_every,
        latency_ms: a.latency_ms,
        loss: a.loss,
        cdn_only: a.cdn_only,
        lan: a.lan,
        array_shares: !a.no_shares,
        costs: Costs {
            cdn_model: a.cdn_model,
            store_us: micros("store-ms", a.store_ms)?,
            read_us: micros("read-ms", a.read_ms)?,
            message_us: a.message_us,
            cpu_bytes_per_sec: a.cpu_rate,
            cpu_cores: a.cpu_cores,
        },
        ..SimConfig::default()
    };
    cfg.engine.http_delay_secs = a.http_delay;
    cfg.engine.strike_limit = a.strike_limit;
    if let Some(json) = &a.engine {
        let mut base = serde_json::to_value(&cfg.engine)?;
        let extra: serde_json::Map<String, serde_json::Value> = serde_json::from_str(json)
            .map_err(|e| anyhow::anyhow!("--engine must be a JSON object: {e}"))?;
        if let Some(obj) = base.as_object_mut() {
            for (k, v) in extra {
                anyhow::ensure!(obj.contains_key(&k), "--engine: no engine field {k:?}");
                obj.insert(k, v);
            }
        }
        cfg.engine =
            serde_json::from_value(base).map_err(|e| anyhow::anyhow!("bad --engine field: {e}"))?;
    }
    let report = edgeswarm_sim::run(cfg)?;
    Ok(serde_json::to_string(&report)?)
}

pub fn run(a: Args) -> anyhow::Result<()> {
    crate::huge_pages::reexec_with_huge_pages();
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
    fn cost_flags_reach_the_simulator() {
        let small = [
            "--peers",
            "3",
            "--file-size",
            "262144",
            "--piece-size",
            "65536",
        ];
        let with = |extra: &[&str]| report(&[&small[..], extra].concat());
        let base = with(&[]);
        let cdn_only = with(&["--cdn-only", "--cdn-model", "shared"]);
        assert_eq!(cdn_only["cdnCopies"], 3.0, "{cdn_only}");
        assert_eq!(cdn_only["peerBytes"], 0, "{cdn_only}");
        // Four pieces written one after another, 1 s each.
        let stored = with(&["--store-ms", "1000"]);
        let slowest = stored["slowestPeerSeconds"].as_f64().unwrap();
        assert!(slowest >= 4.0, "{stored}");
        let busy = with(&["--cpu-rate", "100000", "--cpu-cores", "1"]);
        // 3 peers × 256 KiB received on one core at 100 kB/s.
        assert!(busy["lastFinishSeconds"].as_f64().unwrap() >= 7.8, "{busy}");
        let eight = with(&["--engine", r#"{"maxPeers":8,"httpDelaySecs":1}"#]);
        assert_ne!(eight, base, "the engine override changes the run");
    }

    #[test]
    fn bad_arguments_are_errors() {
        let cli = Cli::try_parse_from(["simulate", "--piece-size", "1000"]).unwrap();
        assert!(run_args(cli.args).is_err());
        assert!(Cli::try_parse_from(["simulate", "--malicious-kind", "nice"]).is_err());
        for bad in [
            ["--engine", r#"{"noSuchField":1}"#],
            ["--engine", "[1]"],
            ["--store-ms", "4000000"],
            ["--join-every", "NaN"],
        ] {
            let cli = Cli::try_parse_from(std::iter::once("simulate").chain(bad)).unwrap();
            assert!(run_args(cli.args).is_err(), "{bad:?}");
        }
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
