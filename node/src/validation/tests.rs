//! End-to-end tests of the validator: each rule refuses what it must, with its code.

use super::*;
use crate::ledger::{EntryId, EntryProofs, UnsignedEntry};
use crate::store::memory::MemoryStore;
use crate::testkit::TestConsortium;

type Tamper = Box<dyn Fn(&mut Entry)>;
type Resign = Box<dyn Fn(&mut UnsignedEntry)>;

fn setup() -> (TestConsortium, Validator, MemoryStore) {
    let consortium = TestConsortium::new(3, 11, 40_000);
    let validator = Validator::new(consortium.genesis.clone());
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
        let validator = Validator::new(consortium.genesis.clone());
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
                entry: id.0,
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
    let foreign = resign(&consortium, &loan, |u| u.header.submitter = "bank-c".into());
    assert!(matches!(
        rejected(&validator, &store, &foreign),
        Rejection::Fields(_) | Rejection::Signature
    ));
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
