//! The histogram files of one step, written beside `results.json`: `.hgrm` percentile
//! distributions (delivery, connect, and request for scheduled polls) and the delivery
//! interval log (one histogram per second of the window), named `<transport>-<clients>-…`.
//!
//! A file that cannot be written is left out of the step's `files` and handed back as a
//! [`WriteError`], for the step to count and say; the numbers are in `results.json` anyway.

use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use hdrhistogram::Histogram;
use proto::results::StepFiles;

use crate::hgrm;

/// A step's merged histograms, in microseconds.
pub struct Histograms {
    pub delivery: Histogram<u64>,
    pub connect: Histogram<u64>,
    /// Scheduled polls only.
    pub request: Option<Histogram<u64>>,
    /// Deliveries by second of the window.
    pub intervals: Vec<Histogram<u64>>,
}

/// A histogram file that could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {}: {source}", path.display())]
pub struct WriteError {
    pub path: PathBuf,
    pub source: io::Error,
}

/// What was written, and what could not be.
#[derive(Debug, Default)]
pub struct Written {
    pub files: StepFiles,
    pub failed: Vec<WriteError>,
}

/// Writes `h` into `out` under names starting with `base`; the interval log starts at
/// `window_start`.
pub fn write(out: &Path, base: &str, h: &Histograms, window_start: SystemTime) -> Written {
    let mut w = Written::default();
    w.files.delivery_hgrm = w.save(out, format!("{base}-delivery.hgrm"), || {
        Ok(hgrm::percentile_distribution(&h.delivery).into_bytes())
    });
    w.files.connect_hgrm = w.save(out, format!("{base}-connect.hgrm"), || {
        Ok(hgrm::percentile_distribution(&h.connect).into_bytes())
    });
    if let Some(request) = &h.request {
        w.files.request_hgrm = w.save(out, format!("{base}-request.hgrm"), || {
            Ok(hgrm::percentile_distribution(request).into_bytes())
        });
    }
    w.files.delivery_hlog = w.save(out, format!("{base}-delivery.hlog"), || {
        hgrm::interval_log(window_start, "delivery", &h.intervals)
    });
    // One interval each: what `loadgen merge` adds across load processes.
    w.files.connect_hlog = w.save(out, format!("{base}-connect.hlog"), || {
        hgrm::interval_log(window_start, "connect", std::slice::from_ref(&h.connect))
    });
    if let Some(request) = &h.request {
        w.files.request_hlog = w.save(out, format!("{base}-request.hlog"), || {
            hgrm::interval_log(window_start, "request", std::slice::from_ref(request))
        });
    }
    w
}

impl Written {
    /// Writes the file `name`; its name if written, the failure kept if not.
    fn save(
        &mut self,
        out: &Path,
        name: String,
        bytes: impl FnOnce() -> io::Result<Vec<u8>>,
    ) -> Option<String> {
        let path = out.join(&name);
        match bytes().and_then(|b| std::fs::write(&path, b)) {
            Ok(()) => Some(name),
            Err(source) => {
                self.failed.push(WriteError { path, source });
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn histograms(request: bool) -> Histograms {
        let mut delivery = hgrm::new_histogram();
        delivery.record(1500).expect("in range");
        Histograms {
            delivery,
            connect: hgrm::new_histogram(),
            request: request.then(hgrm::new_histogram),
            intervals: vec![hgrm::new_histogram()],
        }
    }

    #[test]
    fn every_file_is_named_and_written() {
        let dir = tempfile::tempdir().expect("scratch folder");
        let w = write(dir.path(), "short-poll-10", &histograms(true), SystemTime::now());
        assert!(w.failed.is_empty(), "{:?}", w.failed);
        let names = [
            &w.files.delivery_hgrm,
            &w.files.connect_hgrm,
            &w.files.request_hgrm,
            &w.files.delivery_hlog,
            &w.files.connect_hlog,
            &w.files.request_hlog,
        ];
        for name in names {
            let name = name.as_ref().expect("named");
            assert!(name.starts_with("short-poll-10-"));
            assert!(dir.path().join(name).metadata().expect("written").len() > 0);
        }
    }

    #[test]
    fn a_file_that_cannot_be_written_is_reported_not_named() {
        let dir = tempfile::tempdir().expect("scratch folder");
        let missing = dir.path().join("no-such-folder");
        let w = write(&missing, "ws-10", &histograms(false), SystemTime::now());
        assert_eq!(w.files, StepFiles::default(), "nothing named that is not there");
        assert_eq!(w.failed.len(), 4, "delivery, connect and their interval logs: {:?}", w.failed);
        assert!(w.failed[0].to_string().starts_with("cannot write "), "{}", w.failed[0]);
    }
}
