//! No customer datum leaks: after loans are written and read by every party, no borrower
//! name, national id or phone appears in clear in any node's or gateway's data directory, or
//! in the logs (captured at debug level for Veil's crates).

use std::path::{Path, PathBuf};

use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;

use veil_tests::{
    BORROWER, Harness, eventually, get_json, loan_request, member_client, post_json,
    register_borrowers, regulator_client,
};

const NEEDLES: [&str; 3] = ["Zhang Wei", "110101199003077774", "+86 138 0013 8000"];

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_borrower_data_in_clear_on_disk_or_in_logs() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let log_path = dir.join("veil-debug.log");
    let log = std::fs::File::create(&log_path).unwrap();
    tracing_subscriber::fmt()
        .with_env_filter("debug,commonware=info,rustls=info,hyper=info,h2=info,reqwest=info")
        .with_writer(std::sync::Mutex::new(log))
        .with_ansi(false)
        .init();

    let harness = Harness::start(dir).await;
    let clerk = member_client(dir, "bank-a", "clerk");
    register_borrowers(&clerk, &harness.url("bank-a", "/v1/entries"), &[BORROWER]).await;
    for i in 0..3 {
        let (status, body) = post_json(
            &clerk,
            &harness.url("bank-a", "/v1/entries"),
            &loan_request(&format!("L-{i}")),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let repay = json!({"type": "loan.repaid", "fields": {"loan_id": format!("L-{i}"), "period": "2026-11", "amount": 10000, "principal_part": 9000, "interest_part": 1000}});
        let (status, body) =
            post_json(&clerk, &harness.url("bank-a", "/v1/entries"), &repay, None).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let settle = json!({"type": "settlement.closed", "fields": {"period": "2026-11"}});
    let (status, body) =
        post_json(&clerk, &harness.url("bank-a", "/v1/entries"), &settle, None).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // Every party reads everything it can.
    let readers = [
        (member_client(dir, "bank-a", "auditor"), "bank-a"),
        (member_client(dir, "bank-b", "auditor"), "bank-b"),
        (member_client(dir, "bank-c", "auditor"), "bank-c"),
        (regulator_client(dir), "regulator"),
    ];
    // Bank-a's answer means its own node finalized; the others apply the same blocks shortly.
    for (client, gateway) in &readers {
        let url = harness.url(gateway, "/v1/entries?limit=100");
        eventually(Duration::from_secs(20), "every entry visible", || async {
            let (status, page) = get_json(client, &url).await;
            assert_eq!(status, StatusCode::OK, "{page}");
            // The registry update, three loans, three repayments and the settlement.
            (page["entries"].as_array().map(Vec::len) == Some(8)).then_some(())
        })
        .await;
    }
    // The originator and the regulator did see the borrower (so the data was there to leak).
    let (_, page) = get_json(
        &regulator_client(dir),
        &harness.url("regulator", "/v1/entries?type=loan.originated"),
    )
    .await;
    assert_eq!(
        page["entries"][0]["fields"]["borrower"]["name"],
        "Zhang Wei"
    );
    harness.embedded.stop().await.unwrap();

    let mut scanned = 0;
    for path in walk(dir) {
        let name = path.to_string_lossy().into_owned();
        let relevant =
            name.contains("node-data") || name.contains("gateway-data") || name.ends_with(".log");
        if !relevant {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap_or_default();
        scanned += 1;
        for needle in NEEDLES {
            let needle = needle.as_bytes();
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "{} contains borrower data in clear",
                path.display()
            );
        }
    }
    assert!(scanned > 20, "only {scanned} files scanned");
    assert!(
        std::fs::metadata(&log_path).unwrap().len() > 10_000,
        "the debug log is nearly empty"
    );
}
