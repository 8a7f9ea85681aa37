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
