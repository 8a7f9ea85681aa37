//! Replays every cargo-fuzz corpus of `crypto/fuzz/corpus/` through the same harnesses the
//! fuzz targets run (`veil_crypto::fuzzing`), so what fuzzing found stays fixed, on stable.
//!
//! `VEIL_WRITE_FUZZ_SEEDS=1 cargo test -p veil-crypto --test fuzz_corpus` (re)writes the seed
//! inputs (`seed-*` files) the corpora start from.

use veil_crypto::fuzzing;

#[test]
fn every_corpus_input_passes_its_harness() {
    fuzzing::replay(
        &veil_crypto::manifest_dir!().join("fuzz/corpus"),
        fuzzing::TARGETS,
        &fuzzing::seeds(),
    );
}

#[test]
fn seeds_are_accepted_by_their_decoders() {
    // The seeds are valid encodings: the harnesses' round-trip checks run on them.
    for (target, bytes) in fuzzing::seeds() {
        let (_, harness) = fuzzing::TARGETS
            .iter()
            .find(|(name, _)| *name == target)
            .unwrap();
        harness(&bytes);
    }
}
