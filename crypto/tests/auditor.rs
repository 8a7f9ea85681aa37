//! Auditor decrypt handles and their validity proofs: completeness, refusal of wrong handles,
//! keys, statements and tampered proofs (one at a time and in batches), strict encodings, and
//! decryption by hint or baby-step giant-step.

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use proptest::prelude::*;
use rand::SeedableRng;
use veil_crypto::auditor::{
    self, AuditContext, AuditorError, AuditorPublicKey, AuditorSecretKey, DecryptHandle,
    ValidityProof,
};
use veil_crypto::{Commitment, EncodingError, Opening, ProofError, pedersen};

const STATEMENT: [u8; 16] = *b"statement-id-001";
const PURPOSE: &str = "loan-amounts";

fn auditor() -> AuditorSecretKey {
    AuditorSecretKey::derive(&[7; 32]).unwrap()
}

fn context(key: &AuditorPublicKey) -> AuditContext<'_> {
    AuditContext {
        statement_id: &STATEMENT,
        purpose: PURPOSE,
        key,
    }
}

#[test]
fn handles_round_trip_and_decrypt() {
    let auditor = auditor();
    let ctx = context(auditor.public_key());
    let opening = Opening::random(150_000);
    let commitment = opening.commit();
    let (handle, proof) = ValidityProof::prove(&ctx, &opening);
    assert_eq!(handle, DecryptHandle::new(auditor.public_key(), &opening));
    proof.verify(&ctx, &commitment, &handle).unwrap();

    assert_eq!(
        auditor.decrypt_point(&commitment, &handle),
        RistrettoPoint::mul_base(&Scalar::from(150_000u64))
    );
    assert!(auditor.check_opening(&commitment, &handle, 150_000));
    assert!(!auditor.check_opening(&commitment, &handle, 150_001));
    assert_eq!(
        auditor.vartime_decrypt_amount(&commitment, &handle, Some(150_000)),
        Some(150_000)
    );
    assert_eq!(
        auditor.vartime_decrypt_amount(&commitment, &handle, None),
        Some(150_000)
    );
    // A wrong hint is not believed: the search finds the committed amount.
    assert_eq!(
        auditor.vartime_decrypt_amount(&commitment, &handle, Some(7)),
        Some(150_000)
    );
}

#[test]
fn keys_derive_deterministically_and_generate_from_an_rng() {
    assert_eq!(auditor(), AuditorSecretKey::derive(&[7; 32]).unwrap());
    assert_ne!(auditor(), AuditorSecretKey::derive(&[8; 32]).unwrap());
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let a = AuditorSecretKey::generate(&mut rng).unwrap();
    let b = AuditorSecretKey::generate(&mut rng).unwrap();
    assert_ne!(a, b);
    assert_ne!(a.public_key(), b.public_key());
    let restored = AuditorSecretKey::from_bytes(&a.to_bytes()).unwrap();
    assert_eq!(restored, a);
    assert_eq!(restored.public_key(), a.public_key());
    assert!(!format!("{a:?}").contains(&veil_crypto::encoding::to_hex(&*a.to_bytes())));
}

#[test]
fn a_handle_for_another_blinding_is_refused() {
    let auditor = auditor();
    let ctx = context(auditor.public_key());
    let opening = Opening::random(42);
    let commitment = opening.commit();
    let (handle, proof) = ValidityProof::prove(&ctx, &opening);
    // Same value, another blinding: its handle does not go with this commitment.
    let other = Opening::random(42);
    let (other_handle, other_proof) = ValidityProof::prove(&ctx, &other);
    assert_eq!(
        proof.verify(&ctx, &commitment, &other_handle),
        Err(ProofError::Verification)
    );
    assert_eq!(
        other_proof.verify(&ctx, &commitment, &other_handle),
        Err(ProofError::Verification)
    );
    // A handle shifted by any point is refused.
    let shifted = DecryptHandle::from_bytes(
        &(handle.point() + pedersen::generators().B)
            .compress()
            .to_bytes(),
    )
    .unwrap();
    assert_eq!(
        proof.verify(&ctx, &commitment, &shifted),
        Err(ProofError::Verification)
    );
    // And the auditor does not recover the amount through the wrong handle.
    assert!(!auditor.check_opening(&commitment, &other_handle, 42));
}

