//! Test-only consortia and entries (feature `testkit`, or in this crate's tests): deterministic
//! member keys, a genesis, and valid joint-loan entries with real encryption and proofs.
//!
//! Entries here put every field in one reader group addressed to the submitter: enough for
//! the node, which checks shapes and proofs but never reads fields. The gateway's builder is
//! the production path, with per-field readers from the policy.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::too_many_arguments)]

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use commonware_codec::DecodeExt as _;
use veil_crypto::envelope;
use veil_crypto::range_proof::RangeProof;
use veil_crypto::relation_proof::{Relation, RelationProof};
use veil_crypto::{Commitment, EncryptionSecretKey, Opening, SigningKey};
use veil_policies::proof_plan::{self, purpose};
use veil_policies::{EntryType, Params};

use crate::consensus::PrivateKey;
use crate::genesis::{ConsortiumFile, Genesis, MemberFile, ParamsFile};
use crate::ledger::{Entry, EntryHeader, EntryId, EntryProofs, UnsignedEntry};

/// One member's secrets.
#[derive(Debug, Clone)]
pub struct TestMember {
    /// Member id.
    pub id: String,
    /// Node consensus key.
    pub consensus: PrivateKey,
    /// Entry signing key.
    pub signing: SigningKey,
    /// Encryption key.
    pub encryption: EncryptionSecretKey,
}

/// A regulator's secrets.
#[derive(Debug)]
pub struct TestRegulator {
    /// Regulator id.
    pub id: String,
    /// The key that signs its view-key publications.
    pub signing: SigningKey,
    /// Its master view key.
    pub master: veil_crypto::view_key::MasterViewKey,
}

/// A consortium with known secrets.
#[derive(Debug, Clone)]
pub struct TestConsortium {
    /// The genesis.
    pub genesis: Arc<Genesis>,
    /// Members, in genesis order.
    pub members: Vec<TestMember>,
    /// The proving key of the genesis's repayment settlement circuit (capacity 1): the
    /// testkit's dev key, or the one `veil init` wrote beside a consortium read from disk.
    pub settlement_key: Arc<veil_circuits::ProvingKey>,
}

fn seed(tag: u8, index: usize, salt: u64) -> [u8; 32] {
    let mut out = [0u8; 32];
    out[0] = tag;
    out[1..9].copy_from_slice(&(index as u64).to_be_bytes());
    out[9..17].copy_from_slice(&salt.to_be_bytes());
    out
}

/// `file` with every member's signature of its genesis hash, validated.
/// The participants of a test entry of type `kind` from its own commitment labels (a
/// repayment's allocations name exactly its loan's participants).
fn test_participants(kind: EntryType, commitments: &[(String, Commitment)]) -> Vec<String> {
    let prefix = match kind {
        EntryType::LoanOriginated => "share",
        EntryType::LoanRepaid => "allocations",
        EntryType::SettlementClosed => "due",
        EntryType::RegistryUpdated
        | EntryType::ViewKeysPublished
        | EntryType::DisclosuresAnchored
        | EntryType::OprfEvaluations => return Vec::new(),
    };
    proof_plan::per_bank(commitments, prefix)
        .into_iter()
        .map(|(bank, _)| bank.to_owned())
        .collect()
}

fn signed_by_all(mut file: ConsortiumFile, members: &[TestMember]) -> Genesis {
    file.signatures.clear();
    // Each member's own signature of its entry (its descriptor's), then of the genesis.
    for entry in &mut file.members {
        let member = members.iter().find(|m| m.id == entry.id).expect("member");
        entry.signature = None;
        let signed = entry.signed_bytes(&file.consortium_id);
        entry.signature = Some(veil_crypto::encoding::to_hex(
            &member
                .signing
                .sign(veil_crypto::labels::signature::DESCRIPTOR, &signed)
                .to_bytes(),
        ));
    }
    let unsigned = Genesis::from_file(file.clone()).expect("test genesis is valid");
    file.signatures = members
        .iter()
        .map(|m| crate::genesis::GenesisSignatureFile {
            member: m.id.clone(),
            signature: veil_crypto::encoding::to_hex(
                &m.signing
                    .sign(veil_crypto::labels::signature::GENESIS, &unsigned.hash)
                    .to_bytes(),
            ),
        })
        .collect();
    let genesis = Genesis::from_file(file).expect("test genesis is valid");
    genesis.require_signed().expect("every member signed");
    genesis
}

