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

/// Enforces `0 ≤ var < 2ⁿ` for a field variable by `n` witness bits summing to it
/// (`n + 1` constraints). `n` must stay below the field's 254 bits for this to be a range
/// check. `value` is `None` in setup.
pub(crate) fn enforce_bits(
    cs: &ConstraintSystemRef<Fr>,
    var: &FpVar<Fr>,
    value: Option<Fr>,
    n: usize,
) -> Result<(), SynthesisError> {
    use ark_ff::BigInteger as _;
    use ark_r1cs_std::eq::EqGadget as _;
    assert!(n < 253, "a range check needs fewer bits than the field");
    let repr = value.map(|v| v.into_bigint());
    let bits = (0..n)
        .map(|i| {
            Boolean::new_witness(cs.clone(), || {
                repr.map(|r| r.get_bit(i))
                    .ok_or(SynthesisError::AssignmentMissing)
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Boolean::le_bits_to_fp(&bits)?.enforce_equal(var)
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
    fn field_range_checks_refuse_values_that_do_not_fit() {
        for (value, fits) in [
            (Fr::from(255u64), true),
            (Fr::from(256u64), false),
            (-Fr::from(1u64), false),
        ] {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let var = FpVar::new_witness(cs.clone(), || Ok(value)).unwrap();
            enforce_bits(&cs, &var, Some(value), 8).unwrap();
            assert_eq!(cs.is_satisfied().unwrap(), fits, "{value}");
        }
    }

    #[test]
    fn entry_ids_map_injectively() {
        let mut a = [0u8; 16];
        let b = a;
        a[15] = 1;
        assert_ne!(entry_field(&a), entry_field(&b));
    }
}
