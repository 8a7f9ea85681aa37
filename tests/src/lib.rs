//! # veil-tests
//!
//! Multi-member end-to-end, fault and privacy tests (under `tests/tests/`), and the helpers
//! they share: finding the `veil` binary, making consortia on free loopback ports, running
//! nodes and gateways as real processes, and talking to them over mutual TLS.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use veil_node::link::{NodeLink, RemoteNode, Status};
use veil_node::tls::{self, TlsFiles};

/// The `veil` binary of this build (`cargo test --workspace --all-targets` builds it).
pub fn veil_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    // target/<profile>/deps/<test> → target/<profile>/veil
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .map(|dir| dir.join("veil"))
        .expect("target directory");
    assert!(
        bin.exists(),
        "{} is missing: build it with `cargo build --bin veil` (or run `make test`)",
        bin.display()
    );
    bin
}

/// A base port such that every port `veil init` assigns from it is free right now.
pub fn free_base_port(banks: usize, regulators: usize) -> u16 {
    let seed = std::process::id() as u64
        ^ std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
    for attempt in 0..200u64 {
        let base = 20_000
            + ((seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(attempt * 7919))
                % 3_900) as u16
                * 10;
        let mut ports: Vec<u16> = (0..banks as u16)
            .flat_map(|i| [base + 10 * i, base + 10 * i + 1, base + 10 * i + 2])
            .collect();
        ports.extend((0..regulators as u16).map(|j| base + 500 + j));
        if ports
            .iter()
            .all(|p| TcpListener::bind(("127.0.0.1", *p)).is_ok())
        {
            return base;
        }
    }
    panic!("no free port range found");
}

/// A consortium directory made by `veil init`, deleted when dropped.
#[derive(Debug)]
pub struct ConsortiumDir {
    /// Keeps the directory alive.
    pub temp: tempfile::TempDir,
    /// Number of banks.
    pub banks: usize,
}

impl ConsortiumDir {
    /// Runs `veil init` with `banks` banks and one regulator on free ports.
    pub fn init(banks: usize) -> Self {
        let temp = tempfile::Builder::new()
            .prefix("veil-test-")
            .tempdir()
            .unwrap();
        let base = free_base_port(banks, 1);
        let status = Command::new(veil_bin())
            .args(["init", "--dir"])
            .arg(temp.path())
            .args([
                "--banks",
                &banks.to_string(),
                "--base-port",
                &base.to_string(),
                "--force",
            ])
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "veil init failed");
        Self { temp, banks }
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
        let bank = self.bank(i);
        let keys = self.path().join(&bank).join("keys");
        let client = tls::https_client(
            &TlsFiles {
                cert: &keys.join("node-client.pem"),
                key: &keys.join("node-client.key"),
                ca: &self.path().join("ca/ca.pem"),
                crl: None,
            },
            Duration::from_secs(60),
        )
        .unwrap();
        let config =
            veil_node::config::NodeConfig::load(&self.path().join(&bank).join("node.toml"))
                .unwrap();
        NodeLink::Remote(RemoteNode::new(client, config.api.listen))
    }
}

/// A `veil node` process.
#[derive(Debug)]
pub struct NodeProcess {
    child: Option<Child>,
    config: PathBuf,
    log: PathBuf,
}

impl NodeProcess {
    /// Starts bank `i`'s node.
    pub fn start(dir: &ConsortiumDir, i: usize) -> Self {
        let bank = dir.bank(i);
        let config = dir.path().join(&bank).join("node.toml");
        let log = dir.path().join(format!("{bank}-node.log"));
        let mut process = Self {
            child: None,
            config,
            log,
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
        let child = Command::new(veil_bin())
            .args(["node", "--config"])
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
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
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

/// The status of a node, or `None` if it does not answer.
pub async fn status(link: &NodeLink) -> Option<Status> {
    link.status().await.ok()
}