/// The insecure dev proving key (seed `tests`) of the settlement circuit a repayment carries
/// (capacity 1, [`veil_circuits::settlement::PARTICIPANT_SLOTS`] slots), made once per process.
pub fn settlement_proving_key() -> &'static veil_circuits::ProvingKey {
    use veil_circuits::settlement::{PARTICIPANT_SLOTS, SettlementCircuit, Shape};
    static KEY: std::sync::OnceLock<veil_circuits::ProvingKey> = std::sync::OnceLock::new();
    KEY.get_or_init(|| {
        let shape = Shape::new(1, PARTICIPANT_SLOTS).expect("the repayment shape");
        veil_circuits::dev::setup(SettlementCircuit::blank(shape), "tests")
            .expect("the dev settlement setup")
    })
}

fn settlement_key_file() -> crate::genesis::CircuitKeyFile {
    let vk = settlement_proving_key().verifying_key();
    crate::genesis::CircuitKeyFile {
        capacity: 1,
        sha256: veil_crypto::encoding::to_hex(&vk.digest()),
        verifying_key: veil_crypto::encoding::to_hex(&vk.to_bytes()),
    }
}

impl TestConsortium {
    /// `n` members `bank-a`, `bank-b`, ... with keys derived from `salt`, and loopback
    /// addresses from `base_port`.
    pub fn new(n: usize, salt: u64, base_port: u16) -> Self {
        let mut members = Vec::with_capacity(n);
        let mut files = Vec::with_capacity(n);
        for i in 0..n {
            let id = format!("bank-{}", (b'a' + i as u8) as char);
            let consensus_seed = seed(1, i, salt);
            let consensus =
                PrivateKey::decode(consensus_seed.to_vec()).expect("32 bytes are a key");
            let signing = SigningKey::from_seed(&seed(2, i, salt));
            let encryption = EncryptionSecretKey::derive(&seed(3, i, salt));
            let port =
                |k: u16| SocketAddr::from((Ipv4Addr::LOCALHOST, base_port + 3 * i as u16 + k));
            files.push(MemberFile {
                id: id.clone(),
                name: format!("Bank {}", (b'A' + i as u8) as char),
                consensus_key: veil_crypto::encoding::to_hex(
                    commonware_cryptography::Signer::public_key(&consensus).as_ref(),
                ),
                signing_key: signing.verifying_key().to_hex(),
                encryption_key: encryption.public_key().to_hex(),
                p2p_address: port(0),
                node_api: port(1),
                gateway: port(2),
                ca: None,
                signature: None,
            });
            members.push(TestMember {
                id,
                consensus,
                signing,
                encryption,
            });
        }
        let file = ConsortiumFile {
            consortium_id: format!("veil-test-{salt}"),
            params: ParamsFile {
                rate_cap_bps: 2400,
                max_amount_fen: Some(crate::genesis::DEFAULT_MAX_AMOUNT_FEN),
            },
            policy_hash: veil_crypto::encoding::to_hex(
                &veil_policies::Policies::default_set()
                    .expect("the built-in policy set loads")
                    .hash(),
            ),
            members: files,
            regulators: Vec::new(),
            circuits: Some(crate::genesis::CircuitsFile {
                setup: "dev".into(),
                settlement: vec![settlement_key_file()],
                screening: None,
                transcript: None,
            }),
            oprf: None,
            signatures: Vec::new(),
        };
        Self {
            genesis: Arc::new(signed_by_all(file, &members)),
            members,
            settlement_key: Arc::new(settlement_proving_key().clone()),
        }
    }

