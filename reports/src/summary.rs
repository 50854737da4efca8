//! The plain-words summary at the top of the report, computed from this run's numbers only.
//!
//! It answers the teacher's questions in order: how soon WebSocket and short polling told
//! their clients of an event (event delay), how the others rank, what was coalesced and what
//! lost, how many bytes each moved, and where a transport stopped keeping up (and on what:
//! every event, or state only). The comparison is made at the largest client count at which
//! the most transports delivered anything, where the differences are widest.

use std::collections::BTreeMap;

use proto::results::{Results, Step};
use proto::variant::Varying;
use proto::Transport;

use super::derived::{self, KeptUpOn, Series, Verdict};
use super::format;
use super::repeats::{self, Rounds, Spread};
use super::variants;

/// What the top of the page says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// Shown in red: the run was interrupted, or had errors.
    pub alerts: Vec<String>,
    /// Shown boxed above the summary: what the figures of an older results file meant.
    pub notes: Vec<String>,
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
                    derived::series_name(results, s),
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
    out.notes.extend(schema_note(results));
    if results.steps.is_empty() {
        out.lines.push("No step ran, so there is nothing to compare.".to_string());
        return out;
    }
    let Some(clients) = derived::headline_clients(results) else {
        out.lines.push("No step delivered any event, so there is no delay to compare.".to_string());
        return out;
    };
    // With several variants the transports are compared over the run's first variant, named
    // by transport alone; `variants` then says what the other variants changed, and
    // `keeping_up` still judges every series. A repeated step is its rounds: delays are
    // medians with their range, counts are summed over the rounds.
    let varying = derived::varying(results);
    let first = derived::variants(results).first().copied().unwrap_or_default();
    let v = Varying::default();
    let all = repeats::at(results, clients);
    let at: Vec<Rounds> = all.iter().filter(|r| r.series.variant == first).cloned().collect();
    let totals: Vec<Step> = at.iter().map(Rounds::totals).collect();
    let totals: Vec<&Step> = totals.iter().collect();
    headline(&mut out, results, clients, &all);
    if varying.any() {
        out.lines.push(format!(
            "This run swept {} variants. Where a sentence names no variant, its figures are for {}, \
             the run's first; the last sentences say what the others changed.",
            derived::variants(results).len(),
            first.label(varying)
        ));
    }
    speed(&mut out, v, clients, &at);
    completeness(&mut out, results, v, clients, &totals);
    bytes(&mut out, v, clients, &at);
    keeping_up(&mut out, results);
    cost(&mut out, v, clients, &at, results.baseline.is_some());
    out.lines.extend(variants::sentences(results, clients));
    out.lines = out.lines.into_iter().map(sentence).collect();
    out
}

/// The note of a file written in an older schema, read through `Results::from_json`.
fn schema_note(results: &Results) -> Option<String> {
    match results.upgraded_from? {
        1 => Some(
            "This file was written in results schema 1, before pushpull measured event delay. \
             Its short-polling delays are the age of the newest event in each changed snapshot, \
             not event delays: they leave out the wait of every event a snapshot coalesced, so \
             they flatter short polling (its event delay is about half the poll interval on \
             average). Its coalesced and lost counts were split by transport from one \"missed\" \
             count: short polling's as coalesced, every other transport's as lost. Run it again \
             for figures by today's definitions."
                .to_string(),
        ),
        n => Some(format!(
            "This file was written in results schema {n}, older than this report: its figures \
             may not mean what this page says they mean."
        )),
    }
}

