//! Members are adversaries too: on a running consortium (real TLS, consensus over sockets,
//! RocksDB), a member bank that runs a modified gateway builds entries with Veil's own builder,
//! tampers with them, re-signs them with its own key and submits them straight to its node.
//! What readers and regulators rely on holds:
//!
//! 1. a regulator (or a partner) left out of a reader group: refused by the nodes
//!    (`recipients`); amounts without valid decrypt handles to the regulator: refused
//!    (`audit`); a wrap the nodes cannot check garbled: finalized, and the regulator's gateway
//!    records an alert (the signed entry as evidence) and still reads the amounts from their
//!    decrypt handles;
//! 2. another member's pending entry, copied and re-signed (under its id or one of its own):
//!    refused, and the original lands;
//! 3. amounts and names of different lengths: ciphertexts of one length;
//! 4. a group whose key commitment does not match its data key: each recipient records a
//!    `key-commitment` alert;
//! 6. another member's loan under a bank's next business id does not block that bank's loan
//!    or its repayments; a blocklist removal of another member's blocklisting is refused by
//!    the nodes (`permission`).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use veil_gateway::entry::builder::{Builder, LoanTerms};
use veil_gateway::entry::keys::MemberSecrets;
use veil_gateway::entry::reader::Opened;
use veil_gateway::entry::request::LoanRepaid;
use veil_node::genesis::Genesis;
use veil_node::ledger::{Entry, UnsignedEntry};
use veil_node::link::{LinkError, NodeLink};
use veil_node::validation::RejectionCode;
use veil_tests::{
    ConsortiumDir, Harness, eventually, get_json, get_until_found, member_client, post_json,
    register_borrowers, regulator_client,
};

const BORROWERS: [&str; 2] = ["110101199205051230", "110101198801010027"];

fn loan(loan_id: &str, name: &str, shares: &[(&str, u64)], principal: u64) -> Value {
    let funding = veil_gateway::scenario::funding(principal, shares);
    json!({"type": "loan.originated", "fields": {
        "loan_id": loan_id,
        "borrower": {"name": name, "national_id": BORROWERS[0], "phone": "+86 139 0000 1111"},
        "principal": principal, "annual_rate_bps": 1500, "term_days": 300,
        "participants": shares.iter().map(|(b, s)| json!({"bank": b, "share_bps": s})).collect::<Vec<_>>(),
        "funding": funding,
    }})
}

fn repayment(loan_id: &str, amount: u64) -> Value {
    json!({"type": "loan.repaid", "fields": {
        "loan_id": loan_id, "period": "2026-11", "amount": amount,
        "principal_part": amount - amount / 10, "interest_part": amount / 10,
    }})
}

/// A member's keys, as its (modified) gateway holds them: its OPRF key share included.
fn secrets(dir: &Path, bank: &str) -> MemberSecrets {
    let keys = dir.join(bank).join("keys");
    let secrets =
        MemberSecrets::load(&keys.join("signing.key"), &keys.join("encryption.key")).unwrap();
    let genesis = Genesis::load(&dir.join("consortium.toml")).unwrap();
    let index = genesis.members.iter().position(|m| m.id == bank).unwrap() as u16 + 1;
    match genesis.oprf_key() {
        Some(key) => secrets
            .with_oprf_share(
                &keys.join(veil_gateway::consortium::init::OPRF_SHARE_FILE),
                index,
                &key,
            )
            .unwrap(),
        None => secrets,
    }
}

fn resign(
    entry: &Entry,
    secrets: &MemberSecrets,
    tamper: impl FnOnce(&mut UnsignedEntry),
) -> Entry {
    let mut unsigned = UnsignedEntry {
        header: entry.header.clone(),
        groups: entry.groups.clone(),
        commitments: entry.commitments.clone(),
        proofs: entry.proofs.clone(),
    };
    tamper(&mut unsigned);
    unsigned.sign(&secrets.signing)
}

async fn submit(node: &NodeLink, entry: &Entry) -> Result<u64, LinkError> {
    node.submit(entry.encode(), Duration::from_secs(30))
        .await
        .map(|receipt| receipt.height)
}

fn refused_with(result: Result<u64, LinkError>, code: RejectionCode, what: &str) {
    match result {
        Err(LinkError::Rejected(got)) => assert_eq!(got, code, "{what}"),
        other => panic!("{what}: not refused: {other:?}"),
    }
}

/// bank-a's loan `loan_id` as its own gateway's builder sees it.
async fn loan_terms(
    node: &NodeLink,
    genesis: &Genesis,
    secrets: &MemberSecrets,
    loan_id: &str,
) -> LoanTerms {
    let entry_id = secrets.loan_entry_id(genesis, "bank-a", loan_id);
    let stored = node.entry(&entry_id).await.unwrap().expect("the loan");
    let opener = veil_gateway::entry::keys::Opener::Member(&secrets.encryption);
    let opened = Opened::open(
        Entry::decode(&stored.bytes).unwrap(),
        stored.height,
        genesis,
        &opener,
    );
    LoanTerms {
        entry_id,
        loan_id: loan_id.to_owned(),
        shares: veil_gateway::entry::reader::shares(&opened).unwrap(),
    }
}

