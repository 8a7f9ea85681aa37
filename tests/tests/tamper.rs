//! Tamper matrix: single-bit flips of a valid loan and a valid repayment, in three settings.
//!
//! 1. **Outsider** (no signing key): every bit of the encoded entry. The node's decoder or its
//!    validation (signature first) refuses each one.
//! 2. **Dishonest submitter** (re-signs what it tampered): every bit of every commitment,
//!    relation proof, range proof, and of the header's AAD components (entry id, schema
//!    version, policy hash). The node's validation refuses each one.
//! 3. **Reader side**: what nodes cannot check, because they cannot decrypt — every bit of
//!    every nonce, ciphertext, field path, encapsulated key and wrapped key, re-signed. The
//!    recipient's opening of that group fails for each one, so the gateway never shows it, and
//!    a recipient's gateway records the entry as a finding (an alert with the signed entry).
//! 4. **Recipients and regulators' handles** (re-signed): every group re-wrapped to another
//!    set — each wrap dropped, duplicated, or addressed to every other member or regulator key,
//!    every bit of every wrap's recipient key, every pair of groups merged — and every bit of
//!    the audit proofs (decrypt handles and validity proofs). The node's validation refuses
//!    each one (`recipients`, `audit`).
//!
//! CI flips every 7th bit of the range proofs, recipient keys and audit proofs (each such
//! check runs the whole validation, proofs first) and every bit of everything else;
//! `VEIL_TAMPER_FULL=1` flips every bit of everything:
//!
//! ```text
//! VEIL_TAMPER_FULL=1 cargo test --release -p veil-tests --test tamper -- --nocapture
//! ```

use std::sync::Arc;

use veil_crypto::Commitment;
use veil_node::ledger::{Entry, UnsignedEntry};
use veil_node::store::memory::MemoryStore;
use veil_node::testkit::TestConsortium;
use veil_node::validation::{PendingView, Validator};

fn range_stride() -> usize {
    if std::env::var("VEIL_TAMPER_FULL").is_ok_and(|v| v == "1") {
        1
    } else {
        7
    }
}

fn unsigned(entry: &Entry) -> UnsignedEntry {
    UnsignedEntry {
        header: entry.header.clone(),
        groups: entry.groups.clone(),
        commitments: entry.commitments.clone(),
        proofs: entry.proofs.clone(),
    }
}

struct Setup {
    consortium: TestConsortium,
    /// The regulator's keys as its gateway holds them (master view key, auditor key).
    regulator: veil_gateway::entry::keys::RegulatorKeys,
    /// Calls of [`Setup::unreadable_and_flagged`] so far.
    calls: std::cell::Cell<usize>,
    /// The regulator's scoped secret view keys of 2026-11 (one per field class).
    regulator_keys: Vec<veil_crypto::EncryptionSecretKey>,
    validator: Validator,
    store: MemoryStore,
    loan: Entry,
    repayment: Entry,
}

impl Setup {
    fn new() -> Self {
        let months = veil_node::view_keys::months_from_through("2026-01", "2026-12");
        let (consortium, regulator) = TestConsortium::new(4, 21, 40_000).with_regulator(&months);
        let regulator_keys = veil_policies::FieldClass::ALL
            .iter()
            .map(|class| {
                let scope = veil_crypto::ViewScope::new("2026-11", class.name()).unwrap();
                regulator
                    .master
                    .derive(&consortium.genesis.consortium_id, &scope)
                    .secret_key()
                    .clone()
            })
            .collect();
        let validator = Validator::new(consortium.genesis.clone()).unwrap();
        let loan = consortium.loan(0, 1, 480_000, &[(1, 5000), (2, 2500)]);
        let repayment = consortium.repayment(&loan, 45_001, "2026-11");
        let regulator =
            veil_gateway::entry::keys::RegulatorKeys::new(veil_crypto::ViewKeyring::Master {
                consortium_id: consortium.genesis.consortium_id.clone(),
                key: regulator.master,
            });
        Self {
            consortium,
            regulator,
            calls: std::cell::Cell::new(0),
            regulator_keys,
            validator,
            store: MemoryStore::new(),
            loan,
            repayment,
        }
    }

    /// Whether the node's validation accepts `entry` (the repayment's loan is on the ledger).
    fn accepted(&self, entry: &Entry) -> bool {
        let mut view = PendingView::new(&self.store);
        if entry.header.id != self.loan.header.id {
            view.push(Arc::new(self.loan.clone()));
        }
        self.validator.check(entry, &view).is_ok()
    }

