//! `veil demo` as README's first command runs it (a smaller story): every check it makes must
//! hold, and its report must say so. It runs beside any other consortium on the machine (here:
//! with its default ports taken), and neither it nor `veil bench` ends in a panic.

use std::process::Command;

use veil_tests::veil_bin;

/// Holds the default base ports (7100..=7102), as another consortium started with the
/// defaults would; if something already holds them, so much the better.
fn occupy_default_ports() -> Vec<std::net::TcpListener> {
    (7100..=7102)
        .filter_map(|port| std::net::TcpListener::bind(("127.0.0.1", port)).ok())
        .collect()
}

fn assert_no_panic(stderr: &str) {
    for sign in [
        "panicked",
        "RUST_BACKTRACE",
        "stack backtrace",
        "internal error",
    ] {
        assert!(!stderr.contains(sign), "{sign:?} in:\n{stderr}");
    }
}

/// Runs `veil ARGS… --dir DIR` with the default ports taken; asserts it succeeded without a
/// panic and returns its standard output.
fn run_veil(args: &[&str], dir: &std::path::Path) -> String {
    let _taken = occupy_default_ports();
    let out = Command::new(veil_bin())
        .args(args)
        .arg("--dir")
        .arg(dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "veil {args:?} failed:\n{stdout}\n{stderr}"
    );
    assert_no_panic(&stderr);
    stdout
}

#[test]
fn the_demo_passes_every_check_and_reports_them() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("veil-demo");
    let stdout = run_veil(&["demo", "--loans", "3"], &dir);
    assert!(!stdout.contains("[FAIL]"), "{stdout}");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("demo-report.json")).unwrap()).unwrap();
    assert_eq!(report["passed"], true);
    let checks = report["checks"].as_array().unwrap();
    assert!(checks.len() >= 15, "{} checks", checks.len());
    assert!(
        checks.iter().all(|check| check["passed"] == true),
        "{report}"
    );
}

/// `veil bench` (its smallest run): loans go through every bank's gateway right after bank-a
/// registered their borrowers, so each gateway must read the registry it was just given.
#[test]
fn the_bench_runs_beside_another_consortium_and_exits_cleanly() {
    let temp = tempfile::tempdir().unwrap();
    let stdout = run_veil(&["bench", "--loans", "8"], &temp.path().join("bench"));
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    // 8 loans and their 8 repayments at saturation, all finalized.
    assert_eq!(report["entries"], 16, "{stdout}");
    assert!(report["entries_per_s"].as_f64().unwrap() > 0.0, "{stdout}");
}
