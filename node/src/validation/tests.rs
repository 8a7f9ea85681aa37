//! End-to-end tests of the validator: each rule refuses what it must, with its code.

use super::*;
use crate::ledger::{EntryId, EntryProofs, UnsignedEntry};
use crate::store::memory::MemoryStore;
use crate::testkit::TestConsortium;

type Tamper = Box<dyn Fn(&mut Entry)>;
type Resign = Box<dyn Fn(&mut UnsignedEntry)>;

fn setup() -> (TestConsortium, Validator, MemoryStore) {
    let consortium = TestConsortium::new(3, 11, 40_000);
    let validator = Validator::new(consortium.genesis.clone()).unwrap();
    (consortium, validator, MemoryStore::new())
}

fn resign(consortium: &TestConsortium, entry: &Entry, f: impl FnOnce(&mut UnsignedEntry)) -> Entry {
    let mut unsigned = UnsignedEntry {
        header: entry.header.clone(),
        groups: entry.groups.clone(),
        commitments: entry.commitments.clone(),
        proofs: entry.proofs.clone(),
    };
    f(&mut unsigned);
    let signer = consortium
        .members
        .iter()
        .find(|m| m.id == unsigned.header.submitter)
        .map_or(&consortium.members[0].signing, |m| &m.signing);
    unsigned.sign(signer)
}

fn rejected(validator: &Validator, store: &MemoryStore, entry: &Entry) -> Rejection {
    match validator.check(entry, &PendingView::new(store)) {
        Err(ValidationError::Rejected(rejection)) => rejection,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

/// A screening consortium, its proving key, and registry helpers.
mod screening {
    use std::sync::OnceLock;

    use veil_circuits::Fr;
    use veil_circuits::screening::{
        Change, Reference, Registry, RegistryUpdate, ScreeningCircuit, ScreeningProof,
        ScreeningPublic, reference_commitment,
    };

    use super::*;

    pub(super) fn proving_key() -> &'static veil_circuits::ProvingKey {
        static KEY: OnceLock<veil_circuits::ProvingKey> = OnceLock::new();
        KEY.get_or_init(|| {
            veil_circuits::dev::setup(ScreeningCircuit::blank(), "node-validation").unwrap()
        })
    }

    pub(super) fn consortium() -> (TestConsortium, Validator, MemoryStore) {
        let consortium =
            TestConsortium::new(3, 12, 40_100).with_screening(&proving_key().verifying_key());
        let validator = Validator::new(consortium.genesis.clone()).unwrap();
        (consortium, validator, MemoryStore::new())
    }

    pub(super) fn borrower(seed: u8) -> Reference {
        Reference([seed; 31])
    }

    /// Borrowers 1, 2, 3.
    pub(super) fn borrowers() -> (Reference, Reference, Reference) {
        (borrower(1), borrower(2), borrower(3))
    }

    /// The first registry version, by member 0, making `changes`, and the registry after it.
    pub(super) fn first_version(
        consortium: &TestConsortium,
        changes: Vec<Change>,
    ) -> (Registry, Entry) {
        let mut registry = Registry::default();
        let first = consortium.registry_update(0, None, &update(&mut registry, changes));
        (registry, first)
    }

    /// The update applying `changes` to `registry`, with honest roots.
    pub(super) fn update(registry: &mut Registry, changes: Vec<Change>) -> RegistryUpdate {
        registry.apply(&changes).unwrap();
        RegistryUpdate {
            roots: registry.roots(),
            changes,
        }
    }

    /// A loan screened for `who` against `registry` (version `version`).
    pub(super) fn loan(
        consortium: &TestConsortium,
        registry: &Registry,
        version: EntryId,
        who: Reference,
    ) -> Entry {
        let trees = registry;
        consortium.screened_loan(0, 9, 100_000, &[(1, 5000)], Some(version), |id| {
            let witness = trees.witness(who, Fr::from(77u64)).unwrap();
            let public = ScreeningPublic {
                entry: crate::ledger::statement_id(
                    &consortium.genesis.hash,
                    &consortium.members[0].id,
                    id,
                ),
                roots: trees.roots(),
                commitment: reference_commitment(witness.reference, witness.blinding),
            };
            let proof = proving_key()
                .prove(
                    ScreeningCircuit {
                        public: Some(public.clone()),
                        witness: Some(witness),
                    },
                    &mut veil_circuits::OsRng,
                )
                .unwrap();
            ScreeningProof {
                commitment: public.commitment,
                proof,
            }
            .to_bytes()
        })
    }
}

#[test]
fn registry_updates_form_one_chain_with_honest_roots() {
    use veil_circuits::screening::{Change, Registry};
    let (consortium, validator, store) = screening::consortium();
    let (a, b, c) = screening::borrowers();
    let (registry, first) = screening::first_version(
        &consortium,
        vec![Change::AddKyc(a), Change::AddBlocklist(c)],
    );
    validator.check(&first, &PendingView::new(&store)).unwrap();
    let mut view = PendingView::new(&store);
    view.push(Arc::new(first.clone()));

    // A second "first" version would fork the registry.
    let mut other = Registry::default();
    let fork = consortium.registry_update(
        1,
        None,
        &screening::update(&mut other, vec![Change::AddKyc(b)]),
    );
    assert!(matches!(
        validator.check(&fork, &view),
        Err(ValidationError::Rejected(Rejection::References(_)))
    ));

    // Roots that are not the changed lists', and changes that do not apply, are refused.
    let mut next = registry.clone();
    let mut honest = screening::update(&mut next, vec![Change::AddKyc(b)]);
    let mut wrong = honest.clone();
    wrong.roots.blocklist = wrong.roots.kyc;
    let lying = consortium.registry_update(1, Some(first.header.id), &wrong);
    match validator.check(&lying, &view) {
        Err(ValidationError::Rejected(r)) => assert_eq!(r.reason(), "circuit"),
        other => panic!("{other:?}"),
    }
    let mut stale = honest.clone();
    stale.changes = vec![Change::AddKyc(a)];
    let repeated = consortium.registry_update(1, Some(first.header.id), &stale);
    assert!(validator.check(&repeated, &view).is_err());

    // Another member may change the current version.
    let second = consortium.registry_update(1, Some(first.header.id), &honest);
    validator.check(&second, &view).unwrap();
    view.push(Arc::new(second.clone()));

    // Changing a superseded version is refused.
    honest.changes = vec![Change::RemoveKyc(a)];
    let mut from_first = registry.clone();
    honest.roots = {
        from_first.apply(&honest.changes).unwrap();
        from_first.roots()
    };
    let behind = consortium.registry_update(2, Some(first.header.id), &honest);
    assert_eq!(
        match validator.check(&behind, &view) {
            Err(ValidationError::Rejected(r)) => r,
            other => panic!("{other:?}"),
        },
        Rejection::StaleRegistry
    );
}

#[test]
fn loans_are_screened_against_the_current_registry() {
    use veil_circuits::screening::Change;
    let (consortium, validator, store) = screening::consortium();
    let (a, b, c) = screening::borrowers();
    let (mut registry, first) =
        screening::first_version(&consortium, vec![Change::AddKyc(a), Change::AddKyc(c)]);
    let mut view = PendingView::new(&store);
    view.push(Arc::new(first.clone()));
    let screened = screening::loan(&consortium, &registry, first.header.id, a);
    validator.check(&screened, &view).unwrap();

    // The proof is bound to its entry: moved into another loan, it fails.
    let other =
        consortium.screened_loan(0, 10, 100_000, &[(1, 5000)], Some(first.header.id), |_| {
            screened.proofs.circuit.clone()
        });
    let reason = |entry: &Entry, view: &PendingView<'_>| match validator.check(entry, view) {
        Err(ValidationError::Rejected(r)) => r,
        other => panic!("{other:?}"),
    };
    assert_eq!(reason(&other, &view).reason(), "circuit");
    // No proof, no reference, or a malformed proof: refused.
    let unscreened = consortium.loan(0, 11, 100_000, &[(1, 5000)]);
    assert_eq!(reason(&unscreened, &view).reason(), "circuit");
    let unreferenced = resign(&consortium, &screened, |e| e.header.references.clear());
    assert_eq!(reason(&unreferenced, &view).reason(), "reference");

    // C is blocklisted: a proof against the old version fails once it is superseded.
    let old = screening::loan(&consortium, &registry, first.header.id, c);
    validator.check(&old, &view).unwrap();
    let blocked = consortium.registry_update(
        1,
        Some(first.header.id),
        &screening::update(&mut registry, vec![Change::AddBlocklist(c)]),
    );
    view.push(Arc::new(blocked.clone()));
    assert_eq!(reason(&old, &view), Rejection::StaleRegistry);
    // A proof claiming the new roots without a witness cannot exist; one against the new
    // version for a still-clean borrower passes.
    assert!(registry.witness(c, veil_circuits::Fr::from(1u64)).is_err());
    let mut with_b = registry.clone();
    let add_b = consortium.registry_update(
        2,
        Some(blocked.header.id),
        &screening::update(&mut with_b, vec![Change::AddKyc(b)]),
    );
    view.push(Arc::new(add_b.clone()));
    validator
        .check(
            &screening::loan(&consortium, &with_b, add_b.header.id, b),
            &view,
        )
        .unwrap();
}

