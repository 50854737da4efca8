//! CPU time and resident memory of this process, as Prometheus' process collector reports
//! them (`process_cpu_seconds_total`, `process_resident_memory_bytes`): read the same way by
//! the server for `/metrics` and by the load generator for its own cost, so the two compare.
//!
//! Read from `getrusage` (microsecond CPU time) and `/proc/self/statm` (current RSS; the
//! kernel's peak is per lifetime, so callers that want a peak per step sample this). Also the
//! host's count of TCP segments sent, from which the load generator estimates the TCP/IP
//! header bytes that the TCP payload counts leave out.

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

/// TCP segments this host's network namespace has sent (`OutSegs` plus `RetransSegs` of the
/// `Tcp:` line of `/proc/net/snmp`), every process and every socket together; `None` where
/// it cannot be read. On loopback every segment sent is also the one received, so a
/// difference of two readings counts the segments of both directions, ACKs included.
pub fn tcp_segments_sent() -> Option<u64> {
    let snmp = std::fs::read_to_string("/proc/net/snmp").ok()?;
    let mut tcp = snmp.lines().filter(|l| l.starts_with("Tcp:"));
    let (names, values) = (tcp.next()?, tcp.next()?);
    let field = |name: &str| -> Option<u64> {
        let i = names.split_whitespace().position(|n| n == name)?;
        values.split_whitespace().nth(i)?.parse().ok()
    };
    Some(field("OutSegs")? + field("RetransSegs")?)
}

/// Raises the open-files soft limit to the hard limit (many clients, many sockets); returns
/// the limit now in force.
pub fn raise_fd_limit() -> u64 {
    rlimit::increase_nofile_limit(u64::MAX).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

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

    #[test]
    fn segments_sent_grow_with_loopback_traffic() {
        let Some(before) = tcp_segments_sent() else {
            panic!("/proc/net/snmp has no Tcp line on this Linux host");
        };
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let mut a = std::net::TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        let (mut b, _) = listener.accept().expect("accept");
        for _ in 0..20 {
            a.write_all(b"ping").expect("write");
            let mut buf = [0u8; 4];
            b.read_exact(&mut buf).expect("read");
            b.write_all(b"pong").expect("write");
            a.read_exact(&mut buf).expect("read");
        }
        let after = tcp_segments_sent().expect("readable twice");
        // 3 for the handshake and 40 data segments at least, whatever else the host sent.
        assert!(after - before >= 43, "{before} → {after}");
    }
}
