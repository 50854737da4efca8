//! `loadgen run --workers N|auto`: one run's clients in several load processes, when one
//! process's open-files limit cannot hold a step (or when asked). The parent starts the
//! embedded server (or takes the `--target` nodes), runs itself N times as `run --part K/N
//! --start-at T --target … --workers 1 --out OUT/workers/K`, waits for them within the run's
//! expected time plus a margin, and adds their folders into OUT with [`crate::merge`].
//!
//! `--part` keeps the workers one run: the same plan (rounds shuffled from one seed), the
//! clients' node spread, and one start. Each worker ramps at `--connect-rate / N`, so a step's
//! whole ramp is paced as one process's. What it cannot keep: the embedded server's feed is not
//! started over before each step (the workers' later steps follow their own pace), so steps
//! meet the same event rate but not the same gaps.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use proto::Security;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::RunArgs;
use crate::limits::Limits;
use crate::plan;
use crate::run::{self, Finished, Server, ServerNode};

/// `--workers`: how many load processes run the clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workers {
    /// As many as the open-files limit needs (one when one holds every step).
    Auto,
    /// Exactly this many (1: never split).
    Count(u32),
}

impl FromStr for Workers {
    type Err = String;

    fn from_str(s: &str) -> Result<Workers, String> {
        if s == "auto" {
            return Ok(Workers::Auto);
        }
        match s.parse::<u32>() {
            Ok(n @ 1..=1000) => Ok(Workers::Count(n)),
            _ => Err(format!("`{s}` is not a number of load processes (1 to 1000) or auto")),
        }
    }
}

impl fmt::Display for Workers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Workers::Auto => f.write_str("auto"),
            Workers::Count(n) => write!(f, "{n}"),
        }
    }
}

/// Time between starting the workers and their agreed start (`--start-at`): long enough for
/// N processes to start and check their server on a busy 2-core machine.
const START_AFTER: Duration = Duration::from_secs(3);

/// Slack beyond a run's expected length before a worker is taken to hang: its report and
/// event times take a few seconds more, and a loaded machine runs slow.
const MARGIN: Duration = Duration::from_secs(60);

/// Lines of a worker's stderr kept to name its failure.
const TAIL: usize = 4;

/// How many load processes this run takes (1: no workers), or why it cannot run, decided
/// before anything starts.
pub fn processes(args: &RunArgs, limits: &Limits) -> Result<u32, String> {
    let most = args.clients.iter().copied().max().unwrap_or(0);
    let least = args.clients.iter().copied().min().unwrap_or(0);
    let n = match args.workers {
        // A part is already one load process of several; the run's own check speaks for it.
        _ if args.part.is_some() => return Ok(1),
        Workers::Count(1) => return Ok(1),
        Workers::Count(n) => {
            let share = most.div_ceil(n);
            if !limits.fits(u64::from(share)) {
                let need = limits.processes_for(most).map_or("more".to_string(), |k| k.to_string());
                return Err(format!(
                    "--workers {n}: each would hold up to {share} clients of the {most}-client \
                     step, more than RLIMIT_NOFILE {} lets one process hold; give --workers {need} \
                     or auto",
                    limits.open_files
                ));
            }
            n
        }
        Workers::Auto => match limits.processes_for(most) {
            Some(n) => n,
            None => return limits.check(most.div_ceil(1000), None).map(|()| 1),
        },
    };
    if n < 2 {
        return Ok(1);
    }
    if least < n {
        return Err(format!(
            "{n} load processes cannot share the {least}-client step (each needs a client of \
             every step); run the smaller client counts apart, or give --workers 1"
        ));
    }
    if args.target.is_empty() {
        limits.check_server(most)?;
        if args.tls.len() > 1 {
            return Err("--tls off,on with worker processes: they reach the embedded server as a \
                        --target, which serves one scheme; run --tls off and --tls on apart"
                .into());
        }
    }
    Ok(n)
}

