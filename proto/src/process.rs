//! CPU time and resident memory of this process, as Prometheus' process collector reports
//! them (`process_cpu_seconds_total`, `process_resident_memory_bytes`): read the same way by
//! the server for `/metrics` and by the load generator for its own cost, so the two compare.
//!
//! Read from `getrusage` (microsecond CPU time) and `/proc/self/statm` (current RSS; the
//! kernel's peak is per lifetime, so callers that want a peak per step sample this).

/// User plus system CPU seconds this process has used.
pub fn cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes the struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return 0.0;
    }
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// Resident set size in bytes (0 where `/proc` is not available).
pub fn resident_bytes() -> u64 {
    let Ok(statm) = std::fs::read_to_string("/proc/self/statm") else { return 0 };
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|v| v.parse().ok()).unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    pages * page.max(0) as u64
}

/// Raises the open-files soft limit to the hard limit (many clients, many sockets); returns
/// the limit now in force.
pub fn raise_fd_limit() -> u64 {
    rlimit::increase_nofile_limit(u64::MAX).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_and_memory_are_read() {
        let before = cpu_seconds();
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        assert!(cpu_seconds() > before, "spinning must use CPU time");
        assert!(resident_bytes() > 1 << 20, "a test process is bigger than 1 MiB");
    }
}
