//! The DKG directory as members use it, each from its own member directory: four members
//! end to end (their shares evaluate the OPRF under the group key, any three of them alike),
//! and every refusal: not a member, a wrong key, a step twice or too early, a tampered, forged,
//! misaddressed or foreign file, a wrong share, a share already held; each refused step writes
//! nothing and says why in one line.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use veil_crypto::oprf::{OprfKeyShare, OprfRequest, evaluate_share};
use veil_crypto::{EncryptionSecretKey, SigningKey};

use super::*;
use crate::consortium::descriptor::{self, Descriptor, PartyKind};
use crate::consortium::files::{mkdir, write_secret};
use crate::consortium::pki::Ca;

/// Writes a member directory as `veil member keygen` does: `dir/member.json` (a descriptor of
/// `id` in consortium `consortium`, signed by `key`), `dir/keys/signing.key` and
/// `dir/keys/encryption.key`.
fn member_dir(
    dir: &Path,
    id: &str,
    consortium: &str,
    key: &SigningKey,
    encryption: &EncryptionSecretKey,
) -> PathBuf {
    let address: SocketAddr = "127.0.0.1:7100".parse().unwrap();
    let descriptor = Descriptor {
        format: descriptor::FORMAT.into(),
        kind: PartyKind::Member,
        id: id.into(),
        name: id.to_uppercase(),
        consortium: consortium.into(),
        consensus_key: Some(SigningKey::generate().unwrap().verifying_key().to_hex()),
        signing_key: key.verifying_key().to_hex(),
        encryption_key: Some(encryption.public_key().to_hex()),
        p2p_address: Some(address),
        node_api: Some(address),
        gateway: address,
        ca: Ca::generate(consortium).unwrap().cert_pem().to_owned(),
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
    write_secret(&dir.join("keys/signing.key"), &key.to_pem()).unwrap();
    write_secret(&dir.join("keys/encryption.key"), &encryption.to_pem()).unwrap();
    dir.to_owned()
}

/// A fresh member directory `root/<id>` with new keys.
fn fresh(root: &Path, id: &str) -> PathBuf {
    member_dir(
        &root.join(id),
        id,
        "pilot",
        &SigningKey::generate().unwrap(),
        &EncryptionSecretKey::generate().unwrap(),
    )
}

/// Every file under `dirs`, with its contents.
fn snapshot(dirs: &[&Path]) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        let Ok(listing) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in listing {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.insert(path.clone(), std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    for dir in dirs {
        walk(dir, &mut out);
    }
    out
}

/// Runs `step`, which must be refused with a one-line message containing `expected` and write
/// nothing under `dirs`; returns the message.
fn refuses<T: std::fmt::Debug>(
    dirs: &[&Path],
    expected: &str,
    step: impl FnOnce() -> Result<T, DkgError>,
) -> String {
    let before = snapshot(dirs);
    let message = step().expect_err("refused").to_string();
    assert!(
        message.contains(expected),
        "expected {expected:?} in: {message}"
    );
    assert!(!message.contains('\n'), "not one line: {message}");
    assert_eq!(before, snapshot(dirs), "a refused step wrote: {message}");
    message
}

/// A DKG among members `ids` in `root`, started in `root/dkg`.
struct Dkg {
    temp: tempfile::TempDir,
    dir: PathBuf,
    members: Vec<PathBuf>,
}

impl Dkg {
    fn start(ids: &[&str], threshold: Option<u16>) -> Self {
        let temp = tempfile::tempdir().unwrap();
        let members: Vec<PathBuf> = ids.iter().map(|id| fresh(temp.path(), id)).collect();
        let dir = temp.path().join("dkg");
        let descriptors: Vec<PathBuf> = members.iter().map(|m| m.join("member.json")).collect();
        new(&dir, &descriptors, threshold).unwrap();
        Self { temp, dir, members }
    }

    fn all(&self, step: fn(&Path, &Path) -> Result<String, DkgError>) {
        for member in &self.members {
            step(&self.dir, member).unwrap();
        }
    }

    fn everything(&self) -> Vec<&Path> {
        let mut out = vec![self.dir.as_path()];
        out.extend(self.members.iter().map(PathBuf::as_path));
        out
    }

    /// The genesis entries of the members, in order.
    fn member_files(&self) -> Vec<MemberFile> {
        self.members
            .iter()
            .map(|m| {
                Descriptor::load(&m.join("member.json"))
                    .unwrap()
                    .member_file()
                    .unwrap()
            })
            .collect()
    }
}

fn share_of(member: &Path) -> OprfKeyShare {
    let text = std::fs::read_to_string(member.join("keys/oprf.share")).unwrap();
    OprfKeyShare::from_bytes(&encoding::from_hex(text.trim(), 34).unwrap()).unwrap()
}

#[test]
fn four_members_on_their_own_hosts_share_one_key_that_any_three_evaluate() {
    let dkg = Dkg::start(&["bank-a", "bank-b", "bank-c", "bank-d"], None);
    let summary = verify(&dkg.dir).unwrap().summary();
    assert!(summary.contains("threshold 3"), "{summary}");
    assert!(summary.contains("not complete: round 1 lacks bank-a, bank-b, bank-c, bank-d"));
    dkg.all(round1);
    assert!(
        verify(&dkg.dir)
            .unwrap()
            .summary()
            .contains("not complete: round 2 lacks bank-a")
    );
    dkg.all(round2);
    // Round-1 secrets are gone; round-2 secrets wait, owner-only.
    for member in &dkg.members {
        let secrets: Vec<_> = std::fs::read_dir(member.join("keys/dkg"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(secrets.len(), 1, "{secrets:?}");
        assert_eq!(secrets[0].extension().unwrap(), "round2");
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&secrets[0]).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "a round secret readable by others");
    }
    // Nothing in the travelling directory is a share in the clear: every round-2 package is
    // sealed.
    let sealed = std::fs::read_to_string(dkg.dir.join("round2/bank-a/bank-b.json")).unwrap();
    assert!(sealed.contains("\"ciphertext\""), "{sealed}");
    dkg.all(finish);

    let verified = complete(&dkg.dir).unwrap();
    let summary = verified.summary();
    assert!(
        summary.contains("complete: every member's result"),
        "{summary}"
    );
    let public = verified.public_key().unwrap().clone();
    public.check().unwrap();
    assert_eq!(public.threshold, 3);
    // Round secrets deleted; each share is the member's own, owner-only.
    let shares: Vec<OprfKeyShare> = dkg.members.iter().map(|m| share_of(m)).collect();
    for (i, (member, share)) in dkg.members.iter().zip(&shares).enumerate() {
        assert_eq!(
            std::fs::read_dir(member.join("keys/dkg")).unwrap().count(),
            0
        );
        assert_eq!(usize::from(share.index()), i + 1);
        assert_eq!(public.shares[&share.index()], share.public());
    }

    // Any three shares evaluate the OPRF under the group key, each answer's proof verifying
    // against the member's public share, and give one output; two do not.
    let input = b"11010519491231002X";
    let mut outputs = Vec::new();
    for set in [[0usize, 1, 2], [1, 2, 3], [0, 2, 3]] {
        let request = OprfRequest::blind(input).unwrap();
        let answers: Vec<_> = set
            .iter()
            .map(|i| {
                let answer = evaluate_share(&shares[*i], &request.blinded_element()).unwrap();
                request.verify(&public, &answer).unwrap();
                answer
            })
            .collect();
        outputs.push(request.finalize(&public, &answers).unwrap());
    }
    assert!(outputs.windows(2).all(|w| w[0] == w[1]));
    let request = OprfRequest::blind(input).unwrap();
    let answers: Vec<_> = shares[..2]
        .iter()
        .map(|share| evaluate_share(share, &request.blinded_element()).unwrap())
        .collect();
    assert!(request.finalize(&public, &answers).is_err());

    // The genesis takes the key of exactly these members, in this order, of this consortium.
    let members = dkg.member_files();
    assert_eq!(genesis_key(&dkg.dir, "pilot", &members).unwrap(), public);
    let message = refuses(
        &dkg.everything(),
        "not the genesis's founding members",
        || genesis_key(&dkg.dir, "pilot", &[members[1].clone(), members[0].clone()]),
    );
    assert!(
        message.contains("bank-a, bank-b, bank-c, bank-d"),
        "{message}"
    );
    refuses(
        &dkg.everything(),
        "not the genesis's founding members",
        || genesis_key(&dkg.dir, "pilot", &members[..3]),
    );
    let mut other_key = members.clone();
    other_key[2].encryption_key = EncryptionSecretKey::generate()
        .unwrap()
        .public_key()
        .to_hex();
    refuses(
        &dkg.everything(),
        "not the genesis's founding members",
        || genesis_key(&dkg.dir, "pilot", &other_key),
    );
    refuses(&dkg.everything(), "was for consortium \"pilot\"", || {
        genesis_key(&dkg.dir, "other", &members)
    });
}

#[test]
fn new_refuses_bad_members_and_thresholds() {
    let temp = tempfile::tempdir().unwrap();
    let root = temp.path();
    let a = fresh(root, "bank-a");
    let b = fresh(root, "bank-b");
    let c = fresh(root, "bank-c");
    let elsewhere = member_dir(
        &root.join("elsewhere"),
        "bank-x",
        "other",
        &SigningKey::generate().unwrap(),
        &EncryptionSecretKey::generate().unwrap(),
    );
    let dir = root.join("dkg");
    let all = [
        a.join("member.json"),
        b.join("member.json"),
        c.join("member.json"),
    ];
    let everything = [root];
    refuses(&everything, "at least two members", || {
        new(&dir, &all[..1], None)
    });
    refuses(&everything, "threshold 1 for 3 members", || {
        new(&dir, &all, Some(1))
    });
    refuses(&everything, "threshold 4 for 3 members", || {
        new(&dir, &all, Some(4))
    });
    // Two of four is not a majority: two members could compute every reference.
    let d = fresh(root, "bank-d");
    let four = [
        all[0].clone(),
        all[1].clone(),
        all[2].clone(),
        d.join("member.json"),
    ];
    refuses(&everything, "more than half", || new(&dir, &four, Some(2)));
    refuses(&everything, "bank-a is given twice", || {
        new(&dir, &[all[0].clone(), all[0].clone()], None)
    });
    refuses(&everything, "joins consortium", || {
        new(&dir, &[all[0].clone(), elsewhere.join("member.json")], None)
    });
    let mut forged: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&all[1]).unwrap()).unwrap();
    forged["name"] = "Forged".into();
    let forged_path = root.join("forged.json");
    std::fs::write(&forged_path, serde_json::to_vec(&forged).unwrap()).unwrap();
    refuses(&everything, "signature does not verify", || {
        new(&dir, &[all[0].clone(), forged_path.clone()], None)
    });
    new(&dir, &all, None).unwrap();
    let manifest = Manifest::load(&dir).unwrap();
    // n − ⌊(n − 1)/3⌋: all three of three.
    assert_eq!(manifest.threshold, 3);
    assert_eq!(manifest.ids(), ["bank-a", "bank-b", "bank-c"]);
    refuses(&everything, "is not empty", || new(&dir, &all, None));
}

