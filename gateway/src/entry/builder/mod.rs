//! Turns a checked business request into a signed ledger entry: derived fields, per-field
//! readers from the policy, envelope encryption per reader group, Pedersen commitments,
//! the range and relation proofs of the type's proof plan, and the split proof partners check.
//! One file per entry type builds it (`loan_originated.rs`, `loan_repaid.rs`,
//! `registry_updated.rs`, `settlement_closed.rs`, and a regulator's `view_keys_published.rs`);
//! this module holds what they share.

use veil_crypto::envelope;
use veil_crypto::range_proof::RangeProof;
use veil_crypto::relation_proof::{Relation, RelationProof};
use veil_crypto::view_key::month_of;
use veil_crypto::{Commitment, EncryptionPublicKey, Opening};
use veil_node::genesis::Genesis;
use veil_node::ledger::{Entry, EntryHeader, EntryId, EntryProofs, UnsignedEntry};
use veil_node::recipients::{self, RecipientError};
use veil_node::validation::ProofKind;
use veil_policies::proof_plan::{self, purpose};
use veil_policies::schema::EntryType;
use veil_policies::{Policies, field_resource};
use zeroize::Zeroizing;

use crate::entry::circuits::ProvingKeys;
use crate::entry::error::EntryError;
use crate::entry::keys::MemberSecrets;
use crate::entry::view_keys::PublishedViewKeys;

mod loan_originated;
mod loan_repaid;
mod registry_updated;
mod settlement_closed;
mod view_keys_published;

use settlement_closed::opening_of;

use loan_originated::registry_error;
pub use loan_originated::{ScreeningRegistry, screening_commitment};
pub use loan_repaid::{RepaymentAllocations, repayment_commitment, slot_shares, split_items};
pub use view_keys_published::view_keys_publication;

/// Purpose label of the participants' allocation-floor proof.
pub const SPLIT_PURPOSE: &str = "allocation-floor";

/// Where building one entry spent its time.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BuildTimings {
    /// Envelope encryption (policy lookups, HPKE wraps, field encryption).
    pub encrypt: std::time::Duration,
    /// Commitments and proofs.
    pub prove: std::time::Duration,
    /// Signing and encoding.
    pub sign: std::time::Duration,
    /// Borrower references before building (the members' threshold OPRF; zero when cached).
    pub references: std::time::Duration,
    /// Of [`BuildTimings::prove`], the time of each kind of proof.
    pub proofs: ProofTimes,
}

/// Time spent making an entry's proofs, by kind ([`ProofKind`]).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ProofTimes([std::time::Duration; ProofKind::ALL.len()]);

impl ProofTimes {
    fn slot(kind: ProofKind) -> usize {
        ProofKind::ALL
            .iter()
            .position(|k| *k == kind)
            .unwrap_or_default()
    }

    /// Runs `prove`, adding its time to `kind`'s.
    pub fn time<T>(&mut self, kind: ProofKind, prove: impl FnOnce() -> T) -> T {
        let started = std::time::Instant::now();
        let result = prove();
        self.0[Self::slot(kind)] += started.elapsed();
        result
    }

    /// Adds `other`'s times to these.
    pub fn add(&mut self, other: &ProofTimes) {
        for (mine, theirs) in self.0.iter_mut().zip(other.0) {
            *mine += theirs;
        }
    }

    /// The kinds with a nonzero time, and their times.
    pub fn iter(&self) -> impl Iterator<Item = (ProofKind, std::time::Duration)> + '_ {
        ProofKind::ALL
            .into_iter()
            .zip(self.0)
            .filter(|(_, elapsed)| !elapsed.is_zero())
    }
}

/// A built entry and where building it spent its time.
pub type Built = (Entry, BuildTimings);

/// One field to encrypt.
pub(super) struct Field {
    pub(super) path: String,
    pub(super) plaintext: Zeroizing<Vec<u8>>,
}

/// Length of a committed field's plaintext ([`opening_plaintext`]).
pub use veil_crypto::pedersen::OPENING_PLAINTEXT_LEN;

/// The plaintext of a committed field: its opening in a fixed width
/// ([`Opening::to_plaintext`], 40 bytes), so every amount's ciphertext has the same length.
pub fn opening_plaintext(opening: &Opening) -> Zeroizing<Vec<u8>> {
    opening.to_plaintext()
}

/// Parses a committed field's plaintext ([`Opening::from_plaintext`]); whether it matches the
/// entry's public commitment is the caller's check.
pub fn parse_opening(plaintext: &[u8]) -> Option<Opening> {
    Opening::from_plaintext(plaintext)
}

pub(super) fn json(value: &impl serde::Serialize) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(serde_json::to_vec(value).unwrap_or_default())
}

