//! Request bodies every conforming JSON reader reads the same way: I-JSON (RFC 7493).
//!
//! RFC 8259 leaves some texts open to interpretation: a member name given twice in one object
//! (§4: "the behavior of software that receives such an object is unpredictable"; most
//! parsers keep the last value, some the first, some refuse), and numbers beyond what an
//! IEEE 754 double holds exactly (§6). A proxy, a log or a regulator's tool that reads such a
//! body another way than the gateway did would see another request than the ledger holds, so
//! the gateway refuses any body that is not I-JSON:
//! - no duplicate member names in any object, at any depth, compared after unescaping
//!   (`"amount"` and `"\u0061mount"` are the same name; RFC 7493 §2.3);
//! - no number beyond ±(2⁵³ − 1) (RFC 7493 §2.2), integer or not;
//! - no surrogate or noncharacter code points in strings (RFC 7493 §2.1; `serde_json`
//!   already refuses lone surrogates).
//!
//! It walks the body with `serde_json`'s own parser, so what it checks is exactly what the
//! typed parse then reads.

use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// The largest magnitude of a number every JSON reader holds exactly: 2⁵³ − 1.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Checks that `body` is one I-JSON value with nothing after it.
///
/// # Errors
/// A sentence naming what is ambiguous or malformed (and where, as serde_json reports it).
pub fn check(body: &[u8]) -> Result<(), String> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    Strict
        .deserialize(&mut deserializer)
        .and_then(|()| deserializer.end())
        .map_err(|e| e.to_string())
}

/// One value, checked.
struct Strict;

impl<'de> DeserializeSeed<'de> for Strict {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

fn text<E: de::Error>(value: &str) -> Result<(), E> {
    match value.chars().find(|&c| is_noncharacter(c)) {
        Some(c) => Err(E::custom(format!(
            "ambiguous JSON: a string holds the noncharacter U+{:04X} (RFC 7493 §2.1)",
            u32::from(c)
        ))),
        None => Ok(()),
    }
}

/// Unicode noncharacters: U+FDD0..=U+FDEF and the last two code points of every plane.
fn is_noncharacter(c: char) -> bool {
    let c = u32::from(c);
    (0xFDD0..=0xFDEF).contains(&c) || c & 0xFFFE == 0xFFFE
}

fn number<E: de::Error>() -> E {
    E::custom(format!(
        "ambiguous JSON: a number beyond ±{MAX_SAFE_INTEGER} (2^53 - 1), which readers hold \
         differently (RFC 7493 §2.2)"
    ))
}

impl<'de> Visitor<'de> for Strict {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<(), E> {
        if value > MAX_SAFE_INTEGER {
            return Err(number());
        }
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<(), E> {
        if value.unsigned_abs() > MAX_SAFE_INTEGER {
            return Err(number());
        }
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<(), E> {
        #[allow(clippy::cast_precision_loss)]
        if !value.is_finite() || value.abs() > MAX_SAFE_INTEGER as f64 {
            return Err(number());
        }
        Ok(())
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<(), E> {
        text(value)
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Strict)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut names = HashSet::new();
        while let Some(name) = map.next_key::<String>()? {
            text(&name)?;
            map.next_value_seed(Strict)?;
            if !names.insert(name) {
                // The name itself is the caller's own input, not a stored value.
                return Err(de::Error::custom(
                    "ambiguous JSON: an object names the same member twice (RFC 7493 §2.3)",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unambiguous_bodies_pass() {
        for body in [
            r#"{"type":"loan.repaid","fields":{"loan_id":"L-1","amount":45001}}"#,
            r#"{"a":[1,2,{"b":null,"c":true}],"d":-9007199254740991,"e":1.5,"f":"\u00e9\ud83d\ude00"}"#,
            r#"{"same":{"x":1},"other":{"x":2}}"#,
            "  [] ",
            "9007199254740991",
        ] {
            assert_eq!(check(body.as_bytes()), Ok(()), "{body}");
        }
    }

    #[test]
    fn every_body_two_readers_could_read_differently_is_refused() {
        for body in [
            // Duplicate names, at the top, nested, in arrays, and spelled differently.
            r#"{"type":"a","type":"b"}"#,
            r#"{"fields":{"amount":1,"amount":45001}}"#,
            r#"{"fields":{"borrower":{"name":"a","name":"b"}}}"#,
            r#"{"list":[{"bank":"a","bank":"b"}]}"#,
            r#"{"fields":{"amount":1,"\u0061mount":2}}"#,
            r#"{"a":1,"a":1}"#,
            // Numbers beyond 2^53 - 1, as integers, negatives, beyond u64, or floats.
            r#"{"amount":9007199254740992}"#,
            r#"{"amount":18446744073709551615}"#,
            r#"{"amount":18446744073709551616}"#,
            r#"{"amount":-9007199254740993}"#,
            r#"{"amount":1e300}"#,
            r#"{"amount":9.007199254740993e15}"#,
            // Code points I-JSON excludes.
            r#"{"name":"\ud800"}"#,
            r#"{"name":"\udc00x"}"#,
            r#"{"name":"\uffff"}"#,
            r#"{"\ufdd0":1}"#,
            // Not one value.
            r#"{"a":1} {"a":2}"#,
            r#"{"a":1}x"#,
            "\u{feff}{}",
            r#"{"a":NaN}"#,
        ] {
            assert!(check(body.as_bytes()).is_err(), "accepted {body}");
        }
    }

    #[test]
    fn raw_noncharacters_and_invalid_utf8_are_refused() {
        assert!(check("{\"n\":\"\u{fffe}\"}".as_bytes()).is_err());
        assert!(check(b"{\"n\":\"\xff\"}").is_err());
    }
}