#[test]
fn outsiders_wrong_keys_and_steps_out_of_order_are_refused() {
    let dkg = Dkg::start(&["bank-a", "bank-b", "bank-c"], None);
    let root = dkg.temp.path();
    let (a, b, c) = (&dkg.members[0], &dkg.members[1], &dkg.members[2]);
    let everything = dkg.everything();
    let outsider = fresh(root, "bank-z");
    let mut with_outsider = everything.clone();
    with_outsider.push(&outsider);
    refuses(&with_outsider, "bank-z is not a member of this DKG", || {
        round1(&dkg.dir, &outsider)
    });
    // bank-a's id with another signing key, then with another encryption key.
    let impostor = member_dir(
        &root.join("impostor"),
        "bank-a",
        "pilot",
        &SigningKey::generate().unwrap(),
        &EncryptionSecretKey::generate().unwrap(),
    );
    let mut with_impostor = everything.clone();
    with_impostor.push(&impostor);
    refuses(
        &with_impostor,
        "not the signing key this DKG lists for bank-a",
        || round1(&dkg.dir, &impostor),
    );
    std::fs::copy(
        a.join("keys/signing.key"),
        impostor.join("keys/signing.key"),
    )
    .unwrap();
    std::fs::copy(a.join("member.json"), impostor.join("member.json")).unwrap();
    refuses(
        &with_impostor,
        "not the encryption key this DKG lists for bank-a",
        || round1(&dkg.dir, &impostor),
    );

    // Too early, twice.
    refuses(
        &everything,
        "round 1 is not complete: no round-1 package from bank-a",
        || round2(&dkg.dir, a),
    );
    round1(&dkg.dir, a).unwrap();
    refuses(
        &everything,
        "bank-a already made its round-1 package",
        || round1(&dkg.dir, a),
    );
    refuses(
        &everything,
        "round 1 is not complete: no round-1 package from bank-b, bank-c",
        || finish(&dkg.dir, a),
    );
    round1(&dkg.dir, b).unwrap();
    round1(&dkg.dir, c).unwrap();
    // Round 2 from a copy of bank-a's directory without its round-1 secret.
    let copy = root.join("bank-a-copy");
    mkdir(&copy.join("keys")).unwrap();
    for file in ["member.json", "keys/signing.key", "keys/encryption.key"] {
        std::fs::copy(a.join(file), copy.join(file)).unwrap();
    }
    let mut with_copy = everything.clone();
    with_copy.push(&copy);
    refuses(
        &with_copy,
        "no round-1 secret of bank-a for this DKG",
        || round2(&dkg.dir, &copy),
    );
    round2(&dkg.dir, a).unwrap();
    refuses(
        &everything,
        "bank-a already sent its round-2 packages",
        || round2(&dkg.dir, a),
    );
    // A round 1 after round 2 started, from a member whose file vanished (and a directory
    // without its secret).
    let late = root.join("bank-c-copy");
    mkdir(&late.join("keys")).unwrap();
    for file in ["member.json", "keys/signing.key", "keys/encryption.key"] {
        std::fs::copy(c.join(file), late.join(file)).unwrap();
    }
    let aside = root.join("bank-c-round1.json");
    std::fs::rename(dkg.dir.join("round1/bank-c.json"), &aside).unwrap();
    let mut with_late = everything.clone();
    with_late.push(&late);
    refuses(&with_late, "round 1 is closed", || round1(&dkg.dir, &late));
    std::fs::rename(&aside, dkg.dir.join("round1/bank-c.json")).unwrap();
    refuses(
        &everything,
        "round 2 is not complete for bank-a: no package from bank-b, bank-c",
        || finish(&dkg.dir, a),
    );
    round2(&dkg.dir, b).unwrap();
    round2(&dkg.dir, c).unwrap();
    finish(&dkg.dir, a).unwrap();
    refuses(&everything, "bank-a already finished this DKG", || {
        finish(&dkg.dir, a)
    });
    assert!(
        verify(&dkg.dir)
            .unwrap()
            .summary()
            .contains("not complete: finish lacks bank-b, bank-c")
    );
    refuses(
        &everything,
        "not complete: finish lacks bank-b, bank-c",
        || complete(&dkg.dir),
    );

    // A share already in place from another DKG or `veil init` is never overwritten.
    let share = b.join("keys/oprf.share");
    write_secret(&share, &format!("0002{}\n", "01".repeat(32))).unwrap();
    refuses(&everything, "holds another share", || finish(&dkg.dir, b));
    std::fs::remove_file(&share).unwrap();
    finish(&dkg.dir, b).unwrap();
    finish(&dkg.dir, c).unwrap();
    complete(&dkg.dir).unwrap();
}

