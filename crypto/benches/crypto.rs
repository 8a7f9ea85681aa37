//! `cargo bench -p veil-crypto`: envelope seal/open, range proofs (ours next to raw
//! `bulletproofs` calls for the same statements, to measure the wrapper's overhead),
//! relation proofs, and auditor decrypt handles with their validity proofs.

use std::hint::black_box;

use bulletproofs::RangeProof as RawRangeProof;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use curve25519_dalek::scalar::Scalar;
use merlin::Transcript;
use veil_crypto::auditor::{AuditContext, AuditorSecretKey, DecryptHandle, ValidityProof};
use veil_crypto::envelope::{self, FieldContext};
use veil_crypto::range_proof::{self, RangeProof};
use veil_crypto::relation_proof::{Relation, RelationProof};
use veil_crypto::{EncryptionSecretKey, Opening, pedersen};

const POLICY: [u8; 32] = [9; 32];

fn context() -> FieldContext<'static> {
    FieldContext {
        consortium_id: "veil-bench",
        entry_id: b"entry-000000001",
        schema_version: 1,
        policy_hash: &POLICY,
    }
}

/// One entry: 10 fields in 3 reader groups (3, 3 and 4 fields), each for 3 recipients.
fn envelope_benches(c: &mut Criterion) {
    let recipients: Vec<EncryptionSecretKey> = (0..3u8)
        .map(|i| EncryptionSecretKey::derive(&[i + 1; 32]))
        .collect();
    let publics: Vec<_> = recipients.iter().map(|k| k.public_key()).collect();
    let value = [0x41u8; 48];
    let groups: [&[(&str, &[u8])]; 3] = [
        &[
            ("borrower.name", &value),
            ("borrower.national_id", &value),
            ("borrower.phone", &value),
        ],
        &[
            ("principal", &value),
            ("annual_rate_bps", &value),
            ("term_days", &value),
        ],
        &[
            ("funding.bank-a", &value),
            ("funding.bank-b", &value),
            ("funding.bank-c", &value),
            ("participants", &value),
        ],
    ];
    let ctx = context();
    let seal = || -> Vec<_> {
        groups
            .iter()
            .map(|fields| envelope::seal_group(&ctx, &publics, fields).unwrap())
            .collect()
    };
    c.bench_function(
        "envelope/seal entry (10 fields, 3 groups, 3 recipients)",
        |b| b.iter(|| black_box(seal())),
    );
    let sealed = seal();
    c.bench_function(
        "envelope/open entry (10 fields, 3 groups, one reader)",
        |b| {
            b.iter(|| {
                for group in &sealed {
                    black_box(group.open_all(&ctx, &recipients[1]).unwrap());
                }
            })
        },
    );
}

fn range_proof_benches(c: &mut Criterion) {
    let bp_gens = range_proof::bulletproof_generators();
    let pc_gens = pedersen::generators();
    let mut group = c.benchmark_group("range-proof");
    for m in [1usize, 2, 4, 8] {
        let openings: Vec<Opening> = (0..m as u64).map(|i| Opening::random(1000 + i)).collect();
        let refs: Vec<&Opening> = openings.iter().collect();
        let values: Vec<u64> = openings.iter().map(|o| o.value()).collect();
        let blindings: Vec<Scalar> = openings.iter().map(|o| *o.blinding()).collect();

        group.bench_with_input(BenchmarkId::new("veil/prove", m), &m, |b, _| {
            b.iter(|| black_box(RangeProof::prove(b"entry", "bench", &refs).unwrap()))
        });
        group.bench_with_input(BenchmarkId::new("raw/prove", m), &m, |b, _| {
            b.iter(|| {
                let mut transcript = Transcript::new(b"raw");
                black_box(
                    RawRangeProof::prove_multiple(
                        bp_gens,
                        pc_gens,
                        &mut transcript,
                        &values,
                        &blindings,
                        64,
                    )
                    .unwrap(),
                )
            })
        });

        let (proof, commitments) = RangeProof::prove(b"entry", "bench", &refs).unwrap();
        let mut transcript = Transcript::new(b"raw");
        let (raw_proof, raw_commitments) = RawRangeProof::prove_multiple(
            bp_gens,
            pc_gens,
            &mut transcript,
            &values,
            &blindings,
            64,
        )
        .unwrap();
        group.bench_with_input(BenchmarkId::new("veil/verify", m), &m, |b, _| {
            b.iter(|| proof.verify(b"entry", "bench", &commitments).unwrap())
        });
        group.bench_with_input(BenchmarkId::new("raw/verify", m), &m, |b, _| {
            b.iter(|| {
                let mut transcript = Transcript::new(b"raw");
                raw_proof
                    .verify_multiple(bp_gens, pc_gens, &mut transcript, &raw_commitments, 64)
                    .unwrap()
            })
        });
    }
    group.finish();
}

