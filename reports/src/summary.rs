//! The plain-words summary at the top of the report, computed from this run's numbers only.
//!
//! It answers the teacher's four questions in order: which transport was faster and by how
//! much, what it missed, how many bytes each moved, and where polling stopped keeping up.
//! The comparison is made at the largest client count that delivered anything, where the
//! differences are widest.

use proto::results::{Results, Step};
use proto::Transport;

use super::derived;
use super::format;
use super::palette;

/// What the top of the page says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// Shown in red: the run was interrupted, or had errors.
    pub alerts: Vec<String>,
    /// Plain sentences, one paragraph each.
    pub lines: Vec<String>,
}

/// Computes the summary.
pub fn summarise(results: &Results) -> Summary {
    let mut out = Summary::default();
    if let Some(why) = &results.interrupted {
        out.alerts.push(match results.steps.len() {
            0 => format!("This run was cut short ({why}) before any step completed."),
            1 => {
                format!("This run was cut short ({why}). Everything below covers only the one step that ran.")
            }
            n => format!(
                "This run was cut short ({why}). Everything below covers only the {n} steps that ran."
            ),
        });
    }
    let errors = results.errors_total();
    if errors > 0 {
        let places: Vec<String> = results
            .steps
            .iter()
            .filter(|s| s.errors_total() > 0)
            .map(|s| {
                let kinds: Vec<String> =
                    s.errors.iter().map(|(k, n)| format!("{k}: {}", format::int(*n))).collect();
                format!(
                    "{} at {} clients ({})",
                    palette::name(s.transport),
                    format::int(s.clients as u64),
                    kinds.join(", ")
                )
            })
            .collect();
        out.alerts.push(format!(
            "This run had {} errors: {}. See \"Errors by kind\" below; figures of those steps \
             count only what succeeded.",
            format::int(errors),
            places.join("; ")
        ));
    }
    if results.steps.is_empty() {
        out.lines.push("No step ran, so there is nothing to compare.".to_string());
        return out;
    }
    let Some(clients) = derived::headline_clients(results) else {
        out.lines.push("No step delivered any event, so there is no delay to compare.".to_string());
        return out;
    };
    let at: Vec<&Step> =
        derived::transports(results).iter().filter_map(|t| derived::step(results, t, clients)).collect();
    speed(&mut out, clients, &at);
    classic(&mut out, results, &at);
    missed(&mut out, clients, &at);
    bytes(&mut out, clients, &at);
    keeping_up(&mut out, results);
    cost(&mut out, clients, &at);
    out.lines = out.lines.into_iter().map(sentence).collect();
    out
}

fn speed(out: &mut Summary, clients: u32, at: &[&Step]) {
    let mut ranked: Vec<&Step> = at.iter().copied().filter(|s| s.event_delay_us.count > 0).collect();
    ranked.sort_by_key(|s| s.event_delay_us.p50);
    let n = format::int(clients as u64);
    let (Some(fast), Some(slow)) = (ranked.first(), ranked.last()) else { return };
    let (f, s) = (&fast.event_delay_us, &slow.event_delay_us);
    if ranked.len() == 1 {
        out.lines.push(format!(
            "At {n} clients, {} delivered events with a median delay of {} (p99 {}).",
            palette::name(fast.transport),
            format::latency_us(f.p50 as f64),
            format::latency_us(f.p99 as f64)
        ));
        return;
    }
    out.lines.push(format!(
        "At {n} clients, {} was fastest: events reached the clients after {} at the median and \
         {} at p99 (one event in a hundred was slower). The slowest, {}, took {} at the median \
         and {} at p99: {} longer at the median.",
        palette::name(fast.transport),
        format::latency_us(f.p50 as f64),
        format::latency_us(f.p99 as f64),
        palette::name(slow.transport),
        format::latency_us(s.p50 as f64),
        format::latency_us(s.p99 as f64),
        format::ratio(s.p50.max(1) as f64 / f.p50.max(1) as f64),
    ));
    let order: Vec<String> = ranked
        .iter()
        .map(|s| {
            format!("{} {}", palette::name(s.transport), format::latency_us(s.event_delay_us.p50 as f64))
        })
        .collect();
    out.lines.push(format!("Median delay at {n} clients, fastest first: {}.", order.join(", ")));
}

/// The question the project is named for: WebSocket against the classic AJAX short poll.
fn classic(out: &mut Summary, results: &Results, at: &[&Step]) {
    let find = |t: Transport| at.iter().copied().find(|s| s.transport == t && s.event_delay_us.count > 0);
    let (Some(ws), Some(poll)) = (find(Transport::Ws), find(Transport::ShortPoll)) else { return };
    let (w, p) = (ws.event_delay_us.p50.max(1) as f64, poll.event_delay_us.p50.max(1) as f64);
    let speed = if p >= w {
        format!("{} sooner", format::ratio(p / w))
    } else {
        format!("{} later", format::ratio(w / p))
    };
    let mut text = format!(
        "Against short polling every {} (the classic AJAX poll), WebSocket delivered events {speed} at \
         the median ({} against {})",
        format::duration_ms(results.config.poll_interval_ms),
        format::latency_us(w),
        format::latency_us(p),
    );
    if let (Some((a, b)), Some((c, d))) = (derived::bytes_per_delivery(ws), derived::bytes_per_delivery(poll))
    {
        let (wb, pb) = (a + b, c + d);
        let bytes = if pb >= wb {
            format!("{} fewer", format::ratio(pb / wb.max(f64::MIN_POSITIVE)))
        } else {
            format!("{} more", format::ratio(wb / pb.max(f64::MIN_POSITIVE)))
        };
        text.push_str(&format!(
            " and moved {bytes} bytes per delivered event ({} against {})",
            format::bytes(wb),
            format::bytes(pb)
        ));
    }
    text.push('.');
    out.lines.push(text);
}

