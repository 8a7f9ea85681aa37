//! The proofs an entry must carry, derived from its type and its public commitment labels.
//!
//! The gateway (proving, over openings) and every node (verifying, over commitments) derive
//! the same plan from the same public data, so a submitter cannot choose which statements to
//! prove. [`plan`] is generic over the committed item: [`Commitment`]s for verifiers,
//! [`Opening`]s for the prover, which also learns here that a rule is broken (a rate above the
//! cap has no valid opening of `cap − rate`).
//!
//! | type                | range proof (one aggregated proof, in this order)              | relations (each = 0)                                   |
//! |---------------------|----------------------------------------------------------------|--------------------------------------------------------|
//! | `loan.originated`   | every commitment, then `cap − annual_rate_bps`, then `principal − 1` and per bank (label order) `share.b − 1`, `funding.b − 1` | `Σ funding.* − principal`; `Σ share.* − 10000`          |
//! | `loan.repaid`       | every commitment                                               | `principal_part + interest_part − amount`; `Σ allocations.* − amount` |
//! | `settlement.closed` | every commitment                                               | per bank `b`: `due.b − Σ allocations.b` over the referenced repayments |
//!
//! Every committed value is in `[0, 2^64)` by the range proof, so no relation can wrap modulo
//! the group order (see `veil_crypto::relation_proof`). A loan's `x − 1` items prove its
//! principal and every participant's share and funding positive: a member cannot list a bank
//! that takes no part (a zero share or zero funding) to squat on it or to read its terms.

use veil_crypto::{Commitment, Opening};

use crate::schema::{EntryType, Kind, Shape};

/// Shares are in basis points of the whole.
pub const SHARES_TOTAL_BPS: i128 = veil_crypto::allocation::BASIS_POINTS as i128;

/// Purposes (transcript labels inside an entry) of the proofs.
pub mod purpose {
    /// The aggregated range proof.
    pub const RANGE: &str = "range";
    /// Σ funding = principal.
    pub const FUNDING_SUM: &str = "funding-sum";
    /// Σ shares = 10000.
    pub const SHARE_SUM: &str = "share-sum";
    /// principal part + interest part = amount.
    pub const PARTS_SUM: &str = "parts-sum";
    /// Σ allocations = amount.
    pub const ALLOCATION_SUM: &str = "allocation-sum";
    /// Prefix of the per-bank settlement relations (`settlement-due.<bank>`).
    pub const SETTLEMENT_DUE: &str = "settlement-due";
}

/// Consortium parameters the plan depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    /// Highest allowed annual rate, in basis points.
    pub rate_cap_bps: u64,
}

