//! The certificate authorities the genesis names: each member and regulator brings its own.
//!
//! A party's CA is a PEM chain whose **first** certificate is the CA that issues the party's
//! TLS certificates (node, gateway, clients). It is the party's trust anchor: a certificate
//! that chains to it speaks for that party and no other (`crate::tls`). Further certificates
//! (an issuing intermediate's parents, up to the bank's root) document where the CA comes from;
//! each must have issued the one before it (names compared as RFC 5280 §7.1 requires).
//!
//! Accepted keys, for every certificate of the chain: RSA of at least 2048 bits, ECDSA on
//! P-256 or P-384, or Ed25519. Every certificate must be a CA (basic constraints, RFC 5280
//! §4.2.1.9). Validity periods are checked against a given time ([`CaChain::check_validity`]):
//! `veil member keygen` and `veil consortium assemble` refuse an expired or not-yet-valid CA,
//! and nodes and gateways stop trusting one when it expires.

use std::time::SystemTime;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use sha2::{Digest as _, Sha256};
use x509_parser::prelude::*;

/// Why a CA chain is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("CA certificate {index} ({subject}): {reason}")]
pub struct CaError {
    /// The position of the offending certificate in the chain (0 = the issuing CA).
    pub index: usize,
    /// Its subject, or `?` if it does not parse.
    pub subject: String,
    /// Why.
    pub reason: String,
}

/// Longest CA chain accepted.
pub const MAX_CHAIN: usize = 4;

/// A party's CA chain, checked for shape and key algorithms.
#[derive(Clone, PartialEq, Eq)]
pub struct CaChain {
    certs: Vec<CertificateDer<'static>>,
    validity: Vec<(i64, i64)>,
    subjects: Vec<String>,
    /// The issuing CA's subject name and SubjectPublicKeyInfo, DER.
    anchor_subject: Vec<u8>,
    anchor_key: Vec<u8>,
}

impl std::fmt::Debug for CaChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaChain")
            .field("subjects", &self.subjects)
            .finish_non_exhaustive()
    }
}

fn key_algorithm(cert: &X509Certificate<'_>) -> Result<(), String> {
    use x509_parser::public_key::PublicKey;
    match cert.public_key().parsed() {
        Ok(PublicKey::RSA(rsa)) => {
            let bits = rsa.key_size();
            if bits < 2048 {
                return Err(format!(
                    "an RSA key of {bits} bits (at least 2048 are needed)"
                ));
            }
            Ok(())
        }
        Ok(PublicKey::EC(_)) => {
            let curve = cert
                .public_key()
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok());
            let p256 = x509_parser::oid_registry::OID_EC_P256;
            let p384 = x509_parser::oid_registry::OID_NIST_EC_P384;
            match curve {
                Some(oid) if oid == p256 || oid == p384 => Ok(()),
                _ => Err("an elliptic-curve key on a curve other than P-256 or P-384".into()),
            }
        }
        Ok(PublicKey::Unknown(_))
            if cert.public_key().algorithm.algorithm
                == x509_parser::oid_registry::OID_SIG_ED25519 =>
        {
            Ok(())
        }
        Ok(_) => Err("a key algorithm other than RSA, ECDSA P-256/P-384 or Ed25519".into()),
        Err(e) => Err(format!("an unreadable public key ({e})")),
    }
}

