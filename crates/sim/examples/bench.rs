//! Prints the engine/simulator figures as one JSON object (see docs/bench/engine.md).

fn main() {
    let report = edgeswarm_sim::bench::bench_report();
    // Serializing plain numbers and strings cannot fail.
    println!(
        "{}",
        serde_json::to_string(&report).expect("report serializes")
    );
}
