//! # veil-tests
//!
//! Multi-member end-to-end, fault and privacy tests (under `tests/tests/`), and the helpers
//! they share: finding the `veil` binary, making consortia on free loopback ports, running
//! nodes and gateways as real processes, and talking to them over mutual TLS.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub use veil_gateway::scenario::{BORROWER, loan_request};
use veil_node::link::{NodeLink, RemoteNode, Status};
use veil_node::tls::{self, TlsFiles};

/// The `veil` binary built from the same sources as this test.
///
/// `make test` builds it (`cargo build --bin veil`), and so does `cargo test --workspace`
/// (the gateway's own CLI tests need it). It is looked up next to the test executable
/// (`target/<profile>/veil`) and checked once per test process: a missing binary, or one built
/// from other sources than this test (a stale binary in a reused target directory), fails the
/// test with a message saying how to rebuild it, instead of testing old code.
pub fn veil_bin() -> PathBuf {
    static CHECKED: OnceLock<PathBuf> = OnceLock::new();
    CHECKED
        .get_or_init(|| {
            let exe = std::env::current_exe().expect("test executable");
            // target/<profile>/deps/<test> → target/<profile>/veil
            let bin = exe
                .parent()
                .and_then(Path::parent)
                .map(|dir| dir.join("veil"))
                .expect("target directory");
            if let Err(problem) = check_veil_bin(&bin, veil_gateway::BUILD_ID) {
                panic!("{problem}");
            }
            bin
        })
        .clone()
}

/// Checks that `bin` is a `veil` binary built from the sources with id `build_id`
/// ([`veil_gateway::BUILD_ID`]), by what its `--version` reports.
///
/// # Errors
/// A message naming the binary and what is wrong: missing, not runnable, or built from other
/// sources (both ids given), with the command that rebuilds it.
pub fn check_veil_bin(bin: &Path, build_id: &str) -> Result<(), String> {
    const REBUILD: &str =
        "build it from this checkout with `cargo build --bin veil` (or run `make test`)";
    if !bin.exists() {
        return Err(format!("{} is missing: {REBUILD}", bin.display()));
    }
    let output = Command::new(bin)
        .arg("--version")
        .output()
        .map_err(|e| format!("{} does not run ({e}): {REBUILD}", bin.display()))?;
    let version = String::from_utf8_lossy(&output.stdout);
    let reported = version
        .split_once("(build ")
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(id, _)| id.trim().to_owned());
    match reported {
        Some(id) if id == build_id => Ok(()),
        Some(id) => Err(format!(
            "{} was built from other sources (build {id}) than this test (build {build_id}): \
             it is stale; {REBUILD}",
            bin.display()
        )),
        None => Err(format!(
            "{} reports no build id (`--version` printed {:?}): it is stale; {REBUILD}",
            bin.display(),
            version.trim()
        )),
    }
}

/// A base port such that every port `veil init` assigns from it is free right now, reserved
/// for the caller until the returned lease is dropped (tests run in parallel, and beside any
/// other consortium on the machine).
pub fn free_base_port(banks: usize, regulators: usize) -> veil_gateway::consortium::PortLease {
    veil_gateway::consortium::lease_base_port(None, banks, regulators)
        .expect("no free port range on loopback")
}

/// A consortium directory made by `veil init`, deleted when dropped.
#[derive(Debug)]
pub struct ConsortiumDir {
    /// Keeps the directory alive.
    pub temp: tempfile::TempDir,
    /// Number of banks.
    pub banks: usize,
    /// Keeps the consortium's ports reserved.
    pub ports: veil_gateway::consortium::PortLease,
}

impl ConsortiumDir {
    /// Runs `veil init` with `banks` banks and one regulator on free ports.
    pub fn init(banks: usize) -> Self {
        Self::init_with(banks, &[])
    }

    /// [`ConsortiumDir::init`] for a consortium that does not screen borrowers: for tests
    /// that submit node-level test entries (`veil_node::testkit`) straight to nodes.
    pub fn init_unscreened(banks: usize) -> Self {
        Self::init_with(banks, &["--no-screening"])
    }

