//! The ceremony directory as members use it: only members contribute, each with its own key;
//! every contribution is signed over the transcript so far; a transcript reordered, edited,
//! re-signed or extended by a non-member is refused.
//!
//! Speed: the ceremonies have one small settlement circuit (capacity 4, two banks) and no
//! screening circuit, and those that never reach phase 2 shrink phase 1 to the smallest
//! powers.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use veil_circuits::ceremony::{self as circuits_ceremony, Powers};
use veil_crypto::{EncryptionSecretKey, SigningKey, encoding};

use super::*;
use crate::consortium::descriptor::{self, Descriptor, PartyKind};
use crate::consortium::files::{mkdir, write_secret};
use crate::consortium::pki::Ca;

/// Writes a member directory as `veil member keygen` does: `dir/member.json` (a descriptor of
/// `id` signed by `key`) and `dir/keys/signing.key`.
fn member_dir(dir: &Path, id: &str, key: &SigningKey) -> PathBuf {
    let address: SocketAddr = "127.0.0.1:7100".parse().unwrap();
    let descriptor = Descriptor {
        format: descriptor::FORMAT.into(),
        kind: PartyKind::Member,
        id: id.into(),
        name: id.to_uppercase(),
        consortium: "c".into(),
        consensus_key: Some(SigningKey::generate().unwrap().verifying_key().to_hex()),
        signing_key: key.verifying_key().to_hex(),
        encryption_key: Some(
            EncryptionSecretKey::generate()
                .unwrap()
                .public_key()
                .to_hex(),
        ),
        p2p_address: Some(address),
        node_api: Some(address),
        gateway: address,
        ca: Ca::generate("c").unwrap().cert_pem().to_owned(),
        view_keys: vec![],
        auditor_key: None,
        signature: String::new(),
    }
    .sign(key)
    .unwrap();
    mkdir(&dir.join("keys")).unwrap();
    std::fs::write(
        dir.join("member.json"),
        serde_json::to_vec_pretty(&descriptor).unwrap(),
    )
    .unwrap();
    write_secret(&dir.join("keys").join("signing.key"), &key.to_pem()).unwrap();
    dir.to_owned()
}

/// A ceremony started for bank-a and bank-b (in that order).
struct Started {
    temp: tempfile::TempDir,
    ceremony: PathBuf,
    a: PathBuf,
    b: PathBuf,
}

/// A ceremony started for bank-a and bank-b whose phase 1 is shrunk to the smallest powers
/// (before any contribution; its signatures cover the shrunk manifest): enough to test the
/// transcript's membership, order and signatures, not to `prepare`.
fn started() -> Started {
    let s = started_full();
    let path = s.ceremony.join("ceremony.json");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    manifest["phase1_size"] = 2.into();
    std::fs::write(&path, serde_json::to_vec_pretty(&manifest).unwrap()).unwrap();
    std::fs::write(
        s.ceremony.join("phase1/powers.bin"),
        circuits_ceremony::to_bytes(&Powers::new(2).unwrap()),
    )
    .unwrap();
    s
}

fn started_full() -> Started {
    let temp = tempfile::tempdir().unwrap();
    let a = member_dir(
        &temp.path().join("a"),
        "bank-a",
        &SigningKey::generate().unwrap(),
    );
    let b = member_dir(
        &temp.path().join("b"),
        "bank-b",
        &SigningKey::generate().unwrap(),
    );
    let ceremony = temp.path().join("ceremony");
    create(
        &ceremony,
        &[a.join("member.json"), b.join("member.json")],
        &[4],
        false,
    )
    .unwrap();
    Started {
        temp,
        ceremony,
        a,
        b,
    }
}

/// Every file under `dir` with its contents.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(snapshot(&path));
        } else {
            out.insert(path.clone(), std::fs::read(&path).unwrap());
        }
    }
    out
}

/// A copy of the ceremony directory `from`, in `to`.
fn copy(from: &Path, to: &Path) -> PathBuf {
    for (path, bytes) in snapshot(from) {
        let target = to.join(path.strip_prefix(from).unwrap());
        mkdir(target.parent().unwrap()).unwrap();
        std::fs::write(target, bytes).unwrap();
    }
    to.to_owned()
}