/// Why an entry's commitments do not fit its type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// A commitment label the type does not have, or a duplicate.
    #[error("unexpected commitment {0:?}")]
    UnexpectedCommitment(String),
    /// A required commitment is missing.
    #[error("missing commitment {0:?}")]
    MissingCommitment(&'static str),
    /// Per-bank commitments that do not name the same banks (e.g. funding vs shares).
    #[error("inconsistent banks: {0}")]
    InconsistentBanks(&'static str),
    /// A derived value is out of range: a rule is broken (e.g. the rate is above the cap).
    #[error("rule violated: {0}")]
    RuleViolated(&'static str),
    /// Commitments are not sorted by label.
    #[error("commitments are not in canonical (sorted) order")]
    Unsorted,
}

/// A committed item: a [`Commitment`] (verifier) or an [`Opening`] (prover).
pub trait Committed: Clone {
    /// `Σ coefficient·item + constant`, or `None` if the result is not a valid 64-bit item.
    fn linear_combination(terms: &[(i64, &Self)], constant: i128) -> Option<Self>;
}

impl Committed for Commitment {
    fn linear_combination(terms: &[(i64, &Self)], constant: i128) -> Option<Self> {
        Some(Commitment::vartime_linear_combination(terms, constant))
    }
}

impl Committed for Opening {
    fn linear_combination(terms: &[(i64, &Self)], constant: i128) -> Option<Self> {
        Opening::linear_combination(terms, constant).ok()
    }
}

/// One relation to prove: `Σ coefficient·item + constant = 0`.
#[derive(Debug, Clone)]
pub struct RelationPlan<T> {
    /// The proof's purpose label.
    pub purpose: String,
    /// The terms.
    pub terms: Vec<(i64, T)>,
    /// The constant.
    pub constant: i128,
}

/// Every proof an entry carries.
#[derive(Debug, Clone)]
pub struct ProofPlan<T> {
    /// The items of the aggregated range proof, in order.
    pub range: Vec<T>,
    /// The relations, in order.
    pub relations: Vec<RelationPlan<T>>,
}

/// The committed items of one entry, by label, sorted by label.
pub type Items<T> = [(String, T)];

fn fixed<'a, T>(items: &'a Items<T>, label: &'static str) -> Result<&'a T, PlanError> {
    items
        .iter()
        .find(|(l, _)| l == label)
        .map(|(_, item)| item)
        .ok_or(PlanError::MissingCommitment(label))
}

/// The (bank, item) pairs of per-bank label `prefix`, in label order.
pub fn per_bank<'a, T>(items: &'a Items<T>, prefix: &str) -> Vec<(&'a str, &'a T)> {
    items
        .iter()
        .filter_map(|(label, item)| {
            label
                .strip_prefix(prefix)
                .and_then(|rest| rest.strip_prefix('.'))
                .map(|bank| (bank, item))
        })
        .collect()
}

/// Checks that `items` has exactly the committed fields of `kind`, sorted by label.
pub fn check_shape<T>(kind: EntryType, items: &Items<T>) -> Result<(), PlanError> {
    for pair in items.windows(2) {
        if pair[0].0 >= pair[1].0 {
            return Err(PlanError::Unsorted);
        }
    }
    for (label, _) in items {
        match kind.field(label) {
            Some((spec, _)) if spec.kind == Kind::Committed => {}
            _ => return Err(PlanError::UnexpectedCommitment(label.clone())),
        }
    }
    for spec in kind.fields() {
        if spec.kind == Kind::Committed && spec.shape == Shape::Fixed {
            fixed(items, spec.path)?;
        }
    }
    Ok(())
}

/// Derives the proof plan of an entry of type `kind` from its committed items and, for types
/// that reference other entries, the committed items of the referenced entries (in order).
pub fn plan<T: Committed>(
    kind: EntryType,
    items: &Items<T>,
    referenced: &[&Items<T>],
    params: &Params,
) -> Result<ProofPlan<T>, PlanError> {
    check_shape(kind, items)?;
    let mut range: Vec<T> = items.iter().map(|(_, item)| item.clone()).collect();
    let mut relations = Vec::new();
    match kind {
        EntryType::LoanOriginated => {
            let principal = fixed(items, "principal")?;
            let rate = fixed(items, "annual_rate_bps")?;
            let funding = per_bank(items, "funding");
            let shares = per_bank(items, "share");
            if funding.is_empty() {
                return Err(PlanError::MissingCommitment("funding"));
            }
            let funding_banks = funding.iter().map(|(b, _)| *b);
            if !funding_banks.eq(shares.iter().map(|(b, _)| *b)) {
                return Err(PlanError::InconsistentBanks("funding and shares"));
            }
            let slack = T::linear_combination(&[(-1, rate)], i128::from(params.rate_cap_bps))
                .ok_or(PlanError::RuleViolated(
                    "annual rate above the consortium cap",
                ))?;
            range.push(slack);
            let positive = |item: &T, rule: &'static str| {
                T::linear_combination(&[(1, item)], -1).ok_or(PlanError::RuleViolated(rule))
            };
            range.push(positive(principal, "the principal must be positive")?);
            for ((_, share), (_, funded)) in shares.iter().zip(&funding) {
                range.push(positive(
                    share,
                    "every participant's share must be positive",
                )?);
                range.push(positive(
                    funded,
                    "every participant's funding must be positive",
                )?);
            }
            let mut terms: Vec<(i64, T)> = funding.iter().map(|(_, c)| (1, (*c).clone())).collect();
            terms.push((-1, principal.clone()));
            relations.push(RelationPlan {
                purpose: purpose::FUNDING_SUM.to_owned(),
                terms,
                constant: 0,
            });
            relations.push(RelationPlan {
                purpose: purpose::SHARE_SUM.to_owned(),
                terms: shares.iter().map(|(_, c)| (1, (*c).clone())).collect(),
                constant: -SHARES_TOTAL_BPS,
            });
        }
        EntryType::LoanRepaid => {
            let amount = fixed(items, "amount")?;
            let principal_part = fixed(items, "principal_part")?;
            let interest_part = fixed(items, "interest_part")?;
            let allocations = per_bank(items, "allocations");
            if allocations.is_empty() {
                return Err(PlanError::MissingCommitment("allocations"));
            }
            relations.push(RelationPlan {
                purpose: purpose::PARTS_SUM.to_owned(),
                terms: vec![
                    (1, principal_part.clone()),
                    (1, interest_part.clone()),
                    (-1, amount.clone()),
                ],
                constant: 0,
            });
            let mut terms: Vec<(i64, T)> =
                allocations.iter().map(|(_, c)| (1, (*c).clone())).collect();
            terms.push((-1, amount.clone()));
            relations.push(RelationPlan {
                purpose: purpose::ALLOCATION_SUM.to_owned(),
                terms,
                constant: 0,
            });
        }
        EntryType::SettlementClosed => {
            let due = per_bank(items, "due");
            if due.is_empty() {
                return Err(PlanError::MissingCommitment("due"));
            }
            let mut due_banks: Vec<&str> = Vec::new();
            for repayment in referenced {
                for (bank, _) in per_bank(repayment, "allocations") {
                    if !due_banks.contains(&bank) {
                        due_banks.push(bank);
                    }
                }
            }
            due_banks.sort_unstable();
            if due.iter().map(|(b, _)| *b).collect::<Vec<_>>() != due_banks {
                return Err(PlanError::InconsistentBanks(
                    "amounts due and the repayments' allocations",
                ));
            }
            for (bank, owed) in due {
                let mut terms = vec![(1, owed.clone())];
                for repayment in referenced {
                    for (other, allocation) in per_bank(repayment, "allocations") {
                        if other == bank {
                            terms.push((-1, allocation.clone()));
                        }
                    }
                }
                relations.push(RelationPlan {
                    purpose: format!("{}.{bank}", purpose::SETTLEMENT_DUE),
                    terms,
                    constant: 0,
                });
            }
        }
        // No amounts: the registry's statement, a publication's view keys, an anchored log
        // head, are their circuit data, checked by nodes.
        EntryType::RegistryUpdated
        | EntryType::ViewKeysPublished
        | EntryType::DisclosuresAnchored
        | EntryType::OprfEvaluations => {}
    }
    Ok(ProofPlan { range, relations })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn openings(values: &[(&str, u64)]) -> Vec<(String, Opening)> {
        let mut out: Vec<(String, Opening)> = values
            .iter()
            .map(|(label, value)| ((*label).to_owned(), Opening::random(*value)))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    fn commitments(items: &[(String, Opening)]) -> Vec<(String, Commitment)> {
        items.iter().map(|(l, o)| (l.clone(), o.commit())).collect()
    }

    const PARAMS: Params = Params { rate_cap_bps: 2400 };

    #[test]
    fn prover_and_verifier_plans_match() {
        let items = openings(&[
            ("principal", 500_000),
            ("annual_rate_bps", 1800),
            ("funding.bank-a", 150_000),
            ("funding.bank-b", 350_000),
            ("share.bank-a", 3000),
            ("share.bank-b", 7000),
        ]);
        let prover = plan(EntryType::LoanOriginated, &items, &[], &PARAMS).unwrap();
        let verifier = plan(
            EntryType::LoanOriginated,
            &commitments(&items),
            &[],
            &PARAMS,
        )
        .unwrap();
        // 6 commitments, the rate slack, principal − 1, then (share − 1, funding − 1) per bank.
        assert_eq!(prover.range.len(), 12);
        assert_eq!(prover.range[6].value(), 600);
        let positives: Vec<u64> = prover.range[7..].iter().map(Opening::value).collect();
        assert_eq!(positives, [499_999, 2999, 149_999, 6999, 349_999]);
        for (o, c) in prover.range.iter().zip(&verifier.range) {
            assert!(c.is_opened_by(o));
        }
        assert_eq!(prover.relations.len(), 2);
        assert_eq!(prover.relations[1].constant, -10_000);
    }

    #[test]
    fn a_rate_above_the_cap_has_no_plan() {
        let items = openings(&[
            ("principal", 1),
            ("annual_rate_bps", 2401),
            ("funding.bank-a", 1),
            ("share.bank-a", 10_000),
        ]);
        assert_eq!(
            plan(EntryType::LoanOriginated, &items, &[], &PARAMS).unwrap_err(),
            PlanError::RuleViolated("annual rate above the consortium cap")
        );
    }

    #[test]
    fn a_zero_share_zero_funding_or_zero_principal_has_no_plan() {
        let cases = [
            (0, 0, 0, "the principal must be positive"),
            (5, 2, 0, "every participant's share must be positive"),
            (5, 0, 5000, "every participant's funding must be positive"),
        ];
        for (principal, funding_b, share_b, rule) in cases {
            let items = openings(&[
                ("principal", principal),
                ("annual_rate_bps", 100),
                ("funding.bank-a", principal - funding_b),
                ("funding.bank-b", funding_b),
                ("share.bank-a", 10_000 - share_b),
                ("share.bank-b", share_b),
            ]);
            assert_eq!(
                plan(EntryType::LoanOriginated, &items, &[], &PARAMS).unwrap_err(),
                PlanError::RuleViolated(rule),
                "{rule}"
            );
        }
    }

    #[test]
    fn shapes_are_checked() {
        let mut items = openings(&[("amount", 1), ("principal_part", 1), ("interest_part", 0)]);
        assert_eq!(
            plan(EntryType::LoanRepaid, &items, &[], &PARAMS).unwrap_err(),
            PlanError::MissingCommitment("allocations")
        );
        items.push(("zzz".to_owned(), Opening::random(1)));
        assert_eq!(
            check_shape(EntryType::LoanRepaid, &items).unwrap_err(),
            PlanError::UnexpectedCommitment("zzz".to_owned())
        );
        items.pop();
        items.reverse();
        assert_eq!(
            check_shape(EntryType::LoanRepaid, &items).unwrap_err(),
            PlanError::Unsorted
        );
        let funding_only = openings(&[
            ("principal", 1),
            ("annual_rate_bps", 1),
            ("funding.bank-a", 1),
            ("share.bank-b", 10_000),
        ]);
        assert_eq!(
            plan(EntryType::LoanOriginated, &funding_only, &[], &PARAMS).unwrap_err(),
            PlanError::InconsistentBanks("funding and shares")
        );
    }

    #[test]
    fn settlements_sum_the_referenced_allocations_per_bank() {
        let r1 = openings(&[("allocations.bank-a", 30), ("allocations.bank-b", 70)]);
        let r2 = openings(&[("allocations.bank-a", 3), ("allocations.bank-b", 7)]);
        let due = openings(&[("due.bank-a", 33), ("due.bank-b", 77)]);
        let plan = plan(
            EntryType::SettlementClosed,
            &due,
            &[r1.as_slice(), r2.as_slice()],
            &PARAMS,
        )
        .unwrap();
        assert_eq!(plan.relations.len(), 2);
        assert_eq!(plan.relations[0].purpose, "settlement-due.bank-a");
        assert_eq!(plan.relations[0].terms.len(), 3);
        let wrong_banks = openings(&[("due.bank-a", 33)]);
        assert!(
            super::plan(
                EntryType::SettlementClosed,
                &wrong_banks,
                &[r1.as_slice()],
                &PARAMS
            )
            .is_err()
        );
    }
}
