//! Fuzzing harness for policy files, shared by the cargo-fuzz target in `policies/fuzz/` and
//! the unit test replaying its corpus. A policy file comes from an operator's disk (`veil
//! policy check FILE`, gateway start): parsing must never panic, and an accepted file must
//! hash the same way every time it is parsed.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used, missing_docs)]

use crate::policy::Policies;

/// The fuzz targets, by name.
/// A harness: arbitrary bytes in, a panic on a broken promise.
pub type Harness = fn(&[u8]);

pub const TARGETS: &[(&str, Harness)] = &[("policy", policy)];

/// `Policies::parse` on arbitrary text.
pub fn policy(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(policies) = Policies::parse(&text) {
        let again = Policies::parse(&text).expect("accepted once, accepted again");
        assert_eq!(
            policies.hash(),
            again.hash(),
            "the policy hash is not stable"
        );
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn corpus(target: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/corpus")
            .join(target)
    }

    #[test]
    fn every_corpus_input_passes_its_harness() {
        if std::env::var("VEIL_WRITE_FUZZ_SEEDS").is_ok_and(|v| v == "1") {
            std::fs::create_dir_all(corpus("policy")).unwrap();
            std::fs::write(
                corpus("policy").join("seed-00"),
                crate::policy::DEFAULT_POLICIES,
            )
            .unwrap();
        }
        for (target, harness) in TARGETS {
            let mut inputs = 0;
            for file in std::fs::read_dir(corpus(target)).into_iter().flatten() {
                harness(&std::fs::read(file.unwrap().path()).unwrap());
                inputs += 1;
            }
            assert!(inputs > 0, "the {target} corpus is empty");
        }
    }
}
