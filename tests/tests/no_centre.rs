//! A consortium with no centre: every party makes its own keys in its own directory, the
//! genesis is assembled from signed descriptors and starts only when every founding member
//! signed it, and a party's CA speaks for that party only. Each forgery a lying member or
//! assembler could try is refused with a one-line error, and writes nothing.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use veil_gateway::consortium::CircuitSource;
use veil_gateway::consortium::assemble::{AssembleOptions, OprfSource, assemble, sign};
use veil_gateway::consortium::dkg;
use veil_gateway::consortium::init::{InitOptions, init};
use veil_gateway::consortium::keygen::{
    GenesisPaths, KeygenError, MemberOptions, issue_client, member_keygen,
};
use veil_node::genesis::{Genesis, ParamsFile};
use veil_tests::{copy_tree, free_base_port, openssl_bank_pki, veil_bin};

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// Every file under `dir`, with its contents.
fn files(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push((path.clone(), std::fs::read(&path).unwrap()));
        }
    }
}

fn is_secret(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o077 == 0
}

#[test]
fn after_init_no_party_directory_holds_another_partys_secret() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let ports = free_base_port(4, 2);
    init(
        dir,
        &InitOptions {
            banks: 4,
            regulators: 2,
            base_port: ports.base(),
            circuits: CircuitSource::Dev(veil_gateway::consortium::DEFAULT_CAPACITIES.to_vec()),
            screening: false,
            ..Default::default()
        },
    )
    .unwrap();
    let genesis = Genesis::load(&dir.join("consortium.toml")).unwrap();
    genesis.require_signed().unwrap();
    let parties: Vec<String> = genesis
        .members
        .iter()
        .map(|m| m.id.clone())
        .chain(genesis.regulators.iter().map(|r| r.id.clone()))
        .collect();

    let mut all = Vec::new();
    files(dir, &mut all);
    // Every secret file lies in one party's directory, and names that party's own keys.
    let mut owner: BTreeMap<Vec<u8>, String> = BTreeMap::new();
    for (path, contents) in &all {
        if !is_secret(path) {
            continue;
        }
        let relative = path.strip_prefix(dir).unwrap();
        let party = relative
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .into_owned();
        assert!(
            parties.contains(&party),
            "{} is a secret outside every party's directory",
            relative.display()
        );
        if let Some(other) = owner.insert(contents.clone(), party.clone())
            && other != party
        {
            panic!("{} is also in {other}'s directory", relative.display());
        }
    }
    // No secret of one party appears inside any file of another (e.g. copied into a config).
    for (secret, party) in &owner {
        let text = String::from_utf8_lossy(secret);
        let body: String = text
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<Vec<_>>()
            .join("");
        for (path, contents) in &all {
            let relative = path.strip_prefix(dir).unwrap();
            if relative.starts_with(party) {
                continue;
            }
            let haystack: String = String::from_utf8_lossy(contents)
                .lines()
                .collect::<Vec<_>>()
                .join("");
            assert!(
                body.len() < 16 || !haystack.contains(&body),
                "{party}'s secret appears in {}",
                relative.display()
            );
        }
    }
    // Each party's own secrets are there, and match its public keys in the genesis.
    for member in &genesis.members {
        let keys = dir.join(&member.id).join("keys");
        // No shared borrower-reference key any more: each bank holds its own OPRF key share.
        assert!(!keys.join("borrower-ref.key").exists(), "{}", member.id);
        for name in ["node.key", "signing.key", "encryption.key", "oprf.share"] {
            assert!(is_secret(&keys.join(name)), "{}: {name}", member.id);
        }
        assert!(is_secret(&dir.join(&member.id).join("ca/ca.key")));
        let signing = veil_crypto::SigningKey::from_pem(
            &std::fs::read_to_string(keys.join("signing.key")).unwrap(),
        )
        .unwrap();
        assert_eq!(signing.verifying_key(), member.signing_key);
    }
    for regulator in &genesis.regulators {
        let own = dir.join(&regulator.id);
        assert!(is_secret(&own.join("view.key")));
        assert!(is_secret(&own.join("keys/signing.key")));
    }
    // There is no consortium CA any more.
    assert!(!dir.join("ca").exists());
}

fn member(dir: &Path, id: &str, consortium: &str, port: u16) -> Result<(), KeygenError> {
    member_keygen(
        dir,
        &MemberOptions {
            id: id.into(),
            name: id.into(),
            consortium: consortium.into(),
            p2p_address: addr(port),
            node_api: addr(port + 1),
            gateway: addr(port + 2),
            hosts: vec!["localhost".into(), "127.0.0.1".into()],
            ca_chain: None,
            ca_key: None,
            paths: GenesisPaths::default(),
            timing: Default::default(),
        },
    )
    .map(|_| ())
}

