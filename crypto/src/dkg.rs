//! The distributed key generation that shares the borrower-reference OPRF key ([`crate::oprf`])
//! `t`-of-`n` among the member banks, so that no party, setup script or operator ever holds it:
//! the Pedersen DKG with proofs of knowledge of FROST (Komlo and Goldberg, SAC 2020, Fig. 1;
//! the Zcash Foundation's `frost-ristretto255` implementation, RFC 9591's group), used here for
//! its key shares only.
//!
//! Each member `i` (1-based, its genesis order):
//!
//! 1. [`round1`]: picks a random polynomial of degree `t − 1`, broadcasts its coefficient
//!    commitments and a proof of knowledge of its constant term ([`Round1Package`], public);
//! 2. [`round2`]: given every other member's round-1 package, sends member `j` its evaluation
//!    `f_i(j)` ([`Round2Package`], secret: it travels encrypted to `j` only);
//! 3. [`round3`]: given every round-1 and its own round-2 packages, checks each evaluation
//!    against its sender's commitments and sums them: its key share `k_i = Σ_j f_j(i)`
//!    ([`crate::oprf::OprfKeyShare`]) and the public key ([`crate::oprf::OprfPublicKey`]: the
//!    group key `K = Σ_j f_j(0)·G` and every member's `K_i`), the same at every member.
//!
//! A member that sends a wrong evaluation or an invalid proof is named ([`DkgError::Culprit`]).

use std::collections::BTreeMap;

use curve25519_dalek::ristretto::CompressedRistretto;
use curve25519_dalek::scalar::Scalar;
use frost_ristretto255 as frost;
use frost_ristretto255::Identifier;
use frost_ristretto255::keys::dkg;
use rand::rngs::OsRng;

use crate::oprf::{OprfKeyShare, OprfPublicKey};

/// Why a DKG step failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DkgError {
    /// Parameters out of range: `2 ≤ t ≤ n`, indices from 1 to `n`.
    #[error("a DKG needs 2 <= t <= n and indices 1..=n")]
    Parameters,
    /// A package that does not decode.
    #[error("malformed package from member {0}")]
    Malformed(u16),
    /// Packages missing or extra: each other member's exactly once.
    #[error("expected one package from each other member")]
    Packages,
    /// A member whose proof or evaluation does not verify.
    #[error("member {0} sent an invalid DKG package")]
    Culprit(u16),
    /// Anything else the DKG refused.
    #[error("DKG: {0}")]
    Protocol(String),
}

/// A member's public round-1 package (commitments and proof of knowledge), serialized.
pub type Round1Package = Vec<u8>;
/// A member's secret round-2 package for one other member, serialized (send it encrypted).
pub type Round2Package = Vec<u8>;

/// What a member keeps between round 1 and round 2 (secret).
pub struct Round1Secret {
    index: u16,
    secret: dkg::round1::SecretPackage,
}

/// What a member keeps between round 2 and round 3 (secret).
pub struct Round2Secret {
    index: u16,
    secret: dkg::round2::SecretPackage,
}

impl std::fmt::Debug for Round1Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Round1Secret")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Round2Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Round2Secret")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

fn identifier(index: u16) -> Result<Identifier, DkgError> {
    Identifier::try_from(index).map_err(|_| DkgError::Parameters)
}

/// Maps a FROST error to ours, naming the culprit when FROST does.
fn protocol(error: frost::Error, by_index: &BTreeMap<Identifier, u16>) -> DkgError {
    match error.culprits().first().and_then(|c| by_index.get(c)) {
        Some(index) => DkgError::Culprit(*index),
        None => DkgError::Protocol(error.to_string()),
    }
}

/// Round 1 for member `index` of `n`, threshold `t`.
///
/// # Errors
/// [`DkgError::Parameters`] unless `2 ≤ t ≤ n` and `1 ≤ index ≤ n`.
pub fn round1(index: u16, n: u16, t: u16) -> Result<(Round1Secret, Round1Package), DkgError> {
    if t < 2 || t > n || index == 0 || index > n {
        return Err(DkgError::Parameters);
    }
    let (secret, package) = dkg::part1(identifier(index)?, n, t, OsRng)
        .map_err(|e| DkgError::Protocol(e.to_string()))?;
    let package = package
        .serialize()
        .map_err(|e| DkgError::Protocol(e.to_string()))?;
    Ok((Round1Secret { index, secret }, package))
}