    fn resign(&self, entry: UnsignedEntry) -> Entry {
        let signer = &self
            .consortium
            .members
            .iter()
            .find(|m| m.id == entry.header.submitter)
            .expect("submitter")
            .signing;
        entry.sign(signer)
    }

    /// Whether some recipient's gateway (a member's or the regulator's) records a finding
    /// about `entry` — what becomes an alert with the signed entry as evidence, rather than a
    /// silent redaction.
    fn flagged(&self, entry: &Entry) -> bool {
        use veil_gateway::entry::keys::Opener;
        use veil_gateway::entry::reader::Opened;
        let genesis = &self.consortium.genesis;
        let found = |opener: &Opener<'_>| {
            !Opened::open(entry.clone(), 1, genesis, opener)
                .findings
                .is_empty()
        };
        self.consortium
            .members
            .iter()
            .any(|m| found(&Opener::Member(&m.encryption)))
            || found(&Opener::Regulator(&self.regulator))
    }

    /// Asserts that no recipient opens `entry` any more and that a recipient's gateway records
    /// it as a finding (every 7th call in CI, each opening the entry as every recipient's
    /// gateway does; every call with `VEIL_TAMPER_FULL=1`).
    fn unreadable_and_flagged(&self, entry: Entry, what: &str) {
        assert!(!self.opens(&entry), "{what}");
        let call = self.calls.get();
        self.calls.set(call + 1);
        if call.is_multiple_of(range_stride()) {
            assert!(
                self.flagged(&entry),
                "{what}: no recipient records an alert"
            );
        }
    }

    /// Whether every recipient (the members and the regulator) still opens every group of
    /// `entry` it is a recipient of.
    fn opens(&self, entry: &Entry) -> bool {
        let statement = entry.header.statement_id();
        let context = entry
            .header
            .field_context(&self.consortium.genesis.consortium_id, &statement);
        let keys: Vec<&veil_crypto::EncryptionSecretKey> = self
            .consortium
            .members
            .iter()
            .map(|m| &m.encryption)
            .chain(&self.regulator_keys)
            .collect();
        entry.groups.iter().all(|group| {
            keys.iter()
                .filter(|key| group.is_recipient(key.public_key()))
                .all(|key| group.open_all(&context, key).is_ok())
        })
    }
}

/// Calls `f` with a copy of `bytes` with bit `i` flipped, for every `stride`-th bit.
fn each_flip(bytes: &[u8], stride: usize, mut f: impl FnMut(Vec<u8>)) -> usize {
    let mut count = 0;
    for bit in (0..bytes.len() * 8).step_by(stride) {
        let mut flipped = bytes.to_vec();
        flipped[bit / 8] ^= 1 << (bit % 8);
        f(flipped);
        count += 1;
    }
    count
}

#[test]
fn valid_entries_pass_and_open() {
    let setup = Setup::new();
    assert!(setup.accepted(&setup.loan));
    assert!(setup.accepted(&setup.repayment));
    assert!(setup.opens(&setup.loan) && setup.opens(&setup.repayment));
}

#[test]
fn an_outsider_flipping_any_bit_of_an_entry_is_refused() {
    let setup = Setup::new();
    let mut total = 0;
    for entry in [&setup.loan, &setup.repayment] {
        let bytes = entry.encode();
        total += each_flip(&bytes, 1, |flipped| {
            if let Ok(decoded) = Entry::decode(&flipped) {
                assert!(!setup.accepted(&decoded), "a flipped entry was accepted");
            }
        });
    }
    eprintln!("outsider: {total} single-bit flips, all refused");
    assert!(total > 10_000);
}

