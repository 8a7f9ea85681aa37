//! The repayment allocation rule: how one repayment is split among a loan's participants.
//!
//! A loan's participants hold shares in basis points that sum to [`BASIS_POINTS`]. A repayment
//! of `amount` fen gives every participant but the originator `floor(amount × share / 10000)`,
//! and the originator the rest: the rounding remainders stay with the originator, and the
//! allocations always sum to the amount.
//!
//! This module is the rule's one definition: the gateway allocates each repayment with
//! [`allocate`], and the settlement circuit (`veil_circuits::settlement`) proves the amounts due
//! that it implies, so the two cannot drift apart.

/// Basis points in a whole: a loan's shares sum to this.
pub const BASIS_POINTS: u64 = 10_000;

/// Splits `amount` (in fen) among the participants holding `shares_bps` (each participant's
/// share in basis points, in participant order), the rounding remainder to participant
/// `originator` (an index into `shares_bps`).
///
/// Returns one allocation per participant, in the same order: every participant `b` other
/// than the originator gets exactly `floor(amount × shares_bps[b] / 10000)`, the originator
/// `amount` minus all of those, so the allocations sum to `amount`.
///
/// `None` when `originator` is not an index of `shares_bps` or the shares do not sum to
/// [`BASIS_POINTS`]. Never panics, whatever the input: products and sums are taken in `u128`.
pub fn allocate(amount: u64, shares_bps: &[u64], originator: usize) -> Option<Vec<u64>> {
    let total: u128 = shares_bps.iter().map(|share| u128::from(*share)).sum();
    if originator >= shares_bps.len() || total != u128::from(BASIS_POINTS) {
        return None;
    }
    let mut allocations: Vec<u64> = shares_bps
        .iter()
        .map(|share| floor_part(amount, *share))
        .collect();
    let others: u128 = allocations
        .iter()
        .enumerate()
        .filter(|(participant, _)| *participant != originator)
        .map(|(_, allocation)| u128::from(*allocation))
        .sum();
    // The shares sum to 10000, so the floors of the others sum to at most `amount`: the
    // subtraction never saturates.
    let remainder = u128::from(amount).saturating_sub(others);
    let own = allocations.get_mut(originator)?;
    *own = u64::try_from(remainder).ok()?;
    Some(allocations)
}

/// `floor(amount × share / 10000)`, for a share of at most [`BASIS_POINTS`] (so the result is
/// at most `amount`; larger shares saturate at `u64::MAX`).
fn floor_part(amount: u64, share: u64) -> u64 {
    let part = u128::from(amount) * u128::from(share) / u128::from(BASIS_POINTS);
    u64::try_from(part).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn the_others_get_the_floor_and_the_originator_the_rest() {
        assert_eq!(
            allocate(100, &[2_000, 3_333, 4_667], 0),
            Some(vec![21, 33, 46])
        );
        assert_eq!(
            allocate(100, &[3_333, 3_333, 3_334], 2),
            Some(vec![33, 33, 34])
        );
        assert_eq!(
            allocate(10_001, &[3_000, 3_333, 3_667], 0),
            Some(vec![10_001 - 3_333 - 3_667, 3_333, 3_667])
        );
        assert_eq!(allocate(0, &[5_000, 5_000], 1), Some(vec![0, 0]));
        assert_eq!(allocate(7, &[BASIS_POINTS], 0), Some(vec![7]));
    }

    #[test]
    fn extreme_amounts_do_not_overflow() {
        assert_eq!(
            allocate(u64::MAX, &[0, 10_000, 0], 0),
            Some(vec![0, u64::MAX, 0])
        );
        let split = allocate(u64::MAX, &[1, 9_998, 1], 2).unwrap();
        assert_eq!(
            split.iter().map(|a| u128::from(*a)).sum::<u128>(),
            u128::from(u64::MAX)
        );
    }

    #[test]
    fn malformed_shares_or_originators_are_refused() {
        assert_eq!(allocate(100, &[5_000, 5_001, 0], 0), None);
        assert_eq!(allocate(100, &[5_000, 4_999], 0), None);
        assert_eq!(allocate(100, &[5_000, 5_000], 2), None);
        assert_eq!(allocate(100, &[], 0), None);
        // Shares whose u64 sum would wrap around to 10000.
        assert_eq!(allocate(100, &[u64::MAX, 10_001], 0), None);
    }

    /// Shares summing to 10000 over 1 to 8 participants.
    fn arb_shares() -> impl Strategy<Value = Vec<u64>> {
        proptest::collection::vec(0..=BASIS_POINTS, 0..8).prop_map(|mut cuts| {
            cuts.sort_unstable();
            let mut shares = Vec::with_capacity(cuts.len() + 1);
            let mut previous = 0;
            for cut in cuts.into_iter().chain([BASIS_POINTS]) {
                shares.push(cut - previous);
                previous = cut;
            }
            shares
        })
    }

    proptest! {
        /// Allocations sum to the amount, and every participant but the originator gets the
        /// floor of its share.
        #[test]
        fn allocations_sum_to_the_amount_and_the_others_get_the_floor(
            amount in any::<u64>(),
            shares in arb_shares(),
            pick in any::<prop::sample::Index>(),
        ) {
            let originator = pick.index(shares.len());
            let allocations = allocate(amount, &shares, originator).unwrap();
            prop_assert_eq!(allocations.len(), shares.len());
            let total: u128 = allocations.iter().map(|a| u128::from(*a)).sum();
            prop_assert_eq!(total, u128::from(amount));
            for (participant, (allocation, share)) in allocations.iter().zip(&shares).enumerate() {
                if participant != originator {
                    let floor = u128::from(amount) * u128::from(*share) / 10_000;
                    prop_assert_eq!(u128::from(*allocation), floor);
                }
            }
        }

        /// Shares that do not sum to 10000 allocate nothing.
        #[test]
        fn shares_not_summing_to_a_whole_are_refused(
            amount in any::<u64>(),
            shares in proptest::collection::vec(0..=20_000u64, 1..8),
        ) {
            prop_assume!(shares.iter().sum::<u64>() != BASIS_POINTS);
            prop_assert_eq!(allocate(amount, &shares, 0), None);
        }
    }
}