/// Builds entries for one member.
#[derive(Debug)]
pub struct Builder<'a> {
    /// The consortium.
    pub genesis: &'a Genesis,
    /// The policy set.
    pub policies: &'a Policies,
    /// The member's keys.
    pub secrets: &'a MemberSecrets,
    /// The member.
    pub member: &'a str,
    /// The settlement circuit's proving keys.
    pub proving_keys: &'a ProvingKeys,
    /// The regulators' view keys published on the ledger since the genesis (the genesis' own
    /// are in [`Builder::genesis`]).
    pub view_keys: &'a PublishedViewKeys,
    /// The borrower reference of every national id the entry names (computed before building:
    /// by the members' threshold OPRF, `crate::service`).
    pub borrower_refs: &'a BorrowerRefs,
    /// The id nonce of an idempotent write ([`MemberSecrets::idempotent_nonce`]), which a
    /// repayment, settlement or registry update takes instead of a random one; `None` without
    /// an Idempotency-Key. (A loan's nonce derives from its business id.)
    pub nonce: Option<[u8; 16]>,
}

/// A loan's field holding the blinding of its screening proof's borrower commitment: drawn at
/// random each time a loan is built, not from the request.
pub const SCREENING_BLINDING: &str = "screening_blinding";

/// Borrower references (32 bytes) by canonical national id.
pub type BorrowerRefs = std::collections::HashMap<String, [u8; 32]>;

impl Builder<'_> {
    /// The id nonce of an entry other than a loan: [`Builder::nonce`], or a random one.
    fn entry_nonce(&self) -> [u8; 16] {
        self.nonce.unwrap_or_else(EntryId::random_nonce)
    }

    /// The borrower reference of `national_id`, computed before building.
    fn borrower_ref(&self, national_id: &str) -> Result<[u8; 32], EntryError> {
        self.borrower_refs.get(national_id).copied().ok_or_else(|| {
            tracing::error!("an entry was built without one of its borrower references");
            EntryError::internal()
        })
    }
}

/// Proofs beyond the proof plan's: the participants' split proof and the circuit data.
#[derive(Debug, Default)]
pub(super) struct Extra {
    pub(super) participant: Vec<u8>,
    pub(super) circuit: Vec<u8>,
    /// The time making them took, by kind.
    pub(super) proofs: ProofTimes,
}

/// A loan as its originator knows it (from the ledger): id, shares, banks.
#[derive(Debug, Clone)]
pub struct LoanTerms {
    /// The loan entry.
    pub entry_id: EntryId,
    /// The loan's business id.
    pub loan_id: String,
    /// Shares by bank, sorted by bank.
    pub shares: Vec<(String, u64)>,
}

pub(super) fn internal(e: impl std::fmt::Display) -> EntryError {
    tracing::error!(error = %e, "building an entry failed");
    EntryError::internal()
}

