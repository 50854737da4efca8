//! What the run's variants changed, in plain words for the summary: HTTP/2 against HTTP/1.1
//! (bytes per poll, bytes per event), TLS against cleartext (connect + handshake time), and
//! compression on against off (bytes per event, server CPU per 1,000 deliveries, and which
//! transport moves the fewest bytes once both sides compress).
//!
//! Each comparison pairs two steps that differ in that one dimension only (same transport,
//! same client count, same other dimensions), so nothing else explains the difference.
//! Differences are said in bytes, milliseconds or CPU seconds, never as a ratio; a CPU
//! difference within [`CPU_NOISE_S`] or a tenth of the larger figure is said to be none.

use proto::results::{Results, Step};
use proto::variant::Varying;
use proto::{Compression, Protocol, Security, Transport, Variant};

use super::derived;
use super::format;

/// The smallest difference in a step's server CPU seconds that the summary calls one: the
/// server shares the machine's cores with the load generator, so smaller ones are noise.
pub const CPU_NOISE_S: f64 = 0.02;

/// The sentences, at `clients` (the headline client count); none for a dimension the run
/// did not vary.
pub fn sentences(results: &Results, clients: u32) -> Vec<String> {
    let varying = derived::varying(results);
    let mut out = Vec::new();
    if varying.protocol {
        out.extend(protocol(results, varying, clients));
    }
    if varying.tls {
        out.extend(tls(results, varying, clients));
    }
    if varying.compression {
        out.extend(compression(results, varying, clients));
    }
    out
}

/// One transport's pair of steps at `clients` that differ only by `change` applied to the
/// first: the first pair in the run's variant order.
fn pair(
    results: &Results,
    transport: Transport,
    clients: u32,
    from: impl Fn(Variant) -> bool,
    change: impl Fn(Variant) -> Variant,
) -> Option<(&Step, &Step)> {
    derived::variants(results).into_iter().filter(|v| from(*v)).find_map(|v| {
        let a = derived::step_of(results, transport, v, clients)?;
        let b = derived::step_of(results, transport, change(v), clients)?;
        Some((a, b))
    })
}

/// " (HTTP/1.1, uncompressed)": the other varying dimensions of a pair, said once.
fn context(v: Variant, varying: Varying, without: Varying) -> String {
    let rest = Varying {
        protocol: varying.protocol && !without.protocol,
        tls: varying.tls && !without.tls,
        compression: varying.compression && !without.compression,
    };
    match v.label(rest) {
        l if l.is_empty() => String::new(),
        l => format!(", {l}"),
    }
}

/// "264 B less" / "12 B more" / "the same".
fn bytes_change(from: f64, to: f64) -> String {
    let d = to - from;
    if d.abs() < 0.5 {
        "the same".into()
    } else if d < 0.0 {
        format!("{} less", format::bytes(-d))
    } else {
        format!("{} more", format::bytes(d))
    }
}

fn total_per_event(s: &Step) -> Option<f64> {
    derived::bytes_per_delivery(s).map(|(a, b)| a + b)
}

fn transports(results: &Results) -> Vec<Transport> {
    derived::transports(results)
}

/// HTTP/2 against HTTP/1.1: TCP payload per poll (request and answer, every poll in the
/// window) for the polling transports, per event for the others.
fn protocol(results: &Results, varying: Varying, clients: u32) -> Vec<String> {
    let only = Varying { protocol: true, ..Varying::default() };
    let h2 = |v: Variant| Variant { protocol: Protocol::H2, ..v };
    let (mut polls, mut pushes, mut ctx) = (Vec::new(), Vec::new(), None);
    for t in transports(results) {
        let Some((a, b)) = pair(results, t, clients, |v| v.protocol == Protocol::H1, h2) else { continue };
        ctx.get_or_insert_with(|| context(a.variant, varying, only));
        let (x, y, list) = if t.is_poll() {
            (derived::bytes_per_message(a), derived::bytes_per_message(b), &mut polls)
        } else {
            (total_per_event(a), total_per_event(b), &mut pushes)
        };
        if let (Some(x), Some(y)) = (x, y) {
            list.push(format!(
                "{} {} over HTTP/1.1 and {} over HTTP/2 ({})",
                t.plain_name(),
                format::bytes(x),
                format::bytes(y),
                bytes_change(x, y)
            ));
        }
    }
    let ctx = ctx.unwrap_or_default();
    let n = format::int(clients as u64);
    let mut out = Vec::new();
    if !polls.is_empty() {
        out.push(format!(
            "HTTP/2 changed what a poll costs: TCP payload per poll, request and answer together, \
             at {n} clients{ctx}: {}. HTTP/2 sends headers a connection has sent before as short \
             HPACK table indexes, and the headers are most of a poll that brings nothing new",
            polls.join("; ")
        ));
    }
    if !pushes.is_empty() {
        out.push(format!(
            "For the push transports, TCP payload per delivered event at {n} clients{ctx}: {}",
            pushes.join("; ")
        ));
    }
    out
}