/// Decoded round-1 packages, and each sender's index by identifier.
type Decoded = (
    BTreeMap<Identifier, dkg::round1::Package>,
    BTreeMap<Identifier, u16>,
);

fn decode_round1(packages: &BTreeMap<u16, Round1Package>) -> Result<Decoded, DkgError> {
    let mut decoded = BTreeMap::new();
    let mut by_index = BTreeMap::new();
    for (index, bytes) in packages {
        let package =
            dkg::round1::Package::deserialize(bytes).map_err(|_| DkgError::Malformed(*index))?;
        let id = identifier(*index)?;
        decoded.insert(id, package);
        by_index.insert(id, *index);
    }
    Ok((decoded, by_index))
}

/// Round 2: given every other member's round-1 package (by index), the secret package for each
/// other member (by index).
///
/// # Errors
/// [`DkgError::Packages`] if a package is missing or extra, [`DkgError::Malformed`] /
/// [`DkgError::Culprit`] for one that does not decode or whose proof of knowledge fails.
pub fn round2(
    secret: Round1Secret,
    round1: &BTreeMap<u16, Round1Package>,
) -> Result<(Round2Secret, BTreeMap<u16, Round2Package>), DkgError> {
    if round1.contains_key(&secret.index) {
        return Err(DkgError::Packages);
    }
    let (decoded, by_index) = decode_round1(round1)?;
    let (next, packages) =
        dkg::part2(secret.secret, &decoded).map_err(|e| protocol(e, &by_index))?;
    let mut out = BTreeMap::new();
    for (id, package) in packages {
        let index = *by_index.get(&id).ok_or(DkgError::Packages)?;
        let bytes = package
            .serialize()
            .map_err(|e| DkgError::Protocol(e.to_string()))?;
        out.insert(index, bytes);
    }
    Ok((
        Round2Secret {
            index: secret.index,
            secret: next,
        },
        out,
    ))
}

