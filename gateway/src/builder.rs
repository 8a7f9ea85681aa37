//! Turns a checked business request into a signed ledger entry: derived fields, per-field
//! readers from the policy, envelope encryption per reader group, Pedersen commitments,
//! the range and relation proofs of the type's proof plan, and the split proof partners check.

use std::collections::BTreeMap;

use veil_crypto::envelope::{self, FieldContext};
use veil_crypto::range_proof::RangeProof;
use veil_crypto::relation_proof::{Relation, RelationProof};
use veil_crypto::view_key::{ViewScope, month_of};
use veil_crypto::{Commitment, EncryptionPublicKey, Opening};
use veil_node::genesis::Genesis;
use veil_node::ledger::{Entry, EntryHeader, EntryId, EntryProofs, UnsignedEntry};
use veil_policies::proof_plan::{self, purpose};
use veil_policies::schema::{EntryType, FieldClass};
use veil_policies::{FieldResource, Policies, Principal};
use zeroize::Zeroizing;

use veil_circuits::settlement::{
    self, SettlementCircuit, SettlementProof, SettlementPublic, SettlementWitness, Shape,
};

use crate::circuits::ProvingKeys;
use crate::keys::MemberSecrets;
use crate::problem::Problem;
use crate::request::{ListChanges, LoanOriginated, LoanRepaid, RegistryUpdated, allocate};

/// Purpose label of the participants' allocation-floor proof.
pub const SPLIT_PURPOSE: &str = "allocation-floor";
/// Keyed-hash purpose of borrower references.
pub const BORROWER_REF_PURPOSE: &str = "borrower";

/// Where building one entry spent its time.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BuildTimings {
    /// Envelope encryption (policy lookups, HPKE wraps, field encryption).
    pub encrypt: std::time::Duration,
    /// Commitments and proofs.
    pub prove: std::time::Duration,
    /// Signing and encoding.
    pub sign: std::time::Duration,
}

/// A built entry and where building it spent its time.
pub type Built = (Entry, BuildTimings);

/// One field to encrypt.
struct Field {
    path: String,
    plaintext: Zeroizing<Vec<u8>>,
    class: FieldClass,
    subject: Option<String>,
}

/// The JSON plaintext of a committed field: its opening.
pub fn opening_plaintext(opening: &Opening) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(
        format!(
            "{{\"value\":{},\"blinding\":\"{}\"}}",
            opening.value(),
            veil_crypto::encoding::to_hex(&opening.blinding_bytes())
        )
        .into_bytes(),
    )
}

fn json(value: &impl serde::Serialize) -> Zeroizing<Vec<u8>> {
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
}

/// Proofs beyond the proof plan's: the participants' split proof and the circuit data.
#[derive(Debug, Default)]
struct Extra {
    participant: Vec<u8>,
    circuit: Vec<u8>,
}

/// A loan's shares laid out by circuit bank slot (genesis member order), zero for banks
/// outside the loan.
pub fn slot_shares(genesis: &Genesis, shares: &[(String, u64)]) -> Option<Vec<u64>> {
    let mut slots = vec![0; genesis.members.len()];
    for (bank, share) in shares {
        slots[genesis.bank_slot(bank)?] = *share;
    }
    Some(slots)
}

/// A repayment's Poseidon commitment: its amount and share vector, blinded by a value derived
/// from the amount's Pedersen blinding (so whoever opens one can check the other).
pub fn repayment_commitment(
    genesis: &Genesis,
    id: &EntryId,
    amount: &Opening,
    shares: &[(String, u64)],
) -> Option<veil_circuits::settlement::Repayment> {
    Some(veil_circuits::settlement::Repayment {
        entry: id.0,
        amount: amount.value(),
        shares: slot_shares(genesis, shares)?,
        blinding: veil_circuits::derived_blinding(&amount.blinding_bytes()),
    })
}

/// The registry version a loan is screened against: the `registry.updated` entry and the
/// registry after it.
#[derive(Debug, Clone)]
pub struct ScreeningRegistry {
    /// The current version's entry.
    pub version: EntryId,
    /// The registry (lists and trees).
    pub registry: std::sync::Arc<veil_circuits::screening::Registry>,
}

/// A borrower's registry reference, from its national id.
pub fn registry_reference(
    secrets: &MemberSecrets,
    national_id: &str,
) -> veil_circuits::screening::Reference {
    veil_circuits::screening::Reference::of_borrower_ref(
        &secrets
            .borrower_ref
            .hash(BORROWER_REF_PURPOSE, national_id.as_bytes()),
    )
}