    /// This consortium with a borrower-reference OPRF key shared 2-of-n among its members (by
    /// the DKG, in this process) and a daily limit of `daily_limit` evaluations per caller.
    pub fn with_oprf(self, daily_limit: u64) -> Self {
        use std::collections::BTreeMap;
        use veil_crypto::dkg;
        let n = u16::try_from(self.members.len()).expect("a small consortium");
        let (mut secrets, mut round1) = (BTreeMap::new(), BTreeMap::new());
        for i in 1..=n {
            let (secret, package) = dkg::round1(i, n, 2).expect("DKG round 1");
            secrets.insert(i, secret);
            round1.insert(i, package);
        }
        let others = |i: u16| -> BTreeMap<u16, Vec<u8>> {
            round1
                .iter()
                .filter(|(j, _)| **j != i)
                .map(|(j, p)| (*j, p.clone()))
                .collect()
        };
        let (mut finishing, mut sent) = (BTreeMap::new(), BTreeMap::<u16, BTreeMap<_, _>>::new());
        for (i, secret) in secrets {
            let (next, packages) = dkg::round2(secret, &others(i)).expect("DKG round 2");
            finishing.insert(i, next);
            for (j, package) in packages {
                sent.entry(j).or_default().insert(i, package);
            }
        }
        let received = sent.remove(&1).unwrap_or_default();
        let (_, key) = dkg::round3(&finishing[&1], &others(1), &received).expect("DKG round 3");
        let mut file = self.genesis.file.clone();
        file.oprf = Some(crate::genesis::OprfFile {
            daily_limit: Some(daily_limit),
            ..crate::genesis::OprfFile::of(&key)
        });
        Self {
            genesis: Arc::new(signed_by_all(file, &self.members)),
            members: self.members,
            settlement_key: self.settlement_key,
        }
    }

    /// This consortium with the borrower screening circuit's verifying key `vk` pinned (a dev
    /// setup): its loans must then carry screening proofs.
    pub fn with_screening(self, vk: &veil_circuits::VerifyingKey) -> Self {
        let mut file = self.genesis.file.clone();
        file.circuits = Some(crate::genesis::CircuitsFile {
            setup: "dev".into(),
            settlement: vec![settlement_key_file()],
            screening: Some(crate::genesis::ScreeningKeyFile {
                sha256: veil_crypto::encoding::to_hex(&vk.digest()),
                verifying_key: veil_crypto::encoding::to_hex(&vk.to_bytes()),
            }),
            transcript: None,
        });
        Self {
            genesis: Arc::new(signed_by_all(file, &self.members)),
            members: self.members,
            settlement_key: self.settlement_key,
        }
    }

    /// This consortium with a regulator, `regulator`, whose genesis entry names its signing key
    /// and publishes its view keys of `months` (e.g. through `2026-11`); returns it with the
    /// regulator's secrets.
    pub fn with_regulator(self, months: &[String]) -> (Self, TestRegulator) {
        let regulator = TestRegulator {
            id: "regulator".into(),
            signing: SigningKey::from_seed(&seed(5, 0, 0)),
            master: veil_crypto::view_key::MasterViewKey::from_bytes(&seed(6, 0, 0)),
        };
        let mut file = self.genesis.file.clone();
        file.regulators.push(crate::genesis::RegulatorFile {
            id: regulator.id.clone(),
            name: "Regulator".into(),
            gateway: SocketAddr::from((Ipv4Addr::LOCALHOST, 1)),
            view_keys: regulator
                .master
                .publish(&file.consortium_id, months, &crate::view_keys::classes())
                .expect("valid months"),
            signing_key: Some(regulator.signing.verifying_key().to_hex()),
            ca: None,
            auditor_key: Some(
                regulator
                    .master
                    .auditor_key(&file.consortium_id)
                    .expect("a valid auditor key")
                    .public_key()
                    .to_hex(),
            ),
            signature: None,
        });
        let own = file.regulators.len() - 1;
        let signed = file.regulators[own].signed_bytes(&file.consortium_id);
        file.regulators[own].signature = Some(veil_crypto::encoding::to_hex(
            &regulator
                .signing
                .sign(veil_crypto::labels::signature::DESCRIPTOR, &signed)
                .to_bytes(),
        ));
        let consortium = Self {
            genesis: Arc::new(signed_by_all(file, &self.members)),
            members: self.members,
            settlement_key: self.settlement_key,
        };
        (consortium, regulator)
    }

