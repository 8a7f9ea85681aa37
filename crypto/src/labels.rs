//! Every domain-separation label Veil uses, in one place.
//!
//! A label names one purpose and one version of a format. Changing what is hashed, signed,
//! encrypted or absorbed under a label requires a new label (`.v2`), never an edit of the
//! old one: old ledger entries must keep verifying. No other module spells a label out.

/// HPKE `info` for wrapping a data key to a recipient (RFC 9180 `info`).
pub const ENVELOPE_WRAP_INFO: &[u8] = b"veil.envelope.wrap.v1";
/// Prefix of the HPKE `aad` that binds a wrapped data key to its entry and reader group.
pub const ENVELOPE_WRAP_AAD: &[u8] = b"veil.envelope.wrap-aad.v1";
/// Prefix of the HKDF `info` that derives a field key from a group's data key.
pub const ENVELOPE_FIELD_KEY: &[u8] = b"veil.envelope.field-key.v1";
/// Prefix of the XChaCha20-Poly1305 associated data of one encrypted field.
pub const ENVELOPE_FIELD_AAD: &[u8] = b"veil.envelope.field-aad.v1";

/// HKDF salt for deriving a scoped view key from a regulator's master view key.
pub const VIEW_KEY_SCOPE: &[u8] = b"veil.view-key.scope.v1";

/// Keyed hashes of identifiers (e.g. `borrower_ref`).
pub const KEYED_HASH: &[u8] = b"veil.keyed-hash.v1";

/// Signature domains: the signed message is `len(domain) || domain || message`.
pub mod signature {
    /// A ledger entry signed by its submitting member.
    pub const ENTRY: &[u8] = b"veil.signature.entry.v1";
    /// Tests and examples; never accepted by the ledger.
    pub const TEST: &[u8] = b"veil.signature.test.v1";
}

/// Merlin transcript labels. The transcript's own label is the proof system and version;
/// the others name the parts of the public statement absorbed before any challenge.
pub mod transcript {
    /// Aggregated 64-bit range proof over Pedersen commitments.
    pub const RANGE_PROOF: &[u8] = b"veil.range-proof.v1";
    /// Schnorr proof that a public linear combination of commitments opens to zero.
    pub const RELATION_PROOF: &[u8] = b"veil.relation-proof.v1";

    /// The statement's context: the entry id the proof belongs to.
    pub const ENTRY_ID: &[u8] = b"entry-id";
    /// What the proof is for inside the entry (e.g. `funding-sum`).
    pub const PURPOSE: &[u8] = b"purpose";
    /// The bit size of a range proof.
    pub const BITS: &[u8] = b"bits";
    /// The number of values in a statement (before padding).
    pub const COUNT: &[u8] = b"count";
    /// One Pedersen commitment of the statement.
    pub const COMMITMENT: &[u8] = b"commitment";
    /// One public integer coefficient of a linear relation.
    pub const COEFFICIENT: &[u8] = b"coefficient";
    /// The public constant term of a linear relation.
    pub const CONSTANT: &[u8] = b"constant";
    /// The prover's Schnorr nonce commitment.
    pub const NONCE_COMMITMENT: &[u8] = b"nonce-commitment";
    /// The Schnorr challenge.
    pub const CHALLENGE: &[u8] = b"challenge";
}

/// PEM labels of key files.
pub mod pem {
    /// PKCS#8 private key (Ed25519 or X25519, RFC 8410).
    pub const PRIVATE_KEY: &str = "PRIVATE KEY";
    /// SubjectPublicKeyInfo (Ed25519 or X25519, RFC 8410).
    pub const PUBLIC_KEY: &str = "PUBLIC KEY";
    /// A regulator's master view key.
    pub const MASTER_VIEW_KEY: &str = "VEIL MASTER VIEW KEY";
    /// One scoped view key (period, field class, X25519 secret).
    pub const SCOPED_VIEW_KEY: &str = "VEIL SCOPED VIEW KEY";
}