/// The headline, the question the project is named for: how soon WebSocket and the classic
/// AJAX short poll told their clients of an event, then the bytes each moved.
///
/// With several variants it compares the two over the run's first variant that has both, and
/// says which ("over HTTP/1.1, cleartext"); the variant sentences compare the variants. The
/// two are ranked only as `repeats::said` allows.
fn headline(out: &mut Summary, results: &Results, clients: u32, at: &[Rounds]) {
    let varying = derived::varying(results);
    let pair = derived::variants(results).into_iter().find_map(|v| {
        let find = |t: Transport| {
            let r = at.iter().find(|r| r.series == Series { transport: t, variant: v })?;
            Some((r, r.delay(|l| l.p50.max(1))?))
        };
        Some((v, find(Transport::Ws)?, find(Transport::ShortPoll)?))
    });
    let Some((variant, (ws, w), (poll, p))) = pair else { return };
    let over = match variant.label(varying) {
        l if l.is_empty() => String::new(),
        l => format!(" over {l}"),
    };
    let of_rounds = match w.rounds.max(p.rounds) {
        1 => String::new(),
        n => format!("; the median of {n} rounds, their range in brackets"),
    };
    let mut text = format!(
        "At {} clients{over}, WebSocket told clients of an event {} after it happened (median{of_rounds}); \
         short polling every {}, {}{}",
        format::int(clients as u64),
        w.show(format::latency_us),
        format::duration_ms(results.config.poll_interval_ms),
        p.show(format::latency_us),
        interval_share(p.median, results.config.poll_interval_ms),
    );
    if results.upgraded_from.is_some() {
        text.push_str(
            " (in this older file, short polling's figure is the age of the newest event in each \
             snapshot, not an event delay: see the note above)",
        );
    }
    out.lines.push(format!("{text}."));
    let mut text = format!(
        "At the median, {}",
        repeats::said("WebSocket", &w, "short polling", &p, format::latency_us, ("sooner", "later"))
    );
    let per_event = |r: &Rounds| r.spread(|s| derived::bytes_per_delivery(s).map(|(a, b)| a + b));
    if let (Some(wb), Some(pb)) = (per_event(ws), per_event(poll)) {
        text.push_str(&format!(
            ". Per delivered event, WebSocket moved {} of TCP payload and short polling {}: {}",
            wb.show(format::bytes),
            pb.show(format::bytes),
            repeats::said("WebSocket", &wb, "short polling", &pb, format::bytes, ("lighter", "heavier"))
        ));
    }
    out.lines.push(format!("{text}."));
}

/// How a poller's median event delay compares with its interval. About half is what waiting
/// for the next poll gives: an event happens, on average, halfway between two polls.
fn interval_share(median_us: f64, interval_ms: f64) -> String {
    if interval_ms <= 0.0 {
        return String::new();
    }
    let share = median_us / (interval_ms * 1000.0);
    if (0.4..=0.65).contains(&share) {
        ": about half the poll interval, because an event waits on average half an interval for \
         the next poll"
            .to_string()
    } else {
        format!(": {} of the poll interval", format::percent(share))
    }
}

/// Every transport by median event delay, ranked only where the rounds' ranges do not
/// overlap.
fn speed(out: &mut Summary, v: Varying, clients: u32, at: &[Rounds]) {
    let mut ranked: Vec<(&Rounds, Spread, Spread)> =
        at.iter().filter_map(|r| Some((r, r.delay(|l| l.p50)?, r.delay(|l| l.p99)?))).collect();
    ranked.sort_by(|a, b| a.1.median.total_cmp(&b.1.median));
    let n = format::int(clients as u64);
    let name = |r: &Rounds| r.series.name(v);
    let (Some((fast, f50, f99)), Some((slow, s50, s99))) = (ranked.first(), ranked.last()) else { return };
    if ranked.len() == 1 {
        out.lines.push(format!(
            "At {n} clients, {} told clients of an event {} after it happened at the median (p99 {}).",
            name(fast),
            f50.show(format::latency_us),
            f99.show(format::latency_us)
        ));
        return;
    }
    out.lines.push(format!(
        "At {n} clients, {} had the shortest median event delay: its clients held an event {} after \
         its publication at the median and {} at p99 (one event in a hundred took longer). The \
         longest, {}, took {} at the median and {} at p99{}",
        name(fast),
        f50.show(format::latency_us),
        f99.show(format::latency_us),
        name(slow),
        s50.show(format::latency_us),
        s99.show(format::latency_us),
        if (fast.series.transport, slow.series.transport) == (Transport::Ws, Transport::ShortPoll) {
            // Already said by the headline.
            ".".to_string()
        } else {
            format!(
                ". {}.",
                sentence(repeats::said(
                    &name(fast),
                    f50,
                    &name(slow),
                    s50,
                    format::latency_us,
                    ("sooner", "later")
                ))
            )
        },
    ));
    let order: Vec<String> =
        ranked.iter().map(|(r, p50, _)| format!("{} {}", name(r), p50.show(format::latency_us))).collect();
    out.lines.push(format!("Median event delay at {n} clients, shortest first: {}.", order.join(", ")));
    let spreads: Vec<(String, Spread)> = ranked.iter().map(|(r, p50, _)| (name(r), *p50)).collect();
    out.lines.push(ranking(&spreads));
}

