//! The gateway against its own `/openapi.json`, fuzzed by schemathesis (a schema-driven API
//! fuzzer from PyPI that `make deps` installs in `~/.cache/veil/schemathesis`): no 5xx, every
//! status, content type and body as documented, and schema-invalid requests refused.
//!
//! One check is left out: `positive_data_acceptance` expects every schema-valid request to
//! succeed, which a ledger cannot do (a repayment of a loan that does not exist, a borrower
//! outside the registry, a page of an unknown cursor are valid by shape and refused by rule).
//!
//! `VEIL_SCHEMATHESIS=/path/to/st` picks another binary; `VEIL_SKIP_SCHEMATHESIS=1` skips this
//! test on purpose (it fails, saying how to install it, when schemathesis is missing).

use std::path::PathBuf;
use std::process::Command;

use veil_tests::Harness;

fn schemathesis() -> Option<PathBuf> {
    if std::env::var_os("VEIL_SKIP_SCHEMATHESIS").is_some() {
        return None;
    }
    let st = std::env::var_os("VEIL_SCHEMATHESIS").map_or_else(
        || {
            let home = std::env::var_os("HOME").unwrap_or_default();
            PathBuf::from(home).join(".cache/veil/schemathesis/bin/st")
        },
        PathBuf::from,
    );
    assert!(
        st.exists(),
        "{} is missing: run `make deps` (it installs schemathesis from PyPI), or set \
         VEIL_SCHEMATHESIS to an `st` binary, or VEIL_SKIP_SCHEMATHESIS=1 to skip this test",
        st.display()
    );
    Some(st)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_does_what_its_openapi_document_says() {
    let Some(st) = schemathesis() else {
        eprintln!("VEIL_SKIP_SCHEMATHESIS is set: skipped");
        return;
    };
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let (harness, clerk, entries) = Harness::with_example_borrower(dir).await;
    // Something to read: a loan.
    let (status, _) =
        veil_tests::post_json(&clerk, &entries, &veil_tests::loan_request("L-1"), None).await;
    assert!(status.is_success());
    let reports = dir.join("schemathesis");
    for (gateway, member, role) in [
        ("bank-a", "bank-a", Some("clerk")),
        ("regulator", "regulator", None),
    ] {
        let (cert, key) = veil_gateway::client::identity_files(dir, member, role).unwrap();
        let url = harness.url(gateway, "/openapi.json");
        let st = st.clone();
        let ca = veil_gateway::consortium::layout::party_ca(dir, gateway);
        let report = reports.join(gateway);
        let workdir = report.clone();
        std::fs::create_dir_all(&workdir).unwrap();
        let output = tokio::task::spawn_blocking(move || {
            Command::new(&st)
                .arg("run")
                .arg(&url)
                .arg("--request-cert")
                .arg(&cert)
                .arg("--request-cert-key")
                .arg(&key)
                .arg("--tls-verify")
                .arg(&ca)
                .args([
                    "--checks",
                    "all",
                    "--exclude-checks",
                    "positive_data_acceptance",
                    "--max-examples",
                    "25",
                    "--seed",
                    "1",
                    "--workers",
                    "1",
                    "--request-timeout",
                    "60",
                    "--suppress-health-check",
                    "all",
                    "--no-color",
                    "--report",
                    "junit",
                    "--report-dir",
                ])
                .arg(&report)
                .env("SCHEMATHESIS_HOOKS", "")
                // Its example cache (`.schemathesis/`) stays with this run, not the checkout.
                .current_dir(&workdir)
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "schemathesis found failures on {gateway}'s gateway:\n{stdout}\n{stderr}"
        );
    }
    harness.embedded.stop().await.unwrap();
}
