//! The `veil` binary as a user runs it: it reports which sources it was built from, and bad
//! input gets a one-line error and a non-zero exit, never a panic.
//!
//! Being an integration test of the package that owns the binary, this file also makes
//! `cargo test --workspace` build `target/<profile>/veil` (`CARGO_BIN_EXE_veil`), which the
//! end-to-end tests in `tests/` run as a process.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Output};

fn veil(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_veil"))
        .args(args)
        .output()
        .expect("run veil")
}

#[test]
fn version_names_the_build_of_these_sources() {
    let out = veil(&["--version"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.trim(), format!("veil {}", veil_gateway::VERSION));
    assert!(text.contains(&format!("(build {})", veil_gateway::BUILD_ID)));
    assert_eq!(veil_gateway::BUILD_ID.len(), 32);
    assert!(
        veil_gateway::BUILD_ID
            .bytes()
            .all(|b| b.is_ascii_hexdigit())
    );
}

/// Refused with a one-line `error:` naming what was wrong; no panic, no backtrace.
fn refused(args: &[&str], names: &str) {
    let out = veil(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{args:?} succeeded");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace"),
        "{args:?}: {stderr}"
    );
    let first = stderr.lines().next().unwrap_or_default();
    assert!(first.starts_with("error:"), "{args:?}: {stderr}");
    assert!(
        stderr.contains(names),
        "{args:?} should name {names:?}: {stderr}"
    );
}

#[test]
fn bad_arguments_get_one_line_errors() {
    let temp = tempfile::tempdir().unwrap();
    let missing = temp.path().join("nothing-here");
    let missing = missing.to_str().unwrap();
    refused(&["demo", "--loans", "0"], "--loans");
    refused(&["bench", "--loans", "3"], "--loans");
    refused(&["console", "--dir", missing, "--as", ":clerk"], "--as");
    refused(&["policy", "check", missing], "nothing-here");
    refused(&["node", "--config", missing], "nothing-here");
    refused(&["gateway", "--config", missing], "nothing-here");
    refused(&["init", "--dir", missing, "--banks", "0"], "bank");
    refused(&["frobnicate"], "frobnicate");
}

/// Arguments are checked before anything is written, and each cause is said once.
#[test]
fn init_checks_its_arguments_before_writing_anything() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("new");
    let dir_text = dir.to_str().unwrap();
    refused(
        &["init", "--dir", dir_text, "--members", "webank,Huarui_Bank"],
        "\"Huarui_Bank\" is not a member id",
    );
    let out = veil(&["init", "--dir", dir_text, "--members", "webank,webank"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches("listed twice").count(), 1, "{stderr}");
    refused(
        &["init", "--dir", dir_text, "--members", "webank,regulator-2"],
        "regulator's id",
    );
    refused(
        &["init", "--dir", dir_text, "--banks", "65"],
        "between 2 and 64",
    );
    // One bank cannot share a borrower-reference key with anyone.
    refused(
        &["init", "--dir", dir_text, "--banks", "1"],
        "between 2 and 64",
    );
    refused(
        &["init", "--dir", dir_text, "--oprf-daily-limit", "0"],
        "--oprf-daily-limit",
    );
    refused(
        &[
            "init",
            "--dir",
            dir_text,
            "--ceremony",
            temp.path().to_str().unwrap(),
        ],
        "--ceremony",
    );
    assert!(!dir.exists(), "a refused init wrote {}", dir.display());
}

/// A directory with other files is refused without `--force`; one left by an interrupted
/// `veil init` (its marker still there) is taken over, and the marker goes once it finished.
#[test]
fn an_interrupted_init_is_started_again_but_a_foreign_directory_is_refused() {
    let temp = tempfile::tempdir().unwrap();
    let foreign = temp.path().join("foreign");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join("notes.txt"), "mine").unwrap();
    let args = |dir: &std::path::Path| {
        vec![
            "init".to_owned(),
            "--dir".into(),
            dir.to_str().unwrap().into(),
            "--banks".into(),
            "2".into(),
            "--no-screening".into(),
        ]
    };
    let run = |dir: &std::path::Path| {
        let args = args(dir);
        veil(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let out = run(&foreign);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not empty"));
    assert_eq!(
        std::fs::read_to_string(foreign.join("notes.txt")).unwrap(),
        "mine"
    );

    let interrupted = temp.path().join("interrupted");
    std::fs::create_dir_all(interrupted.join("bank-a")).unwrap();
    std::fs::write(interrupted.join(".veil-init-incomplete"), "").unwrap();
    std::fs::write(interrupted.join("bank-a/member.json"), "half-written").unwrap();
    let out = run(&interrupted);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(interrupted.join("consortium.toml").is_file());
    assert!(!interrupted.join(".veil-init-incomplete").exists());
    assert_ne!(
        std::fs::read_to_string(interrupted.join("bank-a/member.json")).unwrap(),
        "half-written"
    );
}