/// Round 3: given every other member's round-1 package and the round-2 package each sent this
/// member (both by index), this member's key share and the public key.
///
/// # Errors
/// As [`round2`]; [`DkgError::Culprit`] for a member whose evaluation does not match its
/// commitments.
pub fn round3(
    secret: &Round2Secret,
    round1: &BTreeMap<u16, Round1Package>,
    round2: &BTreeMap<u16, Round2Package>,
) -> Result<(OprfKeyShare, OprfPublicKey), DkgError> {
    let (decoded1, by_index) = decode_round1(round1)?;
    let mut decoded2 = BTreeMap::new();
    for (index, bytes) in round2 {
        let package =
            dkg::round2::Package::deserialize(bytes).map_err(|_| DkgError::Malformed(*index))?;
        decoded2.insert(identifier(*index)?, package);
    }
    if decoded2.keys().ne(decoded1.keys()) {
        return Err(DkgError::Packages);
    }
    let (key_package, public_package) =
        dkg::part3(&secret.secret, &decoded1, &decoded2).map_err(|e| protocol(e, &by_index))?;
    let scalar_bytes: [u8; 32] = key_package
        .signing_share()
        .serialize()
        .try_into()
        .map_err(|_| DkgError::Protocol("key share length".into()))?;
    let scalar = Option::<Scalar>::from(Scalar::from_canonical_bytes(scalar_bytes))
        .ok_or_else(|| DkgError::Protocol("key share encoding".into()))?;
    let share =
        OprfKeyShare::new(secret.index, scalar).map_err(|e| DkgError::Protocol(e.to_string()))?;
    let point = |bytes: Vec<u8>| {
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| DkgError::Protocol("point length".into()))?;
        CompressedRistretto(bytes)
            .decompress()
            .ok_or_else(|| DkgError::Protocol("point encoding".into()))
    };
    let mut by_index = by_index;
    by_index.insert(identifier(secret.index)?, secret.index);
    let mut shares = BTreeMap::new();
    for (id, verifying) in public_package.verifying_shares() {
        let index = *by_index.get(id).ok_or(DkgError::Packages)?;
        let bytes = verifying
            .serialize()
            .map_err(|e| DkgError::Protocol(e.to_string()))?;
        shares.insert(index, point(bytes)?);
    }
    let group_key = point(
        public_package
            .verifying_key()
            .serialize()
            .map_err(|e| DkgError::Protocol(e.to_string()))?,
    )?;
    let public = OprfPublicKey {
        threshold: *key_package.min_signers(),
        group_key,
        shares,
    };
    public
        .check()
        .map_err(|e| DkgError::Protocol(e.to_string()))?;
    if public.shares.get(&secret.index) != Some(&share.public()) {
        return Err(DkgError::Protocol("own share does not match".into()));
    }
    Ok((share, public))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oprf::{OprfRequest, evaluate_share};

    /// Runs the whole DKG among `n` members in memory, each keeping its own secrets.
    pub(crate) fn run(n: u16, t: u16) -> Vec<(OprfKeyShare, OprfPublicKey)> {
        let mut secrets1 = BTreeMap::new();
        let mut round1_all = BTreeMap::new();
        for i in 1..=n {
            let (secret, package) = round1(i, n, t).unwrap();
            secrets1.insert(i, secret);
            round1_all.insert(i, package);
        }
        let others = |i: u16, all: &BTreeMap<u16, Vec<u8>>| {
            all.iter()
                .filter(|(j, _)| **j != i)
                .map(|(j, p)| (*j, p.clone()))
                .collect::<BTreeMap<_, _>>()
        };
        let mut secrets2 = BTreeMap::new();
        let mut sent: BTreeMap<(u16, u16), Vec<u8>> = BTreeMap::new();
        for (i, secret) in secrets1 {
            let (next, packages) = round2(secret, &others(i, &round1_all)).unwrap();
            secrets2.insert(i, next);
            for (j, package) in packages {
                sent.insert((i, j), package);
            }
        }
        (1..=n)
            .map(|i| {
                let received: BTreeMap<u16, Vec<u8>> = sent
                    .iter()
                    .filter(|((_, to), _)| *to == i)
                    .map(|((from, _), p)| (*from, p.clone()))
                    .collect();
                round3(&secrets2[&i], &others(i, &round1_all), &received).unwrap()
            })
            .collect()
    }

    #[test]
    fn every_member_gets_a_share_of_one_key_and_any_t_of_them_evaluate() {
        let outputs = run(4, 3);
        let public = &outputs[0].1;
        assert!(
            outputs.iter().all(|(_, p)| p == public),
            "one public key for all"
        );
        assert_eq!(public.threshold, 3);
        let input = b"11010519491231002X";
        let mut results = Vec::new();
        for set in [[0usize, 1, 2], [1, 2, 3]] {
            let request = OprfRequest::blind(input).unwrap();
            let answers: Vec<_> = set
                .iter()
                .map(|i| evaluate_share(&outputs[*i].0, &request.blinded_element()).unwrap())
                .collect();
            results.push(request.finalize(public, &answers).unwrap());
        }
        assert_eq!(results[0], results[1]);
        // Two members (fewer than t) cannot evaluate.
        let request = OprfRequest::blind(input).unwrap();
        let answers: Vec<_> = outputs[..2]
            .iter()
            .map(|(share, _)| evaluate_share(share, &request.blinded_element()).unwrap())
            .collect();
        assert!(request.finalize(public, &answers).is_err());
    }

    #[test]
    fn a_tampered_evaluation_names_its_sender() {
        let n = 3;
        let mut secrets1 = BTreeMap::new();
        let mut round1_all = BTreeMap::new();
        for i in 1..=n {
            let (secret, package) = round1(i, n, 2).unwrap();
            secrets1.insert(i, secret);
            round1_all.insert(i, package);
        }
        let others = |i: u16| {
            round1_all
                .iter()
                .filter(|(j, _)| **j != i)
                .map(|(j, p)| (*j, p.clone()))
                .collect::<BTreeMap<_, _>>()
        };
        let mut secrets2 = BTreeMap::new();
        let mut to_1 = BTreeMap::new();
        for (i, secret) in secrets1 {
            let (next, packages) = round2(secret, &others(i)).unwrap();
            secrets2.insert(i, next);
            if let Some(package) = packages.get(&1) {
                to_1.insert(i, package.clone());
            }
        }
        // Member 3 sends member 1 member 2's evaluation instead of its own.
        let forged = to_1[&2].clone();
        to_1.insert(3, forged);
        assert_eq!(
            round3(&secrets2[&1], &others(1), &to_1).unwrap_err(),
            DkgError::Culprit(3)
        );
        assert_eq!(round1(1, 3, 1).unwrap_err(), DkgError::Parameters);
        assert_eq!(round1(4, 3, 2).unwrap_err(), DkgError::Parameters);
    }
}