    fn init_with(banks: usize, extra: &[&str]) -> Self {
        let temp = tempfile::Builder::new()
            .prefix("veil-test-")
            .tempdir()
            .unwrap();
        let ports = free_base_port(banks, 1);
        let status = Command::new(veil_bin())
            .args(["init", "--dir"])
            .arg(temp.path())
            .args([
                "--banks",
                &banks.to_string(),
                "--base-port",
                &ports.base().to_string(),
                "--force",
            ])
            .args(extra)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "veil init failed");
        Self { temp, banks, ports }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        self.temp.path()
    }

    /// Bank `i`'s id.
    pub fn bank(&self, i: usize) -> String {
        format!("bank-{}", (b'a' + i as u8) as char)
    }

    /// A link to bank `i`'s node API with that bank's gateway client certificate.
    pub fn node_link(&self, i: usize) -> NodeLink {
        Self::node_link_in(self.path(), &self.bank(i))
    }

    /// A link to `bank`'s node API in consortium directory `dir`, with `bank`'s gateway
    /// client certificate.
    pub fn node_link_in(dir: &Path, bank: &str) -> NodeLink {
        let (client, address) = Self::node_client_in(dir, bank);
        NodeLink::Remote(RemoteNode::new(client, address))
    }

    /// An HTTPS client with `bank`'s gateway client certificate for its node API, and that
    /// API's address, in consortium directory `dir`.
    pub fn node_client_in(dir: &Path, bank: &str) -> (reqwest::Client, std::net::SocketAddr) {
        let keys = dir.join(bank).join("keys");
        let anchors = tls::load_certs(&dir.join(bank).join("ca").join("ca.pem")).unwrap();
        let client = tls::https_client(
            &TlsFiles {
                cert: &keys.join("node-client.pem"),
                key: &keys.join("node-client.key"),
                anchors: &anchors,
            },
            Duration::from_secs(60),
        )
        .unwrap();
        let config =
            veil_node::config::NodeConfig::load(&dir.join(bank).join("node.toml")).unwrap();
        (client, config.api.listen)
    }
}

/// A `veil node` or `veil gateway` process, run from the config `veil init` wrote.
#[derive(Debug)]
pub struct NodeProcess {
    child: Option<Child>,
    command: &'static str,
    config: PathBuf,
    log: PathBuf,
    dev: bool,
}

/// A `veil gateway` process.
pub type GatewayProcess = NodeProcess;

impl NodeProcess {
    /// Starts bank `i`'s node.
    pub fn start(dir: &ConsortiumDir, i: usize) -> Self {
        Self::spawn(dir.path(), &dir.bank(i), "node")
    }

    /// Starts the gateway of `id` (a bank, or `regulator`).
    pub fn gateway(dir: &Path, id: &str) -> Self {
        Self::spawn(dir, id, "gateway")
    }

    fn spawn(dir: &Path, id: &str, command: &'static str) -> Self {
        let config = dir.join(id).join(format!("{command}.toml"));
        let log = dir.join(format!("{id}-{command}.log"));
        Self::with_config(command, config, log, true)
    }

    /// Starts `veil <command> --config <config>` (`command` is `node` or `gateway`), with
    /// `--dev` if `dev`, logging to `log`.
    pub fn with_config(command: &'static str, config: PathBuf, log: PathBuf, dev: bool) -> Self {
        let mut process = Self {
            child: None,
            command,
            config,
            log,
            dev,
        };
        process.restart();
        process
    }

    /// Starts the process again (after a kill).
    pub fn restart(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let mut command = Command::new(veil_bin());
        command.arg(self.command);
        if self.dev {
            command.arg("--dev");
        }
        let child = command
            .arg("--config")
            .arg(&self.config)
            .env("RUST_LOG", "info,commonware=warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
    }

    /// `kill -9`.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then wait for a clean exit (up to 20 s). Returns whether it exited cleanly.
    pub fn terminate(&mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            return true;
        };
        let sent = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status()
            .unwrap_or_else(|e| panic!("cannot run `kill` ({e}): run `make deps` (procps)"));
        assert!(sent.success(), "`kill -TERM {}` failed", child.id());
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        false
    }

    /// Panics, with the process's log, if it has exited (for instance because it could not
    /// bind its ports): a test then fails at once with the reason instead of timing out.
    pub fn assert_running(&mut self) {
        if let Some(child) = self.child.as_mut()
            && let Ok(Some(status)) = child.try_wait()
        {
            panic!(
                "`veil {}` ({}) exited with {status}; its log:\n{}",
                self.command,
                self.config.display(),
                self.log()
            );
        }
    }

