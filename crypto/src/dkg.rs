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
//!
//! For members on separate hosts, whose rounds run in separate processes days apart:
//! [`Round1Secret`] and [`Round2Secret`] serialize (`to_bytes`, FROST's own encoding; store them
//! owner-only), a round-2 package travels sealed to its recipient ([`seal_round2`],
//! [`open_round2`]: HPKE bound to the DKG session, sender and recipient), and anyone can compute
//! and check the public side from the round-1 packages alone ([`public_key`]).

use std::collections::BTreeMap;

use curve25519_dalek::ristretto::CompressedRistretto;
use curve25519_dalek::scalar::Scalar;
use frost_ristretto255 as frost;
use frost_ristretto255::Identifier;
use frost_ristretto255::keys::dkg;
use rand::rngs::OsRng;
use zeroize::Zeroizing;

use crate::encoding;
use crate::encryption_key::{EncryptionPublicKey, EncryptionSecretKey};
use crate::labels;
use crate::oprf::{OprfKeyShare, OprfPublicKey};
use crate::sealed_box::{self, SealedBox};

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
    /// A secret package that does not decode, or is not this member's of this DKG.
    #[error("not this member's DKG secret")]
    Secret,
    /// A sealed round-2 package that does not open with this key for this sender, recipient
    /// and session (misaddressed, altered or sealed to another key).
    #[error("the sealed round-2 package does not open")]
    Sealed,
    /// Anything else the DKG refused.
    #[error("DKG: {0}")]
    Protocol(String),
}

/// A member's public round-1 package (commitments and proof of knowledge), serialized.
pub type Round1Package = Vec<u8>;
/// A member's secret round-2 package for one other member, serialized (send it encrypted:
/// [`seal_round2`]); wiped on drop.
pub type Round2Package = Zeroizing<Vec<u8>>;

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

impl Round1Secret {
    /// The member's index.
    pub fn index(&self) -> u16 {
        self.index
    }

    /// FROST's serialization of the secret (the polynomial's coefficients, its commitments,
    /// `t` and `n`): secret, store it owner-only and delete it after round 2.
    ///
    /// # Errors
    /// [`DkgError::Protocol`] if FROST cannot encode it.
    pub fn to_bytes(&self) -> Result<Zeroizing<Vec<u8>>, DkgError> {
        self.secret
            .serialize()
            .map(Zeroizing::new)
            .map_err(|e| DkgError::Protocol(e.to_string()))
    }

    /// Decodes what [`Self::to_bytes`] wrote, refusing a secret that is not member `index`'s
    /// in a DKG of `n` members and threshold `t`.
    ///
    /// # Errors
    /// [`DkgError::Secret`].
    pub fn from_bytes(index: u16, n: u16, t: u16, bytes: &[u8]) -> Result<Self, DkgError> {
        let secret =
            dkg::round1::SecretPackage::deserialize(bytes).map_err(|_| DkgError::Secret)?;
        if *secret.identifier() != identifier(index)?
            || *secret.max_signers() != n
            || *secret.min_signers() != t
        {
            return Err(DkgError::Secret);
        }
        Ok(Self { index, secret })
    }

    /// Whether `package` is the round-1 package made with this secret (the same coefficient
    /// commitments): a member checks its published package before round 2.
    pub fn made(&self, package: &[u8]) -> bool {
        dkg::round1::Package::deserialize(package)
            .is_ok_and(|package| package.commitment() == self.secret.commitment())
    }
}

impl Round2Secret {
    /// The member's index.
    pub fn index(&self) -> u16 {
        self.index
    }

    /// FROST's serialization of the secret (the member's own evaluation `f_i(i)`, its
    /// commitments, `t` and `n`): secret, store it owner-only and delete it after round 3.
    ///
    /// # Errors
    /// [`DkgError::Protocol`] if FROST cannot encode it.
    pub fn to_bytes(&self) -> Result<Zeroizing<Vec<u8>>, DkgError> {
        self.secret
            .serialize()
            .map(Zeroizing::new)
            .map_err(|e| DkgError::Protocol(e.to_string()))
    }

    /// Decodes what [`Self::to_bytes`] wrote, refusing a secret that is not member `index`'s
    /// in a DKG of `n` members and threshold `t`.
    ///
    /// # Errors
    /// [`DkgError::Secret`].
    pub fn from_bytes(index: u16, n: u16, t: u16, bytes: &[u8]) -> Result<Self, DkgError> {
        let secret =
            dkg::round2::SecretPackage::deserialize(bytes).map_err(|_| DkgError::Secret)?;
        if *secret.identifier() != identifier(index)?
            || *secret.max_signers() != n
            || *secret.min_signers() != t
        {
            return Err(DkgError::Secret);
        }
        Ok(Self { index, secret })
    }

