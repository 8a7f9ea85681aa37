//! Range proofs and relation proofs: completeness, soundness against tampering, binding to
//! the statement, and the homomorphism they rely on.

use curve25519_dalek::scalar::Scalar;
use proptest::prelude::*;
use veil_crypto::pedersen::scalar_from_i128;
use veil_crypto::range_proof::{self, RangeProof};
use veil_crypto::relation_proof::{self, Relation, RelationProof};
use veil_crypto::{Commitment, EncodingError, Opening, ProofError};

const ENTRY: &[u8] = b"entry-0001";

#[test]
fn range_proofs_verify_for_every_aggregation_size() {
    for m in [1usize, 2, 3, 4, 5, 8] {
        let openings: Vec<Opening> = (0..m as u64)
            .map(|i| Opening::random(i * 1000 + 7))
            .collect();
        let refs: Vec<&Opening> = openings.iter().collect();
        let (proof, commitments) = RangeProof::prove(ENTRY, "amounts", &refs).unwrap();
        assert_eq!(commitments.len(), m);
        for (c, o) in commitments.iter().zip(&openings) {
            assert!(c.is_opened_by(o));
        }
        proof.verify(ENTRY, "amounts", &commitments).unwrap();
        let bytes = proof.to_bytes();
        assert_eq!(bytes.len(), range_proof::proof_len(m));
        let decoded = RangeProof::from_bytes_for(&bytes, m).unwrap();
        decoded.verify(ENTRY, "amounts", &commitments).unwrap();
    }
}

#[test]
fn range_proofs_cover_the_edges_of_the_range() {
    let openings = [Opening::random(0), Opening::random(u64::MAX)];
    let (proof, commitments) =
        RangeProof::prove(ENTRY, "edges", &[&openings[0], &openings[1]]).unwrap();
    proof.verify(ENTRY, "edges", &commitments).unwrap();
}

#[test]
fn a_negative_value_has_no_range_proof() {
    // A commitment to −1 (= ℓ − 1): cap − value with value > cap.
    let value = Opening::random(2500);
    let cap = 2400i128;
    assert!(Opening::linear_combination(&[(-1, &value)], cap).is_err());
    // Forging the opening by hand: a commitment to −1 cannot be range-proved, and a proof for
    // another value does not verify against it.
    let minus_one = Commitment::vartime_linear_combination(&[(-1, &value.commit())], cap);
    let honest = Opening::random(0);
    let (proof, _) = RangeProof::prove(ENTRY, "cap", &[&honest]).unwrap();
    assert_eq!(
        proof.verify(ENTRY, "cap", &[minus_one]),
        Err(ProofError::Verification)
    );
}

#[test]
fn range_proofs_are_bound_to_entry_purpose_and_commitments() {
    let openings = [Opening::random(10), Opening::random(20)];
    let (proof, commitments) =
        RangeProof::prove(ENTRY, "amounts", &[&openings[0], &openings[1]]).unwrap();
    assert_eq!(
        proof.verify(b"entry-0002", "amounts", &commitments),
        Err(ProofError::Verification)
    );
    assert_eq!(
        proof.verify(ENTRY, "funding", &commitments),
        Err(ProofError::Verification)
    );
    let swapped = [commitments[1], commitments[0]];
    assert_eq!(
        proof.verify(ENTRY, "amounts", &swapped),
        Err(ProofError::Verification)
    );
    assert_eq!(
        proof.verify(ENTRY, "amounts", &commitments[..1]),
        Err(ProofError::Verification)
    );
}