fn relation_proof_benches(c: &mut Criterion) {
    let openings = [
        Opening::random(150_000),
        Opening::random(200_000),
        Opening::random(150_000),
        Opening::random(500_000),
    ];
    let terms: Vec<_> = [1i64, 1, 1, -1]
        .iter()
        .zip(&openings)
        .map(|(k, o)| (*k, o.commit()))
        .collect();
    let relation = Relation {
        entry_id: b"entry",
        purpose: "funding-sum",
        terms: &terms,
        constant: 0,
    };
    let refs: Vec<&Opening> = openings.iter().collect();
    c.bench_function("relation-proof/prove (4 terms)", |b| {
        b.iter(|| black_box(RelationProof::prove(&relation, &refs).unwrap()))
    });
    let proof = RelationProof::prove(&relation, &refs).unwrap();
    c.bench_function("relation-proof/verify (4 terms)", |b| {
        b.iter(|| proof.verify(&relation).unwrap())
    });
}

/// One loan's amounts (about 8) with decrypt handles for the regulator's auditor key.
fn auditor_benches(c: &mut Criterion) {
    let auditor = AuditorSecretKey::derive(&[5; 32]).unwrap();
    let ctx = AuditContext {
        statement_id: b"statement-id-001",
        purpose: "loan-amounts",
        key: auditor.public_key(),
    };
    let openings: Vec<Opening> = (0..8u64)
        .map(|i| Opening::random(150_000_000 + i))
        .collect();
    let commitments: Vec<_> = openings.iter().map(Opening::commit).collect();
    let proved: Vec<_> = openings
        .iter()
        .map(|o| ValidityProof::prove(&ctx, o))
        .collect();
    let items: Vec<_> = commitments
        .iter()
        .zip(&proved)
        .map(|(c, (h, p))| (c, h, p))
        .collect();
    let (commitment, handle, proof) = items[0];

    let mut group = c.benchmark_group("auditor");
    group.bench_function("prove (handle + proof)", |b| {
        b.iter(|| black_box(ValidityProof::prove(&ctx, &openings[0])))
    });
    group.bench_function("verify one", |b| {
        b.iter(|| proof.verify(&ctx, commitment, handle).unwrap())
    });
    group.bench_function(BenchmarkId::new("verify batch", 8), |b| {
        b.iter(|| ValidityProof::verify_batch(&ctx, &items).unwrap())
    });
    group.bench_function("verify 8 one by one", |b| {
        b.iter(|| {
            for (c, h, p) in &items {
                p.verify(&ctx, c, h).unwrap();
            }
        })
    });
    group.bench_function("decrypt with hint", |b| {
        b.iter(|| black_box(auditor.vartime_decrypt_amount(commitment, handle, Some(150_000_000))))
    });
    // Baby-step giant-step without a hint, worst case below the bound (2^32 − 1: every giant
    // step); the table is built before measuring.
    let opening = Opening::random(u64::from(u32::MAX));
    let (worst_commitment, worst_handle) = (
        opening.commit(),
        DecryptHandle::new(auditor.public_key(), &opening),
    );
    black_box(auditor.vartime_decrypt_amount(&worst_commitment, &worst_handle, None));
    group.sample_size(10);
    group.bench_function("decrypt without hint (2^32 - 1)", |b| {
        b.iter(|| black_box(auditor.vartime_decrypt_amount(&worst_commitment, &worst_handle, None)))
    });
    group.finish();
}

criterion_group!(
    benches,
    envelope_benches,
    range_proof_benches,
    relation_proof_benches,
    auditor_benches
);
criterion_main!(benches);
