//! HdrHistogram output formats: the `.hgrm` percentile distribution (the text that wrk2 and
//! HdrHistogram's log processor print, which the HdrHistogram plotter reads) and interval
//! logs (one histogram per second, V2-compressed), so runs from several machines can be merged.
//! [`crate::files`] writes them.
//!
//! Values are recorded in microseconds; the `.hgrm` prints milliseconds (scaling ratio 1000),
//! as wrk2 does.

use std::fmt::Write as _;
use std::io;
use std::time::{Duration, SystemTime};

use hdrhistogram::serialization::interval_log::IntervalLogWriterBuilder;
use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::Histogram;

use proto::results::Latency;

/// A latency histogram in microseconds: 1 µs to 1 hour, 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

/// The `.hgrm` text of `h` (µs in, ms out).
pub fn percentile_distribution(h: &Histogram<u64>) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:>12} {:>14} {:>10} {:>14}\n",
        "Value", "Percentile", "TotalCount", "1/(1-Percentile)"
    );
    if h.is_empty() {
        let _ = writeln!(out, "#[Mean    = {:>12.3}, StdDeviation   = {:>12.3}]", 0.0, 0.0);
        let _ = writeln!(out, "#[Max     = {:>12.3}, Total count    = {:>12}]", 0.0, 0);
        let _ =
            writeln!(out, "#[Buckets = {:>12}, SubBuckets     = {:>12}]", h.buckets(), h.distinct_values());
        return out;
    }
    let mut total = 0u64;
    for v in h.iter_quantiles(5) {
        total += v.count_since_last_iteration();
        let q = v.quantile_iterated_to();
        let value = v.value_iterated_to() as f64 / 1000.0;
        if q < 1.0 {
            let _ = writeln!(out, "{value:>12.3} {q:>14.12} {total:>10} {:>14.2}", 1.0 / (1.0 - q));
        } else {
            let _ = writeln!(out, "{value:>12.3} {q:>14.12} {total:>10}");
        }
    }
    let _ = writeln!(
        out,
        "#[Mean    = {:>12.3}, StdDeviation   = {:>12.3}]",
        h.mean() / 1000.0,
        h.stdev() / 1000.0
    );
    let _ = writeln!(out, "#[Max     = {:>12.3}, Total count    = {:>12}]", h.max() as f64 / 1000.0, h.len());
    let _ = writeln!(out, "#[Buckets = {:>12}, SubBuckets     = {:>12}]", h.buckets(), h.distinct_values());
    out
}

/// The summary `results.json` keeps of a histogram, with the spectrum points for the chart.
pub fn summarize(h: &Histogram<u64>) -> Latency {
    if h.is_empty() {
        return Latency::default();
    }
    let spectrum = h
        .iter_quantiles(2)
        .map(|v| (v.quantile_iterated_to() * 100.0, h.highest_equivalent(v.value_iterated_to())))
        .collect();
    Latency {
        count: h.len(),
        mean: h.mean(),
        min: h.min(),
        p50: h.value_at_quantile(0.50),
        p90: h.value_at_quantile(0.90),
        p99: h.value_at_quantile(0.99),
        p999: h.value_at_quantile(0.999),
        max: h.max(),
        spectrum,
    }
}

/// An interval log of per-second histograms starting at `start`.
pub fn interval_log(start: SystemTime, tag: &str, intervals: &[Histogram<u64>]) -> io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    let mut serializer = V2DeflateSerializer::new();
    {
        let mut w = IntervalLogWriterBuilder::new()
            .add_comment(&format!("pushpull {tag}, values in microseconds"))
            .with_start_time(start)
            .with_base_time(start)
            .with_max_value_divisor(1000.0)
            .begin_log_with(&mut buf, &mut serializer)
            .map_err(io::Error::other)?;
        for (i, h) in intervals.iter().enumerate() {
            let t = Duration::from_secs(i as u64);
            w.write_histogram(
                h,
                t,
                Duration::from_secs(1),
                hdrhistogram::serialization::interval_log::Tag::new(tag),
            )
            .map_err(|e| io::Error::other(format!("{e:?}")))?;
        }
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hgrm_has_the_standard_shape_and_counts() {
        let mut h = new_histogram();
        for v in 1..=1000u64 {
            h.record(v * 10).expect("in range");
        }
        let text = percentile_distribution(&h);
        let rows: Vec<&str> =
            text.lines().filter(|l| l.trim_start().starts_with(|c: char| c.is_ascii_digit())).collect();
        assert!(rows.len() > 20, "a percentile spectrum, not a summary");
        let last: Vec<&str> = rows.last().expect("rows").split_whitespace().collect();
        assert_eq!(last[1].parse::<f64>().expect("q"), 1.0);
        assert_eq!(last[2], "1000", "the last row's total count is every sample");
        assert!((last[0].parse::<f64>().expect("ms") - 10.0).abs() < 0.02, "max 10 000 µs = 10 ms");
        assert!(text.contains("#[Max     =") && text.contains("Total count    =         1000]"));
        let s = summarize(&h);
        assert_eq!(s.count, 1000);
        assert!((s.p50 as i64 - 5000).abs() <= 5, "p50 {}", s.p50);
        assert!(
            s.spectrum.first().is_some_and(|p| p.0 < 1.0) && s.spectrum.last().is_some_and(|p| p.0 == 100.0)
        );
    }

    #[test]
    fn interval_log_reads_back() {
        let mut a = new_histogram();
        a.record(100).expect("in range");
        let mut b = new_histogram();
        b.record(200).expect("in range");
        b.record(300).expect("in range");
        let bytes = interval_log(SystemTime::now(), "delivery", &[a, b]).expect("encoded");
        let n = hdrhistogram::serialization::interval_log::IntervalLogIterator::new(&bytes)
            .filter(|e| matches!(e, Ok(hdrhistogram::serialization::interval_log::LogEntry::Interval(_))))
            .count();
        assert_eq!(n, 2);
    }
}