#[test]
fn a_submitter_resigning_a_flipped_commitment_proof_or_header_is_refused() {
    let setup = Setup::new();
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for entry in [&setup.loan, &setup.repayment] {
        let base = unsigned(entry);
        for index in 0..base.commitments.len() {
            let bytes = base.commitments[index].1.to_bytes();
            *counts.entry("commitment").or_default() += each_flip(&bytes, 1, |flipped| {
                let flipped: [u8; 32] = flipped.try_into().expect("32 bytes");
                // Most flips are not a point at all: the decoder refuses them.
                let Ok(commitment) = Commitment::from_bytes(&flipped) else {
                    return;
                };
                let mut tampered = unsigned(entry);
                tampered.commitments[index].1 = commitment;
                assert!(
                    !setup.accepted(&setup.resign(tampered)),
                    "commitment {index}"
                );
            });
        }
        for index in 0..base.proofs.relations.len() {
            *counts.entry("relation proof").or_default() +=
                each_flip(&base.proofs.relations[index], 1, |flipped| {
                    let mut tampered = unsigned(entry);
                    tampered.proofs.relations[index] = flipped.try_into().expect("64 bytes");
                    assert!(!setup.accepted(&setup.resign(tampered)), "relation {index}");
                });
        }
        *counts.entry("range proof").or_default() +=
            each_flip(&base.proofs.range, range_stride(), |flipped| {
                let mut tampered = unsigned(entry);
                tampered.proofs.range = flipped;
                assert!(!setup.accepted(&setup.resign(tampered)), "range proof");
            });
        *counts.entry("entry id").or_default() += each_flip(&base.header.id.0, 1, |flipped| {
            let mut tampered = unsigned(entry);
            tampered.header.id.0 = flipped.try_into().expect("16 bytes");
            assert!(!setup.accepted(&setup.resign(tampered)), "entry id");
        });
        *counts.entry("schema version").or_default() +=
            each_flip(&base.header.schema_version.to_be_bytes(), 1, |flipped| {
                let mut tampered = unsigned(entry);
                tampered.header.schema_version =
                    u16::from_be_bytes(flipped.try_into().expect("2 bytes"));
                assert!(!setup.accepted(&setup.resign(tampered)), "schema version");
            });
        *counts.entry("policy hash").or_default() +=
            each_flip(&base.header.policy_hash, 1, |flipped| {
                let mut tampered = unsigned(entry);
                tampered.header.policy_hash = flipped.try_into().expect("32 bytes");
                assert!(!setup.accepted(&setup.resign(tampered)), "policy hash");
            });
    }
    let total: usize = counts.values().sum();
    eprintln!("dishonest submitter: {total} re-signed single-bit flips, all refused: {counts:?}");
    assert!(counts.values().all(|n| *n > 0));
}

#[test]
fn what_nodes_cannot_decrypt_no_recipient_opens_after_a_flip() {
    let setup = Setup::new();
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for entry in [&setup.loan, &setup.repayment] {
        let base = unsigned(entry);
        for g in 0..base.groups.len() {
            for f in 0..base.groups[g].fields.len() {
                let field = &base.groups[g].fields[f];
                *counts.entry("nonce").or_default() += each_flip(&field.nonce, 1, |flipped| {
                    let mut tampered = unsigned(entry);
                    tampered.groups[g].fields[f].nonce = flipped.try_into().expect("nonce");
                    setup.unreadable_and_flagged(setup.resign(tampered), "nonce");
                });
                *counts.entry("ciphertext").or_default() +=
                    each_flip(&field.ciphertext, 1, |flipped| {
                        let mut tampered = unsigned(entry);
                        tampered.groups[g].fields[f].ciphertext = flipped;
                        setup.unreadable_and_flagged(setup.resign(tampered), "ciphertext");
                    });
                *counts.entry("field path").or_default() +=
                    each_flip(field.path.as_bytes(), 1, |flipped| {
                        let Ok(path) = String::from_utf8(flipped) else {
                            return;
                        };
                        let mut tampered = unsigned(entry);
                        tampered.groups[g].fields[f].path = path;
                        setup.unreadable_and_flagged(setup.resign(tampered), "field path");
                    });
            }
            for w in 0..base.groups[g].wrapped_keys.len() {
                let wrap = &base.groups[g].wrapped_keys[w];
                *counts.entry("encapsulated key").or_default() +=
                    each_flip(&wrap.enc, 1, |flipped| {
                        let mut tampered = unsigned(entry);
                        tampered.groups[g].wrapped_keys[w].enc = flipped.try_into().expect("enc");
                        setup.unreadable_and_flagged(setup.resign(tampered), "enc");
                    });
                *counts.entry("wrapped key").or_default() +=
                    each_flip(&wrap.ciphertext, 1, |flipped| {
                        let mut tampered = unsigned(entry);
                        tampered.groups[g].wrapped_keys[w].ciphertext =
                            flipped.try_into().expect("wrap");
                        setup.unreadable_and_flagged(setup.resign(tampered), "wrapped key");
                    });
            }
        }
        // The AAD's header components, as a reader would rebuild the context.
        *counts.entry("aad: entry id").or_default() += each_flip(&base.header.id.0, 1, |flipped| {
            let mut tampered = unsigned(entry);
            tampered.header.id.0 = flipped.try_into().expect("16 bytes");
            setup.unreadable_and_flagged(setup.resign(tampered), "aad entry id");
        });
        *counts.entry("aad: policy hash").or_default() +=
            each_flip(&base.header.policy_hash, 1, |flipped| {
                let mut tampered = unsigned(entry);
                tampered.header.policy_hash = flipped.try_into().expect("32 bytes");
                setup.unreadable_and_flagged(setup.resign(tampered), "aad policy hash");
            });
        *counts.entry("aad: schema version").or_default() +=
            each_flip(&base.header.schema_version.to_be_bytes(), 1, |flipped| {
                let mut tampered = unsigned(entry);
                tampered.header.schema_version =
                    u16::from_be_bytes(flipped.try_into().expect("2 bytes"));
                setup.unreadable_and_flagged(setup.resign(tampered), "aad schema version");
            });
    }
    let total: usize = counts.values().sum();
    eprintln!("reader side: {total} re-signed single-bit flips, none opened: {counts:?}");
    assert!(counts.values().all(|n| *n > 0));
}

