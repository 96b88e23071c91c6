//! Parsers for free-form argument values (amounts, dates, idempotency keys).
//!
//! They run as clap value parsers, so a malformed value is a usage error (exit code 2) before any
//! connection is made, with a message that says what the value should look like.

/// Parses an amount in euro, `1560,00`, `1560.00`, `1.560,00`, `1560,5` or `1560`, into cents: the one euro
/// parser of the hub and hubctl (`erp_import::german`), in its notation for typed amounts.
pub fn amount_cents(input: &str) -> Result<i64, String> {
    erp_import::german::typed_amount_cents(input).map_err(|m| m.en)
}

/// Formats cents as euro with a decimal point, e.g. `1560.00 EUR`.
pub fn format_cents(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{}.{:02} EUR", abs / 100, abs % 100)
}

/// Checks an ISO 8601 calendar date (`YYYY-MM-DD`) and returns it unchanged.
///
/// The hub validates dates too; checking here turns a typo into a usage error that names the
/// option instead of a round trip that comes back as INVALID_ARGUMENT.
pub fn date(input: &str) -> Result<String, String> {
    let malformed = || format!("invalid date '{input}'; expected YYYY-MM-DD, e.g. 2026-01-16");
    let bytes = input.as_bytes();
    let shape_ok = bytes.len() == 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes.iter().enumerate().all(|(index, byte)| index == 4 || index == 7 || byte.is_ascii_digit());
    if !shape_ok {
        return Err(malformed());
    }
    let number = |range: std::ops::Range<usize>| input[range].parse::<u32>().map_err(|_| malformed());
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err(malformed()),
    };
    if day == 0 || day > days_in_month {
        return Err(malformed());
    }
    Ok(input.to_owned())
}

/// Checks an idempotency key the way the hub does (1-128 printable ASCII characters), so a
/// script learns about a bad key before it thinks a request was sent.
pub fn idempotency_key(input: &str) -> Result<String, String> {
    let printable = input.bytes().all(|byte| byte.is_ascii_graphic() || byte == b' ');
    if input.is_empty() || input.len() > 128 || !printable {
        return Err(format!("invalid idempotency key '{input}'; expected 1-128 printable ASCII characters"));
    }
    Ok(input.to_owned())
}

/// Checks a staff member name for the `x-staff-member` header, which carries ASCII only.
pub fn staff_member(input: &str) -> Result<String, String> {
    let trimmed = input.trim();
    let printable = trimmed.bytes().all(|byte| byte.is_ascii_graphic() || byte == b' ');
    if trimmed.is_empty() || !printable {
        return Err(format!(
            "invalid staff member '{input}'; gRPC metadata carries printable ASCII only \
             (write umlauts as ae, oe, ue, ss)"
        ));
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_with_comma_or_point() {
        assert_eq!(amount_cents("1560,00"), Ok(156_000));
        assert_eq!(amount_cents("1560.00"), Ok(156_000));
        assert_eq!(amount_cents("1560"), Ok(156_000));
        assert_eq!(amount_cents("1560,5"), Ok(156_050));
        assert_eq!(amount_cents("0,07"), Ok(7));
        assert_eq!(amount_cents("1560,00 €"), Ok(156_000));
    }

    #[test]
    fn malformed_amounts_are_refused() {
        assert_eq!(amount_cents("1.560,00"), Ok(156_000), "German thousands, as on the dashboard");
        for input in ["", "1.560.00", "-5", "12,345", "abc", ",50", "1e3", "99999999999999999999"] {
            assert!(amount_cents(input).is_err(), "{input}");
        }
    }

    #[test]
    fn formats_cents() {
        assert_eq!(format_cents(156_000), "1560.00 EUR");
        assert_eq!(format_cents(7), "0.07 EUR");
        assert_eq!(format_cents(-150), "-1.50 EUR");
    }

    #[test]
    fn dates() {
        assert!(date("2026-01-16").is_ok());
        assert!(date("2024-02-29").is_ok());
        for input in ["2025-02-29", "2026-13-01", "2026-1-16", "16.01.2026", "2026-01-00", "2026-04-31"] {
            assert!(date(input).is_err(), "{input}");
        }
    }

    #[test]
    fn idempotency_keys() {
        assert!(idempotency_key("retry-42").is_ok());
        assert!(idempotency_key("").is_err());
        assert!(idempotency_key(&"k".repeat(129)).is_err());
        assert!(idempotency_key("tab\there").is_err());
    }

    #[test]
    fn staff_members() {
        assert_eq!(staff_member(" Frau Meyer "), Ok("Frau Meyer".to_owned()));
        assert!(staff_member("Jörg").is_err());
    }
}