impl CaChain {
    /// Parses and checks a PEM chain (issuing CA first).
    ///
    /// # Errors
    /// [`CaError`]: a PEM block that is not a certificate, no certificate, more than
    /// [`MAX_CHAIN`], a certificate that does not parse,
    /// is not a CA, has a refused key algorithm, or did not issue the one before it.
    pub fn from_pem(text: &str) -> Result<Self, CaError> {
        // A chain is published to every party: refuse anything but certificates (a private
        // key pasted into the bundle by mistake must never travel with it).
        for line in text.lines() {
            if let Some(label) = line.trim().strip_prefix("-----BEGIN ") {
                let label = label.trim_end_matches('-');
                if label != "CERTIFICATE" {
                    return Err(CaError {
                        index: 0,
                        subject: "?".into(),
                        reason: format!(
                            "the file holds a PEM block other than certificates ({label}); a CA \
                             chain is published to every party and may hold certificates only"
                        ),
                    });
                }
            }
        }
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(text.as_bytes())
            .collect::<Result<_, _>>()
            .map_err(|e| CaError {
                index: 0,
                subject: "?".into(),
                reason: format!("not PEM certificates ({e})"),
            })?;
        if certs.is_empty() {
            return Err(CaError {
                index: 0,
                subject: "?".into(),
                reason: "no certificate".into(),
            });
        }
        if certs.len() > MAX_CHAIN {
            return Err(CaError {
                index: MAX_CHAIN,
                subject: "?".into(),
                reason: format!("a chain of more than {MAX_CHAIN} certificates"),
            });
        }
        let mut validity = Vec::with_capacity(certs.len());
        let mut subjects = Vec::with_capacity(certs.len());
        let mut previous_issuer: Option<Vec<u8>> = None;
        let mut anchor_subject = Vec::new();
        let mut anchor_key = Vec::new();
        for (index, der) in certs.iter().enumerate() {
            let (rest, cert) = X509Certificate::from_der(der.as_ref()).map_err(|e| CaError {
                index,
                subject: "?".into(),
                reason: format!("does not parse ({e})"),
            })?;
            let subject = cert.subject().to_string();
            let fail = |reason: String| CaError {
                index,
                subject: subject.clone(),
                reason,
            };
            if !rest.is_empty() {
                return Err(fail("trailing bytes after the certificate".into()));
            }
            if !cert.is_ca() {
                return Err(fail("not a CA (basic constraints cA is not set)".into()));
            }
            key_algorithm(&cert).map_err(|k| fail(format!("has {k}")))?;
            if let Some(issuer) = &previous_issuer
                && cert.subject().as_raw() != issuer.as_slice()
            {
                return Err(fail(
                    "did not issue the certificate before it in the chain".into(),
                ));
            }
            previous_issuer = Some(cert.issuer().as_raw().to_vec());
            if index == 0 {
                anchor_subject = cert.subject().as_raw().to_vec();
                anchor_key = cert.public_key().raw.to_vec();
            }
            validity.push((
                cert.validity().not_before.timestamp(),
                cert.validity().not_after.timestamp(),
            ));
            subjects.push(subject);
        }
        Ok(Self {
            certs,
            validity,
            subjects,
            anchor_subject,
            anchor_key,
        })
    }

    /// The issuing CA: the party's trust anchor.
    pub fn anchor(&self) -> &CertificateDer<'static> {
        &self.certs[0]
    }

    /// Every certificate, issuing CA first.
    pub fn certificates(&self) -> &[CertificateDer<'static>] {
        &self.certs
    }

    /// The issuing CA's subject name, DER.
    pub fn anchor_subject(&self) -> &[u8] {
        &self.anchor_subject
    }

    /// The issuing CA's SubjectPublicKeyInfo, DER.
    pub fn anchor_key(&self) -> &[u8] {
        &self.anchor_key
    }

    /// The chain as PEM, re-encoded from the parsed certificates (nothing else the input
    /// held).
    pub fn to_pem(&self) -> String {
        self.certs
            .iter()
            .filter_map(|c| {
                pem_rfc7468::encode_string("CERTIFICATE", pem_rfc7468::LineEnding::LF, c.as_ref())
                    .ok()
            })
            .collect()
    }

    /// The issuing CA's subject, for messages.
    pub fn subject(&self) -> &str {
        &self.subjects[0]
    }

    /// SHA-256 of each certificate's DER, in order (what the genesis hash covers).
    pub fn fingerprints(&self) -> Vec<[u8; 32]> {
        self.certs
            .iter()
            .map(|c| Sha256::digest(c.as_ref()).into())
            .collect()
    }

    /// Refuses a chain any certificate of which is expired or not yet valid at `now`.
    ///
    /// # Errors
    /// [`CaError`] naming the certificate and its validity period.
    pub fn check_validity(&self, now: SystemTime) -> Result<(), CaError> {
        let now = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        for (index, (not_before, not_after)) in self.validity.iter().enumerate() {
            let fail = |reason: &str| CaError {
                index,
                subject: self.subjects[index].clone(),
                reason: format!("{reason} (valid from {not_before} to {not_after}, Unix seconds)"),
            };
            if now < *not_before {
                return Err(fail("is not yet valid"));
            }
            if now > *not_after {
                return Err(fail("has expired"));
            }
        }
        Ok(())
    }
}