#[test]
fn a_handle_to_another_key_is_refused() {
    let auditor = auditor();
    let stranger = AuditorSecretKey::derive(&[9; 32]).unwrap();
    let opening = Opening::random(1000);
    let commitment = opening.commit();
    let (handle, proof) = ValidityProof::prove(&context(stranger.public_key()), &opening);
    proof
        .verify(&context(stranger.public_key()), &commitment, &handle)
        .unwrap();
    assert_eq!(
        proof.verify(&context(auditor.public_key()), &commitment, &handle),
        Err(ProofError::Verification)
    );
    assert!(!auditor.check_opening(&commitment, &handle, 1000));
    assert_eq!(
        auditor.vartime_decrypt_amount(&commitment, &handle, Some(1000)),
        None
    );
}

#[test]
fn proofs_are_bound_to_statement_purpose_and_commitment() {
    let auditor = auditor();
    let ctx = context(auditor.public_key());
    let opening = Opening::random(5);
    let commitment = opening.commit();
    let (handle, proof) = ValidityProof::prove(&ctx, &opening);
    let other_statement = *b"statement-id-002";
    let elsewhere = AuditContext {
        statement_id: &other_statement,
        ..ctx
    };
    assert_eq!(
        proof.verify(&elsewhere, &commitment, &handle),
        Err(ProofError::Verification)
    );
    let other_purpose = AuditContext {
        purpose: "funding",
        ..ctx
    };
    assert_eq!(
        proof.verify(&other_purpose, &commitment, &handle),
        Err(ProofError::Verification)
    );
    let other_commitment = Opening::new(6, *opening.blinding()).commit();
    assert_eq!(
        proof.verify(&ctx, &other_commitment, &handle),
        Err(ProofError::Verification)
    );
}

#[test]
fn every_tampered_bit_of_a_proof_is_refused() {
    let auditor = auditor();
    let ctx = context(auditor.public_key());
    let opening = Opening::random(77);
    let commitment = opening.commit();
    let (handle, proof) = ValidityProof::prove(&ctx, &opening);
    let bytes = proof.to_bytes();
    for bit in 0..8 * auditor::PROOF_LEN {
        let mut tampered = bytes;
        tampered[bit / 8] ^= 1 << (bit % 8);
        match ValidityProof::from_bytes(&tampered) {
            Err(ProofError::Encoding(_)) => {}
            Ok(decoded) => assert_eq!(
                decoded.verify(&ctx, &commitment, &handle),
                Err(ProofError::Verification),
                "bit {bit}"
            ),
            Err(other) => panic!("bit {bit}: {other:?}"),
        }
    }
    // Canonical but wrong responses: z_v + 1, z_r + 1.
    for offset in [64, 96] {
        let mut tampered = bytes;
        let z = Scalar::from_canonical_bytes(tampered[offset..offset + 32].try_into().unwrap())
            .unwrap();
        tampered[offset..offset + 32].copy_from_slice((z + Scalar::ONE).as_bytes());
        let decoded = ValidityProof::from_bytes(&tampered).unwrap();
        assert_eq!(
            decoded.verify(&ctx, &commitment, &handle),
            Err(ProofError::Verification)
        );
    }
}

#[test]
fn batches_verify_and_fail_on_any_bad_pair() {
    let auditor = auditor();
    let ctx = context(auditor.public_key());
    let openings: Vec<Opening> = (0..8u64)
        .map(|i| Opening::random(100_000 * (i + 1)))
        .collect();
    let refs: Vec<&Opening> = openings.iter().collect();
    let commitments: Vec<Commitment> = openings.iter().map(Opening::commit).collect();
    let proved = ValidityProof::prove_batch(&ctx, &refs).unwrap();
    let items: Vec<_> = commitments
        .iter()
        .zip(&proved)
        .map(|(c, (h, p))| (c, h, p))
        .collect();
    ValidityProof::verify_batch(&ctx, &items).unwrap();
    for ((c, (h, p)), value) in commitments.iter().zip(&proved).zip(1u64..) {
        p.verify(&ctx, c, h).unwrap();
        assert_eq!(
            auditor.vartime_decrypt_amount(c, h, None),
            Some(100_000 * value)
        );
    }

    let stranger = AuditorSecretKey::derive(&[9; 32]).unwrap();
    for bad in 0..items.len() {
        // One handle to another key (with a proof valid for that key).
        let (foreign_handle, foreign_proof) =
            ValidityProof::prove(&context(stranger.public_key()), &openings[bad]);
        let mut tampered = items.clone();
        tampered[bad] = (&commitments[bad], &foreign_handle, &foreign_proof);
        assert_eq!(
            ValidityProof::verify_batch(&ctx, &tampered),
            Err(ProofError::Verification),
            "foreign handle at {bad}"
        );
        // One proof moved to the next pair.
        let mut swapped = items.clone();
        swapped[bad].2 = items[(bad + 1) % items.len()].2;
        assert_eq!(
            ValidityProof::verify_batch(&ctx, &swapped),
            Err(ProofError::Verification),
            "swapped proof at {bad}"
        );
    }
    assert_eq!(
        ValidityProof::verify_batch(&ctx, &[]),
        Err(ProofError::InvalidStatement("no handles"))
    );
    assert!(ValidityProof::prove_batch(&ctx, &[]).is_err());
}