/// The order that the rounds support, in ascending medians: "<" between neighbours whose
/// ranges are apart, "≈" between neighbours whose ranges overlap (not ranked).
fn ranking(sorted: &[(String, Spread)]) -> String {
    if sorted.iter().any(|(_, s)| s.rounds < 2) {
        return "With one round per step, this run ranks none of them: runs on this machine differ \
                by 10–30 % from one to the next, and one round cannot tell a difference from that \
                (--repeat 3 ranks only differences beyond the rounds' ranges)."
            .to_string();
    }
    let mut chain = sorted[0].0.clone();
    for pair in sorted.windows(2) {
        let sign = if pair[0].1.clearly_below(&pair[1].1) { " < " } else { " ≈ " };
        chain.push_str(sign);
        chain.push_str(&pair[1].0);
    }
    format!(
        "Ranked only where the rounds' ranges do not overlap: {chain} (\"≈\": their ranges \
         overlap, so this run cannot tell them apart)."
    )
}

/// What was coalesced (by design for snapshot polling, a resync otherwise) and what was lost.
fn completeness(out: &mut Summary, results: &Results, v: Varying, clients: u32, at: &[&Step]) {
    let name = |s: &Step| Series::of(s).name(v);
    let n = format::int(clients as u64);
    for s in at.iter().filter(|s| s.coalesced > 0) {
        let share = format!(
            "{} of the events at {n} clients ({} of {})",
            format::count_share(s.coalesced, s.deliveries_expected),
            format::int(s.coalesced),
            format::int(s.deliveries_expected),
        );
        let mut text = if s.transport.is_snapshot() {
            // A schema 1 file has no delay for its coalesced events (see its note).
            let delays = if results.upgraded_from.is_none() {
                "; each coalesced event still has its event delay, up to the snapshot that included it"
            } else {
                ""
            };
            format!(
                "{} coalesced {share}: each poll shows only the newest state, so its clients saw \
                 those events only inside a later snapshot, never as events of their own. It can \
                 keep up on state (the score is right after every poll), not with every event{delays}",
                name(s)
            )
        } else {
            format!(
                "{} fell behind and was resynced: {share} reached its clients only inside a \
                 snapshot (coalesced), not as events of their own",
                name(s)
            )
        };
        if s.coalesced_without_delay > 0 {
            text.push_str(&format!(
                "; {} of them have no delay sample, because their publication time could not be read",
                format::int(s.coalesced_without_delay)
            ));
        }
        out.lines.push(format!("{text}."));
    }
    for s in at.iter().filter(|s| s.lost > 0) {
        out.lines.push(format!(
            "{} lost {} of the events at {n} clients ({} of {}): its clients never held them, not \
             even inside a later state.",
            name(s),
            format::count_share(s.lost, s.deliveries_expected),
            format::int(s.lost),
            format::int(s.deliveries_expected),
        ));
    }
    for s in at.iter().filter(|s| s.late > 0) {
        out.lines.push(format!(
            "{} was late with {} of the events at {n} clients ({} of {}): its clients had not \
             reached them by the end of the drain.",
            name(s),
            format::count_share(s.late, s.deliveries_expected),
            format::int(s.late),
            format::int(s.deliveries_expected),
        ));
    }
    let complete: Vec<String> = at
        .iter()
        .filter(|s| s.lost == 0 && s.late == 0 && s.coalesced == 0 && s.duplicates == 0 && s.deliveries > 0)
        .map(|s| name(s))
        .collect();
    if !complete.is_empty() && complete.len() < at.len() {
        out.lines.push(format!("{} delivered every event, none twice.", join_names(&complete)));
    }
    if at.len() > 1 && at.iter().all(|s| s.lost == 0 && s.late == 0 && s.deliveries > 0) {
        out.lines.push(format!(
            "No transport lost an event at {n} clients: every client held every event, or its \
             effect, by the end."
        ));
    }
}

