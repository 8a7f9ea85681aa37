//! The gateway through real HTTPS with real client certificates, on an embedded consortium
//! (four banks' nodes and gateways, a regulator's read-only gateway).

use std::path::Path;
use std::time::{Duration, SystemTime};

use reqwest::StatusCode;
use serde_json::{Value, json};
use veil_gateway::consortium::init::InitOptions;
use veil_gateway::consortium::pki::{Ca, Usage};
use veil_node::ledger::{Entry, UnsignedEntry};
use veil_node::link::LinkError;
use veil_tests::{
    BORROWER, ConsortiumDir, Harness, eventually, free_base_port, get_json as get, get_until_found,
    https as client, loan_request, member_client, post_json as post, register_borrowers,
    regulator_client,
};

fn redacted(value: &Value) -> bool {
    value.get("redacted") == Some(&Value::Bool(true))
}

/// Asserts `field` is visible (not redacted) exactly when `visible`.
fn assert_visibility(view: &Value, path: &[&str], visible: bool, who: &str) {
    let mut value = &view["fields"];
    for part in path {
        value = &value[part];
    }
    assert!(
        !value.is_null(),
        "{who}: {} missing in {view}",
        path.join(".")
    );
    assert_eq!(
        !redacted(value),
        visible,
        "{who} sees {}: {value}",
        path.join(".")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_party_sees_exactly_what_the_policy_allows() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let harness = Harness::start(dir).await;
    let originator = member_client(dir, "bank-a", "clerk");
    register_borrowers(
        &originator,
        &harness.url("bank-a", "/v1/entries"),
        &[BORROWER],
    )
    .await;
    let partner = member_client(dir, "bank-b", "auditor");
    let outsider = member_client(dir, "bank-c", "auditor");
    let regulator = regulator_client(dir);

    let (status, written) = post(
        &originator,
        &harness.url("bank-a", "/v1/entries"),
        &loan_request("L-0001"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{written}");
    assert_eq!(written["status"], "finalized");
    let loan_id = written["id"].as_str().unwrap().to_owned();

    let repay = json!({"type": "loan.repaid", "fields": {
        "loan_id": "L-0001", "period": "2026-11", "amount": 45001, "principal_part": 40000, "interest_part": 5001
    }});
    let (status, repaid) = post(
        &originator,
        &harness.url("bank-a", "/v1/entries"),
        &repay,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{repaid}");
    let repayment_id = repaid["id"].as_str().unwrap().to_owned();

    let views = [
        ("originator", &originator, "bank-a"),
        ("partner", &partner, "bank-b"),
        ("outsider", &outsider, "bank-c"),
        ("regulator", &regulator, "regulator"),
    ];
    let mut principals = Vec::new();
    for (who, client, gateway) in views {
        let (status, loan) = get_until_found(
            client,
            &harness.url(gateway, &format!("/v1/entries/{loan_id}")),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{who}: {loan}");
        assert_eq!(loan["proofs"]["verified"], true, "{who}");
        let originator_or_regulator = matches!(who, "originator" | "regulator");
        let participant = who != "outsider";
        assert_visibility(&loan, &["borrower", "name"], originator_or_regulator, who);
        assert_visibility(
            &loan,
            &["borrower", "national_id"],
            originator_or_regulator,
            who,
        );
        assert_visibility(&loan, &["borrower", "phone"], originator_or_regulator, who);
        for field in [
            "loan_id",
            "borrower_ref",
            "principal",
            "annual_rate_bps",
            "term_days",
            "participants",
        ] {
            assert_visibility(&loan, &[field], participant, who);
        }
        assert_visibility(&loan, &["funding", "bank-a"], originator_or_regulator, who);
        assert_visibility(&loan, &["funding", "bank-b"], participant, who);
        if !participant {
            assert!(
                loan["fields"]["principal"]["commitment"].is_string(),
                "amounts keep their commitment"
            );
            assert!(
                loan["fields"]["borrower"]["name"]
                    .get("commitment")
                    .is_none()
            );
        } else {
            principals.push(loan["fields"]["principal"].clone());
        }

        let (status, repayment) = get_until_found(
            client,
            &harness.url(gateway, &format!("/v1/entries/{repayment_id}")),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{who}: {repayment}");
        assert_eq!(repayment["proofs"]["verified"], true, "{who}");
        for field in [
            "amount",
            "principal_part",
            "interest_part",
            "loan_id",
            "period",
        ] {
            assert_visibility(&repayment, &[field], participant, who);
        }
        assert_visibility(
            &repayment,
            &["allocations", "bank-a"],
            originator_or_regulator,
            who,
        );
        assert_visibility(&repayment, &["allocations", "bank-b"], participant, who);
        // Participants (who know the shares) check the split; others cannot.
        let splits = &repayment["proofs"]["splits_verified"];
        if participant {
            assert_eq!(splits, &Value::Bool(true), "{who}: {repayment}");
        } else {
            assert!(splits.is_null(), "{who}");
        }
        if who == "partner" {
            // floor(45001 * 7000 / 10000) = 31500; the originator gets the remainder.
            assert_eq!(repayment["fields"]["allocations"]["bank-b"], 31500);
        }
        if originator_or_regulator {
            assert_eq!(repayment["fields"]["allocations"]["bank-a"], 45001 - 31500);
        }
    }
    // Everyone who may read the principal decrypted the same value (checked against its commitment).
    assert!(
        principals.iter().all(|p| p == &json!(500000)),
        "{principals:?}"
    );

    // The loan view of a participant; an outsider does not even learn the loan id exists.
    let (status, loan) =
        get_until_found(&partner, &harness.url("bank-b", "/v1/loans/L-0001")).await;
    assert_eq!(status, StatusCode::OK, "{loan}");
    assert_eq!(loan["outstanding"], 500000 - 40000);
    assert_eq!(loan["repayments"].as_array().unwrap().len(), 1);
    let (status, _) = get(&outsider, &harness.url("bank-c", "/v1/loans/L-0001")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Every decrypting read was logged, and the regulator verifies the chain.
    let (status, log) = get(&regulator, &harness.url("bank-b", "/v1/disclosures")).await;
    assert_eq!(status, StatusCode::OK, "{log}");
    assert_eq!(log["chain_verified"], true);
    assert!(
        log["records"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["who"] == "bank-b:auditor")
    );
    let (status, _) = get(&partner, &harness.url("bank-b", "/v1/disclosures")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The regulator's gateway never writes.
    let (status, _) = post(
        &regulator,
        &harness.url("regulator", "/v1/entries"),
        &loan_request("L-0002"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // An auditor never writes; a client of another bank is refused by this bank's gateway.
    let (status, _) = post(
        &partner,
        &harness.url("bank-b", "/v1/entries"),
        &loan_request("L-0003"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = post(
        &originator,
        &harness.url("bank-b", "/v1/entries"),
        &loan_request("L-0004"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    harness.embedded.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_requests_get_clear_errors_and_change_nothing() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let (harness, clerk, url) = Harness::with_example_borrower(dir).await;

    // 400: not JSON, unknown field, wrong type, unknown type.
    let response = clerk.post(&url).body("{not json").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let mut unknown = loan_request("L-1");
    unknown["fields"]["nickname"] = json!("x");
    assert_eq!(
        post(&clerk, &url, &unknown, None).await.0,
        StatusCode::BAD_REQUEST
    );
    let mut wrong = loan_request("L-1");
    wrong["fields"]["principal"] = json!("lots");
    assert_eq!(
        post(&clerk, &url, &wrong, None).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        post(
            &clerk,
            &url,
            &json!({"type": "loan.deleted", "fields": {}}),
            None
        )
        .await
        .0,
        StatusCode::BAD_REQUEST
    );

    // 413: too large.
    let huge = "x".repeat(200_000);
    let response = clerk.post(&url).body(huge).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);

    // 422: consortium rules.
    let mut cases: Vec<(serde_json::Value, Vec<String>)> = Vec::new();
    let mut funding = loan_request("L-2");
    funding["fields"]["funding"]["bank-b"] = json!(350001);
    cases.push((funding, vec!["funding".into()]));
    let mut shares = loan_request("L-3");
    shares["fields"]["participants"][1]["share_bps"] = json!(6999);
    cases.push((shares, vec!["shares".into()]));
    let mut rate = loan_request("L-4");
    rate["fields"]["annual_rate_bps"] = json!(2401);
    cases.push((rate, vec!["cap".into()]));
    let mut bank = loan_request("L-5");
    bank["fields"]["participants"][1]["bank"] = json!("bank-z");
    cases.push((bank, vec!["member".into()]));
    // A national id that is not a resident id (GB 11643-1999), wherever it appears: the
    // field is named, and so is what is wrong with it.
    for (id, what) in [
        ("1", "is 1 characters, not 18"),
        ("11010119900307777", "is 17 characters"),
        ("1101011990030777Y4", "17 digits then a digit or X"),
        ("990101199003077771", "region code 990101"),
        ("110101199002307771", "birth date 19900230"),
        ("110101209903077771", "birth date 20990307"),
        (
            "110101199003077777",
            "check character (ISO 7064 MOD 11-2 of the first 17 digits is 4)",
        ),
    ] {
        let mut loan = loan_request("L-7");
        loan["fields"]["borrower"]["national_id"] = json!(id);
        cases.push((loan, vec!["borrower.national_id".into(), what.into()]));
        for list in ["kyc", "blocklist"] {
            for change in ["add", "remove"] {
                let update = json!({"type": "registry.updated", "fields": {
                    list: {change: [veil_tests::BORROWER, id]}}});
                cases.push((update, vec![format!("{list}.{change}[1]"), what.into()]));
            }
        }
    }
    for (request, rules) in cases {
        let (status, problem) = post(&clerk, &url, &request, None).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{rules:?}: {problem}"
        );
        let detail = problem["detail"].as_str().unwrap();
        assert!(
            rules.iter().all(|r| detail.contains(r.as_str())),
            "{rules:?}: {problem}"
        );
    }
    let repay_unknown = json!({"type": "loan.repaid", "fields": {"loan_id": "nope", "period": "2026-11", "amount": 1, "principal_part": 1, "interest_part": 0}});
    assert_eq!(
        post(&clerk, &url, &repay_unknown, None).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // 409: idempotency key reused with another body; same key and body, same id.
    let (status, first) = post(&clerk, &url, &loan_request("L-6"), Some("key-1")).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (status, again) = post(&clerk, &url, &loan_request("L-6"), Some("key-1")).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(first["id"], again["id"]);
    let (status, _) = post(&clerk, &url, &loan_request("L-7"), Some("key-1")).await;
    assert_eq!(status, StatusCode::CONFLICT);
    // 409: a loan id used twice.
    let (status, _) = post(&clerk, &url, &loan_request("L-6"), None).await;
    assert_eq!(status, StatusCode::CONFLICT);

    // Nothing from the refused requests reached the ledger: one loan only.
    let (status, page) = get(
        &clerk,
        &harness.url("bank-a", "/v1/entries?type=loan.originated"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["entries"].as_array().unwrap().len(), 1, "{page}");

    // Below the gateway: a captured entry resubmitted to a node is refused as a replay, and
    // an entry with a forged proof, properly signed, is refused by the nodes.
    let node = ConsortiumDir::node_link_in(dir, "bank-a");
    let id = veil_node::ledger::EntryId::from_hex(first["id"].as_str().unwrap()).unwrap();
    let captured = node.entry(&id).await.unwrap().unwrap();
    assert_eq!(
        node.submit(captured.bytes.clone(), Duration::from_secs(10))
            .await
            .unwrap_err(),
        LinkError::Replay
    );
    let entry = Entry::decode(&captured.bytes).unwrap();
    let signing = veil_crypto::SigningKey::from_pem(
        &std::fs::read_to_string(dir.join("bank-a/keys/signing.key")).unwrap(),
    )
    .unwrap();
    let mut proofs = entry.proofs.clone();
    proofs.range[33] ^= 1;
    let forged = UnsignedEntry {
        header: veil_node::ledger::EntryHeader {
            id: veil_node::ledger::EntryId::random(),
            ..entry.header.clone()
        },
        groups: entry.groups.clone(),
        commitments: entry.commitments.clone(),
        proofs,
    }
    .sign(&signing);
    assert!(matches!(
        node.submit(forged.encode(), Duration::from_secs(10)).await,
        Err(LinkError::Rejected(_))
    ));
    // Another member's gateway identity cannot submit bank-a's entries to its own node.
    let other = ConsortiumDir::node_link_in(dir, "bank-b");
    assert_eq!(
        other
            .submit(forged.encode(), Duration::from_secs(10))
            .await
            .unwrap_err(),
        LinkError::Forbidden
    );

    harness.embedded.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_refuses_missing_foreign_expired_and_revoked_certificates() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    // Certificates made before the consortium starts.
    let ports = free_base_port(4, 1);
    veil_gateway::consortium::init::init(
        dir,
        &InitOptions {
            base_port: ports.base(),
            force: true,
            circuits: veil_gateway::consortium::CircuitSource::Dev(
                veil_gateway::consortium::DEFAULT_CAPACITIES.to_vec(),
            ),
            ..Default::default()
        },
    )
    .unwrap();
    let ca = Ca::load(&dir.join("bank-a/ca/ca.pem"), &dir.join("bank-a/ca/ca.key")).unwrap();
    // Another member's CA may issue certificates, but only in its own member's name.
    let bank_b_ca = Ca::load(&dir.join("bank-b/ca/ca.pem"), &dir.join("bank-b/ca/ca.key")).unwrap();
    let write = |name: &str, issued: &veil_gateway::consortium::pki::Issued| {
        std::fs::write(dir.join(format!("{name}.pem")), &issued.cert_pem).unwrap();
        veil_gateway::consortium::write_secret(&dir.join(format!("{name}.key")), &issued.key_pem)
            .unwrap();
    };
    let day = Duration::from_secs(86_400);
    let expired = ca
        .issue(
            "bank-a:clerk",
            Usage::Client,
            &[],
            SystemTime::now() - 3 * day,
            day,
        )
        .unwrap();
    write("expired", &expired);
    let foreign = Ca::generate("another-consortium")
        .unwrap()
        .issue_now("bank-a:clerk", Usage::Client, &[])
        .unwrap();
    write("foreign", &foreign);
    let impostor = bank_b_ca
        .issue_now("bank-a:clerk", Usage::Client, &[])
        .unwrap();
    write("impostor", &impostor);
    let bank_b_clerk = bank_b_ca
        .issue_now("bank-b:clerk", Usage::Client, &[])
        .unwrap();
    write("bank-b-clerk", &bank_b_clerk);
    let revoked = ca.issue_now("bank-a:clerk", Usage::Client, &[]).unwrap();
    write("revoked", &revoked);
    let valid = ca.issue_now("bank-a:clerk", Usage::Client, &[]).unwrap();
    write("valid", &valid);

    let harness = Harness::start(dir).await;
    let url = harness.url("bank-a", "/v1/status");
    let with = |name: &str| {
        client(
            dir,
            &dir.join(format!("{name}.pem")),
            &dir.join(format!("{name}.key")),
        )
    };
    assert_eq!(
        with("valid").get(&url).send().await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        with("revoked").get(&url).send().await.unwrap().status(),
        StatusCode::OK
    );
    // bank-b's own clerk is authenticated as bank-b, and bank-a's gateway serves it nothing.
    assert_eq!(
        with("bank-b-clerk")
            .get(&url)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    // bank-b's CA minting bank-a's clerk: the connection is refused.
    assert!(
        with("impostor").get(&url).send().await.is_err(),
        "a certificate in bank-a's name from bank-b's CA was accepted"
    );
    // Revocation takes effect without a restart: the gateway follows its CRL file.
    std::fs::write(
        dir.join("bank-a/ca/crl.pem"),
        ca.crl(std::slice::from_ref(&revoked.serial), 2).unwrap(),
    )
    .unwrap();
    tokio::time::sleep(veil_node::tls::CRL_RELOAD * 2).await;
    for name in ["expired", "foreign", "revoked"] {
        assert!(
            with(name).get(&url).send().await.is_err(),
            "{name} certificate accepted"
        );
    }
    assert_eq!(
        with("valid").get(&url).send().await.unwrap().status(),
        StatusCode::OK
    );
    let anonymous = reqwest::Client::builder()
        .tls_backend_preconfigured(rustls_client_without_certificate(
            &dir.join("bank-a/ca/ca.pem"),
        ))
        .build()
        .unwrap();
    assert!(
        anonymous.get(&url).send().await.is_err(),
        "no certificate accepted"
    );
    harness.embedded.stop().await.unwrap();
}

fn rustls_client_without_certificate(ca: &Path) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    for cert in veil_node::tls::load_certs(ca).unwrap() {
        roots.add(cert).unwrap();
    }
    rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS13])
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loans_are_screened_against_the_registry_on_the_ledger() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let harness = Harness::start(dir).await;
    let clerk = member_client(dir, "bank-a", "clerk");
    let url = harness.url("bank-a", "/v1/entries");
    let other_clerk = member_client(dir, "bank-b", "clerk");
    let other_url = harness.url("bank-b", "/v1/entries");
    let count = |kind: &'static str| {
        let (client, url) = (
            clerk.clone(),
            harness.url("bank-a", &format!("/v1/entries?type={kind}")),
        );
        async move {
            get(&client, &url).await.1["entries"]
                .as_array()
                .unwrap()
                .len()
        }
    };
    let registry = |kyc: Value, blocklist: Value| json!({"type": "registry.updated", "fields": {"kyc": kyc, "blocklist": blocklist}});

    // Before its borrower is registered, a loan is refused and nothing is written.
    let (status, problem) = post(&clerk, &url, &loan_request("L-1"), None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("KYC registry"),
        "{problem}"
    );
    assert_eq!(count("loan.originated").await, 0);

    // Malformed registry changes: 400; changes that do not apply: 422. Nothing is written.
    for bad in [
        registry(json!({}), json!({})),
        registry(json!({"add": []}), json!({})),
        registry(json!({"add": [BORROWER], "remove": [BORROWER]}), json!({})),
        registry(json!({"add": [BORROWER], "nickname": "x"}), json!({})),
    ] {
        let (status, problem) = post(&clerk, &url, &bad, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {problem}");
    }
    // A national id that is no resident id: 422 naming it (the whole class: `hostile_*`).
    let (status, problem) = post(
        &clerk,
        &url,
        &registry(json!({"add": ["\u{7}"]}), json!({})),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("kyc.add[0]"),
        "{problem}"
    );
    let (status, problem) = post(
        &clerk,
        &url,
        &registry(json!({"remove": [BORROWER]}), json!({})),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(count("registry.updated").await, 0);

    // Another member registers the borrower; once bank-a's node has that version too (it
    // applies the block moments after bank-b's), the originator's loan is screened and written.
    register_borrowers(&other_clerk, &other_url, &[BORROWER]).await;
    let registry_versions = |n: usize| {
        let count = &count;
        async move {
            eventually(
                Duration::from_secs(20),
                "bank-a's node to have the registry",
                || async { (count("registry.updated").await == n).then_some(()) },
            )
            .await
        }
    };
    registry_versions(1).await;
    let (status, written) = post(&clerk, &url, &loan_request("L-2"), None).await;
    assert_eq!(status, StatusCode::CREATED, "{written}");
    let loan_path = format!("/v1/entries/{}", written["id"].as_str().unwrap());
    // The partner checks the proof and that it is about this loan's borrower_ref; a bank
    // outside the loan checks the proof but cannot link it to a borrower.
    let partner = member_client(dir, "bank-b", "auditor");
    let (_, view) = get_until_found(&partner, &harness.url("bank-b", &loan_path)).await;
    assert_eq!(view["proofs"]["verified"], true, "{view}");
    assert_eq!(view["proofs"]["circuit_link_verified"], true, "{view}");
    let outsider = member_client(dir, "bank-c", "auditor");
    let (_, view) = get_until_found(&outsider, &harness.url("bank-c", &loan_path)).await;
    assert_eq!(view["proofs"]["verified"], true, "{view}");
    assert_eq!(
        view["proofs"]["circuit_link_verified"],
        Value::Null,
        "{view}"
    );

    // Registering twice is refused.
    let (status, problem) = post(
        &clerk,
        &url,
        &registry(json!({"add": [BORROWER]}), json!({})),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");

    // Blocklisted (by a third member): refused; removed from the blocklist by that member:
    // accepted again.
    let third = member_client(dir, "bank-c", "clerk");
    let (status, body) = post(
        &third,
        &harness.url("bank-c", "/v1/entries"),
        &registry(json!({}), json!({"add": [BORROWER]})),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let blocklisted_at = body["id"].as_str().unwrap().to_owned();
    registry_versions(2).await;
    let (status, problem) = post(&clerk, &url, &loan_request("L-3"), None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("blocklist"),
        "{problem}"
    );
    // Only the member that blocklisted a borrower takes it off the blocklist: bank-a, about to
    // lend to it, cannot (and nothing is written).
    let (status, problem) = post(
        &clerk,
        &url,
        &registry(json!({}), json!({"remove": [BORROWER]})),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("only bank-c may take it off"),
        "{problem}"
    );
    assert_eq!(count("registry.updated").await, 2);
    let (status, body) = post(
        &third,
        &harness.url("bank-c", "/v1/entries"),
        &registry(json!({}), json!({"remove": [BORROWER]})),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    registry_versions(3).await;
    let (status, written) = post(&clerk, &url, &loan_request("L-4"), None).await;
    assert_eq!(status, StatusCode::CREATED, "{written}");
    assert_eq!(count("loan.originated").await, 2);
    assert_eq!(count("registry.updated").await, 3);

    // The national ids in a registry entry go to its submitter and the regulators only.
    let path = format!("/v1/entries/{blocklisted_at}");
    let (_, view) = get_until_found(&clerk, &harness.url("bank-a", &path)).await;
    assert_eq!(view["fields"]["blocklist"]["redacted"], true, "{view}");
    let (_, view) = get_until_found(&regulator_client(dir), &harness.url("regulator", &path)).await;
    assert_eq!(
        view["fields"]["blocklist"]["add"],
        json!([BORROWER]),
        "{view}"
    );

    harness.embedded.stop().await.unwrap();
}
