//! What a `loan.repaid` entry carries in its circuit-proof slot (its repayment's settlement
//! proof, capacity 1), and its verification.

use ark_bn254::Fr;

use super::shape::MAX_BANKS;
use super::statement::SettlementPublic;
use super::tree::root;
use crate::error::{EncodingError, Unsatisfied};
use crate::groth16::{PROOF_LEN, field};
use crate::{CircuitError, Proof, VerifyingKey};

/// What a `loan.repaid` entry carries in its circuit-proof slot.
#[derive(Debug, Clone, PartialEq)]
pub struct SettlementProof {
    /// The capacity of the circuit used (selects the verifying key).
    pub capacity: usize,
    /// The Merkle root of the period's repayment commitments.
    pub root: Fr,
    /// Per bank slot, the commitment to its amount due.
    pub due: Vec<Fr>,
    /// The Groth16 proof.
    pub proof: Proof,
}

impl SettlementProof {
    /// `u16 capacity || [32] root || u8 n || n × [32] due commitment || [128] proof`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(2 + 32 + 1 + 32 * self.due.len() + PROOF_LEN);
        out.extend_from_slice(&(self.capacity as u16).to_be_bytes());
        out.extend_from_slice(&field::to_bytes(&self.root));
        out.push(self.due.len() as u8);
        for commitment in &self.due {
            out.extend_from_slice(&field::to_bytes(commitment));
        }
        out.extend_from_slice(&self.proof.to_bytes());
        out
    }

    /// Decodes untrusted bytes: canonical field elements, a valid proof, no trailing bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CircuitError> {
        let short = || EncodingError::SettlementProofTruncated;
        let (capacity, rest) = bytes.split_first_chunk::<2>().ok_or_else(short)?;
        let (root, rest) = rest.split_first_chunk::<32>().ok_or_else(short)?;
        let (n, mut rest) = rest.split_first().ok_or_else(short)?;
        if usize::from(*n) > MAX_BANKS {
            return Err(EncodingError::TooManyBanks.into());
        }
        let mut due = Vec::with_capacity(usize::from(*n));
        for _ in 0..*n {
            let (commitment, tail) = rest.split_first_chunk::<32>().ok_or_else(short)?;
            due.push(field::from_bytes(commitment)?);
            rest = tail;
        }
        Ok(Self {
            capacity: usize::from(u16::from_be_bytes(*capacity)),
            root: field::from_bytes(root)?,
            due,
            proof: Proof::from_bytes(rest)?,
        })
    }

    /// Verifies the proof of a repayment entry's own repayment: capacity 1, whose root is the
    /// repayment's commitment, for entry `entry` (its statement id) of `period` (as a number),
    /// with the originator in participant slot `originator`.
    ///
    /// Errors: [`CircuitError`] when the capacity is not 1, the slots are not
    /// [`super::PARTICIPANT_SLOTS`], or the proof does not verify.
    pub fn verify_repayment(
        &self,
        vk: &VerifyingKey,
        entry: &[u8; 16],
        period: u64,
        originator: usize,
    ) -> Result<(), CircuitError> {
        vk.verify(
            &self.repayment_inputs(entry, period, originator)?,
            &self.proof,
        )
    }

    /// The public inputs of a repayment's proof (see [`SettlementProof::verify_repayment`]),
    /// to verify it with others under the same key ([`VerifyingKey::verify_batch`]).
    ///
    /// Errors: [`CircuitError`] when the capacity is not 1 or the slots are not
    /// [`super::PARTICIPANT_SLOTS`].
    pub fn repayment_inputs(
        &self,
        entry: &[u8; 16],
        period: u64,
        originator: usize,
    ) -> Result<Vec<Fr>, CircuitError> {
        if self.capacity != 1 || self.due.len() != super::PARTICIPANT_SLOTS {
            return Err(EncodingError::NotARepaymentShape.into());
        }
        self.inputs(entry, period, originator, &[self.root])
    }

    /// Verifies the proof for the settlement entry `entry` of `period` (as a number) by the
    /// member in bank slot `originator`, over the repayment commitments `leaves` (in the order
    /// of the entry's references), with `vk` the genesis key for [`Self::capacity`].
    pub fn verify(
        &self,
        vk: &VerifyingKey,
        entry: &[u8; 16],
        period: u64,
        originator: usize,
        leaves: &[Fr],
    ) -> Result<(), CircuitError> {
        vk.verify(
            &self.inputs(entry, period, originator, leaves)?,
            &self.proof,
        )
    }

    /// The public inputs of [`SettlementProof::verify`]'s statement, once `leaves` are checked
    /// to make the proof's root.
    fn inputs(
        &self,
        entry: &[u8; 16],
        period: u64,
        originator: usize,
        leaves: &[Fr],
    ) -> Result<Vec<Fr>, CircuitError> {
        if root(leaves, self.capacity)? != self.root {
            return Err(Unsatisfied::ReferencedRoot.into());
        }
        let public = SettlementPublic {
            entry: *entry,
            period,
            root: self.root,
            count: leaves.len() as u64,
            originator: originator as u64,
            due: self.due.clone(),
        };
        Ok(public.inputs())
    }
}
