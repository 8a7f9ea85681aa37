//! The consortium at its real size: more than 26 members named by the banks themselves, whose
//! settlement costs nothing per member (each repayment proves its split over its loan's
//! participants only), on the embedded consortium with real TLS, BFT and RocksDB.

use std::process::Command;

use reqwest::StatusCode;
use serde_json::json;
use veil_tests::{
    Harness, free_base_port, get_until_found, member_client, post_json, register_borrowers,
    veil_bin,
};

/// 27 member ids as banks would choose them: more than the 26 letters `bank-a` … `bank-z`.
fn bank_names() -> Vec<String> {
    let mut names: Vec<String> = ["webank", "huarui-bank", "xinwang-bank", "zhongbang"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    names.extend((5..=27).map(|i| format!("city-bank-{i:02}")));
    names
}

/// `veil init --members` writes a genesis whose members are the banks' own ids in the order
/// given, with an OPRF threshold of n − ⌊(n−1)/3⌋; invalid, repeated or reserved ids, a count
/// that disagrees with --banks, and more than 64 banks are refused before anything is written.
#[test]
fn init_takes_the_banks_own_ids_beyond_26() {
    let temp = tempfile::tempdir().unwrap();
    let names = bank_names();
    let init = |dir: &std::path::Path, extra: &[&str]| {
        let lease = free_base_port(64, 1);
        Command::new(veil_bin())
            .args(["init", "--force", "--dir"])
            .arg(dir)
            .args(["--base-port", &lease.base().to_string()])
            .args(extra)
            .output()
            .unwrap()
    };
    let dir = temp.path().join("named");
    let done = init(&dir, &["--members", &names.join(",")]);
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let genesis = veil_node::genesis::Genesis::load(&dir.join("consortium.toml")).unwrap();
    let ids: Vec<&str> = genesis.members.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, names.iter().map(String::as_str).collect::<Vec<_>>());
    let oprf = genesis.file.oprf.as_ref().expect("an [oprf] section");
    assert_eq!(usize::from(oprf.threshold), 27 - 26 / 3);
    assert!(dir.join("city-bank-27/keys/oprf.share").exists());

    for (extra, why) in [
        (vec!["--members", "webank,Bad_Bank"], "is not a member id"),
        (vec!["--members", "webank,webank"], "listed twice"),
        (vec!["--members", "webank,regulator"], "regulator's id"),
        (vec!["--banks", "65"], "between 2 and 64"),
        (
            vec!["--members", "webank,huarui-bank", "--banks", "3"],
            "--banks says 3",
        ),
        (
            vec!["--members", "webank,policies"],
            "folder of the consortium",
        ),
    ] {
        let refused_dir = temp.path().join("refused");
        let refused = init(&refused_dir, &extra);
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(!refused.status.success(), "{extra:?} was accepted");
        assert!(stderr.contains(why), "{extra:?}: {stderr}");
        assert!(!refused_dir.join("consortium.toml").exists());
    }
}

/// A consortium of 27 members reaches finality, and a loan of four of them (the 27th among
/// them) is repaid and settled: the partner beyond `z` reads its allocation and its amount due,
/// and a member outside the loan verifies the repayment's proof without reading any amount.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_seven_members_originate_repay_and_settle() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let names = bank_names();
    let harness = Harness::start_members(dir, &names).await;
    let clerk = member_client(dir, "webank", "clerk");
    let entries = harness.url("webank", "/v1/entries");
    register_borrowers(&clerk, &entries, &["110101199205051230"]).await;

    let shares = [
        ("webank", 2000u64),
        ("huarui-bank", 3000),
        ("city-bank-26", 2500),
        ("city-bank-27", 2500),
    ];
    let principal = 400_000;
    let loan = json!({"type": "loan.originated", "fields": {
        "loan_id": "BIG-1",
        "borrower": {"name": "Li Na", "national_id": "110101199205051230", "phone": "+86 139 0000 1111"},
        "principal": principal, "annual_rate_bps": 1500, "term_days": 300,
        "participants": shares.iter().map(|(b, s)| json!({"bank": b, "share_bps": s})).collect::<Vec<_>>(),
        "funding": veil_gateway::scenario::funding(principal, &shares),
    }});
    let (status, body) = post_json(&clerk, &entries, &loan, None).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let amount = 41_999u64;
    let repaid = json!({"type": "loan.repaid", "fields": {
        "loan_id": "BIG-1", "period": "2026-11", "amount": amount,
        "principal_part": 40_000, "interest_part": 1_999,
    }});
    let (status, repayment) = post_json(&clerk, &entries, &repaid, None).await;
    assert_eq!(status, StatusCode::CREATED, "{repayment}");
    let repayment_id = repayment["id"].as_str().unwrap().to_owned();
    let settle = json!({"type": "settlement.closed", "fields": {"period": "2026-11"}});
    let (status, settlement) = post_json(&clerk, &entries, &settle, None).await;
    assert_eq!(status, StatusCode::CREATED, "{settlement}");
    let settlement_id = settlement["id"].as_str().unwrap().to_owned();

    // The 27th member, a partner: its allocation floor(41999 × 2500 / 10000) and its amount due.
    let expected = amount * 2500 / 10_000;
    let partner = member_client(dir, "city-bank-27", "auditor");
    let (status, read) = get_until_found(
        &partner,
        &harness.url("city-bank-27", &format!("/v1/entries/{repayment_id}")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(
        read["fields"]["allocations"]["city-bank-27"], expected,
        "{read}"
    );
    assert_eq!(read["proofs"]["verified"], true, "{read}");
    assert_eq!(read["proofs"]["circuit_link_verified"], true, "{read}");
    let (status, settled) = get_until_found(
        &partner,
        &harness.url("city-bank-27", &format!("/v1/entries/{settlement_id}")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{settled}");
    assert_eq!(
        settled["fields"]["due"]["city-bank-27"], expected,
        "{settled}"
    );
    assert_eq!(settled["proofs"]["verified"], true, "{settled}");

    // A member outside the loan verifies the repayment's settlement proof, reading no amount.
    let outsider = member_client(dir, "zhongbang", "auditor");
    let (status, proof) = get_until_found(
        &outsider,
        &harness.url("zhongbang", &format!("/v1/entries/{repayment_id}/proof")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{proof}");
    assert_eq!(proof["verified"], true, "{proof}");
    assert_eq!(
        proof["slots"],
        json!(["city-bank-26", "city-bank-27", "huarui-bank", "webank"])
    );
    let (_, outside) = get_until_found(
        &outsider,
        &harness.url("zhongbang", &format!("/v1/entries/{repayment_id}")),
    )
    .await;
    assert!(!outside["fields"]["amount"].is_u64(), "{outside}");
    assert_eq!(outside["proofs"]["verified"], true, "{outside}");

    harness.embedded.stop().await.unwrap();
}
