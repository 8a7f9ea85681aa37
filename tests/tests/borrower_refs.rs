//! Borrower references no member can reverse (issue 19): on a running consortium of four banks
//! (real TLS, consensus over sockets, RocksDB), references are the members' threshold OPRF of
//! the national id (RFC 9497 VOPRF, key shared 3-of-4 by the DKG `veil init` runs):
//!
//! - the same national id registered through bank-a and originated through bank-c gives the
//!   same reference (bank-c's loan is screened against bank-a's registration);
//! - every file of two members (one fewer than the threshold) does not give the reference;
//! - each member answers another member's gateway only, at most `oprf.daily_limit` times a
//!   day: the next gets 429 and nothing is evaluated; who asked how often is shown, and the
//!   answering member reports the count on the ledger, where the regulator reads it;
//! - an inspector holding only an amounts view key cannot link a loan to its reference: its
//!   screening commitment is not blinded by anything the amounts open, while what a reader of
//!   the reference reads does open it;
//! - one member down changes nothing; two down (fewer than three can answer): 503 and nothing
//!   is written.

use std::path::Path;

use reqwest::StatusCode;
use serde_json::{Value, json};
use veil_crypto::oprf::{self, OprfKeyShare, OprfRequest};
use veil_gateway::consortium::config::GatewayConfig;
use veil_gateway::consortium::init::{InitOptions, OPRF_SHARE_FILE};
use veil_gateway::consortium::layout;
use veil_gateway::embedded::Embedded;
use veil_node::genesis::Genesis;
use veil_tests::{BORROWER, get_until_found, member_client, post_json, regulator_client};

const DAILY_LIMIT: u64 = 5;

/// The loan `loan_id` of `originator`, funded with `partner`, of the borrower `national_id`.
fn loan(loan_id: &str, originator: &str, partner: &str, national_id: &str) -> Value {
    json!({"type": "loan.originated", "fields": {
        "loan_id": loan_id,
        "borrower": {"name": "Zhang Wei", "national_id": national_id, "phone": "+86 138 0013 8000"},
        "principal": 500000, "annual_rate_bps": 1800, "term_days": 360,
        "participants": [{"bank": originator, "share_bps": 3000}, {"bank": partner, "share_bps": 7000}],
        "funding": {originator: 150000, partner: 350000}
    }})
}

/// A client acting as `member`'s gateway (the identity gateways ask each other with).
fn gateway_client(dir: &Path, member: &str) -> reqwest::Client {
    let config = GatewayConfig::load(&layout::gateway_config(dir, member)).unwrap();
    veil_gateway::client::https(dir, &config.node.cert, &config.node.key).unwrap()
}

fn url(embedded: &Embedded, gateway: &str, path: &str) -> String {
    let addr = embedded.gateway(gateway).unwrap().addr;
    format!("https://127.0.0.1:{}{path}", addr.port())
}