#[test]
fn a_valid_loan_and_repayment_pass() {
    let (consortium, validator, store) = setup();
    let loan = consortium.loan(0, 1, 500_000, &[(1, 7000)]);
    validator.check(&loan, &PendingView::new(&store)).unwrap();
    let mut view = PendingView::new(&store);
    view.push(Arc::new(loan.clone()));
    let repayment = consortium.repayment(&loan, 45_000, "2026-11");
    validator.check(&repayment, &view).unwrap();
    // Without its loan, the repayment has a dangling reference.
    assert_eq!(
        rejected(&validator, &store, &repayment),
        Rejection::References(ReferenceError::Missing)
    );
    // A replayed id is refused.
    view.push(Arc::new(repayment.clone()));
    assert!(matches!(
        validator.check(&repayment, &view),
        Err(ValidationError::Rejected(Rejection::Replay))
    ));
}

#[test]
fn circuit_data_must_fit_the_type() {
    let (consortium, validator, store) = setup();
    let loan = consortium.loan(0, 3, 500_000, &[(1, 7000)]);
    let repayment = consortium.repayment(&loan, 45_000, "2026-11");
    let signer = &consortium.members[0].signing;
    let with_circuit = |entry: &Entry, circuit: Vec<u8>| {
        UnsignedEntry {
            header: entry.header.clone(),
            groups: entry.groups.clone(),
            commitments: entry.commitments.clone(),
            proofs: EntryProofs {
                circuit,
                ..entry.proofs.clone()
            },
        }
        .sign(signer)
    };
    let mut view = PendingView::new(&store);
    view.push(Arc::new(loan.clone()));
    for circuit in [Vec::new(), vec![0; 31], vec![0xff; 32], vec![0; 33]] {
        let bad = with_circuit(&repayment, circuit);
        assert!(matches!(
            validator.check(&bad, &view),
            Err(ValidationError::Rejected(Rejection::CircuitProof(_)))
        ));
    }
    let bad_loan = with_circuit(&loan, vec![0; 32]);
    assert!(matches!(
        rejected(&validator, &store, &bad_loan),
        Rejection::CircuitProof(_)
    ));
}

#[test]
fn every_header_field_is_covered_by_the_signature() {
    let (consortium, validator, store) = setup();
    let loan = consortium.loan(0, 2, 400_000, &[(1, 5000)]);
    let tampered: Vec<Tamper> = vec![
        Box::new(|e| e.header.id.0[0] ^= 1),
        Box::new(|e| e.header.timestamp_ms += 1),
        Box::new(|e| e.header.period = "2026-12".into()),
        Box::new(|e| e.header.references.push(EntryId([9; 16]))),
        Box::new(|e| e.groups[0].fields[0].ciphertext[0] ^= 1),
        Box::new(|e| e.groups[0].wrapped_keys[0].enc[0] ^= 1),
        Box::new(|e| e.commitments.swap(0, 1)),
        Box::new(|e| e.proofs.range[7] ^= 1),
        Box::new(|e| e.proofs.relations[0][3] ^= 1),
        Box::new(|e| e.proofs.circuit.push(0)),
        Box::new(|e| {
            let mut bytes = e.signature.to_bytes();
            bytes[10] ^= 1;
            e.signature = veil_crypto::Signature::from_bytes(&bytes).unwrap();
        }),
    ];
    for (i, tamper) in tampered.iter().enumerate() {
        let mut entry = loan.clone();
        tamper(&mut entry);
        assert_eq!(
            rejected(&validator, &store, &entry),
            Rejection::Signature,
            "case {i}"
        );
    }
    // Another member's signature, or a submitter outside the consortium.
    let mut other = loan.clone();
    other.header.submitter = "bank-b".into();
    assert_eq!(rejected(&validator, &store, &other), Rejection::Signature);
    other.header.submitter = "bank-z".into();
    assert_eq!(
        rejected(&validator, &store, &other),
        Rejection::UnknownSubmitter
    );
}

/// A member that copies another member's entry (gossiped before it is ordered), names itself
/// submitter or gives it another id, and signs it with its own key: the id is derived from the
/// submitter, and the proofs are bound to the statement id (genesis, submitter, entry id), so
/// the copy is refused and the original stands.
#[test]
fn a_copied_entry_re_signed_by_another_member_is_refused() {
    let (consortium, validator, store) = setup();
    let loan = consortium.loan(0, 4, 300_000, &[(1, 6000)]);
    validator
        .check(&loan, &PendingView::new(&store))
        .expect("the original is valid");
    // Under the original's id: the id is not bank-b's to use.
    let taken = resign(&consortium, &loan, |u| u.header.submitter = "bank-b".into());
    assert_eq!(taken.header.submitter, "bank-b");
    assert!(taken.verify_signature(&consortium.members[1].signing.verifying_key()));
    assert_eq!(rejected(&validator, &store, &taken).reason(), "entry-id");
    // Under an id of its own: the proofs are bound to the original's statement id.
    let rederived = resign(&consortium, &loan, |u| {
        u.header.submitter = "bank-b".into();
        u.header.id = EntryId::derive(&u.header.genesis, "bank-b", &u.header.nonce);
    });
    assert_eq!(rejected(&validator, &store, &rederived).reason(), "proof");
    let renamed = resign(&consortium, &loan, |u| u.header.id = EntryId([9; 16]));
    assert_eq!(rejected(&validator, &store, &renamed).reason(), "entry-id");
    let renonced = resign(&consortium, &loan, |u| {
        u.header.nonce = [9; 16];
        u.header.id = EntryId::derive(&u.header.genesis, &u.header.submitter, &u.header.nonce);
    });
    assert_eq!(rejected(&validator, &store, &renonced).reason(), "proof");
    validator
        .check(&loan, &PendingView::new(&store))
        .expect("the original is still valid");
}

