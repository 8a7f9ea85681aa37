//! Proofs made with dev keys for the small settlement shape: they verify for their statement
//! only, and untrusted bytes are validated.

use std::sync::OnceLock;

use super::*;
use crate::CircuitError;
use crate::settlement::fixtures::{SMALL, statement, three};
use crate::settlement::{SettlementCircuit, SettlementPublic};
use ark_bn254::Fr;
use ark_std::rand::rngs::OsRng;

/// Dev keys for the small test shape, made once per test binary.
pub(crate) fn keys() -> &'static ProvingKey {
    static KEYS: OnceLock<ProvingKey> = OnceLock::new();
    KEYS.get_or_init(|| crate::dev::setup(SettlementCircuit::blank(SMALL), "tests").unwrap())
}

pub(crate) fn proved() -> (SettlementPublic, Proof) {
    let (public, witness) = statement(SMALL, three(), 1);
    let circuit = SettlementCircuit {
        shape: SMALL,
        public: Some(public.clone()),
        witness: Some(witness),
    };
    (public, keys().prove(circuit, &mut OsRng).unwrap())
}

#[test]
fn an_honest_proof_verifies() {
    let (public, proof) = proved();
    let vk = keys().verifying_key();
    assert_eq!(vk.public_inputs(), SMALL.public_inputs());
    vk.verify(&public.inputs(), &proof).unwrap();
    let decoded = Proof::from_bytes(&proof.to_bytes()).unwrap();
    vk.verify(&public.inputs(), &decoded).unwrap();
}

#[test]
fn every_changed_public_input_fails() {
    let (public, proof) = proved();
    let vk = keys().verifying_key();
    let inputs = public.inputs();
    for i in 0..inputs.len() {
        let mut changed = inputs.clone();
        changed[i] += Fr::from(1u64);
        assert_eq!(
            vk.verify(&changed, &proof),
            Err(CircuitError::Verification),
            "input {i}"
        );
    }
    assert!(vk.verify(&inputs[1..], &proof).is_err());
}

#[test]
fn a_rerandomized_proof_cannot_replay_into_another_entry() {
    let (public, proof) = proved();
    let vk = keys().verifying_key();
    let fresh = proof.rerandomize(&vk, &mut OsRng);
    assert_ne!(fresh.to_bytes(), proof.to_bytes());
    vk.verify(&public.inputs(), &fresh).unwrap();
    let mut other = public.clone();
    other.entry[0] ^= 1;
    assert!(vk.verify(&other.inputs(), &fresh).is_err());
    let mut other_period = public;
    other_period.period += 1;
    assert!(vk.verify(&other_period.inputs(), &fresh).is_err());
}

#[test]
fn an_unsatisfied_witness_is_not_proved() {
    let (mut public, witness) = statement(SMALL, three(), 1);
    public.count += 1;
    let circuit = SettlementCircuit {
        shape: SMALL,
        public: Some(public.clone()),
        witness: Some(witness),
    };
    assert!(matches!(
        keys().prove(circuit, &mut OsRng),
        Err(CircuitError::Unsatisfied(_))
    ));
}

#[test]
fn untrusted_bytes_are_validated() {
    let (public, proof) = proved();
    let bytes = proof.to_bytes();
    assert_eq!(bytes.len(), PROOF_LEN);
    assert!(Proof::from_bytes(&bytes[..127]).is_err());
    assert!(Proof::from_bytes(&[bytes.clone(), vec![0]].concat()).is_err());
    let vk = keys().verifying_key();
    // Every single-bit flip is refused on decode or fails verification.
    for bit in 0..bytes.len() * 8 {
        let mut flipped = bytes.clone();
        flipped[bit / 8] ^= 1 << (bit % 8);
        if let Ok(p) = Proof::from_bytes(&flipped) {
            assert!(vk.verify(&public.inputs(), &p).is_err(), "bit {bit}");
        }
    }
    let vk_bytes = vk.to_bytes();
    assert_eq!(VerifyingKey::from_bytes(&vk_bytes).unwrap(), vk);
    assert!(VerifyingKey::from_bytes(&vk_bytes[..vk_bytes.len() - 1]).is_err());
    let mut bad = vk_bytes.clone();
    bad[5] ^= 0x40;
    if let Ok(changed) = VerifyingKey::from_bytes(&bad) {
        assert_ne!(changed.digest(), vk.digest());
    }
    assert!(field::from_bytes(&[0xff; 32]).is_err());
    let x = Fr::from(12345u64);
    assert_eq!(field::from_bytes(&field::to_bytes(&x)).unwrap(), x);
}

