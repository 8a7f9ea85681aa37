//! Resident identity numbers (GB 11643-1999), checked before a national id is used for
//! anything: 18 characters — a 6-digit administrative region code, an 8-digit birth date
//! `YYYYMMDD`, a 3-digit sequence and a check character computed with ISO 7064 MOD 11-2
//! (`0`–`9` or `X`). A lowercase `x` is read as `X`: [`check`] returns the canonical form, the
//! one every borrower reference is computed from, so one person has one reference.

use core::fmt;

/// Why a national id is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NationalIdError {
    /// Not 18 characters.
    Length(usize),
    /// A character other than a digit in the first 17, or other than a digit or `X` last.
    Characters,
    /// The first two digits are no province-level region code.
    Region(String),
    /// The birth date is not a real date from 1900-01-01 to today.
    BirthDate(String),
    /// The check character is not the ISO 7064 MOD 11-2 check of the first 17 digits.
    CheckCharacter {
        /// The check character the first 17 digits give.
        expected: char,
    },
}

impl fmt::Display for NationalIdError {
    /// Reads after "it": "it is 16 characters, not 18".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Length(n) => write!(f, "is {n} characters, not 18"),
            Self::Characters => f.write_str("must be 17 digits then a digit or X"),
            Self::Region(code) => write!(f, "has region code {code}, which names no province"),
            Self::BirthDate(date) => write!(
                f,
                "has birth date {date}, which is not a real date from 1900 to today"
            ),
            Self::CheckCharacter { expected } => write!(
                f,
                "has the wrong check character (ISO 7064 MOD 11-2 of the first 17 digits is {expected})"
            ),
        }
    }
}

/// The province-level codes of GB/T 2260 (the first two digits of a region code), and 83: the
/// region code 830000 of the residence permits of Taiwan residents (GB 11643 numbering, since
/// 2018; Hong Kong's and Macao's are 810000 and 820000).
const PROVINCES: [u8; 35] = [
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52,
    53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83,
];

/// The ISO 7064 MOD 11-2 check character of 17 digits (GB 11643-1999 §8.2): weights
/// `2^(17−i) mod 11`, check `(12 − Σ mod 11) mod 11`, 10 written `X`.
///
/// # Panics
/// Never: non-digits count as 0 (callers check the digits first).
pub fn check_character(digits17: &[u8; 17]) -> char {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = digits17
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d.wrapping_sub(b'0') % 10) * w)
        .sum();
    ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'][(sum % 11) as usize]
}

/// Checks `id` and returns its canonical form (uppercase `X`).
///
/// # Errors
/// [`NationalIdError`]: which part is wrong.
pub fn check(id: &str) -> Result<String, NationalIdError> {
    check_at(id, today())
}