/// The refusal `verify` gives for `dir`.
fn refusal(dir: &Path) -> String {
    match verify(dir) {
        Err(CeremonyError::Refused(why)) => {
            assert!(!why.contains('\n'), "{why}");
            why
        }
        other => panic!("verify did not refuse: {other:?}"),
    }
}

fn rename(dir: &Path, from: &str, to: &str) {
    std::fs::rename(dir.join(from), dir.join(to)).unwrap();
}

/// Swaps the files `first` and `second` of `dir`, renaming them into each other's position:
/// `0-bank-a.x` and `1-bank-b.x` become `1-bank-a.x` and `0-bank-b.x`.
fn swap(dir: &Path, extension: &str) {
    rename(
        dir,
        &format!("0-bank-a.{extension}"),
        &format!("1-bank-a.{extension}"),
    );
    rename(
        dir,
        &format!("1-bank-b.{extension}"),
        &format!("0-bank-b.{extension}"),
    );
}

#[test]
fn new_takes_the_members_and_their_keys_from_their_descriptors() {
    let s = started();
    let manifest = Manifest::load(&s.ceremony).unwrap();
    assert_eq!(manifest.ids(), ["bank-a", "bank-b"]);
    assert_eq!(manifest.banks, 2);
    assert_eq!(manifest.consortium, "c");
    let descriptor = Descriptor::load(&s.a.join("member.json")).unwrap();
    assert_eq!(
        manifest.key_of("bank-a").unwrap().to_hex(),
        descriptor.signing_key
    );

    let fresh = s.temp.path().join("fresh");
    let a = s.a.join("member.json");
    // The same member twice, no member, a descriptor altered after signing: refused, nothing
    // written.
    let twice = new(&fresh, &[a.clone(), a.clone()], &[4]).unwrap_err();
    assert!(
        twice.to_string().contains("bank-a is given twice"),
        "{twice}"
    );
    assert!(new(&fresh, &[], &[4]).is_err());
    let altered = s.temp.path().join("altered.json");
    let text = std::fs::read_to_string(&a).unwrap();
    std::fs::write(&altered, text.replace("BANK-A", "BANK-Z")).unwrap();
    let refused = new(&fresh, &[altered], &[4]).unwrap_err();
    assert!(refused.to_string().contains("signature"), "{refused}");
    assert!(!fresh.exists());
    // A started ceremony is not started again.
    assert!(new(&s.ceremony, &[a], &[4]).is_err());
}

#[test]
fn only_a_member_with_its_own_key_contributes_and_a_refusal_writes_nothing() {
    let s = started();
    let before = snapshot(&s.ceremony);
    // Someone not in the manifest.
    let outsider = member_dir(
        &s.temp.path().join("z"),
        "bank-z",
        &SigningKey::generate().unwrap(),
    );
    let refused = contribute(&s.ceremony, &outsider, 1).unwrap_err();
    assert!(
        refused.to_string().contains("bank-z is not a member"),
        "{refused}"
    );
    // Someone presenting a descriptor in bank-b's name, signed with another key.
    let impostor = member_dir(
        &s.temp.path().join("impostor"),
        "bank-b",
        &SigningKey::generate().unwrap(),
    );
    let refused = contribute(&s.ceremony, &impostor, 1).unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("not a member of this ceremony"),
        "{refused}"
    );
    assert!(matches!(refused, CeremonyError::Refused(_)));
    // bank-b's descriptor with another key file beside it.
    let stolen = s.temp.path().join("stolen");
    member_dir(&stolen, "bank-b", &SigningKey::generate().unwrap());
    std::fs::copy(s.b.join("member.json"), stolen.join("member.json")).unwrap();
    let refused = contribute(&s.ceremony, &stolen, 1).unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("not the signing key this ceremony has for bank-b"),
        "{refused}"
    );
    assert_eq!(snapshot(&s.ceremony), before);

    contribute(&s.ceremony, &s.a, 1).unwrap();
    let after_a = snapshot(&s.ceremony);
    for (phase, why) in [
        (1, "bank-a already contributed to phase 1"),
        (2, "prepare"),
        (3, "--phase must be 1 or 2"),
    ] {
        let refused = contribute(&s.ceremony, &s.a, phase).unwrap_err();
        assert!(refused.to_string().contains(why), "{refused}");
    }
    let refused = prepare(&s.ceremony).unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("missing contributions from bank-b"),
        "{refused}"
    );
    assert_eq!(snapshot(&s.ceremony), after_a);
}

