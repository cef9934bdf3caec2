//! Transparent huge pages for `edgeswarm simulate`'s heap (glibc on Linux).
//!
//! A 300-peer simulation touches its peak of engine buffers (~7 GB for a
//! 64 MiB file) once, and with 4 KiB pages the kernel's page faults took
//! 10–12 s of a 36–39 s run (docs/bench/engine.md, "Simulator speed"). glibc's
//! malloc asks the kernel for transparent huge pages when the tunable
//! `glibc.malloc.hugetlb=1` is set, and reads its tunables only when a
//! process starts, so `simulate` executes itself again, once, with the
//! tunable added to `GLIBC_TUNABLES`.
//!
//! Invariants: at most one re-execution (the new process finds the tunable
//! set and runs in place); when the tunable is already set (by the user or
//! by us), THP is off on the machine, or the re-execution fails, the run goes
//! on in this process. Page size changes no decision: the report is the same.

/// The glibc tunable that turns on `madvise(MADV_HUGEPAGE)` for the heap.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const TUNABLE: &str = "glibc.malloc.hugetlb";

/// Replaces this process by the same command with huge pages for the heap,
/// or returns (see the module doc for when).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn reexec_with_huge_pages() {
    use std::os::unix::process::CommandExt;

    let current = match std::env::var("GLIBC_TUNABLES") {
        Ok(v) => v,
        Err(std::env::VarError::NotPresent) => String::new(),
        // Not UTF-8: leave the user's setting alone.
        Err(std::env::VarError::NotUnicode(_)) => return,
    };
    if current.contains(TUNABLE) {
        return;
    }
    let thp = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled");
    if thp.map_or(true, |s| s.contains("[never]")) {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let value = if current.is_empty() {
        format!("{TUNABLE}=1")
    } else {
        format!("{current}:{TUNABLE}=1")
    };
    // `exec` returns only if it failed; then the run goes on here.
    let _failed = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env("GLIBC_TUNABLES", value)
        .exec();
}

/// Other platforms: nothing to do.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn reexec_with_huge_pages() {}
