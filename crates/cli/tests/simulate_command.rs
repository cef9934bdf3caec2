//! `edgeswarm simulate` as a user runs it: the command executes itself again
//! with huge pages for its heap where the machine's THP mode is `madvise`
//! (`src/huge_pages.rs`, whose unit tests cover when), which must change
//! nothing the user sees — one JSON report, the same as a run in place.

use std::process::Command;

fn simulate(tunables: Option<&str>) -> (String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_edgeswarm"));
    cmd.env_remove("EDGESWARM_SIMULATE_REEXECUTED");
    cmd.args([
        "simulate",
        "--peers",
        "4",
        "--file-size",
        "300000",
        "--piece-size",
        "16384",
        "--seed",
        "5",
    ]);
    match tunables {
        Some(v) => cmd.env("GLIBC_TUNABLES", v),
        None => cmd.env_remove("GLIBC_TUNABLES"),
    };
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{out:?}");
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn the_report_is_printed_once_and_matches_a_run_in_place() {
    // Unset: the command re-executes itself with the tunable added.
    let (reexecuted, err) = simulate(None);
    assert_eq!(err, "");
    assert_eq!(reexecuted.lines().count(), 1, "{reexecuted}");
    let report: serde_json::Value = serde_json::from_str(&reexecuted).unwrap();
    assert_eq!(report["completed"], 4, "{report}");
    // Already set (here to off): it runs in place.
    let (in_place, _) = simulate(Some("glibc.malloc.hugetlb=0"));
    assert_eq!(reexecuted, in_place);
    // Another tunable of the user's is kept, and the report is the same.
    let (kept, _) = simulate(Some("glibc.malloc.check=0"));
    assert_eq!(reexecuted, kept);
}
