//! How people write amounts and dates in forms: `1.560,00 €`, `1560`, `28.01.2026` or the browser's
//! `2026-01-28`. The partner page and the dashboard read them the same way.

use super::time::Day;

/// A euro amount as people write it (`1560`, `1560,00`, `1.560,00`, `1560.00`) in cents: the one euro
/// parser of the hub, hubctl and the importers, in its notation for typed amounts.
pub fn euro_cents(s: &str) -> Option<i64> {
    erp_import::german::typed_amount_cents(s).ok()
}

/// A date as `2026-01-28` (HTML date input) or `28.01.2026`.
pub fn day(s: &str) -> Option<Day> {
    if let Ok(d) = Day::parse(s) {
        return Some(d);
    }
    let mut parts = s.split('.');
    let (d, m, y) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    Day::parse(&format!("{y:0>4}-{m:0>2}-{d:0>2}")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn euro_amounts_as_people_write_them() {
        assert_eq!(euro_cents("1560"), Some(156_000));
        assert_eq!(euro_cents("1560,00"), Some(156_000));
        assert_eq!(euro_cents("1.560,50"), Some(156_050));
        assert_eq!(euro_cents("1560.5"), Some(156_050));
        assert_eq!(euro_cents("1.560 €"), Some(156_000));
        for bad in ["", "abc", "-5", "1,2,3", "12345678901"] {
            assert_eq!(euro_cents(bad), None, "{bad}");
        }
    }

    #[test]
    fn dates_in_both_forms() {
        assert_eq!(day("2026-01-28").map(|d| d.to_string()), Some("2026-01-28".into()));
        assert_eq!(day("28.01.2026").map(|d| d.to_string()), Some("2026-01-28".into()));
        assert_eq!(day("31.02.2026"), None);
        assert_eq!(day("28.01"), None);
    }
}
