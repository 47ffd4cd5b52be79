//! Human-readable numbers: three significant digits, k/M/G suffixes for rates.

use crate::report::Unit;

/// `value` with three significant digits and its unit, e.g. `12.3k files/s`, `4.10 µs`,
/// `1510 MiB/s`.
pub fn format_value(value: f64, unit: Unit) -> String {
    let number = match unit {
        Unit::MibPerSec | Unit::Micros => sig3(value),
        Unit::FilesPerSec | Unit::EntriesPerSec | Unit::Iops => si(value),
    };
    format!("{number} {}", unit.symbol())
}

/// Three significant digits with a k/M/G suffix.
pub(crate) fn si(value: f64) -> String {
    let a = value.abs();
    let (v, suffix) = if a >= 1e9 {
        (value / 1e9, "G")
    } else if a >= 1e6 {
        (value / 1e6, "M")
    } else if a >= 1e3 {
        (value / 1e3, "k")
    } else {
        (value, "")
    };
    format!("{}{suffix}", sig3(v))
}

/// Three significant digits, no exponent (large values keep all their integer digits).
pub(crate) fn sig3(v: f64) -> String {
    let a = v.abs();
    if a >= 100.0 || a == 0.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        // Three significant digits however small: 0.500, 0.0123, 0.000360.
        let decimals = (2 - a.log10().floor() as i32).clamp(3, 12) as usize;
        format!("{v:.decimals$}")
    }
}

/// A ratio such as `0.42×`.
pub(crate) fn ratio(r: f64) -> String {
    format!("{}×", sig3(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_get_suffixes_and_three_digits() {
        assert_eq!(format_value(12345.0, Unit::FilesPerSec), "12.3k files/s");
        assert_eq!(format_value(1_510_000.0, Unit::Iops), "1.51M IOPS");
        assert_eq!(format_value(999.0, Unit::EntriesPerSec), "999 entries/s");
        assert_eq!(format_value(1510.4, Unit::MibPerSec), "1510 MiB/s");
        assert_eq!(format_value(4.1, Unit::Micros), "4.10 µs");
        assert_eq!(format_value(0.25, Unit::Micros), "0.250 µs");
        assert_eq!(ratio(0.4234), "0.423×");
        assert_eq!(ratio(1.0), "1.00×");
        assert_eq!(ratio(0.0123), "0.0123×");
        assert_eq!(ratio(0.00036), "0.000360×");
        assert_eq!(sig3(0.0), "0");
    }
}
