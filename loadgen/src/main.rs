//! The `loadgen` binary: `run` a comparison, re-render a `report`, or (hidden) serve the
//! embedded server process.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use loadgen::capacity::args::CapacityArgs;
use loadgen::config::RunArgs;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "loadgen",
    version,
    about = "Drives simulated clients through every pushpull transport and reports what they measured"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the comparison; the last line printed is the report's path.
    Run(RunArgs),
    /// Find how many clients each transport holds within a service level; the last line
    /// printed is the capacity report's path.
    Capacity(CapacityArgs),
    /// Draw the report of an earlier run again from its results.json (or capacity.json).
    Report {
        /// Path of a run's results.json or capacity.json.
        results: PathBuf,
    },
    /// Merge the results of several load processes (`run --part K/N`, or runs on several
    /// machines at once) into one run and one report; prints the report's path.
    Merge {
        /// The parts' run folders (each with its results.json and .hlog files); one is a
        /// cluster run of one load process.
        #[arg(required = true, num_args = 1..)]
        dirs: Vec<PathBuf>,
        /// Where to write the merged run.
        #[arg(long)]
        out: PathBuf,
        /// A run of the same steps against one server without NATS, whose event delays the
        /// report sets beside the cluster's (the delay the NATS hop adds).
        #[arg(long, value_name = "DIR")]
        reference: Option<PathBuf>,
    },
    /// The embedded server process (started by `run`; not for direct use).
    #[command(hide = true)]
    ServeEmbedded(server::Config),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")))
        .with_writer(std::io::stderr)
        .init();
    let mut cli = Cli::parse();
    // --pin before the runtime exists: its worker threads inherit this thread's CPUs.
    if let Command::Run(args) = &mut cli.command {
        if args.pin {
            if let Err(why) = args.validate() {
                eprintln!("loadgen: {why}");
                return ExitCode::FAILURE;
            }
            match loadgen::pin::pin_loadgen() {
                Ok(p) => args.pinned = Some(p),
                Err(why) => {
                    eprintln!("loadgen: {why}");
                    return ExitCode::FAILURE;
                }
            }
        }
    }
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("loadgen: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async move {
        match cli.command {
            Command::Run(args) => run(args).await,
            Command::Capacity(args) => capacity(args).await,
            Command::Report { results } => report(&results),
            Command::Merge { dirs, out, reference } => merge(&dirs, &out, reference.as_deref()),
            Command::ServeEmbedded(config) => {
                loadgen::embedded::serve(config).await.map(|_| ExitCode::SUCCESS)
            }
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("loadgen: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    use loadgen::network_delay::{self, Method, INSIDE_NETNS};
    // --rtt by netem: the whole run again inside a network namespace of its own.
    if std::env::var_os(INSIDE_NETNS).is_none() {
        if let (Some((Method::Netem, _)), Some(rtt)) =
            (network_delay::choose(args.rtt, args.target.is_empty()), args.rtt)
        {
            let code = network_delay::reexec_in_netns(rtt)
                .context("while starting the run in a network namespace")?;
            return Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)));
        }
    }
    let finished = loadgen::run::run(args, cancel_on_ctrl_c()).await?;
    let errors = finished.results.errors_total();
    if errors > 0 {
        eprintln!("loadgen: {errors} client errors were counted; see the report's error table");
    }
    let failure = finished.failure();
    println!("{}", finished.report.display());
    Ok(match failure {
        Some(why) => {
            eprintln!("loadgen: {why}");
            ExitCode::FAILURE
        }
        None => ExitCode::SUCCESS,
    })
}

/// Ctrl-C ends the current step early and writes what ran.
fn cancel_on_ctrl_c() -> CancellationToken {
    let cancel = CancellationToken::new();
    let on_ctrl_c = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("\nloadgen: Ctrl-C: finishing this step and writing what ran");
            on_ctrl_c.cancel();
        }
    });
    cancel
}

async fn capacity(args: CapacityArgs) -> anyhow::Result<ExitCode> {
    let quiet = args.quiet;
    let finished = loadgen::capacity::run(args, cancel_on_ctrl_c()).await?;
    if !quiet {
        for t in &finished.capacity.transports {
            eprintln!("{:>10}: {}", t.transport.name(), loadgen::capacity::held_line(t));
        }
    }
    println!("{}", finished.report.display());
    Ok(match &finished.capacity.interrupted {
        Some(why) => {
            eprintln!("loadgen: {why}");
            ExitCode::FAILURE
        }
        None => ExitCode::SUCCESS,
    })
}

fn merge(
    dirs: &[PathBuf],
    out: &std::path::Path,
    reference: Option<&std::path::Path>,
) -> anyhow::Result<ExitCode> {
    let parts = loadgen::merge::read_parts(dirs)?;
    // Read before anything is written: a wrong folder changes nothing.
    let reference = reference.map(loadgen::merge::read_reference).transpose()?;
    let merged = loadgen::merge::merge_with(&parts, out, reference)?;
    // The merged figures on stderr (stdout carries only the report's path, for scripts).
    eprint!("{}", loadgen::summary::table(&merged));
    if let Some(cluster) = reports::cluster::text(&merged) {
        eprint!("{cluster}");
    }
    let index = reports::render(&merged, out)
        .with_context(|| format!("while drawing the merged report in {}", out.display()))?;
    println!("{}", index.display());
    Ok(ExitCode::SUCCESS)
}

fn report(path: &std::path::Path) -> anyhow::Result<ExitCode> {
    if path.file_name().is_some_and(|n| n == "capacity.json") {
        let page = reports::capacity::render_file(path)
            .with_context(|| format!("while drawing the capacity report of {}", path.display()))?;
        println!("{}", page.display());
        return Ok(ExitCode::SUCCESS);
    }
    let index = reports::render_dir(path)
        .with_context(|| format!("while drawing the report of {}", path.display()))?;
    println!("{}", index.display());
    Ok(ExitCode::SUCCESS)
}