/// The run in `n` worker processes, merged into one; the caller prints its report as `run`'s.
pub async fn run(
    args: RunArgs,
    n: u32,
    limits: &Limits,
    cancel: CancellationToken,
) -> anyhow::Result<Finished> {
    let dir = args.out.clone().unwrap_or_else(run::default_out);
    let server = run::find_server(&args, &dir).await?;
    let Server { nodes, name, embedded, trust } = server;
    std::fs::create_dir_all(dir.join("workers"))
        .with_context(|| format!("while creating {}", dir.join("workers").display()))?;
    let (target, ca) = worker_target(&args, &nodes, &dir);
    let start_at = args.start_at.unwrap_or_else(|| SystemTime::now() + START_AFTER);
    let limit = time_limit(&args, start_at);
    let most = args.clients.iter().copied().max().unwrap_or(0);
    if !args.quiet {
        eprintln!(
            "pushpull: {n} load processes of up to {} clients each (RLIMIT_NOFILE {} a process) \
             against {name}; all done within {} s or stopped; writing to {}",
            most.div_ceil(n),
            limits.open_files,
            limit.as_secs(),
            dir.display()
        );
    }
    let exe = std::env::current_exe().context("while finding the loadgen executable")?;
    let deadline = Instant::now() + limit;
    // A failing worker cancels the others (they write what ran); so does Ctrl-C.
    let stop = cancel.child_token();
    let mut running = Vec::with_capacity(n as usize);
    for k in 1..=n {
        let out = dir.join("workers").join(k.to_string());
        let argv = worker_args(&args, k, n, &target, ca.as_deref(), start_at, &out);
        let worker = match spawn(&exe, &argv, k, n, &args) {
            Ok(w) => w,
            Err(e) => {
                stop.cancel();
                for (_, _, task) in running {
                    let _ = task.await;
                }
                return Err(e.context(format!("while starting worker {k}/{n}")));
            }
        };
        let (child, tail) = worker;
        let stop = stop.clone();
        let quiet = args.quiet;
        let task = tokio::spawn(async move {
            let end = supervise(child, deadline, stop.clone()).await;
            if !matches!(end, Ok(End::Exited(s)) if s.success()) {
                stop.cancel();
            }
            if !quiet {
                eprintln!("pushpull: worker {k}/{n} ended: {}", describe(&end));
            }
            end
        });
        running.push((k, tail, task));
    }

    let mut failures = Vec::new();
    for (k, tail, task) in running {
        let end = task.await.unwrap_or_else(|e| Err(std::io::Error::other(e)));
        let tail: Vec<String> = tail.await.map(Vec::from).unwrap_or_default();
        let said = if tail.is_empty() { String::new() } else { format!(": {}", tail.join(" / ")) };
        match end {
            Ok(End::Exited(s)) if s.success() => {}
            Ok(End::Stopped(_)) => {}
            Ok(End::Exited(s)) => failures.push(format!("worker {k}/{n} failed ({s}){said}")),
            Ok(End::Killed) => failures.push(format!(
                "worker {k}/{n} was still running {} s after the run began, past its expected \
                 length plus a margin, and was killed{said}",
                limit.as_secs()
            )),
            Err(e) => failures.push(format!("worker {k}/{n} could not be waited for: {e}{said}")),
        }
    }
    // Only now, with every worker gone, may the server stop.
    if let Some(e) = embedded {
        e.stop().await;
    }
    let dirs: Vec<PathBuf> = (1..=n).map(|k| dir.join("workers").join(k.to_string())).collect();
    if let Some(missing) = dirs.iter().find(|d| !d.join("results.json").exists()) {
        failures.push(format!("{} has no results.json", missing.display()));
        anyhow::bail!("the run's worker processes did not finish: {}", failures.join("; "));
    }
    let mut parts = crate::merge::read_parts(&dirs)?;
    // A stopped worker may have run fewer steps than the others; the steps all ran are merged.
    let common = parts.iter().map(|p| p.results.steps.len()).min().unwrap_or(0);
    if parts.iter().any(|p| p.results.steps.len() != common) {
        failures.push(format!("the workers ran different numbers of steps; the first {common} are merged"));
        for p in &mut parts {
            p.results.steps.truncate(common);
        }
    }
    let mut results = crate::merge::merge(&parts, &dir).context("while merging the workers' results")?;
    // The run as asked, not as each worker was told to run its share.
    let config = &mut results.config;
    config.target = args.target_label();
    config.connect_rate = args.connect_rate;
    config.tls_trust = trust;
    config.pinning = args.pinned.clone();
    if let Some(w) = parts.first() {
        let network = crate::network_delay::choose(args.rtt, args.target.is_empty());
        config.network = w.results.config.network.clone().map(|mut d| {
            if let Some((method, why)) = network {
                (d.method, d.netem_unavailable) = (method, why);
            }
            d
        });
    }
    if cancel.is_cancelled() {
        failures.push("interrupted (Ctrl-C); the report shows the steps that ran".into());
    }
    if let Some(w) = results.interrupted.take() {
        failures.push(w);
    }
    results.interrupted = (!failures.is_empty()).then(|| failures.join("; "));
    run::write_results(&dir, &results)?;
    Ok(run::finish(results, dir, args.quiet))
}