#[test]
fn tampered_forged_misaddressed_and_foreign_files_are_refused() {
    let dkg = Dkg::start(&["bank-a", "bank-b", "bank-c"], None);
    let root = dkg.temp.path();
    let (a, b, c) = (&dkg.members[0], &dkg.members[1], &dkg.members[2]);
    let everything = dkg.everything();
    dkg.all(round1);

    // Each change is made, every step (and verify) refuses it naming the file, it is undone.
    let round1_b = dkg.dir.join("round1/bank-b.json");
    let original = std::fs::read(&round1_b).unwrap();
    let mut file: serde_json::Value = serde_json::from_slice(&original).unwrap();
    let package = file["package"].as_str().unwrap().to_owned();
    let last = package.len() - 1;
    let flipped = if package.ends_with('0') { "1" } else { "0" };
    file["package"] = format!("{}{flipped}", &package[..last]).into();
    std::fs::write(&round1_b, serde_json::to_vec(&file).unwrap()).unwrap();
    let message = refuses(
        &everything,
        "not bank-b's signature of its round-1 package",
        || round2(&dkg.dir, a),
    );
    assert!(message.contains("round1/bank-b.json"), "{message}");
    refuses(&everything, "not bank-b's signature", || verify(&dkg.dir));
    // bank-a's package filed as bank-b's.
    std::fs::copy(dkg.dir.join("round1/bank-a.json"), &round1_b).unwrap();
    refuses(
        &everything,
        "the package of bank-a, filed under bank-b",
        || round2(&dkg.dir, c),
    );
    // bank-a's package relabelled as bank-b's: bank-a's signature is not bank-b's.
    let relabelled = std::fs::read_to_string(dkg.dir.join("round1/bank-a.json"))
        .unwrap()
        .replace("\"bank-a\"", "\"bank-b\"");
    std::fs::write(&round1_b, relabelled).unwrap();
    refuses(&everything, "not bank-b's signature", || verify(&dkg.dir));
    std::fs::write(&round1_b, &original).unwrap();
    // A stray file, and a member's own package replaced by a validly signed other one.
    std::fs::write(dkg.dir.join("round1/bank-z.json"), b"{}").unwrap();
    refuses(&everything, "round1/bank-z.json: not <member>.json", || {
        round2(&dkg.dir, a)
    });
    std::fs::remove_file(dkg.dir.join("round1/bank-z.json")).unwrap();

    // A file of another DKG among the same members (another session): its signature does
    // not cover this manifest.
    let other = root.join("other-dkg");
    let descriptors: Vec<PathBuf> = dkg.members.iter().map(|m| m.join("member.json")).collect();
    new(&other, &descriptors, None).unwrap();
    let signing =
        SigningKey::from_pem(&std::fs::read_to_string(b.join("keys/signing.key")).unwrap())
            .unwrap();
    let other_hash = Manifest::load(&other).unwrap().hash();
    let foreign = signed::round1_file(
        &other_hash,
        "bank-b",
        &veil_crypto::dkg::round1(2, 3, 3).unwrap().1,
        &signing,
    );
    std::fs::write(&round1_b, &foreign).unwrap();
    refuses(&everything, "made for another DKG", || round2(&dkg.dir, a));
    // bank-b's package replaced by another it signed for this DKG: its own round 2 notices.
    let this_hash = Manifest::load(&dkg.dir).unwrap().hash();
    let swapped = signed::round1_file(
        &this_hash,
        "bank-b",
        &veil_crypto::dkg::round1(2, 3, 3).unwrap().1,
        &signing,
    );
    std::fs::write(&round1_b, &swapped).unwrap();
    refuses(&everything, "not the round-1 package bank-b made", || {
        round2(&dkg.dir, b)
    });
    std::fs::write(&round1_b, &original).unwrap();

    // The manifest changed after round 1 breaks every signature.
    let manifest_path = dkg.dir.join("dkg.json");
    let manifest = std::fs::read(&manifest_path).unwrap();
    let mut bent: serde_json::Value = serde_json::from_slice(&manifest).unwrap();
    bent["threshold"] = 2.into();
    std::fs::write(&manifest_path, serde_json::to_vec(&bent).unwrap()).unwrap();
    refuses(&everything, "not bank-a's signature", || verify(&dkg.dir));
    std::fs::write(&manifest_path, &manifest).unwrap();

    dkg.all(round2);
    // A package misaddressed: bank-a's package for bank-c filed as for bank-b.
    let to_b = dkg.dir.join("round2/bank-a/bank-b.json");
    let original = std::fs::read(&to_b).unwrap();
    std::fs::copy(dkg.dir.join("round2/bank-a/bank-c.json"), &to_b).unwrap();
    let message = refuses(&everything, "misaddressed", || finish(&dkg.dir, b));
    assert!(message.contains("round2/bank-a/bank-b.json"), "{message}");
    // Readdressed in the file too: bank-a's signature no longer covers it.
    let readdressed = std::fs::read_to_string(dkg.dir.join("round2/bank-a/bank-c.json"))
        .unwrap()
        .replace("\"to\": \"bank-c\"", "\"to\": \"bank-b\"");
    std::fs::write(&to_b, readdressed).unwrap();
    refuses(
        &everything,
        "not bank-a's signature of its round-2 package to bank-b",
        || finish(&dkg.dir, b),
    );

    // A lying bank-a, with its own key: a box bank-b cannot open (sealed to bank-c's key),
    // then bank-a's share for bank-c sealed to bank-b: bank-a is named.
    let signing_a =
        SigningKey::from_pem(&std::fs::read_to_string(a.join("keys/signing.key")).unwrap())
            .unwrap();
    let key_c = EncryptionSecretKey::from_pem(
        &std::fs::read_to_string(c.join("keys/encryption.key")).unwrap(),
    )
    .unwrap();
    let key_b = EncryptionSecretKey::from_pem(
        &std::fs::read_to_string(b.join("keys/encryption.key")).unwrap(),
    )
    .unwrap();
    let file: signed::Round2File =
        serde_json::from_slice(&std::fs::read(dkg.dir.join("round2/bank-a/bank-c.json")).unwrap())
            .unwrap();
    let to_c = veil_crypto::sealed_box::SealedBox {
        enc: encoding::from_hex_array(&file.enc).unwrap(),
        ciphertext: encoding::from_hex(&file.ciphertext, 1024).unwrap(),
    };
    let share_for_c = veil_crypto::dkg::open_round2(
        &to_c,
        &key_c,
        &Round2Binding {
            session: &this_hash,
            sender: "bank-a",
            recipient: "bank-c",
        },
    )
    .unwrap();
    let for_b = Round2Binding {
        session: &this_hash,
        sender: "bank-a",
        recipient: "bank-b",
    };
    let unopenable =
        veil_crypto::dkg::seal_round2(&share_for_c, key_c.public_key(), &for_b).unwrap();
    std::fs::write(
        &to_b,
        signed::round2_file(&this_hash, "bank-a", "bank-b", &unopenable, &signing_a),
    )
    .unwrap();
    refuses(
        &everything,
        "does not open with bank-b's encryption key",
        || finish(&dkg.dir, b),
    );
    let wrong = veil_crypto::dkg::seal_round2(&share_for_c, key_b.public_key(), &for_b).unwrap();
    std::fs::write(
        &to_b,
        signed::round2_file(&this_hash, "bank-a", "bank-b", &wrong, &signing_a),
    )
    .unwrap();
    let message = refuses(&everything, "bank-a sent a wrong share", || {
        finish(&dkg.dir, b)
    });
    assert!(message.contains("round2/bank-a/bank-b.json"), "{message}");
    std::fs::write(&to_b, &original).unwrap();

    dkg.all(finish);
    // A result that is not the key of the round-1 packages.
    complete(&dkg.dir).unwrap();
    let result_c = dkg.dir.join("result/bank-c.json");
    let original = std::fs::read(&result_c).unwrap();
    let public = complete(&dkg.dir).unwrap().public_key().unwrap().clone();
    let signing_c =
        SigningKey::from_pem(&std::fs::read_to_string(c.join("keys/signing.key")).unwrap())
            .unwrap();
    let mut others = BTreeMap::new();
    for i in 1..=3u16 {
        others.insert(i, veil_crypto::dkg::round1(i, 3, 3).unwrap().1);
    }
    let other_public = veil_crypto::dkg::public_key(&others, 3).unwrap();
    assert_ne!(other_public, public);
    std::fs::write(
        &result_c,
        signed::result_file(&this_hash, "bank-c", &other_public, &signing_c),
    )
    .unwrap();
    refuses(&everything, "bank-c computed another key", || {
        verify(&dkg.dir)
    });
    std::fs::write(&result_c, &original).unwrap();
    assert_eq!(complete(&dkg.dir).unwrap().public_key(), Some(&public));
}

#[test]
fn secrets_are_written_as_lowercase_hex() {
    let bytes: Vec<u8> = (0..=255).collect();
    assert_eq!(
        files::secret_hex(&bytes).as_str(),
        encoding::to_hex(&bytes) + "\n"
    );
}