    /// Whether `package` is the round-1 package this secret continues (the same coefficient
    /// commitments).
    pub fn made(&self, package: &[u8]) -> bool {
        dkg::round1::Package::deserialize(package)
            .is_ok_and(|package| package.commitment() == self.secret.commitment())
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
        out.insert(index, Zeroizing::new(bytes));
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
    let serialized = Zeroizing::new(key_package.signing_share().serialize());
    let scalar_bytes: Zeroizing<[u8; 32]> = Zeroizing::new(
        serialized
            .as_slice()
            .try_into()
            .map_err(|_| DkgError::Protocol("key share length".into()))?,
    );
    let scalar = Option::<Scalar>::from(Scalar::from_canonical_bytes(*scalar_bytes))
        .ok_or_else(|| DkgError::Protocol("key share encoding".into()))?;
    let share =
        OprfKeyShare::new(secret.index, scalar).map_err(|e| DkgError::Protocol(e.to_string()))?;
    let mut by_index = by_index;
    by_index.insert(identifier(secret.index)?, secret.index);
    let public = public_side(&public_package, *key_package.min_signers(), &by_index)?;
    if public.shares.get(&secret.index) != Some(&share.public()) {
        return Err(DkgError::Protocol("own share does not match".into()));
    }
    Ok((share, public))
}

/// A FROST public key package as an [`OprfPublicKey`] of threshold `t`, checked
/// ([`OprfPublicKey::check`]); `by_index` maps every identifier to its member index.
fn public_side(
    package: &frost::keys::PublicKeyPackage,
    t: u16,
    by_index: &BTreeMap<Identifier, u16>,
) -> Result<OprfPublicKey, DkgError> {
    let point = |bytes: Vec<u8>| {
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| DkgError::Protocol("point length".into()))?;
        CompressedRistretto(bytes)
            .decompress()
            .ok_or_else(|| DkgError::Protocol("point encoding".into()))
    };
    let mut shares = BTreeMap::new();
    for (id, verifying) in package.verifying_shares() {
        let index = *by_index.get(id).ok_or(DkgError::Packages)?;
        let bytes = verifying
            .serialize()
            .map_err(|e| DkgError::Protocol(e.to_string()))?;
        shares.insert(index, point(bytes)?);
    }
    let group_key = point(
        package
            .verifying_key()
            .serialize()
            .map_err(|e| DkgError::Protocol(e.to_string()))?,
    )?;
    let public = OprfPublicKey {
        threshold: t,
        group_key,
        shares,
    };
    public
        .check()
        .map_err(|e| DkgError::Protocol(e.to_string()))?;
    Ok(public)
}

/// The public side of the key the DKG whose round-1 packages are `round1` (every member's, by
/// index `1..=n`) gives at threshold `t`: the group key `K = Σ_j C_j0` and each member's
/// `K_i = Σ_j Σ_k C_jk·i^k`, from the packages' coefficient commitments alone (FROST's
/// `PublicKeyPackage::from_dkg_commitments`) — what every honest member's [`round3`] outputs.
/// Anyone can run it: it needs no secret.
///
/// It first checks each package as a member does in [`round2`]: its proof of knowledge of its
/// constant term and its `t` commitments. FROST exposes those checks only inside its part 2,
/// so this runs part 2 as a throwaway participant `n + 1` whose fresh polynomial and outputs
/// are dropped unused.
///
/// # Errors
/// [`DkgError::Parameters`] unless `2 ≤ t ≤ n` and the indices are `1..=n`;
/// [`DkgError::Malformed`] / [`DkgError::Culprit`] naming a package that does not decode, has
/// another number of commitments or whose proof fails.
pub fn public_key(
    round1: &BTreeMap<u16, Round1Package>,
    t: u16,
) -> Result<OprfPublicKey, DkgError> {
    let n = u16::try_from(round1.len()).map_err(|_| DkgError::Parameters)?;
    if t < 2 || t > n || !round1.keys().copied().eq(1..=n) {
        return Err(DkgError::Parameters);
    }
    let (decoded, by_index) = decode_round1(round1)?;
    for (id, package) in &decoded {
        let count = package
            .commitment()
            .serialize()
            .map_err(|e| DkgError::Protocol(e.to_string()))?
            .len();
        if count != usize::from(t) {
            return Err(DkgError::Culprit(by_index.get(id).copied().unwrap_or(0)));
        }
    }
    let observer = n.checked_add(1).ok_or(DkgError::Parameters)?;
    let (throwaway, _) = dkg::part1(identifier(observer)?, observer, t, OsRng)
        .map_err(|e| DkgError::Protocol(e.to_string()))?;
    drop(dkg::part2(throwaway, &decoded).map_err(|e| protocol(e, &by_index))?);
    let commitments: BTreeMap<Identifier, &frost::keys::VerifiableSecretSharingCommitment> =
        decoded
            .iter()
            .map(|(id, p)| (*id, p.commitment()))
            .collect();
    let package = frost::keys::PublicKeyPackage::from_dkg_commitments(&commitments)
        .map_err(|e| protocol(e, &by_index))?;
    public_side(&package, t, &by_index)
}

