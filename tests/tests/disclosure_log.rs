//! Members are adversaries too (issue 18, item 5): a gateway's disclosure log is only as
//! honest as its operator — unless its head is anchored on the ledger. On a running
//! consortium (real TLS, consensus over sockets, RocksDB), bank-b's gateway anchors its log
//! (`disclosures.anchored`, signed by bank-b); then bank-b's operator, with the gateway
//! stopped, rewrites a record in RocksDB and recomputes the whole chain, or drops the last
//! records. Restarted, the log's chain still verifies, but both its own check
//! (`GET /v1/disclosures`: `anchors_verified`) and the regulator's independent one
//! (`veil audit disclosures`, anchors read through the regulator's own gateway) fail, naming
//! the anchors the log no longer matches; re-anchoring the forged head does not launder it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use veil_gateway::client::{DisclosureAudit, audit_disclosures};
use veil_gateway::consortium::config::GatewayConfig;
use veil_gateway::consortium::layout;
use veil_gateway::service::store::Disclosure;
use veil_tests::{
    BORROWER, ConsortiumDir, Harness, eventually, get_json, get_until_found, loan_request,
    member_client, post_json, register_borrowers, regulator_client,
};

/// bank-b's gateway store.
fn store_dir(dir: &Path) -> PathBuf {
    GatewayConfig::load(&layout::gateway_config(dir, "bank-b"))
        .unwrap()
        .data_dir
}

/// What bank-b's operator does with the gateway stopped: opens its RocksDB and reads every
/// disclosure record.
fn read_log(dir: &Path) -> Vec<Disclosure> {
    let path = store_dir(dir);
    let families = rocksdb::DB::list_cf(&rocksdb::Options::default(), &path).unwrap();
    let db = rocksdb::DB::open_cf(&rocksdb::Options::default(), &path, families).unwrap();
    let cf = db.cf_handle("disclosures").unwrap();
    db.iterator_cf(cf, rocksdb::IteratorMode::Start)
        .map(|item| serde_json::from_slice(&item.unwrap().1).unwrap())
        .collect()
}

/// Replaces bank-b's whole disclosure log with `records` (synced), as its operator could.
fn write_log(dir: &Path, records: &[Disclosure]) {
    let path = store_dir(dir);
    let families = rocksdb::DB::list_cf(&rocksdb::Options::default(), &path).unwrap();
    let db = rocksdb::DB::open_cf(&rocksdb::Options::default(), &path, families).unwrap();
    let cf = db.cf_handle("disclosures").unwrap();
    let keys: Vec<Box<[u8]>> = db
        .iterator_cf(cf, rocksdb::IteratorMode::Start)
        .map(|item| item.unwrap().0)
        .collect();
    let mut batch = rocksdb::WriteBatch::default();
    for key in keys {
        batch.delete_cf(cf, key);
    }
    for record in records {
        batch.put_cf(
            cf,
            record.sequence.to_be_bytes(),
            serde_json::to_vec(record).unwrap(),
        );
    }
    let mut options = rocksdb::WriteOptions::default();
    options.set_sync(true);
    db.write_opt(batch, &options).unwrap();
}

/// `records` with every hash recomputed from the first on: a chain that verifies.
fn rechain(mut records: Vec<Disclosure>) -> Vec<Disclosure> {
    let mut previous = veil_gateway::service::store::genesis_disclosure_hash();
    for record in &mut records {
        record.previous = previous;
        record.hash = record.compute_hash();
        previous = record.hash.clone();
    }
    records
}

/// bank-b's log as its own gateway reports it.
async fn own_check(harness: &Harness, regulator: &reqwest::Client) -> Value {
    let (status, log) = get_json(regulator, &harness.url("bank-b", "/v1/disclosures")).await;
    assert_eq!(status, StatusCode::OK, "{log}");
    log
}

/// The regulator's independent check of bank-b's log.
async fn regulator_check(harness: &Harness, regulator: &reqwest::Client) -> DisclosureAudit {
    audit_disclosures(
        regulator,
        &harness.url("bank-b", ""),
        &harness.url("regulator", ""),
        "bank-b",
    )
    .await
    .unwrap()
}

/// `veil audit disclosures --member member`: whether it exited 0, and what it printed.
fn cli_audit(dir: &Path, member: &str) -> (bool, String) {
    let output = std::process::Command::new(veil_tests::veil_bin())
        .args(["audit", "disclosures", "--dir"])
        .arg(dir)
        .args(["--member", member])
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), printed)
}

