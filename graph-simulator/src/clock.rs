//! Civil dates and the timestamp formats Graph, Intune and Entra ID use,
//! without a date library.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds in a day.
pub(crate) const DAY: i64 = 86_400;

/// Seconds since the Unix epoch, now.
pub(crate) fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `(year, month, day)` of a day count since 1970-01-01 (proleptic Gregorian).
pub(crate) const fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn split(secs: i64) -> (i64, u32, u32, i64, i64, i64) {
    let days = secs.div_euclid(DAY);
    let rest = secs.rem_euclid(DAY);
    let (y, m, d) = civil_from_days(days);
    (y, m, d, rest / 3600, (rest / 60) % 60, rest % 60)
}

/// `YYYY-MM-DD` of a day count (as usage reports write dates).
pub(crate) fn date(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `2024-03-01T10:22:31Z` (Entra ID style).
pub(crate) fn timestamp(secs: i64) -> String {
    let (y, mo, d, h, mi, s) = split(secs);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// `2024-03-01T10:22:31.1234567Z` (Intune style, 7-digit fraction).
pub(crate) fn timestamp7(secs: i64, fraction: u32) -> String {
    let (y, mo, d, h, mi, s) = split(secs);
    let f = fraction % 10_000_000;
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{f:07}Z")
}

/// `2024-03-01T10:22:31` (the `date` in a Graph error's `innerError`).
pub(crate) fn inner_error_date(secs: i64) -> String {
    let (y, mo, d, h, mi, s) = split(secs);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}")
}

/// `2024-03-01 10:22:31Z` (the `timestamp` of a sign-in error).
pub(crate) fn aad_timestamp(secs: i64) -> String {
    let (y, mo, d, h, mi, s) = split(secs);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(19_783), "2024-03-01");
        assert_eq!(date(19_782), "2024-02-29");
        assert_eq!(date(-1), "1969-12-31");
        assert_eq!(timestamp(1_709_288_551), "2024-03-01T10:22:31Z");
        assert_eq!(
            timestamp7(1_709_288_551, 1_234_567),
            "2024-03-01T10:22:31.1234567Z"
        );
        assert_eq!(aad_timestamp(1_709_288_551), "2024-03-01 10:22:31Z");
        assert_eq!(inner_error_date(1_709_288_551), "2024-03-01T10:22:31");
    }
}