    /// A `view_keys.published` by `submitter` (a regulator's id, or anyone's to test refusals),
    /// signed with `signing`, following `previous`, publishing the keys `master` derives for
    /// `months` (consecutive: other publications are not encodable; see
    /// [`crate::view_keys::Publication`]).
    pub fn view_keys_publication(
        &self,
        submitter: &str,
        signing: &SigningKey,
        master: &veil_crypto::view_key::MasterViewKey,
        previous: Option<EntryId>,
        months: &[String],
    ) -> Entry {
        let keys = master
            .publish(
                &self.genesis.consortium_id,
                months,
                &crate::view_keys::classes(),
            )
            .expect("valid months");
        crate::view_keys::Publication::new(keys)
            .expect("complete, consecutive months")
            .entry(
                EntryId::random_nonce(),
                &self.genesis.hash,
                submitter,
                self.genesis.policy_hash,
                previous,
                1_764_000_000_000,
            )
            .sign(signing)
    }

    /// A `registry.updated` by `submitter` changing version `previous` (none for the first),
    /// carrying `update`.
    pub fn registry_update(
        &self,
        submitter: usize,
        previous: Option<EntryId>,
        update: &veil_circuits::screening::RegistryUpdate,
    ) -> Entry {
        let bytes = update.to_bytes();
        self.entry_with_circuit(
            submitter,
            EntryType::RegistryUpdated,
            "2026-11",
            previous.into_iter().collect(),
            &[("kyc", b"{}".to_vec()), ("blocklist", b"{}".to_vec())],
            &[],
            &[],
            |_| bytes,
        )
    }