    /// The process log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Waits until every node in `nodes` answers on its link in `links` (same order), failing at
/// once with a node's log if it exits meanwhile.
pub async fn nodes_answering(nodes: &mut [NodeProcess], links: &[NodeLink], timeout: Duration) {
    for (node, link) in nodes.iter_mut().zip(links) {
        eventually(timeout, "a node to answer", || {
            node.assert_running();
            status(link)
        })
        .await;
    }
}

/// Polls `check` every 100 ms until it returns `Some`, or panics after `timeout`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Submits `entry` through `link` until it is finalized, retrying like a client: after a
/// timeout or a node restart, a "replay" answer means an earlier attempt was finalized.
pub async fn submit_until_finalized(
    link: &NodeLink,
    entry: &veil_node::ledger::Entry,
    timeout: Duration,
) -> veil_node::state::Receipt {
    let bytes = entry.encode();
    let id = entry.header.id;
    eventually(timeout, "an entry to be finalized", || {
        let bytes = bytes.clone();
        async move {
            match link.submit(bytes.clone(), Duration::from_secs(20)).await {
                Ok(receipt) => Some(receipt),
                Err(veil_node::link::LinkError::Replay) => {
                    let stored = link.entry(&id).await.ok().flatten()?;
                    assert_eq!(stored.bytes, bytes, "another entry holds this id");
                    Some(veil_node::state::Receipt {
                        id,
                        height: stored.height,
                        block: [0; 32],
                    })
                }
                Err(_) => None,
            }
        }
    })
    .await
}

/// The status of a node, or `None` if it does not answer.
pub async fn status(link: &NodeLink) -> Option<Status> {
    link.status().await.ok()
}

/// An HTTPS client with the certificate and key at `cert`/`key`, trusting the consortium CA
/// of `dir`.
pub fn https(dir: &Path, cert: &Path, key: &Path) -> reqwest::Client {
    veil_gateway::client::https(dir, cert, key).unwrap()
}

/// `bank`'s client for `role` (`clerk`, `auditor`).
pub fn member_client(dir: &Path, bank: &str, role: &str) -> reqwest::Client {
    let (cert, key) = veil_gateway::client::identity_files(dir, bank, Some(role)).unwrap();
    https(dir, &cert, &key)
}

/// The regulator's client.
pub fn regulator_client(dir: &Path) -> reqwest::Client {
    let (cert, key) = veil_gateway::client::identity_files(dir, "regulator", None).unwrap();
    https(dir, &cert, &key)
}

/// An embedded consortium (`veil up` in this process) and its gateway URLs.
#[derive(Debug)]
pub struct Harness {
    /// The running consortium.
    pub embedded: veil_gateway::embedded::Embedded,
    /// Gateway URLs by id, from `endpoints.json`.
    pub urls: std::collections::BTreeMap<String, String>,
}

impl Harness {
    /// Starts a new consortium of the banks `members` (ids as the banks chose them, in genesis
    /// order) and one regulator in `dir` on free ports.
    pub async fn start_members(dir: &Path, members: &[String]) -> Self {
        Self::start_with(
            dir,
            veil_gateway::consortium::init::InitOptions {
                banks: members.len(),
                members: Some(members.to_vec()),
                base_port: free_base_port(members.len(), 1).base(),
                force: true,
                ..Default::default()
            },
        )
        .await
    }

    /// Starts (initializing if needed) the consortium in `dir` on free ports.
    pub async fn start(dir: &Path) -> Self {
        // `Embedded::start` leases free ports for a new consortium.
        Self::start_with(
            dir,
            veil_gateway::consortium::init::InitOptions {
                base_port: free_base_port(4, 1).base(),
                force: true,
                ..Default::default()
            },
        )
        .await
    }

    /// Starts (initializing if needed) the consortium in `dir` made with `options`, and reads
    /// its gateways' URLs from `endpoints.json`.
    async fn start_with(dir: &Path, options: veil_gateway::consortium::init::InitOptions) -> Self {
        let embedded = veil_gateway::embedded::Embedded::start(dir, &options)
            .await
            .unwrap();
        let urls =
            serde_json::from_str(&std::fs::read_to_string(dir.join("endpoints.json")).unwrap())
                .unwrap();
        Self { embedded, urls }
    }

    /// The URL of `path` on `gateway`.
    pub fn url(&self, gateway: &str, path: &str) -> String {
        format!("{}{path}", self.urls[gateway])
    }

