//! The ceremony as members run it (`veil ceremony ...`), and what the consortium accepts:
//! keys from a complete, verified ceremony; never keys from an incomplete one; dev keys only
//! with `--dev`.

use std::path::Path;
use std::process::{Command, Output};

use veil_tests::{free_base_port, veil_bin};

fn veil(args: &[&str], dirs: &[(&str, &Path)]) -> Output {
    let mut command = Command::new(veil_bin());
    command.args(args);
    for (flag, path) in dirs {
        command.arg(flag).arg(path);
    }
    command.output().unwrap()
}

fn ok(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn err(output: &Output) -> String {
    assert!(
        !output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_complete_ceremony_gives_the_genesis_keys_and_an_incomplete_one_is_refused() {
    let temp = tempfile::tempdir().unwrap();
    let ceremony = temp.path().join("ceremony");
    let c = [("--dir", ceremony.as_path())];
    ok(&veil(
        &[
            "ceremony",
            "new",
            "--banks",
            "2",
            "--settlement-capacities",
            "4",
        ],
        &c,
    ));
    ok(&veil(
        &[
            "ceremony",
            "contribute",
            "--member",
            "bank-a",
            "--phase",
            "1",
        ],
        &c,
    ));
    // One contribution per member and phase; only members contribute; phases in order.
    assert!(
        err(&veil(
            &[
                "ceremony",
                "contribute",
                "--member",
                "bank-a",
                "--phase",
                "1"
            ],
            &c
        ))
        .contains("already contributed")
    );
    assert!(
        err(&veil(
            &[
                "ceremony",
                "contribute",
                "--member",
                "bank-z",
                "--phase",
                "1"
            ],
            &c
        ))
        .contains("not a member")
    );
    assert!(
        err(&veil(
            &[
                "ceremony",
                "contribute",
                "--member",
                "bank-b",
                "--phase",
                "2"
            ],
            &c
        ))
        .contains("prepare")
    );
    assert!(err(&veil(&["ceremony", "prepare"], &c)).contains("missing contributions from bank-b"));
    ok(&veil(
        &[
            "ceremony",
            "contribute",
            "--member",
            "bank-b",
            "--phase",
            "1",
        ],
        &c,
    ));
    ok(&veil(&["ceremony", "prepare"], &c));
    assert!(
        err(&veil(
            &[
                "ceremony",
                "contribute",
                "--member",
                "bank-b",
                "--phase",
                "1"
            ],
            &c
        ))
        .contains("closed")
    );
    ok(&veil(
        &[
            "ceremony",
            "contribute",
            "--member",
            "bank-b",
            "--phase",
            "2",
        ],
        &c,
    ));
    let summary = ok(&veil(&["ceremony", "verify"], &c));
    assert!(
        summary.contains("not complete: phase 2 of settlement-4 lacks bank-a"),
        "{summary}"
    );

    // An incomplete ceremony is refused by init.
    let early = temp.path().join("early");
    let ports = free_base_port(2, 1);
    let base = ports.base().to_string();
    let init = |dir: &Path| {
        veil(
            &["init", "--banks", "2", "--base-port", &base],
            &[("--dir", dir), ("--ceremony", ceremony.as_path())],
        )
    };
    assert!(err(&init(&early)).contains("not complete"));

    ok(&veil(
        &[
            "ceremony",
            "contribute",
            "--member",
            "bank-a",
            "--phase",
            "2",
        ],
        &c,
    ));
    let summary = ok(&veil(&["ceremony", "verify"], &c));
    assert!(
        summary.contains("complete: every member contributed"),
        "{summary}"
    );
    assert!(
        summary.contains("screening: verified, phase-2 contributions from bank-b, bank-a"),
        "{summary}"
    );

    // A tampered record breaks verification.
    let record = ceremony.join("phase2/settlement-4/0-bank-b.record");
    let original = std::fs::read(&record).unwrap();
    let mut bent = original.clone();
    let last = bent.len() - 1;
    bent[last] ^= 1;
    std::fs::write(&record, &bent).unwrap();
    err(&veil(&["ceremony", "verify"], &c));
    std::fs::write(&record, &original).unwrap();

    // The consortium takes the ceremony's keys, pinned in its genesis; its processes need no --dev.
    let consortium = temp.path().join("consortium");
    ok(&init(&consortium));
    let genesis = veil_node::genesis::Genesis::load(&consortium.join("consortium.toml")).unwrap();
    assert_eq!(
        genesis.circuits.setup,
        veil_node::genesis::CircuitSetup::Ceremony
    );
    genesis.require_production_circuits().unwrap();
    let vk = &genesis.circuits.settlement[&4];
    let key = veil_circuits::ProvingKey::from_bytes(
        &std::fs::read(consortium.join("circuits/settlement-4.pk")).unwrap(),
    )
    .unwrap();
    assert_eq!(key.verifying_key().digest(), vk.digest());
    // So is the screening circuit's, from the same ceremony.
    let screening = genesis.circuits.screening.as_ref().unwrap();
    let key = veil_circuits::ProvingKey::from_bytes(
        &std::fs::read(consortium.join("circuits/screening.pk")).unwrap(),
    )
    .unwrap();
    assert_eq!(key.verifying_key().digest(), screening.digest());

    // A key file swapped for another is refused at load by the genesis pin.
    let mut text = std::fs::read_to_string(consortium.join("consortium.toml")).unwrap();
    let pinned = veil_crypto::encoding::to_hex(&vk.digest());
    text = text.replace(&pinned, &"0".repeat(64));
    assert!(veil_node::genesis::Genesis::from_toml(&text).is_err());
}

#[test]
fn dev_keys_need_dev_mode() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let ports = free_base_port(1, 1);
    let base = ports.base().to_string();
    let init = veil(
        &[
            "init",
            "--banks",
            "1",
            "--base-port",
            &base,
            "--settlement-capacities",
            "16",
        ],
        &[("--dir", dir)],
    );
    assert!(String::from_utf8_lossy(&init.stderr).contains("insecure dev setup"));
    ok(&init);
    let node = veil(&["node"], &[("--config", &dir.join("bank-a/node.toml"))]);
    assert!(err(&node).contains("insecure dev setup"));
    let gateway = veil(
        &["gateway"],
        &[("--config", &dir.join("bank-a/gateway.toml"))],
    );
    assert!(err(&gateway).contains("insecure dev setup"));
}