    /// Seals `plaintexts` (path, bytes) in reader groups as an honest gateway does: fields with
    /// the same recipient set ([`crate::recipients`], the built-in policy set, the genesis'
    /// view keys) share a group.
    pub fn seal_groups(
        &self,
        kind: EntryType,
        submitter: &str,
        participants: &[String],
        period: &str,
        context: &envelope::FieldContext<'_>,
        plaintexts: &[(&str, &[u8])],
    ) -> Vec<envelope::SealedGroup> {
        static POLICIES: std::sync::OnceLock<veil_policies::Policies> = std::sync::OnceLock::new();
        let policies = POLICIES.get_or_init(|| {
            veil_policies::Policies::default_set().expect("the built-in policy set")
        });
        let month = veil_crypto::view_key::month_of(period).expect("a valid period");
        type Group<'p> = (
            Vec<veil_crypto::EncryptionPublicKey>,
            Vec<(&'p str, &'p [u8])>,
        );
        let mut groups: Vec<Group<'_>> = Vec::new();
        for (path, plaintext) in plaintexts {
            let field = veil_policies::field_resource(kind, path, submitter, participants)
                .expect("a field of the type");
            let members = crate::recipients::member_readers(&self.genesis, policies, &field)
                .expect("policy evaluates");
            let keys = crate::recipients::field_recipients(
                &self.genesis,
                policies,
                &field,
                &members,
                month,
                &|regulator, scope| regulator.view_keys.get(scope).cloned(),
            )
            .expect("every reader has a key");
            match groups.iter_mut().find(|(k, _)| *k == keys) {
                Some((_, fields)) => fields.push((path, plaintext)),
                None => groups.push((keys, vec![(path, plaintext)])),
            }
        }
        groups
            .iter()
            .map(|(keys, fields)| {
                let recipients: Vec<&veil_crypto::EncryptionPublicKey> = keys.iter().collect();
                envelope::seal_group(context, &recipients, fields).expect("sealable")
            })
            .collect()
    }

    fn params(&self) -> Params {
        self.genesis.plan_params()
    }

    /// A signed entry of `kind` by member `submitter` with `fields` (plaintext, all to the
    /// submitter) and committed `amounts` (label, value).
    pub fn entry(
        &self,
        submitter: usize,
        kind: EntryType,
        period: &str,
        references: Vec<EntryId>,
        fields: &[(&str, Vec<u8>)],
        amounts: &[(String, u64)],
        referenced_openings: &[Vec<(String, Opening)>],
    ) -> Entry {
        self.entry_with_circuit(
            submitter,
            kind,
            period,
            references,
            fields,
            amounts,
            referenced_openings,
            |_| Vec::new(),
        )
    }

    /// [`TestConsortium::entry`] with circuit data made from the entry id.
    pub fn entry_with_circuit(
        &self,
        submitter: usize,
        kind: EntryType,
        period: &str,
        references: Vec<EntryId>,
        fields: &[(&str, Vec<u8>)],
        amounts: &[(String, u64)],
        referenced_openings: &[Vec<(String, Opening)>],
        circuit: impl FnOnce(&EntryId) -> Vec<u8>,
    ) -> Entry {
        let member = &self.members[submitter];
        let nonce = EntryId::random_nonce();
        let id = EntryId::derive(&self.genesis.hash, &member.id, &nonce);
        let circuit = circuit(&id);
        let statement = crate::ledger::statement_id(&self.genesis.hash, &member.id, &id);
        let mut openings: Vec<(String, Opening)> = amounts
            .iter()
            .map(|(label, value)| (label.clone(), Opening::random(*value)))
            .collect();
        openings.sort_by(|a, b| a.0.cmp(&b.0));
        let commitments: Vec<(String, Commitment)> = openings
            .iter()
            .map(|(label, opening)| (label.clone(), opening.commit()))
            .collect();

        let referenced: Vec<&[(String, Opening)]> =
            referenced_openings.iter().map(|r| r.as_slice()).collect();
        let plan = proof_plan::plan(kind, &openings, &referenced, &self.params())
            .expect("test entries satisfy the rules");
        let range_refs: Vec<&Opening> = plan.range.iter().collect();
        let range = if range_refs.is_empty() {
            Vec::new()
        } else {
            RangeProof::prove(&statement, purpose::RANGE, &range_refs)
                .expect("values are in range")
                .0
                .to_bytes()
        };
        let verifier_plan = proof_plan::plan(
            kind,
            &commitments,
            &referenced_openings
                .iter()
                .map(|r| {
                    r.iter()
                        .map(|(l, o)| (l.clone(), o.commit()))
                        .collect::<Vec<_>>()
                })
                .collect::<Vec<_>>()
                .iter()
                .map(|v| v.as_slice())
                .collect::<Vec<_>>(),
            &self.params(),
        )
        .expect("same plan for commitments");
        let relations = plan
            .relations
            .iter()
            .zip(&verifier_plan.relations)
            .map(|(prover, verifier)| {
                let openings: Vec<&Opening> = prover.terms.iter().map(|(_, o)| o).collect();
                RelationProof::prove(
                    &Relation {
                        entry_id: &statement,
                        purpose: &verifier.purpose,
                        terms: &verifier.terms,
                        constant: verifier.constant,
                    },
                    &openings,
                )
                .expect("relation holds")
                .to_bytes()
            })
            .collect();

        let header = EntryHeader {
            id,
            nonce,
            genesis: self.genesis.hash,
            kind: kind.name().to_owned(),
            submitter: member.id.clone(),
            schema_version: kind.schema_version(),
            policy_hash: self.genesis.policy_hash,
            timestamp_ms: 1_764_000_000_000,
            period: period.to_owned(),
            references,
        };
        let context = header.field_context(&self.genesis.consortium_id, &statement);
        let opening_texts: Vec<(String, zeroize::Zeroizing<Vec<u8>>)> = openings
            .iter()
            .map(|(label, o)| (label.clone(), o.to_plaintext()))
            .collect();
        let mut plaintexts: Vec<(&str, &[u8])> =
            fields.iter().map(|(p, v)| (*p, v.as_slice())).collect();
        plaintexts.extend(
            opening_texts
                .iter()
                .map(|(p, v)| (p.as_str(), v.as_slice())),
        );
        let participants = test_participants(kind, &commitments);
        let groups = self.seal_groups(
            kind,
            &member.id,
            &participants,
            period,
            &context,
            &plaintexts,
        );
        UnsignedEntry {
            header,
            groups,
            commitments,
            proofs: EntryProofs {
                range,
                relations,
                participant: Vec::new(),
                circuit,
                audit: crate::audit::prove(&self.genesis, &statement, &openings)
                    .expect("few amounts"),
            },
        }
        .sign(&member.signing)
    }

    /// A `loan.originated` by `originator`, funded by it and `partners` (member index, share
    /// in bps; the originator takes the rest). Returns the entry and the funding openings'
    /// banks.
    pub fn loan(
        &self,
        originator: usize,
        loan_no: u32,
        principal: u64,
        partners: &[(usize, u64)],
    ) -> Entry {
        self.screened_loan(originator, loan_no, principal, partners, None, |_| {
            Vec::new()
        })
    }

    /// [`TestConsortium::loan`] referencing registry version `registry`, with circuit data
    /// (the screening proof) made from the entry id.
    pub fn screened_loan(
        &self,
        originator: usize,
        loan_no: u32,
        principal: u64,
        partners: &[(usize, u64)],
        registry: Option<EntryId>,
        circuit: impl FnOnce(&EntryId) -> Vec<u8>,
    ) -> Entry {
        let mut shares: Vec<(usize, u64)> = partners.to_vec();
        let partner_total: u64 = partners.iter().map(|(_, s)| s).sum();
        shares.push((originator, 10_000 - partner_total));
        let mut amounts = vec![
            ("principal".to_owned(), principal),
            ("annual_rate_bps".to_owned(), 1800),
        ];
        let mut funded = 0;
        for (i, (member, share)) in shares.iter().enumerate() {
            let id = &self.members[*member].id;
            let funding = if i + 1 == shares.len() {
                principal - funded
            } else {
                principal * share / 10_000
            };
            funded += funding;
            amounts.push((format!("funding.{id}"), funding));
            amounts.push((format!("share.{id}"), *share));
        }
        let fields: Vec<(&str, Vec<u8>)> = vec![
            ("loan_id", format!("L-{loan_no:06}").into_bytes()),
            ("borrower.name", b"Test Borrower".to_vec()),
            ("borrower.national_id", b"110101199003070000".to_vec()),
            ("borrower.phone", b"+86 138 0000 0000".to_vec()),
            ("term_days", b"360".to_vec()),
            ("participants", b"[]".to_vec()),
        ];
        self.entry_with_circuit(
            originator,
            EntryType::LoanOriginated,
            "2026-11",
            registry.into_iter().collect(),
            &fields,
            &amounts,
            &[],
            circuit,
        )
    }

    /// A `loan.repaid` of `loan` by its originator, allocating `amount` to the loan's banks by
    /// equal shares (the first in id order takes the shares' remainder), each allocation
    /// `veil_crypto::allocation::allocate`'s, with its settlement proof.
    pub fn repayment(&self, loan: &Entry, amount: u64, period: &str) -> Entry {
        use veil_circuits::settlement::{
            self, PARTICIPANT_SLOTS, SettlementCircuit, SettlementProof, SettlementPublic,
            SettlementWitness, Shape,
        };
        let originator = self
            .members
            .iter()
            .position(|m| m.id == loan.header.submitter)
            .expect("loan by a member");
        let banks: Vec<&str> = proof_plan::per_bank(&loan.commitments, "funding")
            .into_iter()
            .map(|(bank, _)| bank)
            .collect();
        let (slots, originator_slot) =
            settlement::participant_slots(banks.iter().copied(), &loan.header.submitter)
                .expect("a test loan fits the circuit's slots");
        let count = slots.len() as u64;
        let mut shares: Vec<u64> = vec![10_000 / count; slots.len()];
        shares[0] += 10_000 % count;
        let allocations = veil_crypto::allocation::allocate(amount, &shares, originator_slot)
            .expect("valid shares");
        let mut amounts = vec![
            ("amount".to_owned(), amount),
            ("principal_part".to_owned(), amount - amount / 10),
            ("interest_part".to_owned(), amount / 10),
        ];
        for (bank, allocation) in slots.iter().zip(&allocations) {
            amounts.push((format!("allocations.{bank}"), *allocation));
        }
        shares.resize(PARTICIPANT_SLOTS, 0);
        let genesis_hash = self.genesis.hash;
        let settlement_key = self.settlement_key.clone();
        let submitter = loan.header.submitter.clone();
        let period_number = veil_circuits::period_number(period).expect("a valid period");
        self.entry_with_circuit(
            originator,
            EntryType::LoanRepaid,
            period,
            vec![loan.header.id],
            &[
                ("loan_id", b"L-000000".to_vec()),
                ("period", period.as_bytes().to_vec()),
            ],
            &amounts,
            &[],
            |id| {
                let repayment = settlement::Repayment {
                    entry: id.0,
                    amount,
                    shares,
                    blinding: veil_circuits::derived_blinding(&id.0.repeat(2).try_into().unwrap()),
                };
                let repayments = vec![repayment];
                let due = settlement::dues(&repayments, PARTICIPANT_SLOTS, originator_slot)
                    .expect("valid shares");
                let due_blindings: Vec<veil_circuits::Fr> = (0..PARTICIPANT_SLOTS)
                    .map(|s| veil_circuits::Fr::from(s as u64 + 7))
                    .collect();
                let public = SettlementPublic {
                    entry: crate::ledger::statement_id(&genesis_hash, &submitter, id),
                    period: period_number,
                    root: repayments[0].commitment(),
                    count: 1,
                    originator: originator_slot as u64,
                    due: due
                        .iter()
                        .zip(&due_blindings)
                        .map(|(d, r)| settlement::due_commitment(*d, *r))
                        .collect(),
                };
                let circuit = SettlementCircuit {
                    shape: Shape::new(1, PARTICIPANT_SLOTS).expect("the repayment shape"),
                    public: Some(public.clone()),
                    witness: Some(SettlementWitness {
                        repayments,
                        due_blindings,
                    }),
                };
                let proof = settlement_key
                    .prove(circuit, &mut veil_circuits::OsRng)
                    .expect("a satisfied repayment statement");
                SettlementProof {
                    capacity: 1,
                    root: public.root,
                    due: public.due,
                    proof,
                }
                .to_bytes()
            },
        )
    }
}