#[test]
fn encodings_round_trip_and_refuse_non_canonical_bytes() {
    let auditor = auditor();
    let ctx = context(auditor.public_key());
    let opening = Opening::random(31_337);
    let (handle, proof) = ValidityProof::prove(&ctx, &opening);

    let key = auditor.public_key();
    assert_eq!(AuditorPublicKey::from_bytes(&key.to_bytes()).unwrap(), *key);
    assert_eq!(AuditorPublicKey::from_hex(&key.to_hex()).unwrap(), *key);
    assert_eq!(
        DecryptHandle::from_bytes(&handle.to_bytes()).unwrap(),
        handle
    );
    assert_eq!(
        DecryptHandle::from_slice(&handle.to_bytes()).unwrap(),
        handle
    );
    assert_eq!(ValidityProof::from_bytes(&proof.to_bytes()).unwrap(), proof);
    assert_eq!(ValidityProof::from_hex(&proof.to_hex()).unwrap(), proof);
    assert_eq!(proof.to_bytes().len(), auditor::PROOF_LEN);
    assert_eq!(handle.to_bytes().len(), auditor::HANDLE_LEN);
    let json = serde_json::to_string(&(key, handle, proof)).unwrap();
    let decoded: (AuditorPublicKey, DecryptHandle, ValidityProof) =
        serde_json::from_str(&json).unwrap();
    assert_eq!(decoded, (*key, handle, proof));

    // The identity is a valid point but not a key.
    assert_eq!(
        AuditorPublicKey::from_bytes(&[0; 32]),
        Err(EncodingError::WeakKey)
    );
    // Not canonical field elements / not Ristretto encodings.
    let mut above_p = [0xffu8; 32];
    above_p[0] = 0xee;
    above_p[31] = 0x7f;
    let mut odd = [0u8; 32];
    odd[0] = 1;
    for bad in [above_p, odd] {
        assert_eq!(
            AuditorPublicKey::from_bytes(&bad),
            Err(EncodingError::InvalidPoint)
        );
        assert_eq!(
            DecryptHandle::from_bytes(&bad),
            Err(EncodingError::InvalidPoint)
        );
        for offset in [0, 32] {
            let mut bytes = proof.to_bytes();
            bytes[offset..offset + 32].copy_from_slice(&bad);
            assert_eq!(
                ValidityProof::from_bytes(&bytes),
                Err(ProofError::Encoding(EncodingError::InvalidPoint))
            );
        }
    }
    // ℓ is not a canonical scalar, in a proof or as a secret key.
    let ell = veil_crypto::encoding::from_hex_array::<32>(
        "edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010",
    )
    .unwrap();
    for offset in [64, 96] {
        let mut bytes = proof.to_bytes();
        bytes[offset..offset + 32].copy_from_slice(&ell);
        assert_eq!(
            ValidityProof::from_bytes(&bytes),
            Err(ProofError::Encoding(EncodingError::NonCanonicalScalar))
        );
    }
    assert_eq!(
        AuditorSecretKey::from_bytes(&ell),
        Err(AuditorError::Encoding(EncodingError::NonCanonicalScalar))
    );
    assert_eq!(
        AuditorSecretKey::from_bytes(&[0; 32]),
        Err(AuditorError::DegenerateKey)
    );
    // Wrong lengths.
    assert_eq!(
        ValidityProof::from_bytes(&proof.to_bytes()[..127]),
        Err(ProofError::Encoding(EncodingError::Length {
            expected: 128,
            got: 127
        }))
    );
    assert!(ValidityProof::from_bytes(&[0u8; 129]).is_err());
    assert_eq!(
        DecryptHandle::from_slice(&[0u8; 33]),
        Err(EncodingError::Length {
            expected: 32,
            got: 33
        })
    );
}

