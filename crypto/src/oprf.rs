//! A threshold verifiable OPRF for borrower references: RFC 9497's VOPRF (mode `0x01`,
//! ciphersuite ristretto255-SHA512, the 2HashDH construction) evaluated under a key that no
//! party holds. The key `k` is shared `t`-of-`n` among the member banks ([`crate::dkg`]); member
//! `i` holds `k_i = f(i)` and publishes `K_i = k_i·G`.
//!
//! One evaluation of input `x` (a national id):
//!
//! 1. the originator blinds: `B = r·H(x)` ([`OprfRequest::blind`], RFC 9497 §3.3.2 `Blind`),
//!    and sends the *blinded element* `B` to `t` or more members;
//! 2. member `i` answers `Z_i = k_i·B` with a DLEQ proof that `log_G K_i = log_B Z_i`
//!    ([`evaluate_share`], RFC 9497 §3.3.2 `BlindEvaluate` under the key share);
//! 3. the originator checks every proof against `K_i` (RFC 9497 §2.2.2 `VerifyProof`), combines
//!    `Z = Σ λ_i·Z_i` with the Lagrange coefficients at 0 of the answering set, unblinds
//!    `N = r⁻¹·Z = k·H(x)` and hashes (`Finalize`, RFC 9497 §3.3.1):
//!    `SHA-512(I2OSP(len(x), 2) ‖ x ‖ I2OSP(32, 2) ‖ N ‖ "Finalize")` ([`OprfRequest::finalize`]).
//!
//! The output is RFC 9497's `VOPRF(k, x)` exactly as a single server holding `k` would give it
//! (the unit tests check it against the RFC's test vectors and against the maintained
//! implementation, Facebook's `voprf` crate, which this module uses for blinding, evaluation
//! and proofs). Members see only `B`, uniformly random whatever `x` is; fewer than `t` members'
//! shares say nothing about `k`, so no coalition smaller than `t` can test guesses of `x`
//! offline.

use std::collections::{BTreeMap, BTreeSet};

use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use rand::rngs::OsRng;
use sha2::{Digest as _, Sha512};
use voprf::{BlindedElement, EvaluationElement, Proof, Ristretto255, VoprfClient, VoprfServer};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Length of an OPRF output (SHA-512), in bytes.
pub const OUTPUT_LEN: usize = 64;
/// Length of a serialized blinded or evaluation element (compressed ristretto255), in bytes.
pub const ELEMENT_LEN: usize = 32;
/// Length of a serialized DLEQ proof (two scalars), in bytes.
pub const PROOF_LEN: usize = 64;
/// Longest input RFC 9497 accepts (`I2OSP(len(x), 2)`), in bytes.
pub const MAX_INPUT_LEN: usize = u16::MAX as usize;

/// Why an OPRF step failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OprfError {
    /// An empty input, or one longer than [`MAX_INPUT_LEN`].
    #[error("an OPRF input is 1 to 65535 bytes")]
    Input,
    /// Bytes that are not a valid, non-identity ristretto255 element, or not a proof.
    #[error("malformed {0}")]
    Malformed(&'static str),
    /// A member's answer whose proof does not verify against its public key share.
    #[error("member {0}'s answer does not verify against its public key share")]
    Proof(u16),
    /// An answer from an index with no public key share, or two answers from one index.
    #[error("answer from unknown or repeated index {0}")]
    Index(u16),
    /// Fewer answers than the threshold.
    #[error("{got} answers, {needed} needed")]
    TooFew {
        /// Valid answers received.
        got: usize,
        /// The threshold.
        needed: usize,
    },
    /// Public shares that do not lie on one polynomial through the group key
    /// ([`OprfPublicKey::check`]).
    #[error("the public key shares do not interpolate to the group key")]
    Combination,
}

/// A member's secret share `k_i` of the OPRF key, at index `i` (1-based). Zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct OprfKeyShare {
    #[zeroize(skip)]
    index: u16,
    secret: Scalar,
}

impl std::fmt::Debug for OprfKeyShare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OprfKeyShare")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

impl OprfKeyShare {
    /// The share `secret` of the member at `index`.
    ///
    /// # Errors
    /// [`OprfError::Malformed`] for index 0 or a zero share.
    pub fn new(index: u16, secret: Scalar) -> Result<Self, OprfError> {
        if index == 0 || secret == Scalar::ZERO {
            return Err(OprfError::Malformed("key share"));
        }
        Ok(Self { index, secret })
    }