#[test]
fn dev_setup_is_deterministic() {
    let again = crate::dev::setup(SettlementCircuit::blank(SMALL), "tests").unwrap();
    assert_eq!(
        again.verifying_key().digest(),
        keys().verifying_key().digest()
    );
    let other = crate::dev::setup(SettlementCircuit::blank(SMALL), "other").unwrap();
    assert_ne!(
        other.verifying_key().digest(),
        keys().verifying_key().digest()
    );
}

#[test]
fn proofs_after_the_first_check_the_witness_against_the_kept_matrices() {
    // A key of its own: its first proof records the matrices, the later ones only compute
    // the witness.
    let key = crate::dev::setup(SettlementCircuit::blank(SMALL), "tests").unwrap();
    let vk = key.verifying_key();
    let circuit = |count_offset: u64| {
        let (mut public, witness) = statement(SMALL, three(), 1);
        public.count += count_offset;
        let circuit = SettlementCircuit {
            shape: SMALL,
            public: Some(public.clone()),
            witness: Some(witness),
        };
        (public, circuit)
    };
    for _ in 0..2 {
        let (public, honest) = circuit(0);
        let (proof, phases) = key.prove_with_phases(honest, &mut OsRng).unwrap();
        vk.verify(&public.inputs(), &proof).unwrap();
        assert!(phases.msm > std::time::Duration::ZERO);
    }
    let (_, unsatisfied) = circuit(1);
    assert!(matches!(
        key.prove(unsatisfied, &mut OsRng),
        Err(CircuitError::Unsatisfied(
            crate::Unsatisfied::Constraint { .. }
        ))
    ));

    // Another circuit with this key: its constraint system is not the key's.
    let (public, witness) = crate::screening::fixtures::statement(0x42);
    let screening = crate::screening::ScreeningCircuit {
        public: Some(public),
        witness: Some(witness),
    };
    assert_eq!(
        key.prove(screening, &mut OsRng),
        Err(CircuitError::Shape(crate::ShapeError::KeyMismatch))
    );
}

/// Four proofs of four statements (entry ids 0 to 3).
fn four_proved() -> Vec<(Vec<Fr>, Proof)> {
    (0..4u8)
        .map(|k| {
            let (mut public, witness) = statement(SMALL, three(), 1);
            public.entry[0] = k;
            let circuit = SettlementCircuit {
                shape: SMALL,
                public: Some(public.clone()),
                witness: Some(witness),
            };
            (public.inputs(), keys().prove(circuit, &mut OsRng).unwrap())
        })
        .collect()
}

fn batch_of(proved: &[(Vec<Fr>, Proof)]) -> Vec<(&[Fr], &Proof)> {
    proved.iter().map(|(i, p)| (i.as_slice(), p)).collect()
}

#[test]
fn a_batch_of_valid_proofs_verifies_and_one_bad_proof_is_named() {
    let vk = keys().verifying_key();
    let proved = four_proved();
    vk.verify_batch(&batch_of(&proved), &mut OsRng).unwrap();
    vk.verify_batch(&[], &mut OsRng).unwrap();

    for bad in 0..proved.len() {
        // Another statement's inputs.
        let mut changed = proved.clone();
        changed[bad].0 = proved[(bad + 1) % proved.len()].0.clone();
        assert_eq!(
            vk.verify_batch(&batch_of(&changed), &mut OsRng),
            Err(BatchVerificationError { index: bad })
        );
        // Another statement's proof.
        let mut swapped = proved.clone();
        swapped[bad].1 = proved[(bad + 1) % proved.len()].1.clone();
        assert_eq!(
            vk.verify_batch(&batch_of(&swapped), &mut OsRng),
            Err(BatchVerificationError { index: bad })
        );
        // Too few inputs.
        let mut short = proved.clone();
        short[bad].0.pop();
        assert_eq!(
            vk.verify_batch(&batch_of(&short), &mut OsRng),
            Err(BatchVerificationError { index: bad })
        );
    }

    // Two proofs exchanged between their statements: both are wrong, the first is named.
    let mut exchanged = proved.clone();
    exchanged.swap(1, 2);
    (exchanged[1].0, exchanged[2].0) = (proved[1].0.clone(), proved[2].0.clone());
    assert_eq!(
        vk.verify_batch(&batch_of(&exchanged), &mut OsRng),
        Err(BatchVerificationError { index: 1 })
    );
    // Two wrong proofs whose errors cancel in an unweighted product (C₀ + D and C₁ − D):
    // the random weights keep them apart.
    let shift = proved[2].1.0.c;
    let mut cancelling = proved.clone();
    cancelling[0].1.0.c = (proved[0].1.0.c + shift).into();
    cancelling[1].1.0.c = (proved[1].1.0.c - shift).into();
    assert!(vk.verify(&cancelling[0].0, &cancelling[0].1).is_err());
    assert_eq!(
        vk.verify_batch(&batch_of(&cancelling), &mut OsRng),
        Err(BatchVerificationError { index: 0 })
    );
}
