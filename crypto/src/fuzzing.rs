//! Fuzzing harnesses: one function per decoder, shared by the cargo-fuzz targets in
//! `crypto/fuzz/` and by the test that replays their corpora (`tests/fuzz_corpus.rs`), so
//! every input the fuzzer kept is checked on stable Rust in CI.
//!
//! Each harness feeds arbitrary bytes to a decoder. A decoder must never panic; what it
//! accepts must re-encode to exactly the input (encodings are canonical); and no proof decoded
//! from arbitrary bytes verifies.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used, missing_docs)]

use curve25519_dalek::scalar::Scalar;

use crate::encryption_key::{EncryptionPublicKey, EncryptionSecretKey};
use crate::envelope::SealedGroup;
use crate::pedersen::{Commitment, Opening};
use crate::range_proof::{RangeProof, proof_len};
use crate::relation_proof::{Relation, RelationProof};
use crate::signature::{Signature, SigningKey, VerifyingKey};
use crate::view_key::{MasterViewKey, ScopedViewKey, ViewKeyring};

/// The fuzz targets, by name (the names of `crypto/fuzz/fuzz_targets/*.rs`).
/// A harness: arbitrary bytes in, a panic on a broken promise.
pub type Harness = fn(&[u8]);

/// The calling crate's directory, as a `PathBuf`: from cargo at run time (a test binary
/// reused from a build in another checkout still reads this checkout's files), else where the
/// caller was compiled. The corpus tests find `fuzz/corpus/` under it.
#[macro_export]
macro_rules! manifest_dir {
    () => {
        ::std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(
            || ::std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")),
            ::std::path::PathBuf::from,
        )
    };
}

/// Runs every input of `corpus/<target>/` through its harness (what each crate's corpus test
/// does on stable), first writing `seeds` there as `seed-NN` files if `VEIL_WRITE_FUZZ_SEEDS=1`.
/// Panics if a target's corpus is empty.
pub fn replay(corpus: &std::path::Path, targets: &[(&str, Harness)], seeds: &[(&str, Vec<u8>)]) {
    if std::env::var("VEIL_WRITE_FUZZ_SEEDS").is_ok_and(|v| v == "1") {
        for (i, (target, bytes)) in seeds.iter().enumerate() {
            std::fs::create_dir_all(corpus.join(target)).unwrap();
            std::fs::write(corpus.join(target).join(format!("seed-{i:02}")), bytes).unwrap();
        }
    }
    for (target, harness) in targets {
        let mut inputs = 0;
        for file in std::fs::read_dir(corpus.join(target)).into_iter().flatten() {
            harness(&std::fs::read(file.unwrap().path()).unwrap());
            inputs += 1;
        }
        assert!(inputs > 0, "the {target} corpus is empty");
    }
}

pub const TARGETS: &[(&str, Harness)] = &[
    ("envelope", envelope),
    ("range_proof", range_proof),
    ("relation_proof", relation_proof),
    ("keys", keys),
];

/// `SealedGroup::decode`: canonical round trip.
pub fn envelope(data: &[u8]) {
    if let Ok(group) = SealedGroup::decode(data) {
        assert_eq!(group.encode(), data, "non-canonical sealed group accepted");
    }
}

fn fixed_commitments(count: usize) -> Vec<Commitment> {
    (0..count)
        .map(|i| Opening::new(i as u64, Scalar::from(7u64 + i as u64)).commit())
        .collect()
}

/// `RangeProof::from_bytes`: canonical round trip; a decoded proof of a valid length does not
/// verify for a fixed statement.
pub fn range_proof(data: &[u8]) {
    let Ok(proof) = RangeProof::from_bytes(data) else {
        return;
    };
    assert_eq!(proof.to_bytes(), data, "non-canonical range proof accepted");
    for count in [1usize, 2, 4, 8] {
        if data.len() == proof_len(count) {
            let commitments = fixed_commitments(count);
            assert!(
                proof.verify(b"fuzz-entry", "fuzz", &commitments).is_err(),
                "an arbitrary range proof verified"
            );
        }
    }
}

/// `RelationProof::from_bytes`: canonical round trip; it does not verify a fixed relation.
pub fn relation_proof(data: &[u8]) {
    let Ok(proof) = RelationProof::from_bytes(data) else {
        return;
    };
    assert_eq!(
        proof.to_bytes()[..],
        data[..],
        "non-canonical relation proof"
    );
    let commitments = fixed_commitments(2);
    let terms = [(1i64, commitments[0]), (-1i64, commitments[1])];
    let relation = Relation {
        entry_id: b"fuzz-entry",
        purpose: "fuzz",
        terms: &terms,
        constant: 1,
    };
    assert!(
        proof.verify(&relation).is_err(),
        "an arbitrary relation proof verified"
    );
}

