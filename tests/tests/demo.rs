//! `veil demo` as README's first command runs it (a smaller story): every check it makes must
//! hold, and its report must say so. It runs beside any other consortium on the machine.

use std::process::Command;

use veil_tests::veil_bin;

#[test]
fn the_demo_passes_every_check_and_reports_them() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("veil-demo");
    let out = Command::new(veil_bin())
        .args(["demo", "--loans", "3", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "veil demo failed:\n{stdout}\n{stderr}"
    );
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
