//! pushpull's report: `results.json` in, one self-contained `index.html` out (inline CSS and
//! SVG charts, no script, nothing referenced outside the file) with each chart also saved
//! as its own `.svg` beside it. Rendering is a pure function of the results: no network, no
//! clock, so any run from any machine can be drawn again.
//!
//! # Layout
//!
//! Data flows one way: results.json → derived numbers → charts, tables and summary →
//! templates → index.html and the .svg files.
//!
//! * `derived`: what is computed from the results (rates, costs per 1,000 deliveries, bytes
//!   per event, "kept up?", the step order, the headline client count), once, so that a
//!   chart and the table beside it never disagree.
//! * `format` writes each kind of figure; `palette` gives each transport its colour, marker
//!   and plain name. Both are used by everything below.
//! * `chart`: the seven charts, one file each, drawn with plotters into SVG strings.
//! * `table`: every number the charts show, per step, as plain data (`Table` of `Cell`s);
//!   `lubbers`: "the 2010 table, measured"; `summary`: the plain-words summary at the top,
//!   with `variants`' sentences on what HTTP/2, TLS and compression changed; `repeats`:
//!   medians and spreads of repeated steps, and which differences may be ranked; `polls`:
//!   how the pollers were paced (`--poll-mode`) and the polls never answered.
//! * A run may sweep variants (protocol, TLS, compression; `proto::variant`): every chart and
//!   table is keyed by `derived::Series` (transport × variant), and a run with one variant
//!   looks as if variants did not exist.
//! * `html`: fills `templates/index.html` (askama, checked at compile time, with
//!   `table.html`, `how-to-read.html` and `report.css` beside it) with all of the above.
//!
//! * `cluster`: the "Cluster" section (`templates/cluster.html`) of a run with several server
//!   nodes or load processes: who took part, per-node balance, bytes through NATS per event.
//! * `capacity`: the capacity report (`capacity.json` of `loadgen capacity` → `capacity.html`).
//!
//! [`render`] writes the page and the charts; [`render_dir`] reads a `results.json` and
//! renders beside it.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use proto::results::Results;

pub mod capacity;
pub mod chart;
pub mod cluster;
pub mod derived;
pub mod format;
pub mod html;
pub mod lubbers;
pub mod palette;
pub mod polls;
pub mod repeats;
pub mod summary;
pub mod table;
pub mod variants;

/// Writes `dir/index.html` and one `.svg` per chart beside it; returns the index's path.
pub fn render(results: &Results, dir: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("while creating {}", dir.display()))?;
    let charts = chart::draw_all(results).context("while drawing the charts")?;
    for c in &charts {
        let path = dir.join(format!("{}.svg", c.id));
        std::fs::write(&path, &c.svg).with_context(|| format!("while writing {}", path.display()))?;
    }
    let page = html::page(results, &charts).context("while filling the page's template")?;
    let index = dir.join("index.html");
    std::fs::write(&index, page).with_context(|| format!("while writing {}", index.display()))?;
    Ok(index)
}

/// Reads a `results.json` and renders its report beside it (`loadgen report DIR/results.json`);
/// returns the index's path.
pub fn render_dir(results_json: &Path) -> Result<PathBuf> {
    let text = std::fs::read_to_string(results_json)
        .with_context(|| format!("while reading {}", results_json.display()))?;
    let results: Results = Results::from_json(&text)
        .with_context(|| format!("while parsing {} as pushpull results", results_json.display()))?;
    let dir = match results_json.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    render(&results, &dir)
}
