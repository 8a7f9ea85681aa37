//! Rule group 2, fields and commitments: every encrypted field path belongs to the type (a
//! per-bank path names a member) and appears once, every required field is present, every
//! committed field has a commitment and every commitment an encrypted opening, the commitments
//! fit the type's [proof plan](veil_policies::proof_plan), and a loan's originator funds it.

use std::collections::BTreeSet;

use veil_policies::proof_plan::{self, per_bank};
use veil_policies::schema::{EntryType, Input, Kind, Shape};

use super::{FieldError, Rejection, Validator};
use crate::ledger::Entry;

impl Validator {
    /// Checks the encrypted fields and the shape of the commitments of an entry of type `kind`.
    pub(super) fn check_fields(&self, kind: EntryType, entry: &Entry) -> Result<(), Rejection> {
        let mut paths = BTreeSet::new();
        for group in &entry.groups {
            for path in group.paths() {
                let (_, bank) = kind.field(path).ok_or_else(|| FieldError::Unknown {
                    path: path.to_owned(),
                })?;
                if let Some(bank) = bank
                    && self.genesis.member(bank).is_none()
                {
                    return Err(FieldError::NoMember {
                        path: path.to_owned(),
                    }
                    .into());
                }
                if !paths.insert(path.to_owned()) {
                    return Err(FieldError::Duplicate {
                        path: path.to_owned(),
                    }
                    .into());
                }
            }
        }
        for spec in kind.fields() {
            if spec.input != Input::Required {
                continue;
            }
            let present = match spec.shape {
                Shape::Fixed => paths.contains(spec.path),
                Shape::PerBank => paths.iter().any(|p| {
                    p.strip_prefix(spec.path)
                        .is_some_and(|r| r.starts_with('.'))
                }),
            };
            if !present {
                return Err(FieldError::Missing { path: spec.path }.into());
            }
        }
        for path in &paths {
            let committed = kind
                .field(path)
                .is_some_and(|(spec, _)| spec.kind == Kind::Committed);
            if committed && entry.commitment(path).is_none() {
                return Err(FieldError::Uncommitted { path: path.clone() }.into());
            }
        }
        for (label, _) in &entry.commitments {
            if !paths.contains(label) {
                return Err(FieldError::Unopened {
                    label: label.clone(),
                }
                .into());
            }
        }
        proof_plan::check_shape(kind, &entry.commitments).map_err(Rejection::Commitments)?;
        if kind == EntryType::LoanOriginated {
            let submitter_funds = per_bank(&entry.commitments, "funding")
                .iter()
                .any(|(bank, _)| *bank == entry.header.submitter);
            if !submitter_funds {
                return Err(FieldError::OriginatorNotFunding.into());
            }
            // Its repayments prove their split over at most this many slots: a loan with more
            // participants could never be repaid on the ledger.
            if per_bank(&entry.commitments, "funding").len()
                > veil_circuits::settlement::PARTICIPANT_SLOTS
            {
                return Err(FieldError::TooManyParticipants.into());
            }
        }
        Ok(())
    }
}
