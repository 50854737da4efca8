//! The HTML report of a run: one self-contained `index.html` (inline SVG charts, inline CSS,
//! no script, no external reference) plus each chart as its own `.svg` beside it.
//!
//! - `derived.rs` computes rates, costs and "kept up?" from a step; `format.rs` writes numbers;
//!   `palette.rs` gives each transport its colour, marker and plain name.
//! - `chart/` draws the seven charts (one file each), `table.rs` the tables of every number
//!   they show, `summary.rs` the plain-words summary, `lubbers.rs` "the 2010 table, measured".
//! - `html.rs` assembles the page. Everything comes from `results.json` alone.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use proto::results::Results;

pub mod chart;
pub mod derived;
pub mod format;
pub mod html;
pub mod lubbers;
pub mod palette;
pub mod summary;
pub mod table;

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
    let results: Results = serde_json::from_str(&text)
        .with_context(|| format!("while parsing {} as pushpull results", results_json.display()))?;
    let dir = match results_json.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    render(&results, &dir)
}