fn bytes(out: &mut Summary, v: Varying, clients: u32, at: &[Rounds]) {
    let mut ranked: Vec<(&Rounds, Spread)> = at
        .iter()
        .filter_map(|r| Some((r, r.spread(|s| derived::bytes_per_delivery(s).map(|(a, b)| a + b))?)))
        .collect();
    ranked.sort_by(|a, b| a.1.median.total_cmp(&b.1.median));
    let (Some((light, l)), Some((heavy, h))) = (ranked.first(), ranked.last()) else { return };
    let (lt, ht) = (light.series.transport, heavy.series.transport);
    if ranked.len() < 2 || (ht == Transport::ShortPoll && lt == Transport::Ws) {
        // Fewer than two to compare, or already said by the WebSocket-against-short-poll line.
        return;
    }
    let (ln, hn) = (light.series.name(v), heavy.series.name(v));
    out.lines.push(format!(
        "Per delivered event at {} clients, {hn} moved {} of TCP payload (both directions, HTTP \
         headers included) and {ln} {}: {}.",
        format::int(clients as u64),
        h.show(format::bytes),
        l.show(format::bytes),
        repeats::said(&hn, h, &ln, l, format::bytes, ("lighter", "heavier")),
    ));
}

fn keeping_up(out: &mut Summary, results: &Results) {
    let counts = derived::client_counts(results);
    // Transports that kept up, by the largest client count they were measured at and what
    // they kept up on.
    let mut fine: BTreeMap<(u32, KeptUpOn), Vec<String>> = BTreeMap::new();
    let varying = derived::varying(results);
    for t in derived::series(results) {
        let verdicts: Vec<(u32, Verdict)> = counts
            .iter()
            .filter_map(|c| repeats::at(results, *c).into_iter().find(|r| r.series == t).map(|r| (*c, r)))
            .map(|(c, r)| (c, r.verdict(&results.config)))
            .filter(|(_, v)| *v != Verdict::NotMeasured)
            .collect();
        let first_short = verdicts.iter().find_map(|(c, v)| match v {
            Verdict::FellShort(why) => Some((c, why)),
            _ => None,
        });
        if let Some((c, why)) = first_short {
            out.lines.push(fell_short(&t.name(varying), *c, why, &verdicts));
            continue;
        }
        let on = verdicts
            .iter()
            .filter_map(|(_, v)| if let Verdict::KeptUp(on) = v { Some(*on) } else { None })
            .max();
        if let (Some(top), Some(on)) = (verdicts.iter().map(|(c, _)| *c).max(), on) {
            fine.entry((top, on)).or_default().push(t.name(varying));
        }
    }
    for ((top, on), names) in fine {
        let state_only = match on {
            KeptUpOn::EveryEvent => "",
            KeptUpOn::State => {
                ": the clients always had the latest score within a poll, but saw most events only \
                 inside a later snapshot, not as events of their own"
            }
        };
        out.lines.push(format!(
            "{} kept up {} at every client count measured (up to {}){state_only}.",
            join_names(&names),
            on_what(on),
            format::int(top as u64)
        ));
    }
    let nothing: Vec<String> = derived::ordered_steps(results)
        .into_iter()
        .filter(|s| derived::measured_nothing(s))
        .map(|s| format!("{} at {} clients", derived::series_name(results, s), format::int(s.clients as u64)))
        .collect();
    if !nothing.is_empty() {
        out.lines.push(format!(
            "Not measured, because the feed published no event during the step's window: {}.",
            nothing.join(", ")
        ));
    }
}

