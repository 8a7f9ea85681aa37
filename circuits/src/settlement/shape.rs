//! The shape a settlement circuit (and its keys) is made for.

use crate::CircuitError;
use crate::error::ShapeError;
use crate::merkle;

/// Bits of one share (shares are below 2¹⁴ = 16384 > 10000).
pub const SHARE_BITS: usize = 14;
/// Most bank slots a settlement circuit has: the packed share vector must fit one field
/// element (18 × 14 = 252 bits).
pub const MAX_BANKS: usize = 18;
/// Bank slots of the circuit a consortium's keys are made for: the most participants one loan
/// has (an originator and up to three partners). A repayment's slots are its loan's
/// participants in ascending id order, unused slots zero; the consortium's size never enters.
pub const PARTICIPANT_SLOTS: usize = 4;
/// The capacities keys are made for. Each repayment is proved when it is written (real-time
/// clearing): one repayment, capacity 1, whatever the period's size.
pub const CAPACITIES: [usize; 1] = [1];

/// The shape a circuit (and its keys) is made for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Shape {
    /// Repayment slots (a power of 4); unused slots are padding.
    pub capacity: usize,
    /// Bank slots, in genesis member order.
    pub banks: usize,
}

impl Shape {
    /// A shape, checked.
    pub fn new(capacity: usize, banks: usize) -> Result<Self, CircuitError> {
        if !merkle::is_power_of_four(capacity) || capacity > 4096 {
            return Err(ShapeError::Capacity(capacity).into());
        }
        if banks == 0 || banks > MAX_BANKS {
            return Err(ShapeError::Banks {
                banks,
                max: MAX_BANKS,
            }
            .into());
        }
        Ok(Self { capacity, banks })
    }

    /// The smallest of `capacities` that holds `repayments`.
    pub fn fitting(capacities: &[usize], repayments: usize) -> Option<usize> {
        capacities
            .iter()
            .copied()
            .filter(|c| *c >= repayments)
            .min()
    }

    /// The number of public inputs (without the constant one).
    pub fn public_inputs(&self) -> usize {
        5 + self.banks
    }
}
