//! Real-time clearing end to end, on a running consortium: the originator's gateway proves
//! each repayment's split when it writes it, the nodes verify every proof before ordering the
//! repayment, closing the period totals the allocations with no circuit, a partner reads it and
//! checks the Poseidon commitments against the Pedersen openings it holds, and
//! `veil settlement export` writes files that `snarkjs groth16 verify` accepts — and rejects
//! with any public input changed. Without snarkjs (`make deps` installs it) the test fails,
//! unless `VEIL_SKIP_SNARKJS=1` asks to skip the snarkjs part.

use std::path::Path;
use std::process::Command;

use reqwest::StatusCode;
use serde_json::{Value, json};
use veil_tests::{
    Harness, get_json, get_until_found, member_client, post_json, register_borrowers, veil_bin,
};

fn loan(loan_id: &str, shares: &[(&str, u64)], principal: u64) -> Value {
    let funding = veil_gateway::scenario::funding(principal, shares);
    json!({"type": "loan.originated", "fields": {
        "loan_id": loan_id,
        "borrower": {"name": "Li Na", "national_id": "110101199205051230", "phone": "+86 139 0000 1111"},
        "principal": principal, "annual_rate_bps": 1500, "term_days": 300,
        "participants": shares.iter().map(|(b, s)| json!({"bank": b, "share_bps": s})).collect::<Vec<_>>(),
        "funding": funding,
    }})
}

fn repayment(loan_id: &str, period: &str, amount: u64) -> Value {
    json!({"type": "loan.repaid", "fields": {
        "loan_id": loan_id, "period": period, "amount": amount,
        "principal_part": amount - amount / 10, "interest_part": amount / 10,
    }})
}

/// A decimal string plus one.
fn plus_one(decimal: &str) -> String {
    let mut digits: Vec<u8> = decimal.bytes().map(|b| b - b'0').collect();
    let mut i = digits.len();
    loop {
        if i == 0 {
            digits.insert(0, 1);
            break;
        }
        i -= 1;
        if digits[i] == 9 {
            digits[i] = 0;
        } else {
            digits[i] += 1;
            break;
        }
    }
    digits.iter().map(|d| char::from(b'0' + d)).collect()
}

fn snarkjs_accepts(key: &Path, dir: &Path) -> bool {
    veil_circuits::snarkjs::run_snarkjs_verify_with(key, dir).expect("run snarkjs")
}

/// Submits `entry` below the gateway and expects the nodes to refuse it for its circuit data.
async fn refused_for_circuit(
    node: &veil_node::link::NodeLink,
    entry: &veil_node::ledger::Entry,
    what: &str,
) {
    use veil_node::link::LinkError;
    use veil_node::validation::RejectionCode;
    match node
        .submit(entry.encode(), std::time::Duration::from_secs(20))
        .await
    {
        Err(LinkError::Rejected(reason)) => {
            assert_eq!(reason, RejectionCode::Circuit, "{what}: {reason}")
        }
        other => panic!("{what} was not refused: {other:?}"),
    }
}

