//! `loan.repaid`: a repayment with each participant's allocation (floor by share, remainder to
//! the originator), the split proof participants check, and its settlement proof (real-time
//! clearing: the Groth16 proof any member checks that each allocation follows from the amount
//! and shares with exact rounding).

use veil_crypto::Opening;
use veil_crypto::range_proof::RangeProof;
use veil_node::ledger::EntryId;
use veil_policies::proof_plan::{self};
use veil_policies::schema::EntryType;

use crate::entry::error::EntryError;
use crate::entry::request::{LoanRepaid, allocate};

use veil_circuits::settlement::{
    self, PARTICIPANT_SLOTS, SettlementCircuit, SettlementProof, SettlementPublic,
    SettlementWitness, Shape, participant_slots,
};
use veil_crypto::allocation::BASIS_POINTS;

use super::*;

/// A repayment's Poseidon commitment: its amount and share vector (by participant slot),
/// blinded by a value derived from the amount's Pedersen blinding (so whoever opens one can
/// check the other). `None` when the loan has more participants than the circuit's slots.
pub fn repayment_commitment(
    id: &EntryId,
    amount: &Opening,
    shares: &[(String, u64)],
) -> Option<veil_circuits::settlement::Repayment> {
    Some(veil_circuits::settlement::Repayment {
        entry: id.0,
        amount: amount.value(),
        shares: slot_shares(shares)?,
        blinding: veil_circuits::derived_blinding(&amount.blinding_bytes()),
    })
}

/// A loan's shares laid out by participant slot (its participants in ascending id order, see
/// `veil_circuits::settlement::participant_slots`), zero for unused slots. `None` for more
/// participants than [`PARTICIPANT_SLOTS`].
pub fn slot_shares(shares: &[(String, u64)]) -> Option<Vec<u64>> {
    if shares.len() > PARTICIPANT_SLOTS {
        return None;
    }
    let mut sorted: Vec<&(String, u64)> = shares.iter().collect();
    sorted.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut slots: Vec<u64> = sorted.iter().map(|(_, share)| *share).collect();
    slots.resize(PARTICIPANT_SLOTS, 0);
    Some(slots)
}

/// The repayment's settlement proof (real-time clearing): its one repayment over its loan's
/// participant slots, each slot's allocation committed with a blinding derived from that
/// allocation's Pedersen blinding (so the bank that opens it can check the link); unused slots
/// get a random one.
fn repayment_settlement_proof(
    key: &veil_circuits::ProvingKey,
    statement: &[u8; 16],
    period: u64,
    repayment: veil_circuits::settlement::Repayment,
    shares: &[(String, u64)],
    originator: &str,
    openings: &[(String, Opening)],
) -> Result<SettlementProof, EntryError> {
    let (slots, originator) =
        participant_slots(shares.iter().map(|(bank, _)| bank.as_str()), originator)
            .ok_or_else(EntryError::internal)?;
    let mut due_blindings = Vec::with_capacity(PARTICIPANT_SLOTS);
    for slot in 0..PARTICIPANT_SLOTS {
        due_blindings.push(match slots.get(slot) {
            Some(bank) => veil_circuits::derived_blinding(
                &opening_of(openings, &format!("allocations.{bank}"))?.blinding_bytes(),
            ),
            None => veil_circuits::random_blinding(),
        });
    }
    let shape = Shape::new(1, PARTICIPANT_SLOTS).map_err(internal)?;
    let repayments = vec![repayment];
    let dues =
        settlement::dues(&repayments, PARTICIPANT_SLOTS, originator).ok_or_else(internal_shape)?;
    for (bank, due) in slots.iter().zip(&dues) {
        let allocation = opening_of(openings, &format!("allocations.{bank}"))?;
        if u128::from(allocation.value()) != *due {
            tracing::error!(%bank, "the circuit's allocation differs from the entry's");
            return Err(EntryError::internal());
        }
    }
    let leaf = repayments[0].commitment();
    let public = SettlementPublic {
        entry: *statement,
        period,
        root: settlement::root(&[leaf], 1).map_err(internal)?,
        count: 1,
        originator: originator as u64,
        due: dues
            .iter()
            .zip(&due_blindings)
            .map(|(d, r)| settlement::due_commitment(*d, *r))
            .collect(),
    };
    let circuit = SettlementCircuit {
        shape,
        public: Some(public.clone()),
        witness: Some(SettlementWitness {
            repayments,
            due_blindings,
        }),
    };
    let proof = key
        .prove(circuit, &mut veil_circuits::OsRng)
        .map_err(internal)?;
    Ok(SettlementProof {
        capacity: 1,
        root: public.root,
        due: public.due,
        proof,
    })
}

fn internal_shape() -> EntryError {
    tracing::error!("a repayment's shares do not fit the settlement circuit");
    EntryError::internal()
}

