//! What a `registry.updated` entry carries in its circuit-data slot.

use super::registry::{Change, Reference};
use super::statement::{Roots, VALUE_BYTES};
use crate::CircuitError;
use crate::error::RegistryUpdateError;
use crate::groth16::field;

/// Most changes one `registry.updated` entry carries (its circuit data stays under 64 KiB).
pub const MAX_CHANGES: usize = 2_000;

/// What a `registry.updated` entry carries in its circuit-data slot: the registry's new roots
/// and the changes that lead to them from the previous registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryUpdate {
    /// The roots after the changes.
    pub roots: Roots,
    /// The changes, sorted, without repeats.
    pub changes: Vec<Change>,
}

impl RegistryUpdate {
    /// `[32] KYC root || [32] blocklist root || u16 n || n × (u8 kind || [31] reference)`, the
    /// changes strictly ascending by kind (0 add KYC, 1 remove KYC, 2 add blocklist, 3 remove
    /// blocklist) then reference.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(66 + self.changes.len() * (1 + VALUE_BYTES));
        out.extend_from_slice(&field::to_bytes(&self.roots.kyc));
        out.extend_from_slice(&field::to_bytes(&self.roots.blocklist));
        out.extend_from_slice(&(self.changes.len() as u16).to_be_bytes());
        for change in &self.changes {
            let (code, reference) = change.code();
            out.push(code);
            out.extend_from_slice(&reference.0);
        }
        out
    }

    /// Decodes untrusted bytes: canonical roots, 1 to [`MAX_CHANGES`] changes in canonical
    /// order, no trailing bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CircuitError> {
        let bad = |why: RegistryUpdateError| CircuitError::Encoding(why.into());
        let truncated = || bad(RegistryUpdateError::Truncated);
        let (kyc, rest) = bytes.split_first_chunk::<32>().ok_or_else(truncated)?;
        let (blocklist, rest) = rest.split_first_chunk::<32>().ok_or_else(truncated)?;
        let (n, mut rest) = rest.split_first_chunk::<2>().ok_or_else(truncated)?;
        let n = usize::from(u16::from_be_bytes(*n));
        if n == 0 || n > MAX_CHANGES {
            return Err(bad(RegistryUpdateError::ChangeCount { max: MAX_CHANGES }));
        }
        if rest.len() != n * (1 + VALUE_BYTES) {
            return Err(bad(RegistryUpdateError::Length));
        }
        let mut changes = Vec::with_capacity(n);
        while let Some((code, tail)) = rest.split_first() {
            let (value, tail) = tail
                .split_first_chunk::<VALUE_BYTES>()
                .ok_or_else(truncated)?;
            let reference = Reference(*value);
            changes.push(match code {
                0 => Change::AddKyc(reference),
                1 => Change::RemoveKyc(reference),
                2 => Change::AddBlocklist(reference),
                3 => Change::RemoveBlocklist(reference),
                _ => return Err(bad(RegistryUpdateError::UnknownChange)),
            });
            rest = tail;
        }
        if !changes.windows(2).all(|w| w[0] < w[1]) {
            return Err(bad(RegistryUpdateError::Order));
        }
        Ok(Self {
            roots: Roots {
                kyc: field::from_bytes(kyc)?,
                blocklist: field::from_bytes(blocklist)?,
            },
            changes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::screening::fixtures::{reference, registry};

    #[test]
    fn updates_round_trip_and_refuse_non_canonical_bytes() {
        let update = RegistryUpdate {
            roots: registry(&[1], &[]).roots(),
            changes: vec![
                Change::AddKyc(reference(1)),
                Change::AddBlocklist(reference(2)),
            ],
        };
        let bytes = update.to_bytes();
        assert_eq!(RegistryUpdate::from_bytes(&bytes).unwrap(), update);
        let swapped = RegistryUpdate {
            changes: update.changes.iter().rev().copied().collect(),
            ..update.clone()
        };
        let repeated = RegistryUpdate {
            changes: vec![update.changes[0]; 2],
            ..update.clone()
        };
        let empty = RegistryUpdate {
            changes: Vec::new(),
            ..update.clone()
        };
        for bad in [swapped, repeated, empty] {
            assert!(RegistryUpdate::from_bytes(&bad.to_bytes()).is_err());
        }
        let mut unknown = bytes.clone();
        unknown[66] = 4;
        let mut non_canonical = bytes.clone();
        non_canonical[..32].copy_from_slice(&[0xff; 32]);
        for bad in [
            unknown,
            non_canonical,
            bytes[..bytes.len() - 1].to_vec(),
            [bytes.as_slice(), &[0]].concat(),
        ] {
            assert!(RegistryUpdate::from_bytes(&bad).is_err());
        }
    }
}
