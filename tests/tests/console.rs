//! The web console in a real browser: headless Chromium (Debian's `chromium`, installed by
//! `make deps`) loads every page through `veil console` as different members, and the test
//! asserts what the rendered page shows and what it redacts. Each page is also saved as a
//! screenshot under `$CARGO_TARGET_TMPDIR/console-screenshots/`.
//!
//! Chromium is driven through its own headless mode (`--dump-dom` prints the DOM once the
//! page's scripts and fetches have settled, `--screenshot` saves the rendering), which needs
//! no WebDriver or Node.js on the machine.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use veil_gateway::api::console::{self, Console};
use veil_tests::{Harness, get_until_found, loan_request, member_client, post_json};

fn chromium() -> PathBuf {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        if let Ok(output) = Command::new("which").arg(name).output()
            && output.status.success()
        {
            return PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
        }
    }
    panic!("no Chromium found: run `make deps` (installs Debian's chromium)");
}

/// Runs headless Chromium with `args` on `url`, bounded in time; returns its stdout.
fn browse(url: &str, args: &[String]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new(chromium())
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--hide-scrollbars",
            "--virtual-time-budget=15000",
            "--window-size=1280,1000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish loading {url}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let output = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The rendered DOM of `page` in `console`, with a screenshot saved as `name`.
fn page(console: &Console, page: &str, name: &str) -> String {
    let url = format!("{}#/{page}", console.url);
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let shot = shots.join(format!("{name}.png"));
    let _ = std::fs::remove_file(&shot);
    let dom = tokio::task::block_in_place(|| {
        browse(&url, &[format!("--screenshot={}", shot.display())]);
        browse(&url, &["--dump-dom".to_owned()])
    });
    assert!(shot.exists(), "no screenshot of {url}");
    assert!(
        dom.contains(r#"data-ready="true""#),
        "{url} did not finish rendering: {dom}"
    );
    dom
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_member_sees_its_own_view_in_a_real_browser() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let (harness, clerk, url) = Harness::with_example_borrower(dir).await;
    let (status, loan) = post_json(&clerk, &url, &loan_request("L-1"), None).await;
    assert_eq!(status, StatusCode::CREATED, "{loan}");
    let loan_id = loan["id"].as_str().unwrap().to_owned();
    for (period, amount) in [("2026-10", 30_000), ("2026-11", 45_001)] {
        let repay = json!({"type": "loan.repaid", "fields": {"loan_id": "L-1", "period": period,
            "amount": amount, "principal_part": amount - 5000, "interest_part": 5000}});
        let (status, body) = post_json(&clerk, &url, &repay, None).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let settle = json!({"type": "settlement.closed", "fields": {"period": "2026-11"}});
    let (status, settlement) = post_json(&clerk, &url, &settle, None).await;
    assert_eq!(status, StatusCode::CREATED, "{settlement}");
    let settlement_id = settlement["id"].as_str().unwrap().to_owned();
    // The other banks' nodes have applied the last entry before the pages are read.
    for bank in ["bank-b", "bank-c"] {
        let client = member_client(dir, bank, "auditor");
        let path = format!("/v1/entries/{settlement_id}");
        let (status, _) = get_until_found(&client, &harness.url(bank, &path)).await;
        assert_eq!(status, StatusCode::OK);
    }

    let loopback: std::net::SocketAddr = ([127, 0, 0, 1], 0).into();
    let originator = console::serve(dir, "bank-a", Some("clerk"), loopback)
        .await
        .unwrap();
    let outsider = console::serve(dir, "bank-c", Some("auditor"), loopback)
        .await
        .unwrap();
    let regulator = console::serve(dir, "regulator", None, loopback)
        .await
        .unwrap();

    // One entry: the originator reads the borrower; a bank outside the loan sees only
    // redactions and commitments; both see that the proofs verified.
    let entry = format!("entry/{loan_id}");
    let mine = page(&originator, &entry, "entry-bank-a");
    assert!(mine.contains("Zhang Wei"), "{mine}");
    assert!(mine.contains(r#"data-field="principal""#));
    assert!(mine.contains("500000"));
    let theirs = page(&outsider, &entry, "entry-bank-c");
    assert!(
        !theirs.contains("Zhang Wei"),
        "the outsider saw the borrower"
    );
    assert!(!theirs.contains("110101199003077774"));
    assert!(theirs.contains(r#"data-redacted="true""#), "{theirs}");
    assert!(
        theirs.contains("commitment"),
        "amounts keep their commitment"
    );
    for dom in [&mine, &theirs] {
        assert!(dom.contains(r#"<span class="ok">verified</span>"#), "{dom}");
    }

    // The loan: terms and funding for the originator; the outsider learns nothing of it.
    let mine = page(&originator, "loan/L-1", "loan-bank-a");
    assert!(
        mine.contains("Funding by bank") && mine.contains("150000"),
        "{mine}"
    );
    let theirs = page(&outsider, "loan/L-1", "loan-bank-c");
    assert!(theirs.contains(r#"id="error""#), "{theirs}");
    assert!(!theirs.contains("150000"));

    // The ledger lists every entry (ids and types are public) for both, newest first.
    for (console, name) in [(&originator, "ledger-bank-a"), (&outsider, "ledger-bank-c")] {
        let dom = page(console, "ledger", name);
        assert!(dom.contains(&loan_id), "{dom}");
        // The registry update, the loan, a repayment and the settlement.
        assert!(dom.contains("5 entries, newest first"), "{dom}");
        let settlement = dom.find("settlement.closed").unwrap();
        let origination = dom.find(">loan.originated<").unwrap();
        assert!(settlement < origination, "not newest first");
        let registration = dom.find(">registry.updated<").unwrap();
        assert!(origination < registration, "not newest first");
    }

    // Health: this member's node, its height and its peers.
    let dom = page(&originator, "health", "health-bank-a");
    assert!(
        dom.contains("Consortium health") && dom.contains(">bank-a<"),
        "{dom}"
    );

    // Settlements: the originator reads every amount due; the outsider none.
    let mine = page(&originator, "settlements", "settlements-bank-a");
    assert!(
        mine.contains("2026-11") && mine.contains("bank-b"),
        "{mine}"
    );
    assert!(
        mine.contains(&format!("/v1/entries/{settlement_id}/proof")) && mine.contains("snarkjs"),
        "{mine}"
    );
    let theirs = page(&outsider, "settlements", "settlements-bank-c");
    assert!(theirs.contains(r#"data-redacted="true""#), "{theirs}");
    // The proof link works for the outsider too: public data, verified by its gateway.
    assert!(
        theirs.contains(&format!("/v1/entries/{settlement_id}/proof")),
        "{theirs}"
    );

    // The chart: bars for the periods the originator may read; nothing for the outsider.
    let mine = page(&originator, "chart", "chart-bank-a");
    assert!(mine.contains("<rect") && mine.contains("2026-10"), "{mine}");
    let theirs = page(&outsider, "chart", "chart-bank-c");
    assert!(!theirs.contains("<rect"), "{theirs}");
    assert!(theirs.contains("nothing you may read yet"));

    // The disclosure log: the regulator reads it with its chain verified; a bank may not.
    let dom = page(&regulator, "disclosures", "disclosures-regulator");
    assert!(dom.contains("chain verified"), "{dom}");
    assert!(dom.contains("anchor(s) on the ledger"), "{dom}");
    assert!(!dom.contains("disagrees with"), "{dom}");
    let dom = page(&originator, "disclosures", "disclosures-bank-a");
    assert!(
        dom.contains("Only regulators read the disclosure log"),
        "{dom}"
    );

    // Alerts: an honest consortium gives the regulator and the banks nothing to report.
    let dom = page(&regulator, "alerts", "alerts-regulator");
    assert!(dom.contains("No alerts"), "{dom}");
    let dom = page(&outsider, "alerts", "alerts-bank-c");
    assert!(dom.contains("No alerts"), "{dom}");

    // Every gateway serves the same console at /ui, to the certificate that reaches it.
    let response = member_client(dir, "bank-b", "auditor")
        .get(harness.url("bank-b", "/ui"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'self'")
    );
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("<title>Veil console</title>")
    );

    // The console only reads.
    let refused = reqwest::Client::new()
        .post(format!("http://{}/v1/entries", originator.addr))
        .json(&loan_request("L-2"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::METHOD_NOT_ALLOWED);

    for console in [originator, outsider, regulator] {
        console.stop().await;
    }
    harness.embedded.stop().await.unwrap();
}