    /// Decodes `index ‖ 32-byte canonical little-endian scalar` (what [`Self::to_bytes`] writes).
    ///
    /// # Errors
    /// [`OprfError::Malformed`] for any other bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, OprfError> {
        let malformed = OprfError::Malformed("key share");
        let (index, secret) = bytes.split_at_checked(2).ok_or(malformed.clone())?;
        let secret: [u8; 32] = secret.try_into().map_err(|_| malformed.clone())?;
        let secret =
            Option::<Scalar>::from(Scalar::from_canonical_bytes(secret)).ok_or(malformed)?;
        Self::new(u16::from_be_bytes([index[0], index[1]]), secret)
    }

    /// `u16_be(index) ‖ scalar` (34 bytes; secret: store it owner-only).
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(34));
        out.extend_from_slice(&self.index.to_be_bytes());
        out.extend_from_slice(self.secret.as_bytes());
        out
    }

    /// The member's index.
    pub fn index(&self) -> u16 {
        self.index
    }

    /// Its public key share `K_i = k_i·G`.
    pub fn public(&self) -> RistrettoPoint {
        RistrettoPoint::mul_base(&self.secret)
    }
}

/// The public side of a shared OPRF key: the threshold `t`, the group key `K = k·G` and every
/// member's public key share `K_i`, by index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OprfPublicKey {
    /// Answers needed for an evaluation.
    pub threshold: u16,
    /// `K = k·G`.
    pub group_key: RistrettoPoint,
    /// `K_i = k_i·G` by member index (1-based).
    pub shares: BTreeMap<u16, RistrettoPoint>,
}

impl OprfPublicKey {
    /// The key of `threshold`, group key `group_key` and the shares of members 1, 2, …
    /// (`shares`, compressed ristretto255), checked ([`Self::check`]).
    ///
    /// # Errors
    /// [`OprfError::Malformed`] for bytes that are not points; as [`Self::check`].
    pub fn from_bytes(
        threshold: u16,
        group_key: &[u8; 32],
        shares: &[[u8; 32]],
    ) -> Result<Self, OprfError> {
        let point = |bytes: &[u8; 32]| {
            CompressedRistretto(*bytes)
                .decompress()
                .ok_or(OprfError::Malformed("public key"))
        };
        let mut indexed = BTreeMap::new();
        for (i, share) in shares.iter().enumerate() {
            let index = u16::try_from(i + 1).map_err(|_| OprfError::Malformed("public key"))?;
            indexed.insert(index, point(share)?);
        }
        let key = Self {
            threshold,
            group_key: point(group_key)?,
            shares: indexed,
        };
        key.check()?;
        Ok(key)
    }

    /// Checks that the shares lie on one polynomial of degree exactly `t − 1` whose value at 0
    /// is the group key: the first `t` shares, interpolated in the exponent, give `K` at 0 and
    /// every other share at its index — so every set of `t` answers gives the same output —
    /// while the first `t − 1` alone do not give `K` (a polynomial of lower degree would let
    /// fewer than `t` members compute every reference). No point is the identity (`K = 0·G`
    /// would make every output public) and no two shares are equal.
    ///
    /// # Errors
    /// [`OprfError::TooFew`] with fewer than `t` shares or `t = 0`; [`OprfError::Malformed`]
    /// for an identity point or a repeated share; [`OprfError::Combination`] if the shares do
    /// not lie on one such polynomial.
    pub fn check(&self) -> Result<(), OprfError> {
        use curve25519_dalek::traits::Identity as _;
        let t = usize::from(self.threshold);
        if t == 0 || self.shares.len() < t {
            return Err(OprfError::TooFew {
                got: self.shares.len(),
                needed: t.max(1),
            });
        }
        let identity = RistrettoPoint::identity();
        let distinct: BTreeSet<[u8; 32]> = self
            .shares
            .values()
            .map(|p| p.compress().to_bytes())
            .collect();
        if self.group_key == identity
            || self.shares.values().any(|p| *p == identity)
            || distinct.len() != self.shares.len()
        {
            return Err(OprfError::Malformed(
                "public key (identity or repeated share)",
            ));
        }
        let base: Vec<(u16, RistrettoPoint)> =
            self.shares.iter().take(t).map(|(i, p)| (*i, *p)).collect();
        if interpolate(&base, Scalar::ZERO) != self.group_key {
            return Err(OprfError::Combination);
        }
        if t > 1 && interpolate(&base[..t - 1], Scalar::ZERO) == self.group_key {
            return Err(OprfError::Combination);
        }
        for (index, share) in self.shares.iter().skip(t) {
            if interpolate(&base, Scalar::from(*index)) != *share {
                return Err(OprfError::Combination);
            }
        }
        Ok(())
    }
}