#[test]
fn properly_signed_but_tampered_entries_are_refused_by_their_rule() {
    let (consortium, validator, store) = setup();
    let loan = consortium.loan(0, 3, 300_000, &[(1, 6000)]);
    let cases: Vec<(Resign, &str)> = vec![
        (
            Box::new(|u| u.header.kind = "loan.deleted".into()),
            "schema",
        ),
        (Box::new(|u| u.header.schema_version = 2), "schema"),
        (Box::new(|u| u.header.policy_hash[0] ^= 1), "policy"),
        (Box::new(|u| u.header.genesis[0] ^= 1), "genesis"),
        (Box::new(|u| u.header.period = "2026-13".into()), "schema"),
        (
            Box::new(|u| u.header.references.push(EntryId([1; 16]))),
            "reference",
        ),
        (Box::new(|u| u.proofs.range[40] ^= 1), "proof"),
        (Box::new(|u| u.proofs.relations[1][40] ^= 1), "proof"),
        (
            Box::new(|u| {
                u.proofs.relations.pop();
            }),
            "proof",
        ),
        (
            Box::new(|u| {
                // Swap two commitments' values: the proofs no longer hold for them.
                let a = u.commitments[0].1;
                u.commitments[0].1 = u.commitments[1].1;
                u.commitments[1].1 = a;
            }),
            "proof",
        ),
        (
            Box::new(|u| {
                u.commitments.pop();
            }),
            "schema",
        ),
        (Box::new(|u| u.groups.clear()), "schema"),
        (Box::new(|u| u.proofs = EntryProofs::default()), "proof"),
    ];
    for (i, (tamper, reason)) in cases.iter().enumerate() {
        let entry = resign(&consortium, &loan, tamper);
        let rejection = rejected(&validator, &store, &entry);
        assert_eq!(rejection.reason(), *reason, "case {i}: {rejection}");
    }
}

#[test]
fn rules_on_who_funds_and_who_is_allocated() {
    let (consortium, validator, store) = setup();
    // A loan the originator does not fund.
    let loan = consortium.loan(0, 4, 300_000, &[(1, 6000)]);
    let foreign = resign(&consortium, &loan, |u| {
        u.header.submitter = "bank-c".into();
        u.header.id = EntryId::derive(&u.header.genesis, "bank-c", &u.header.nonce);
    });
    assert_eq!(
        rejected(&validator, &store, &foreign),
        Rejection::Fields(FieldError::OriginatorNotFunding)
    );
    // A repayment allocating to a bank outside the loan.
    let other_loan = consortium.loan(0, 5, 300_000, &[(2, 6000)]);
    let repayment = consortium.repayment(&other_loan, 9_000, "2026-11");
    let mut view = PendingView::new(&store);
    view.push(Arc::new(loan.clone()));
    let misdirected = resign(&consortium, &repayment, |u| {
        u.header.references = vec![loan.header.id]
    });
    assert!(matches!(
        validator.check(&misdirected, &view),
        Err(ValidationError::Rejected(Rejection::References(_)))
    ));
}

/// A consortium whose genesis publishes its regulator's view keys through 2026-11.
fn with_regulator() -> (
    TestConsortium,
    crate::testkit::TestRegulator,
    Validator,
    MemoryStore,
) {
    let months = crate::view_keys::months_from_through("2026-01", "2026-11");
    let (consortium, regulator) = TestConsortium::new(3, 13, 40_200).with_regulator(&months);
    let validator = Validator::new(consortium.genesis.clone()).unwrap();
    (consortium, regulator, validator, MemoryStore::new())
}

fn months(first: &str, last: &str) -> Vec<String> {
    crate::view_keys::months_from_through(first, last)
}

/// Applies `entries` to `store` as the finalized block at `height`, with the registry keys
/// its updates change (as the applier does).
fn finalize(store: &dyn crate::store::Store, height: u64, entries: &[&Entry]) {
    use crate::store::{AppliedBlock, AppliedEntry, StoredBlock};
    let registry = {
        let shared: Vec<Arc<Entry>> = entries.iter().map(|e| Arc::new(Entry::clone(e))).collect();
        let view = PendingView::new(store);
        let finalized = store.registry().unwrap();
        crate::registry::finalized_writes(|id| view.entry(id), finalized.as_ref(), &shared).unwrap()
    };
    store
        .apply(&AppliedBlock {
            registry,
            block: StoredBlock {
                height,
                digest: [height as u8; 32],
                block: Vec::new(),
                finalization: Vec::new(),
            },
            entries: entries
                .iter()
                .map(|e| AppliedEntry {
                    id: e.header.id,
                    kind: e.header.kind.clone(),
                    references: e.header.references.clone(),
                    settles_references: supersedes_references(&e.header.kind),
                    bytes: e.encode(),
                })
                .collect(),
        })
        .unwrap();
}

#[test]
fn view_key_publications_extend_their_regulators_chain() {
    let (consortium, regulator, validator, store) = with_regulator();
    let publish = |previous: Option<EntryId>, first: &str, last: &str| {
        consortium.view_keys_publication(
            &regulator.id,
            &regulator.signing,
            &regulator.master,
            previous,
            &months(first, last),
        )
    };
    let reason = |entry: &Entry, view: &PendingView<'_>| match validator.check(entry, view) {
        Err(ValidationError::Rejected(r)) => r,
        other => panic!("expected a rejection, got {other:?}"),
    };

    // The first publication starts the month after the genesis' last.
    let first = publish(None, "2026-12", "2027-01");
    validator.check(&first, &PendingView::new(&store)).unwrap();
    let early = publish(None, "2026-11", "2027-01");
    assert_eq!(
        reason(&early, &PendingView::new(&store)),
        Rejection::ViewKeys(ViewKeysError::NotNext {
            expected: "2026-12".into()
        })
    );
    let skipping = publish(None, "2027-01", "2027-01");
    assert_eq!(
        reason(&skipping, &PendingView::new(&store)).reason(),
        "view-keys"
    );
    finalize(&store, 0, &[&first]);

    // Once it is on the ledger, another "first" publication would fork the chain.
    let view = PendingView::new(&store);
    let fork = publish(None, "2027-02", "2027-02");
    assert_eq!(reason(&fork, &view), Rejection::StaleViewKeys);
    assert_eq!(reason(&fork, &view).reason(), "stale-view-keys");

    // The next one follows it: an already-published month, or a skipped one, is refused.
    let again = publish(Some(first.header.id), "2027-01", "2027-02");
    assert_eq!(
        reason(&again, &view),
        Rejection::ViewKeys(ViewKeysError::NotNext {
            expected: "2027-02".into()
        })
    );
    let skipped = publish(Some(first.header.id), "2027-03", "2027-04");
    assert_eq!(reason(&skipped, &view).reason(), "view-keys");
    let second = publish(Some(first.header.id), "2027-02", "2027-04");
    validator.check(&second, &view).unwrap();

    // Pending in the same block, the second supersedes the first: following the first again
    // is stale, following the second is fine.
    let mut view = PendingView::new(&store);
    view.push(Arc::new(second.clone()));
    let behind = publish(Some(first.header.id), "2027-05", "2027-05");
    assert_eq!(reason(&behind, &view), Rejection::StaleViewKeys);
    let third = publish(Some(second.header.id), "2027-05", "2027-05");
    validator.check(&third, &view).unwrap();
    finalize(&store, 1, &[&second]);
    assert_eq!(
        reason(&behind, &PendingView::new(&store)),
        Rejection::StaleViewKeys
    );
    validator.check(&third, &PendingView::new(&store)).unwrap();

    // A publication following anything but a publication of the same regulator.
    let loan = consortium.loan(0, 1, 500_000, &[(1, 7000)]);
    finalize(&store, 2, &[&loan]);
    let after_loan = publish(Some(loan.header.id), "2027-05", "2027-05");
    assert_eq!(
        reason(&after_loan, &PendingView::new(&store)),
        Rejection::References(ReferenceError::WrongType)
    );
}

