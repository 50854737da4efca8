//! How numbers are written in the report: one function per kind of figure.
//!
//! The summary, the tables and the chart labels all go through these, so a figure reads the
//! same everywhere; the tests rebuild the expected strings with the same rules.

/// An integer with thousands separators: `12,345`.
pub fn int(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A non-negative real rounded to an integer, with separators.
pub fn round(x: f64) -> String {
    if x.is_finite() && x >= 0.0 {
        int(x.round() as u64)
    } else {
        "n/a".to_string()
    }
}

/// The space between a figure and its unit: a no-break space, so "250 B" never breaks
/// across lines.
pub const NBSP: char = '\u{a0}';

/// A latency given in microseconds, written in milliseconds with about three significant
/// digits: `0.41 ms`, `4.12 ms`, `41.2 ms`, `412 ms`, `4,120 ms`, then seconds from 10 s.
pub fn latency_us(us: f64) -> String {
    let ms = us / 1000.0;
    if !ms.is_finite() || ms < 0.0 {
        "n/a".to_string()
    } else if ms < 10.0 {
        format!("{ms:.2}{NBSP}ms")
    } else if ms < 100.0 {
        format!("{ms:.1}{NBSP}ms")
    } else if ms < 10_000.0 {
        format!("{}{NBSP}ms", round(ms))
    } else {
        format!("{:.1}{NBSP}s", ms / 1000.0)
    }
}

/// A ratio: `4.2×` below ten, `557×` above.
pub fn ratio(r: f64) -> String {
    if !r.is_finite() {
        "n/a".to_string()
    } else if r < 10.0 {
        format!("{r:.1}×")
    } else {
        format!("{}×", round(r))
    }
}

/// A share 0–1 as a percentage with one decimal: `89.8%`.
pub fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

/// The share `part / whole` of a count as a percentage: `0.3%`; a share too small to show
/// at one decimal is `<0.1%` when the count is not zero, so a few lost events never read
/// `0.0%`; `0.0%` of nothing.
pub fn count_share(part: u64, whole: u64) -> String {
    let share = if whole == 0 { 0.0 } else { part as f64 / whole as f64 };
    if part > 0 && share < 0.0005 {
        "<0.1%".to_string()
    } else {
        percent(share)
    }
}

/// Bytes, rounded: `1,313 B`.
pub fn bytes(b: f64) -> String {
    format!("{}{NBSP}B", round(b))
}

/// Bytes as mebibytes with one decimal: `12.2 MiB`.
pub fn mib(b: u64) -> String {
    format!("{:.1}{NBSP}MiB", b as f64 / (1024.0 * 1024.0))
}

/// Bytes as kibibytes with one decimal: `112.6 KiB`.
pub fn kib(b: f64) -> String {
    format!("{:.1}{NBSP}KiB", b / 1024.0)
}

/// A rate or other real with a sensible number of decimals for its size.
pub fn real(x: f64) -> String {
    if !x.is_finite() {
        "n/a".to_string()
    } else if x.abs() >= 100.0 {
        round(x)
    } else if x.abs() >= 10.0 {
        format!("{x:.1}")
    } else if x.abs() >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    }
}

/// Bytes as gibibytes with one decimal: `23.5 GiB`.
pub fn gib(b: u64) -> String {
    format!("{:.1}{NBSP}GiB", b as f64 / (1024.0 * 1024.0 * 1024.0))
}

/// A real without trailing zeros: `10`, `2.5`, `0.125`.
pub fn plain(x: f64) -> String {
    if x.abs() >= 1000.0 {
        return round(x);
    }
    let text = format!("{x:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Seconds, as given (`10 s`, `2.5 s`).
pub fn seconds(s: f64) -> String {
    format!("{}{NBSP}s", plain(s))
}

/// A duration given in milliseconds, the way a person says it: `500 ms`, `1 s`, `2.5 s`.
pub fn duration_ms(ms: f64) -> String {
    if ms >= 1000.0 {
        seconds(ms / 1000.0)
    } else {
        format!("{}{NBSP}ms", plain(ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_a_person_writes_them() {
        assert_eq!(int(0), "0");
        assert_eq!(int(999), "999");
        assert_eq!(int(1000), "1,000");
        assert_eq!(int(1234567), "1,234,567");
        assert_eq!(latency_us(412.0), "0.41\u{a0}ms");
        assert_eq!(latency_us(4120.0), "4.12\u{a0}ms");
        assert_eq!(latency_us(41_240.0), "41.2\u{a0}ms");
        assert_eq!(latency_us(500_900.0), "501\u{a0}ms");
        assert_eq!(latency_us(4_120_000.0), "4,120\u{a0}ms");
        assert_eq!(latency_us(41_200_000.0), "41.2\u{a0}s");
        assert_eq!(ratio(5.26), "5.3×");
        assert_eq!(ratio(556.6), "557×");
        assert_eq!(percent(0.8979), "89.8%");
        assert_eq!(count_share(3, 10_000_000), "<0.1%", "not zero, too small for a decimal");
        assert_eq!(count_share(5, 10_000), "0.1%", "rounds up to a decimal");
        assert_eq!(
            (count_share(0, 1000), count_share(0, 0), count_share(30, 10_400)),
            ("0.0%".into(), "0.0%".into(), "0.3%".into())
        );
        assert_eq!(bytes(1313.394), "1,313\u{a0}B");
        assert_eq!(mib(12_792_627), "12.2\u{a0}MiB");
        assert_eq!(seconds(10.0), "10\u{a0}s");
        assert_eq!(seconds(2.5), "2.5\u{a0}s");
        assert_eq!(real(0.0123), "0.012");
        assert_eq!(real(f64::NAN), "n/a");
        assert_eq!(duration_ms(1000.0), "1\u{a0}s");
        assert_eq!(duration_ms(500.0), "500\u{a0}ms");
        assert_eq!(plain(10.0), "10");
        assert_eq!(gib(8 * 1024 * 1024 * 1024), "8.0\u{a0}GiB");
    }
}