/// Key, commitment and signature decoders (binary, hex, PEM), selected by the first byte.
pub fn keys(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let array = <[u8; 32]>::try_from(rest).ok();
    let text = String::from_utf8_lossy(rest);
    match selector % 8 {
        0 => {
            if let Some(bytes) = array
                && let Ok(key) = VerifyingKey::from_bytes(&bytes)
            {
                assert_eq!(key.to_bytes(), bytes);
            }
        }
        1 => {
            if let Some(bytes) = array
                && let Ok(key) = EncryptionPublicKey::from_bytes(&bytes)
            {
                assert_eq!(key.to_bytes(), bytes);
            }
        }
        2 => {
            if let Some(bytes) = array
                && let Ok(commitment) = Commitment::from_bytes(&bytes)
            {
                assert_eq!(commitment.to_bytes(), bytes);
            }
        }
        3 => {
            if let Ok(signature) = Signature::from_slice(rest) {
                assert_eq!(signature.to_bytes()[..], rest[..]);
            }
        }
        4 => {
            let _ = SigningKey::from_pem(&text);
            let _ = VerifyingKey::from_pem(&text);
        }
        5 => {
            let _ = EncryptionSecretKey::from_pem(&text);
            let _ = EncryptionPublicKey::from_pem(&text);
        }
        6 => {
            let _ = MasterViewKey::from_pem(&text);
            let _ = ScopedViewKey::from_pem(&text);
            let _ = ViewKeyring::from_pem("fuzz-consortium", &text);
        }
        _ => {
            let _ = VerifyingKey::from_hex(&text);
            let _ = EncryptionPublicKey::from_hex(&text);
            let _ = Commitment::from_hex(&text);
        }
    }
}

/// Valid inputs to start each target's corpus from (written by `tests/fuzz_corpus.rs` with
/// `VEIL_WRITE_FUZZ_SEEDS=1`).
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let mut seeds = Vec::new();
    let policy_hash = [3u8; 32];
    let context = crate::envelope::FieldContext {
        consortium_id: "fuzz-consortium",
        entry_id: b"fuzz-entry-00001",
        schema_version: 1,
        policy_hash: &policy_hash,
    };
    let readers: Vec<EncryptionSecretKey> = (0..2)
        .map(|_| EncryptionSecretKey::generate().expect("rng"))
        .collect();
    let recipients: Vec<&EncryptionPublicKey> = readers.iter().map(|k| k.public_key()).collect();
    let group = crate::envelope::seal_group(
        &context,
        &recipients,
        &[
            ("borrower.name", b"\"Zhang Wei\""),
            ("principal", b"500000"),
        ],
    )
    .expect("seal");
    seeds.push(("envelope", group.encode()));
    for count in [1usize, 2] {
        let openings: Vec<Opening> = (0..count)
            .map(|i| Opening::random(1000 + i as u64))
            .collect();
        let refs: Vec<&Opening> = openings.iter().collect();
        let (proof, _) = RangeProof::prove(b"fuzz-entry", "fuzz", &refs).expect("prove");
        seeds.push(("range_proof", proof.to_bytes()));
    }
    let a = Opening::random(10);
    let b = Opening::random(9);
    let terms = [(1i64, a.commit()), (-1i64, b.commit())];
    let relation = Relation {
        entry_id: b"fuzz-entry",
        purpose: "fuzz",
        terms: &terms,
        constant: -1,
    };
    let proof = RelationProof::prove(&relation, &[&a, &b]).expect("prove");
    seeds.push(("relation_proof", proof.to_bytes().to_vec()));
    let signing = SigningKey::generate().expect("rng");
    let with = |selector: u8, bytes: &[u8]| [&[selector][..], bytes].concat();
    seeds.push(("keys", with(0, &signing.verifying_key().to_bytes())));
    seeds.push(("keys", with(1, &recipients[0].to_bytes())));
    seeds.push(("keys", with(2, &a.commit().to_bytes())));
    seeds.push((
        "keys",
        with(
            3,
            &signing
                .sign(crate::labels::signature::TEST, b"m")
                .to_bytes(),
        ),
    ));
    seeds.push(("keys", with(4, signing.verifying_key().to_pem().as_bytes())));
    seeds.push(("keys", with(5, recipients[0].to_pem().as_bytes())));
    seeds.push(("keys", with(7, recipients[0].to_hex().as_bytes())));
    seeds
}
