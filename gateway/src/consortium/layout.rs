//! Where things are in a consortium directory, as `veil init` writes it (see `docs/api.md`,
//! "`veil init` layout"): the paths several modules share are built here. (`init` and the
//! `veil` subcommands still build some per-party paths themselves.)
//!
//! ```text
//! DIR/consortium.toml                         the genesis
//! DIR/endpoints.json                          gateway URLs, while an embedded consortium runs
//! DIR/circuits/settlement-<capacity>.pk       proving keys (beside the genesis)
//! DIR/circuits/screening.pk
//! DIR/<party>/member.json, regulator.json     a party's signed descriptor
//! DIR/<party>/ca/ca.pem                       a party's issuing CA certificate
//! DIR/<member>/node.toml, gateway.toml        one process's config each
//! DIR/<member>/clients/<role>.pem, .key       a bank's client certificates
//! DIR/<regulator>/client.pem, .key, view.key  a regulator's
//! ```

use std::path::{Path, PathBuf};

/// `DIR/consortium.toml`: the genesis.
pub fn genesis(dir: &Path) -> PathBuf {
    dir.join("consortium.toml")
}

/// `DIR/endpoints.json`: every gateway's URL, written by a running embedded consortium.
pub fn endpoints_path(dir: &Path) -> PathBuf {
    dir.join("endpoints.json")
}

/// `DIR/<id>/ca/ca.pem`: party `id`'s issuing CA certificate (a bank's applications trust
/// its gateway by it).
pub fn party_ca(dir: &Path, id: &str) -> PathBuf {
    dir.join(id).join("ca").join("ca.pem")
}

/// `DIR/<id>/gateway.toml`.
pub fn gateway_config(dir: &Path, id: &str) -> PathBuf {
    dir.join(id).join("gateway.toml")
}

/// `DIR/<bank>/node.toml`.
pub fn node_config(dir: &Path, bank: &str) -> PathBuf {
    dir.join(bank).join("node.toml")
}

/// The proving keys' directory beside the genesis file `consortium` (`DIR/circuits`).
pub fn circuits_dir(consortium: &Path) -> PathBuf {
    consortium
        .parent()
        .map_or_else(|| PathBuf::from("circuits"), |dir| dir.join("circuits"))
}

/// The file of the settlement proving key of `capacity` in the circuits directory `dir`.
pub fn settlement_key_path(dir: &Path, capacity: usize) -> PathBuf {
    dir.join(format!("settlement-{capacity}.pk"))
}

/// The file of the screening proving key in the circuits directory `dir`.
pub fn screening_key_path(dir: &Path) -> PathBuf {
    dir.join("screening.pk")
}
