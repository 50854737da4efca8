//! The cluster end to end, as separate processes: a real `nats-server`, a publisher and two
//! nodes (`loadgen serve-embedded` with `--publish` / `--feed`), two `loadgen run --part K/2`
//! processes each spreading its clients over both nodes (`--target A,B`, one `--start-at`),
//! then `loadgen merge`. Needs nats-server.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime};

use common::{loadgen, read_results, temp_dir, wait_bounded};
use proto::Transport;
use test_support::probe::free_port;

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn server(args: &[&str]) -> (Killed, String) {
    let (child, addr) = test_support::serve::spawn(
        loadgen().arg("serve-embedded").args(["--addr", "127.0.0.1:0"]).args(args).stderr(Stdio::null()),
    );
    (Killed(child), format!("http://{addr}"))
}

#[test]
#[ignore = "needs nats-server"]
fn two_parts_on_two_nodes_merge_into_one_run_with_every_event_once() {
    let port = free_port();
    let nats_url = format!("nats://127.0.0.1:{port}");
    let _nats = Killed(
        Command::new("nats-server")
            .args(["-a", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server runs (apt-get install nats-server)"),
    );
    let (_publisher, _) = server(&["--publish", &nats_url, "--rate", "20", "--ring", "20000"]);
    let (_a, node_a) = server(&["--feed", &nats_url, "--ring", "20000"]);
    let (_b, node_b) = server(&["--feed", &nats_url, "--ring", "20000"]);

    let dir = temp_dir("cluster");
    let start_at = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).expect("after 1970")
        + Duration::from_secs(2);
    let both = format!("{node_a},{node_b}");
    let parts: Vec<_> = [1, 2]
        .into_iter()
        .map(|k| {
            let out = dir.join(format!("part{k}"));
            let child = loadgen()
                .args(["run", "--repeat", "1", "--quiet", "--target", &both, "--part", &format!("{k}/2")])
                .args(["--start-at", &start_at.as_secs_f64().to_string()])
                .args(["--transports", "ws,sse,delta-poll", "--clients", "6", "--poll-interval", "200ms"])
                .args(["--duration", "2s", "--warmup", "500ms"])
                .arg("--out")
                .arg(&out)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("loadgen runs");
            (child, out)
        })
        .collect();
    let mut outs = Vec::new();
    for (mut child, out) in parts {
        let status = wait_bounded(&mut child, Duration::from_secs(120));
        assert!(status.success(), "part {} failed", out.display());
        outs.push(out);
    }

    let merged_dir = dir.join("merged");
    let status = loadgen()
        .arg("merge")
        .args(&outs)
        .arg("--out")
        .arg(&merged_dir)
        .stdout(Stdio::null())
        .status()
        .expect("loadgen merge runs");
    assert!(status.success());
    let merged = read_results(&merged_dir);
    let parts: Vec<_> = outs.iter().map(|o| read_results(o)).collect();
    let nodes = vec![node_a.clone(), node_b.clone()];
    assert_eq!(merged.cluster.as_ref().map(|c| (c.parts, &c.nodes)), Some((2, &nodes)));
    for (i, m) in merged.steps.iter().enumerate() {
        let name = m.transport.label();
        for p in &parts {
            let s = &p.steps[i];
            assert_eq!(s.clients, 3, "{name}: each part runs half the clients");
            // Part 1 has clients 0-2 of the step (nodes a, b, a), part 2 clients 3-5 (b, a, b).
            let spread: Vec<(&str, u32)> = s.nodes.iter().map(|n| (n.node.as_str(), n.clients)).collect();
            assert_eq!(spread.len(), 2, "{name}: each part spread over both nodes: {spread:?}");
            assert!(s.nodes.iter().all(|n| n.clients > 0), "{name}: {spread:?}");
            assert_eq!(s.nodes.iter().map(|n| n.clients).sum::<u32>(), s.clients, "{name}: {spread:?}");
            assert_eq!(s.nodes.iter().map(|n| n.deliveries).sum::<u64>(), s.deliveries, "{name}");
            for n in &s.nodes {
                assert_eq!((n.deliveries, n.lost), (n.deliveries_expected, 0), "{name} on {}", n.node);
                assert!(n.wire_bytes.to_client > 0, "{name}: {} was read and served its clients", n.node);
                assert!(n.backplane_bytes > 0, "{name}: {} took the window's events from NATS", n.node);
            }
            assert!(s.events_published > 0, "{name}: the nodes served the publisher's events");
            assert_eq!(
                (s.deliveries, s.coalesced, s.late, s.lost, s.duplicates),
                (s.deliveries_expected, 0, 0, 0, 0),
                "{name}: every client of every node got every event of the window exactly once"
            );
            assert!(s.errors.is_empty(), "{name}: {:?}", s.errors);
        }
        assert!([Transport::Ws, Transport::Sse, Transport::DeltaPoll].contains(&m.transport));
        assert_eq!(m.clients, 6);
        // Merged: each node's clients and deliveries summed over the parts (each part's window
        // has its own events, so the nodes' expected deliveries need not be equal).
        let per_node: Vec<(&str, u32)> = m.nodes.iter().map(|n| (n.node.as_str(), n.clients)).collect();
        assert_eq!(per_node, [(node_a.as_str(), 3), (node_b.as_str(), 3)], "{name}");
        for n in &m.nodes {
            assert_eq!(n.deliveries, n.deliveries_expected, "{name}: every event on {}", n.node);
        }
        assert_eq!(m.nodes.iter().map(|n| n.deliveries).sum::<u64>(), m.deliveries, "{name}");
        assert_eq!(m.deliveries, m.deliveries_expected, "{name}: nothing lost over the whole cluster");
        let counts: u64 = parts.iter().map(|p| p.steps[i].event_delay_us.count).sum();
        assert_eq!(m.event_delay_us.count, counts, "{name}: merged count is the sum of the parts");
        // One histogram of every sample, built here from the parts' own logs.
        let mut all = loadgen::hgrm::new_histogram();
        for (p, o) in parts.iter().zip(&outs) {
            let log = o.join(p.steps[i].files.delivery_hlog.as_ref().expect("a delivery log"));
            for h in loadgen::merge::read_log(&log).expect("reads").0 {
                all.add(&h).expect("adds");
            }
        }
        assert_eq!(all.len(), counts);
        assert_eq!(m.event_delay_us.p99, all.value_at_quantile(0.99), "{name}: p99 of all samples");
        assert_eq!(m.event_delay_us.p50, all.value_at_quantile(0.50), "{name}: p50 of all samples");
    }
    assert!(merged_dir.join("index.html").exists(), "one report");

    // The same steps against one server without NATS, set beside the cluster's delays.
    let (_plain, plain) = server(&["--rate", "20"]);
    let reference = dir.join("reference");
    let status = loadgen()
        .args(["run", "--repeat", "1", "--quiet", "--target", &plain])
        .args(["--transports", "ws,sse,delta-poll", "--clients", "6", "--poll-interval", "200ms"])
        .args(["--duration", "2s", "--warmup", "500ms", "--out"])
        .arg(&reference)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("the reference run");
    assert!(status.success());
    let with_ref = dir.join("merged-ref");
    let merge_with = |reference: &std::path::Path, out: &std::path::Path| {
        loadgen()
            .arg("merge")
            .args(&outs)
            .arg("--reference")
            .arg(reference)
            .arg("--out")
            .arg(out)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .expect("loadgen merge runs")
    };
    let out = merge_with(&reference, &with_ref);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r = read_results(&with_ref);
    let one = r.cluster.as_ref().and_then(|c| c.reference.as_ref()).expect("the reference is recorded");
    assert!(one.source.contains(&plain), "{}", one.source);
    for m in &r.steps {
        let x = one.matching(m).expect("every step has its reference step");
        assert_eq!((x.transport, x.clients), (m.transport, m.clients));
        assert!(x.event_delay_us.count > 0, "{:?}", x.event_delay_us);
    }
    let page = std::fs::read_to_string(with_ref.join("index.html")).expect("the report");
    assert!(page.contains("table-cluster-hop"), "the report has the NATS hop table");
    assert!(String::from_utf8_lossy(&out.stderr).contains("The NATS hop"), "and the terminal");
    // A reference that is not a run changes nothing.
    let never = dir.join("never");
    let out = merge_with(&dir.join("no-such-run"), &never);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("--reference"));
    assert!(!never.exists(), "nothing written");
}
