//! Transparent huge pages for `edgeswarm simulate`'s heap (glibc on Linux).
//!
//! A 300-peer simulation touches its peak of engine buffers (~7 GB for a
//! 64 MiB file) once, and with 4 KiB pages the kernel's page faults took
//! 5–11 s of a 30–37 s run (docs/bench/engine.md, "Simulator speed: huge
//! pages for the heap"). glibc (2.35 and later) asks the kernel for
//! transparent huge pages with `madvise` when the tunable
//! `glibc.malloc.hugetlb=1` is set, and reads its tunables only when a
//! process starts, so `simulate` executes itself again, once, with the
//! tunable added to `GLIBC_TUNABLES`.
//!
//! Invariants: at most one re-execution — the new process carries
//! [`MARKER`] and runs in place, even where glibc drops `GLIBC_TUNABLES`
//! (secure mode); no re-execution when the tunable is already set (by the
//! user), when the machine's THP mode is not `madvise` (`always` needs no
//! advice, `never` ignores it), or when the variable is not UTF-8; if the
//! re-execution fails the run goes on in this process. Page size changes no
//! decision: the report is the same.

/// The glibc tunable that turns on `madvise(MADV_HUGEPAGE)` for the heap.
const TUNABLE: &str = "glibc.malloc.hugetlb";

/// Set in the re-executed process's environment.
pub const MARKER: &str = "EDGESWARM_SIMULATE_REEXECUTED";

/// The `GLIBC_TUNABLES` value to re-execute with, or `None` to run in place:
/// `current` is the variable (`Some("")` if set empty, `None` if unset),
/// `thp` the contents of `/sys/kernel/mm/transparent_hugepage/enabled`.
pub fn tunables(current: Option<&str>, thp: Option<&str>) -> Option<String> {
    let current = current.unwrap_or("");
    if current.contains(TUNABLE) || !thp.is_some_and(|s| s.contains("[madvise]")) {
        return None;
    }
    Some(if current.is_empty() {
        format!("{TUNABLE}=1")
    } else {
        format!("{current}:{TUNABLE}=1")
    })
}

/// Replaces this process by the same command with huge pages for the heap,
/// or returns (see the module doc for when).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn reexec_with_huge_pages() {
    use std::os::unix::process::CommandExt;

    if std::env::var_os(MARKER).is_some() {
        return;
    }
    let current = match std::env::var("GLIBC_TUNABLES") {
        Ok(v) => Some(v),
        Err(std::env::VarError::NotPresent) => None,
        // Not UTF-8: leave the user's setting alone.
        Err(std::env::VarError::NotUnicode(_)) => return,
    };
    let thp = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled").ok();
    let Some(value) = tunables(current.as_deref(), thp.as_deref()) else {
        return;
    };
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let mut args = std::env::args_os();
    let arg0 = args.next().unwrap_or_else(|| exe.clone().into_os_string());
    // `exec` returns only if it failed; then the run goes on here.
    let _failed = std::process::Command::new(exe)
        .arg0(arg0)
        .args(args)
        .env("GLIBC_TUNABLES", value)
        .env(MARKER, "1")
        .exec();
}

/// Other platforms: nothing to do.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn reexec_with_huge_pages() {}

#[cfg(test)]
mod tests {
    use super::tunables;

    const MADVISE: Option<&str> = Some("always [madvise] never\n");

    #[test]
    fn the_tunable_is_added_once_and_the_users_kept() {
        let one = Some("glibc.malloc.hugetlb=1".to_string());
        assert_eq!(tunables(None, MADVISE), one);
        assert_eq!(tunables(Some(""), MADVISE), one);
        assert_eq!(
            tunables(Some("glibc.malloc.check=0"), MADVISE).as_deref(),
            Some("glibc.malloc.check=0:glibc.malloc.hugetlb=1")
        );
        assert_eq!(tunables(Some("glibc.malloc.hugetlb=0"), MADVISE), None);
        assert_eq!(tunables(Some("glibc.malloc.hugetlb=1"), MADVISE), None);
    }

    #[test]
    fn only_where_thp_waits_for_advice() {
        assert_eq!(tunables(None, Some("[always] madvise never")), None);
        assert_eq!(tunables(None, Some("always madvise [never]")), None);
        assert_eq!(tunables(None, None), None, "no THP on this kernel");
    }
}