/// [`check`] against `today` (`(year, month, day)`).
fn check_at(id: &str, today: (u32, u32, u32)) -> Result<String, NationalIdError> {
    let bytes = id.as_bytes();
    if id.chars().count() != 18 {
        return Err(NationalIdError::Length(id.chars().count()));
    }
    // 18 characters but not 18 bytes: something other than ASCII digits (e.g. full-width).
    if bytes.len() != 18 {
        return Err(NationalIdError::Characters);
    }
    let digits: &[u8; 17] = bytes[..17]
        .try_into()
        .map_err(|_| NationalIdError::Characters)?;
    let last = bytes[17].to_ascii_uppercase();
    if !digits.iter().all(u8::is_ascii_digit) || !(last.is_ascii_digit() || last == b'X') {
        return Err(NationalIdError::Characters);
    }
    let number = |range: std::ops::Range<usize>| {
        digits[range]
            .iter()
            .fold(0u32, |n, d| n * 10 + u32::from(d - b'0'))
    };
    let province = number(0..2) as u8;
    if !PROVINCES.contains(&province) {
        return Err(NationalIdError::Region(id[..6].to_owned()));
    }
    let (year, month, day) = (number(6..10), number(10..12), number(12..14));
    let real = (1900..=9999).contains(&year)
        && (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && (year, month, day) <= today;
    if !real {
        return Err(NationalIdError::BirthDate(id[6..14].to_owned()));
    }
    let expected = check_character(digits);
    if char::from(last) != expected {
        return Err(NationalIdError::CheckCharacter { expected });
    }
    let mut canonical = id[..17].to_owned();
    canonical.push(expected);
    Ok(canonical)
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Today's date (UTC), `(year, month, day)`.
fn today() -> (u32, u32, u32) {
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400) as i64;
    let (year, month, day) = civil_from_days(days);
    (u32::try_from(year).unwrap_or(0), month, day)
}

/// The proleptic Gregorian date `(year, month, day)` of `days` since 1970-01-01 (Howard
/// Hinnant's `civil_from_days`).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// The days since 1970-01-01 of the proleptic Gregorian date `(year, month, day)` (Howard
/// Hinnant's `days_from_civil`, the inverse of [`civil_from_days`]); `None` for a date that
/// does not exist.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> Option<i64> {
    if !(1..=12).contains(&month)
        || !(1..=days_in_month(u32::try_from(year).ok()?, month)).contains(&day)
    {
        return None;
    }
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// The national id of region `region` (6 digits), birth date `birth` (`YYYYMMDD`) and
/// sequence `sequence` (0–999), with its check character: for generated test and demo
/// borrowers (not real people's).
/// (A `region` or `birth` of the wrong length gives an id [`check`] refuses.)
pub fn generate(region: &str, birth: &str, sequence: u16) -> String {
    let first = format!("{region}{birth}{:03}", sequence % 1000);
    let mut digits = [b'0'; 17];
    for (digit, byte) in digits.iter_mut().zip(first.bytes()) {
        *digit = byte;
    }
    format!("{first}{}", check_character(&digits))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TODAY: (u32, u32, u32) = (2026, 11, 30);

    #[test]
    fn valid_ids_pass_in_canonical_form() {
        // The check characters of GB 11643-1999's published example and of generated ids.
        assert_eq!(
            check_at("11010519491231002X", TODAY).unwrap(),
            "11010519491231002X"
        );
        assert_eq!(
            check_at("11010519491231002x", TODAY).unwrap(),
            "11010519491231002X"
        );
        let id = generate("310104", "19880229", 17);
        assert_eq!(check_at(&id, TODAY).unwrap(), id);
        assert_eq!(id.len(), 18);
    }

    #[test]
    fn every_kind_of_invalid_id_is_refused_with_its_reason() {
        let valid = generate("110101", "19900307", 777);
        let mut wrong_check = valid[..17].to_owned();
        let bad = if valid.ends_with('0') { '1' } else { '0' };
        wrong_check.push(bad);
        assert!(matches!(
            check_at(&wrong_check, TODAY),
            Err(NationalIdError::CheckCharacter { .. })
        ));
        for (id, error) in [
            ("", NationalIdError::Length(0)),
            ("1101011990030777", NationalIdError::Length(16)),
            ("1101011990030777777", NationalIdError::Length(19)),
            ("11010119900307777Y", NationalIdError::Characters),
            ("1101011990030777X7", NationalIdError::Characters),
            ("11010119900307 777", NationalIdError::Characters),
            (
                "１１０１０１１９９００３０７７７",
                NationalIdError::Length(16),
            ),
            // Eighteen characters, one of them a full-width digit: not its length, its digits.
            ("11010119900307777１", NationalIdError::Characters),
            (
                "990101199003077771",
                NationalIdError::Region("990101".into()),
            ),
            (
                "000000199003077771",
                NationalIdError::Region("000000".into()),
            ),
            (
                "110101199002307771",
                NationalIdError::BirthDate("19900230".into()),
            ),
            (
                "110101199013017771",
                NationalIdError::BirthDate("19901301".into()),
            ),
            (
                "110101190002297771",
                NationalIdError::BirthDate("19000229".into()),
            ),
            (
                "110101189912317771",
                NationalIdError::BirthDate("18991231".into()),
            ),
            (
                "110101202612017771",
                NationalIdError::BirthDate("20261201".into()),
            ),
        ] {
            assert_eq!(check_at(id, TODAY), Err(error), "{id}");
        }
        // Taiwan residents' residence permits (830000) are numbered like resident ids.
        assert!(check_at(&generate("830000", "19900307", 5), TODAY).is_ok());
        // 2000 was a leap year, 1900 was not.
        assert!(check_at(&generate("110101", "20000229", 1), TODAY).is_ok());
    }

    #[test]
    fn days_and_dates_round_trip() {
        for days in [-719_468, -1, 0, 1, 11_016, 20_422, 20_787, 2_932_896] {
            let (year, month, day) = civil_from_days(days);
            assert_eq!(days_from_civil(year, month, day), Some(days), "{days}");
        }
        assert_eq!(days_from_civil(1970, 1, 1), Some(0));
        assert_eq!(days_from_civil(2026, 11, 30), Some(20_787));
        assert_eq!(days_from_civil(2026, 2, 29), None);
        assert_eq!(days_from_civil(2026, 13, 1), None);
    }
}
