//! `settlement.closed`: a clearing period's amounts due per participant, each the sum of its
//! allocations over the period's repayments (whose rounding each repayment proved when it was
//! written): relation proofs on the Pedersen commitments, no circuit.

use std::collections::BTreeMap;

use veil_crypto::Opening;
use veil_policies::schema::EntryType;

use crate::entry::error::EntryError;

use super::*;

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
        self.assemble(
            self.entry_nonce(),
            EntryType::SettlementClosed,
            period,
            repayments.iter().map(|r| r.entry_id).collect(),
            &participants,
            fields,
            openings,
            &referenced_refs,
            |_, _, _| {
                Ok(Extra {
                    participant: Vec::new(),
                    circuit: Vec::new(),
                    proofs: ProofTimes::default(),
                })
            },
            now_ms,
        )
    }
}
