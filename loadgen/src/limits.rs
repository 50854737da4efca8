//! The machine's limits on connections, checked before a probe opens them: open files
//! (`RLIMIT_NOFILE`), ephemeral ports per source address, memory. A probe that would pass one
//! is not run; its reason names the limit and how to raise it ("machine limit: …"), instead
//! of thousands of connect errors counted against the server.
//!
//! The embedded server inherits this process's limits, so one check covers both sides.

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

    /// Why `clients` connections cannot be opened here, if they cannot. `bytes_per_client` is
    /// what the last probe took per client (server and load generator), when known.
    pub fn check(&self, clients: u32, bytes_per_client: Option<f64>) -> Result<(), String> {
        let n = u64::from(clients);
        if self.open_files > 0 && n + FD_RESERVE > self.open_files {
            return Err(format!(
                "machine limit: open files: {n} clients need about {} file descriptors in the load \
                 generator and in the server, and RLIMIT_NOFILE allows {} per process (hard limit \
                 {}); raise the hard limit (as root: `ulimit -Hn`, or `nofile` in \
                 /etc/security/limits.conf, or LimitNOFILE= for a service), or spread the clients \
                 and the server over several processes (a NATS cluster of servers; loadgen's \
                 worker processes are not built yet)",
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
