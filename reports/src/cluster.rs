//! The report's "Cluster" section, shown only when more than one server node or load process
//! took part, or a reference run is set beside the run (`loadgen merge --reference`): who took part, how evenly each step's clients and deliveries fell on the nodes,
//! and what the backplane carried (bytes each node took from NATS per event published).
//!
//! Per-node figures come from `Step::nodes`: clients and deliveries are client-side (summed
//! over load processes), bytes and CPU are each node's own `/metrics`, counted once per node.

use std::fmt::Write as _;

use proto::results::{NodeStep, Results, Step};

use crate::format;
use crate::palette;
use crate::table::{Cell, Table};

/// What the section shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// Who took part, in one sentence.
    pub intro: String,
    /// One row per step and node.
    pub balance: Table,
    /// One row per step: the backplane's traffic.
    pub backplane: Table,
    /// With a reference run (`loadgen merge --reference`): each step's event delay beside the
    /// same step on one server without NATS, and where that came from.
    pub hop: Option<(Table, String)>,
}

/// How many server nodes and load processes took part.
pub fn participants(r: &Results) -> (usize, u32) {
    let from_steps = r.steps.iter().map(|s| s.nodes.len()).max().unwrap_or(0);
    let nodes = r.cluster.as_ref().map_or(0, |c| c.nodes.len()).max(from_steps).max(1);
    let parts = r.cluster.as_ref().map_or(1, |c| c.parts).max(1);
    (nodes, parts)
}

/// The section, when the run had more than one node or load process.
pub fn section(r: &Results) -> Option<Section> {
    let (nodes, parts) = participants(r);
    let reference = r.cluster.as_ref().is_some_and(|c| c.reference.is_some());
    // One node through NATS is a cluster too, when there is a reference to set it beside.
    if nodes < 2 && parts < 2 && !reference {
        return None;
    }
    let names: Vec<String> = match &r.cluster {
        Some(c) if !c.nodes.is_empty() => c.nodes.clone(),
        _ => r
            .steps
            .iter()
            .find(|s| !s.nodes.is_empty())
            .map_or_else(Vec::new, |s| s.nodes.iter().map(|n| n.node.clone()).collect()),
    };
    let intro = format!(
        "{nodes} server node{} and {parts} load-generator process{} took part{}. Each load process \
         sent its client i of a step (counted over all processes) to node i mod {nodes}; every node \
         followed one publisher through NATS.",
        if nodes == 1 { "" } else { "s" },
        if parts == 1 { "" } else { "es" },
        if names.is_empty() { String::new() } else { format!(" ({})", names.join(", ")) },
    );
    Some(Section { intro, balance: balance(r), backplane: backplane(r), hop: hop(r) })
}

/// A difference of delays, signed, in ms.
fn signed_ms(us: f64) -> String {
    if us.abs() < 50.0 {
        // Not "-0.0": below the shown precision there is no sign to show.
        return "0.0\u{a0}ms".into();
    }
    format!("{:+.1}\u{a0}ms", us / 1000.0)
}

/// The NATS hop: each step's event delay against the same step (transport, variant, clients,
/// round) on one server without NATS; the difference is what the hop and the cluster's other
/// processes add.
fn hop(r: &Results) -> Option<(Table, String)> {
    let reference = r.cluster.as_ref()?.reference.as_ref()?;
    let delay = |us: u64| Cell::num(format::latency_us(us as f64));
    let rows = r
        .steps
        .iter()
        .map(|s| {
            let mut row = step_cells(s);
            let (c, one) = (&s.event_delay_us, reference.matching(s).map(|x| &x.event_delay_us));
            match one.filter(|one| one.count > 0 && c.count > 0) {
                Some(one) => {
                    let d50 = c.p50 as f64 - one.p50 as f64;
                    let d99 = c.p99 as f64 - one.p99 as f64;
                    row.extend([
                        delay(one.p50),
                        delay(one.p99),
                        delay(c.p50),
                        delay(c.p99),
                        Cell::num(signed_ms(d50)),
                        Cell::num(signed_ms(d99)),
                        Cell::num(if c.p50 > 0 && d50 > 0.0 {
                            format!("{:.0}\u{a0}%", 100.0 * d50 / c.p50 as f64)
                        } else {
                            "—".into()
                        }),
                    ]);
                }
                None => row.extend((0..7).map(|_| Cell::num("—".to_string()))),
            }
            row
        })
        .collect();
    let table = Table {
        id: "cluster-hop",
        caption: "The NATS hop: event delay on one server without NATS against this cluster, per step".into(),
        head: head(&[
            "Transport",
            "Clients",
            "One node p50",
            "One node p99",
            "Cluster p50",
            "Cluster p99",
            "Difference p50",
            "Difference p99",
            "Difference's share of the cluster's p50",
        ]),
        rows,
    };
    Some((table, reference.source.clone()))
}

fn step_cells(s: &Step) -> Vec<Cell> {
    let mut label = palette::name(s.transport).to_string();
    if s.variant != proto::Variant::default() {
        label = format!("{label} ({})", s.variant);
    }
    vec![
        Cell { text: label, transport: Some(s.transport), ..Cell::default() },
        Cell::num(format::int(u64::from(s.clients))),
    ]
}