/// A repayment's allocations as its originator can open them.
#[derive(Debug, Clone)]
pub struct RepaymentAllocations {
    /// The repayment entry.
    pub entry_id: EntryId,
    /// The amount's opening.
    pub amount: Opening,
    /// The loan's shares by bank.
    pub shares: Vec<(String, u64)>,
    /// Allocation openings by bank, sorted by bank.
    pub allocations: Vec<(String, Opening)>,
}

/// The split statement's items: for each participant but the originator, in bank order,
/// `D = share·amount − 10000·allocation` and `9999 − D`. Both in `[0, 2^64)` means
/// `allocation = floor(amount·share / 10000)`.
pub fn split_items<T: proof_plan::Committed>(
    amount: &T,
    allocations: &[(&str, &T)],
    shares: &[(String, u64)],
    originator: &str,
) -> Option<Vec<T>> {
    let mut items = Vec::new();
    for (bank, allocation) in allocations {
        if *bank == originator {
            continue;
        }
        let share = shares.iter().find(|(b, _)| b == bank)?.1 as i64;
        let whole = BASIS_POINTS as i64;
        items.push(T::linear_combination(
            &[(share, amount), (-whole, allocation)],
            0,
        )?);
        items.push(T::linear_combination(
            &[(-share, amount), (whole, allocation)],
            i128::from(whole - 1),
        )?);
    }
    Some(items)
}

pub(super) fn split_proof(
    statement: &[u8; 16],
    openings: &[(String, Opening)],
    shares: &[(String, u64)],
    originator: &str,
) -> Result<Vec<u8>, EntryError> {
    let amount = opening_of(openings, "amount")?;
    let allocations = proof_plan::per_bank(openings, "allocations");
    let items =
        split_items(amount, &allocations, shares, originator).ok_or_else(EntryError::internal)?;
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let refs: Vec<&Opening> = items.iter().collect();
    let (proof, _) = RangeProof::prove(statement, SPLIT_PURPOSE, &refs).map_err(internal)?;
    Ok(proof.to_bytes())
}

impl Builder<'_> {
    /// A `loan.repaid` entry for `loan` (rules already checked).
    pub fn repayment(
        &self,
        repayment: &LoanRepaid,
        loan: &LoanTerms,
        now_ms: u64,
    ) -> Result<Built, EntryError> {
        let participants: Vec<String> = loan.shares.iter().map(|(b, _)| b.clone()).collect();
        let allocations = allocate(repayment.amount, &loan.shares, self.member)
            .ok_or_else(EntryError::internal)?;
        let mut fields = vec![
            Field {
                path: "loan_id".into(),
                plaintext: json(&repayment.loan_id),
            },
            Field {
                path: "period".into(),
                plaintext: json(&repayment.period),
            },
        ];
        let mut openings = vec![
            ("amount".to_owned(), Opening::random(repayment.amount)),
            (
                "principal_part".to_owned(),
                Opening::random(repayment.principal_part),
            ),
            (
                "interest_part".to_owned(),
                Opening::random(repayment.interest_part),
            ),
        ];
        for (bank, value) in &allocations {
            openings.push((format!("allocations.{bank}"), Opening::random(*value)));
        }
        for (label, opening) in &openings {
            fields.push(Field {
                path: label.clone(),
                plaintext: opening_plaintext(opening),
            });
        }
        let shares = loan.shares.clone();
        if shares.len() > PARTICIPANT_SLOTS {
            return Err(EntryError::invalid(format!(
                "the loan has {} participants; a repayment's proof has {PARTICIPANT_SLOTS} slots",
                shares.len()
            )));
        }
        let member = self.member.to_owned();
        let period = veil_circuits::period_number(&repayment.period)
            .ok_or_else(|| EntryError::malformed("invalid period"))?;
        let key = self.proving_keys.settlement(self.genesis, 1).map_err(|e| {
            tracing::error!(error = %e, "no settlement proving key");
            EntryError::unavailable()
        })?;
        self.assemble(
            self.entry_nonce(),
            EntryType::LoanRepaid,
            &repayment.period,
            vec![loan.entry_id],
            &participants,
            fields,
            openings,
            &[],
            move |id, statement, openings| {
                let amount = opening_of(openings, "amount")?;
                let repayment =
                    repayment_commitment(id, amount, &shares).ok_or_else(internal_shape)?;
                let mut proofs = ProofTimes::default();
                let proof = proofs.time(ProofKind::Settlement, || {
                    repayment_settlement_proof(
                        &key, statement, period, repayment, &shares, &member, openings,
                    )
                })?;
                let participant = proofs.time(ProofKind::Range, || {
                    split_proof(statement, openings, &shares, &member)
                })?;
                Ok(Extra {
                    participant,
                    circuit: proof.to_bytes(),
                    proofs,
                })
            },
            now_ms,
        )
    }
}
