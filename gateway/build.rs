//! Build identity of the `veil` binary.
//!
//! Sets two compile-time variables:
//! - `VEIL_BUILD_ID`: SHA-256 (first 16 bytes, hex) over every source file the `veil` binary is
//!   built from (the `src/` trees and manifests of crypto, circuits, policies, node and gateway,
//!   the Cedar policies, the workspace manifest and `Cargo.lock`). `veil --version` prints it,
//!   and the end-to-end tests refuse a `veil` binary whose id differs from the one their own
//!   copy of this library was compiled with: a stale binary in a reused target directory
//!   fails loudly instead of being tested.
//! - `VEIL_CIRCUITS_ID`: the same over the circuits' sources only; it names the cached
//!   development circuit keys, so a changed circuit never loads keys made for an older one.

use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

/// Source trees of the binary, relative to the workspace root.
const BINARY_SOURCES: &[&str] = &[
    "Cargo.toml",
    "Cargo.lock",
    "crypto/Cargo.toml",
    "crypto/src",
    "circuits/Cargo.toml",
    "circuits/src",
    "policies/Cargo.toml",
    "policies/src",
    "policies/cedar",
    "node/Cargo.toml",
    "node/src",
    "gateway/Cargo.toml",
    "gateway/build.rs",
    "gateway/src",
];

/// Source trees of the circuits (their constraint systems and setup): the circuits crate and
/// what it takes from veil-crypto (domain labels, the allocation rule, basis points).
const CIRCUIT_SOURCES: &[&str] = &[
    "Cargo.lock",
    "circuits/Cargo.toml",
    "circuits/src",
    "crypto/Cargo.toml",
    "crypto/src",
    "gateway/src/consortium/circuit_keys.rs",
];

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let root = manifest
        .parent()
        .expect("gateway/ sits in the workspace")
        .to_path_buf();
    for source in BINARY_SOURCES {
        println!("cargo::rerun-if-changed={}", root.join(source).display());
    }
    println!(
        "cargo::rustc-env=VEIL_BUILD_ID={}",
        digest(&root, BINARY_SOURCES)
    );
    println!(
        "cargo::rustc-env=VEIL_CIRCUITS_ID={}",
        digest(&root, CIRCUIT_SOURCES)
    );
}

/// SHA-256 over (relative path, length, contents) of every file under `sources`, in path order.
fn digest(root: &Path, sources: &[&str]) -> String {
    let mut files = Vec::new();
    for source in sources {
        collect(&root.join(source), &mut files);
    }
    files.sort();
    let mut hasher = Sha256::new();
    for file in files {
        let contents = std::fs::read(&file).expect("read a source file");
        let relative = file.strip_prefix(root).expect("under the root");
        let name = relative.to_string_lossy();
        hasher.update((name.len() as u64).to_le_bytes());
        hasher.update(name.as_bytes());
        hasher.update((contents.len() as u64).to_le_bytes());
        hasher.update(&contents);
    }
    hex(&hasher.finalize()[..16])
}

fn collect(path: &Path, files: &mut Vec<PathBuf>) {
    if path.is_dir() {
        for entry in std::fs::read_dir(path).expect("read a source directory") {
            let entry = entry.expect("a directory entry").path();
            // Editor swap files and other hidden files are not sources.
            if !entry
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            {
                collect(&entry, files);
            }
        }
    } else if path.is_file() {
        files.push(path.to_path_buf());
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
