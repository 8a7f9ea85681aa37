//! Groth16 over BN254: keys, proofs, proving and verification, with untrusted bytes always
//! deserialized with validation (on the curve, in the prime-order subgroup, canonical, exact
//! length).

use ark_bn254::{Bn254, Fr};
use ark_groth16::{Groth16, PreparedVerifyingKey};
use ark_relations::r1cs::{ConstraintSynthesizer, ConstraintSystem, OptimizationGoal};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, Validate};
use ark_snark::SNARK as _;
use ark_std::rand::{CryptoRng, RngCore};
use sha2::{Digest as _, Sha256};

use crate::CircuitError;

/// Bytes of a compressed proof (A and C in G1, B in G2).
pub const PROOF_LEN: usize = 128;

/// A Groth16 proof.
#[derive(Debug, Clone, PartialEq)]
pub struct Proof(pub(crate) ark_groth16::Proof<Bn254>);

impl Proof {
    /// The 128-byte compressed encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(PROOF_LEN);
        self.0
            .serialize_compressed(&mut out)
            .expect("writing to a Vec cannot fail");
        out
    }

    /// Decodes untrusted bytes: exactly [`PROOF_LEN`] bytes of valid, subgroup-checked points.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CircuitError> {
        if bytes.len() != PROOF_LEN {
            return Err(CircuitError::Encoding("a proof is 128 bytes".into()));
        }
        decode(bytes).map(Self)
    }

    /// The same statement's proof under fresh randomness (anyone can do this; see the tests:
    /// it still verifies only for the statement it was made for).
    pub fn rerandomize(&self, vk: &VerifyingKey, rng: &mut (impl RngCore + CryptoRng)) -> Self {
        Self(Groth16::<Bn254>::rerandomize_proof(&vk.key, &self.0, rng))
    }
}

/// A proving key (held by the gateways that write the statement's entries).
#[derive(Debug, Clone, PartialEq)]
pub struct ProvingKey(pub(crate) ark_groth16::ProvingKey<Bn254>);

impl ProvingKey {
    /// Its verifying key.
    pub fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey::new(self.0.vk.clone())
    }

    /// Compressed encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.0
            .serialize_compressed(&mut out)
            .expect("writing to a Vec cannot fail");
        out
    }

    /// Decodes a key file, validating every point.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CircuitError> {
        decode(bytes).map(Self)
    }

    /// Decodes a key this process wrote or verified before (a gateway's own key file),
    /// without the per-point subgroup checks that take minutes on the largest keys. Safe for
    /// soundness: a proving key cannot make a false statement verify, and the caller compares
    /// its verifying key with the genesis's; a damaged file only yields proofs the nodes refuse.
    pub fn from_trusted_bytes(bytes: &[u8]) -> Result<Self, CircuitError> {
        let mut reader = bytes;
        let key = ark_groth16::ProvingKey::<Bn254>::deserialize_with_mode(
            &mut reader,
            Compress::Yes,
            Validate::No,
        )
        .map_err(|e| CircuitError::Encoding(e.to_string()))?;
        if !reader.is_empty() {
            return Err(CircuitError::Encoding("trailing bytes".into()));
        }
        Ok(Self(key))
    }

    /// Proves `circuit`'s statement; a witness that does not satisfy it is an error (the
    /// circuit is synthesized and checked first, so no invalid proof is ever made).
    pub fn prove<C: ConstraintSynthesizer<Fr> + Clone>(
        &self,
        circuit: C,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<Proof, CircuitError> {
        crate::quietly(|| {
            let cs = ConstraintSystem::new_ref();
            cs.set_optimization_goal(OptimizationGoal::Constraints);
            circuit
                .clone()
                .generate_constraints(cs.clone())
                .map_err(|e| CircuitError::Unsatisfied(e.to_string()))?;
            if !cs.is_satisfied().unwrap_or(false) {
                let at = cs.which_is_unsatisfied().ok().flatten().unwrap_or_default();
                return Err(CircuitError::Unsatisfied(format!(
                    "the witness does not satisfy the circuit {at}"
                )));
            }
            Groth16::<Bn254>::prove(&self.0, circuit, rng)
                .map(Proof)
                .map_err(|e| CircuitError::Unsatisfied(e.to_string()))
        })
    }
}

/// A verifying key, prepared for fast verification.
#[derive(Debug, Clone)]
pub struct VerifyingKey {
    pub(crate) key: ark_groth16::VerifyingKey<Bn254>,
    prepared: PreparedVerifyingKey<Bn254>,
}

impl PartialEq for VerifyingKey {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for VerifyingKey {}

impl VerifyingKey {
    pub(crate) fn new(key: ark_groth16::VerifyingKey<Bn254>) -> Self {
        let prepared = ark_groth16::prepare_verifying_key(&key);
        Self { key, prepared }
    }

    /// Compressed encoding; its SHA-256 is what the genesis pins.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.key
            .serialize_compressed(&mut out)
            .expect("writing to a Vec cannot fail");
        out
    }

    /// Decodes a key, validating every point.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CircuitError> {
        decode(bytes).map(Self::new)
    }

    /// SHA-256 of [`VerifyingKey::to_bytes`].
    pub fn digest(&self) -> [u8; 32] {
        Sha256::digest(self.to_bytes()).into()
    }

    /// How many public inputs the key takes.
    pub fn public_inputs(&self) -> usize {
        self.key.gamma_abc_g1.len().saturating_sub(1)
    }

    /// Verifies `proof` for `inputs`.
    pub fn verify(&self, inputs: &[Fr], proof: &Proof) -> Result<(), CircuitError> {
        if inputs.len() != self.public_inputs() {
            return Err(CircuitError::Verification);
        }
        match Groth16::<Bn254>::verify_with_processed_vk(&self.prepared, inputs, &proof.0) {
            Ok(true) => Ok(()),
            _ => Err(CircuitError::Verification),
        }
    }
}

fn decode<T: CanonicalDeserialize>(bytes: &[u8]) -> Result<T, CircuitError> {
    let mut reader = bytes;
    let value = T::deserialize_with_mode(&mut reader, Compress::Yes, Validate::Yes)
        .map_err(|e| CircuitError::Encoding(e.to_string()))?;
    if !reader.is_empty() {
        return Err(CircuitError::Encoding("trailing bytes".into()));
    }
    Ok(value)
}

/// Field elements as 32-byte little-endian canonical encodings (what entries carry).
pub mod field {
    use super::*;
    use ark_ff::{BigInteger as _, PrimeField as _};

    /// The canonical encoding.
    pub fn to_bytes(x: &Fr) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(&x.into_bigint().to_bytes_le());
        out
    }

    /// Decodes a canonical encoding; values at or above the modulus are refused.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Fr, CircuitError> {
        let x = Fr::from_le_bytes_mod_order(bytes);
        if to_bytes(&x) != *bytes {
            return Err(CircuitError::Encoding("field element not canonical".into()));
        }
        Ok(x)
    }

    /// Decimal digits, as snarkjs writes field elements.
    pub fn to_decimal(x: &Fr) -> String {
        x.into_bigint().to_string()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::OnceLock;

    use super::*;
    use crate::settlement::tests::{SMALL, statement, three};
    use crate::settlement::{SettlementCircuit, SettlementPublic};
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
}
