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