#[test]
fn only_a_regulator_publishes_view_keys_and_nothing_else() {
    let (consortium, regulator, validator, store) = with_regulator();
    let view = PendingView::new(&store);
    let next = months("2026-12", "2026-12");
    let member = &consortium.members[0];

    // A member's publication, signed with its own key, is refused whatever it publishes.
    let by_member = consortium.view_keys_publication(
        &member.id,
        &member.signing,
        &regulator.master,
        None,
        &next,
    );
    assert_eq!(
        rejected(&validator, &store, &by_member),
        Rejection::SubmitterRole
    );
    assert_eq!(by_member.header.submitter, "bank-a");
    assert_eq!(Rejection::SubmitterRole.reason(), "signature");
    // In the regulator's name but signed by a member, or signed under the entry label: refused.
    let forged = consortium.view_keys_publication(
        &regulator.id,
        &member.signing,
        &regulator.master,
        None,
        &next,
    );
    assert_eq!(rejected(&validator, &store, &forged), Rejection::Signature);
    let honest = consortium.view_keys_publication(
        &regulator.id,
        &regulator.signing,
        &regulator.master,
        None,
        &next,
    );
    validator.check(&honest, &view).unwrap();
    let mut wrong_label = honest.clone();
    wrong_label.signature = regulator.signing.sign(
        veil_crypto::labels::signature::ENTRY,
        &honest.signing_bytes(),
    );
    assert_eq!(
        rejected(&validator, &store, &wrong_label),
        Rejection::Signature
    );

    // A regulator submits nothing else, even signed with its key.
    let loan = consortium.loan(0, 1, 500_000, &[(1, 7000)]);
    let mut unsigned = UnsignedEntry {
        header: loan.header.clone(),
        groups: loan.groups.clone(),
        commitments: loan.commitments.clone(),
        proofs: loan.proofs.clone(),
    };
    unsigned.header.submitter = regulator.id.clone();
    let by_regulator = unsigned.sign(&regulator.signing);
    assert_eq!(
        rejected(&validator, &store, &by_regulator),
        Rejection::SubmitterRole
    );
}

#[test]
fn a_view_key_publication_carries_its_keys_and_nothing_else() {
    let (consortium, regulator, validator, store) = with_regulator();
    let honest = consortium.view_keys_publication(
        &regulator.id,
        &regulator.signing,
        &regulator.master,
        None,
        &months("2026-12", "2027-01"),
    );
    let resigned = |f: &dyn Fn(&mut UnsignedEntry)| {
        let mut unsigned = UnsignedEntry {
            header: honest.header.clone(),
            groups: honest.groups.clone(),
            commitments: honest.commitments.clone(),
            proofs: honest.proofs.clone(),
        };
        f(&mut unsigned);
        unsigned.sign(&regulator.signing)
    };
    // Months with a gap inside: two publications' records spliced into one.
    let spliced = {
        let a = crate::view_keys::Publication::new(
            regulator
                .master
                .publish(
                    &consortium.genesis.consortium_id,
                    &months("2026-12", "2026-12"),
                    &crate::view_keys::classes(),
                )
                .unwrap(),
        )
        .unwrap()
        .to_bytes();
        let b = crate::view_keys::Publication::new(
            regulator
                .master
                .publish(
                    &consortium.genesis.consortium_id,
                    &months("2027-02", "2027-02"),
                    &crate::view_keys::classes(),
                )
                .unwrap(),
        )
        .unwrap()
        .to_bytes();
        let mut bytes = vec![1, 0, 6];
        bytes.extend_from_slice(&a[3..]);
        bytes.extend_from_slice(&b[3..]);
        bytes
    };
    let loan = consortium.loan(0, 1, 500_000, &[(1, 7000)]);
    let cases: Vec<(Resign, &str)> = vec![
        (
            Box::new(move |u| u.proofs.circuit = spliced.clone()),
            "view-keys",
        ),
        (Box::new(|u| u.proofs.circuit.truncate(40)), "view-keys"),
        (Box::new(|u| u.proofs.circuit.clear()), "view-keys"),
        (
            Box::new(|u| {
                // A month's key replaced by a small-order point.
                let at = 3 + 1 + 7 + 1 + "amounts".len();
                u.proofs.circuit[at..at + 32].copy_from_slice(&[0; 32]);
            }),
            "view-keys",
        ),
        (
            Box::new(|u| u.header.period = "2027-01".into()),
            "view-keys",
        ),
        (Box::new(|u| u.proofs.participant = vec![1]), "view-keys"),
        (Box::new(move |u| u.groups = loan.groups.clone()), "schema"),
        (Box::new(|u| u.proofs.range = vec![0; 32]), "proof"),
        (Box::new(|u| u.proofs.relations = vec![[0; 64]]), "proof"),
    ];
    for (i, (tamper, reason)) in cases.iter().enumerate() {
        let entry = resigned(tamper.as_ref());
        let rejection = rejected(&validator, &store, &entry);
        assert_eq!(rejection.reason(), *reason, "case {i}: {rejection}");
    }
    validator.check(&honest, &PendingView::new(&store)).unwrap();
}

#[test]
fn only_the_member_that_listed_a_borrower_takes_it_off() {
    use veil_circuits::screening::Change;
    let (consortium, validator, store) = screening::consortium();
    let (a, _, c) = screening::borrowers();
    // Member 0 blocklists c.
    let (registry, first) = screening::first_version(
        &consortium,
        vec![Change::AddKyc(a), Change::AddBlocklist(c)],
    );
    let mut view = PendingView::new(&store);
    view.push(Arc::new(first.clone()));
    // Member 1 may not take c off the blocklist, with honest roots and all.
    let mut next = registry.clone();
    let removal = screening::update(&mut next, vec![Change::RemoveBlocklist(c)]);
    let foreign = consortium.registry_update(1, Some(first.header.id), &removal);
    match validator.check(&foreign, &view) {
        Err(ValidationError::Rejected(rejection)) => {
            assert_eq!(rejection, Rejection::BlocklistRemoval);
            assert_eq!(rejection.reason(), "permission");
        }
        other => panic!("{other:?}"),
    }
    // Nor take a borrower member 0 registered off the KYC registry.
    let mut unregistered = registry.clone();
    let unregister = screening::update(&mut unregistered, vec![Change::RemoveKyc(a)]);
    let foreign = consortium.registry_update(1, Some(first.header.id), &unregister);
    assert_eq!(
        rejected_in(&validator, &view, &foreign),
        Rejection::BlocklistRemoval
    );
    // Member 0, which blocklisted it, may.
    let own = consortium.registry_update(0, Some(first.header.id), &removal);
    validator.check(&own, &view).unwrap();
    view.push(Arc::new(own.clone()));
    // Once unblocked, anyone may blocklist it again, and then only that member unblocks it.
    let mut again = next.clone();
    let reblock = screening::update(&mut again, vec![Change::AddBlocklist(c)]);
    let by_member_1 = consortium.registry_update(1, Some(own.header.id), &reblock);
    validator.check(&by_member_1, &view).unwrap();
    view.push(Arc::new(by_member_1.clone()));
    let mut after = again.clone();
    let removal = screening::update(&mut after, vec![Change::RemoveBlocklist(c)]);
    let by_member_0 = consortium.registry_update(0, Some(by_member_1.header.id), &removal);
    assert_eq!(
        rejected_in(&validator, &view, &by_member_0),
        Rejection::BlocklistRemoval
    );
}

