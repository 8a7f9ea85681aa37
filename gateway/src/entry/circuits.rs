//! The circuits' proving keys, as a member gateway uses them.
//!
//! Keys live beside the genesis, in `<consortium dir>/circuits/settlement-<capacity>.pk` and
//! `<consortium dir>/circuits/screening.pk` (written by `veil init`, from dev keys or a
//! verified ceremony). A key is loaded on first
//! use and refused unless its verifying key is the one the genesis pins for that capacity. Its
//! points are not subgroup-checked again at load (minutes for the largest key): a proving key
//! cannot make a false proof verify, and `veil init` validated it when it wrote it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use veil_circuits::ProvingKey;
use veil_node::genesis::Genesis;

use crate::consortium::layout::{self, screening_key_path, settlement_key_path};

/// Proving keys, loaded on first use.
#[derive(Debug)]
pub struct ProvingKeys {
    dir: PathBuf,
    loaded: Mutex<BTreeMap<String, Arc<ProvingKey>>>,
}

/// Why a proving key cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The genesis has no circuit of that capacity.
    #[error("the genesis has no settlement circuit for {0} repayments")]
    NoCircuit(usize),
    /// The genesis has no screening circuit.
    #[error("the genesis has no screening circuit")]
    NoScreening,
    /// The file is missing or unreadable.
    #[error("cannot read {path}: {reason}")]
    Read {
        /// File.
        path: String,
        /// Why.
        reason: String,
    },
    /// The file is not a valid key, or not the genesis's key.
    #[error("{path}: {reason}")]
    Invalid {
        /// File.
        path: String,
        /// Why.
        reason: String,
    },
}

impl ProvingKeys {
    /// Keys in `dir`.
    pub fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            loaded: Mutex::new(BTreeMap::new()),
        }
    }

    /// Keys beside the consortium file `consortium`.
    pub fn beside(consortium: &Path) -> Self {
        Self::new(layout::circuits_dir(consortium))
    }

    /// The settlement key of `capacity`, checked against the genesis.
    pub fn settlement(
        &self,
        genesis: &Genesis,
        capacity: usize,
    ) -> Result<Arc<ProvingKey>, KeyError> {
        let pinned = genesis
            .circuits
            .settlement
            .get(&capacity)
            .ok_or(KeyError::NoCircuit(capacity))?;
        self.load(settlement_key_path(&self.dir, capacity), pinned)
    }

    /// The screening key, checked against the genesis.
    pub fn screening(&self, genesis: &Genesis) -> Result<Arc<ProvingKey>, KeyError> {
        let pinned = genesis
            .circuits
            .screening
            .as_ref()
            .ok_or(KeyError::NoScreening)?;
        self.load(screening_key_path(&self.dir), pinned)
    }

    fn load(
        &self,
        path: PathBuf,
        pinned: &veil_circuits::VerifyingKey,
    ) -> Result<Arc<ProvingKey>, KeyError> {
        let name = path.display().to_string();
        if let Some(key) = self
            .loaded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&name)
        {
            return Ok(key.clone());
        }
        let display = path.display().to_string();
        let bytes = std::fs::read(&path).map_err(|e| KeyError::Read {
            path: display.clone(),
            reason: e.to_string(),
        })?;
        let key = ProvingKey::from_trusted_bytes(&bytes).map_err(|e| KeyError::Invalid {
            path: display.clone(),
            reason: e.to_string(),
        })?;
        if key.verifying_key().digest() != pinned.digest() {
            return Err(KeyError::Invalid {
                path: display,
                reason: "not the proving key of the genesis's verifying key".into(),
            });
        }
        let key = Arc::new(key);
        self.loaded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name, key.clone());
        Ok(key)
    }
}