/// What the workers connect to: the `--target` nodes as given, or the embedded server (over
/// TLS with the certificate it wrote when the run is `--tls on`), and the certificate to trust.
fn worker_target(args: &RunArgs, nodes: &[ServerNode], dir: &Path) -> (String, Option<PathBuf>) {
    if !args.target.is_empty() {
        return (args.target.join(","), args.ca.clone());
    }
    match nodes.first().and_then(|n| n.endpoints.tls.as_ref()) {
        Some((endpoint, _)) if args.tls == [Security::Tls] => {
            (format!("https://{}", endpoint.addr), Some(dir.join(run::SERVER_CERT)))
        }
        _ => (nodes.first().map(|n| n.name.clone()).unwrap_or_default(), None),
    }
}

/// The longest the workers may take: until the agreed start, the baseline, every step at its
/// longest (ramp, warm-up, window, the drain's bound), a fifth more, and [`MARGIN`].
fn time_limit(args: &RunArgs, start_at: SystemTime) -> Duration {
    let wait = start_at.duration_since(SystemTime::now()).unwrap_or_default();
    let steps: Duration =
        plan::sweep(args).iter().map(|p| p.ramp() + p.warmup + p.duration + p.drain_limit()).sum();
    wait + args.baseline + steps + steps / 5 + MARGIN
}

/// Worker `k` of `n`'s command line: this run's settings, its share, the agreed start, the
/// server as a `--target`, its own folder, quiet, and never split again.
pub fn worker_args(
    args: &RunArgs,
    k: u32,
    n: u32,
    target: &str,
    ca: Option<&Path>,
    start_at: SystemTime,
    out: &Path,
) -> Vec<OsString> {
    // Every field named, so that a new option cannot be forgotten here without a compile error.
    let RunArgs {
        target: _, // the server(s), given below
        ca: _,     // with the target
        insecure,
        transports,
        protocol,
        tls,
        compression,
        clients,
        repeat,
        duration,
        warmup,
        baseline,
        poll_interval,
        poll_mode,
        rate,
        payload_bytes,
        connect_rate,
        rtt,
        seed,
        out: _,   // each worker's own folder
        quiet: _, // workers are always quiet; the parent speaks
        allow_non_loopback,
        pin: _,      // the workers inherit the parent's CPUs; the server is pinned already
        pinned: _,   // recorded by the parent
        part: _,     // refused with --workers ≥ 2
        start_at: _, // the agreed start, given below
        workers: _,  // 1, below
    } = args;
    fn list<T: fmt::Display>(v: &[T]) -> String {
        v.iter().map(T::to_string).collect::<Vec<_>>().join(",")
    }
    let time = |d: &Duration| humantime::format_duration(*d).to_string();
    let start = start_at.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_secs_f64();
    let mut v: Vec<String> = vec![
        "run".into(),
        format!("--target={target}"),
        format!("--transports={}", list(transports)),
        format!("--protocol={}", list(protocol)),
        format!("--tls={}", list(tls)),
        format!("--compression={}", list(compression)),
        format!("--clients={}", list(clients)),
        format!("--repeat={repeat}"),
        format!("--duration={}", time(duration)),
        format!("--warmup={}", time(warmup)),
        format!("--baseline={}", time(baseline)),
        format!("--poll-interval={}", time(poll_interval)),
        format!("--poll-mode={poll_mode}"),
        format!("--rate={rate}"),
        format!("--payload-bytes={payload_bytes}"),
        // The step's whole ramp paced as one process's: each worker opens its share at 1/N.
        format!("--connect-rate={}", connect_rate / f64::from(n)),
        format!("--seed={seed}"),
        format!("--part={k}/{n}"),
        format!("--start-at={start:.6}"),
        "--workers=1".into(),
        "--quiet".into(),
    ];
    if let Some(rtt) = rtt {
        v.push(format!("--rtt={}", time(rtt)));
    }
    if *insecure {
        v.push("--insecure".into());
    }
    if *allow_non_loopback {
        v.push("--allow-non-loopback".into());
    }
    let mut out_args: Vec<OsString> = v.into_iter().map(OsString::from).collect();
    if let Some(ca) = ca {
        out_args.push("--ca".into());
        out_args.push(ca.into());
    }
    out_args.push("--out".into());
    out_args.push(out.into());
    out_args
}

