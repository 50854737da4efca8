//! The machine's limits on connections, checked before a probe opens them: open files
//! (`RLIMIT_NOFILE`), ephemeral ports per source address, memory. A probe that would pass one
//! is not run; its reason names the limit and how to raise it ("machine limit: …"), instead
//! of thousands of connect errors counted against the server.
//!
//! The embedded server inherits this process's limits. A run whose clients do not fit in one
//! process splits them over worker processes ([`crate::workers`], sized by
//! [`Limits::processes_for`]); the embedded server still holds every connection, so it is
//! checked on its own ([`Limits::check_server`]).

use crate::client::CLIENTS_PER_SOURCE;

/// File descriptors a process keeps besides its clients' sockets (runtime, logs, scrapes).
const FD_RESERVE: u64 = 100;

/// Share of the available memory a probe may plan to take.
const MEMORY_SHARE: f64 = 0.8;

/// What the machine allows, read once.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Open files this process may have (soft limit, already raised to the hard one).
    pub open_files: u64,
    pub hard_open_files: u64,
    /// Ephemeral ports per source address (`net.ipv4.ip_local_port_range`).
    pub ports: u64,
    /// `MemAvailable`, bytes (0 when unknown).
    pub memory_available: u64,
}

impl Limits {
    /// Raises the open-files limit as far as the hard limit allows, then reads every limit.
    pub fn read() -> Limits {
        let open_files = proto::process::raise_fd_limit();
        let hard_open_files =
            rlimit::getrlimit(rlimit::Resource::NOFILE).map(|(_, h)| h).unwrap_or(open_files);
        Limits { open_files, hard_open_files, ports: port_range(), memory_available: mem_available() }
    }

    /// Whether one process can hold `clients` sockets beside its reserve (an unreadable
    /// limit, 0, is taken as no limit).
    pub fn fits(&self, clients: u64) -> bool {
        self.open_files == 0 || clients + FD_RESERVE <= self.open_files
    }

    /// The fewest processes that can hold `clients` between them, shared out as `--part`
    /// shares them (the largest share is ⌈clients/N⌉); `None` when not even 1000 can (a limit
    /// at or below the reserve).
    pub fn processes_for(&self, clients: u32) -> Option<u32> {
        (1..=1000u32).find(|n| self.fits(u64::from(clients.div_ceil(*n))))
    }

    /// Why `clients` connections cannot be opened here, if they cannot. `bytes_per_client` is
    /// what the last probe took per client (server and load generator), when known.
    pub fn check(&self, clients: u32, bytes_per_client: Option<f64>) -> Result<(), String> {
        let n = u64::from(clients);
        if !self.fits(n) {
            return Err(format!(
                "machine limit: open files: {n} clients need about {} file descriptors in one \
                 process, and RLIMIT_NOFILE allows {} per process (hard limit {}); raise the hard \
                 limit (as root: `ulimit -Hn`, or `nofile` in /etc/security/limits.conf, or \
                 LimitNOFILE= for a service), or spread the connections over several processes: \
                 on the load side `loadgen run --workers auto` (the default) splits a run's \
                 clients over worker processes (`loadgen capacity` probes run in one), on the \
                 server side run several server nodes (scripts/cluster.sh) and give them all \
                 as --target",
                n + FD_RESERVE,
                self.open_files,
                self.hard_open_files
            ));
        }
        let per_source = n.min(CLIENTS_PER_SOURCE as u64);
        if self.ports > 0 && per_source > self.ports {
            return Err(format!(
                "machine limit: ephemeral ports: {per_source} connections from one source address \
                 but net.ipv4.ip_local_port_range gives {} ports; widen it (`sysctl -w \
                 net.ipv4.ip_local_port_range=\"1024 65535\"`)",
                self.ports
            ));
        }
        if n > CLIENTS_PER_SOURCE as u64 * 250 {
            return Err(format!(
                "machine limit: source addresses: {n} clients need more than 250 loopback source \
                 addresses of {CLIENTS_PER_SOURCE} connections each"
            ));
        }
        if let (Some(per), true) = (bytes_per_client, self.memory_available > 0) {
            let need = per * n as f64;
            let may = self.memory_available as f64 * MEMORY_SHARE;
            if need > may {
                return Err(format!(
                    "machine limit: memory: {n} clients would take about {:.0} MiB ({:.0} KiB each, \
                     as the last probe took) and {:.0} MiB is available; free memory or add it",
                    need / 1048576.0,
                    per / 1024.0,
                    self.memory_available as f64 / 1048576.0
                ));
            }
        }
        Ok(())
    }

