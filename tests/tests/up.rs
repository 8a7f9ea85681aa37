//! `veil up` as a user runs it: one process, every member's node and gateway and the
//! regulator's gateway, `endpoints.json` written once all gateways accept connections, a clean
//! exit on SIGTERM, and a restart on the same directory with every entry (and the gateways'
//! own records) intact.

use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use veil_tests::{
    BORROWER, ConsortiumDir, get_until_found, loan_request, member_client, post_json,
    register_borrowers, veil_bin,
};

fn up(dir: &Path) -> Child {
    let _ = std::fs::remove_file(dir.join("endpoints.json"));
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("up.log"))
        .unwrap();
    Command::new(veil_bin())
        .args(["up", "--dir"])
        .arg(dir)
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap()
}

/// The gateway URLs, once `veil up` has written `endpoints.json`.
fn endpoints(dir: &Path) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(text) = std::fs::read_to_string(dir.join("endpoints.json"))
            && let Ok(value) = serde_json::from_str(&text)
        {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "no endpoints.json: {}",
            std::fs::read_to_string(dir.join("up.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// SIGTERM, then the exit status (bounded).
fn terminate(mut child: Child) -> std::process::ExitStatus {
    let sent = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap_or_else(|e| panic!("cannot run `kill` ({e}): run `make deps` (procps)"));
    assert!(sent.success());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("veil up did not stop on SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn veil_up_stops_cleanly_and_restarts_with_all_data() {
    let consortium = ConsortiumDir::init(4);
    let dir = consortium.path();
    let child = up(dir);
    let urls = endpoints(dir);
    for id in ["bank-a", "bank-b", "bank-c", "bank-d", "regulator"] {
        assert!(
            urls[id].as_str().unwrap().starts_with("https://127.0.0.1:"),
            "{urls}"
        );
    }
    let clerk = member_client(dir, "bank-a", "clerk");
    let writes = format!("{}/v1/entries", urls["bank-a"].as_str().unwrap());
    register_borrowers(&clerk, &writes, &[BORROWER]).await;
    let (status, loan) = post_json(&clerk, &writes, &loan_request("L-UP"), None).await;
    assert_eq!(status, StatusCode::CREATED, "{loan}");
    // A second `veil up` of the running directory is refused at once, and leaves the running
    // one (and its endpoints.json) alone.
    let second = Command::new(veil_bin())
        .args(["up", "--dir"])
        .arg(dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success(), "{stderr}");
    assert!(stderr.contains("already running"), "{stderr}");
    assert!(dir.join("endpoints.json").exists());
    assert!(terminate(child).success(), "veil up did not exit cleanly");

    let child = up(dir);
    let urls = endpoints(dir);
    // The partner reads the loan written before the restart, from its own node.
    let partner = member_client(dir, "bank-b", "auditor");
    let read = format!(
        "{}/v1/entries/{}",
        urls["bank-b"].as_str().unwrap(),
        loan["id"].as_str().unwrap()
    );
    let (status, entry) = get_until_found(&partner, &read).await;
    assert_eq!(status, StatusCode::OK, "{entry}");
    assert_eq!(entry["fields"]["principal"], json!(500000));
    // The originator's gateway still knows the loan: a repayment of it is accepted.
    let writes = format!("{}/v1/entries", urls["bank-a"].as_str().unwrap());
    let repay = json!({"type": "loan.repaid", "fields": {"loan_id": "L-UP", "period": "2026-11",
        "amount": 10000, "principal_part": 9000, "interest_part": 1000}});
    let (status, body) = post_json(&clerk, &writes, &repay, None).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(terminate(child).success(), "veil up did not exit cleanly");
}