fn head(cols: &[&str]) -> Vec<String> {
    cols.iter().map(|c| c.to_string()).collect()
}

/// Each node's share of every step.
fn balance(r: &Results) -> Table {
    let mut rows = Vec::new();
    for s in &r.steps {
        for n in &s.nodes {
            let mut row = step_cells(s);
            row.extend([
                Cell::text(n.node.clone()),
                Cell::num(format::int(u64::from(n.clients))),
                Cell::num(format::count_share(u64::from(n.clients), u64::from(s.clients))),
                Cell::num(format::int(n.deliveries)),
                Cell::num(format::count_share(n.deliveries, n.deliveries_expected)),
                Cell { bad: n.lost > 0, ..Cell::num(format::int(n.lost)) },
                Cell::num(format::bytes((n.wire_bytes.to_server + n.wire_bytes.to_client) as f64)),
                Cell::num(format!("{:.2}\u{a0}s", n.server_cpu_s)),
            ]);
            rows.push(row);
        }
    }
    Table {
        id: "cluster-balance",
        caption: "Balance: each node's clients and what they received, per step".into(),
        head: head(&[
            "Transport",
            "Clients",
            "Node",
            "Its clients",
            "Share",
            "Deliveries",
            "Of expected",
            "Lost",
            "Wire bytes",
            "Server CPU",
        ]),
        rows,
    }
}

/// Bytes a node took from NATS per event published in the window.
pub fn nats_bytes_per_event(n: &NodeStep, s: &Step) -> Option<f64> {
    (s.events_published > 0).then(|| n.backplane_bytes as f64 / s.events_published as f64)
}

/// The backplane's traffic of every step.
fn backplane(r: &Results) -> Table {
    let rows = r
        .steps
        .iter()
        .filter(|s| !s.nodes.is_empty())
        .map(|s| {
            let per_node: Vec<f64> = s.nodes.iter().filter_map(|n| nats_bytes_per_event(n, s)).collect();
            let total: f64 = per_node.iter().sum();
            let sum = |f: fn(&NodeStep) -> u64| s.nodes.iter().map(f).sum::<u64>();
            let mut row = step_cells(s);
            row.extend([
                Cell::num(format::int(s.events_published)),
                Cell::num(if per_node.is_empty() {
                    "—".into()
                } else {
                    format::bytes(total / per_node.len() as f64)
                }),
                Cell::num(if per_node.is_empty() { "—".into() } else { format::bytes(total) }),
                Cell::num(format::int(sum(|n| n.feed_gaps))),
                Cell::num(format::int(sum(|n| n.events_repaired))),
                Cell { bad: sum(|n| n.feed_resets) > 0, ..Cell::num(format::int(sum(|n| n.feed_resets))) },
            ]);
            row
        })
        .collect();
    Table {
        id: "cluster-backplane",
        caption: "Backplane: what the nodes took from NATS in each step's window".into(),
        head: head(&[
            "Transport",
            "Clients",
            "Events published",
            "NATS bytes per event, per node",
            "NATS bytes per event, all nodes",
            "Gaps",
            "Repaired",
            "Feed resets",
        ]),
        rows,
    }
}