/// A ciphertext with a known value, made directly (no proof needed to decrypt).
fn encrypt(auditor: &AuditorSecretKey, value: u64) -> (Commitment, DecryptHandle) {
    let opening = Opening::random(value);
    (
        opening.commit(),
        DecryptHandle::new(auditor.public_key(), &opening),
    )
}

#[test]
fn baby_step_giant_step_recovers_amounts_below_the_bound() {
    let auditor = auditor();
    for value in [0u64, 1, (1 << 20) + 7, (1 << 32) - 1] {
        let (c, d) = encrypt(&auditor, value);
        assert_eq!(
            auditor.vartime_decrypt_amount(&c, &d, None),
            Some(value),
            "{value}"
        );
    }
}

#[test]
fn amounts_above_the_bound_need_a_correct_hint() {
    let auditor = auditor();
    for value in [1u64 << auditor::DLOG_BITS, u64::MAX] {
        let (c, d) = encrypt(&auditor, value);
        assert_eq!(auditor.vartime_decrypt_amount(&c, &d, None), None);
        assert_eq!(
            auditor.vartime_decrypt_amount(&c, &d, Some(value - 1)),
            None
        );
        assert_eq!(
            auditor.vartime_decrypt_amount(&c, &d, Some(value)),
            Some(value)
        );
        assert!(auditor.check_opening(&c, &d, value));
    }
}

/// Frozen encodings: a key derived from a fixed seed, the handle of a fixed opening, and a
/// proof made once. Old proofs must keep verifying.
#[test]
fn frozen_vector_keeps_verifying() {
    let auditor = auditor();
    assert_eq!(auditor.public_key().to_hex(), VECTOR_KEY);
    let opening = Opening::new(123_456_789, Scalar::from(987_654_321u64));
    let commitment = opening.commit();
    let handle = DecryptHandle::new(auditor.public_key(), &opening);
    assert_eq!(handle.to_hex(), VECTOR_HANDLE);
    let proof = ValidityProof::from_hex(VECTOR_PROOF).unwrap();
    proof
        .verify(&context(auditor.public_key()), &commitment, &handle)
        .unwrap();
    assert_eq!(
        auditor.vartime_decrypt_amount(&commitment, &handle, None),
        Some(123_456_789)
    );
}

const VECTOR_KEY: &str = "7805ff8e1de18243dec2cca27a781f408135c54bb55af1aed9278af36c74d55d";
const VECTOR_HANDLE: &str = "06f870c44aa57a3553499b8485479d325c246d0cc8df99c947c26dbfae66ba24";
const VECTOR_PROOF: &str = concat!(
    "1a69b817b68f8c1d1f3d57e103fe60f3dcc6ec4dbd206a6067d37f0ad34ff249",
    "cce0bd879aa35d00a3a3ff71e2de20d9dd823960598b5372e2f576e1e97cb26c",
    "ce7d3c14c9a1ac29911fd0a39927036d962412bb671c87d1d3266d07f75baa0d",
    "e3bfa110f55a7f1905daf694674a90927d048e4d276de4c29cd7bead3153a40a",
);

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn any_amount_below_the_bound_decrypts(value in 0u64..(1 << 32)) {
        let auditor = auditor();
        let (c, d) = encrypt(&auditor, value);
        prop_assert_eq!(auditor.vartime_decrypt_amount(&c, &d, None), Some(value));
    }

    #[test]
    fn any_amount_proves_and_decrypts_with_its_hint(value in any::<u64>()) {
        let auditor = auditor();
        let ctx = context(auditor.public_key());
        let opening = Opening::random(value);
        let commitment = opening.commit();
        let (handle, proof) = ValidityProof::prove(&ctx, &opening);
        prop_assert!(proof.verify(&ctx, &commitment, &handle).is_ok());
        prop_assert_eq!(
            auditor.vartime_decrypt_amount(&commitment, &handle, Some(value)),
            Some(value)
        );
    }
}