/// Every single-byte change of the proof bytes or of any commitment is refused.
#[test]
fn every_single_byte_change_of_a_range_proof_statement_is_refused() {
    let openings = [Opening::random(150_000), Opening::random(350_000)];
    let (proof, commitments) =
        RangeProof::prove(ENTRY, "funding", &[&openings[0], &openings[1]]).unwrap();
    let bytes = proof.to_bytes();
    let mut refused = 0;
    for i in 0..bytes.len() {
        let mut tampered = bytes.clone();
        tampered[i] ^= 0x01;
        let result = RangeProof::from_bytes_for(&tampered, 2)
            .and_then(|p| p.verify(ENTRY, "funding", &commitments));
        assert!(result.is_err(), "proof byte {i}");
        refused += 1;
    }
    for c in 0..commitments.len() {
        for i in 0..32 {
            let mut tampered = commitments[c].to_bytes();
            tampered[i] ^= 0x01;
            let Ok(changed) = Commitment::from_bytes(&tampered) else {
                refused += 1;
                continue;
            };
            let mut statement = commitments.clone();
            statement[c] = changed;
            assert!(
                proof.verify(ENTRY, "funding", &statement).is_err(),
                "commitment {c} byte {i}"
            );
            refused += 1;
        }
    }
    assert_eq!(refused, bytes.len() + 64);
}

#[test]
fn malformed_range_proofs_are_typed_errors() {
    assert!(matches!(
        RangeProof::from_bytes(&[0u8; 31]),
        Err(ProofError::Encoding(_))
    ));
    assert!(matches!(
        RangeProof::from_bytes(&vec![0u8; range_proof::MAX_PROOF_LEN + 32]),
        Err(ProofError::Encoding(EncodingError::TooLarge { .. }))
    ));
    assert!(matches!(
        RangeProof::from_bytes_for(&[0u8; 64], 1),
        Err(ProofError::Encoding(EncodingError::Length { .. }))
    ));
    // Non-canonical scalars (all 0xff) inside an otherwise well-sized proof.
    assert!(RangeProof::from_bytes_for(&vec![0xffu8; range_proof::proof_len(1)], 1).is_err());
    assert_eq!(
        RangeProof::prove(ENTRY, "x", &[]).unwrap_err(),
        ProofError::InvalidStatement("no values")
    );
    let many: Vec<Opening> = (0..65).map(Opening::random).collect();
    let refs: Vec<&Opening> = many.iter().collect();
    assert_eq!(
        RangeProof::prove(ENTRY, "x", &refs).unwrap_err(),
        ProofError::InvalidStatement("too many values")
    );
}

/// Funding: 150,000 + 350,000 − 500,000 = 0.
fn funding() -> (Vec<Opening>, Vec<(i64, Commitment)>) {
    let openings = vec![
        Opening::random(150_000),
        Opening::random(350_000),
        Opening::random(500_000),
    ];
    let terms = vec![
        (1, openings[0].commit()),
        (1, openings[1].commit()),
        (-1, openings[2].commit()),
    ];
    (openings, terms)
}

#[test]
fn relation_proofs_verify_and_refuse_false_relations() {
    let (openings, terms) = funding();
    let refs: Vec<&Opening> = openings.iter().collect();
    let relation = Relation {
        entry_id: ENTRY,
        purpose: "funding-sum",
        terms: &terms,
        constant: 0,
    };
    let proof = RelationProof::prove(&relation, &refs).unwrap();
    proof.verify(&relation).unwrap();
    let decoded = RelationProof::from_bytes(&proof.to_bytes()).unwrap();
    decoded.verify(&relation).unwrap();

    // The prover refuses to prove a false relation.
    let wrong = [
        Opening::random(150_000),
        Opening::random(350_001),
        Opening::random(500_000),
    ];
    let wrong_terms: Vec<(i64, Commitment)> = vec![
        (1, wrong[0].commit()),
        (1, wrong[1].commit()),
        (-1, wrong[2].commit()),
    ];
    let wrong_relation = Relation {
        terms: &wrong_terms,
        ..relation
    };
    assert_eq!(
        RelationProof::prove(&wrong_relation, &wrong.iter().collect::<Vec<_>>()).unwrap_err(),
        ProofError::UnsatisfiedWitness
    );
    // ... and an honest proof does not transfer to it.
    assert_eq!(proof.verify(&wrong_relation), Err(ProofError::Verification));
    // Openings that do not open the commitments are refused too.
    assert_eq!(
        RelationProof::prove(&relation, &[&openings[1], &openings[0], &openings[2]]).unwrap_err(),
        ProofError::UnsatisfiedWitness
    );
}