/// `valid` with one byte of its range proof flipped, re-signed by `signer` (its submitter):
/// a properly signed entry whose only fault is its range proof, as a lying member writes it.
pub fn with_corrupted_range_proof(valid: &Entry, signer: &SigningKey) -> Entry {
    let mut proofs = valid.proofs.clone();
    proofs.range[40] ^= 0x01;
    UnsignedEntry {
        header: valid.header.clone(),
        groups: valid.groups.clone(),
        commitments: valid.commitments.clone(),
        proofs,
    }
    .sign(signer)
}

/// A faulty validator's application: when it leads, it proposes blocks that carry an invalid
/// entry (a properly signed entry whose range proof is corrupted); it votes for anything.
#[derive(Clone, Debug)]
pub struct InvalidProposer {
    me: [u8; 32],
    bad: Entry,
}

impl InvalidProposer {
    /// A proposer with key `me` that slips `valid` in with a corrupted proof, re-signed by
    /// `signer` so only the proof is wrong.
    pub fn new(me: &crate::consensus::PublicKey, valid: &Entry, signer: &SigningKey) -> Self {
        let bad = with_corrupted_range_proof(valid, signer);
        let mut key = [0u8; 32];
        key.copy_from_slice(me.as_ref());
        Self { me: key, bad }
    }
}

