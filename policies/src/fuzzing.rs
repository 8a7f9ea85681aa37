//! Fuzzing harness for policy files, shared by the cargo-fuzz target in `policies/fuzz/` and
//! the unit test replaying its corpus. A policy file comes from an operator's disk (`veil
//! policy check FILE`, gateway start): parsing must never panic, and an accepted file must
//! hash the same way every time it is parsed.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used, missing_docs)]

use veil_crypto::fuzzing::Harness;

use crate::policy::Policies;

/// The fuzz targets, by name.
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
    use super::*;

    #[test]
    fn every_corpus_input_passes_its_harness() {
        let seed = crate::policy::DEFAULT_POLICIES.as_bytes().to_vec();
        veil_crypto::fuzzing::replay(
            &veil_crypto::manifest_dir!().join("fuzz/corpus"),
            TARGETS,
            &[("policy", seed)],
        );
    }
}