#[test]
fn relation_proofs_with_a_constant_and_coefficients() {
    // 3 allocations of a repayment of 10,001 by shares 3000/3000/4000 bps:
    // 10000·alloc_i ≤ share_i·amount is a relation with coefficients 10000 and share_i.
    let amount = Opening::random(10_001);
    let alloc = Opening::random(3000);
    // share·amount − 10000·alloc − remainder = 0 where remainder = 3000·10001 − 10000·3000 = 3000
    let remainder = Opening::random(3000);
    let terms = vec![
        (3000, amount.commit()),
        (-10_000, alloc.commit()),
        (-1, remainder.commit()),
    ];
    let relation = Relation {
        entry_id: ENTRY,
        purpose: "allocation-floor",
        terms: &terms,
        constant: 0,
    };
    let proof = RelationProof::prove(&relation, &[&amount, &alloc, &remainder]).unwrap();
    proof.verify(&relation).unwrap();

    // value ≤ cap as a constant relation: cap − value − slack = 0.
    let rate = Opening::random(1800);
    let slack = Opening::random(600);
    let terms = vec![(-1, rate.commit()), (-1, slack.commit())];
    let cap = Relation {
        entry_id: ENTRY,
        purpose: "rate-cap",
        terms: &terms,
        constant: 2400,
    };
    RelationProof::prove(&cap, &[&rate, &slack])
        .unwrap()
        .verify(&cap)
        .unwrap();
}

/// Every single-byte change of the proof, every commitment byte, every coefficient and the
/// constant, the entry id and the purpose: each is refused.
#[test]
fn every_change_to_a_relation_statement_or_proof_is_refused() {
    let (openings, terms) = funding();
    let refs: Vec<&Opening> = openings.iter().collect();
    let relation = Relation {
        entry_id: ENTRY,
        purpose: "funding-sum",
        terms: &terms,
        constant: 0,
    };
    let proof = RelationProof::prove(&relation, &refs).unwrap();
    let bytes = proof.to_bytes();
    let mut refused = 0;
    for i in 0..bytes.len() {
        for mask in [0x01u8, 0x80] {
            let mut tampered = bytes;
            tampered[i] ^= mask;
            let result = RelationProof::from_bytes(&tampered).and_then(|p| p.verify(&relation));
            assert!(result.is_err(), "proof byte {i} mask {mask:#x}");
            refused += 1;
        }
    }
    for t in 0..terms.len() {
        for i in 0..32 {
            let mut tampered = terms[t].1.to_bytes();
            tampered[i] ^= 0x01;
            if let Ok(changed) = Commitment::from_bytes(&tampered) {
                let mut changed_terms = terms.clone();
                changed_terms[t].1 = changed;
                let changed_relation = Relation {
                    terms: &changed_terms,
                    ..relation
                };
                assert!(
                    proof.verify(&changed_relation).is_err(),
                    "term {t} byte {i}"
                );
            }
            refused += 1;
        }
        for delta in [-1i64, 1, 10_000] {
            let mut changed_terms = terms.clone();
            changed_terms[t].0 += delta;
            let changed_relation = Relation {
                terms: &changed_terms,
                ..relation
            };
            assert!(proof.verify(&changed_relation).is_err(), "coefficient {t}");
            refused += 1;
        }
    }
    for constant in [-1i128, 1, 500_000] {
        assert!(
            proof
                .verify(&Relation {
                    constant,
                    ..relation
                })
                .is_err()
        );
        refused += 1;
    }
    assert!(
        proof
            .verify(&Relation {
                entry_id: b"entry-0002",
                ..relation
            })
            .is_err()
    );
    assert!(
        proof
            .verify(&Relation {
                purpose: "funding",
                ..relation
            })
            .is_err()
    );
    assert!(
        proof
            .verify(&Relation {
                terms: &terms[..2],
                ..relation
            })
            .is_err()
    );
    refused += 3;
    assert_eq!(refused, 128 + 3 * (32 + 3) + 3 + 3);
}