/// A member's answer to a blinded element: `Z_i = k_i·B` and the DLEQ proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareEvaluation {
    /// The answering member's index.
    pub index: u16,
    /// The evaluation element `Z_i` (32 bytes).
    pub element: [u8; ELEMENT_LEN],
    /// The proof (64 bytes).
    pub proof: [u8; PROOF_LEN],
}

/// Evaluates the blinded element `blinded` (32 bytes) under the key share `share`, with a DLEQ
/// proof against the share's public key (RFC 9497 §3.3.2 `BlindEvaluate`, §2.2.1
/// `GenerateProof`).
///
/// # Errors
/// [`OprfError::Malformed`] if `blinded` is not a valid, non-identity element.
pub fn evaluate_share(share: &OprfKeyShare, blinded: &[u8]) -> Result<ShareEvaluation, OprfError> {
    let blinded = BlindedElement::<Ristretto255>::deserialize(blinded)
        .map_err(|_| OprfError::Malformed("blinded element"))?;
    let key = Zeroizing::new(share.secret.to_bytes());
    let server = VoprfServer::<Ristretto255>::new_with_key(key.as_slice())
        .map_err(|_| OprfError::Malformed("key share"))?;
    let result = server.blind_evaluate(&mut OsRng, &blinded);
    Ok(ShareEvaluation {
        index: share.index,
        element: array(&result.message.serialize(), "evaluation element")?,
        proof: array(&result.proof.serialize(), "proof")?,
    })
}

fn array<const N: usize>(bytes: &[u8], what: &'static str) -> Result<[u8; N], OprfError> {
    bytes.try_into().map_err(|_| OprfError::Malformed(what))
}

/// An evaluation in progress at the originator: the input and its blind. Zeroized on drop.
pub struct OprfRequest {
    input: Zeroizing<Vec<u8>>,
    blind: Zeroizing<Scalar>,
    client: VoprfClient<Ristretto255>,
    blinded: [u8; ELEMENT_LEN],
}

impl std::fmt::Debug for OprfRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OprfRequest").finish_non_exhaustive()
    }
}

impl OprfRequest {
    /// Blinds `input` with a fresh random scalar (RFC 9497 §3.3.2 `Blind`).
    ///
    /// # Errors
    /// [`OprfError::Input`] for an empty input or one over [`MAX_INPUT_LEN`] bytes.
    pub fn blind(input: &[u8]) -> Result<Self, OprfError> {
        let mut blind = Scalar::random(&mut OsRng);
        while blind == Scalar::ZERO {
            blind = Scalar::random(&mut OsRng);
        }
        Self::with_blind(input, blind)
    }

    /// [`Self::blind`] with a given blind (the test vectors choose theirs).
    fn with_blind(input: &[u8], blind: Scalar) -> Result<Self, OprfError> {
        if input.is_empty() || input.len() > MAX_INPUT_LEN {
            return Err(OprfError::Input);
        }
        let result = VoprfClient::<Ristretto255>::deterministic_blind_unchecked(input, blind)
            .map_err(|_| OprfError::Input)?;
        Ok(Self {
            input: Zeroizing::new(input.to_vec()),
            blind: Zeroizing::new(blind),
            blinded: array(&result.message.serialize(), "blinded element")?,
            client: result.state,
        })
    }

    /// The blinded element to send to the members (32 bytes).
    pub fn blinded_element(&self) -> [u8; ELEMENT_LEN] {
        self.blinded
    }

    /// Checks one answer's proof against its member's public key share (RFC 9497 §2.2.2
    /// `VerifyProof`).
    ///
    /// # Errors
    /// [`OprfError::Index`] for an index with no public share, [`OprfError::Malformed`] for
    /// bytes that do not decode, [`OprfError::Proof`] for a proof that does not verify.
    pub fn verify(&self, key: &OprfPublicKey, answer: &ShareEvaluation) -> Result<(), OprfError> {
        let share_key = key
            .shares
            .get(&answer.index)
            .ok_or(OprfError::Index(answer.index))?;
        let element = EvaluationElement::<Ristretto255>::deserialize(&answer.element)
            .map_err(|_| OprfError::Malformed("evaluation element"))?;
        let proof = Proof::<Ristretto255>::deserialize(&answer.proof)
            .map_err(|_| OprfError::Malformed("proof"))?;
        self.client
            .finalize(&self.input, &element, &proof, *share_key)
            .map(|_| ())
            .map_err(|_| OprfError::Proof(answer.index))
    }