fn rejected_in(validator: &Validator, view: &PendingView<'_>, entry: &Entry) -> Rejection {
    match validator.check(entry, view) {
        Err(ValidationError::Rejected(rejection)) => rejection,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

/// Every way a lying writer can re-wrap its own entry's reader groups, re-signed by it.
#[test]
fn reader_groups_are_wrapped_to_exactly_their_readers() {
    let (consortium, regulator, validator, store) = with_regulator();
    let regulator_keys: Vec<[u8; 32]> = veil_policies::FieldClass::ALL
        .iter()
        .map(|class| {
            let scope = veil_crypto::ViewScope::new("2026-11", class.name()).unwrap();
            consortium.genesis.regulators[0].view_keys[&scope].to_bytes()
        })
        .collect();
    let _ = &regulator;
    // bank-a lends with bank-b; bank-c takes no part.
    let loan = consortium.loan(0, 21, 400_000, &[(1, 5000)]);
    let mut view = PendingView::new(&store);
    validator.check(&loan, &view).expect("an honest loan");
    let bank_b = consortium.members[1].encryption.public_key().to_bytes();
    let bank_c = consortium.members[2].encryption.public_key();
    let is_regulator = move |key: &[u8; 32]| regulator_keys.contains(key);
    let recipients = |u: &UnsignedEntry, group: usize| -> Vec<[u8; 32]> {
        u.groups[group]
            .wrapped_keys
            .iter()
            .map(|w| w.recipient)
            .collect()
    };
    let group_with = move |u: &UnsignedEntry, key: &[u8; 32]| {
        (0..u.groups.len())
            .find(|g| recipients(u, *g).contains(key))
            .expect("some group has it")
    };
    #[allow(clippy::type_complexity)]
    let tampers: Vec<(&str, Box<dyn Fn(&mut UnsignedEntry) + '_>)> = vec![
        (
            "the regulator left out of every group",
            Box::new(move |u| {
                for group in &mut u.groups {
                    group.wrapped_keys.retain(|w| !is_regulator(&w.recipient));
                }
            }),
        ),
        (
            "a partner left out of its group",
            Box::new(move |u| {
                let g = group_with(u, &bank_b);
                u.groups[g].wrapped_keys.retain(|w| w.recipient != bank_b);
            }),
        ),
        (
            "an outsider added to the partner's group",
            Box::new(move |u| {
                let g = group_with(u, &bank_b);
                let mut extra = u.groups[g].wrapped_keys[0].clone();
                extra.recipient = bank_c.to_bytes();
                u.groups[g].wrapped_keys.push(extra);
            }),
        ),
        (
            "one recipient wrapped twice in place of another",
            Box::new(move |u| {
                let g = group_with(u, &bank_b);
                let first = u.groups[g].wrapped_keys[0].clone();
                let last = u.groups[g].wrapped_keys.len() - 1;
                u.groups[g].wrapped_keys[last] = first;
            }),
        ),
        (
            "every field in one group wrapped to everyone",
            Box::new(|u| {
                let mut merged = u.groups[0].clone();
                for group in &u.groups[1..] {
                    merged.fields.extend(group.fields.iter().cloned());
                    for wrap in &group.wrapped_keys {
                        if !merged
                            .wrapped_keys
                            .iter()
                            .any(|w| w.recipient == wrap.recipient)
                        {
                            merged.wrapped_keys.push(wrap.clone());
                        }
                    }
                }
                u.groups = vec![merged];
            }),
        ),
    ];
    let count = tampers.len();
    for (what, tamper) in tampers {
        let lying = resign(&consortium, &loan, |u| tamper(u));
        assert!(lying.verify_signature(&consortium.members[0].signing.verifying_key()));
        let rejection = rejected_in(&validator, &view, &lying);
        assert_eq!(rejection.reason(), "recipients", "{what}: {rejection}");
    }
    assert_eq!(count, 5);
    // The honest loan, and its honest repayment, still pass.
    validator.check(&loan, &view).unwrap();
    view.push(Arc::new(loan.clone()));
    let repayment = consortium.repayment(&loan, 40_000, "2026-11");
    validator.check(&repayment, &view).unwrap();
    // A repayment wrapped only to its submitter (the partner left out) is refused.
    let lying = resign(&consortium, &repayment, |u| {
        for group in &mut u.groups {
            group.wrapped_keys.retain(|w| w.recipient != bank_b);
        }
    });
    assert_eq!(
        rejected_in(&validator, &view, &lying).reason(),
        "recipients"
    );
}

/// A lying writer cannot keep an amount from a regulator: every commitment needs a valid
/// decrypt handle to every regulator's auditor key, and the regulator recovers the amount from
/// the commitment and the handle alone.
#[test]
fn every_amount_carries_a_valid_handle_to_each_regulator() {
    use crate::audit::ITEM_LEN;
    let (consortium, regulator, validator, store) = with_regulator();
    let loan = consortium.loan(0, 22, 123_456, &[(1, 5000)]);
    let view = PendingView::new(&store);
    validator.check(&loan, &view).expect("an honest loan");

    let auditor = regulator
        .master
        .auditor_key(&consortium.genesis.consortium_id)
        .unwrap();
    let handles = crate::audit::handles(
        &consortium.genesis,
        0,
        loan.commitments.len(),
        &loan.proofs.audit,
    )
    .unwrap();
    let principal = loan
        .commitments
        .iter()
        .position(|(label, _)| label == "principal")
        .unwrap();
    assert_eq!(
        auditor.vartime_decrypt_amount(&loan.commitments[principal].1, &handles[principal], None),
        Some(123_456)
    );

    let other_key = veil_crypto::view_key::MasterViewKey::from_bytes(&[42; 32])
        .auditor_key("elsewhere")
        .unwrap();
    let statement = loan.header.statement_id();
    #[allow(clippy::type_complexity)]
    let tampers: Vec<(&str, Box<dyn Fn(&mut UnsignedEntry)>)> = vec![
        ("no handles at all", Box::new(|u| u.proofs.audit.clear())),
        (
            "one handle short",
            Box::new(|u| {
                let len = u.proofs.audit.len();
                u.proofs.audit.truncate(len - ITEM_LEN);
            }),
        ),
        (
            "two amounts' handles swapped",
            Box::new(|u| {
                let first: Vec<u8> = u.proofs.audit[..ITEM_LEN].to_vec();
                let second: Vec<u8> = u.proofs.audit[ITEM_LEN..2 * ITEM_LEN].to_vec();
                u.proofs.audit[..ITEM_LEN].copy_from_slice(&second);
                u.proofs.audit[ITEM_LEN..2 * ITEM_LEN].copy_from_slice(&first);
            }),
        ),
        (
            "handles to a key that is not the regulator's",
            Box::new(move |u| {
                let openings: Vec<(String, veil_crypto::Opening)> = u
                    .commitments
                    .iter()
                    .map(|(label, _)| (label.clone(), veil_crypto::Opening::random(1)))
                    .collect();
                let context = veil_crypto::auditor::AuditContext {
                    statement_id: &statement,
                    purpose: crate::audit::PURPOSE,
                    key: other_key.public_key(),
                };
                let refs: Vec<&veil_crypto::Opening> = openings.iter().map(|(_, o)| o).collect();
                u.proofs.audit = veil_crypto::auditor::ValidityProof::prove_batch(&context, &refs)
                    .unwrap()
                    .iter()
                    .flat_map(|(h, p)| h.to_bytes().into_iter().chain(p.to_bytes()))
                    .collect();
            }),
        ),
        (
            "a handle's byte flipped",
            Box::new(|u| u.proofs.audit[3] ^= 1),
        ),
    ];
    for (what, tamper) in tampers {
        let lying = resign(&consortium, &loan, |u| tamper(u));
        let rejection = rejected_in(&validator, &view, &lying);
        assert_eq!(rejection.reason(), "audit", "{what}: {rejection}");
    }
}

/// Front-running: a member gives its own entry the id of another member's pending entry, so
/// that the other's would then be refused as a replay. The id is derived from the submitter:
/// refused, and the pending entry still goes through.
#[test]
fn an_entry_cannot_take_another_members_pending_id() {
    let (consortium, validator, store) = setup();
    let pending = consortium.loan(0, 31, 200_000, &[(1, 5000)]);
    let own = consortium.loan(1, 32, 200_000, &[(0, 5000)]);
    validator.check(&own, &PendingView::new(&store)).unwrap();
    let squatting = resign(&consortium, &own, |u| u.header.id = pending.header.id);
    assert_eq!(rejected(&validator, &store, &squatting), Rejection::EntryId);
    validator
        .check(&pending, &PendingView::new(&store))
        .unwrap();
}

/// A lying leader proposes a block with a registry chain through its own pending update P1
/// (which blocklists c) and a removal U of c; the block is refused (a replay at its end). Later
/// another member blocklists c, the liar re-submits P1's id with other content (P2), then the
/// same R and U: U must be refused — the version checked with the refused block must not be
/// remembered for R.
#[test]
fn a_refused_blocks_registry_chain_is_not_remembered() {
    use veil_circuits::screening::{Change, Registry};
    let (consortium, validator, store) = screening::consortium();
    let (a, b, c) = screening::borrowers();
    let d = screening::borrower(4);
    let (registry, first) = screening::first_version(&consortium, vec![Change::AddKyc(a)]);
    finalize(&store, 0, &[&first]);

    // The refused block: P1 (liar: blocklist c, register d), R (register b), U (unblock c).
    let mut lists = registry.clone();
    let p1 = consortium.registry_update(
        1,
        Some(first.header.id),
        &screening::update(&mut lists, vec![Change::AddKyc(d), Change::AddBlocklist(c)]),
    );
    let r = consortium.registry_update(
        1,
        Some(p1.header.id),
        &screening::update(&mut lists, vec![Change::AddKyc(b)]),
    );
    let unblock = screening::update(&mut lists, vec![Change::RemoveBlocklist(c)]);
    let u = consortium.registry_update(1, Some(r.header.id), &unblock);
    let mut view = PendingView::new(&store);
    view.push(Arc::new(p1.clone()));
    view.push(Arc::new(r.clone()));
    validator
        .check(&u, &view)
        .expect("the liar unblocks what it blocked");

    // What is finalized instead: member 0 blocklists c; the liar's P2 takes P1's id (same
    // nonce) with other content; then the same R.
    let mut lists: Registry = registry.clone();
    let h2 = consortium.registry_update(
        0,
        Some(first.header.id),
        &screening::update(&mut lists, vec![Change::AddBlocklist(c)]),
    );
    let p2_update = screening::update(&mut lists, vec![Change::AddKyc(d)]);
    let p2 = resign(
        &consortium,
        &consortium.registry_update(1, Some(h2.header.id), &p2_update),
        |u| {
            u.header.nonce = p1.header.nonce;
            u.header.id = p1.header.id;
        },
    );
    finalize(&store, 1, &[&h2]);
    finalize(&store, 2, &[&p2]);
    finalize(&store, 3, &[&r]);
    // c is member 0's blocklisting now: the liar's U is refused.
    assert_eq!(
        rejected(&validator, &store, &u),
        Rejection::BlocklistRemoval
    );
}

#[test]
fn oprf_evaluation_reports_are_only_what_an_honest_member_can_report() {
    use crate::oprf_report::{DAY_MS, EvaluationReport, ReportError};
    let (consortium, _, store) = setup();
    let consortium = consortium.with_oprf(20);
    let validator = Validator::new(consortium.genesis.clone()).unwrap();
    let genesis = &consortium.genesis;
    let now = 20_000 * DAY_MS + 3_600_000;
    // bank 2 (position 2) answered bank 1 five times and bank 3 twenty times today.
    let report = |day: u32, rows: Vec<(u16, u64)>, submitter: usize| {
        let member = &consortium.members[submitter];
        EvaluationReport { day, rows }
            .entry(
                EntryId::random_nonce(),
                &genesis.hash,
                &member.id,
                genesis.policy_hash,
                "2024-10",
                now,
            )
            .sign(&member.signing)
    };
    let honest = report(20_000, vec![(1, 5), (3, 20)], 1);
    validator
        .check(&honest, &PendingView::new(&store))
        .expect("an honest report passes");
    validator
        .check(&report(19_999, vec![(1, 5)], 1), &PendingView::new(&store))
        .expect("yesterday's final counts pass");
    let refused = |entry: &Entry| match rejected(&validator, &store, entry) {
        Rejection::CircuitProof(CircuitProofError::OprfReport(e)) => e,
        other => panic!("expected a report rejection, got {other:?}"),
    };
    // Over the limit no honest member answers; about itself; a day long gone or not yet come.
    assert_eq!(
        refused(&report(20_000, vec![(1, 21)], 1)),
        ReportError::OverLimit { limit: 20 }
    );
    assert_eq!(refused(&report(20_000, vec![(2, 1)], 1)), ReportError::Rows);
    assert_eq!(refused(&report(19_998, vec![(1, 1)], 1)), ReportError::Day);
    assert_eq!(refused(&report(20_001, vec![(1, 1)], 1)), ReportError::Day);
    // Anything besides the report: a reference.
    let with_reference = resign(&consortium, &honest, |e| {
        e.header.references = vec![honest.header.id];
    });
    assert!(matches!(
        rejected(&validator, &store, &with_reference),
        Rejection::References(_) | Rejection::CircuitProof(CircuitProofError::OprfReport(_))
    ));
    // A consortium without an OPRF key has nothing to report.
    let (plain, plain_validator, _) = setup();
    let member = &plain.members[1];
    let entry = EvaluationReport {
        day: 20_000,
        rows: vec![(1, 1)],
    }
    .entry(
        EntryId::random_nonce(),
        &plain.genesis.hash,
        &member.id,
        plain.genesis.policy_hash,
        "2024-10",
        now,
    )
    .sign(&member.signing);
    assert!(matches!(
        rejected(&plain_validator, &store, &entry),
        Rejection::CircuitProof(CircuitProofError::OprfReport(ReportError::NoOprf))
    ));
}

/// A fresh directory for a RocksDB store, removed when dropped.
#[cfg(feature = "rocksdb")]
struct TempDir(std::path::PathBuf);

#[cfg(feature = "rocksdb")]
impl TempDir {
    fn new(name: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let path = std::env::temp_dir().join(format!("veil-{name}-{}-{nanos}", std::process::id()));
        Self(path)
    }
}

#[cfg(feature = "rocksdb")]
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A node that restarts opens its persisted registry: the registry after the last finalized
/// update, with the same roots and witnesses, without reading one entry of the chain; a
/// store that has the chain but no persisted registry must walk it (so the count can fail).
#[cfg(feature = "rocksdb")]
#[test]
fn a_restarted_node_opens_its_registry_without_replaying_the_chain() {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use veil_circuits::Fr;
    use veil_circuits::screening::Change;
    use veil_circuits::screening::stored;

    use crate::store::Store as _;
    use crate::store::rocks::RocksStore;

    let (consortium, validator, _) = screening::consortium();
    let (a, b, c) = screening::borrowers();
    let (mut registry, first) =
        screening::first_version(&consortium, vec![Change::AddKyc(a), Change::AddKyc(b)]);
    let second = consortium.registry_update(
        1,
        Some(first.header.id),
        &screening::update(&mut registry, vec![Change::AddBlocklist(c)]),
    );
    let dir = TempDir::new("registry-restart");
    {
        let store = RocksStore::open(&dir.0).unwrap();
        validator.check(&first, &PendingView::new(&store)).unwrap();
        finalize(&store, 0, &[&first]);
        validator.check(&second, &PendingView::new(&store)).unwrap();
        finalize(&store, 1, &[&second]);
    }
    let store = RocksStore::open(&dir.0).unwrap();
    let finalized = store.registry().unwrap();
    assert_eq!(stored::roots(finalized.as_ref()).unwrap(), registry.roots());
    assert_eq!(
        stored::version(finalized.as_ref()).unwrap(),
        Some(second.digest().to_vec())
    );
    for who in [a, b, c] {
        assert_eq!(
            stored::witness(finalized.as_ref(), who, Fr::from(5u64)).ok(),
            registry.witness(who, Fr::from(5u64)).ok()
        );
    }
    let lookups = AtomicUsize::new(0);
    let counting = |id: &EntryId| {
        lookups.fetch_add(1, Ordering::SeqCst);
        PendingView::new(&store).entry(id)
    };
    let after =
        crate::registry::registry_after(counting, finalized.as_ref(), Some(&second)).unwrap();
    assert_eq!(stored::roots(&after).unwrap(), registry.roots());
    assert_eq!(lookups.load(Ordering::SeqCst), 0, "the chain was replayed");

    // The same chain without a persisted registry (a store from before it was persisted).
    let bare = MemoryStore::new();
    for (height, entry) in [&first, &second].into_iter().enumerate() {
        use crate::store::{AppliedBlock, AppliedEntry, StoredBlock};
        bare.apply(&AppliedBlock {
            block: StoredBlock {
                height: height as u64,
                digest: [height as u8; 32],
                block: Vec::new(),
                finalization: Vec::new(),
            },
            entries: vec![AppliedEntry {
                id: entry.header.id,
                kind: entry.header.kind.clone(),
                references: entry.header.references.clone(),
                settles_references: false,
                bytes: entry.encode(),
            }],
            registry: Vec::new(),
        })
        .unwrap();
    }
    let empty = bare.registry().unwrap();
    let replayed = crate::registry::registry_after(
        |id: &EntryId| {
            lookups.fetch_add(1, Ordering::SeqCst);
            PendingView::new(&bare).entry(id)
        },
        empty.as_ref(),
        Some(&second),
    )
    .unwrap();
    assert_eq!(stored::roots(&replayed).unwrap(), registry.roots());
    assert_eq!(lookups.load(Ordering::SeqCst), 1);

    // A third update checks on the reopened store.
    let third = consortium.registry_update(
        0,
        Some(second.header.id),
        &screening::update(&mut registry, vec![Change::RemoveKyc(b)]),
    );
    validator.check(&third, &PendingView::new(&store)).unwrap();
}

/// The registry keys of a block are written with the block or not at all: a store refuses a
/// block that does not extend its head, registry keys included, and the registry's version
/// is always the last update of the head's chain.
#[cfg(feature = "rocksdb")]
#[test]
fn registry_keys_are_written_only_with_their_block() {
    use veil_circuits::screening::Change;
    use veil_circuits::screening::stored;

    use crate::store::rocks::RocksStore;
    use crate::store::{AppliedBlock, Store, StoredBlock};

    let (consortium, _, _) = screening::consortium();
    let (a, _, _) = screening::borrowers();
    let (registry, first) = screening::first_version(&consortium, vec![Change::AddKyc(a)]);
    let dir = TempDir::new("registry-batch");
    let rocks = RocksStore::open(&dir.0).unwrap();
    let memory = MemoryStore::new();
    for store in [&rocks as &dyn Store, &memory] {
        let writes = {
            let view = PendingView::new(store);
            let finalized = store.registry().unwrap();
            crate::registry::finalized_writes(
                |id| view.entry(id),
                finalized.as_ref(),
                &[Arc::new(first.clone())],
            )
            .unwrap()
        };
        assert!(!writes.is_empty());
        let not_next = AppliedBlock {
            block: StoredBlock {
                height: 4,
                digest: [4; 32],
                block: Vec::new(),
                finalization: Vec::new(),
            },
            entries: Vec::new(),
            registry: writes,
        };
        assert!(store.apply(&not_next).is_err());
        let finalized = store.registry().unwrap();
        assert_eq!(stored::version(finalized.as_ref()).unwrap(), None);
        assert_eq!(
            stored::roots(finalized.as_ref()).unwrap(),
            veil_circuits::screening::Registry::default().roots()
        );
        drop(finalized);
        finalize(store, 0, &[&first]);
        let finalized = store.registry().unwrap();
        assert_eq!(stored::roots(finalized.as_ref()).unwrap(), registry.roots());
        assert_eq!(
            stored::version(finalized.as_ref()).unwrap(),
            Some(first.digest().to_vec())
        );
    }
}

/// Random update sequences written to RocksDB as the applier writes them (each checked on an
/// overlay over the store's snapshot): roots, sizes and witnesses equal those of the in-memory
/// registry rebuilt from scratch, through removals, freed slots and blocklist neighbours.
#[cfg(feature = "rocksdb")]
#[test]
fn the_registry_in_rocksdb_equals_a_fresh_rebuild() {
    use veil_circuits::Fr;
    use veil_circuits::screening::stored::{self, Overlay};
    use veil_circuits::screening::{Change, Registry};

    use crate::store::rocks::RocksStore;
    use crate::store::{AppliedBlock, Store as _, StoredBlock};

    let dir = TempDir::new("registry-random");
    let store = RocksStore::open(&dir.0).unwrap();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut accepted: Vec<Vec<Change>> = Vec::new();
    for height in 0..40u64 {
        let mut fresh = Registry::default();
        for done in &accepted {
            fresh.apply(done).unwrap();
        }
        // Changes that apply, and every fifth update one that does not.
        let mut changes: Vec<Change> = (0..1 + next() % 6)
            .map(|_| {
                let who = screening::borrower((next() % 30) as u8 + 1);
                match (
                    next() % 2,
                    fresh.is_registered(&who),
                    fresh.is_blocklisted(&who),
                ) {
                    (0, false, _) => Change::AddKyc(who),
                    (0, true, _) => Change::RemoveKyc(who),
                    (_, _, false) => Change::AddBlocklist(who),
                    (_, _, true) => Change::RemoveBlocklist(who),
                }
            })
            .collect();
        if height % 5 == 4 {
            let who = screening::borrower(31 + (height % 2) as u8);
            changes.push(Change::RemoveKyc(who));
        }
        changes.sort();
        changes.dedup();
        let in_memory = fresh.apply(&changes);
        let writes = {
            let finalized = store.registry().unwrap();
            let mut overlay = Overlay::new(finalized.as_ref());
            let checked = overlay.apply(&changes, b"bank");
            assert_eq!(checked.is_ok(), in_memory.is_ok(), "{changes:?}");
            if checked.is_err() {
                continue;
            }
            assert_eq!(stored::roots(&overlay).unwrap(), fresh.roots());
            overlay.set_version(&[height as u8; 32]);
            overlay.into_writes()
        };
        let height = accepted.len() as u64;
        store
            .apply(&AppliedBlock {
                block: StoredBlock {
                    height,
                    digest: [height as u8; 32],
                    block: Vec::new(),
                    finalization: Vec::new(),
                },
                entries: Vec::new(),
                registry: writes,
            })
            .unwrap();
        accepted.push(changes);
        let finalized = store.registry().unwrap();
        assert_eq!(stored::roots(finalized.as_ref()).unwrap(), fresh.roots());
        assert_eq!(stored::len(finalized.as_ref()).unwrap(), fresh.len());
        for who in 1..=30u8 {
            let who = screening::borrower(who);
            assert_eq!(
                stored::witness(finalized.as_ref(), who, Fr::from(3u64)).ok(),
                fresh.witness(who, Fr::from(3u64)).ok()
            );
        }
    }
    // Every fifth update is refused, every other one applies.
    assert_eq!(accepted.len(), 32);
}

#[test]
fn a_loan_has_no_more_participants_than_a_repayment_proof_has_slots() {
    // Six members: a loan of five (more than the four slots of a repayment's settlement
    // proof) could never be repaid, so nodes refuse it; one of four is accepted and repaid.
    let consortium = TestConsortium::new(6, 12, 40_100);
    let validator = Validator::new(consortium.genesis.clone()).unwrap();
    let store = MemoryStore::new();
    let five = consortium.loan(0, 1, 500_000, &[(1, 2000), (2, 2000), (3, 2000), (4, 2000)]);
    assert_eq!(
        rejected(&validator, &store, &five),
        Rejection::Fields(FieldError::TooManyParticipants)
    );
    let four = consortium.loan(0, 2, 500_000, &[(1, 2500), (2, 2500), (5, 2500)]);
    validator.check(&four, &PendingView::new(&store)).unwrap();
    let mut view = PendingView::new(&store);
    view.push(Arc::new(four.clone()));
    let repayment = consortium.repayment(&four, 77_777, "2026-11");
    validator.check(&repayment, &view).unwrap();
}

/// A settlement closed by an originator whose period involves every other member of a
/// 64-member consortium has 64 reader groups (one per partner's amount due, the originator's
/// own) and more with the public fields: such an entry decodes; one past `MAX_GROUPS` does not.
#[test]
fn an_entry_with_a_reader_group_for_each_of_64_members_decodes() {
    let (consortium, _, _) = setup();
    let loan = consortium.loan(0, 1, 100_000, &[(1, 5000)]);
    let mut wide = loan.clone();
    wide.groups = vec![loan.groups[0].clone(); 66];
    let decoded = Entry::decode(&wide.encode()).expect("66 reader groups decode");
    assert_eq!(decoded.groups.len(), 66);
    wide.groups = vec![loan.groups[0].clone(); crate::ledger::entry::MAX_GROUPS + 1];
    assert!(Entry::decode(&wide.encode()).is_err());
}

/// Every party of a consortium may have to read one reader group (a settlement's repayments
/// when its clearing period involves every partner, wrapped to every member and regulator): a
/// genesis with more members and regulators than one group's recipients is refused, naming
/// the limit, rather than admitting a consortium some of whose periods could never close.
#[test]
fn a_genesis_with_more_parties_than_one_reader_group_holds_is_refused() {
    let consortium = TestConsortium::new(3, 41, 40_500);
    let mut file = consortium.genesis.file.clone();
    let template = file.members[0].clone();
    let limit = veil_crypto::envelope::MAX_RECIPIENTS;
    let mut i = 0;
    while file.members.len() + file.regulators.len() <= limit {
        let mut extra = template.clone();
        extra.id = format!("member-{i}");
        file.members.push(extra);
        i += 1;
    }
    let refused = crate::genesis::Genesis::from_file(file).unwrap_err();
    assert!(
        refused.to_string().contains(&format!("at most {limit}")),
        "{refused}"
    );
}

/// A block's repayments are verified together (one multi-pairing): a repayment carrying a
/// well-formed settlement proof of another statement, signed by its submitter, is still
/// found and named, at every position and two at once, and the honest entries pass.
#[test]
fn a_bad_settlement_proof_in_a_batch_is_found_and_named() {
    let (consortium, validator, _) = setup();
    let loans: Vec<Entry> = (0..3)
        .map(|i| consortium.loan(0, 40 + i, 100_000 + 1_000 * u64::from(i), &[(1, 5000)]))
        .collect();
    let repayments: Vec<Entry> = loans
        .iter()
        .map(|loan| consortium.repayment(loan, 20_000, "2026-11"))
        .collect();
    // Each repayment with the next one's proof: well-formed, signed, not its own statement.
    let forged: Vec<Entry> = repayments
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let other = &repayments[(i + 1) % repayments.len()];
            resign(&consortium, r, |u| {
                u.proofs.circuit = other.proofs.circuit.clone()
            })
        })
        .collect();
    let bad_proof = Rejection::CircuitProof(CircuitProofError::Settlement(
        veil_circuits::CircuitError::Verification,
    ));
    assert_eq!(
        validator.check_stateless(&forged[0]),
        Err(bad_proof.clone())
    );

    // Loans and repayments alternate: loan i, repayment i.
    let honest: Vec<&Entry> = loans
        .iter()
        .zip(&repayments)
        .flat_map(|(l, r)| [l, r])
        .collect();
    assert!(
        validator
            .check_stateless_batch(&honest)
            .iter()
            .all(Result::is_ok)
    );
    for bad in 0..repayments.len() {
        let mut batch = honest.clone();
        batch[2 * bad + 1] = &forged[bad];
        let verdicts = validator.check_stateless_batch(&batch);
        for (i, verdict) in verdicts.iter().enumerate() {
            if i == 2 * bad + 1 {
                assert_eq!(verdict, &Err(bad_proof.clone()), "position {i}");
            } else {
                assert_eq!(verdict, &Ok(()), "position {i} (bad at {})", 2 * bad + 1);
            }
        }
    }
    let mut batch = honest.clone();
    batch[1] = &forged[0];
    batch[5] = &forged[2];
    let verdicts = validator.check_stateless_batch(&batch);
    let refused: Vec<usize> = (0..batch.len()).filter(|i| verdicts[*i].is_err()).collect();
    assert_eq!(refused, vec![1, 5]);
}