/// What a sealed round-2 package is bound to: its DKG session (the manifest hash of the DKG
/// directory, which names every member and key), its sender and its recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Round2Binding<'a> {
    /// The DKG's manifest hash.
    pub session: &'a [u8; 32],
    /// The sender's member id.
    pub sender: &'a str,
    /// The recipient's member id.
    pub recipient: &'a str,
}

impl Round2Binding<'_> {
    /// The HPKE `aad`: `framed(DKG_SHARE_AAD) ‖ session ‖ framed(sender) ‖ framed(recipient)`.
    pub fn aad(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(96);
        encoding::put_framed(&mut out, labels::DKG_SHARE_AAD);
        out.extend_from_slice(self.session);
        encoding::put_framed(&mut out, self.sender.as_bytes());
        encoding::put_framed(&mut out, self.recipient.as_bytes());
        out
    }
}

/// Seals the round-2 package `package` to its recipient's encryption key `recipient`
/// ([`crate::sealed_box`]: RFC 9180 single-shot HPKE, `info` =
/// [`labels::DKG_SHARE_INFO`], `aad` = [`Round2Binding::aad`]). The box does not say who sent
/// it: the sender signs it.
///
/// # Errors
/// [`DkgError::Protocol`] if HPKE refuses the key or the package is too large.
pub fn seal_round2(
    package: &[u8],
    recipient: &EncryptionPublicKey,
    binding: &Round2Binding<'_>,
) -> Result<SealedBox, DkgError> {
    sealed_box::seal(recipient, labels::DKG_SHARE_INFO, &binding.aad(), package)
        .map_err(|e| DkgError::Protocol(e.to_string()))
}

