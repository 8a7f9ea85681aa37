//! Small gadgets shared by the circuits.

use ark_bn254::Fr;
use ark_ff::PrimeField as _;
use ark_r1cs_std::alloc::AllocVar as _;
use ark_r1cs_std::boolean::Boolean;
use ark_r1cs_std::fields::fp::FpVar;
use ark_relations::r1cs::{ConstraintSystemRef, SynthesisError};

/// A 16-byte entry id as a field element (little-endian; always below the modulus).
pub fn entry_field(id: &[u8; 16]) -> Fr {
    Fr::from_le_bytes_mod_order(id)
}

/// Allocates `value` as `n` witness bits (`n` booleanity constraints) and returns them with
/// their little-endian sum: a range check `0 ≤ value < 2ⁿ`. `value` is `None` in setup.
pub(crate) fn bits_of(
    cs: &ConstraintSystemRef<Fr>,
    value: Option<u64>,
    n: usize,
) -> Result<(Vec<Boolean<Fr>>, FpVar<Fr>), SynthesisError> {
    assert!(n <= 64, "bits_of takes at most 64 bits");
    let bits = (0..n)
        .map(|i| {
            Boolean::new_witness(cs.clone(), || {
                value
                    .map(|v| (v >> i) & 1 == 1)
                    .ok_or(SynthesisError::AssignmentMissing)
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let sum = Boolean::le_bits_to_fp(&bits)?;
    Ok((bits, sum))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_r1cs_std::R1CSVar as _;
    use ark_relations::r1cs::ConstraintSystem;

    #[test]
    fn bits_sum_to_the_value_and_cost_one_constraint_each() {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let (bits, sum) = bits_of(&cs, Some(0b1011), 14).unwrap();
        assert_eq!(bits.len(), 14);
        assert_eq!(sum.value().unwrap(), Fr::from(11u64));
        assert!(cs.is_satisfied().unwrap());
        assert_eq!(cs.num_constraints(), 14);
    }

    #[test]
    fn a_non_boolean_bit_is_refused() {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let _ = bits_of(&cs, Some(1), 4).unwrap();
        cs.borrow_mut().unwrap().witness_assignment[0] = Fr::from(2u64);
        assert!(!cs.is_satisfied().unwrap());
    }

    #[test]
    fn entry_ids_map_injectively() {
        let mut a = [0u8; 16];
        let b = a;
        a[15] = 1;
        assert_ne!(entry_field(&a), entry_field(&b));
    }
}