/// The reason the node's validation refuses `entry`, if it does.
fn refusal(setup: &Setup, entry: &Entry) -> Option<&'static str> {
    let mut view = PendingView::new(&setup.store);
    if entry.header.id != setup.loan.header.id {
        view.push(Arc::new(setup.loan.clone()));
    }
    match setup.validator.check(entry, &view) {
        Err(veil_node::validation::ValidationError::Rejected(r)) => Some(r.reason()),
        _ => None,
    }
}

#[test]
fn a_submitter_rewrapping_groups_or_forging_regulators_handles_is_refused() {
    let setup = Setup::new();
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    let mut every_key: Vec<[u8; 32]> = setup
        .consortium
        .genesis
        .members
        .iter()
        .map(|m| m.encryption_key.to_bytes())
        .collect();
    every_key.extend(
        setup.consortium.genesis.regulators[0]
            .view_keys
            .iter()
            .filter(|(scope, _)| scope.month() == "2026-11")
            .map(|(_, key)| key.to_bytes()),
    );
    for entry in [&setup.loan, &setup.repayment] {
        let base = unsigned(entry);
        let refused = |tampered: UnsignedEntry, what: &str, code: &str| {
            assert_eq!(
                refusal(&setup, &setup.resign(tampered)),
                Some(code),
                "{what}"
            );
        };
        for g in 0..base.groups.len() {
            let wrapped: Vec<[u8; 32]> = base.groups[g]
                .wrapped_keys
                .iter()
                .map(|w| w.recipient)
                .collect();
            for w in 0..wrapped.len() {
                let mut dropped = unsigned(entry);
                dropped.groups[g].wrapped_keys.remove(w);
                refused(dropped, "a wrap dropped", "recipients");
                let mut doubled = unsigned(entry);
                let copy = doubled.groups[g].wrapped_keys[w].clone();
                doubled.groups[g].wrapped_keys.push(copy);
                refused(doubled, "a wrap doubled", "recipients");
                *counts.entry("wraps dropped or doubled").or_default() += 2;
                for key in every_key.iter().filter(|k| !wrapped.contains(k)) {
                    let mut redirected = unsigned(entry);
                    redirected.groups[g].wrapped_keys[w].recipient = *key;
                    refused(redirected, "a wrap to another key", "recipients");
                    *counts.entry("wraps addressed to another key").or_default() += 1;
                }
                *counts.entry("recipient key bits").or_default() +=
                    each_flip(&wrapped[w], range_stride(), |flipped| {
                        let mut tampered = unsigned(entry);
                        tampered.groups[g].wrapped_keys[w].recipient =
                            flipped.try_into().expect("32 bytes");
                        refused(tampered, "a recipient key bit", "recipients");
                    });
            }
            for h in g + 1..base.groups.len() {
                let mut merged = unsigned(entry);
                let other = merged.groups.remove(h);
                merged.groups[g].fields.extend(other.fields);
                for wrap in other.wrapped_keys {
                    if !merged.groups[g]
                        .wrapped_keys
                        .iter()
                        .any(|w| w.recipient == wrap.recipient)
                    {
                        merged.groups[g].wrapped_keys.push(wrap);
                    }
                }
                refused(merged, "two groups merged", "recipients");
                *counts.entry("groups merged").or_default() += 1;
            }
        }
        *counts.entry("audit proof bits").or_default() +=
            each_flip(&base.proofs.audit, range_stride(), |flipped| {
                let mut tampered = unsigned(entry);
                tampered.proofs.audit = flipped;
                refused(tampered, "an audit proof bit", "audit");
            });
    }
    let total: usize = counts.values().sum();
    eprintln!("recipients and handles: {total} re-signed changes, all refused: {counts:?}");
    assert!(counts.values().all(|n| *n > 0));
}