    /// Why the embedded server, which holds every client's connection whatever the number of
    /// load processes, cannot take `clients` of them, if it cannot.
    pub fn check_server(&self, clients: u32) -> Result<(), String> {
        let n = u64::from(clients);
        if self.fits(n) {
            return Ok(());
        }
        Err(format!(
            "machine limit: open files: the embedded server would hold {n} connections, about {} \
             file descriptors, and RLIMIT_NOFILE allows {} per process (hard limit {}); worker \
             processes share out only the load side: run several server nodes \
             (scripts/cluster.sh) and give them all as --target, or raise the hard limit",
            n + FD_RESERVE,
            self.open_files,
            self.hard_open_files
        ))
    }
}

/// Width of `net.ipv4.ip_local_port_range` (0 when unreadable).
fn port_range() -> u64 {
    let Ok(text) = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range") else { return 0 };
    let v: Vec<u64> = text.split_whitespace().filter_map(|x| x.parse().ok()).collect();
    match v[..] {
        [lo, hi] if hi >= lo => hi - lo + 1,
        _ => 0,
    }
}

/// `MemAvailable` from `/proc/meminfo`, bytes (0 when unreadable).
fn mem_available() -> u64 {
    let Ok(text) = std::fs::read_to_string("/proc/meminfo") else { return 0 };
    text.lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits { open_files: 20_000, hard_open_files: 20_000, ports: 28_232, memory_available: 1 << 30 }
    }

    #[test]
    fn open_files_name_the_limit_and_how_to_raise_it() {
        assert!(limits().check(19_000, None).is_ok());
        let why = limits().check(25_000, None).expect_err("over 20,000 files");
        assert!(why.starts_with("machine limit: open files: 25000 clients"), "{why}");
        assert!(why.contains("RLIMIT_NOFILE allows 20000") && why.contains("ulimit -Hn"), "{why}");
        assert!(why.contains("--workers auto") && why.contains("scripts/cluster.sh"), "{why}");
    }

    #[test]
    fn the_fewest_processes_that_hold_a_step_are_found_with_their_shares() {
        let small = Limits { open_files: 300, hard_open_files: 300, ..limits() };
        assert_eq!(small.processes_for(200), Some(1), "200 + 100 reserve fit in 300");
        assert_eq!(small.processes_for(201), Some(2));
        assert_eq!(small.processes_for(401), Some(3), "⌈401/2⌉ = 201 does not fit, 134 does");
        assert_eq!(limits().processes_for(100_000), Some(6), "19,900 a process under 20,000");
        let none = Limits { open_files: 100, hard_open_files: 100, ..limits() };
        assert_eq!(none.processes_for(1), None, "the reserve alone fills the limit");
        let why = small.check_server(400).expect_err("one server");
        assert!(
            why.contains("embedded server would hold 400") && why.contains("scripts/cluster.sh"),
            "{why}"
        );
        assert!(small.check_server(200).is_ok());
    }

    #[test]
    fn ports_and_memory_are_checked() {
        let few_ports = Limits { ports: 1000, ..limits() };
        assert!(few_ports.check(2000, None).expect_err("ports").contains("ip_local_port_range"));
        let why = limits().check(10_000, Some(200_000.0)).expect_err("2 GB over 1 GiB");
        assert!(why.starts_with("machine limit: memory: 10000 clients"), "{why}");
        assert!(limits().check(1000, Some(200_000.0)).is_ok());
    }

    #[test]
    fn this_machine_is_read() {
        let l = Limits::read();
        assert!(l.open_files >= 1024 && l.hard_open_files >= l.open_files, "{l:?}");
    }
}
