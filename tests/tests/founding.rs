//! The founding of a consortium with no centre, over real processes, each party from its own
//! directory only, as the README's "Each bank on its own host" walkthrough runs it: keygen per
//! bank (one with its own openssl-made PKI) and per regulator, a ceremony with signed
//! contributions (the repayment settlement circuit and screening), the banks' DKG of the
//! borrower-reference OPRF key (each bank's rounds from its own directory; no bank holds
//! another's share, and none holds a key that computes references alone), the genesis
//! assembled and signed by each bank, then `veil node` and `veil gateway` per party without
//! `--dev`: a borrower is registered and a loan originated (their references evaluated by both
//! banks' gateways), repaid and settled, and the regulator reads everything.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use veil_node::tls::{self, TlsFiles};
use veil_tests::{
    GatewayProcess, NodeProcess, copy_tree, free_base_port, get_until_found, openssl_bank_pki,
    openssl_issue, post_json, veil_bin,
};

fn veil(args: &[&str]) -> Output {
    Command::new(veil_bin()).args(args).output().unwrap()
}

fn ok(output: Output) -> String {
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn text(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn chmod_600(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// An HTTPS client with `cert`/`key`, trusting only the CA of the party whose gateway it
/// calls (`ca`: a PEM file, issuing CA first).
fn client(cert: &Path, key: &Path, ca: &Path) -> reqwest::Client {
    let anchors = tls::load_certs(ca).unwrap();
    tls::https_client(
        &TlsFiles {
            cert,
            key,
            anchors: &anchors[..1],
        },
        Duration::from_secs(60),
    )
    .unwrap()
}

/// POSTs until the gateway answers (it may still be starting), then returns the answer.
async fn post_ready(client: &reqwest::Client, url: &str, body: &Value) -> (StatusCode, Value) {
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        // One Idempotency-Key for every attempt: a retry after a 503 whose write landed
        // gets the first answer, never a second registration.
        match client
            .post(url)
            .header("Idempotency-Key", "founding-registry-1")
            .json(body)
            .send()
            .await
        {
            Ok(response)
                if response.status() != StatusCode::SERVICE_UNAVAILABLE
                    || std::time::Instant::now() > deadline =>
            {
                let status = response.status();
                return (status, response.json().await.unwrap_or(Value::Null));
            }
            Err(error) if std::time::Instant::now() > deadline => panic!("{url}: {error}"),
            _ => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn separate_hosts_run_the_whole_flow_without_a_centre() {
    let temp = tempfile::tempdir().unwrap();
    let root = temp.path();
    let ports = free_base_port(2, 1);
    let port = |offset: u16| format!("127.0.0.1:{}", ports.base() + offset);
    let (webank, huarui, regulator) = (
        root.join("webank"),
        root.join("huarui"),
        root.join("regulator"),
    );

    // 1. Each bank makes its own keys: webank with a CA made here, huarui-bank with its own
    //    PKI (openssl: RSA root, P-384 issuing intermediate), whose certificates it installs.
    ok(veil(&[
        "member",
        "keygen",
        "--id",
        "webank",
        "--dir",
        text(&webank),
        "--consortium",
        "pilot",
        "--p2p",
        &port(0),
        "--node-api",
        &port(1),
        "--gateway",
        &port(2),
    ]));
    let pki = root.join("huarui-pki");
    let chain = openssl_bank_pki(&pki, "huarui-bank");
    ok(veil(&[
        "member",
        "keygen",
        "--id",
        "huarui-bank",
        "--dir",
        text(&huarui),
        "--consortium",
        "pilot",
        "--p2p",
        &port(10),
        "--node-api",
        &port(11),
        "--gateway",
        &port(12),
        "--ca-chain",
        text(&chain),
    ]));
    std::fs::create_dir_all(huarui.join("clients")).unwrap();
    for (name, to) in [
        ("node-api", "keys/node-api"),
        ("gateway", "keys/gateway"),
        ("node-client", "keys/node-client"),
        ("clerk", "clients/clerk"),
    ] {
        std::fs::copy(
            pki.join(format!("{name}.pem")),
            huarui.join(format!("{to}.pem")),
        )
        .unwrap();
        std::fs::copy(
            pki.join(format!("{name}.key")),
            huarui.join(format!("{to}.key")),
        )
        .unwrap();
        chmod_600(&huarui.join(format!("{to}.key")));
    }
    ok(veil(&[
        "regulator",
        "keygen",
        "--id",
        "regulator",
        "--dir",
        text(&regulator),
        "--consortium",
        "pilot",
        "--gateway",
        &port(500),
        "--node-member",
        "webank",
        "--node-api",
        &port(1),
    ]));

    // 2. The ceremony: every bank contributes to both phases, each contribution signed.
    let ceremony = root.join("ceremony");
    ok(veil(&[
        "ceremony",
        "new",
        "--dir",
        text(&ceremony),
        "--descriptor",
        text(&webank.join("member.json")),
        "--descriptor",
        text(&huarui.join("member.json")),
    ]));
    for phase in ["1", "2"] {
        for bank in [&webank, &huarui] {
            ok(veil(&[
                "ceremony",
                "contribute",
                "--dir",
                text(&ceremony),
                "--keys",
                text(bank),
                "--phase",
                phase,
            ]));
        }
        if phase == "1" {
            ok(veil(&["ceremony", "prepare", "--dir", text(&ceremony)]));
        }
    }

    // 3. The borrower-reference key: a DKG between the banks, each running its own rounds from
    //    its own directory (round-2 packages travel sealed to their recipient); anyone
    //    verifies it.
    let dkg = root.join("dkg");
    ok(veil(&[
        "dkg",
        "new",
        "--dir",
        text(&dkg),
        "--descriptor",
        text(&webank.join("member.json")),
        "--descriptor",
        text(&huarui.join("member.json")),
    ]));
    for step in ["round1", "round2", "finish"] {
        for bank in [&webank, &huarui] {
            ok(veil(&[
                "dkg",
                step,
                "--dir",
                text(&dkg),
                "--keys",
                text(bank),
            ]));
        }
    }
    let verified = ok(veil(&["dkg", "verify", "--dir", text(&dkg)]));
    assert!(
        verified.contains("complete: every member's result is this key"),
        "{verified}"
    );
    for bank in [&webank, &huarui] {
        use std::os::unix::fs::PermissionsExt as _;
        let share = std::fs::metadata(bank.join("keys/oprf.share")).unwrap();
        assert_eq!(
            share.permissions().mode() & 0o077,
            0,
            "a share readable by others"
        );
    }

    // 4. Anyone assembles; each bank verifies the ceremony and the DKG again and signs.
    let genesis_dir = root.join("genesis");
    let genesis = genesis_dir.join("consortium.toml");
    ok(veil(&[
        "consortium",
        "assemble",
        "--out",
        text(&genesis),
        "--consortium",
        "pilot",
        "--ceremony",
        text(&ceremony),
        "--dkg",
        text(&dkg),
        text(&webank.join("member.json")),
        text(&huarui.join("member.json")),
        text(&regulator.join("regulator.json")),
    ]));
    for bank in [&webank, &huarui] {
        ok(veil(&[
            "consortium",
            "sign",
            "--genesis",
            text(&genesis),
            "--dir",
            text(bank),
            "--ceremony",
            text(&ceremony),
            "--dkg",
            text(&dkg),
        ]));
    }
    let signed = veil_node::genesis::Genesis::load(&genesis).unwrap();
    signed.require_signed().unwrap();
    signed.require_production_circuits().unwrap();
    assert!(signed.file.circuits.as_ref().unwrap().transcript.is_some());
    // The genesis carries the DKG's public key: both banks' answers are needed.
    let oprf = signed.oprf_key().expect("the genesis has an OPRF key");
    assert_eq!(oprf.threshold, 2);
    assert!(
        verified.contains(&format!(
            "group key {}",
            veil_crypto::encoding::to_hex(oprf.group_key.compress().as_bytes())
        )),
        "{verified}"
    );

    // 5. Every host receives the signed genesis and starts its processes from its own
    //    directory, without --dev.
    for party in [&webank, &huarui, &regulator] {
        for name in ["consortium.toml", "policies", "circuits"] {
            copy_tree(&genesis_dir.join(name), &party.join(name));
        }
    }
    let process = |command: &'static str, dir: &PathBuf, name: &str| {
        NodeProcess::with_config(
            command,
            dir.join(format!("{command}.toml")),
            root.join(format!("{name}-{command}.log")),
            false,
        )
    };
    let mut processes: Vec<GatewayProcess> = vec![
        process("node", &webank, "webank"),
        process("node", &huarui, "huarui"),
        process("gateway", &webank, "webank"),
        process("gateway", &huarui, "huarui"),
        process("gateway", &regulator, "regulator"),
    ];
    tokio::time::sleep(Duration::from_secs(2)).await;
    for process in &mut processes {
        process.assert_running();
    }

    let clerk = client(
        &webank.join("clients/clerk.pem"),
        &webank.join("clients/clerk.key"),
        &webank.join("ca/ca.pem"),
    );
    let partner = client(
        &huarui.join("clients/clerk.pem"),
        &huarui.join("clients/clerk.key"),
        &chain,
    );
    let supervisor = client(
        &regulator.join("client.pem"),
        &regulator.join("client.key"),
        &regulator.join("ca/ca.pem"),
    );
    let webank_url = format!("https://{}", port(2));
    let huarui_url = format!("https://{}", port(12));
    let regulator_url = format!("https://{}", port(500));
    let entries = format!("{webank_url}/v1/entries");

    // 6. Register, originate with huarui-bank as partner, repay, settle: each borrower
    //    reference is evaluated by both banks' gateways.
    let national_id = veil_gateway::scenario::BORROWER;
    let (status, body) = post_ready(
        &clerk,
        &entries,
        &veil_gateway::scenario::kyc_request(&[national_id]),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let loan = json!({"type": "loan.originated", "fields": {"loan_id": "L-0001",
        "borrower": {"name": "Zhang Wei", "national_id": national_id, "phone": "+86 138 0013 8000"},
        "principal": 500000, "annual_rate_bps": 1800, "term_days": 360,
        "participants": [{"bank": "webank", "share_bps": 2000}, {"bank": "huarui-bank", "share_bps": 8000}],
        "funding": {"webank": 100000, "huarui-bank": 400000}}});
    let (status, written) = post_json(&clerk, &entries, &loan, Some("loan-0001")).await;
    assert_eq!(status, StatusCode::CREATED, "{written}");
    let loan_entry = written["id"].as_str().unwrap().to_owned();
    let repay = json!({"type": "loan.repaid", "fields": {"loan_id": "L-0001",
        "period": "2026-11", "amount": 45001, "principal_part": 40000, "interest_part": 5001}});
    let (status, body) = post_json(&clerk, &entries, &repay, None).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let settle = json!({"type": "settlement.closed", "fields": {"period": "2026-11"}});
    let (status, settled) = post_json(&clerk, &entries, &settle, None).await;
    assert_eq!(status, StatusCode::CREATED, "{settled}");
    let height = settled["height"].as_u64().unwrap();

    // The partner, with its own PKI's certificate, reads the loan at its own gateway: its
    // terms and amounts, the borrower redacted, every proof verified.
    let (status, seen) = get_until_found(
        &partner,
        &format!("{huarui_url}/v1/entries/{loan_entry}?min_height={height}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{seen}");
    assert_eq!(seen["proofs"]["verified"], true, "{seen}");
    assert_eq!(seen["fields"]["principal"], 500000, "{seen}");
    assert!(
        seen["fields"]["borrower"]["national_id"]
            .get("redacted")
            .is_some()
            || seen["fields"]["borrower"]["national_id"].is_null()
            || seen["fields"]["borrower"]["national_id"] != json!(national_id),
        "the partner saw the borrower: {seen}"
    );

    // 7. The regulator reads everything, the borrower included, and the settlement.
    let (status, all) = get_until_found(
        &supervisor,
        &format!("{regulator_url}/v1/entries?min_height={height}&type=loan.originated"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{all}");
    let first = &all["entries"][0];
    assert_eq!(
        first["fields"]["borrower"]["national_id"], national_id,
        "{all}"
    );
    assert_eq!(first["fields"]["principal"], 500000, "{all}");
    let (status, all) = get_until_found(
        &supervisor,
        &format!("{regulator_url}/v1/entries?min_height={height}&type=settlement.closed"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{all}");
    assert_eq!(all["entries"].as_array().unwrap().len(), 1, "{all}");
    assert_eq!(all["entries"][0]["proofs"]["verified"], true, "{all}");

    // huarui-bank's clerk is huarui-bank at webank's gateway (403), and huarui-bank's PKI
    // cannot speak for webank: its certificate in webank's name is refused at the handshake.
    let visitor = client(
        &huarui.join("clients/clerk.pem"),
        &huarui.join("clients/clerk.key"),
        &webank.join("ca/ca.pem"),
    );
    let (status, body) = veil_tests::get_json(&visitor, &format!("{webank_url}/v1/status")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    openssl_issue(&pki, "impostor", "webank:clerk", "client");
    chmod_600(&pki.join("impostor.key"));
    let impostor = client(
        &pki.join("impostor.pem"),
        &pki.join("impostor.key"),
        &webank.join("ca/ca.pem"),
    );
    assert!(
        impostor
            .get(format!("{webank_url}/v1/status"))
            .send()
            .await
            .is_err(),
        "a certificate in webank's name from huarui-bank's PKI was accepted"
    );

    for process in &mut processes {
        process.assert_running();
        assert!(process.terminate(), "a process did not stop cleanly");
    }
}
