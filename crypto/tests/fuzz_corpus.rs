//! Replays every cargo-fuzz corpus of `crypto/fuzz/corpus/` through the same harnesses the
//! fuzz targets run (`veil_crypto::fuzzing`), so what fuzzing found stays fixed, on stable.
//!
//! `VEIL_WRITE_FUZZ_SEEDS=1 cargo test -p veil-crypto --test fuzz_corpus` (re)writes the seed
//! inputs (`seed-*` files) the corpora start from.

use std::path::PathBuf;

use veil_crypto::fuzzing;

fn corpus(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target)
}

#[test]
fn every_corpus_input_passes_its_harness() {
    if std::env::var("VEIL_WRITE_FUZZ_SEEDS").is_ok_and(|v| v == "1") {
        for (i, (target, bytes)) in fuzzing::seeds().into_iter().enumerate() {
            std::fs::create_dir_all(corpus(target)).unwrap();
            std::fs::write(corpus(target).join(format!("seed-{i:02}")), bytes).unwrap();
        }
    }
    for (target, harness) in fuzzing::TARGETS {
        let mut inputs = 0;
        for file in std::fs::read_dir(corpus(target)).unwrap() {
            let path = file.unwrap().path();
            harness(&std::fs::read(&path).unwrap());
            inputs += 1;
        }
        assert!(inputs > 0, "the {target} corpus is empty");
    }
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
