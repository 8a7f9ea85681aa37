//! Clearing periods as the numbers circuits take.

/// A clearing period as the number circuits take: `YYYY-MM` → `YYYYMM`, `YYYY-MM-DD` →
/// `YYYYMMDD`. `None` for anything else.
pub fn period_number(period: &str) -> Option<u64> {
    let bytes = period.as_bytes();
    let valid = match bytes.len() {
        7 => bytes.get(4) == Some(&b'-'),
        10 => bytes.get(4) == Some(&b'-') && bytes.get(7) == Some(&b'-'),
        _ => false,
    };
    if !valid {
        return None;
    }
    let digits: String = period.chars().filter(|c| *c != '-').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods() {
        assert_eq!(period_number("2026-11"), Some(202611));
        assert_eq!(period_number("2026-11-26"), Some(20261126));
        for bad in ["2026/11", "202611", "2026-1", "2026-11-2", "abcd-ef", ""] {
            assert_eq!(period_number(bad), None, "{bad}");
        }
    }
}