/// The section as plain text for the terminal (`loadgen merge`, `loadgen run`), or `None`.
pub fn text(r: &Results) -> Option<String> {
    let section = section(r)?;
    let mut out = format!("\n{}\n", section.intro);
    let _ = writeln!(
        out,
        "\n{:<11} {:>7}  {:<26} {:>7} {:>11} {:>9} {:>6} {:>12}",
        "transport", "clients", "node", "clients", "deliveries", "of exp.", "lost", "NATS B/evt"
    );
    for s in &r.steps {
        for n in &s.nodes {
            let nats = nats_bytes_per_event(n, s).map_or_else(|| "-".into(), |b| format!("{b:.0}"));
            let _ = writeln!(
                out,
                "{:<11} {:>7}  {:<26} {:>7} {:>11} {:>9} {:>6} {:>12}",
                s.transport.name(),
                s.clients,
                n.node,
                n.clients,
                n.deliveries,
                format::count_share(n.deliveries, n.deliveries_expected),
                n.lost,
                nats
            );
        }
    }
    if let Some((hop, source)) = &section.hop {
        let _ = writeln!(out, "\nThe NATS hop, against one server without NATS ({source}):");
        let _ = writeln!(
            out,
            "{:<11} {:>7} {:>12} {:>12} {:>12} {:>12} {:>12}",
            "transport", "clients", "one p50", "one p99", "cluster p50", "cluster p99", "diff p50"
        );
        for (s, row) in r.steps.iter().zip(&hop.rows) {
            let t = |i: usize| row[i].text.replace('\u{a0}', " ");
            let _ = writeln!(
                out,
                "{:<11} {:>7} {:>12} {:>12} {:>12} {:>12} {:>12}",
                s.transport.name(),
                s.clients,
                t(2),
                t(3),
                t(4),
                t(5),
                t(6)
            );
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::results::{Cluster, RunConfig, WireBytes};
    use proto::Transport;

    fn node(name: &str, clients: u32, backplane: u64) -> NodeStep {
        NodeStep {
            node: name.into(),
            clients,
            deliveries: u64::from(clients) * 40,
            deliveries_expected: u64::from(clients) * 40,
            wire_bytes: WireBytes { to_server: 100, to_client: 9000 },
            backplane_bytes: backplane,
            server_cpu_s: 0.25,
            ..NodeStep::default()
        }
    }

    fn results(nodes: Vec<NodeStep>, cluster: Option<Cluster>) -> Results {
        let clients = nodes.iter().map(|n| n.clients).sum();
        let step = Step { events_published: 40, nodes, ..Step::empty(Transport::Ws, clients) };
        Results { cluster, ..Results::new(RunConfig::default(), vec![step]) }
    }

    #[test]
    fn two_nodes_get_the_section_with_their_balance_and_nats_bytes() {
        let nodes = vec!["http://127.0.0.1:1".to_string(), "http://127.0.0.1:2".to_string()];
        let r = results(
            vec![node(&nodes[0], 3, 4000), node(&nodes[1], 2, 4400)],
            Some(Cluster { parts: 2, nodes: nodes.clone(), reference: None }),
        );
        let s = section(&r).expect("two nodes: a cluster section");
        assert!(
            s.intro.starts_with("2 server nodes and 2 load-generator processes took part"),
            "{}",
            s.intro
        );
        assert_eq!(s.balance.rows.len(), 2, "one row per node");
        assert_eq!(s.balance.rows[0][3].text, "3");
        assert_eq!(s.balance.rows[1][4].text, "40.0%");
        // 4,000 and 4,400 bytes over 40 events: 100 and 110 a node, 105 on average, 210 in all.
        assert_eq!(s.backplane.rows[0][3].text, format::bytes(105.0));
        assert_eq!(s.backplane.rows[0][4].text, format::bytes(210.0));
        let page = crate::html::page(&r, &[]).expect("renders");
        assert!(page.contains("<section id=\"cluster\">") && page.contains("table-cluster-backplane"));
        let text = text(&r).expect("printed too");
        assert!(text.contains("http://127.0.0.1:2") && text.contains("110"), "{text}");
    }

    #[test]
    fn a_reference_run_is_set_beside_the_cluster_step_by_step() {
        use proto::results::{Latency, Reference, ReferenceStep};
        let nodes = vec!["http://127.0.0.1:1".to_string(), "http://127.0.0.1:2".to_string()];
        let mut r = results(vec![node(&nodes[0], 3, 4000), node(&nodes[1], 2, 4400)], None);
        r.steps[0].event_delay_us = Latency { count: 200, p50: 5_000, p99: 20_000, ..Latency::default() };
        let mut sse = Step::empty(Transport::Sse, 5);
        sse.event_delay_us = Latency { count: 200, p50: 4_000, p99: 9_000, ..Latency::default() };
        r.steps.push(sse);
        let one = |t, p50, p99| ReferenceStep {
            transport: t,
            variant: proto::Variant::default(),
            clients: 5,
            round: 0,
            event_delay_us: Latency { count: 200, p50, p99, ..Latency::default() },
        };
        let reference = Reference {
            source: "/tmp/ref (against http://127.0.0.1:9)".into(),
            // Another client count does not match; SSE has no reference step.
            steps: vec![
                one(Transport::Ws, 3_000, 15_000),
                ReferenceStep { clients: 50, ..one(Transport::Ws, 1, 1) },
            ],
        };
        r.cluster = Some(Cluster { parts: 2, nodes, reference: Some(reference) });
        let (hop, source) = section(&r).expect("a section").hop.expect("a reference: the hop table");
        assert!(source.starts_with("/tmp/ref"), "{source}");
        let ws: Vec<&str> = hop.rows[0].iter().map(|c| c.text.as_str()).collect();
        assert_eq!(
            ws[2..],
            [
                "3.00\u{a0}ms",
                "15.0\u{a0}ms",
                "5.00\u{a0}ms",
                "20.0\u{a0}ms",
                "+2.0\u{a0}ms",
                "+5.0\u{a0}ms",
                "40\u{a0}%"
            ]
        );
        assert!(hop.rows[1][2..].iter().all(|c| c.text == "—"), "no SSE reference: dashes");
        let page = crate::html::page(&r, &[]).expect("renders");
        assert!(page.contains("table-cluster-hop") && page.contains("/tmp/ref"), "on the page");
        let text = text(&r).expect("printed");
        assert!(text.contains("The NATS hop") && text.contains("+2.0 ms"), "{text}");
    }

    #[test]
    fn one_node_and_one_load_process_get_no_section() {
        let r = results(vec![node("http://127.0.0.1:1", 5, 0)], None);
        assert_eq!(section(&r), None);
        assert_eq!(text(&r), None);
        assert!(!crate::html::page(&r, &[]).expect("renders").contains("id=\"cluster\""));
        let old = results(Vec::new(), None);
        assert_eq!(section(&old), None, "files from before per-node figures");
    }
}