    /// [`Harness::start`], then bank-a's clerk registers the contract's example borrower
    /// ([`BORROWER`]): returns the harness, the clerk's client and bank-a's `/v1/entries` URL.
    pub async fn with_example_borrower(dir: &Path) -> (Self, reqwest::Client, String) {
        let harness = Self::start(dir).await;
        let clerk = member_client(dir, "bank-a", "clerk");
        let url = harness.url("bank-a", "/v1/entries");
        register_borrowers(&clerk, &url, &[BORROWER]).await;
        (harness, clerk, url)
    }
}

/// POSTs JSON, with an optional Idempotency-Key; returns status and JSON body.
pub async fn post_json(
    client: &reqwest::Client,
    url: &str,
    body: &serde_json::Value,
    key: Option<&str>,
) -> (reqwest::StatusCode, serde_json::Value) {
    let mut request = client.post(url).json(body);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (
        status,
        response.json().await.unwrap_or(serde_json::Value::Null),
    )
}

/// GETs JSON; returns status and body.
pub async fn get_json(
    client: &reqwest::Client,
    url: &str,
) -> (reqwest::StatusCode, serde_json::Value) {
    let response = client.get(url).send().await.unwrap();
    let status = response.status();
    (
        status,
        response.json().await.unwrap_or(serde_json::Value::Null),
    )
}

/// GETs JSON until it answers 200 (another member's node may finalize a block moments after
/// the writer's), for at most 20 s; returns the last answer.
pub async fn get_until_found(
    client: &reqwest::Client,
    url: &str,
) -> (reqwest::StatusCode, serde_json::Value) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = get_json(client, url).await;
        if status != reqwest::StatusCode::NOT_FOUND || Instant::now() > deadline {
            return (status, body);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Adds `national_ids` to the consortium's KYC registry through the member gateway's
/// `entries_url` (`.../v1/entries`): every loan's borrower must be registered first.
/// Retries for up to a minute while the gateway is not yet reachable or not yet ready.
pub async fn register_borrowers(
    client: &reqwest::Client,
    entries_url: &str,
    national_ids: &[&str],
) {
    let body = veil_gateway::scenario::kyc_request(national_ids);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let answer = client
            .post(entries_url)
            // A retry must not register twice; the key must not carry the national ids
            // (keys are stored in clear).
            .header(
                "Idempotency-Key",
                format!("register-{:016x}", fnv1a(national_ids)),
            )
            .json(&body)
            .send()
            .await;
        match answer {
            Ok(response) if response.status() == reqwest::StatusCode::CREATED => return,
            // 503: not ready yet; 504: not finalized in time, retried with the same key.
            Ok(response)
                if response.status() != reqwest::StatusCode::SERVICE_UNAVAILABLE
                    && response.status() != reqwest::StatusCode::GATEWAY_TIMEOUT =>
            {
                let status = response.status();
                let text = response.text().await.unwrap_or_default();
                panic!("registering borrowers: {status}: {text}");
            }
            _ => {}
        }
        assert!(
            Instant::now() < deadline,
            "the gateway never registered the borrowers"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// FNV-1a over `items`, each followed by a 0 byte.
fn fnv1a(items: &[&str]) -> u64 {
    items
        .iter()
        .flat_map(|item| item.bytes().chain([0]))
        .fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        })
}

/// Copies the file or directory tree `from` to `to` (what a host receives, in tests of
/// separate hosts).
pub fn copy_tree(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            copy_tree(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        std::fs::copy(from, to).unwrap();
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl (make deps installs it)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A bank's own PKI, made with openssl in `dir`: an RSA-2048 root, an ECDSA P-384 issuing
/// intermediate, and the intermediate's certificates (ECDSA P-256, `<name>.pem` and `.key`) for
/// the bank's node API (`node-api`), gateway (`gateway`), gateway-to-node client
/// (`node-client`) and clerk (`clerk`). Returns the chain file (intermediate, then root).
pub fn openssl_bank_pki(dir: &Path, id: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let ext = dir.join("ext.cnf");
    std::fs::write(
        &ext,
        "[ca]\nbasicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign,cRLSign\n\
         [server]\nbasicConstraints=CA:false\nextendedKeyUsage=serverAuth\n\
         subjectAltName=DNS:localhost,IP:127.0.0.1\n\
         [client]\nbasicConstraints=CA:false\nextendedKeyUsage=clientAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "root.key",
            "-out",
            "root.pem",
            "-days",
            "3650",
            "-subj",
            "/CN=Bank Root CA",
            "-addext",
            "basicConstraints=critical,CA:true",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-384",
            "-nodes",
            "-keyout",
            "issuing.key",
            "-out",
            "issuing.csr",
            "-subj",
            "/CN=Bank Veil Issuing CA",
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "issuing.csr",
            "-CA",
            "root.pem",
            "-CAkey",
            "root.key",
            "-set_serial",
            "2",
            "-days",
            "1825",
            "-extfile",
            "ext.cnf",
            "-extensions",
            "ca",
            "-out",
            "issuing.pem",
        ],
    );
    for (name, cn, kind) in [
        ("node-api", format!("{id}:node"), "server"),
        ("gateway", format!("{id}:gateway-server"), "server"),
        ("node-client", format!("{id}:gateway"), "client"),
        ("clerk", format!("{id}:clerk"), "client"),
    ] {
        openssl_issue(dir, name, &cn, kind);
    }
    let chain = dir.join("chain.pem");
    let mut text = std::fs::read_to_string(dir.join("issuing.pem")).unwrap();
    text.push_str(&std::fs::read_to_string(dir.join("root.pem")).unwrap());
    std::fs::write(&chain, text).unwrap();
    chain
}

/// Issues `<name>.pem` and `<name>.key` (ECDSA P-256) for subject common name `cn` from the PKI
/// [`openssl_bank_pki`] made in `dir`; `kind` is `server` or `client`.
pub fn openssl_issue(dir: &Path, name: &str, cn: &str, kind: &str) {
    let (key, csr, pem) = (
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("{name}.pem"),
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &csr,
            "-subj",
            &format!("/CN={cn}"),
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "issuing.pem",
            "-CAkey",
            "issuing.key",
            "-set_serial",
            "7",
            "-days",
            "365",
            "-extfile",
            "ext.cnf",
            "-extensions",
            kind,
            "-out",
            &pem,
        ],
    );
}

/// Checks Prometheus text exposition `text` with `promtool check metrics` (Prometheus' own
/// linter: types, HELP, names, units); panics with its findings. `make deps` installs it
/// (Debian package `prometheus`).
pub fn promtool_check(text: &str) {
    use std::io::Write as _;
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool runs (`make deps` installs the Debian package `prometheus`)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "promtool check metrics: {}{}\n--- metrics ---\n{text}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
}

/// The sum of the samples in Prometheus text `text` whose metric name ends with `name` and
/// whose labels contain `label` (e.g. `proof="range"`; empty for any), or `None` if none.
pub fn metric_sum(text: &str, name: &str, label: &str) -> Option<f64> {
    let mut found = None;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let (metric, labels) = series.split_once('{').unwrap_or((series, ""));
        if metric.ends_with(name) && labels.contains(label) {
            *found.get_or_insert(0.0) += value.parse::<f64>().unwrap_or(f64::NAN);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    /// A stand-in `veil` that prints `version` for `--version`.
    fn planted(dir: &Path, version: &str) -> PathBuf {
        let bin = dir.join("veil");
        std::fs::write(&bin, format!("#!/bin/sh\necho '{version}'\n")).unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        bin
    }

    #[test]
    fn a_binary_built_from_other_sources_is_refused_with_a_rebuild_hint() {
        let temp = tempfile::tempdir().unwrap();
        let id = veil_gateway::BUILD_ID;
        let stale = planted(
            temp.path(),
            "veil 0.1.0 (build 00000000000000000000000000000000)",
        );
        let problem = check_veil_bin(&stale, id).unwrap_err();
        assert!(problem.contains("stale"), "{problem}");
        assert!(problem.contains(id), "{problem}");
        assert!(problem.contains("cargo build --bin veil"), "{problem}");

        // An older binary that predates build ids.
        let old = planted(temp.path(), "veil 0.1.0");
        let problem = check_veil_bin(&old, id).unwrap_err();
        assert!(problem.contains("no build id"), "{problem}");

        let current = planted(temp.path(), &format!("veil {}", veil_gateway::VERSION));
        check_veil_bin(&current, id).unwrap();
    }

    #[test]
    fn a_missing_binary_is_refused_with_a_rebuild_hint() {
        let temp = tempfile::tempdir().unwrap();
        let problem =
            check_veil_bin(&temp.path().join("veil"), veil_gateway::BUILD_ID).unwrap_err();
        assert!(problem.contains("missing"), "{problem}");
        assert!(problem.contains("cargo build --bin veil"), "{problem}");
    }

    /// Two leases never overlap, and a leased range is free to bind.
    #[test]
    fn port_leases_do_not_overlap() {
        let leases: Vec<_> = (0..20).map(|_| free_base_port(4, 1)).collect();
        let mut ports = std::collections::BTreeSet::new();
        for lease in &leases {
            let base = lease.base();
            for port in (0..4).flat_map(|i| [base + 10 * i, base + 10 * i + 1, base + 10 * i + 2]) {
                assert!(ports.insert(port), "port {port} leased twice");
            }
            assert!(ports.insert(base + 700), "port {} leased twice", base + 700);
        }
    }
}