/// Opens a round-2 package sealed with [`seal_round2`] to `key` under `binding`.
///
/// # Errors
/// [`DkgError::Sealed`] for another key, session, sender or recipient, or altered bytes.
pub fn open_round2(
    sealed: &SealedBox,
    key: &EncryptionSecretKey,
    binding: &Round2Binding<'_>,
) -> Result<Round2Package, DkgError> {
    sealed_box::open(key, labels::DKG_SHARE_INFO, &binding.aad(), sealed)
        .map_err(|_| DkgError::Sealed)
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
        let mut sent: BTreeMap<(u16, u16), Round2Package> = BTreeMap::new();
        for (i, secret) in secrets1 {
            let (next, packages) = round2(secret, &others(i, &round1_all)).unwrap();
            secrets2.insert(i, next);
            for (j, package) in packages {
                sent.insert((i, j), package);
            }
        }
        (1..=n)
            .map(|i| {
                let received: BTreeMap<u16, Round2Package> = sent
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

    /// Each member's rounds in a separate "process": secrets serialized between rounds,
    /// round-2 packages sealed to their recipients; the public side anyone computes from the
    /// round-1 packages is every member's.
    #[test]
    fn secrets_survive_serialization_and_packages_travel_sealed() {
        let (n, t) = (3u16, 2u16);
        let keys: Vec<EncryptionSecretKey> = (1..=n)
            .map(|i| EncryptionSecretKey::derive(&[u8::try_from(i).unwrap(); 32]))
            .collect();
        let ids = ["bank-a", "bank-b", "bank-c"];
        let session = [9u8; 32];
        let mut stored1 = BTreeMap::new();
        let mut round1_all = BTreeMap::new();
        for i in 1..=n {
            let (secret, package) = round1(i, n, t).unwrap();
            assert!(secret.made(&package));
            stored1.insert(i, secret.to_bytes().unwrap());
            round1_all.insert(i, package);
        }
        // A secret is refused for another member, size or threshold, or as garbage.
        assert_eq!(
            Round1Secret::from_bytes(2, n, t, &stored1[&1]).unwrap_err(),
            DkgError::Secret
        );
        assert_eq!(
            Round1Secret::from_bytes(1, n + 1, t, &stored1[&1]).unwrap_err(),
            DkgError::Secret
        );
        assert_eq!(
            Round1Secret::from_bytes(1, n, t + 1, &stored1[&1]).unwrap_err(),
            DkgError::Secret
        );
        assert_eq!(
            Round1Secret::from_bytes(1, n, t, b"junk").unwrap_err(),
            DkgError::Secret
        );
        let secret = Round1Secret::from_bytes(1, n, t, &stored1[&1]).unwrap();
        assert!(!secret.made(&round1_all[&2]));
        let others = |i: u16| {
            round1_all
                .iter()
                .filter(|(j, _)| **j != i)
                .map(|(j, p)| (*j, p.clone()))
                .collect::<BTreeMap<_, _>>()
        };
        let mut stored2 = BTreeMap::new();
        let mut sealed = BTreeMap::new();
        for i in 1..=n {
            let secret = Round1Secret::from_bytes(i, n, t, &stored1[&i]).unwrap();
            let (next, packages) = round2(secret, &others(i)).unwrap();
            assert!(next.made(&round1_all[&i]));
            stored2.insert(i, next.to_bytes().unwrap());
            for (j, package) in packages {
                let binding = Round2Binding {
                    session: &session,
                    sender: ids[usize::from(i - 1)],
                    recipient: ids[usize::from(j - 1)],
                };
                let sealed_box =
                    seal_round2(&package, keys[usize::from(j - 1)].public_key(), &binding).unwrap();
                sealed.insert((i, j), sealed_box);
            }
        }
        let public = public_key(&round1_all, t).unwrap();
        for i in 1..=n {
            let secret = Round2Secret::from_bytes(i, n, t, &stored2[&i]).unwrap();
            let received: BTreeMap<u16, Round2Package> = sealed
                .iter()
                .filter(|((_, to), _)| *to == i)
                .map(|((from, to), sealed_box)| {
                    let binding = Round2Binding {
                        session: &session,
                        sender: ids[usize::from(*from - 1)],
                        recipient: ids[usize::from(*to - 1)],
                    };
                    (
                        *from,
                        open_round2(sealed_box, &keys[usize::from(i - 1)], &binding).unwrap(),
                    )
                })
                .collect();
            let (share, key) = round3(&secret, &others(i), &received).unwrap();
            assert_eq!(key, public);
            assert_eq!(public.shares[&i], share.public());
        }
        // A box opens only for its recipient, sender and session.
        let binding = Round2Binding {
            session: &session,
            sender: "bank-a",
            recipient: "bank-b",
        };
        let to_b = &sealed[&(1, 2)];
        assert!(open_round2(to_b, &keys[1], &binding).is_ok());
        assert_eq!(
            open_round2(to_b, &keys[2], &binding).unwrap_err(),
            DkgError::Sealed
        );
        for bent in [
            Round2Binding {
                sender: "bank-c",
                ..binding
            },
            Round2Binding {
                recipient: "bank-c",
                ..binding
            },
            Round2Binding {
                session: &[8; 32],
                ..binding
            },
        ] {
            assert_eq!(
                open_round2(to_b, &keys[1], &bent).unwrap_err(),
                DkgError::Sealed
            );
        }
    }

    #[test]
    fn the_public_side_refuses_bad_round1_packages() {
        let (n, t) = (3u16, 2u16);
        let mut all = BTreeMap::new();
        for i in 1..=n {
            all.insert(i, round1(i, n, t).unwrap().1);
        }
        assert!(public_key(&all, t).is_ok());
        // Another threshold than the packages were made for names the first package.
        assert_eq!(public_key(&all, 3).unwrap_err(), DkgError::Culprit(1));
        assert_eq!(public_key(&all, 1).unwrap_err(), DkgError::Parameters);
        // Member 3's package under member 2's index: its proof of knowledge fails there.
        let mut moved = all.clone();
        moved.insert(2, all[&3].clone());
        assert!(matches!(
            public_key(&moved, t).unwrap_err(),
            DkgError::Culprit(2) | DkgError::Culprit(3)
        ));
        let mut missing = all.clone();
        missing.remove(&2);
        assert_eq!(public_key(&missing, t).unwrap_err(), DkgError::Parameters);
        let mut garbled = all.clone();
        garbled.insert(1, vec![0; 10]);
        assert_eq!(public_key(&garbled, t).unwrap_err(), DkgError::Malformed(1));
    }
}
