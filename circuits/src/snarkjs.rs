//! Export in snarkjs' Groth16 JSON (`proof.json`, `public.json`, `verification_key.json`;
//! curve `bn128`, decimal strings), so that `snarkjs groth16 verify` checks Veil's proofs.

use ark_bn254::{Bn254, Fq, Fq2, G1Affine, G2Affine};
use ark_ec::AffineRepr as _;
use ark_ec::pairing::Pairing as _;
use ark_ff::PrimeField as _;
use serde_json::{Value, json};

use crate::Fr;
use crate::groth16::{Proof, VerifyingKey, field};

fn fq(x: &Fq) -> String {
    x.into_bigint().to_string()
}

fn fq2(x: &Fq2) -> Value {
    json!([fq(&x.c0), fq(&x.c1)])
}

fn g1(p: &G1Affine) -> Value {
    match p.xy() {
        Some((x, y)) => json!([fq(&x), fq(&y), "1"]),
        None => json!(["0", "1", "0"]),
    }
}

fn g2(p: &G2Affine) -> Value {
    match p.xy() {
        Some((x, y)) => json!([fq2(&x), fq2(&y), ["1", "0"]]),
        None => json!([["0", "0"], ["1", "0"], ["0", "0"]]),
    }
}

/// Runs `snarkjs groth16 verify` on `dir/{verification_key,public,proof}.json`: `None` if
/// snarkjs is not installed, else whether it printed its OK.
pub fn run_snarkjs_verify(dir: &std::path::Path) -> Option<bool> {
    run_snarkjs_verify_with(&dir.join("verification_key.json"), dir)
}

/// Runs `snarkjs groth16 verify` on the verifying key `verification_key` (a
/// `verification_key.json`) and `dir/{public,proof}.json` (how `veil settlement export` lays
/// out a period's repayment proofs: one key, a folder per repayment).
pub fn run_snarkjs_verify_with(
    verification_key: &std::path::Path,
    dir: &std::path::Path,
) -> Option<bool> {
    let out = std::process::Command::new("snarkjs")
        .args(["groth16", "verify"])
        .arg(verification_key)
        .arg(dir.join("public.json"))
        .arg(dir.join("proof.json"))
        .output()
        .ok()?;
    Some(out.status.success() && String::from_utf8_lossy(&out.stdout).contains("OK"))
}

/// `snarkjs` is not installed and skipping its checks was not asked for; the message says how
/// to install it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "snarkjs is not installed: run `make deps` (installs it from npm), \
     or set VEIL_SKIP_SNARKJS=1 to skip the snarkjs checks"
)]
pub struct SnarkjsMissing;

/// Whether the checks that run `snarkjs` should run here: `Ok(true)` where `snarkjs` is on the
/// `PATH`; where it is not, `Ok(false)` only if `VEIL_SKIP_SNARKJS=1` asks to skip them.
///
/// # Errors
/// [`SnarkjsMissing`]: `snarkjs` is missing and skipping was not asked for. A fresh machine
/// gets it from `make deps`, so a missing tool fails the suite instead of silently passing
/// without the independent check.
pub fn snarkjs_for_tests() -> Result<bool, SnarkjsMissing> {
    let installed = std::process::Command::new("snarkjs")
        .arg("--version")
        .output()
        .is_ok();
    if installed {
        Ok(true)
    } else if std::env::var("VEIL_SKIP_SNARKJS").is_ok_and(|v| v == "1") {
        eprintln!("snarkjs not installed and VEIL_SKIP_SNARKJS=1: skipping the snarkjs check");
        Ok(false)
    } else {
        Err(SnarkjsMissing)
    }
}

/// `proof.json`.
pub fn proof(proof: &Proof) -> Value {
    json!({
        "pi_a": g1(&proof.0.a),
        "pi_b": g2(&proof.0.b),
        "pi_c": g1(&proof.0.c),
        "protocol": "groth16",
        "curve": "bn128",
    })
}

/// `public.json`.
pub fn public(inputs: &[Fr]) -> Value {
    Value::Array(
        inputs
            .iter()
            .map(|x| Value::String(field::to_decimal(x)))
            .collect(),
    )
}

/// `verification_key.json`.
pub fn verification_key(vk: &VerifyingKey) -> Value {
    let key = &vk.key;
    let alphabeta = Bn254::pairing(key.alpha_g1, key.beta_g2).0;
    let fq6 = |x: &ark_bn254::Fq6| json!([fq2(&x.c0), fq2(&x.c1), fq2(&x.c2)]);
    json!({
        "protocol": "groth16",
        "curve": "bn128",
        "nPublic": key.gamma_abc_g1.len() - 1,
        "vk_alpha_1": g1(&key.alpha_g1),
        "vk_beta_2": g2(&key.beta_g2),
        "vk_gamma_2": g2(&key.gamma_g2),
        "vk_delta_2": g2(&key.delta_g2),
        "vk_alphabeta_12": [fq6(&alphabeta.c0), fq6(&alphabeta.c1)],
        "IC": key.gamma_abc_g1.iter().map(g1).collect::<Vec<_>>(),
    })
}

#[cfg(all(test, feature = "prover"))]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::groth16::tests::{keys, proved};

    fn write(dir: &Path, name: &str, value: &Value) {
        std::fs::write(dir.join(name), serde_json::to_vec_pretty(value).unwrap()).unwrap();
    }

    fn snarkjs_accepts(dir: &Path) -> bool {
        run_snarkjs_verify(dir).expect("run snarkjs")
    }

    /// `snarkjs groth16 verify` accepts Veil's proof and rejects it with any public input
    /// changed. Fails where snarkjs is not installed (`make deps` installs it) unless
    /// `VEIL_SKIP_SNARKJS=1`.
    #[test]
    fn snarkjs_verifies_the_export() {
        if !snarkjs_for_tests().unwrap_or_else(|e| panic!("{e}")) {
            return;
        }
        let (public_inputs, p) = proved();
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path();
        let inputs = public_inputs.inputs();
        write(
            dir,
            "verification_key.json",
            &verification_key(&keys().verifying_key()),
        );
        write(dir, "proof.json", &proof(&p));
        write(dir, "public.json", &public(&inputs));
        assert!(snarkjs_accepts(dir), "snarkjs refused an honest proof");
        for i in 0..inputs.len() {
            let mut changed = inputs.clone();
            changed[i] += Fr::from(1u64);
            write(dir, "public.json", &public(&changed));
            assert!(
                !snarkjs_accepts(dir),
                "snarkjs accepted public input {i} changed"
            );
        }
    }
}
