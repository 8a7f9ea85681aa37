//! The ceremony as members run it (`veil ceremony ...`, each with its own member directory from
//! `veil member keygen`), and what the consortium accepts: keys from a complete, verified,
//! signed ceremony, pinned with its transcript hash; never keys from an incomplete one; dev
//! keys only with `--dev`, whatever the genesis declares.

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

/// A member directory made by `veil member keygen`: `DIR/member.json` and `DIR/keys/` (the
/// addresses are never bound: no process runs here).
fn member(root: &Path, id: &str) -> std::path::PathBuf {
    let dir = root.join(id);
    ok(&veil(
        &[
            "member",
            "keygen",
            "--id",
            id,
            "--consortium",
            "pilot",
            "--p2p",
            "127.0.0.1:7100",
            "--node-api",
            "127.0.0.1:7101",
            "--gateway",
            "127.0.0.1:7102",
        ],
        &[("--dir", dir.as_path())],
    ));
    dir
}

fn contribute(ceremony: &Path, member: &Path, phase: &str) -> Output {
    veil(
        &["ceremony", "contribute", "--phase", phase],
        &[("--dir", ceremony), ("--keys", member)],
    )
}

#[test]
fn a_complete_ceremony_gives_the_genesis_keys_and_an_incomplete_one_is_refused() {
    let temp = tempfile::tempdir().unwrap();
    let members = temp.path().join("members");
    let (a, b) = (member(&members, "bank-a"), member(&members, "bank-b"));
    let outsider = member(&members, "bank-z");
    let ceremony = temp.path().join("ceremony");
    let c = [("--dir", ceremony.as_path())];
    ok(&veil(
        &["ceremony", "new"],
        &[
            ("--dir", ceremony.as_path()),
            ("--descriptor", a.join("member.json").as_path()),
            ("--descriptor", b.join("member.json").as_path()),
        ],
    ));
    ok(&contribute(&ceremony, &a, "1"));
    // One contribution per member and phase; only members, with their own keys; phases in
    // order.
    assert!(err(&contribute(&ceremony, &a, "1")).contains("already contributed"));
    assert!(err(&contribute(&ceremony, &outsider, "1")).contains("not a member"));
    assert!(err(&contribute(&ceremony, &b, "2")).contains("prepare"));
    assert!(err(&veil(&["ceremony", "prepare"], &c)).contains("missing contributions from bank-b"));
    ok(&contribute(&ceremony, &b, "1"));
    ok(&veil(&["ceremony", "prepare"], &c));
    assert!(err(&contribute(&ceremony, &b, "1")).contains("closed"));
    ok(&contribute(&ceremony, &b, "2"));
    let summary = ok(&veil(&["ceremony", "verify"], &c));
    assert!(
        summary.contains("not complete: phase 2 lacks bank-a"),
        "{summary}"
    );

    // The members' DKG of the borrower-reference key, each from its own directory: a genesis
    // of two members is assembled only with it.
    let dkg = temp.path().join("dkg");
    ok(&veil(
        &["dkg", "new"],
        &[
            ("--dir", dkg.as_path()),
            ("--descriptor", a.join("member.json").as_path()),
            ("--descriptor", b.join("member.json").as_path()),
        ],
    ));
    for step in ["round1", "round2", "finish"] {
        for member in [&a, &b] {
            ok(&veil(
                &["dkg", step],
                &[("--dir", dkg.as_path()), ("--keys", member.as_path())],
            ));
        }
    }

    // The genesis is assembled from the members' descriptors and the ceremony's keys; an
    // incomplete ceremony is refused and nothing is written.
    let descriptors = [a.join("member.json"), b.join("member.json")];
    let assemble = |out: &Path, descriptors: &[std::path::PathBuf]| {
        let mut args = vec![
            "consortium".to_owned(),
            "assemble".into(),
            "--consortium".into(),
            "pilot".into(),
        ];
        args.extend(descriptors.iter().map(|d| d.display().to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        veil(
            &args,
            &[
                ("--out", &out.join("consortium.toml")),
                ("--ceremony", ceremony.as_path()),
                ("--dkg", dkg.as_path()),
            ],
        )
    };
    let no_dkg = temp.path().join("no-dkg");
    let message = err(&veil(
        &[
            "consortium",
            "assemble",
            "--consortium",
            "pilot",
            &descriptors[0].display().to_string(),
            &descriptors[1].display().to_string(),
        ],
        &[
            ("--out", &no_dkg.join("consortium.toml")),
            ("--ceremony", ceremony.as_path()),
        ],
    ));
    assert!(message.contains("veil dkg"), "{message}");
    assert!(!no_dkg.exists(), "a refused assembly wrote files");
    let early = temp.path().join("early");
    assert!(err(&assemble(&early, &descriptors)).contains("not complete"));
    assert!(!early.exists(), "a refused assembly wrote files");

    ok(&contribute(&ceremony, &a, "2"));
    let summary = ok(&veil(&["ceremony", "verify"], &c));
    assert!(
        summary.contains("complete: every member contributed"),
        "{summary}"
    );
    assert!(
        summary.contains("screening: verified, phase-2 contributions from bank-b, bank-a"),
        "{summary}"
    );
    let transcript = summary
        .lines()
        .find_map(|line| line.strip_prefix("transcript hash: "))
        .unwrap()
        .to_owned();

    // A tampered record, or a signature moved to another position, breaks verification.
    let record = ceremony.join("phase2/settlement-1/0-bank-b.record");
    let original = std::fs::read(&record).unwrap();
    let mut bent = original.clone();
    let last = bent.len() - 1;
    bent[last] ^= 1;
    std::fs::write(&record, &bent).unwrap();
    err(&veil(&["ceremony", "verify"], &c));
    std::fs::write(&record, &original).unwrap();
    let signature = ceremony.join("phase2/1-bank-a.sig");
    let original = std::fs::read(&signature).unwrap();
    std::fs::copy(ceremony.join("phase1/0-bank-a.sig"), &signature).unwrap();
    assert!(err(&veil(&["ceremony", "verify"], &c)).contains("not bank-a's signature"));
    std::fs::write(&signature, &original).unwrap();

    // Only the members who contributed, in the ceremony's order, may found on its keys.
    let others = [a.join("member.json"), outsider.join("member.json")];
    let message = err(&assemble(&temp.path().join("others"), &others));
    assert!(
        message.contains("not the genesis's founding members"),
        "{message}"
    );
    let swapped = [b.join("member.json"), a.join("member.json")];
    let message = err(&assemble(&temp.path().join("swapped"), &swapped));
    assert!(
        message.contains("not the genesis's founding members"),
        "{message}"
    );

    // The consortium takes the ceremony's keys, pinned in its genesis with the transcript
    // hash; its processes need no --dev.
    let consortium = temp.path().join("consortium");
    ok(&assemble(&consortium, &descriptors));
    let text = std::fs::read_to_string(consortium.join("consortium.toml")).unwrap();
    assert!(text.contains(&transcript), "{text}");
    let genesis = veil_node::genesis::Genesis::load(&consortium.join("consortium.toml")).unwrap();
    assert_eq!(
        genesis.circuits.setup,
        veil_node::genesis::CircuitSetup::Ceremony
    );
    genesis.require_production_circuits().unwrap();
    // The borrower-reference key is the members' DKG's.
    let oprf = genesis.oprf_key().unwrap();
    assert_eq!(oprf.threshold, 2);
    assert!(
        ok(&veil(&["dkg", "verify"], &[("--dir", dkg.as_path())])).contains(&format!(
            "group key {}",
            veil_crypto::encoding::to_hex(oprf.group_key.compress().as_bytes())
        ))
    );
    let vk = &genesis.circuits.settlement[&1];
    let key = veil_circuits::ProvingKey::from_bytes(
        &std::fs::read(consortium.join("circuits/settlement-1.pk")).unwrap(),
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
    let pinned = veil_crypto::encoding::to_hex(&vk.digest());
    let bent = text.replace(&pinned, &"0".repeat(64));
    assert!(veil_node::genesis::Genesis::from_toml(&bent).is_err());
}

#[test]
fn dev_keys_need_dev_mode() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    // Two banks: the fewest that can share a borrower-reference key.
    let ports = free_base_port(2, 1);
    let base = ports.base().to_string();
    let init = veil(
        &["init", "--banks", "2", "--base-port", &base],
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

    // Whatever the genesis declares: the dev keys claimed as a ceremony's are recognised
    // (even in a genesis every member signed as such).
    let mut file = veil_node::genesis::Genesis::load(&dir.join("consortium.toml"))
        .unwrap()
        .file;
    let circuits = file.circuits.as_mut().unwrap();
    assert_eq!(circuits.setup, "dev");
    circuits.setup = "ceremony".into();
    circuits.transcript = Some("00".repeat(32));
    file.signatures.clear();
    let genesis = veil_node::genesis::Genesis::from_file(file).unwrap();
    let why = genesis
        .require_production_circuits()
        .unwrap_err()
        .to_string();
    assert!(
        why.contains("settlement circuit key of capacity 1 comes from the insecure dev setup")
            && why.contains("--dev"),
        "{why}"
    );
}
