//! `registry.updated`: a change to the KYC registry and the blocklist, by borrower reference.

use veil_node::ledger::EntryId;
use veil_policies::schema::EntryType;

use crate::entry::error::EntryError;
use crate::entry::request::{ListChanges, RegistryUpdated};

use super::*;

impl Builder<'_> {
    /// A `registry.updated` entry applying `update` to the current registry `current`
    /// (version `previous`, none if the registry is still empty). A borrower another member
    /// put on the blocklist or the KYC registry cannot be taken off it here (nodes refuse it
    /// too).
    pub fn registry(
        &self,
        update: &RegistryUpdated,
        previous: Option<EntryId>,
        current: &dyn veil_circuits::screening::stored::RegistryKv,
        period: &str,
        now_ms: u64,
    ) -> Result<Built, EntryError> {
        use veil_circuits::screening::{Change, RegistryUpdate};
        let reference = |id: &String| {
            self.borrower_ref(id)
                .map(|r| veil_circuits::screening::Reference::of_borrower_ref(&r))
        };
        let mut changes: Vec<Change> = Vec::new();
        for id in &update.kyc.add {
            changes.push(Change::AddKyc(reference(id)?));
        }
        for id in &update.kyc.remove {
            changes.push(Change::RemoveKyc(reference(id)?));
        }
        for id in &update.blocklist.add {
            changes.push(Change::AddBlocklist(reference(id)?));
        }
        for id in &update.blocklist.remove {
            changes.push(Change::RemoveBlocklist(reference(id)?));
        }
        changes.sort_unstable();
        if changes.windows(2).any(|w| w[0] == w[1]) {
            return Err(EntryError::malformed(
                "a national id appears twice in one list",
            ));
        }
        use veil_circuits::screening::stored::{self, Overlay, StoredRegistryError};
        for change in &changes {
            let (kyc, reference, list) = match change {
                Change::RemoveBlocklist(reference) => (false, reference, "the blocklist"),
                Change::RemoveKyc(reference) => (true, reference, "the KYC registry"),
                Change::AddKyc(_) | Change::AddBlocklist(_) => continue,
            };
            if let Some((_, adder)) =
                stored::member(current, kyc, reference).map_err(super::registry_error)?
                && adder != self.member.as_bytes()
            {
                let adder = String::from_utf8_lossy(&adder);
                return Err(EntryError::invalid(format!(
                    "a borrower to take off {list} was put on it by {adder}: only {adder} may \
                     take it off"
                )));
            }
        }
        let mut next = Overlay::new(current);
        next.apply(&changes, self.member.as_bytes())
            .map_err(|e| match e {
                StoredRegistryError::Circuit(veil_circuits::CircuitError::Unsatisfied(why)) => {
                    EntryError::invalid(why.to_string())
                }
                StoredRegistryError::Circuit(other) => EntryError::invalid(other.to_string()),
                other => internal(other),
            })?;
        let roots = stored::roots(&next).map_err(super::registry_error)?;
        let circuit = RegistryUpdate { roots, changes }.to_bytes();
        let list = |path: &str, changes: &ListChanges| Field {
            path: path.into(),
            plaintext: json(changes),
        };
        self.assemble(
            self.entry_nonce(),
            EntryType::RegistryUpdated,
            period,
            previous.into_iter().collect(),
            &[],
            vec![
                list("kyc", &update.kyc),
                list("blocklist", &update.blocklist),
            ],
            Vec::new(),
            &[],
            |_, _, _| {
                Ok(Extra {
                    participant: Vec::new(),
                    circuit,
                    proofs: ProofTimes::default(),
                })
            },
            now_ms,
        )
    }
}