/// The commitment to a loan's borrower reference its screening proof is about: the blinding
/// is derived from the principal's Pedersen blinding, so whoever reads the principal and the
/// `borrower_ref` can check it.
pub fn screening_commitment(borrower_ref: &[u8; 32], principal: &Opening) -> veil_circuits::Fr {
    veil_circuits::screening::reference_commitment(
        veil_circuits::screening::Reference::of_borrower_ref(borrower_ref).field(),
        veil_circuits::screening_blinding(&principal.blinding_bytes()),
    )
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

fn internal(e: impl std::fmt::Display) -> Problem {
    tracing::error!(error = %e, "building an entry failed");
    Problem::internal()
}

impl Builder<'_> {
    fn readers(
        &self,
        field: &Field,
        kind: EntryType,
        participants: &[String],
        month: &str,
    ) -> Result<Vec<EncryptionPublicKey>, Problem> {
        let resource = FieldResource {
            entry_type: kind.name(),
            path: &field.path,
            class: field.class.name(),
            originator: self.member,
            participants,
            subject_bank: field.subject.as_deref(),
        };
        let banks = self
            .policies
            .readers(
                &resource,
                self.genesis.members.iter().map(|m| m.id.as_str()),
            )
            .map_err(internal)?;
        let mut keys: Vec<EncryptionPublicKey> = banks
            .iter()
            .filter_map(|bank| self.genesis.member(bank).map(|m| m.encryption_key.clone()))
            .collect();
        for regulator in &self.genesis.regulators {
            let principal = Principal::Regulator {
                id: regulator.id.clone(),
            };
            if !self
                .policies
                .can_read(&principal, &resource)
                .map_err(internal)?
            {
                continue;
            }
            let scope = ViewScope::new(month, field.class.name()).map_err(internal)?;
            let key = regulator.view_keys.get(&scope).ok_or_else(|| {
                Problem::invalid_entry(format!(
                    "{} has published no view key for {scope}; it must publish keys for this period",
                    regulator.id
                ))
            })?;
            keys.push(key.clone());
        }
        if keys.is_empty() {
            return Err(Problem::invalid_entry(format!(
                "nobody may read {}",
                field.path
            )));
        }
        Ok(keys)
    }

    #[allow(clippy::too_many_arguments)]
    fn assemble(
        &self,
        kind: EntryType,
        period: &str,
        references: Vec<EntryId>,
        participants: &[String],
        fields: Vec<Field>,
        openings: Vec<(String, Opening)>,
        referenced: &[&[(String, Opening)]],
        extra: impl FnOnce(&EntryId, &[(String, Opening)]) -> Result<Extra, Problem>,
        now_ms: u64,
    ) -> Result<Built, Problem> {
        let id = EntryId::random();
        let month = month_of(period)
            .map_err(|_| Problem::bad_request("invalid period"))?
            .to_owned();
        let header = EntryHeader {
            id,
            kind: kind.name().to_owned(),
            submitter: self.member.to_owned(),
            schema_version: kind.schema_version(),
            policy_hash: self.genesis.policy_hash,
            timestamp_ms: now_ms,
            period: period.to_owned(),
            references,
        };
        let context = FieldContext {
            consortium_id: &self.genesis.consortium_id,
            entry_id: &id.0,
            schema_version: header.schema_version,
            policy_hash: &self.genesis.policy_hash,
        };

        let started = std::time::Instant::now();
        // Reader groups: fields with the same recipients share one data key.
        let mut groups: Vec<(Vec<EncryptionPublicKey>, Vec<&Field>)> = Vec::new();
        for field in &fields {
            let mut readers = self.readers(field, kind, participants, &month)?;
            readers.sort_by_key(EncryptionPublicKey::to_bytes);
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
            Problem::invalid_entry(match e {
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
        let range_items: Vec<&Opening> = plan.range.iter().collect();
        let range = if range_items.is_empty() {
            // A type without amounts carries no range proof.
            Vec::new()
        } else {
            RangeProof::prove(&id.0, purpose::RANGE, &range_items)
                .map_err(internal)?
                .0
                .to_bytes()
        };
        let mut relations = Vec::with_capacity(plan.relations.len());
        for (prover, verifier) in plan.relations.iter().zip(&verifier_plan.relations) {
            let witness: Vec<&Opening> = prover.terms.iter().map(|(_, o)| o).collect();
            let proof = RelationProof::prove(
                &Relation {
                    entry_id: &id.0,
                    purpose: &verifier.purpose,
                    terms: &verifier.terms,
                    constant: verifier.constant,
                },
                &witness,
            )
            .map_err(internal)?;
            relations.push(proof.to_bytes());
        }
        let Extra {
            participant,
            circuit,
        } = extra(&id, &openings)?;
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
            },
        ))
    }

    /// A `loan.originated` entry (rules already checked), screened against `registry` when the
    /// consortium screens borrowers.
    pub fn loan(
        &self,
        loan: &LoanOriginated,
        registry: Option<&ScreeningRegistry>,
        period: &str,
        now_ms: u64,
    ) -> Result<Built, Problem> {
        let mut participants: Vec<String> =
            loan.participants.iter().map(|p| p.bank.clone()).collect();
        participants.sort();
        let borrower_ref = self
            .secrets
            .borrower_ref
            .hash(BORROWER_REF_PURPOSE, loan.borrower.national_id.as_bytes());
        let mut fields = vec![
            Field {
                path: "loan_id".into(),
                plaintext: json(&loan.loan_id),
                class: FieldClass::Terms,
                subject: None,
            },
            Field {
                path: "borrower.name".into(),
                plaintext: json(&loan.borrower.name),
                class: FieldClass::Pii,
                subject: None,
            },
            Field {
                path: "borrower.national_id".into(),
                plaintext: json(&loan.borrower.national_id),
                class: FieldClass::Pii,
                subject: None,
            },
            Field {
                path: "borrower.phone".into(),
                plaintext: json(&loan.borrower.phone),
                class: FieldClass::Pii,
                subject: None,
            },
            Field {
                path: "borrower_ref".into(),
                plaintext: json(&veil_crypto::encoding::to_hex(&borrower_ref)),
                class: FieldClass::Terms,
                subject: None,
            },
            Field {
                path: "term_days".into(),
                plaintext: json(&loan.term_days),
                class: FieldClass::Terms,
                subject: None,
            },
            Field {
                path: "participants".into(),
                plaintext: json(&loan.participants),
                class: FieldClass::Terms,
                subject: None,
            },
        ];
        let mut openings = vec![
            ("principal".to_owned(), Opening::random(loan.principal)),
            (
                "annual_rate_bps".to_owned(),
                Opening::random(loan.annual_rate_bps),
            ),
        ];
        for participant in &loan.participants {
            openings.push((
                format!("share.{}", participant.bank),
                Opening::random(participant.share_bps),
            ));
        }
        for (bank, amount) in &loan.funding {
            openings.push((format!("funding.{bank}"), Opening::random(*amount)));
        }
        let screening = match (&self.genesis.circuits.screening, registry) {
            (None, _) => None,
            (Some(_), None) => {
                return Err(Problem::invalid_entry(
                    "the borrower is not in the consortium's KYC registry (the registry is empty)",
                ));
            }
            (Some(_), Some(registry)) => {
                let principal = opening_of(&openings, "principal")?;
                let witness = registry
                    .registry
                    .witness(
                        veil_circuits::screening::Reference::of_borrower_ref(&borrower_ref),
                        veil_circuits::screening_blinding(&principal.blinding_bytes()),
                    )
                    .map_err(|e| match e {
                        veil_circuits::CircuitError::Unsatisfied(why) => {
                            Problem::invalid_entry(why)
                        }
                        other => internal(other),
                    })?;
                let key = self.proving_keys.screening(self.genesis).map_err(|e| {
                    tracing::error!(error = %e, "no screening proving key");
                    Problem::unavailable()
                })?;
                Some((registry.version, registry.registry.roots(), witness, key))
            }
        };
        for (label, opening) in &openings {
            let (class, subject) = match label.split_once('.') {
                Some(("share", _)) => (FieldClass::Terms, None),
                Some((_, bank)) => (FieldClass::Amounts, Some(bank.to_owned())),
                None if label == "annual_rate_bps" => (FieldClass::Terms, None),
                None => (FieldClass::Amounts, None),
            };
            fields.push(Field {
                path: label.clone(),
                plaintext: opening_plaintext(opening),
                class,
                subject,
            });
        }
        let references = screening.iter().map(|(version, ..)| *version).collect();
        self.assemble(
            EntryType::LoanOriginated,
            period,
            references,
            &participants,
            fields,
            openings,
            &[],
            |id, _| {
                let Some((_, roots, witness, key)) = screening else {
                    return Ok(Extra::default());
                };
                let public = veil_circuits::screening::ScreeningPublic {
                    entry: id.0,
                    roots,
                    commitment: veil_circuits::screening::reference_commitment(
                        witness.reference,
                        witness.blinding,
                    ),
                };
                let proof = key
                    .prove(
                        veil_circuits::screening::ScreeningCircuit {
                            public: Some(public.clone()),
                            witness: Some(witness),
                        },
                        &mut veil_circuits::OsRng,
                    )
                    .map_err(internal)?;
                Ok(Extra {
                    participant: Vec::new(),
                    circuit: veil_circuits::screening::ScreeningProof {
                        commitment: public.commitment,
                        proof,
                    }
                    .to_bytes(),
                })
            },
            now_ms,
        )
    }

    /// A `registry.updated` entry applying `update` to the current registry `current`
    /// (version `previous`, none if the registry is still empty).
    pub fn registry(
        &self,
        update: &RegistryUpdated,
        previous: Option<EntryId>,
        current: &veil_circuits::screening::Registry,
        period: &str,
        now_ms: u64,
    ) -> Result<Built, Problem> {
        use veil_circuits::screening::{Change, RegistryUpdate};
        let reference = |id: &String| registry_reference(self.secrets, id);
        let mut changes: Vec<Change> = Vec::new();
        changes.extend(
            update
                .kyc
                .add
                .iter()
                .map(|id| Change::AddKyc(reference(id))),
        );
        changes.extend(
            update
                .kyc
                .remove
                .iter()
                .map(|id| Change::RemoveKyc(reference(id))),
        );
        changes.extend(
            update
                .blocklist
                .add
                .iter()
                .map(|id| Change::AddBlocklist(reference(id))),
        );
        changes.extend(
            update
                .blocklist
                .remove
                .iter()
                .map(|id| Change::RemoveBlocklist(reference(id))),
        );
        changes.sort_unstable();
        if changes.windows(2).any(|w| w[0] == w[1]) {
            return Err(Problem::bad_request(
                "a national id appears twice in one list",
            ));
        }
        let mut next = current.clone();
        next.apply(&changes).map_err(|e| match e {
            veil_circuits::CircuitError::Unsatisfied(why) => Problem::invalid_entry(why),
            other => Problem::invalid_entry(other.to_string()),
        })?;
        let roots = next.roots();
        let circuit = RegistryUpdate { roots, changes }.to_bytes();
        let list = |path: &str, changes: &ListChanges| Field {
            path: path.into(),
            plaintext: json(changes),
            class: FieldClass::Pii,
            subject: None,
        };
        self.assemble(
            EntryType::RegistryUpdated,
            period,
            previous.into_iter().collect(),
            &[],
            vec![
                list("kyc", &update.kyc),
                list("blocklist", &update.blocklist),
            ],
            Vec::new(),
            &[],
            |_, _| {
                Ok(Extra {
                    participant: Vec::new(),
                    circuit,
                })
            },
            now_ms,
        )
    }

    /// A `loan.repaid` entry for `loan` (rules already checked).
    pub fn repayment(
        &self,
        repayment: &LoanRepaid,
        loan: &LoanTerms,
        now_ms: u64,
    ) -> Result<Built, Problem> {
        let participants: Vec<String> = loan.shares.iter().map(|(b, _)| b.clone()).collect();
        let allocations = allocate(repayment.amount, &loan.shares, self.member);
        let mut fields = vec![
            Field {
                path: "loan_id".into(),
                plaintext: json(&repayment.loan_id),
                class: FieldClass::Terms,
                subject: None,
            },
            Field {
                path: "period".into(),
                plaintext: json(&repayment.period),
                class: FieldClass::Terms,
                subject: None,
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
            let subject = label.strip_prefix("allocations.").map(str::to_owned);
            fields.push(Field {
                path: label.clone(),
                plaintext: opening_plaintext(opening),
                class: FieldClass::Amounts,
                subject,
            });
        }
        let shares = loan.shares.clone();
        let member = self.member.to_owned();
        let genesis = self.genesis;
        self.assemble(
            EntryType::LoanRepaid,
            &repayment.period,
            vec![loan.entry_id],
            &participants,
            fields,
            openings,
            &[],
            move |id, openings| {
                let amount = opening_of(openings, "amount")?;
                let commitment = repayment_commitment(genesis, id, amount, &shares)
                    .ok_or_else(Problem::internal)?
                    .commitment();
                Ok(Extra {
                    participant: split_proof(id, openings, &shares, &member)?,
                    circuit: veil_circuits::groth16::field::to_bytes(&commitment).to_vec(),
                })
            },
            now_ms,
        )
    }

    /// A `settlement.closed` entry over `repayments` of `period`.
    pub fn settlement(
        &self,
        period: &str,
        repayments: &[RepaymentAllocations],
        now_ms: u64,
    ) -> Result<Built, Problem> {
        if repayments.is_empty() {
            return Err(Problem::invalid_entry(format!(
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
                class: FieldClass::Terms,
                subject: None,
            },
            Field {
                path: "repayments".into(),
                plaintext: json(&repayments.len()),
                class: FieldClass::Terms,
                subject: None,
            },
        ];
        // Fresh blindings: the relation proof shows each amount due equals the sum of the
        // allocations without revealing the allocations' blindings.
        let openings: Vec<(String, Opening)> = due
            .iter()
            .map(|(bank, sum)| (format!("due.{bank}"), Opening::random(sum.value())))
            .collect();
        for (label, opening) in &openings {
            let subject = label.strip_prefix("due.").map(str::to_owned);
            fields.push(Field {
                path: label.clone(),
                plaintext: opening_plaintext(opening),
                class: FieldClass::Amounts,
                subject,
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
            .ok_or_else(Problem::internal)?;
        let capacities: Vec<usize> = self.genesis.circuits.settlement.keys().copied().collect();
        let capacity = Shape::fitting(&capacities, repayments.len()).ok_or_else(|| {
            Problem::invalid_entry(format!(
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
                Problem::unavailable()
            })?;
        let originator = self
            .genesis
            .bank_slot(self.member)
            .ok_or_else(Problem::internal)?;
        let period_number = veil_circuits::period_number(period)
            .ok_or_else(|| Problem::bad_request("invalid period"))?;
        let genesis = self.genesis;
        self.assemble(
            EntryType::SettlementClosed,
            period,
            repayments.iter().map(|r| r.entry_id).collect(),
            &participants,
            fields,
            openings,
            &referenced_refs,
            move |id, openings| {
                let proof = settlement_proof(
                    genesis,
                    &key,
                    capacity,
                    id,
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
        items.push(T::linear_combination(
            &[(share, amount), (-10_000, allocation)],
            0,
        )?);
        items.push(T::linear_combination(
            &[(-share, amount), (10_000, allocation)],
            9_999,
        )?);
    }
    Some(items)
}

fn opening_of<'o>(openings: &'o [(String, Opening)], label: &str) -> Result<&'o Opening, Problem> {
    openings
        .iter()
        .find(|(l, _)| l == label)
        .map(|(_, o)| o)
        .ok_or_else(Problem::internal)
}

/// The settlement's Groth16 proof. Each bank's amount-due commitment is blinded by a value
/// derived from its `due.<bank>` Pedersen blinding; banks outside the period get a random one.
#[allow(clippy::too_many_arguments)]
fn settlement_proof(
    genesis: &Genesis,
    key: &veil_circuits::ProvingKey,
    capacity: usize,
    id: &EntryId,
    period: u64,
    originator: usize,
    repayments: Vec<veil_circuits::settlement::Repayment>,
    openings: &[(String, Opening)],
) -> Result<SettlementProof, Problem> {
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
            return Err(Problem::internal());
        }
    }
    let leaves: Vec<veil_circuits::Fr> = repayments.iter().map(|r| r.commitment()).collect();
    let public = SettlementPublic {
        entry: id.0,
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

fn internal_shape() -> Problem {
    tracing::error!("a repayment's shares do not fit the settlement circuit");
    Problem::internal()
}

fn split_proof(
    id: &EntryId,
    openings: &[(String, Opening)],
    shares: &[(String, u64)],
    originator: &str,
) -> Result<Vec<u8>, Problem> {
    let amount = opening_of(openings, "amount")?;
    let allocations = proof_plan::per_bank(openings, "allocations");
    let items =
        split_items(amount, &allocations, shares, originator).ok_or_else(Problem::internal)?;
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let refs: Vec<&Opening> = items.iter().collect();
    let (proof, _) = RangeProof::prove(&id.0, SPLIT_PURPOSE, &refs).map_err(internal)?;
    Ok(proof.to_bytes())
}