    /// Checks each answer's proof against its member's public key share, combines them and
    /// unblinds: the RFC 9497 VOPRF output under the shared key (64 bytes).
    ///
    /// # Errors
    /// [`OprfError::Index`] for an answer from an unknown or repeated index,
    /// [`OprfError::Malformed`] / [`OprfError::Proof`] for an answer that does not decode or
    /// verify (naming the member), [`OprfError::TooFew`] with fewer than `t` answers. `key`
    /// must have passed [`OprfPublicKey::check`].
    pub fn finalize(
        &self,
        key: &OprfPublicKey,
        answers: &[ShareEvaluation],
    ) -> Result<[u8; OUTPUT_LEN], OprfError> {
        let needed = usize::from(key.threshold).max(1);
        let mut seen = BTreeSet::new();
        let mut points = Vec::with_capacity(answers.len());
        for answer in answers {
            if !key.shares.contains_key(&answer.index) || !seen.insert(answer.index) {
                return Err(OprfError::Index(answer.index));
            }
            self.verify(key, answer)?;
            let point = CompressedRistretto(answer.element)
                .decompress()
                .ok_or(OprfError::Malformed("evaluation element"))?;
            points.push((answer.index, point));
        }
        if points.len() < needed {
            return Err(OprfError::TooFew {
                got: points.len(),
                needed,
            });
        }
        // Each `Z_i = k_i·B` is proved; `t` or more of them interpolate to `k·B` as long as
        // the public shares interpolate to the group key ([`OprfPublicKey::check`]).
        let combined = combine(points.iter().copied());
        let unblinded = self.blind.invert() * combined;
        Ok(finalize_hash(&self.input, &unblinded))
    }
}

/// The borrower reference of an OPRF output:
/// `SHA-256(framed("veil.borrower-ref.oprf.v1") ‖ framed(output))` (32 bytes).
pub fn borrower_ref(output: &[u8; OUTPUT_LEN]) -> [u8; 32] {
    let mut message = Vec::with_capacity(16 + 32 + OUTPUT_LEN);
    crate::encoding::put_framed(&mut message, crate::labels::BORROWER_REF_OPRF);
    crate::encoding::put_framed(&mut message, output);
    sha2::Sha256::digest(&message).into()
}

/// `Σ λ_i·P_i` with the Lagrange coefficients at 0 of the (distinct, non-zero) indices given.
fn combine(points: impl Iterator<Item = (u16, RistrettoPoint)>) -> RistrettoPoint {
    let points: Vec<(u16, RistrettoPoint)> = points.collect();
    interpolate(&points, Scalar::ZERO)
}

/// The polynomial through `points` (index, value in the exponent), evaluated at `x`:
/// `Σ_i λ_i(x)·P_i` with `λ_i(x) = Π_{j ≠ i} (x − j) / (i − j)`; indices distinct.
fn interpolate(points: &[(u16, RistrettoPoint)], x: Scalar) -> RistrettoPoint {
    points
        .iter()
        .map(|(i, point)| {
            let i = Scalar::from(*i);
            let (mut numerator, mut denominator) = (Scalar::ONE, Scalar::ONE);
            for (j, _) in points {
                let j = Scalar::from(*j);
                if j != i {
                    numerator *= x - j;
                    denominator *= i - j;
                }
            }
            numerator * denominator.invert() * point
        })
        .sum()
}

