//! The circuits a ceremony makes keys for: their names in the ceremony directory, the label
//! their phase-2 contributions are bound to, and their starting keys from phase 1.

use veil_circuits::ceremony::{self, Powers};
use veil_circuits::screening::ScreeningCircuit;
use veil_circuits::settlement::{PARTICIPANT_SLOTS, SettlementCircuit, Shape};
use veil_circuits::{CircuitError, ProvingKey};

/// One circuit whose keys a ceremony makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CeremonyCircuit {
    /// The settlement circuit of this capacity.
    Settlement(usize),
    /// The borrower screening circuit.
    Screening,
}

impl CeremonyCircuit {
    /// Its name in the ceremony directory: `settlement-<capacity>` or `screening`.
    pub fn name(self) -> String {
        match self {
            Self::Settlement(capacity) => format!("settlement-{capacity}"),
            Self::Screening => "screening".into(),
        }
    }

    /// The label phase-2 contributions are bound to (the settlement circuit's bank slots are
    /// a loan's participants, [`PARTICIPANT_SLOTS`], whatever the consortium's size).
    pub(super) fn id(self) -> String {
        match self {
            Self::Settlement(capacity) => {
                format!("settlement-{capacity}-slots-{PARTICIPANT_SLOTS}")
            }
            Self::Screening => "screening-v1".into(),
        }
    }

    /// The phase-1 domain the circuit needs.
    pub(super) fn domain_size(self) -> Result<usize, CircuitError> {
        match self {
            Self::Settlement(capacity) => ceremony::domain_size(SettlementCircuit::blank(
                Shape::new(capacity, PARTICIPANT_SLOTS)?,
            )),
            Self::Screening => ceremony::domain_size(ScreeningCircuit::blank()),
        }
    }

    /// The phase-2 starting key from the final phase-1 `powers`.
    pub(super) fn initial_key(self, powers: &Powers) -> Result<ProvingKey, CircuitError> {
        match self {
            Self::Settlement(capacity) => ceremony::initial_key(
                powers,
                SettlementCircuit::blank(Shape::new(capacity, PARTICIPANT_SLOTS)?),
            ),
            Self::Screening => ceremony::initial_key(powers, ScreeningCircuit::blank()),
        }
    }
}