#[test]
fn phase_one_is_signed_chained_and_ordered() {
    let s = started();
    contribute(&s.ceremony, &s.a, 1).unwrap();
    contribute(&s.ceremony, &s.b, 1).unwrap();
    let verified = verify(&s.ceremony).unwrap();
    let transcript = encoding::to_hex(&verified.transcript());
    assert!(
        verified
            .summary()
            .contains(&format!("transcript hash so far: {transcript}")),
        "{}",
        verified.summary()
    );
    let case = |name: &str| copy(&s.ceremony, &s.temp.path().join(name));

    // Records and signatures moved into each other's positions.
    let dir = case("swapped");
    swap(&dir.join("phase1"), "record");
    swap(&dir.join("phase1"), "sig");
    let why = refusal(&dir);
    assert!(
        why.contains("0-bank-b.sig: not bank-b's signature"),
        "{why}"
    );

    // A record renamed to another member.
    let dir = case("renamed");
    rename(&dir.join("phase1"), "1-bank-b.record", "1-bank-a.record");
    rename(&dir.join("phase1"), "1-bank-b.sig", "1-bank-a.sig");
    let why = refusal(&dir);
    assert!(
        why.contains("1-bank-a.record: bank-a already contributed to phase 1"),
        "{why}"
    );

    // A record under a non-member's name.
    let dir = case("outsider");
    rename(&dir.join("phase1"), "1-bank-b.record", "1-mallory.record");
    rename(&dir.join("phase1"), "1-bank-b.sig", "1-mallory.sig");
    let why = refusal(&dir);
    assert!(
        why.contains("1-mallory.record: mallory is not a member"),
        "{why}"
    );

    // A contribution dropped.
    let dir = case("dropped");
    std::fs::remove_file(dir.join("phase1/0-bank-a.record")).unwrap();
    std::fs::remove_file(dir.join("phase1/0-bank-a.sig")).unwrap();
    let why = refusal(&dir);
    assert!(why.contains("out of order"), "{why}");

    // A signature without its record, and a record without its signature.
    let dir = case("unsigned");
    std::fs::remove_file(dir.join("phase1/1-bank-b.sig")).unwrap();
    let why = refusal(&dir);
    assert!(why.contains("its signature"), "{why}");

    // Another position's signature.
    let dir = case("copied");
    std::fs::copy(
        dir.join("phase1/0-bank-a.sig"),
        dir.join("phase1/1-bank-b.sig"),
    )
    .unwrap();
    let why = refusal(&dir);
    assert!(
        why.contains("1-bank-b.sig: not bank-b's signature"),
        "{why}"
    );

    // A record replaced by another valid one: it decodes, but bank-b never signed it.
    let dir = case("edited");
    let size = Manifest::load(&dir).unwrap().phase1_size;
    let (_, other) = Powers::new(size)
        .unwrap()
        .contribute("bank-b", 1, &mut OsRng);
    std::fs::write(
        dir.join("phase1/1-bank-b.record"),
        circuits_ceremony::to_bytes(&other),
    )
    .unwrap();
    let why = refusal(&dir);
    assert!(
        why.contains("1-bank-b.sig: not bank-b's signature"),
        "{why}"
    );

    // A record's bytes bent: it no longer decodes.
    let dir = case("bent");
    let path = dir.join("phase1/0-bank-a.record");
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&path, bytes).unwrap();
    assert!(verify(&dir).is_err());

    // The manifest changed after the first contribution: every signature breaks.
    let dir = case("manifest");
    let text = std::fs::read_to_string(dir.join("ceremony.json")).unwrap();
    std::fs::write(
        dir.join("ceremony.json"),
        text.replace("\"consortium\": \"c\"", "\"consortium\": \"d\""),
    )
    .unwrap();
    let why = refusal(&dir);
    assert!(
        why.contains("0-bank-a.sig: not bank-a's signature"),
        "{why}"
    );
}

