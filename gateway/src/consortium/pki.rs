//! A party's own issuing CA (`veil member keygen`, `veil regulator keygen`): issues its server
//! and client certificates and revocation lists with rcgen. A bank may bring its own PKI
//! instead (`--ca-chain`); only the file layout matters.
//!
//! Client certificates carry the holder's identity as the subject common name
//! `<member>:<role>` (see `veil_node::tls::identity_of`).

use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, SystemTime};

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DistinguishedName,
    DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose,
    PKCS_ECDSA_P256_SHA256, RevokedCertParams, SanType, SerialNumber,
};

/// Why certificate material could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// rcgen failed.
    #[error("certificate generation: {0}")]
    Rcgen(#[from] rcgen::Error),
    /// A file could not be read or written.
    #[error("{path}: {reason}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
}

/// A certificate and its private key, PEM. `Debug` shows the certificate, never the key.
pub struct Issued {
    /// The certificate.
    pub cert_pem: String,
    /// The private key (PKCS#8).
    pub key_pem: zeroize::Zeroizing<String>,
    /// The serial number, for revocation.
    pub serial: Vec<u8>,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("cert_pem", &self.cert_pem)
            .field("key_pem", &"[redacted]")
            .field("serial", &self.serial)
            .finish()
    }
}

/// The consortium CA.
pub struct Ca {
    cert_pem: String,
    key: KeyPair,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca").finish_non_exhaustive()
    }
}

fn validity(params: &mut CertificateParams, not_before: SystemTime, lifetime: Duration) {
    params.not_before = not_before.into();
    params.not_after = (not_before + lifetime).into();
}

fn random_serial() -> SerialNumber {
    let mut bytes = [0u8; 16];
    let _ = getrandom::fill(&mut bytes);
    bytes[0] &= 0x7f;
    SerialNumber::from_slice(&bytes)
}

/// How long issued certificates live by default.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(5 * 365 * 24 * 3600);

/// What a certificate is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    /// A TLS server (gateway, node API).
    Server,
    /// A TLS client (bank apps, gateways talking to nodes).
    Client,
}

impl Ca {
    /// A new issuing CA for party `party` (a member bank or regulator).
    pub fn generate(party: &str) -> Result<Self, PkiError> {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        let mut name = DistinguishedName::new();
        name.push(DnType::CommonName, format!("Veil issuing CA of {party}"));
        name.push(DnType::OrganizationName, "Veil");
        params.distinguished_name = name;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.key_identifier_method = KeyIdMethod::Sha256;
        params.serial_number = Some(random_serial());
        validity(
            &mut params,
            SystemTime::now() - Duration::from_secs(3600),
            Duration::from_secs(10 * 365 * 24 * 3600),
        );
        let cert = params.self_signed(&key)?;
        Ok(Self {
            cert_pem: cert.pem(),
            key,
        })
    }

    /// Loads a CA from its certificate and key files.
    pub fn load(cert: &Path, key: &Path) -> Result<Self, PkiError> {
        let read = |path: &Path| {
            std::fs::read_to_string(path).map_err(|e| PkiError::Io {
                path: path.display().to_string(),
                reason: e.to_string(),
            })
        };
        let cert_pem = read(cert)?;
        let key = KeyPair::from_pem(&read(key)?)?;
        Ok(Self { cert_pem, key })
    }

    /// The CA certificate.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The CA private key.
    pub fn key_pem(&self) -> zeroize::Zeroizing<String> {
        zeroize::Zeroizing::new(self.key.serialize_pem())
    }

    fn issuer(&self) -> Result<Issuer<'_, &KeyPair>, PkiError> {
        Ok(Issuer::from_ca_cert_pem(&self.cert_pem, &self.key)?)
    }

    /// Issues a certificate for `common_name`, valid from `not_before` for `lifetime`.
    pub fn issue(
        &self,
        common_name: &str,
        usage: Usage,
        hosts: &[String],
        not_before: SystemTime,
        lifetime: Duration,
    ) -> Result<Issued, PkiError> {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        for host in hosts {
            params.subject_alt_names.push(match host.parse::<IpAddr>() {
                Ok(ip) => SanType::IpAddress(ip),
                Err(_) => SanType::DnsName(host.clone().try_into()?),
            });
        }
        let mut name = DistinguishedName::new();
        name.push(DnType::CommonName, common_name);
        name.push(DnType::OrganizationName, "Veil");
        params.distinguished_name = name;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![match usage {
            Usage::Server => ExtendedKeyUsagePurpose::ServerAuth,
            Usage::Client => ExtendedKeyUsagePurpose::ClientAuth,
        }];
        params.use_authority_key_identifier_extension = true;
        let serial = random_serial();
        params.serial_number = Some(serial.clone());
        validity(&mut params, not_before, lifetime);
        let cert = params.signed_by(&key, &self.issuer()?)?;
        Ok(Issued {
            cert_pem: cert.pem(),
            key_pem: zeroize::Zeroizing::new(key.serialize_pem()),
            serial: serial.to_bytes(),
        })
    }

    /// Issues a certificate valid from an hour ago for [`DEFAULT_LIFETIME`].
    pub fn issue_now(
        &self,
        common_name: &str,
        usage: Usage,
        hosts: &[String],
    ) -> Result<Issued, PkiError> {
        self.issue(
            common_name,
            usage,
            hosts,
            SystemTime::now() - Duration::from_secs(3600),
            DEFAULT_LIFETIME,
        )
    }

    /// A CRL revoking the certificates with these serial numbers (empty: nothing revoked).
    pub fn crl(&self, revoked: &[Vec<u8>], number: u64) -> Result<String, PkiError> {
        let now = SystemTime::now();
        let params = CertificateRevocationListParams {
            this_update: (now - Duration::from_secs(60)).into(),
            next_update: (now + Duration::from_secs(30 * 24 * 3600)).into(),
            crl_number: SerialNumber::from(number),
            issuing_distribution_point: None,
            revoked_certs: revoked
                .iter()
                .map(|serial| RevokedCertParams {
                    serial_number: SerialNumber::from_slice(serial),
                    revocation_time: (now - Duration::from_secs(60)).into(),
                    reason_code: None,
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: KeyIdMethod::Sha256,
        };
        Ok(params.signed_by(&self.issuer()?)?.pem()?)
    }
}