/// The `borrower_ref` of loan entry `id` as the regulator reads it.
async fn reference(embedded: &Embedded, dir: &Path, id: &str) -> String {
    let regulator = regulator_client(dir);
    let (status, view) = get_until_found(
        &regulator,
        &url(embedded, "regulator", &format!("/v1/entries/{id}")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    view["fields"]["borrower_ref"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn references_are_a_threshold_oprf_no_minority_of_members_can_compute() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let options = InitOptions {
        base_port: veil_tests::free_base_port(4, 1).base(),
        force: true,
        circuits: veil_gateway::consortium::CircuitSource::Dev(
            veil_gateway::consortium::DEFAULT_CAPACITIES.to_vec(),
        ),
        oprf_daily_limit: Some(DAILY_LIMIT),
        ..Default::default()
    };
    veil_gateway::consortium::init(dir, &options).unwrap();
    // bank-d reports its evaluations on the ledger a second after they moved (ten minutes by
    // default).
    let config = layout::gateway_config(dir, "bank-d");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, format!("oprf_report_ms = 1000\n{text}")).unwrap();
    let mut embedded = Embedded::start(dir, &options).await.unwrap();
    let genesis = Genesis::load(&dir.join("consortium.toml")).unwrap();
    let key = genesis.oprf_key().expect("veil init shares an OPRF key");
    assert_eq!((key.threshold, key.shares.len()), (3, 4));

    // Registered through bank-a, originated through bank-c: one reference.
    let clerk_a = member_client(dir, "bank-a", "clerk");
    let clerk_c = member_client(dir, "bank-c", "clerk");
    let (status, body) = post_json(
        &clerk_a,
        &url(&embedded, "bank-a", "/v1/entries"),
        &veil_gateway::scenario::kyc_request(&[BORROWER]),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // bank-c's gateway writes once its node has the registration (bank-c's node may be a block
    // behind bank-a's).
    let height = body["height"].as_u64().unwrap();
    let (status, by_c) = post_json(
        &clerk_c,
        &url(
            &embedded,
            "bank-c",
            &format!("/v1/entries?min_height={height}"),
        ),
        &loan("L-C1", "bank-c", "bank-d", BORROWER),
        None,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "screened against bank-a's registration: {by_c}"
    );
    let (status, by_a) = post_json(
        &clerk_a,
        &url(&embedded, "bank-a", "/v1/entries"),
        &loan("L-A1", "bank-a", "bank-b", BORROWER),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{by_a}");
    let reference_c = reference(&embedded, dir, by_c["id"].as_str().unwrap()).await;
    let reference_a = reference(&embedded, dir, by_a["id"].as_str().unwrap()).await;
    assert_eq!(reference_a, reference_c);
    inspector_cannot_link(&embedded, dir, by_a["id"].as_str().unwrap(), &reference_a).await;

    // Every file of bank-b and bank-c (two members, one fewer than the threshold): their key
    // shares interpolate to another key (and no bank holds a shared borrower-reference key).
    let shares: Vec<OprfKeyShare> = ["bank-b", "bank-c"]
        .iter()
        .map(|bank| {
            let text =
                std::fs::read_to_string(dir.join(bank).join("keys").join(OPRF_SHARE_FILE)).unwrap();
            OprfKeyShare::from_bytes(&veil_crypto::encoding::from_hex(text.trim(), 34).unwrap())
                .unwrap()
        })
        .collect();
    let request = OprfRequest::blind(BORROWER.as_bytes()).unwrap();
    let answers: Vec<_> = shares
        .iter()
        .map(|share| oprf::evaluate_share(share, &request.blinded_element()).unwrap())
        .collect();
    assert!(
        request.finalize(&key, &answers).is_err(),
        "two answers of three"
    );
    let two = oprf::OprfPublicKey {
        threshold: 2,
        group_key: key.group_key,
        shares: shares.iter().map(|s| (s.index(), s.public())).collect(),
    };
    let guess = oprf::borrower_ref(&request.finalize(&two, &answers).unwrap());
    assert_ne!(veil_crypto::encoding::to_hex(&guess), reference_a);
    for bank in ["bank-b", "bank-c"] {
        assert!(!dir.join(bank).join("keys/borrower-ref.key").exists());
    }

    // Only another member's gateway is answered; a clerk, or a gateway asking itself, is not.
    let blinded = veil_crypto::encoding::to_hex(&request.blinded_element());
    let evaluate = url(&embedded, "bank-d", "/v1/oprf/evaluate");
    let body = json!({"blinded_element": blinded});
    for (client, status) in [
        (member_client(dir, "bank-a", "clerk"), StatusCode::FORBIDDEN),
        (gateway_client(dir, "bank-d"), StatusCode::FORBIDDEN),
    ] {
        let (got, problem) = post_json(&client, &evaluate, &body, None).await;
        assert_eq!(got, status, "{problem}");
        assert_eq!(
            problem["type"], "https://veil.dev/problems/forbidden",
            "{problem}"
        );
    }
    let bank_a = gateway_client(dir, "bank-a");
    for bad in [
        json!({"blinded_element": "00"}),
        json!({"blinded_element": "0".repeat(64)}),
        json!({"blinded_element": blinded, "extra": 1}),
    ] {
        let (status, problem) = post_json(&bank_a, &evaluate, &bad, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {problem}");
    }
    // bank-a asks bank-d up to its daily limit; the next is 429 and evaluates nothing.
    let counts = url(&embedded, "bank-d", "/v1/oprf/evaluations");
    let auditor_d = member_client(dir, "bank-d", "auditor");
    let (_, before) = veil_tests::get_json(&auditor_d, &counts).await;
    let asked = before["evaluations"]["bank-a"].as_u64().unwrap();
    for _ in asked..DAILY_LIMIT {
        let (status, answer) = post_json(&bank_a, &evaluate, &body, None).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(answer["index"], 4);
    }
    let (status, problem) = post_json(&bank_a, &evaluate, &body, None).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("daily limit"),
        "{problem}"
    );
    let (_, after) = veil_tests::get_json(&auditor_d, &counts).await;
    assert_eq!(after["evaluations"]["bank-a"], DAILY_LIMIT, "{after}");
    // The ledger shows it: the regulator's own gateway reads bank-d's signed report of today.
    let regulator = regulator_client(dir);
    let on_ledger = url(
        &embedded,
        "regulator",
        &format!("/v1/oprf/evaluations?day={}", after["day"]),
    );
    let report = veil_tests::eventually(
        std::time::Duration::from_secs(60),
        "bank-d's report of today's evaluations on the ledger",
        || async {
            let (status, page) = veil_tests::get_json(&regulator, &on_ledger).await;
            assert_eq!(status, StatusCode::OK, "{page}");
            assert!(page.get("evaluations").is_none(), "{page}");
            page["reports"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["member"] == "bank-d" && r["evaluations"]["bank-a"] == DAILY_LIMIT)
                .cloned()
        },
    )
    .await;
    assert_eq!(report["day"], after["day"], "{report}");
    let entry = report["entry"].as_str().unwrap();
    let (status, signed) = veil_tests::get_json(
        &regulator,
        &url(&embedded, "regulator", &format!("/v1/entries/{entry}")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{signed}");
    assert_eq!(signed["type"], "oprf.evaluations", "{signed}");
    assert_eq!(signed["submitter"], "bank-d", "{signed}");
    // The same day as a date.
    let (year, month, date) =
        veil_gateway::entry::national_id::civil_from_days(after["day"].as_i64().unwrap());
    let (status, by_date) = veil_tests::get_json(
        &regulator,
        &url(
            &embedded,
            "regulator",
            &format!("/v1/oprf/evaluations?day={year:04}-{month:02}-{date:02}"),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{by_date}");
    assert_eq!(by_date["day"], after["day"], "{by_date}");
    for bad in [
        "?day=x",
        "?day=99999999",
        "?days=1",
        "?day=2026-02-30",
        "?day=2026-1-05",
        "?day=9999-12-31",
    ] {
        let (status, problem) = veil_tests::get_json(
            &regulator,
            &url(
                &embedded,
                "regulator",
                &format!("/v1/oprf/evaluations{bad}"),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {problem}");
    }

    // One member down: a new borrower is still registered. Two down: 503, nothing written.
    let stop = |embedded: &mut Embedded, id: &str| {
        let position = embedded.gateways.iter().position(|(g, _)| g == id).unwrap();
        embedded.gateways.remove(position).1
    };
    stop(&mut embedded, "bank-b").stop().await;
    let second = veil_gateway::entry::national_id::generate("310104", "19880229", 17);
    let (status, body) = post_json(
        &clerk_c,
        &url(&embedded, "bank-c", "/v1/entries"),
        &veil_gateway::scenario::kyc_request(&[second.as_str()]),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "one member down: {body}");
    stop(&mut embedded, "bank-a").stop().await;
    let registry = url(&embedded, "bank-c", "/v1/entries?type=registry.updated");
    let auditor_c = member_client(dir, "bank-c", "auditor");
    let versions = |page: Value| page["entries"].as_array().map_or(0, Vec::len);
    let before = versions(veil_tests::get_json(&auditor_c, &registry).await.1);
    let third = veil_gateway::entry::national_id::generate("440305", "19750101", 3);
    let (status, problem) = post_json(
        &clerk_c,
        &url(&embedded, "bank-c", "/v1/entries"),
        &veil_gateway::scenario::kyc_request(&[third.as_str()]),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{problem}");
    let after = versions(veil_tests::get_json(&auditor_c, &registry).await.1);
    assert_eq!(after, before, "nothing written");
    embedded.stop().await.unwrap();
}

/// An inspector with the regulator's amounts key of this month exports what it opens; for loan
/// `loan` (of reference `reference`, hex): the export holds its amounts and no borrower data,
/// and no amount's blinding (nor the reference known outright) reproduces the loan's screening
/// commitment — while the secret sealed beside the reference (terms class, which the regulator
/// reads) does, so the check could see a link if there were one.
async fn inspector_cannot_link(embedded: &Embedded, dir: &Path, loan: &str, reference: &str) {
    use veil_crypto::view_key::{MasterViewKey, ViewScope};
    let genesis = Genesis::load(&dir.join("consortium.toml")).unwrap();
    let master =
        MasterViewKey::from_pem(&std::fs::read_to_string(dir.join("regulator/view.key")).unwrap())
            .unwrap();
    let month = veil_gateway::service::current_month();
    let scope = ViewScope::new(&month, "amounts").unwrap();
    let key_path = dir.join("inspector-amounts.key");
    veil_gateway::consortium::files::write_secret(
        &key_path,
        &master.derive(&genesis.consortium_id, &scope).to_pem(),
    )
    .unwrap();
    let out = dir.join("inspector-export.json");
    let output = std::process::Command::new(veil_tests::veil_bin())
        .args(["audit", "export", "--dir"])
        .arg(dir)
        .arg("--view-key")
        .arg(&key_path)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let export: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let exported = export["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == loan)
        .unwrap_or_else(|| panic!("the inspector's export has the loan: {export}"))
        .clone();
    let fields = exported["fields"].as_object().unwrap();
    for secret in ["borrower_ref", "screening_blinding", "borrower"] {
        assert!(!fields.contains_key(secret), "{secret}: {exported}");
    }
    let amounts = exported["amounts"].as_object().unwrap();
    assert!(amounts.contains_key("principal"), "{exported}");

    let stored = veil_tests::ConsortiumDir::node_link_in(dir, "bank-a")
        .entry(&veil_node::ledger::EntryId::from_hex(loan).unwrap())
        .await
        .unwrap()
        .unwrap();
    let entry = veil_node::ledger::Entry::decode(&stored.bytes).unwrap();
    let proof =
        veil_circuits::screening::ScreeningProof::from_bytes(&entry.proofs.circuit).unwrap();
    let reference: [u8; 32] = veil_crypto::encoding::from_hex_array(reference).unwrap();
    let committed = |secret: &[u8; 32]| {
        veil_gateway::entry::builder::screening_commitment(&reference, secret) == proof.commitment
    };
    for (label, amount) in amounts {
        let blinding: [u8; 32] =
            veil_crypto::encoding::from_hex_array(amount["blinding"].as_str().unwrap()).unwrap();
        assert!(
            !committed(&blinding),
            "{label}'s blinding opens the screening commitment"
        );
    }
    let regulator = regulator_client(dir);
    let (status, read) = get_until_found(
        &regulator,
        &url(embedded, "regulator", &format!("/v1/entries/{loan}")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{read}");
    let sealed: [u8; 32] = veil_crypto::encoding::from_hex_array(
        read["fields"]["screening_blinding"].as_str().unwrap(),
    )
    .unwrap();
    assert!(committed(&sealed), "the sealed secret opens it: {read}");
}
