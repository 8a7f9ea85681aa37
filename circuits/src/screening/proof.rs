//! What a `loan.originated` entry carries in its circuit-proof slot, and its verification.

use ark_bn254::Fr;

use super::statement::{Roots, ScreeningPublic};
use crate::error::EncodingError;
use crate::groth16::{PROOF_LEN, field};
use crate::{CircuitError, Proof, VerifyingKey};

/// What a `loan.originated` entry carries in its circuit-proof slot.
#[derive(Debug, Clone, PartialEq)]
pub struct ScreeningProof {
    /// The commitment to the borrower's reference.
    pub commitment: Fr,
    /// The Groth16 proof.
    pub proof: Proof,
}

impl ScreeningProof {
    /// Bytes of the encoding.
    pub const LEN: usize = 32 + PROOF_LEN;

    /// `[32] commitment || [128] proof`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::LEN);
        out.extend_from_slice(&field::to_bytes(&self.commitment));
        out.extend_from_slice(&self.proof.to_bytes());
        out
    }

    /// Decodes untrusted bytes: a canonical commitment and a valid proof, nothing more.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CircuitError> {
        let (commitment, rest) = bytes
            .split_first_chunk::<32>()
            .ok_or(EncodingError::ScreeningProofTruncated)?;
        Ok(Self {
            commitment: field::from_bytes(commitment)?,
            proof: Proof::from_bytes(rest)?,
        })
    }

    /// Verifies the proof for loan entry `entry` against the registry `roots` at its height.
    pub fn verify(
        &self,
        vk: &VerifyingKey,
        entry: &[u8; 16],
        roots: Roots,
    ) -> Result<(), CircuitError> {
        let public = ScreeningPublic {
            entry: *entry,
            roots,
            commitment: self.commitment,
        };
        vk.verify(&public.inputs(), &self.proof)
    }
}

#[cfg(all(test, feature = "prover"))]
mod tests {
    use ark_ff::One as _;

    use super::*;
    use crate::screening::fixtures::statement;
    use crate::screening::{PUBLIC_INPUTS, ScreeningCircuit};

    #[test]
    fn groth16_proofs_verify_for_their_statement_only() {
        let pk = crate::dev::setup(ScreeningCircuit::blank(), "screening-test").unwrap();
        let vk = pk.verifying_key();
        assert_eq!(vk.public_inputs(), PUBLIC_INPUTS);
        let (public, witness) = statement(0x42);
        let proof = pk
            .prove(
                ScreeningCircuit {
                    public: Some(public.clone()),
                    witness: Some(witness.clone()),
                },
                &mut crate::OsRng,
            )
            .unwrap();
        let carried = ScreeningProof {
            commitment: public.commitment,
            proof,
        };
        let decoded = ScreeningProof::from_bytes(&carried.to_bytes()).unwrap();
        decoded.verify(&vk, &public.entry, public.roots).unwrap();

        // Another entry (even with a re-randomized proof), other roots, another commitment.
        let rerandomized = ScreeningProof {
            proof: carried.proof.rerandomize(&vk, &mut crate::OsRng),
            ..carried.clone()
        };
        rerandomized
            .verify(&vk, &public.entry, public.roots)
            .unwrap();
        assert!(rerandomized.verify(&vk, &[6; 16], public.roots).is_err());
        let mut roots = public.roots;
        roots.kyc += Fr::one();
        assert!(carried.verify(&vk, &public.entry, roots).is_err());
        let mut roots = public.roots;
        roots.blocklist += Fr::one();
        assert!(carried.verify(&vk, &public.entry, roots).is_err());
        let other = ScreeningProof {
            commitment: carried.commitment + Fr::one(),
            ..carried.clone()
        };
        assert!(other.verify(&vk, &public.entry, public.roots).is_err());

        // A witness that does not satisfy the statement makes no proof.
        let mut bad = witness;
        bad.blinding += Fr::one();
        assert!(
            pk.prove(
                ScreeningCircuit {
                    public: Some(public),
                    witness: Some(bad),
                },
                &mut crate::OsRng,
            )
            .is_err()
        );

        // Untrusted bytes: wrong lengths and non-canonical commitments are refused.
        let bytes = carried.to_bytes();
        assert_eq!(bytes.len(), ScreeningProof::LEN);
        let mut non_canonical = bytes.clone();
        non_canonical[..32].copy_from_slice(&[0xff; 32]);
        for bad in [
            bytes[..bytes.len() - 1].to_vec(),
            [bytes.as_slice(), &[0]].concat(),
            non_canonical,
        ] {
            assert!(ScreeningProof::from_bytes(&bad).is_err());
        }
    }
}
