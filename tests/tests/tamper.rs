//! Tamper matrix: single-bit flips of a valid loan and a valid repayment, in three settings.
//!
//! 1. **Outsider** (no signing key): every bit of the encoded entry. The node's decoder or its
//!    validation (signature first) refuses each one.
//! 2. **Dishonest submitter** (re-signs what it tampered): every bit of every commitment,
//!    relation proof, range proof, and of the header's AAD components (entry id, schema
//!    version, policy hash). The node's validation refuses each one.
//! 3. **Reader side**: what nodes cannot check, because they cannot decrypt — every bit of
//!    every nonce, ciphertext, field path, encapsulated key and wrapped key, re-signed. The
//!    recipient's opening of that group fails for each one, so the gateway never shows it.
//!
//! CI flips every 7th bit of the range proofs (their verification dominates the time) and
//! every bit of everything else; `VEIL_TAMPER_FULL=1` flips every bit of everything:
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
    validator: Validator,
    store: MemoryStore,
    loan: Entry,
    repayment: Entry,
}

impl Setup {
    fn new() -> Self {
        let consortium = TestConsortium::new(4, 21, 40_000);
        let validator = Validator::new(consortium.genesis.clone()).unwrap();
        let loan = consortium.loan(0, 1, 480_000, &[(1, 5000), (2, 2500)]);
        let repayment = consortium.repayment(&loan, 45_001, "2026-11");
        Self {
            consortium,
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

    /// Whether every recipient still opens every group of `entry` that it could open in
    /// `original`.
    fn opens(&self, entry: &Entry) -> bool {
        let statement = entry.header.statement_id();
        let context = entry
            .header
            .field_context(&self.consortium.genesis.consortium_id, &statement);
        entry.groups.iter().all(|group| {
            self.consortium
                .members
                .iter()
                .filter(|m| group.is_recipient(m.encryption.public_key()))
                .all(|m| group.open_all(&context, &m.encryption).is_ok())
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
                    assert!(!setup.opens(&setup.resign(tampered)), "nonce");
                });
                *counts.entry("ciphertext").or_default() +=
                    each_flip(&field.ciphertext, 1, |flipped| {
                        let mut tampered = unsigned(entry);
                        tampered.groups[g].fields[f].ciphertext = flipped;
                        assert!(!setup.opens(&setup.resign(tampered)), "ciphertext");
                    });
                *counts.entry("field path").or_default() +=
                    each_flip(field.path.as_bytes(), 1, |flipped| {
                        let Ok(path) = String::from_utf8(flipped) else {
                            return;
                        };
                        let mut tampered = unsigned(entry);
                        tampered.groups[g].fields[f].path = path;
                        assert!(!setup.opens(&setup.resign(tampered)), "field path");
                    });
            }
            for w in 0..base.groups[g].wrapped_keys.len() {
                let wrap = &base.groups[g].wrapped_keys[w];
                *counts.entry("encapsulated key").or_default() +=
                    each_flip(&wrap.enc, 1, |flipped| {
                        let mut tampered = unsigned(entry);
                        tampered.groups[g].wrapped_keys[w].enc = flipped.try_into().expect("enc");
                        assert!(!setup.opens(&setup.resign(tampered)), "enc");
                    });
                *counts.entry("wrapped key").or_default() +=
                    each_flip(&wrap.ciphertext, 1, |flipped| {
                        let mut tampered = unsigned(entry);
                        tampered.groups[g].wrapped_keys[w].ciphertext =
                            flipped.try_into().expect("wrap");
                        assert!(!setup.opens(&setup.resign(tampered)), "wrapped key");
                    });
            }
        }
        // The AAD's header components, as a reader would rebuild the context.
        *counts.entry("aad: entry id").or_default() += each_flip(&base.header.id.0, 1, |flipped| {
            let mut tampered = unsigned(entry);
            tampered.header.id.0 = flipped.try_into().expect("16 bytes");
            assert!(!setup.opens(&setup.resign(tampered)), "aad entry id");
        });
        *counts.entry("aad: policy hash").or_default() +=
            each_flip(&base.header.policy_hash, 1, |flipped| {
                let mut tampered = unsigned(entry);
                tampered.header.policy_hash = flipped.try_into().expect("32 bytes");
                assert!(!setup.opens(&setup.resign(tampered)), "aad policy hash");
            });
        *counts.entry("aad: schema version").or_default() +=
            each_flip(&base.header.schema_version.to_be_bytes(), 1, |flipped| {
                let mut tampered = unsigned(entry);
                tampered.header.schema_version =
                    u16::from_be_bytes(flipped.try_into().expect("2 bytes"));
                assert!(!setup.opens(&setup.resign(tampered)), "aad schema version");
            });
    }
    let total: usize = counts.values().sum();
    eprintln!("reader side: {total} re-signed single-bit flips, none opened: {counts:?}");
    assert!(counts.values().all(|n| *n > 0));
}