impl Builder<'_> {
    /// The recipient set of `field` ([`veil_node::recipients`]): what every node recomputes
    /// and checks the field's reader group is wrapped to.
    pub(super) fn readers(
        &self,
        field: &Field,
        kind: EntryType,
        participants: &[String],
        month: &str,
    ) -> Result<Vec<EncryptionPublicKey>, EntryError> {
        let resource = field_resource(kind, &field.path, self.member, participants)
            .ok_or_else(|| internal(format!("{} is not a field of {kind}", field.path)))?;
        let members =
            recipients::member_readers(self.genesis, self.policies, &resource).map_err(internal)?;
        recipients::field_recipients(
            self.genesis,
            self.policies,
            &resource,
            &members,
            month,
            &|regulator, scope| self.view_keys.key(regulator, scope).cloned(),
        )
        .map_err(|e| match e {
            RecipientError::NoViewKey { regulator, .. } => EntryError::invalid(format!(
                "regulator {regulator} has not published its view keys for {month}: entries of \
                 {month} can be written once it has (`veil regulator publish`)"
            )),
            RecipientError::Nobody { path } => {
                EntryError::invalid(format!("nobody may read {path}"))
            }
            other => internal(other),
        })
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn assemble(
        &self,
        nonce: [u8; 16],
        kind: EntryType,
        period: &str,
        references: Vec<EntryId>,
        participants: &[String],
        fields: Vec<Field>,
        openings: Vec<(String, Opening)>,
        referenced: &[&[(String, Opening)]],
        extra: impl FnOnce(&EntryId, &[u8; 16], &[(String, Opening)]) -> Result<Extra, EntryError>,
        now_ms: u64,
    ) -> Result<Built, EntryError> {
        let month = month_of(period)
            .map_err(|_| EntryError::malformed("invalid period"))?
            .to_owned();
        let id = EntryId::derive(&self.genesis.hash, self.member, &nonce);
        let header = EntryHeader {
            id,
            nonce,
            genesis: self.genesis.hash,
            kind: kind.name().to_owned(),
            submitter: self.member.to_owned(),
            schema_version: kind.schema_version(),
            policy_hash: self.genesis.policy_hash,
            timestamp_ms: now_ms,
            period: period.to_owned(),
            references,
        };
        // Every proof and ciphertext of the entry is bound to its statement id (genesis,
        // submitter, entry id).
        let statement = header.statement_id();
        let context = header.field_context(&self.genesis.consortium_id, &statement);

        let started = std::time::Instant::now();
        // Reader groups: fields with the same recipients share one data key.
        let mut groups: Vec<(Vec<EncryptionPublicKey>, Vec<&Field>)> = Vec::new();
        for field in &fields {
            let readers = self.readers(field, kind, participants, &month)?;
            match groups.iter_mut().find(|(r, _)| *r == readers) {
                Some((_, members)) => members.push(field),
                None => groups.push((readers, vec![field])),
            }
        }
        let mut sealed = Vec::with_capacity(groups.len());
        for (readers, members) in &groups {
            let recipients: Vec<&EncryptionPublicKey> = readers.iter().collect();
            let plaintexts: Vec<(&str, &[u8])> = members
                .iter()
                .map(|f| (f.path.as_str(), f.plaintext.as_slice()))
                .collect();
            sealed
                .push(envelope::seal_group(&context, &recipients, &plaintexts).map_err(internal)?);
        }

        let encrypt = started.elapsed();
        let started = std::time::Instant::now();
        // Commitments and proofs.
        let mut openings = openings;
        openings.sort_by(|a, b| a.0.cmp(&b.0));
        let commitments: Vec<(String, Commitment)> = openings
            .iter()
            .map(|(l, o)| (l.clone(), o.commit()))
            .collect();
        let params = self.genesis.plan_params();
        let plan = proof_plan::plan(kind, &openings, referenced, &params).map_err(|e| {
            EntryError::invalid(match e {
                veil_policies::PlanError::RuleViolated(rule) => rule.to_owned(),
                other => other.to_string(),
            })
        })?;
        let referenced_commitments: Vec<Vec<(String, Commitment)>> = referenced
            .iter()
            .map(|items| items.iter().map(|(l, o)| (l.clone(), o.commit())).collect())
            .collect();
        let referenced_refs: Vec<&[(String, Commitment)]> =
            referenced_commitments.iter().map(Vec::as_slice).collect();
        let verifier_plan =
            proof_plan::plan(kind, &commitments, &referenced_refs, &params).map_err(internal)?;
        let mut proofs = ProofTimes::default();
        let range_items: Vec<&Opening> = plan.range.iter().collect();
        let range = if range_items.is_empty() {
            // A type without amounts carries no range proof.
            Vec::new()
        } else {
            proofs
                .time(ProofKind::Range, || {
                    RangeProof::prove(&statement, purpose::RANGE, &range_items)
                })
                .map_err(internal)?
                .0
                .to_bytes()
        };
        let mut relations = Vec::with_capacity(plan.relations.len());
        for (prover, verifier) in plan.relations.iter().zip(&verifier_plan.relations) {
            let witness: Vec<&Opening> = prover.terms.iter().map(|(_, o)| o).collect();
            let proof = proofs
                .time(ProofKind::Relation, || {
                    RelationProof::prove(
                        &Relation {
                            entry_id: &statement,
                            purpose: &verifier.purpose,
                            terms: &verifier.terms,
                            constant: verifier.constant,
                        },
                        &witness,
                    )
                })
                .map_err(internal)?;
            relations.push(proof.to_bytes());
        }
        let Extra {
            participant,
            circuit,
            proofs: extra_proofs,
        } = extra(&id, &statement, &openings)?;
        proofs.add(&extra_proofs);
        // Every amount recoverable by every regulator, whatever the groups hold.
        let audit = proofs
            .time(ProofKind::Audit, || {
                veil_node::audit::prove(self.genesis, &statement, &openings)
            })
            .map_err(internal)?;
        let prove = started.elapsed();
        let started = std::time::Instant::now();
        let entry = UnsignedEntry {
            header,
            groups: sealed,
            commitments,
            proofs: EntryProofs {
                range,
                relations,
                participant,
                circuit,
                audit,
            },
        }
        .sign(&self.secrets.signing);
        let sign = started.elapsed();
        Ok((
            entry,
            BuildTimings {
                encrypt,
                prove,
                sign,
                references: std::time::Duration::ZERO,
                proofs,
            },
        ))
    }
}
