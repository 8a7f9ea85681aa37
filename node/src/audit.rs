//! Regulators' verifiable access to amounts: every committed amount of an entry carries, for
//! each regulator of the genesis, a twisted-ElGamal decrypt handle to the regulator's auditor
//! key and a validity proof ([`veil_crypto::auditor`]) that every node checks. With the
//! handle the Pedersen commitment *is* a ciphertext of the amount to the regulator, so a
//! writer that garbles or leaves out the regulator's HPKE wrap cannot hide an amount from it:
//! the regulator recovers (or checks) the amount from the commitment alone.
//!
//! Encoding of an entry's `audit` proofs (format v1, `docs/protocol/ledger.md`): for each
//! regulator in genesis order, for each commitment in label order, the 32-byte handle then the
//! 128-byte proof; exactly `regulators × commitments × 160` bytes (none for an entry without
//! commitments or a consortium without regulators). The proofs are bound to the entry's
//! statement id (genesis, submitter, entry id) with purpose [`PURPOSE`].

use veil_crypto::auditor::{
    AuditContext, AuditorPublicKey, DecryptHandle, HANDLE_LEN, PROOF_LEN, ValidityProof,
};
use veil_crypto::{Commitment, Opening, ProofError};

use crate::genesis::Genesis;

/// The purpose label of the validity proofs inside an entry's transcript.
pub const PURPOSE: &str = "entry-amounts";
/// Bytes per (regulator, amount): handle and proof.
pub const ITEM_LEN: usize = HANDLE_LEN + PROOF_LEN;

/// Why an entry's audit proofs are refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// Not `regulators × commitments × 160` bytes.
    #[error(
        "audit proofs must be {expected} bytes (a handle and a proof per regulator and amount)"
    )]
    Length {
        /// The expected length.
        expected: usize,
    },
    /// A handle or proof does not decode.
    #[error("a decrypt handle or validity proof does not decode")]
    Malformed,
    /// The proofs of a regulator's handles do not verify.
    #[error("the decrypt handles to regulator {0} do not verify")]
    Invalid(String),
}

/// The handles and proofs for every regulator of `genesis` and every opening (label order),
/// encoded; `statement` is the entry's statement id.
///
/// Errors: [`ProofError`] if there are more openings than a batch holds.
pub fn prove(
    genesis: &Genesis,
    statement: &[u8; 16],
    openings: &[(String, Opening)],
) -> Result<Vec<u8>, ProofError> {
    let mut out = Vec::with_capacity(genesis.regulators.len() * openings.len() * ITEM_LEN);
    if openings.is_empty() {
        return Ok(out);
    }
    let openings: Vec<&Opening> = openings.iter().map(|(_, o)| o).collect();
    for regulator in &genesis.regulators {
        let context = context(statement, &regulator.auditor_key);
        for (handle, proof) in ValidityProof::prove_batch(&context, &openings)? {
            out.extend_from_slice(&handle.to_bytes());
            out.extend_from_slice(&proof.to_bytes());
        }
    }
    Ok(out)
}

fn context<'a>(statement: &'a [u8; 16], key: &'a AuditorPublicKey) -> AuditContext<'a> {
    AuditContext {
        statement_id: statement,
        purpose: PURPOSE,
        key,
    }
}

/// The decoded handles and proofs of `audit`, per regulator (genesis order), per commitment.
///
/// Errors: [`AuditError::Length`], [`AuditError::Malformed`].
pub fn decode(
    genesis: &Genesis,
    commitments: usize,
    audit: &[u8],
) -> Result<Vec<Vec<(DecryptHandle, ValidityProof)>>, AuditError> {
    let expected = genesis.regulators.len() * commitments * ITEM_LEN;
    if audit.len() != expected {
        return Err(AuditError::Length { expected });
    }
    if commitments == 0 {
        return Ok(vec![Vec::new(); genesis.regulators.len()]);
    }
    audit
        .chunks_exact(commitments * ITEM_LEN)
        .map(|regulator| {
            regulator
                .chunks_exact(ITEM_LEN)
                .map(|item| {
                    let (handle, proof) = item.split_at(HANDLE_LEN);
                    let handle =
                        DecryptHandle::from_slice(handle).map_err(|_| AuditError::Malformed)?;
                    let proof =
                        ValidityProof::from_bytes(proof).map_err(|_| AuditError::Malformed)?;
                    Ok((handle, proof))
                })
                .collect()
        })
        .collect()
}

/// Checks the audit proofs of an entry with statement id `statement` and `commitments`
/// (label order): one valid handle per regulator and amount.
///
/// Errors: [`AuditError`].
pub fn verify(
    genesis: &Genesis,
    statement: &[u8; 16],
    commitments: &[(String, Commitment)],
    audit: &[u8],
) -> Result<(), AuditError> {
    let decoded = decode(genesis, commitments.len(), audit)?;
    if commitments.is_empty() {
        return Ok(());
    }
    for (regulator, items) in genesis.regulators.iter().zip(&decoded) {
        let triples: Vec<(&Commitment, &DecryptHandle, &ValidityProof)> = commitments
            .iter()
            .zip(items)
            .map(|((_, commitment), (handle, proof))| (commitment, handle, proof))
            .collect();
        ValidityProof::verify_batch(&context(statement, &regulator.auditor_key), &triples)
            .map_err(|_| AuditError::Invalid(regulator.id.clone()))?;
    }
    Ok(())
}

/// The decrypt handle of each commitment (label order) to regulator `regulator` (its index in
/// the genesis), if the entry's audit proofs decode.
pub fn handles(
    genesis: &Genesis,
    regulator: usize,
    commitments: usize,
    audit: &[u8],
) -> Option<Vec<DecryptHandle>> {
    let decoded = decode(genesis, commitments, audit).ok()?;
    decoded
        .get(regulator)
        .map(|items| items.iter().map(|(handle, _)| *handle).collect())
}