fn missed(out: &mut Summary, clients: u32, at: &[&Step]) {
    for s in at.iter().filter(|s| s.lost > 0) {
        let why = if s.transport.is_snapshot() {
            ": each poll shows only the newest state, so events that came and went between two \
             polls were never seen (and its delay figures count only the events it did see)"
        } else {
            ""
        };
        out.lines.push(format!(
            "{} missed {} of the events at {} clients ({} of {}){why}.",
            palette::name(s.transport),
            format::percent(s.lost_ratio()),
            format::int(clients as u64),
            format::int(s.lost),
            format::int(s.deliveries_expected),
        ));
    }
    let complete: Vec<String> = at
        .iter()
        .filter(|s| s.lost == 0 && s.duplicates == 0 && s.deliveries > 0)
        .map(|s| palette::name(s.transport).to_string())
        .collect();
    if !complete.is_empty() && complete.len() < at.len() {
        out.lines.push(format!("{} delivered every event, none twice.", join_names(&complete)));
    }
}

fn bytes(out: &mut Summary, clients: u32, at: &[&Step]) {
    let mut ranked: Vec<(&Step, f64)> =
        at.iter().filter_map(|s| derived::bytes_per_delivery(s).map(|(a, b)| (*s, a + b))).collect();
    ranked.sort_by(|a, b| a.1.total_cmp(&b.1));
    let (Some((light, l)), Some((heavy, h))) = (ranked.first(), ranked.last()) else { return };
    if ranked.len() < 2 || (heavy.transport == Transport::ShortPoll && light.transport == Transport::Ws) {
        // Fewer than two to compare, or already said by the WebSocket-against-short-poll line.
        return;
    }
    out.lines.push(format!(
        "Per delivered event at {} clients, {} moved {} on the wire (both directions, headers \
         included) and {} only {}: {} more.",
        format::int(clients as u64),
        palette::name(heavy.transport),
        format::bytes(*h),
        palette::name(light.transport),
        format::bytes(*l),
        format::ratio(h / l.max(f64::MIN_POSITIVE)),
    ));
}

fn keeping_up(out: &mut Summary, results: &Results) {
    let counts = derived::client_counts(results);
    // Transports that kept up, by the largest client count they were measured at.
    let mut fine: std::collections::BTreeMap<u32, Vec<String>> = Default::default();
    for t in derived::transports(results) {
        let steps: Vec<&Step> = counts.iter().filter_map(|c| derived::step(results, t, *c)).collect();
        let first_short = steps.iter().filter(|s| !derived::measured_nothing(s)).find_map(|s| {
            let why = derived::shortfalls(s, &results.config);
            (!why.is_empty()).then_some((s.clients, why))
        });
        match first_short {
            Some((c, why)) => out.lines.push(format!(
                "{} stopped keeping up at {} clients: {}.",
                palette::name(t),
                format::int(c as u64),
                why.join("; ")
            )),
            None => {
                if let Some(top) =
                    steps.iter().filter(|s| !derived::measured_nothing(s)).map(|s| s.clients).max()
                {
                    fine.entry(top).or_default().push(palette::name(t).to_string());
                }
            }
        }
    }
    for (top, names) in fine {
        out.lines.push(format!(
            "{} kept up at every client count measured (up to {}).",
            join_names(&names),
            format::int(top as u64)
        ));
    }
    let nothing: Vec<String> = derived::ordered_steps(results)
        .into_iter()
        .filter(|s| derived::measured_nothing(s))
        .map(|s| format!("{} at {} clients", palette::name(s.transport), format::int(s.clients as u64)))
        .collect();
    if !nothing.is_empty() {
        out.lines.push(format!(
            "Not measured, because the feed published no event during the step's window: {}.",
            nothing.join(", ")
        ));
    }
}

fn cost(out: &mut Summary, clients: u32, at: &[&Step]) {
    let mut ranked: Vec<(&Step, f64)> =
        at.iter().filter_map(|s| derived::server_cpu_per_1000(s).map(|c| (*s, c))).collect();
    ranked.sort_by(|a, b| a.1.total_cmp(&b.1));
    let (Some((cheap, c)), Some((dear, d))) = (ranked.first(), ranked.last()) else { return };
    if ranked.len() < 2 {
        return;
    }
    out.lines.push(format!(
        "Serving {} clients, the server spent {} s of CPU per 1,000 deliveries with {} and {} s \
         with {}.",
        format::int(clients as u64),
        format::real(*c),
        palette::name(cheap.transport),
        format::real(*d),
        palette::name(dear.transport),
    ));
}

/// The sentence with its first letter in capitals ("short polling …" → "Short polling …").
fn sentence(text: String) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => text,
    }
}

/// "A", "A and B", "A, B and C".
fn join_names(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_join_as_in_a_sentence() {
        assert_eq!(join_names(&["A".into()]), "A");
        assert_eq!(join_names(&["A".into(), "B".into()]), "A and B");
        assert_eq!(join_names(&["A".into(), "B".into(), "C".into()]), "A, B and C");
    }
}