/// bank-b's auditor reads the loan `reads` times (each read is a disclosure), then waits for
/// the log's head to be anchored and the regulator's gateway to have read the anchor.
async fn read_and_anchor(harness: &Harness, dir: &Path, loan: &str, reads: usize) -> u64 {
    let auditor = member_client(dir, "bank-b", "auditor");
    let regulator = regulator_client(dir);
    for _ in 0..reads {
        let (status, body) = get_until_found(
            &auditor,
            &harness.url("bank-b", &format!("/v1/entries/{loan}")),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let head = own_check(harness, &regulator).await["records"]
        .as_array()
        .unwrap()
        .len() as u64;
    let anchors = harness.url("regulator", "/v1/disclosures/anchors?member=bank-b");
    eventually(
        Duration::from_secs(60),
        "the log's head anchored",
        || async {
            let (status, page) = get_json(&regulator, &anchors).await;
            assert_eq!(status, StatusCode::OK, "{page}");
            page["anchors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["sequence"] == head)
                .then_some(())
        },
    )
    .await;
    head
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_or_rewritten_disclosure_log_fails_the_check_against_its_anchors() {
    let consortium = ConsortiumDir::init(3);
    let dir = consortium.path();
    // bank-b anchors as soon as its log moved and a second passed (ten minutes by default).
    let config = layout::gateway_config(dir, "bank-b");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, format!("disclosure_anchor_ms = 1000\n{text}")).unwrap();

    let harness = Harness::start(dir).await;
    let clerk = member_client(dir, "bank-a", "clerk");
    let entries = harness.url("bank-a", "/v1/entries");
    register_borrowers(&clerk, &entries, &[BORROWER]).await;
    let (status, written) = post_json(&clerk, &entries, &loan_request("L-LOG"), None).await;
    assert_eq!(status, StatusCode::CREATED, "{written}");
    let loan = written["id"].as_str().unwrap().to_owned();

    // Two anchors: after three reads, then after two more.
    read_and_anchor(&harness, dir, &loan, 3).await;
    let head = read_and_anchor(&harness, dir, &loan, 2).await;
    assert_eq!(head, 5);
    let regulator = regulator_client(dir);
    let log = own_check(&harness, &regulator).await;
    assert_eq!(log["chain_verified"], true, "{log}");
    assert_eq!(log["anchors_verified"], true, "{log}");
    assert!(log["anchors"]["count"].as_u64().unwrap() >= 2, "{log}");
    let audit = regulator_check(&harness, &regulator).await;
    assert!(audit.passed(), "{audit:?}");
    assert_eq!(audit.records, 5);
    assert!(audit.anchors >= 2, "{audit:?}");
    assert_eq!(audit.unanchored, 0, "{audit:?}");
    assert!(!audit.overdue, "{audit:?}");
    let (passed, printed) = cli_audit(dir, "bank-b");
    assert!(passed, "{printed}");
    assert!(printed.contains(r#""anchors_verified": true"#), "{printed}");
    // The regulator's gateway reads bank-a's node: bank-a's anchors must come from another.
    let (passed, printed) = cli_audit(dir, "bank-a");
    assert!(
        !passed && printed.contains("bank-a's own node"),
        "{printed}"
    );
    // A member cannot read the anchors' index at the regulator's gateway.
    let (status, _) = get_json(
        &clerk,
        &harness.url("bank-a", "/v1/disclosures/anchors?member=bank-b"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    harness.embedded.stop().await.unwrap();

    // A restart alone changes nothing.
    let original = read_log(dir);
    assert_eq!(original.len(), 5);
    let harness = Harness::start(dir).await;
    assert!(regulator_check(&harness, &regulator).await.passed());
    harness.embedded.stop().await.unwrap();

    // The operator rewrites record 2 (hides which fields were read) and recomputes the chain.
    let mut rewritten = original.clone();
    rewritten[1].fields.clear();
    write_log(dir, &rechain(rewritten));
    let harness = Harness::start(dir).await;
    let log = own_check(&harness, &regulator).await;
    assert_eq!(
        log["chain_verified"], true,
        "the forged chain is a chain: {log}"
    );
    assert_eq!(log["anchors_verified"], false, "{log}");
    let mismatched: Vec<u64> = log["anchors"]["mismatches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["sequence"].as_u64().unwrap())
        .collect();
    assert!(mismatched.contains(&5), "{log}");
    let audit = regulator_check(&harness, &regulator).await;
    assert!(audit.chain_verified, "{audit:?}");
    assert!(!audit.anchors_verified, "{audit:?}");
    assert!(
        audit
            .mismatches
            .iter()
            .any(|m| m.sequence == 5 && m.found.is_some())
    );
    let (passed, printed) = cli_audit(dir, "bank-b");
    assert!(!passed, "{printed}");
    assert!(printed.contains("fails the check"), "{printed}");
    // The gateway anchors its forged head in turn; the earlier anchors still convict it.
    let anchors = harness.url("regulator", "/v1/disclosures/anchors?member=bank-b");
    let forged_head = rechain({
        let mut r = original.clone();
        r[1].fields.clear();
        r
    })[4]
        .hash
        .clone();
    eventually(
        Duration::from_secs(60),
        "the forged head anchored",
        || async {
            let (_, page) = get_json(&regulator, &anchors).await;
            page["anchors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["head"] == forged_head.as_str())
                .then_some(())
        },
    )
    .await;
    assert!(!regulator_check(&harness, &regulator).await.anchors_verified);
    harness.embedded.stop().await.unwrap();

    // Or drops the last two records (the chain of what is left verifies).
    write_log(dir, &original[..3]);
    let harness = Harness::start(dir).await;
    let log = own_check(&harness, &regulator).await;
    assert_eq!(log["chain_verified"], true, "{log}");
    assert_eq!(log["anchors_verified"], false, "{log}");
    let audit = regulator_check(&harness, &regulator).await;
    assert!(!audit.passed(), "{audit:?}");
    assert_eq!(audit.records, 3);
    assert!(
        audit
            .mismatches
            .iter()
            .any(|m| m.sequence == 5 && m.found.is_none()),
        "the dropped anchored record is missing: {audit:?}"
    );
    harness.embedded.stop().await.unwrap();
}