/// TLS against cleartext: the median connect + handshake time per transport.
fn tls(results: &Results, varying: Varying, clients: u32) -> Vec<String> {
    let only = Varying { tls: true, ..Varying::default() };
    let on = |v: Variant| Variant { tls: Security::Tls, ..v };
    let (mut parts, mut ctx) = (Vec::new(), None);
    for t in transports(results) {
        let Some((a, b)) = pair(results, t, clients, |v| v.tls == Security::Plain, on) else { continue };
        let (x, y) = (&a.connect_latency_us, &b.connect_latency_us);
        if x.count == 0 || y.count == 0 {
            continue;
        }
        ctx.get_or_insert_with(|| context(a.variant, varying, only));
        let d = y.p50 as f64 - x.p50 as f64;
        let change = if d >= 0.0 {
            format!("{} more", format::latency_us(d))
        } else {
            format!("{} less", format::latency_us(-d))
        };
        parts.push(format!(
            "{} {} in cleartext and {} with TLS ({change})",
            t.plain_name(),
            format::latency_us(x.p50 as f64),
            format::latency_us(y.p50 as f64)
        ));
    }
    if parts.is_empty() {
        return Vec::new();
    }
    vec![format!(
        "TLS changed the time to connect: median connect + handshake time at {} clients{}: {}. A \
         client that keeps its connection pays this once; one that reconnects pays it every time",
        format::int(clients as u64),
        ctx.unwrap_or_default(),
        parts.join("; ")
    )]
}

/// Compression on against off: bytes per event, server CPU per 1,000 deliveries, and the
/// transport that moves the fewest bytes once both sides compress.
fn compression(results: &Results, varying: Varying, clients: u32) -> Vec<String> {
    let only = Varying { compression: true, ..Varying::default() };
    let on = |v: Variant| Variant { compression: Compression::On, ..v };
    let (mut bytes, mut cpu, mut ctx) = (Vec::new(), Vec::new(), None);
    for t in transports(results) {
        let Some((a, b)) = pair(results, t, clients, |v| v.compression == Compression::Off, on) else {
            continue;
        };
        ctx.get_or_insert_with(|| context(a.variant, varying, only));
        if let (Some(x), Some(y)) = (total_per_event(a), total_per_event(b)) {
            bytes.push(format!(
                "{} {} uncompressed and {} compressed ({})",
                t.plain_name(),
                format::bytes(x),
                format::bytes(y),
                bytes_change(x, y)
            ));
        }
        if let (Some(x), Some(y)) = (derived::server_cpu_per_1000(a), derived::server_cpu_per_1000(b)) {
            let (ca, cb) = (a.server.cpu_s, b.server.cpu_s);
            let noise = (cb - ca).abs() < CPU_NOISE_S.max(0.1 * ca.max(cb));
            let change = if noise {
                "no difference beyond this run's noise".to_string()
            } else if y > x {
                format!("{} s more", format::real(y - x))
            } else {
                format!("{} s less", format::real(x - y))
            };
            cpu.push(format!(
                "{} {} s uncompressed and {} s compressed ({change})",
                t.plain_name(),
                format::real(x),
                format::real(y)
            ));
        }
    }
    let ctx = ctx.unwrap_or_default();
    let n = format::int(clients as u64);
    let mut out = Vec::new();
    if !bytes.is_empty() {
        out.push(format!(
            "Compression changed the bytes: TCP payload per delivered event, both directions, at \
             {n} clients{ctx}: {}",
            bytes.join("; ")
        ));
    }
    if !cpu.is_empty() {
        out.push(format!(
            "What compression cost the server: CPU seconds per 1,000 deliveries at {n} \
             clients{ctx}: {}",
            cpu.join("; ")
        ));
    }
    out.extend(lightest_compressed(results, varying, clients));
    out
}