/// Below the gateway, as a lying originator: a repayment whose settlement proof commits
/// another bank's allocation in bank-b's slot, one carrying another repayment's (valid) proof,
/// and a settlement carrying circuit data are refused by the nodes on the circuit alone; the
/// honest ones are accepted.
async fn forged_proofs_are_refused(dir: &Path) {
    use veil_gateway::entry::builder::{Builder, LoanTerms, RepaymentAllocations};
    use veil_gateway::entry::reader::Opened;
    use veil_node::ledger::{Entry, UnsignedEntry};

    let genesis = std::sync::Arc::new(
        veil_node::genesis::Genesis::load(&dir.join("consortium.toml")).unwrap(),
    );
    let keys = dir.join("bank-a/keys");
    let secrets = veil_gateway::entry::keys::MemberSecrets::load(
        &keys.join("signing.key"),
        &keys.join("encryption.key"),
    )
    .unwrap();
    let node = veil_tests::ConsortiumDir::node_link_in(dir, "bank-a");
    let opener = veil_gateway::entry::keys::Opener::Member(&secrets.encryption);
    let open = |stored: veil_node::store::StoredEntry| {
        Opened::open(
            Entry::decode(&stored.bytes).unwrap(),
            stored.height,
            &genesis,
            &opener,
        )
    };
    // The unsettled 2026-12 repayment (of S-2, three participants), opened as its originator.
    let page = node
        .entries_by_type("loan.repaid", None, 100)
        .await
        .unwrap();
    let stored = page
        .into_iter()
        .find(|e| Entry::decode(&e.bytes).unwrap().header.period == "2026-12")
        .unwrap();
    let earlier = open(stored);
    let loan_entry = earlier.entry.header.references[0];
    let loan = open(node.entry(&loan_entry).await.unwrap().unwrap());
    let shares = veil_gateway::entry::reader::shares(&loan).unwrap();
    let policies = veil_policies::Policies::default_set().unwrap();
    let proving_keys =
        veil_gateway::entry::circuits::ProvingKeys::beside(&dir.join("consortium.toml"));
    let builder = Builder {
        genesis: &genesis,
        policies: &policies,
        secrets: &secrets,
        member: "bank-a",
        proving_keys: &proving_keys,
        view_keys: &veil_gateway::entry::view_keys::PublishedViewKeys::default(),
        borrower_refs: &Default::default(),
        nonce: None,
    };
    let terms = LoanTerms {
        entry_id: loan_entry,
        loan_id: "S-2".into(),
        shares: shares.clone(),
    };
    let request: veil_gateway::entry::request::LoanRepaid = serde_json::from_value(json!({
        "loan_id": "S-2", "period": "2026-12", "amount": 4_321,
        "principal_part": 4_000, "interest_part": 321,
    }))
    .unwrap();
    let (honest, _) = builder.repayment(&request, &terms, 0).unwrap();
    let resigned = |circuit: Vec<u8>| {
        UnsignedEntry {
            header: honest.header.clone(),
            groups: honest.groups.clone(),
            commitments: honest.commitments.clone(),
            proofs: veil_node::ledger::EntryProofs {
                circuit,
                ..honest.proofs.clone()
            },
        }
        .sign(&secrets.signing)
    };
    let mut swapped =
        veil_circuits::settlement::SettlementProof::from_bytes(&honest.proofs.circuit).unwrap();
    swapped.due.swap(0, 1);
    refused_for_circuit(&node, &resigned(swapped.to_bytes()), "swapped allocations").await;
    let mut moved =
        veil_circuits::settlement::SettlementProof::from_bytes(&honest.proofs.circuit).unwrap();
    moved.root += veil_circuits::Fr::from(1u64);
    refused_for_circuit(
        &node,
        &resigned(moved.to_bytes()),
        "another repayment commitment",
    )
    .await;
    refused_for_circuit(
        &node,
        &resigned(earlier.entry.proofs.circuit.clone()),
        "another repayment's proof",
    )
    .await;
    node.submit(honest.encode(), std::time::Duration::from_secs(30))
        .await
        .unwrap();

    // The settlement of 2026-12 (the earlier repayment only: the new one is not final yet on
    // every path, and one is enough), with circuit data it must not carry.
    let allocations = earlier
        .participants()
        .into_iter()
        .map(|bank| {
            let opening = earlier.opening(&format!("allocations.{bank}")).unwrap();
            (bank, opening)
        })
        .collect();
    let repayments = [RepaymentAllocations {
        entry_id: earlier.entry.header.id,
        amount: earlier.opening("amount").unwrap(),
        shares,
        allocations,
    }];
    let (settlement, _) = builder.settlement("2026-12", &repayments, 0).unwrap();
    assert!(settlement.proofs.circuit.is_empty());
    let padded = UnsignedEntry {
        header: settlement.header.clone(),
        groups: settlement.groups.clone(),
        commitments: settlement.commitments.clone(),
        proofs: veil_node::ledger::EntryProofs {
            circuit: earlier.entry.proofs.circuit.clone(),
            ..settlement.proofs.clone()
        },
    }
    .sign(&secrets.signing);
    refused_for_circuit(&node, &padded, "a settlement with circuit data").await;
    node.submit(settlement.encode(), std::time::Duration::from_secs(30))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partners_verify_the_settlement_proof_with_veil_and_with_snarkjs() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let harness = Harness::start(dir).await;
    let clerk = member_client(dir, "bank-a", "clerk");
    let entries = harness.url("bank-a", "/v1/entries");
    register_borrowers(&clerk, &entries, &["110101199205051230"]).await;
    let loans = [
        ("S-1", vec![("bank-a", 3000), ("bank-b", 7000)]),
        (
            "S-2",
            vec![("bank-a", 2000), ("bank-b", 4500), ("bank-c", 3500)],
        ),
        ("S-3", vec![("bank-a", 3333), ("bank-c", 6667)]),
    ];
    for (id, shares) in &loans {
        let (status, body) = post_json(&clerk, &entries, &loan(id, shares, 300_000), None).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    // Amounts chosen so that most allocations round down and leave a remainder.
    let repaid = [
        ("S-1", 10_001),
        ("S-1", 333),
        ("S-2", 99_999),
        ("S-3", 12_345),
        ("S-3", 7),
    ];
    for (loan_id, amount) in repaid {
        let (status, body) = post_json(
            &clerk,
            &entries,
            &repayment(loan_id, "2026-11", amount),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    // Another period's repayment is not part of this settlement.
    let (status, body) =
        post_json(&clerk, &entries, &repayment("S-2", "2026-12", 5_000), None).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let settle = json!({"type": "settlement.closed", "fields": {"period": "2026-11"}});
    let (status, settlement) = post_json(&clerk, &entries, &settle, None).await;
    assert_eq!(status, StatusCode::CREATED, "{settlement}");
    let id = settlement["id"].as_str().unwrap().to_owned();

    // bank-b's amount due, by the gateway's rule: floor(amount × share / 10000) per repayment.
    let expected_b: u64 = [(10_001u64, 7000u64), (333, 7000), (99_999, 4500)]
        .iter()
        .map(|(a, s)| a * s / 10_000)
        .sum();
    let partner = member_client(dir, "bank-b", "auditor");
    // bank-a's answer means its node finalized; bank-b's applies the block moments later.
    let (status, view) = get_until_found(
        &partner,
        &harness.url("bank-b", &format!("/v1/entries/{id}")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["fields"]["due"]["bank-b"], expected_b, "{view}");
    assert_eq!(view["proofs"]["verified"], true, "{view}");
    // Each of its repayments' settlement proofs commits the amount, shares and bank-b's
    // allocation it opens (the Pedersen–Poseidon link).
    let (_, page) = get_json(
        &partner,
        &harness.url("bank-b", "/v1/entries?type=loan.repaid&limit=100"),
    )
    .await;
    let readable: Vec<&Value> = page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["fields"]["amount"].is_u64())
        .collect();
    // S-1 twice and S-2 twice (one in 2026-12); S-3's are not bank-b's to read.
    assert_eq!(readable.len(), 4, "{page}");
    for entry in readable {
        assert_eq!(entry["proofs"]["circuit_link_verified"], true, "{entry}");
        assert_eq!(entry["proofs"]["verified"], true, "{entry}");
    }

    // The settlement's proof as any member reads it: the repayments it totals, each with its
    // own proof, public data only, verified by the gateway.
    let outsider = member_client(dir, "bank-d", "auditor");
    // bank-d's node applies the settlement's block moments after bank-a's.
    let (status, listed) = get_until_found(
        &outsider,
        &harness.url("bank-d", &format!("/v1/entries/{id}/proof")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    let repayments = listed["repayments"].as_array().unwrap();
    assert_eq!(repayments.len(), 5, "{listed}");
    let first = repayments[0]["entry"].as_str().unwrap().to_owned();
    let (status, proof) = get_json(
        &outsider,
        &harness.url("bank-d", &format!("/v1/entries/{first}/proof")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{proof}");
    assert_eq!(proof["verified"], true);
    assert_eq!(proof["capacity"], 1);
    let public = proof["snarkjs"]["public"].as_array().unwrap();
    let slots = veil_circuits::settlement::PARTICIPANT_SLOTS;
    assert_eq!(public.len(), 5 + slots, "{proof}");
    assert_eq!(public[1], "202611");
    assert_eq!(public[3], "1");
    let text = proof.to_string();
    assert!(!text.contains("Li Na") && !text.contains("110101199205051230"));
    // A loan has no settlement proof.
    let (_, first_loan) = get_json(
        &outsider,
        &harness.url("bank-d", "/v1/entries?type=loan.originated&limit=1"),
    )
    .await;
    let loan_id = first_loan["entries"][0]["id"].as_str().unwrap();
    let (status, _) = get_json(
        &outsider,
        &harness.url("bank-d", &format!("/v1/entries/{loan_id}/proof")),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // `veil settlement export` through bank-c's gateway, verified against the local genesis.
    let out = dir.join("export");
    let export = |period: &str| {
        Command::new(veil_bin())
            .args(["settlement", "export", "--dir"])
            .arg(dir)
            .args([
                "--member", "bank-c", "--period", period, "--format", "snarkjs", "--out",
            ])
            .arg(&out)
            .output()
            .unwrap()
    };
    // bank-c's node may apply the settlement's block after the others.
    let (status, _) = get_until_found(
        &member_client(dir, "bank-c", "auditor"),
        &harness.url("bank-c", &format!("/v1/entries/{id}")),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let done = export("2026-11");
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(String::from_utf8_lossy(&done.stdout).contains("5 repayment proofs verified"));
    let exported: Value =
        serde_json::from_slice(&std::fs::read(out.join(&first).join("public.json")).unwrap())
            .unwrap();
    assert_eq!(&exported, &proof["snarkjs"]["public"]);
    let refused = export("2026-10");
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("no settlement of period 2026-10"));

    forged_proofs_are_refused(dir).await;

    harness.embedded.stop().await.unwrap();

    if !veil_circuits::snarkjs::snarkjs_for_tests().unwrap_or_else(|e| panic!("{e}")) {
        return;
    }
    let key = out.join("verification_key.json");
    for repayment in repayments {
        let folder = out.join(repayment["entry"].as_str().unwrap());
        assert!(
            snarkjs_accepts(&key, &folder),
            "snarkjs refused an exported proof"
        );
    }
    let folder = out.join(&first);
    let inputs: Vec<String> = serde_json::from_value(exported).unwrap();
    for i in 0..inputs.len() {
        let mut changed = inputs.clone();
        changed[i] = plus_one(&changed[i]);
        std::fs::write(
            folder.join("public.json"),
            serde_json::to_vec(&changed).unwrap(),
        )
        .unwrap();
        assert!(
            !snarkjs_accepts(&key, &folder),
            "snarkjs accepted public input {i} changed"
        );
    }
}