/// Starts worker `k`: its own process group (a Ctrl-C reaches the parent, which stops the
/// workers so that each writes what ran), dying with the parent; its stderr is passed on,
/// each line named for the worker, and its last lines kept.
#[allow(clippy::type_complexity)]
fn spawn(
    exe: &Path,
    argv: &[OsString],
    k: u32,
    n: u32,
    args: &RunArgs,
) -> anyhow::Result<(Child, tokio::task::JoinHandle<VecDeque<String>>)> {
    let mut cmd = Command::new(exe);
    cmd.args(argv)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .process_group(0);
    // SAFETY: prctl is async-signal-safe; it only marks this child to get SIGTERM when the
    // parent dies.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
    let mut child = cmd.spawn().context("while starting a worker process")?;
    if let (Some(p), Some(pid)) = (&args.pinned, child.id()) {
        // Threads and children inherit their creator's CPUs: the workers run where the
        // parent was put, off the server's CPU.
        let got = crate::pin::cpus_of(pid);
        if got.as_deref() != Some(p.loadgen_cpus.as_slice()) {
            anyhow::bail!("worker {k}/{n} was to run on CPUs {:?} but runs on {got:?}", p.loadgen_cpus);
        }
    }
    let stderr = child.stderr.take().context("a worker's stderr")?;
    let tail = tokio::spawn(async move {
        let mut tail = VecDeque::with_capacity(TAIL);
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            eprintln!("worker {k}/{n}: {line}");
            if tail.len() == TAIL {
                tail.pop_front();
            }
            tail.push_back(line);
        }
        tail
    });
    Ok((child, tail))
}

/// How a worker ended.
enum End {
    /// On its own.
    Exited(ExitStatus),
    /// After it was asked to stop (Ctrl-C, or another worker failed).
    Stopped(ExitStatus),
    /// Past the time limit, by SIGKILL.
    Killed,
}

fn describe(end: &std::io::Result<End>) -> String {
    match end {
        Ok(End::Exited(s)) if s.success() => "done".into(),
        Ok(End::Exited(s)) => format!("failed ({s})"),
        Ok(End::Stopped(s)) => format!("stopped ({s})"),
        Ok(End::Killed) => "killed: past the time limit".into(),
        Err(e) => format!("cannot be waited for: {e}"),
    }
}

