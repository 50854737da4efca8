//! `--pin`: the embedded server on one CPU, the load generator on the others, so that the
//! two stop taking turns on the same cores and the server's CPU figures are its own. Applied
//! before anything else starts (threads inherit their creator's CPU set, so the load
//! generator pins itself before its runtime starts its workers, and the server child is
//! pinned between fork and exec), and recorded in `results.json` as read back from the
//! kernel, not as asked.

use proto::results::Pinning;

/// The CPUs this process may run on, ascending (`sched_getaffinity`).
pub fn allowed_cpus() -> std::io::Result<Vec<usize>> {
    // SAFETY: the set is a plain bitmap that sched_getaffinity fills.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    if unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok((0..libc::CPU_SETSIZE as usize).filter(|&c| unsafe { libc::CPU_ISSET(c, &set) }).collect())
}

/// Restricts the calling thread, and every thread or process it creates from now on, to
/// `cpus`. Async-signal-safe: also used between fork and exec.
pub fn pin_self(cpus: &[usize]) -> std::io::Result<()> {
    // SAFETY: as above; CPU_SET only writes bits of the local set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    for &c in cpus {
        unsafe { libc::CPU_SET(c, &mut set) };
    }
    if unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// The split of `allowed`: the server on the first CPU, the load generator on the rest.
pub fn split(allowed: &[usize]) -> Result<Pinning, String> {
    match allowed {
        [server, rest @ ..] if !rest.is_empty() => {
            Ok(Pinning { server_cpus: vec![*server], loadgen_cpus: rest.to_vec() })
        }
        _ => Err(format!(
            "--pin needs at least two CPUs to put the server and the load generator apart; this \
             process may use {}",
            allowed.len()
        )),
    }
}

/// Pins this process to its share of the split and returns the split with the load
/// generator's CPUs as the kernel now reports them.
pub fn pin_loadgen() -> Result<Pinning, String> {
    let allowed = allowed_cpus().map_err(|e| format!("--pin: cannot read this process's CPUs: {e}"))?;
    let mut plan = split(&allowed)?;
    pin_self(&plan.loadgen_cpus).map_err(|e| format!("--pin: cannot pin the load generator: {e}"))?;
    plan.loadgen_cpus = allowed_cpus().map_err(|e| format!("--pin: cannot read the CPUs back: {e}"))?;
    Ok(plan)
}

/// The CPUs of process `pid` as the kernel reports them (`Cpus_allowed_list` of its status),
/// e.g. to confirm the server child's pinning.
pub fn cpus_of(pid: u32) -> Option<Vec<usize>> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let list = status.lines().find_map(|l| l.strip_prefix("Cpus_allowed_list:"))?.trim();
    let mut out = Vec::new();
    for part in list.split(',') {
        match part.split_once('-') {
            Some((a, b)) => out.extend(a.parse::<usize>().ok()?..=b.parse::<usize>().ok()?),
            None => out.push(part.parse().ok()?),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_takes_the_first_cpu_and_the_load_generator_the_rest() {
        let p = split(&[0, 1, 2, 3]).expect("four CPUs");
        assert_eq!((p.server_cpus, p.loadgen_cpus), (vec![0], vec![1, 2, 3]));
        let why = split(&[5]).expect_err("one CPU cannot be split");
        assert!(why.contains("at least two CPUs") && why.contains("may use 1"), "{why}");
    }

    #[test]
    fn this_process_reads_its_own_cpus_as_the_kernel_lists_them() {
        let allowed = allowed_cpus().expect("sched_getaffinity");
        assert!(!allowed.is_empty());
        assert_eq!(cpus_of(std::process::id()), Some(allowed));
    }

    #[test]
    fn a_thread_pinned_to_one_cpu_reads_back_that_cpu() {
        let allowed = allowed_cpus().expect("sched_getaffinity");
        let last = *allowed.last().expect("a CPU");
        // A thread of its own, so the test's other threads keep their CPUs.
        let read = std::thread::spawn(move || {
            pin_self(&[last]).expect("pin");
            allowed_cpus().expect("read back")
        })
        .join()
        .expect("thread");
        assert_eq!(read, vec![last]);
    }
}