/// Which transport moved the fewest bytes per event once both sides compress, over the run's
/// first compressed variant that ran two transports or more, beside the uncompressed winner.
fn lightest_compressed(results: &Results, varying: Varying, clients: u32) -> Option<String> {
    let only = Varying { compression: true, ..Varying::default() };
    let ranked = |v: Variant| {
        let mut r: Vec<(Transport, f64)> = transports(results)
            .into_iter()
            .filter_map(|t| Some((t, total_per_event(derived::step_of(results, t, v, clients)?)?)))
            .collect();
        r.sort_by(|a, b| a.1.total_cmp(&b.1));
        r
    };
    let v = derived::variants(results)
        .into_iter()
        .find(|v| v.compression == Compression::On && ranked(*v).len() >= 2)?;
    let on = ranked(v);
    let (light, heavy) = (on.first()?, on.last()?);
    let mut text = format!(
        "Once both sides compress ({} clients{}), {} moved the fewest bytes per delivered event, {}, \
         and {} the most, {} ({} more)",
        format::int(clients as u64),
        context(v, varying, only),
        light.0.plain_name(),
        format::bytes(light.1),
        heavy.0.plain_name(),
        format::bytes(heavy.1),
        format::bytes(heavy.1 - light.1)
    );
    let off = ranked(Variant { compression: Compression::Off, ..v });
    if let Some(first) = off.first() {
        if first.0 == light.0 {
            text.push_str(&format!("; uncompressed, {} was the lightest too", first.0.plain_name()));
        } else {
            text.push_str(&format!(
                "; uncompressed, {} was the lightest, with {}",
                first.0.plain_name(),
                format::bytes(first.1)
            ));
        }
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::results::{Latency, ProcessCost, RunConfig, WireBytes};

    fn step(t: Transport, variant: Variant, per_request: u64, cpu_s: f64, connect_p50: u64) -> Step {
        Step {
            variant,
            measured_s: 10.0,
            deliveries: 1000,
            deliveries_expected: 1000,
            requests: 100,
            messages: 1000,
            wire_bytes: WireBytes { to_server: 0, to_client: per_request * 100 },
            server: ProcessCost { cpu_s, ..ProcessCost::default() },
            connect_latency_us: Latency { count: 10, p50: connect_p50, ..Latency::default() },
            ..Step::empty(t, 10)
        }
    }

    fn results(steps: Vec<Step>) -> Results {
        let mut r: Results =
            serde_json::from_str(include_str!("../tests/fixtures/results.json")).expect("fixture");
        r.config = RunConfig { transports: vec![Transport::ShortPoll, Transport::Ws], ..r.config };
        r.steps = steps;
        r
    }

    #[test]
    fn http2_is_said_in_bytes_per_poll_and_tls_in_connect_time() {
        let h1 = Variant::default();
        let h2 = Variant { protocol: Protocol::H2, ..h1 };
        let tls = Variant { tls: Security::Tls, ..h1 };
        let r = results(vec![
            step(Transport::ShortPoll, h1, 300, 0.1, 400),
            step(Transport::ShortPoll, h2, 40, 0.1, 400),
            step(Transport::ShortPoll, tls, 330, 0.1, 1900),
        ]);
        let s = sentences(&r, 10);
        assert_eq!(s.len(), 2, "{s:?}");
        assert!(
            s[0].contains(
                "short polling 300\u{a0}B over HTTP/1.1 and 40\u{a0}B over HTTP/2 (260\u{a0}B less)"
            ),
            "{s:?}"
        );
        assert!(s[0].contains("at 10 clients, cleartext:"), "{s:?}");
        assert!(
            s[1].contains(
                "short polling 0.40\u{a0}ms in cleartext and 1.90\u{a0}ms with TLS (1.50\u{a0}ms more)"
            ),
            "{s:?}"
        );
    }

    #[test]
    fn a_cpu_difference_within_noise_is_not_called_one() {
        let off = Variant::default();
        let on = Variant { compression: Compression::On, ..off };
        let r = results(vec![
            step(Transport::ShortPoll, off, 1000, 0.100, 400),
            step(Transport::ShortPoll, on, 300, 0.105, 400),
            step(Transport::Ws, off, 250, 0.05, 400),
            step(Transport::Ws, on, 90, 0.2, 400),
        ]);
        let s = sentences(&r, 10);
        assert_eq!(s.len(), 3, "{s:?}");
        assert!(
            s[1].contains("short polling 0.100 s uncompressed and 0.105 s compressed (no difference beyond"),
            "{s:?}"
        );
        assert!(
            s[1].contains("WebSocket 0.050 s uncompressed and 0.200 s compressed (0.150 s more)"),
            "{s:?}"
        );
        assert!(s[2].contains("WebSocket moved the fewest bytes per delivered event, 9\u{a0}B, and short polling the most, 30\u{a0}B (21\u{a0}B more); uncompressed, WebSocket was the lightest too"), "{s:?}");
        assert!(
            s[0].contains("WebSocket 25\u{a0}B uncompressed and 9\u{a0}B compressed (16\u{a0}B less)"),
            "{s:?}"
        );
    }
}