/// The alerts of one gateway about `entry`.
async fn alerts_about(client: &reqwest::Client, url: &str, entry: &str) -> Vec<Value> {
    let (status, body) = get_json(client, url).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["entry"] == entry)
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lying_member_cannot_break_what_readers_and_regulators_rely_on() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let harness = Harness::start(dir).await;
    let clerk_a = member_client(dir, "bank-a", "clerk");
    let clerk_b = member_client(dir, "bank-b", "clerk");
    let regulator = regulator_client(dir);
    let entries_a = harness.url("bank-a", "/v1/entries");
    let entries_b = harness.url("bank-b", "/v1/entries");
    register_borrowers(&clerk_a, &entries_a, &BORROWERS).await;

    // Honest loans of bank-a with bank-b: different principals (6 and 9 digits) and borrower
    // names (5 and 40 characters).
    for (id, name, principal) in [
        ("L-1", "Li Na", 500_000),
        (
            "L-2",
            "Ouyang Xiaoming of the Western District",
            123_456_789,
        ),
    ] {
        let (status, body) = post_json(
            &clerk_a,
            &entries_a,
            &loan(id, name, &[("bank-a", 6000), ("bank-b", 4000)], principal),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }

    let genesis = Arc::new(Genesis::load(&dir.join("consortium.toml")).unwrap());
    let policies = veil_policies::Policies::default_set().unwrap();
    let proving_keys =
        veil_gateway::entry::circuits::ProvingKeys::beside(&dir.join("consortium.toml"));
    let view_keys = veil_gateway::entry::view_keys::PublishedViewKeys::default();
    let secrets_a = secrets(dir, "bank-a");
    let secrets_b = secrets(dir, "bank-b");
    let node_a = ConsortiumDir::node_link_in(dir, "bank-a");
    let node_b = ConsortiumDir::node_link_in(dir, "bank-b");
    // The references a member's (modified) gateway computes for these borrowers: the members'
    // threshold OPRF, through its own gateway's share and the others' answers.
    let borrower_refs = harness
        .embedded
        .gateway("bank-a")
        .unwrap()
        .gateway
        .borrower_refs(&secrets_a, &BORROWERS)
        .await
        .unwrap();
    let builder = Builder {
        genesis: &genesis,
        policies: &policies,
        secrets: &secrets_a,
        member: "bank-a",
        proving_keys: &proving_keys,
        view_keys: &view_keys,
        borrower_refs: &borrower_refs,
        nonce: None,
    };
    let terms = loan_terms(&node_a, &genesis, &secrets_a, "L-1").await;
    let honest_repayment = |amount: u64| {
        let request = LoanRepaid {
            loan_id: "L-1".into(),
            period: "2026-11".into(),
            amount,
            principal_part: amount - amount / 10,
            interest_part: amount / 10,
        };
        builder.repayment(&request, &terms, 0).unwrap().0
    };
    let regulator_keys: Vec<[u8; 32]> = genesis.regulators[0]
        .view_keys
        .values()
        .map(|k| k.to_bytes())
        .collect();
    let is_regulator = |key: &[u8; 32]| regulator_keys.contains(key);

    // 1. The regulator left out of every group: refused by the nodes.
    let honest = honest_repayment(10_000);
    let without_regulator = resign(&honest, &secrets_a, |u| {
        for group in &mut u.groups {
            group.wrapped_keys.retain(|w| !is_regulator(&w.recipient));
        }
    });
    refused_with(
        submit(&node_a, &without_regulator).await,
        RejectionCode::Recipients,
        "the regulator left out",
    );
    // ... or the partner left out, or an outsider (bank-c) wrapped in.
    let bank_b = genesis.member("bank-b").unwrap().encryption_key.to_bytes();
    let bank_c = genesis.member("bank-c").unwrap().encryption_key.to_bytes();
    let without_partner = resign(&honest, &secrets_a, |u| {
        for group in &mut u.groups {
            group.wrapped_keys.retain(|w| w.recipient != bank_b);
        }
    });
    refused_with(
        submit(&node_a, &without_partner).await,
        RejectionCode::Recipients,
        "the partner left out",
    );
    let with_outsider = resign(&honest, &secrets_a, |u| {
        let mut extra = u.groups[0].wrapped_keys[0].clone();
        extra.recipient = bank_c;
        u.groups[0].wrapped_keys.push(extra);
    });
    refused_with(
        submit(&node_a, &with_outsider).await,
        RejectionCode::Recipients,
        "an outsider wrapped in",
    );
    // Amounts without their decrypt handles to the regulator: refused.
    let without_handles = resign(&honest, &secrets_a, |u| u.proofs.audit.clear());
    refused_with(
        submit(&node_a, &without_handles).await,
        RejectionCode::Audit,
        "no decrypt handles",
    );

    // 2. bank-b copies bank-a's pending repayment, names itself submitter and re-signs it:
    // refused; bank-a's own lands.
    // Under the pending entry's id (which would make the original a replay): the id is not
    // bank-b's.
    let taken = resign(&honest, &secrets_b, |u| {
        u.header.submitter = "bank-b".into()
    });
    refused_with(
        submit(&node_b, &taken).await,
        RejectionCode::EntryId,
        "a pending entry's id taken",
    );
    // Under an id of its own: its references and proofs are bank-a's.
    let rederived = resign(&honest, &secrets_b, |u| {
        u.header.submitter = "bank-b".into();
        u.header.id =
            veil_node::ledger::EntryId::derive(&u.header.genesis, "bank-b", &u.header.nonce);
    });
    assert!(
        matches!(
            submit(&node_b, &rederived).await,
            Err(LinkError::Rejected(_))
        ),
        "a copied entry was not refused"
    );
    submit(&node_a, &honest).await.expect("the original lands");

    // 1, continued. What nodes cannot check: the regulator's wrap garbled. It lands; the
    // regulator's gateway records an alert naming bank-a and still reads the amounts from
    // their decrypt handles.
    let garbled = resign(&honest_repayment(20_000), &secrets_a, |u| {
        for group in &mut u.groups {
            for wrap in &mut group.wrapped_keys {
                if is_regulator(&wrap.recipient) {
                    wrap.ciphertext[0] ^= 1;
                }
            }
        }
    });
    submit(&node_a, &garbled)
        .await
        .expect("nodes cannot see a garbled wrap");
    let garbled_id = garbled.header.id.to_hex();
    let regulator_alerts = harness.url("regulator", "/v1/alerts");
    let alerts = eventually(
        Duration::from_secs(30),
        "the regulator's gateway to record an alert",
        || async {
            let alerts = alerts_about(&regulator, &regulator_alerts, &garbled_id).await;
            (!alerts.is_empty()).then_some(alerts)
        },
    )
    .await;
    assert!(
        alerts
            .iter()
            .all(|a| a["signer"] == "bank-a" && a["finding"] == "unopenable-group"),
        "{alerts:?}"
    );
    let evidence = veil_crypto::encoding::from_hex(
        alerts[0]["evidence"].as_str().unwrap(),
        veil_node::ledger::entry::MAX_ENTRY_LEN,
    )
    .unwrap();
    let evidence = Entry::decode(&evidence).unwrap();
    assert!(evidence.verify_signature(&genesis.member("bank-a").unwrap().signing_key));
    let (_, view) = get_until_found(
        &regulator,
        &harness.url("regulator", &format!("/v1/entries/{garbled_id}")),
    )
    .await;
    assert_eq!(view["fields"]["amount"], 20_000, "{view}");
    // What it could not read is flagged, not shown as an ordinary redaction.
    assert_eq!(view["fields"]["loan_id"]["redacted"], true, "{view}");
    assert_eq!(
        view["fields"]["loan_id"]["alert"], "unopenable-group",
        "{view}"
    );
    // The partner, whose wrap is intact, has nothing to report.
    let (_, view) = get_until_found(
        &clerk_b,
        &harness.url("bank-b", &format!("/v1/entries/{garbled_id}")),
    )
    .await;
    assert_eq!(view["fields"]["amount"], 20_000, "{view}");
    let metrics = harness.url("regulator", "/metrics");
    let text = regulator
        .get(&metrics)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("veil_gateway_alerts ") && !l.ends_with(" 0")),
        "{text}"
    );

    // 4. One group, two data keys: the key commitment does not match what the recipients
    // unwrap. Each recipient records a key-commitment alert.
    let two_keys = resign(&honest_repayment(30_000), &secrets_a, |u| {
        for group in &mut u.groups {
            group.key_commitment[0] ^= 1;
        }
    });
    submit(&node_a, &two_keys)
        .await
        .expect("nodes cannot see data keys");
    let two_keys_id = two_keys.header.id.to_hex();
    let partner_alerts = harness.url("bank-b", "/v1/alerts");
    let alerts = eventually(
        Duration::from_secs(30),
        "bank-b's gateway to record an alert",
        || async {
            let alerts = alerts_about(&clerk_b, &partner_alerts, &two_keys_id).await;
            (!alerts.is_empty()).then_some(alerts)
        },
    )
    .await;
    assert!(
        alerts.iter().all(|a| a["finding"] == "key-commitment"),
        "{alerts:?}"
    );

    // 3. Lengths: every amount's ciphertext has one length, and both borrower names too,
    // whatever their digits and characters.
    let page = node_a
        .entries_by_type("loan.originated", None, 10)
        .await
        .unwrap();
    let loans: Vec<Entry> = page
        .iter()
        .map(|s| Entry::decode(&s.bytes).unwrap())
        .collect();
    let length = |entry: &Entry, path: &str| {
        entry
            .groups
            .iter()
            .flat_map(|g| &g.fields)
            .find(|f| f.path == path)
            .map(|f| f.ciphertext.len())
            .unwrap()
    };
    assert_eq!(loans.len(), 2);
    let amount_lengths: std::collections::BTreeSet<usize> = loans
        .iter()
        .flat_map(|e| e.commitments.iter().map(|(label, _)| length(e, label)))
        .collect();
    assert_eq!(amount_lengths.len(), 1, "{amount_lengths:?}");
    assert_eq!(
        length(&loans[0], "borrower.name"),
        length(&loans[1], "borrower.name")
    );

    // 6. Squatting: bank-b originates a tiny loan under bank-a's next business id (with bank-a
    // as a participant); bank-a's own loan L-3 and its repayment still go through, and each
    // gateway names the loan its caller means.
    let (status, body) = post_json(
        &clerk_b,
        &entries_b,
        &loan(
            "L-3",
            "Squatter",
            &[("bank-b", 9999), ("bank-a", 1)],
            10_000,
        ),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = post_json(
        &clerk_a,
        &entries_a,
        &loan(
            "L-3",
            "Li Na",
            &[("bank-a", 6000), ("bank-b", 4000)],
            300_000,
        ),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let height = body["height"].as_u64().unwrap();
    let (status, body) = post_json(&clerk_a, &entries_a, &repayment("L-3", 30_000), None).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, own) = get_json(
        &clerk_a,
        &harness.url("bank-a", &format!("/v1/loans/L-3?min_height={height}")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{own}");
    assert_eq!(own["originator"], "bank-a", "{own}");
    let (status, theirs) = get_json(
        &clerk_a,
        &harness.url("bank-a", "/v1/loans/L-3?originator=bank-b"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{theirs}");
    assert_eq!(theirs["originator"], "bank-b", "{theirs}");
    let regulator_loan = harness.url("regulator", &format!("/v1/loans/L-3?min_height={height}"));
    let (status, problem) = get_json(&regulator, &regulator_loan).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("?originator="),
        "{problem}"
    );

    // 6, the blocklist. bank-c blocklists the second borrower; bank-a's modified gateway
    // removes it anyway (its builder told the blocklisting came from nobody): the nodes refuse.
    let clerk_c = member_client(dir, "bank-c", "clerk");
    let (status, body) = post_json(
        &clerk_c,
        &harness.url("bank-c", "/v1/entries"),
        &json!({"type": "registry.updated", "fields": {
            "kyc": {}, "blocklist": {"add": [BORROWERS[1]]}}}),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let blocklisting = body["id"].as_str().unwrap().to_owned();
    // bank-a's node may be a block behind bank-c's.
    let chain: Vec<Entry> = eventually(
        Duration::from_secs(20),
        "bank-a's node to have bank-c's blocklisting",
        || async {
            let chain: Vec<Entry> = node_a
                .entries_by_type("registry.updated", None, 100)
                .await
                .unwrap()
                .iter()
                .map(|s| Entry::decode(&s.bytes).unwrap())
                .collect();
            (chain.last().map(|e| e.header.id.to_hex()) == Some(blocklisting.clone()))
                .then_some(chain)
        },
    )
    .await;
    // The liar's gateway pretends it put every borrower on the lists itself (its stored
    // registry names bank-a as every adder), so its builder lets the removal through.
    let mut current: std::collections::BTreeMap<Vec<u8>, Vec<u8>> = Default::default();
    for entry in &chain {
        let update = veil_node::registry::update_of(entry).unwrap();
        let mut overlay = veil_circuits::screening::stored::Overlay::new(&current);
        overlay.apply(&update.changes, b"bank-a").unwrap();
        let writes = overlay.into_writes();
        veil_circuits::screening::stored::write_into(&mut current, writes);
    }
    let update: veil_gateway::entry::request::RegistryUpdated = serde_json::from_value(json!({
        "kyc": {}, "blocklist": {"remove": [BORROWERS[1]]}
    }))
    .unwrap();
    let (removal, _) = builder
        .registry(
            &update,
            chain.last().map(|e| e.header.id),
            &current,
            "2026-11",
            0,
        )
        .unwrap();
    refused_with(
        submit(&node_a, &removal).await,
        RejectionCode::Permission,
        "another member's blocklisting removed",
    );

    harness.embedded.stop().await.unwrap();
}
