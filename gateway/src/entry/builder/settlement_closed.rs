//! `settlement.closed`: a clearing period's amounts due per participant and the Groth16
//! settlement proof over the period's repayments.

use std::collections::BTreeMap;

use veil_crypto::Opening;
use veil_node::genesis::Genesis;
use veil_node::ledger::EntryId;
use veil_policies::schema::EntryType;

use veil_circuits::settlement::{
    self, SettlementCircuit, SettlementProof, SettlementPublic, SettlementWitness, Shape,
};

use crate::entry::error::EntryError;

use super::*;

/// The settlement's Groth16 proof. Each bank's amount-due commitment is blinded by a value
/// derived from its `due.<bank>` Pedersen blinding; banks outside the period get a random one.
#[allow(clippy::too_many_arguments)]
pub(super) fn settlement_proof(
    genesis: &Genesis,
    key: &veil_circuits::ProvingKey,
    capacity: usize,
    statement: &[u8; 16],
    period: u64,
    originator: usize,
    repayments: Vec<veil_circuits::settlement::Repayment>,
    openings: &[(String, Opening)],
) -> Result<SettlementProof, EntryError> {
    let shape = Shape::new(capacity, genesis.members.len()).map_err(internal)?;
    let due_blindings: Vec<veil_circuits::Fr> = genesis
        .members
        .iter()
        .map(|m| match opening_of(openings, &format!("due.{}", m.id)) {
            Ok(due) => veil_circuits::derived_blinding(&due.blinding_bytes()),
            Err(_) => veil_circuits::random_blinding(),
        })
        .collect();
    let dues = settlement::dues(&repayments, shape.banks, originator).ok_or_else(internal_shape)?;
    for (member, due) in genesis.members.iter().zip(&dues) {
        let pedersen =
            opening_of(openings, &format!("due.{}", member.id)).map_or(0, Opening::value);
        if u128::from(pedersen) != *due {
            tracing::error!(bank = %member.id, "the circuit's amount due differs from the ledger's");
            return Err(EntryError::internal());
        }
    }
    let leaves: Vec<veil_circuits::Fr> = repayments.iter().map(|r| r.commitment()).collect();
    let public = SettlementPublic {
        entry: *statement,
        period,
        root: settlement::root(&leaves, capacity).map_err(internal)?,
        count: repayments.len() as u64,
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
        capacity,
        root: public.root,
        due: public.due,
        proof,
    })
}

pub(super) fn internal_shape() -> EntryError {
    tracing::error!("a repayment's shares do not fit the settlement circuit");
    EntryError::internal()
}

pub(super) fn opening_of<'o>(
    openings: &'o [(String, Opening)],
    label: &str,
) -> Result<&'o Opening, EntryError> {
    openings
        .iter()
        .find(|(l, _)| l == label)
        .map(|(_, o)| o)
        .ok_or_else(EntryError::internal)
}

impl Builder<'_> {
    /// A `settlement.closed` entry over `repayments` of `period`.
    pub fn settlement(
        &self,
        period: &str,
        repayments: &[RepaymentAllocations],
        now_ms: u64,
    ) -> Result<Built, EntryError> {
        if repayments.is_empty() {
            return Err(EntryError::invalid(format!(
                "no unsettled repayments in period {period}"
            )));
        }
        let mut due: BTreeMap<String, Opening> = BTreeMap::new();
        for repayment in repayments {
            for (bank, allocation) in &repayment.allocations {
                let total = match due.get(bank) {
                    Some(sum) => Opening::linear_combination(&[(1, sum), (1, allocation)], 0),
                    None => Opening::linear_combination(&[(1, allocation)], 0),
                }
                .map_err(internal)?;
                due.insert(bank.clone(), total);
            }
        }
        let participants: Vec<String> = due.keys().cloned().collect();
        let mut fields = vec![
            Field {
                path: "period".into(),
                plaintext: json(&period),
            },
            Field {
                path: "repayments".into(),
                plaintext: json(&repayments.len()),
            },
        ];
        // Fresh blindings: the relation proof shows each amount due equals the sum of the
        // allocations without revealing the allocations' blindings.
        let openings: Vec<(String, Opening)> = due
            .iter()
            .map(|(bank, sum)| (format!("due.{bank}"), Opening::random(sum.value())))
            .collect();
        for (label, opening) in &openings {
            fields.push(Field {
                path: label.clone(),
                plaintext: opening_plaintext(opening),
            });
        }
        let referenced: Vec<Vec<(String, Opening)>> = repayments
            .iter()
            .map(|r| {
                r.allocations
                    .iter()
                    .map(|(bank, o)| (format!("allocations.{bank}"), o.clone()))
                    .collect()
            })
            .collect();
        let referenced_refs: Vec<&[(String, Opening)]> =
            referenced.iter().map(Vec::as_slice).collect();
        let circuit_repayments = repayments
            .iter()
            .map(|r| repayment_commitment(self.genesis, &r.entry_id, &r.amount, &r.shares))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(EntryError::internal)?;
        let capacities: Vec<usize> = self.genesis.circuits.settlement.keys().copied().collect();
        let capacity = Shape::fitting(&capacities, repayments.len()).ok_or_else(|| {
            EntryError::invalid(format!(
                "period {period} has {} unsettled repayments; the consortium's largest \
                 settlement circuit holds {}",
                repayments.len(),
                capacities.last().copied().unwrap_or(0)
            ))
        })?;
        let key = self
            .proving_keys
            .settlement(self.genesis, capacity)
            .map_err(|e| {
                tracing::error!(error = %e, "no settlement proving key");
                EntryError::unavailable()
            })?;
        let originator = self
            .genesis
            .bank_slot(self.member)
            .ok_or_else(EntryError::internal)?;
        let period_number = veil_circuits::period_number(period)
            .ok_or_else(|| EntryError::malformed("invalid period"))?;
        let genesis = self.genesis;
        self.assemble(
            EntryId::random_nonce(),
            EntryType::SettlementClosed,
            period,
            repayments.iter().map(|r| r.entry_id).collect(),
            &participants,
            fields,
            openings,
            &referenced_refs,
            move |_, statement, openings| {
                let proof = settlement_proof(
                    genesis,
                    &key,
                    capacity,
                    statement,
                    period_number,
                    originator,
                    circuit_repayments,
                    openings,
                )?;
                Ok(Extra {
                    participant: Vec::new(),
                    circuit: proof.to_bytes(),
                })
            },
            now_ms,
        )
    }
}