impl<E: Send + 'static> commonware_consensus::Application<E> for InvalidProposer {
    type SigningScheme = crate::consensus::Scheme;
    type Context = crate::consensus::ConsensusContext;
    type Block = crate::ledger::Block;
    type Input = ();

    async fn propose(
        &mut self,
        _context: (E, Self::Context),
        mut ancestry: impl commonware_consensus::marshal::ancestry::Ancestry<Self::Block>,
        _input: (),
    ) -> Option<commonware_cryptography::Digested<Self::Block>> {
        use commonware_cryptography::Digestible as _;
        use futures::StreamExt as _;
        let parent = ancestry.next().await?;
        let block = crate::ledger::Block::new(
            parent.inner().height + 1,
            parent.digest(),
            parent.inner().timestamp_ms,
            self.me,
            vec![self.bad.clone()],
        );
        let digest = block.digest();
        Some(commonware_cryptography::Digested::precomputed(
            block, digest,
        ))
    }

    async fn verify(
        &mut self,
        _context: (E, Self::Context),
        _ancestry: impl commonware_consensus::marshal::ancestry::Ancestry<Self::Block>,
    ) -> bool {
        true
    }
}

impl TestConsortium {
    /// The consortium `veil init` made in `dir`, with its members' secrets read from disk.
    #[cfg(feature = "rocksdb")]
    pub fn from_dir(dir: &std::path::Path) -> Self {
        let genesis = Genesis::load(&dir.join("consortium.toml")).expect("consortium.toml");
        let members = genesis
            .members
            .iter()
            .map(|m| {
                let keys = dir.join(&m.id).join("keys");
                let read = |name: &str| std::fs::read_to_string(keys.join(name)).expect("key file");
                TestMember {
                    id: m.id.clone(),
                    consensus: crate::process::load_identity(&keys.join("node.key"))
                        .expect("node key"),
                    signing: SigningKey::from_pem(&read("signing.key")).expect("signing key"),
                    encryption: EncryptionSecretKey::from_pem(&read("encryption.key"))
                        .expect("encryption key"),
                }
            })
            .collect();
        Self {
            genesis: Arc::new(genesis),
            members,
            settlement_key: Arc::new(
                veil_circuits::ProvingKey::from_trusted_bytes(
                    &std::fs::read(dir.join("circuits/settlement-1.pk"))
                        .expect("circuits/settlement-1.pk"),
                )
                .expect("a settlement proving key"),
            ),
        }
    }
}

