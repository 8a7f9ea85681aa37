//! The web console shows every amount exactly: the API's integers beyond 2^53 (a principal of
//! 9007199254740993, a u64 of 18446744073709551615) are parsed, printed and summed by the page
//! without rounding through a double. This runs the console's own JavaScript tests
//! (`gateway/src/api/console/exact-json.test.js`) under Node.js, installed by `make deps`.

use std::path::Path;
use std::process::Command;

#[test]
fn console_amounts_are_exact() {
    let test =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../gateway/src/api/console/exact-json.test.js");
    let output = match Command::new("node").arg(&test).output() {
        Ok(output) => output,
        Err(error) => {
            panic!("cannot run `node` ({error}): run `make deps` (installs Node.js with npm)")
        }
    };
    assert!(
        output.status.success(),
        "node {} failed ({}):\n{}\n{}",
        test.display(),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
}
