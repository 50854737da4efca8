//! What the run ran on: CPU model and count, kernel, OS, memory; read from `/proc` and
//! `/etc/os-release` (empty strings where a file is missing, never a guess).

use proto::results::Machine;

pub fn describe() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, v)| v.trim()))
        .unwrap_or("")
        .to_string();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim().to_string();
    let os = std::fs::read_to_string("/etc/os-release")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME=").map(|v| v.trim_matches('"').to_string()))
        .unwrap_or_default();
    let memory_bytes = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024);
    Machine {
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        cpu_model,
        kernel,
        os,
        memory_bytes,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn this_machine_is_described() {
        let m = super::describe();
        assert!(m.cpus >= 1);
        assert!(!m.kernel.is_empty(), "Linux has /proc/sys/kernel/osrelease");
        assert!(m.memory_bytes > 0);
    }
}