/// RFC 9497 §3.3.1 `Finalize`: `SHA-512(I2OSP(len(x), 2) ‖ x ‖ I2OSP(32, 2) ‖ N ‖ "Finalize")`.
fn finalize_hash(input: &[u8], unblinded: &RistrettoPoint) -> [u8; OUTPUT_LEN] {
    let mut hash = Sha512::new();
    hash.update((input.len() as u16).to_be_bytes());
    hash.update(input);
    hash.update((ELEMENT_LEN as u16).to_be_bytes());
    hash.update(unblinded.compress().as_bytes());
    hash.update(b"Finalize");
    hash.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(text: &str) -> Vec<u8> {
        hex::decode(text).unwrap()
    }

    fn scalar(text: &str) -> Scalar {
        Scalar::from_canonical_bytes(hex(text).try_into().unwrap()).unwrap()
    }

    /// A trusted dealing of `secret` `t`-of-`n` (tests only: the DKG deals without a dealer).
    fn deal(secret: Scalar, t: u16, n: u16) -> (Vec<OprfKeyShare>, OprfPublicKey) {
        let mut coefficients = vec![secret];
        coefficients.extend((1..t).map(|_| Scalar::random(&mut OsRng)));
        let shares: Vec<OprfKeyShare> = (1..=n)
            .map(|i| {
                let x = Scalar::from(i);
                let value = coefficients
                    .iter()
                    .rev()
                    .fold(Scalar::ZERO, |acc, c| acc * x + c);
                OprfKeyShare::new(i, value).unwrap()
            })
            .collect();
        let public = OprfPublicKey {
            threshold: t,
            group_key: RistrettoPoint::mul_base(&secret),
            shares: shares.iter().map(|s| (s.index(), s.public())).collect(),
        };
        (shares, public)
    }

    /// RFC 9497 Appendix A.1.2 (VOPRF mode, ristretto255-SHA512), test vectors 1 and 2, with
    /// the key held whole (1-of-1).
    #[test]
    fn a_one_of_one_evaluation_matches_the_rfc_9497_test_vectors() {
        let sk = scalar("e6f73f344b79b379f1a0dd37e07ff62e38d9f71345ce62ae3a9bc60b04ccd909");
        let (shares, public) = deal(sk, 1, 1);
        assert_eq!(
            public.group_key.compress().to_bytes().to_vec(),
            hex("c803e2cc6b05fc15064549b5920659ca4a77b2cca6f04f6b357009335476ad4e")
        );
        let blind = scalar("64d37aed22a27f5191de1c1d69fadb899d8862b58eb4220029e036ec4c1f6706");
        for (input, blinded, evaluated, output) in [
            (
                "00",
                "863f330cc1a1259ed5a5998a23acfd37fb4351a793a5b3c090b642ddc439b945",
                "aa8fa048764d5623868679402ff6108d2521884fa138cd7f9c7669a9a014267e",
                "b58cfbe118e0cb94d79b5fd6a6dafb98764dff49c14e1770b566e42402da1a7da4d8527693914139caee5bd03903af43a491351d23b430948dd50cde10d32b3c",
            ),
            (
                "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a",
                "cc0b2a350101881d8a4cba4c80241d74fb7dcbfde4a61fde2f91443c2bf9ef0c",
                "60a59a57208d48aca71e9e850d22674b611f752bed48b36f7a91b372bd7ad468",
                "8a9a2f3c7f085b65933594309041fc1898d42d0858e59f90814ae90571a6df60356f4610bf816f27afdd84f47719e480906d27ecd994985890e5f539e7ea74b6",
            ),
        ] {
            let request = OprfRequest::with_blind(&hex(input), blind).unwrap();
            assert_eq!(request.blinded_element().to_vec(), hex(blinded));
            let answer = evaluate_share(&shares[0], &request.blinded_element()).unwrap();
            assert_eq!(answer.element.to_vec(), hex(evaluated));
            let out = request.finalize(&public, &[answer]).unwrap();
            assert_eq!(out.to_vec(), hex(output));
            // The maintained implementation, holding the whole key, agrees.
            let server = VoprfServer::<Ristretto255>::new_with_key(sk.as_bytes()).unwrap();
            assert_eq!(server.evaluate(&hex(input)).unwrap().to_vec(), out.to_vec());
        }
    }

    #[test]
    fn any_threshold_of_members_gives_the_output_of_the_whole_key() {
        let secret = Scalar::random(&mut OsRng);
        let (shares, public) = deal(secret, 3, 4);
        public.check().unwrap();
        let input = b"11010519491231002X";
        let whole = VoprfServer::<Ristretto255>::new_with_key(secret.as_bytes())
            .unwrap()
            .evaluate(input)
            .unwrap()
            .to_vec();
        for set in [[0, 1, 2], [1, 2, 3], [0, 2, 3], [0, 1, 3]] {
            let request = OprfRequest::blind(input).unwrap();
            let answers: Vec<ShareEvaluation> = set
                .iter()
                .map(|i| evaluate_share(&shares[*i], &request.blinded_element()).unwrap())
                .collect();
            assert_eq!(request.finalize(&public, &answers).unwrap().to_vec(), whole);
        }
        // All four answering gives the same.
        let request = OprfRequest::blind(input).unwrap();
        let answers: Vec<ShareEvaluation> = shares
            .iter()
            .map(|s| evaluate_share(s, &request.blinded_element()).unwrap())
            .collect();
        assert_eq!(request.finalize(&public, &answers).unwrap().to_vec(), whole);
    }

    #[test]
    fn too_few_forged_or_repeated_answers_are_refused() {
        let (shares, public) = deal(Scalar::random(&mut OsRng), 3, 4);
        let request = OprfRequest::blind(b"11010519491231002X").unwrap();
        let blinded = request.blinded_element();
        let answers: Vec<ShareEvaluation> = shares
            .iter()
            .map(|s| evaluate_share(s, &blinded).unwrap())
            .collect();
        assert_eq!(
            request.finalize(&public, &answers[..2]),
            Err(OprfError::TooFew { got: 2, needed: 3 })
        );
        // A member that answers with another scalar (or another member's answer) is named.
        let mut forged = answers[..3].to_vec();
        forged[1] = ShareEvaluation {
            index: 2,
            ..answers[2].clone()
        };
        assert_eq!(request.finalize(&public, &forged), Err(OprfError::Proof(2)));
        let wrong_key = OprfKeyShare::new(2, Scalar::random(&mut OsRng)).unwrap();
        forged[1] = evaluate_share(&wrong_key, &blinded).unwrap();
        assert_eq!(request.finalize(&public, &forged), Err(OprfError::Proof(2)));
        let mut repeated = answers[..3].to_vec();
        repeated[2] = answers[0].clone();
        assert_eq!(
            request.finalize(&public, &repeated),
            Err(OprfError::Index(1))
        );
        let unknown = ShareEvaluation {
            index: 9,
            ..answers[0].clone()
        };
        assert_eq!(
            request.finalize(&public, &[unknown]),
            Err(OprfError::Index(9))
        );
        assert!(matches!(
            evaluate_share(&shares[0], &[0u8; 32]),
            Err(OprfError::Malformed(_))
        ));
        assert_eq!(OprfRequest::blind(b"").err(), Some(OprfError::Input));
    }

    #[test]
    fn key_shares_round_trip_and_bad_ones_are_refused() {
        let (shares, mut public) = deal(Scalar::random(&mut OsRng), 2, 3);
        let bytes = shares[1].to_bytes();
        let decoded = OprfKeyShare::from_bytes(&bytes).unwrap();
        assert_eq!((decoded.index(), decoded.public()), (2, shares[1].public()));
        assert!(OprfKeyShare::from_bytes(&bytes[..33]).is_err());
        assert!(OprfKeyShare::from_bytes(&[0u8; 34]).is_err());
        public.check().unwrap();
        public
            .shares
            .insert(2, RistrettoPoint::mul_base(&Scalar::ONE));
        assert_eq!(public.check(), Err(OprfError::Combination));
        // A share off the polynomial anywhere, not only among the first or last t, is caught.
        let (_, mut wide) = deal(Scalar::random(&mut OsRng), 3, 7);
        wide.check().unwrap();
        wide.shares
            .insert(4, RistrettoPoint::mul_base(&Scalar::from(4u64)));
        assert_eq!(wide.check(), Err(OprfError::Combination));
    }

    #[test]
    fn degenerate_public_keys_are_refused() {
        use curve25519_dalek::traits::Identity as _;
        // k = 0: every output would be public.
        let (_, zero) = deal(Scalar::ZERO, 2, 3);
        assert!(matches!(zero.check(), Err(OprfError::Malformed(_))));
        // A constant polynomial (every K_i = K): one member alone holds the key, though the
        // genesis says three are needed.
        let (_, mut constant) = deal(Scalar::random(&mut OsRng), 3, 4);
        let k = constant.group_key;
        for share in constant.shares.values_mut() {
            *share = k;
        }
        assert!(matches!(constant.check(), Err(OprfError::Malformed(_))));
        // A polynomial of degree 1 declared as threshold 3: two members hold the key.
        let (_, mut low) = deal(Scalar::random(&mut OsRng), 2, 4);
        low.threshold = 3;
        assert_eq!(low.check(), Err(OprfError::Combination));
        // An identity share.
        let (_, mut identity) = deal(Scalar::random(&mut OsRng), 2, 3);
        identity.shares.insert(3, RistrettoPoint::identity());
        assert!(matches!(identity.check(), Err(OprfError::Malformed(_))));
    }
}
