//! `loan.originated`: a loan with its borrower's screening proof against the current registry
//! version, funding commitments and the proofs that they sum to the principal.

use veil_crypto::Opening;
use veil_node::ledger::EntryId;
use veil_policies::schema::EntryType;

use crate::entry::error::EntryError;
use crate::entry::request::LoanOriginated;

use super::*;

/// The registry version a loan is screened against: the `registry.updated` entry and the
/// registry after it (a gateway's stored copy, `veil_circuits::screening::stored` keys).
#[derive(Clone, Copy)]
pub struct ScreeningRegistry<'a> {
    /// The current version's entry.
    pub version: EntryId,
    /// The registry (lists and trees) after it.
    pub registry: &'a dyn veil_circuits::screening::stored::RegistryKv,
}

impl std::fmt::Debug for ScreeningRegistry<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScreeningRegistry")
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// A stored registry's error as the builder reports it: a borrower not registered or
/// blocklisted is the caller's (422), anything else the gateway's.
pub(super) fn registry_error(
    error: veil_circuits::screening::stored::StoredRegistryError,
) -> EntryError {
    use veil_circuits::screening::stored::StoredRegistryError;
    match error {
        StoredRegistryError::Circuit(veil_circuits::CircuitError::Unsatisfied(why)) => {
            EntryError::invalid(why.to_string())
        }
        other => internal(other),
    }
}

/// The commitment to a loan's borrower reference its screening proof is about. Its blinding
/// is derived from a fresh secret sealed beside the reference (the field `screening_blinding`,
/// class `terms`), so exactly whoever reads the `borrower_ref` can check it — and an
/// inspector who reads amounts only cannot test registry references against it.
pub fn screening_commitment(
    borrower_ref: &[u8; 32],
    screening_secret: &[u8; 32],
) -> veil_circuits::Fr {
    veil_circuits::screening::reference_commitment(
        veil_circuits::screening::Reference::of_borrower_ref(borrower_ref).field(),
        veil_circuits::screening_blinding(screening_secret),
    )
}

impl Builder<'_> {
    /// A `loan.originated` entry (rules already checked), screened against `registry` when the
    /// consortium screens borrowers.
    pub fn loan(
        &self,
        loan: &LoanOriginated,
        registry: Option<&ScreeningRegistry<'_>>,
        period: &str,
        now_ms: u64,
    ) -> Result<Built, EntryError> {
        let mut participants: Vec<String> =
            loan.participants.iter().map(|p| p.bank.clone()).collect();
        participants.sort();
        let borrower_ref = self.borrower_ref(&loan.borrower.national_id)?;
        let mut fields = vec![
            Field {
                path: "loan_id".into(),
                plaintext: json(&loan.loan_id),
            },
            Field {
                path: "borrower.name".into(),
                plaintext: json(&loan.borrower.name),
            },
            Field {
                path: "borrower.national_id".into(),
                plaintext: json(&loan.borrower.national_id),
            },
            Field {
                path: "borrower.phone".into(),
                plaintext: json(&loan.borrower.phone),
            },
            Field {
                path: "borrower_ref".into(),
                plaintext: json(&veil_crypto::encoding::to_hex(&borrower_ref)),
            },
            Field {
                path: "term_days".into(),
                plaintext: json(&loan.term_days),
            },
            Field {
                path: "participants".into(),
                plaintext: json(&loan.participants),
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
                return Err(EntryError::invalid(
                    "the borrower is not in the consortium's KYC registry (the registry is empty)",
                ));
            }
            (Some(_), Some(registry)) => {
                let mut secret = zeroize::Zeroizing::new([0u8; 32]);
                getrandom::fill(secret.as_mut()).map_err(internal)?;
                fields.push(Field {
                    path: SCREENING_BLINDING.into(),
                    plaintext: json(&veil_crypto::encoding::to_hex(secret.as_ref())),
                });
                let witness = veil_circuits::screening::stored::witness(
                    registry.registry,
                    veil_circuits::screening::Reference::of_borrower_ref(&borrower_ref),
                    veil_circuits::screening_blinding(&secret),
                )
                .map_err(registry_error)?;
                let roots = veil_circuits::screening::stored::roots(registry.registry)
                    .map_err(registry_error)?;
                let key = self.proving_keys.screening(self.genesis).map_err(|e| {
                    tracing::error!(error = %e, "no screening proving key");
                    EntryError::unavailable()
                })?;
                Some((registry.version, roots, witness, key))
            }
        };
        for (label, opening) in &openings {
            fields.push(Field {
                path: label.clone(),
                plaintext: opening_plaintext(opening),
            });
        }
        let references = screening.iter().map(|(version, ..)| *version).collect();
        self.assemble(
            self.secrets
                .loan_nonce(&self.genesis.consortium_id, &loan.loan_id),
            EntryType::LoanOriginated,
            period,
            references,
            &participants,
            fields,
            openings,
            &[],
            |_, statement, _| {
                let Some((_, roots, witness, key)) = screening else {
                    return Ok(Extra::default());
                };
                let public = veil_circuits::screening::ScreeningPublic {
                    entry: *statement,
                    roots,
                    commitment: veil_circuits::screening::reference_commitment(
                        witness.reference,
                        witness.blinding,
                    ),
                };
                let mut proofs = ProofTimes::default();
                let proof = proofs
                    .time(ProofKind::Screening, || {
                        key.prove(
                            veil_circuits::screening::ScreeningCircuit {
                                public: Some(public.clone()),
                                witness: Some(witness),
                            },
                            &mut veil_circuits::OsRng,
                        )
                    })
                    .map_err(internal)?;
                Ok(Extra {
                    proofs,
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
}