/// Assembly options; the borrower-reference key from the members' DKG in `dkg`.
fn options(consortium: &str, dkg: &Path) -> AssembleOptions {
    AssembleOptions {
        consortium: consortium.into(),
        params: ParamsFile {
            rate_cap_bps: 2400,
            max_amount_fen: None,
        },
        circuits: CircuitSource::Dev(veil_gateway::consortium::DEFAULT_CAPACITIES.to_vec()),
        screening: false,
        oprf: OprfSource::Dkg {
            dir: dkg.to_path_buf(),
            daily_limit: None,
        },
    }
}

fn refused(result: Result<impl std::fmt::Debug, impl std::fmt::Display>) -> String {
    let message = result.expect_err("refused").to_string();
    assert!(!message.contains('\n'), "not one line: {message}");
    message
}

#[test]
fn forged_descriptors_and_genesis_signatures_are_refused() {
    let temp = tempfile::tempdir().unwrap();
    let root = temp.path();
    let ports = free_base_port(3, 0);
    let base = ports.base();
    member(&root.join("webank"), "webank", "pilot", base).unwrap();
    member(&root.join("huarui"), "huarui-bank", "pilot", base + 10).unwrap();
    veil_gateway::consortium::keygen::regulator_keygen(
        &root.join("regulator"),
        &veil_gateway::consortium::keygen::RegulatorOptions {
            id: "regulator".into(),
            name: "Regulator".into(),
            consortium: "pilot".into(),
            gateway: addr(base + 30),
            node: ("webank".into(), addr(base + 1)),
            months: vec!["2026-11".into(), "2026-12".into()],
            hosts: vec!["localhost".into()],
            paths: GenesisPaths::default(),
        },
    )
    .unwrap();
    let descriptors = [
        root.join("webank/member.json"),
        root.join("huarui/member.json"),
        root.join("regulator/regulator.json"),
    ];
    // The banks' DKG of the borrower-reference key, each from its own directory.
    let shared = root.join("dkg");
    dkg::new(&shared, &descriptors[..2], None).unwrap();
    for step in [dkg::round1, dkg::round2, dkg::finish] {
        for bank in ["webank", "huarui"] {
            step(&shared, &root.join(bank)).unwrap();
        }
    }

    // A bad id, and a directory that already holds a party, are refused before anything.
    assert!(refused(member(&root.join("bad"), "Bank_A", "pilot", base)).contains("--id"));
    assert!(refused(member(&root.join("webank"), "webank", "pilot", base)).contains("already"));

    // A descriptor altered after signing.
    let forged = root.join("forged.json");
    let text = std::fs::read_to_string(&descriptors[1]).unwrap();
    std::fs::write(
        &forged,
        text.replace("\"name\": \"huarui-bank\"", "\"name\": \"Huarui\""),
    )
    .unwrap();
    let out = root.join("out-forged");
    let message = refused(assemble(
        &out.join("consortium.toml"),
        &[descriptors[0].clone(), forged],
        &options("pilot", &shared),
    ));
    assert!(message.contains("signature does not verify"), "{message}");
    assert!(!out.exists());

    // Two descriptors with one id (another key), and a descriptor for another consortium.
    member(&root.join("webank-2"), "webank", "pilot", base + 20).unwrap();
    let out = root.join("out-duplicate");
    let message = refused(assemble(
        &out.join("consortium.toml"),
        &[descriptors[0].clone(), root.join("webank-2/member.json")],
        &options("pilot", &shared),
    ));
    assert!(message.contains("used by two descriptors"), "{message}");
    assert!(!out.exists());
    let message = refused(assemble(
        &root.join("out-other/consortium.toml"),
        &descriptors,
        &options("other", &shared),
    ));
    assert!(message.contains("joins consortium"), "{message}");

    // The real genesis: named banks, unsigned until each signs.
    let out = root.join("genesis");
    let path = out.join("consortium.toml");
    // Without the banks' DKG, both would hold one borrower-reference key: refused.
    let message = refused(assemble(
        &root.join("out-no-dkg/consortium.toml"),
        &descriptors,
        &AssembleOptions {
            oprf: OprfSource::None,
            ..options("pilot", &shared)
        },
    ));
    assert!(message.contains("--dkg"), "{message}");
    assert!(!root.join("out-no-dkg").exists());
    assemble(&path, &descriptors, &options("pilot", &shared)).unwrap();
    let unsigned = Genesis::load(&path).unwrap();
    let message = refused(unsigned.require_signed());
    assert!(message.contains("webank, huarui-bank"), "{message}");

    // The assembler cannot change what the genesis says about another party: each entry
    // carries its party's own signature.
    let mut file = unsigned.file.clone();
    file.regulators[0].view_keys[0].public_key = veil_crypto::EncryptionSecretKey::generate()
        .unwrap()
        .public_key()
        .clone();
    let message = refused(Genesis::from_file(file));
    assert!(
        message.contains("regulator: its own signature"),
        "{message}"
    );
    let mut file = unsigned.file.clone();
    file.members[1].encryption_key = veil_crypto::EncryptionSecretKey::generate()
        .unwrap()
        .public_key()
        .to_hex();
    let message = refused(Genesis::from_file(file));
    assert!(
        message.contains("huarui-bank: its own signature"),
        "{message}"
    );
    let mut file = unsigned.file.clone();
    file.regulators[0].signature = None;
    let message = refused(Genesis::from_file(file).unwrap().require_signed());
    assert!(
        message.contains("carry no signature of their own party"),
        "{message}"
    );

    // A node will not start on it: copy what a host receives into webank's directory.
    for name in ["consortium.toml", "policies", "circuits"] {
        copy_tree(&out.join(name), &root.join("webank").join(name));
    }
    let node = Command::new(veil_bin())
        .args(["node", "--dev", "--config"])
        .arg(root.join("webank/node.toml"))
        .output()
        .unwrap();
    assert!(!node.status.success());
    let stderr = String::from_utf8_lossy(&node.stderr);
    assert!(
        stderr.contains("lacks the signature of webank, huarui-bank"),
        "{stderr}"
    );

    // Dev circuit keys are signed only knowingly; someone outside the genesis cannot sign; a
    // member signs once.
    assert!(
        refused(sign(
            &path,
            &root.join("webank"),
            None,
            false,
            Some(&shared)
        ))
        .contains("--dev")
    );
    assert!(
        refused(sign(
            &path,
            &root.join("webank-2"),
            None,
            true,
            Some(&shared)
        ))
        .contains("another signing key")
    );
    assert!(refused(sign(&path, &root.join("webank"), None, true, None)).contains("--dkg"));
    let signed = sign(&path, &root.join("webank"), None, true, Some(&shared)).unwrap();
    assert_eq!(signed.missing, vec!["huarui-bank".to_owned()]);
    assert!(
        refused(sign(&path, &root.join("webank"), None, true, Some(&shared)))
            .contains("already signed")
    );
    let message = refused(Genesis::load(&path).unwrap().require_signed());
    assert!(
        message.contains("huarui-bank") && !message.contains("webank,"),
        "{message}"
    );
    sign(&path, &root.join("huarui"), None, true, Some(&shared)).unwrap();
    Genesis::load(&path).unwrap().require_signed().unwrap();

    // Signatures over other contents: the rate cap changed after both signed.
    let text = std::fs::read_to_string(&path).unwrap();
    let bent = text.replace("rate_cap_bps = 2400", "rate_cap_bps = 9999");
    assert_ne!(bent, text);
    let message = refused(Genesis::from_toml(&bent));
    assert!(
        message.contains("not a signature of this genesis"),
        "{message}"
    );
    // A signature moved to another member.
    let genesis = Genesis::load(&path).unwrap();
    let mut file = genesis.file.clone();
    file.signatures[1].signature = file.signatures[0].signature.clone();
    let message = refused(Genesis::from_file(file));
    assert!(message.contains("huarui-bank's signature"), "{message}");

    // Client certificates come from the member's own CA.
    let issued = issue_client(&root.join("webank"), "clerk").unwrap();
    assert!(issued.ends_with("clients/clerk.pem"));
    assert!(refused(issue_client(&root.join("webank"), "regulator")).contains("--role"));
}