/// Waits for a worker until `deadline`; when `stop` fires first, sends it SIGINT (as Ctrl-C:
/// it finishes its step and writes what ran) and waits on, still bounded by `deadline`.
async fn supervise(mut child: Child, deadline: Instant, stop: CancellationToken) -> std::io::Result<End> {
    tokio::select! {
        status = child.wait() => return status.map(End::Exited),
        _ = tokio::time::sleep_until(deadline) => {
            child.kill().await?;
            return Ok(End::Killed);
        }
        _ = stop.cancelled() => {}
    }
    if let Some(pid) = child.id() {
        // SAFETY: signalling our own child by pid.
        unsafe {
            libc::kill(pid as i32, libc::SIGINT);
        }
    }
    tokio::select! {
        status = child.wait() => status.map(End::Stopped),
        _ = tokio::time::sleep_until(deadline) => {
            child.kill().await?;
            Ok(End::Killed)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_args;

    fn limits(open_files: u64) -> Limits {
        Limits { open_files, hard_open_files: open_files, ports: 28_232, memory_available: 1 << 30 }
    }

    #[test]
    fn auto_splits_only_when_one_process_cannot_hold_the_largest_step() {
        let args = |a: &[&str]| parse_args(a).expect("parses");
        let target = ["--target", "http://127.0.0.1:1"];
        let big = args(&[&target[..], &["--clients", "10,400"]].concat());
        assert_eq!(big.workers, Workers::Auto, "auto by default");
        assert_eq!(processes(&big, &limits(20_000)), Ok(1));
        assert_eq!(processes(&big, &limits(300)), Ok(2), "400 + 100 > 300, ⌈400/2⌉ + 100 fits");
        let bigger = args(&[&target[..], &["--clients", "10,401"]].concat());
        assert_eq!(processes(&bigger, &limits(300)), Ok(3), "⌈401/2⌉ + 100 > 300");
        let two = args(&[&target[..], &["--clients", "20", "--workers", "2"]].concat());
        assert_eq!(processes(&two, &limits(20_000)), Ok(2), "asked for");
        let one = args(&[&target[..], &["--clients", "400", "--workers", "1"]].concat());
        assert_eq!(processes(&one, &limits(300)), Ok(1), "never split; the run's check refuses it");
        let part = args(&[&target[..], &["--clients", "400", "--part", "1/2"]].concat());
        assert_eq!(processes(&part, &limits(300)), Ok(1), "a part is one process");
    }

    #[test]
    fn what_workers_cannot_do_is_refused_with_the_reason() {
        let why = |a: &[&str], files| processes(&parse_args(a).expect("parses"), &limits(files)).unwrap_err();
        let e = why(&["--target", "http://127.0.0.1:1", "--clients", "402", "--workers", "2"], 300);
        assert!(e.contains("--workers 2: each would hold up to 201") && e.contains("--workers 3"), "{e}");
        let e = why(&["--target", "http://127.0.0.1:1", "--clients", "1,400"], 300);
        assert!(e.contains("2 load processes cannot share the 1-client step"), "{e}");
        let e = why(&["--clients", "400"], 300);
        assert!(e.contains("embedded server would hold 400") && e.contains("scripts/cluster.sh"), "{e}");
        let e = why(&["--clients", "20", "--workers", "2", "--tls", "off,on"], 20_000);
        assert!(e.contains("--tls off,on with worker processes"), "{e}");
        let e = why(&["--target", "http://127.0.0.1:1", "--clients", "20"], 100);
        assert!(e.starts_with("machine limit: open files"), "{e}");
        let e = parse_args(&["--workers", "2", "--part", "1/2"]).expect("parses").validate().unwrap_err();
        assert!(e.contains("--workers 2 cannot split --part 1/2"), "{e}");
        assert!(parse_args(&["--workers", "0"]).is_err() && parse_args(&["--workers", "many"]).is_err());
    }

    #[test]
    fn a_worker_runs_the_same_settings_as_its_share() {
        let given = parse_args(&[
            "--transports",
            "ws,short-poll",
            "--protocol",
            "h1,h2",
            "--clients",
            "20,40",
            "--repeat",
            "2",
            "--duration",
            "2s 500ms",
            "--warmup",
            "1s",
            "--baseline",
            "0s",
            "--poll-interval",
            "750ms",
            "--poll-mode",
            "timeout",
            "--rate",
            "12.5",
            "--payload-bytes",
            "64",
            "--connect-rate",
            "1000",
            "--rtt",
            "20ms",
            "--seed",
            "7",
            "--compression",
            "off,on",
            "--workers",
            "2",
        ])
        .expect("parses");
        let at = SystemTime::UNIX_EPOCH + Duration::from_millis(1_796_283_000_250);
        let argv = worker_args(&given, 2, 2, "http://127.0.0.1:9", None, at, Path::new("/tmp/w/2"));
        let argv: Vec<String> = argv.iter().map(|a| a.to_string_lossy().into_owned()).collect();
        let argv: Vec<&str> = argv.iter().skip(1).map(String::as_str).collect();
        let w = parse_args(&argv).expect("the worker's command line parses");
        assert!(w.validate().is_ok(), "{:?}", w.validate());
        assert_eq!(w.target, ["http://127.0.0.1:9"]);
        assert_eq!(
            (w.part, w.workers, w.quiet),
            (Some(crate::part::Part { k: 2, n: 2 }), Workers::Count(1), true)
        );
        assert_eq!(w.start_at, Some(at));
        assert_eq!(w.connect_rate, 500.0, "half the rate in each of two");
        assert_eq!(w.out.as_deref(), Some(Path::new("/tmp/w/2")));
        // Everything else as given: the same plan, steps and seeds.
        assert_eq!(
            format!(
                "{:?}",
                (
                    &w.transports,
                    &w.protocol,
                    &w.tls,
                    &w.compression,
                    &w.clients,
                    w.repeat,
                    w.duration,
                    w.warmup
                )
            ),
            format!(
                "{:?}",
                (
                    &given.transports,
                    &given.protocol,
                    &given.tls,
                    &given.compression,
                    &given.clients,
                    given.repeat,
                    given.duration,
                    given.warmup
                )
            )
        );
        assert_eq!(
            (w.baseline, w.poll_interval, w.poll_mode, w.rate, w.payload_bytes, w.rtt, w.seed),
            (
                given.baseline,
                given.poll_interval,
                given.poll_mode,
                given.rate,
                given.payload_bytes,
                given.rtt,
                given.seed
            )
        );
        let labels = |a: &RunArgs| plan::sweep(a).iter().map(|p| p.label()).collect::<Vec<_>>();
        assert_eq!(labels(&w), labels(&given), "the same shuffled plan");
    }
}