/// How a [`FaultyStore`] breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreFault {
    /// The write of the chosen block fails; nothing of it is stored.
    Fail,
    /// The write of the chosen block tears: the block is stored with its last entry's bytes
    /// cut short, and the engine reports an I/O error, as a disk that lost power mid-write.
    Tear,
}

/// A store that breaks when asked to apply the block at height `at`, and every write after.
#[derive(Debug)]
pub struct FaultyStore {
    inner: crate::store::memory::MemoryStore,
    at: u64,
    fault: StoreFault,
}

impl FaultyStore {
    /// An empty store that breaks at height `at`.
    pub fn new(at: u64, fault: StoreFault) -> Self {
        Self {
            inner: crate::store::memory::MemoryStore::new(),
            at,
            fault,
        }
    }
}

impl crate::store::Store for FaultyStore {
    fn head(&self) -> Result<Option<(u64, [u8; 32])>, crate::store::StoreError> {
        self.inner.head()
    }

    fn apply(&self, block: &crate::store::AppliedBlock) -> Result<(), crate::store::StoreError> {
        if block.block.height < self.at {
            return self.inner.apply(block);
        }
        let failure = || crate::store::StoreError::Engine("injected I/O error".into());
        if self.fault == StoreFault::Tear && block.block.height == self.at {
            let mut torn = block.clone();
            if let Some(last) = torn.entries.last_mut() {
                last.bytes.truncate(last.bytes.len() / 2);
            }
            let _ = self.inner.apply(&torn);
        }
        Err(failure())
    }

    fn block(
        &self,
        height: u64,
    ) -> Result<Option<crate::store::StoredBlock>, crate::store::StoreError> {
        self.inner.block(height)
    }

    fn registry(
        &self,
    ) -> Result<Box<dyn veil_circuits::screening::stored::RegistryKv + '_>, crate::store::StoreError>
    {
        self.inner.registry()
    }

    fn entry(
        &self,
        id: &EntryId,
    ) -> Result<Option<crate::store::StoredEntry>, crate::store::StoreError> {
        self.inner.entry(id)
    }

    fn entries_by_type(
        &self,
        kind: &str,
        after: Option<(u64, u32)>,
        limit: usize,
    ) -> Result<Vec<crate::store::StoredEntry>, crate::store::StoreError> {
        self.inner.entries_by_type(kind, after, limit)
    }

    fn referrers(
        &self,
        id: &EntryId,
    ) -> Result<Vec<crate::store::StoredEntry>, crate::store::StoreError> {
        self.inner.referrers(id)
    }

    fn settled_by(&self, id: &EntryId) -> Result<Option<EntryId>, crate::store::StoreError> {
        self.inner.settled_by(id)
    }

    fn check_genesis(&self, genesis_hash: &[u8; 32]) -> Result<(), crate::store::StoreError> {
        self.inner.check_genesis(genesis_hash)
    }
}