#[test]
fn a_complete_ceremony_is_signed_through_phase_two_and_pins_its_transcript() {
    let s = started_full();
    contribute(&s.ceremony, &s.b, 1).unwrap();
    contribute(&s.ceremony, &s.a, 1).unwrap();
    prepare(&s.ceremony).unwrap();
    let refused = contribute(&s.ceremony, &s.a, 1).unwrap_err();
    assert!(refused.to_string().contains("closed"), "{refused}");
    contribute(&s.ceremony, &s.b, 2).unwrap();
    let refused = transcript_hash(&s.ceremony).unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("not complete: phase 2 lacks bank-a"),
        "{refused}"
    );
    let last = contribute(&s.ceremony, &s.a, 2).unwrap();

    // The hash the last contributor signed is the one the genesis pins. (The summary of a
    // complete ceremony is tested through the command, in tests/tests/ceremony.rs: each full
    // verification re-derives the circuit's key from phase 1, the slow part of this test.)
    let keys = final_keys(&s.ceremony, 2).unwrap();
    assert!(
        last.ends_with(&format!(
            "transcript hash now {}",
            encoding::to_hex(&keys.transcript)
        )),
        "{last}"
    );
    assert_eq!(keys.consortium, "c");
    let ids: Vec<&str> = keys.members.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["bank-a", "bank-b"]);
    assert_eq!(keys.keys.len(), 1);
    assert_eq!(keys.keys[0].0, CeremonyCircuit::Settlement(4));
    assert!(final_keys(&s.ceremony, 3).is_err());

    let case = |name: &str| copy(&s.ceremony, &s.temp.path().join(name));
    let records = |dir: &Path| dir.join("phase2/settlement-4");

    // bank-a's phase-2 signature replaced by its phase-1 one (position 1 of phase 1).
    let dir = case("copied");
    std::fs::copy(
        dir.join("phase1/1-bank-a.sig"),
        dir.join("phase2/1-bank-a.sig"),
    )
    .unwrap();
    let why = refusal(&dir);
    assert!(
        why.contains("1-bank-a.sig: not bank-a's signature"),
        "{why}"
    );

    // The two phase-2 steps swapped, records and signatures alike.
    let dir = case("swapped");
    rename(&records(&dir), "0-bank-b.record", "x");
    rename(&records(&dir), "1-bank-a.record", "0-bank-a.record");
    rename(&records(&dir), "x", "1-bank-b.record");
    rename(&dir.join("phase2"), "0-bank-b.sig", "x");
    rename(&dir.join("phase2"), "1-bank-a.sig", "0-bank-a.sig");
    rename(&dir.join("phase2"), "x", "1-bank-b.sig");
    let why = refusal(&dir);
    assert!(
        why.contains("0-bank-a.sig: not bank-a's signature"),
        "{why}"
    );

    // A phase-2 record replaced by bank-a's other valid one (made on another key).
    let dir = case("edited");
    let circuit = CeremonyCircuit::Settlement(4);
    let key = veil_circuits::ProvingKey::from_bytes(
        &std::fs::read(dir.join("phase2/settlement-4.pk")).unwrap(),
    )
    .unwrap();
    let (_, other) = contribute_phase2(&key, &circuit.id(), "bank-a", 1, &mut OsRng);
    std::fs::write(
        records(&dir).join("1-bank-a.record"),
        circuits_ceremony::to_bytes(&other),
    )
    .unwrap();
    let why = refusal(&dir);
    assert!(
        why.contains("1-bank-a.sig: not bank-a's signature"),
        "{why}"
    );
}