/// The sentence of a transport that did not keep up at `c` clients (its smallest such count).
/// It "stopped keeping up" only if no larger count kept up; otherwise the run does not say
/// where it stops, and the sentence says both.
fn fell_short(name: &str, c: u32, why: &[String], verdicts: &[(u32, Verdict)]) -> String {
    let kept = |v: &Verdict| if let Verdict::KeptUp(on) = v { Some(*on) } else { None };
    let at = format::int(c as u64);
    let why = why.join("; ");
    let later = verdicts.iter().filter(|(b, _)| *b > c).filter_map(|(b, v)| Some((*b, kept(v)?))).next_back();
    if let Some((b, on)) = later {
        return format!(
            "{name} did not keep up at {at} clients ({why}), but did at {} clients ({}): one step \
             does not say where it stops keeping up.",
            format::int(b as u64),
            on_what(on)
        );
    }
    let before = verdicts.iter().take_while(|(b, _)| *b < c).last();
    let until = match before.and_then(|(b, v)| Some((*b, kept(v)?))) {
        Some((b, on)) => format!("; at {} clients it kept up {}", format::int(b as u64), on_what(on)),
        None => String::new(),
    };
    format!("{name} stopped keeping up at {at} clients: {why}{until}.")
}

fn cost(out: &mut Summary, v: Varying, clients: u32, at: &[Rounds], baseline: bool) {
    let mut ranked: Vec<(&Rounds, Spread)> =
        at.iter().filter_map(|r| Some((r, r.spread(derived::server_cpu_per_1000)?))).collect();
    ranked.sort_by(|a, b| a.1.median.total_cmp(&b.1.median));
    let (Some((cheap, c)), Some((dear, d))) = (ranked.first(), ranked.last()) else { return };
    if ranked.len() < 2 {
        return;
    }
    let (cn, dn) = (cheap.series.name(v), dear.series.name(v));
    let above = if baseline { " above its idle baseline" } else { "" };
    out.lines.push(format!(
        "Serving {} clients, the server process was charged {} CPU seconds per 1,000 deliveries\
         {above} with {cn} and {} with {dn}: {}.",
        format::int(clients as u64),
        c.show(format::real),
        d.show(format::real),
        repeats::said(&cn, c, &dn, d, format::real, ("cheaper", "dearer")),
    ));
}

/// "with every event" or "on state", as "kept up …" says it.
fn on_what(on: KeptUpOn) -> &'static str {
    match on {
        KeptUpOn::EveryEvent => "with every event",
        KeptUpOn::State => "on state",
    }
}

/// The sentence with its first letter in capitals ("short polling …" → "Short polling …").
fn sentence(text: String) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => text,
    }
}

/// "A", "A and B", "A, B and C"; names that hold commas themselves (a series: "WebSocket,
/// HTTP/2") are kept apart by semicolons instead.
fn join_names(names: &[String]) -> String {
    let sep = if names.iter().any(|n| n.contains(',')) { "; " } else { ", " };
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(sep)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pollers_median_is_said_against_its_interval() {
        assert_eq!(
            interval_share(502_000.0, 1000.0),
            ": about half the poll interval, because an event waits on average half an interval for \
             the next poll"
        );
        assert_eq!(interval_share(70_100.0, 1000.0), ": 7.0% of the poll interval");
        assert_eq!(interval_share(70_100.0, 0.0), "");
    }

    #[test]
    fn a_failure_below_a_count_that_kept_up_is_not_where_it_stopped() {
        let why = vec!["2 errors (reset: 2)".to_string()];
        let verdicts = vec![
            (10, Verdict::KeptUp(KeptUpOn::EveryEvent)),
            (100, Verdict::FellShort(why.clone())),
            (1000, Verdict::KeptUp(KeptUpOn::EveryEvent)),
        ];
        assert_eq!(
            fell_short("WebSocket", 100, &why, &verdicts),
            "WebSocket did not keep up at 100 clients (2 errors (reset: 2)), but did at 1,000 \
             clients (with every event): one step does not say where it stops keeping up."
        );
        assert_eq!(
            fell_short("WebSocket", 100, &why, &verdicts[..2]),
            "WebSocket stopped keeping up at 100 clients: 2 errors (reset: 2); at 10 clients it kept \
             up with every event."
        );
    }

    #[test]
    fn names_join_as_in_a_sentence() {
        assert_eq!(join_names(&["A".into()]), "A");
        assert_eq!(join_names(&["A".into(), "B".into()]), "A and B");
        assert_eq!(join_names(&["A".into(), "B".into(), "C".into()]), "A, B and C");
        assert_eq!(join_names(&["A, x".into(), "B, y".into(), "C, z".into()]), "A, x; B, y and C, z");
    }
}