/// A self-signed P-256 CA valid from `not_before` for `lifetime`, PEM.
fn ca_valid(not_before: SystemTime, lifetime: Duration) -> String {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.not_before = not_before.into();
    params.not_after = (not_before + lifetime).into();
    params.self_signed(&key).unwrap().pem()
}

#[test]
fn a_bank_brings_its_own_pki_and_an_invalid_ca_is_refused() {
    let temp = tempfile::tempdir().unwrap();
    let root = temp.path();
    let ports = free_base_port(1, 0);
    let chain = openssl_bank_pki(&root.join("pki"), "webank");
    let with_chain = |dir: &str, chain: &Path| {
        member_keygen(
            &root.join(dir),
            &MemberOptions {
                id: "webank".into(),
                name: "WeBank".into(),
                consortium: "pilot".into(),
                p2p_address: addr(ports.base()),
                node_api: addr(ports.base() + 1),
                gateway: addr(ports.base() + 2),
                hosts: vec!["localhost".into()],
                ca_chain: Some(chain.to_path_buf()),
                ca_key: None,
                paths: GenesisPaths::default(),
                timing: Default::default(),
            },
        )
    };
    let descriptor = with_chain("webank", &chain).unwrap();
    // The descriptor names the bank's chain, issuing CA first; no CA key is made here.
    assert!(descriptor.ca.contains("BEGIN CERTIFICATE"));
    let ca = veil_node::pki::CaChain::from_pem(&descriptor.ca).unwrap();
    assert_eq!(ca.certificates().len(), 2);
    assert!(
        ca.subject().contains("Bank Veil Issuing CA"),
        "{}",
        ca.subject()
    );
    assert!(!root.join("webank/ca/ca.key").exists());
    assert!(refused(issue_client(&root.join("webank"), "clerk")).contains("own PKI"));

    // The bank's PKI's certificate verifies against its anchor, a foreign one does not.
    let parties = vec![("webank".to_owned(), ca)];
    let verifier = veil_node::tls::PartyVerifier::new(&parties, &[], SystemTime::now()).unwrap();
    let clerk = veil_node::tls::load_certs(&root.join("pki/clerk.pem")).unwrap();
    assert_eq!(verifier.party_of(&clerk[0], &[]), Some("webank"));
    let other = openssl_bank_pki(&root.join("other-pki"), "webank");
    let _ = other;
    let foreign = veil_node::tls::load_certs(&root.join("other-pki/clerk.pem")).unwrap();
    assert_eq!(verifier.party_of(&foreign[0], &[]), None);

    // Expired, not yet valid, not a CA: refused, and nothing written.
    let day = Duration::from_secs(86_400);
    let mut with_key = std::fs::read_to_string(&chain).unwrap();
    with_key.push_str(&std::fs::read_to_string(root.join("pki/issuing.key")).unwrap());
    let cases = [
        ("with-key", with_key, "other than certificates"),
        (
            "expired",
            ca_valid(SystemTime::now() - 10 * day, day),
            "has expired",
        ),
        (
            "future",
            ca_valid(SystemTime::now() + 10 * day, day),
            "not yet valid",
        ),
        (
            "leaf",
            std::fs::read_to_string(root.join("pki/clerk.pem")).unwrap(),
            "not a CA",
        ),
    ];
    for (name, pem, why) in cases {
        let path = root.join(format!("{name}.pem"));
        std::fs::write(&path, pem).unwrap();
        let message = refused(with_chain(name, &path));
        assert!(message.contains(why), "{name}: {message}");
        assert!(!root.join(name).exists(), "{name}: keygen wrote files");
    }
    // With the issuing CA's key, keygen issues the certificates; with another key, nothing is
    // written.
    let with_ca_key = |dir: &str, key: &str| {
        member_keygen(
            &root.join(dir),
            &MemberOptions {
                id: "webank".into(),
                name: "WeBank".into(),
                consortium: "pilot".into(),
                p2p_address: addr(ports.base()),
                node_api: addr(ports.base() + 1),
                gateway: addr(ports.base() + 2),
                hosts: vec!["localhost".into()],
                ca_chain: Some(chain.clone()),
                ca_key: Some(root.join("pki").join(key)),
                paths: GenesisPaths::default(),
                timing: Default::default(),
            },
        )
    };
    for key in ["issuing.key", "root.key"] {
        use std::os::unix::fs::PermissionsExt as _;
        let path = root.join("pki").join(key);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let message = refused(with_ca_key("wrong-key", "root.key"));
    assert!(
        message.contains("not the key of the chain's issuing CA"),
        "{message}"
    );
    assert!(!root.join("wrong-key").exists());
    with_ca_key("with-ca-key", "issuing.key").unwrap();
    let clerk = veil_node::tls::load_certs(&root.join("with-ca-key/clients/clerk.pem")).unwrap();
    assert_eq!(verifier.party_of(&clerk[0], &[]), Some("webank"));
}