#[test]
fn malformed_relation_proofs_are_typed_errors() {
    assert_eq!(
        RelationProof::from_bytes(&[0u8; 63]),
        Err(ProofError::Encoding(EncodingError::Length {
            expected: relation_proof::PROOF_LEN,
            got: 63
        }))
    );
    let mut non_canonical = [0u8; 64];
    non_canonical[32..].copy_from_slice(&[0xff; 32]);
    assert_eq!(
        RelationProof::from_bytes(&non_canonical),
        Err(ProofError::Encoding(EncodingError::NonCanonicalScalar))
    );
    let mut bad_point = [0u8; 64];
    bad_point[0] = 1;
    assert_eq!(
        RelationProof::from_bytes(&bad_point),
        Err(ProofError::Encoding(EncodingError::InvalidPoint))
    );
    let empty = Relation {
        entry_id: ENTRY,
        purpose: "x",
        terms: &[],
        constant: 0,
    };
    assert_eq!(
        RelationProof::prove(&empty, &[]).unwrap_err(),
        ProofError::InvalidStatement("no terms")
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// commit(a, r) + commit(b, s) = commit(a + b, r + s), and public integer combinations
    /// commute with committing.
    #[test]
    fn commitments_are_homomorphic(
        a in 0u64..(1 << 62),
        b in 0u64..(1 << 62),
        k in -1000i64..1000,
        ra in any::<[u8; 32]>(),
        rb in any::<[u8; 32]>(),
    ) {
        let oa = Opening::new(a, Scalar::from_bytes_mod_order(ra));
        let ob = Opening::new(b, Scalar::from_bytes_mod_order(rb));
        let sum = Opening::linear_combination(&[(1, &oa), (1, &ob)], 0).unwrap();
        prop_assert_eq!(sum.value(), a + b);
        let expected_sum = oa.commit().point() + ob.commit().point();
        prop_assert_eq!(*sum.commit().point(), expected_sum);
        let combined = Commitment::vartime_linear_combination(
            &[(k, &oa.commit()), (1, &ob.commit())],
            0,
        );
        let expected = scalar_from_i128(i128::from(k)) * oa.commit().point() + ob.commit().point();
        prop_assert_eq!(*combined.point(), expected);
    }

    /// A relation proof exists exactly when the relation holds.
    #[test]
    fn relation_proofs_accept_exactly_true_relations(
        parts in proptest::collection::vec(0u64..1_000_000, 1..6),
        off_by in -3i64..3,
    ) {
        let total: u64 = parts.iter().sum();
        let claimed = (total as i64 + off_by) as u64;
        let mut openings: Vec<Opening> = parts.iter().map(|&v| Opening::random(v)).collect();
        openings.push(Opening::random(claimed));
        let mut terms: Vec<(i64, Commitment)> =
            openings[..parts.len()].iter().map(|o| (1, o.commit())).collect();
        terms.push((-1, openings[parts.len()].commit()));
        let relation = Relation { entry_id: ENTRY, purpose: "sum", terms: &terms, constant: 0 };
        let refs: Vec<&Opening> = openings.iter().collect();
        let result = RelationProof::prove(&relation, &refs);
        if off_by == 0 {
            let proof = result.unwrap();
            prop_assert!(proof.verify(&relation).is_ok());
        } else {
            prop_assert_eq!(result.unwrap_err(), ProofError::UnsatisfiedWitness);
        }
    }
}
