//! Every domain-separation label Veil uses, in one place.
//!
//! A label names one purpose and one version of a format. Changing what is hashed, signed,
//! encrypted or absorbed under a label requires a new label (`.v2`), never an edit of the
//! old one: old ledger entries must keep verifying. No other module spells a label out, in
//! this crate or any other Veil crate: circuits, node, policies and gateway take theirs from here.

/// HPKE `info` for wrapping a data key to a recipient (RFC 9180 `info`).
pub const ENVELOPE_WRAP_INFO: &[u8] = b"veil.envelope.wrap.v1";
/// Prefix of the HPKE `aad` that binds a wrapped data key to its entry and reader group.
pub const ENVELOPE_WRAP_AAD: &[u8] = b"veil.envelope.wrap-aad.v1";
/// Prefix of the HKDF `info` that derives a field key from a group's data key.
pub const ENVELOPE_FIELD_KEY: &[u8] = b"veil.envelope.field-key.v1";
/// Prefix of the XChaCha20-Poly1305 associated data of one encrypted field. `.v2`: the
/// plaintext under it is padded to a length bucket (`docs/protocol/envelope.md`); `.v1`
/// fields were unpadded.
pub const ENVELOPE_FIELD_AAD: &[u8] = b"veil.envelope.field-aad.v2";
/// Prefix of the HMAC-SHA256 message that commits a reader group to its data key (the
/// envelope's key commitment, keyed by the data key, over this label and the group's wrap AAD).
pub const ENVELOPE_KEY_COMMITMENT: &[u8] = b"veil.envelope.key-commitment.v1";

/// HKDF salt for deriving a scoped view key from a regulator's master view key.
pub const VIEW_KEY_SCOPE: &[u8] = b"veil.view-key.scope.v1";

/// HKDF-SHA256 salt deriving a regulator's auditor key seed from its master view key.
pub const VIEW_KEY_AUDITOR: &[u8] = b"veil.view-key.auditor.v1";

/// Keyed hashes of identifiers (e.g. `borrower_ref`).
pub const KEYED_HASH: &[u8] = b"veil.keyed-hash.v1";

/// Namespace of the node's consensus signatures (distinct from every other signature Veil
/// makes).
pub const CONSENSUS: &[u8] = b"veil.consensus.v1";
/// Namespace of the nodes' peer-to-peer handshakes.
pub const P2P: &[u8] = b"veil.p2p.v1";

/// First item of the genesis hash (SHA-256 over a canonical rendering of the consortium file).
pub const GENESIS: &[u8] = b"veil.genesis.v1";
/// First item of a policy set's hash (SHA-256 over its canonical JSON policies).
pub const POLICY: &[u8] = b"veil.policy.v1";
/// First item of each gateway disclosure-log record's hash (the log's hash chain).
pub const DISCLOSURE_LOG: &[u8] = b"veil.disclosure.v1";
/// HKDF salt of a member's loan-entry-id key, derived from its entry signing key: a loan's
/// entry id is a keyed hash of its business id, so the ledger's unique entry ids make loan ids
/// unique per originator.
pub const LOAN_ENTRY_ID_KEY: &[u8] = b"veil.loan-entry-id.key.v1";
/// HKDF salt of the key a member's gateways derive the id nonce of an idempotent write from
/// (its Idempotency-Key and body), derived from its entry signing key: every gateway process of
/// the member builds the same entry id for the same request, and the ledger keeps one.
pub const IDEMPOTENT_ENTRY_ID_KEY: &[u8] = b"veil.idempotent-entry-id.key.v1";
/// HKDF salt of a member gateway's borrower-reference cache key, derived from its entry signing
/// key: the cache is keyed by a keyed hash of each national id, never the id itself.
pub const BORROWER_REF_CACHE_KEY: &[u8] = b"veil.borrower-ref-cache.key.v1";
/// SHA-256 prefix (framed) of a borrower reference from the members' threshold OPRF output:
/// `SHA-256(framed(label) ‖ framed(output))`.
pub const BORROWER_REF_OPRF: &[u8] = b"veil.borrower-ref.oprf.v1";
/// SHA-512 prefix (framed) deriving an auditor's twisted-ElGamal secret scalar from 32 bytes
/// of seed material (`veil_crypto::auditor::AuditorSecretKey::derive`).
pub const AUDITOR_KEY: &[u8] = b"veil.auditor.key.v1";

/// First item (framed) of a DKG's manifest hash: `SHA-256(framed(label) ‖ framed(RFC 8785
/// canonical JSON of dkg.json))`. Every DKG message is bound to it.
pub const DKG_MANIFEST: &[u8] = b"veil.dkg.manifest.v1";
/// First item (framed) of the SHA-256 a DKG file's signature covers: the manifest hash, the
/// step, the sender, the recipient and the payload (`veil_gateway::consortium::dkg`).
pub const DKG_MESSAGE: &[u8] = b"veil.dkg.message.v1";
/// HPKE `info` of a DKG round-2 package sealed to its recipient (`crate::dkg::seal_round2`).
pub const DKG_SHARE_INFO: &[u8] = b"veil.dkg.share.v1";
/// First item (framed) of the HPKE `aad` of a sealed round-2 package: it binds the manifest
/// hash, the sender and the recipient.
pub const DKG_SHARE_AAD: &[u8] = b"veil.dkg.share-aad.v1";
/// First item (framed) of a DKG's transcript hash (over every signed file, in order).
pub const DKG_TRANSCRIPT: &[u8] = b"veil.dkg.transcript.v1";

/// Signature domains: the signed message is `len(domain) || domain || message`.
pub mod signature {
    /// A ledger entry signed by its submitting member.
    pub const ENTRY: &[u8] = b"veil.signature.entry.v1";
    /// A founding member's approval of a genesis: the message is the genesis hash.
    pub const GENESIS: &[u8] = b"veil.signature.genesis.v1";
    /// A member's or regulator's public descriptor, signed by its own entry signing key: the
    /// message is the descriptor's RFC 8785 canonical JSON without its signature.
    pub const DESCRIPTOR: &[u8] = b"veil.signature.descriptor.v1";
    /// A ceremony contribution: the message is the transcript hash after the contribution.
    pub const CEREMONY: &[u8] = b"veil.signature.ceremony.v1";
    /// A DKG file (round-1 package, sealed round-2 package, result): the message is the
    /// SHA-256 under [`super::DKG_MESSAGE`] binding the DKG's manifest hash, the step, the
    /// sender, the recipient and the payload.
    pub const DKG: &[u8] = b"veil.signature.dkg.v1";
    /// A regulator's publication of further scoped view keys (a `view_keys.published` entry).
    pub const VIEW_KEYS: &[u8] = b"veil.signature.view-keys.v1";
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
    /// Sigma proof that a decrypt handle opens a commitment's blinding to the auditor's key.
    pub const AUDITOR_VALIDITY_PROOF: &[u8] = b"veil.auditor.validity-proof.v1";

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
    /// The auditor's public key a decrypt handle is made for.
    pub const AUDITOR_PUBLIC_KEY: &[u8] = b"auditor-public-key";
    /// One twisted-ElGamal decrypt handle of the statement.
    pub const DECRYPT_HANDLE: &[u8] = b"decrypt-handle";
    /// The prover's Schnorr nonce commitment.
    pub const NONCE_COMMITMENT: &[u8] = b"nonce-commitment";
    /// The Schnorr challenge.
    pub const CHALLENGE: &[u8] = b"challenge";
}

/// Labels of the Groth16 circuits (`veil-circuits`).
pub mod circuits {
    /// Poseidon domain tag (capacity element `Fr(SHA-256(label))`) of a repayment's commitment,
    /// the leaf of a period's settlement tree.
    pub const REPAYMENT: &[u8] = b"veil.circuits.repayment.v1";
    /// Poseidon domain tag of an inner node of every 4-ary Merkle tree.
    pub const MERKLE_NODE: &[u8] = b"veil.circuits.merkle-node.v1";
    /// Poseidon domain tag of the commitment to a bank's amount due.
    pub const DUE: &[u8] = b"veil.circuits.due.v1";
    /// Poseidon domain tag of the commitment to a borrower's registry reference.
    pub const BORROWER: &[u8] = b"veil.circuits.borrower.v1";
    /// Poseidon domain tag of a KYC registry leaf.
    pub const KYC_LEAF: &[u8] = b"veil.circuits.kyc-leaf.v1";
    /// Poseidon domain tag of a blocklist leaf (an interval between neighbours).
    pub const BLOCKLIST_GAP: &[u8] = b"veil.circuits.blocklist-gap.v1";

    /// SHA-512 prefix deriving a Poseidon blinding from a Pedersen blinding.
    pub const BLINDING: &[u8] = b"veil.circuits.blinding.v1";
    /// SHA-512 prefix deriving a borrower commitment's blinding from the fresh secret a loan
    /// seals beside its borrower reference (field `screening_blinding`, class `terms`).
    pub const SCREENING_BLINDING: &[u8] = b"veil.circuits.screening-blinding.v1";
    /// SHA-256 prefix of the seed of the deterministic, insecure dev setup.
    pub const DEV_SETUP: &[u8] = b"veil.circuits.dev-setup.v1";
    /// SHA-512 prefix of the challenge of a setup ceremony's Schnorr proof of knowledge.
    pub const CEREMONY_KNOWLEDGE: &[u8] = b"veil.ceremony.knowledge.v1";
    /// First component of a setup ceremony's first transcript hash (over its manifest); each
    /// contribution chains onto the hash before it, and its contributor signs the result
    /// under [`super::signature::CEREMONY`].
    pub const CEREMONY_TRANSCRIPT: &[u8] = b"veil.ceremony.transcript.v1";
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

/// The statement id of a ledger entry: what its proofs and ciphertexts are bound to (genesis,
/// submitter, entry id).
pub const STATEMENT_ID: &[u8] = b"veil.statement-id.v1";

/// Entry ids: `SHA-256(framed(ENTRY_ID) || framed(genesis) || framed(submitter) ||
/// framed(nonce))[..16]`, recomputed by nodes.
pub const ENTRY_ID: &[u8] = b"veil.entry-id.v1";

/// Every byte label above, for the tests: a label added above and not here fails them.
#[cfg(test)]
const ALL: &[&[u8]] = &[
    ENVELOPE_WRAP_INFO,
    ENVELOPE_WRAP_AAD,
    ENVELOPE_FIELD_KEY,
    ENVELOPE_FIELD_AAD,
    ENVELOPE_KEY_COMMITMENT,
    VIEW_KEY_SCOPE,
    VIEW_KEY_AUDITOR,
    KEYED_HASH,
    CONSENSUS,
    P2P,
    GENESIS,
    POLICY,
    DISCLOSURE_LOG,
    LOAN_ENTRY_ID_KEY,
    IDEMPOTENT_ENTRY_ID_KEY,
    BORROWER_REF_CACHE_KEY,
    BORROWER_REF_OPRF,
    AUDITOR_KEY,
    DKG_MANIFEST,
    DKG_MESSAGE,
    DKG_SHARE_INFO,
    DKG_SHARE_AAD,
    DKG_TRANSCRIPT,
    STATEMENT_ID,
    ENTRY_ID,
    signature::ENTRY,
    signature::GENESIS,
    signature::DESCRIPTOR,
    signature::CEREMONY,
    signature::DKG,
    signature::VIEW_KEYS,
    signature::TEST,
    transcript::RANGE_PROOF,
    transcript::RELATION_PROOF,
    transcript::AUDITOR_VALIDITY_PROOF,
    transcript::ENTRY_ID,
    transcript::PURPOSE,
    transcript::BITS,
    transcript::COUNT,
    transcript::COMMITMENT,
    transcript::COEFFICIENT,
    transcript::CONSTANT,
    transcript::AUDITOR_PUBLIC_KEY,
    transcript::DECRYPT_HANDLE,
    transcript::NONCE_COMMITMENT,
    transcript::CHALLENGE,
    circuits::REPAYMENT,
    circuits::MERKLE_NODE,
    circuits::DUE,
    circuits::BORROWER,
    circuits::KYC_LEAF,
    circuits::BLOCKLIST_GAP,
    circuits::BLINDING,
    circuits::SCREENING_BLINDING,
    circuits::DEV_SETUP,
    circuits::CEREMONY_KNOWLEDGE,
    circuits::CEREMONY_TRANSCRIPT,
];

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// The names of the parts of a proof's statement, absorbed inside a transcript that its
    /// own versioned label opens: the only labels without a version of their own.
    const STATEMENT_PARTS: &[&[u8]] = &[
        transcript::ENTRY_ID,
        transcript::PURPOSE,
        transcript::BITS,
        transcript::COUNT,
        transcript::COMMITMENT,
        transcript::COEFFICIENT,
        transcript::CONSTANT,
        transcript::AUDITOR_PUBLIC_KEY,
        transcript::DECRYPT_HANDLE,
        transcript::NONCE_COMMITMENT,
        transcript::CHALLENGE,
    ];

    #[test]
    fn every_label_is_unique() {
        let distinct: BTreeSet<&[u8]> = ALL.iter().copied().collect();
        assert_eq!(distinct.len(), ALL.len(), "a label is spelled twice");
    }

    #[test]
    fn every_label_but_the_statement_parts_is_versioned() {
        for label in ALL {
            let text = std::str::from_utf8(label).unwrap();
            if STATEMENT_PARTS.contains(label) {
                continue;
            }
            assert!(text.starts_with("veil."), "{text} is not a Veil label");
            let (_, version) = text.rsplit_once(".v").unwrap_or_default();
            assert!(
                !version.is_empty() && version.bytes().all(|b| b.is_ascii_digit()),
                "{text} does not end in .v<N>"
            );
        }
    }

    /// `ALL` lists every byte label this file defines, so the tests above see each one.
    #[test]
    fn all_lists_every_label_of_this_file() {
        let source = include_str!("labels.rs");
        let defined: BTreeSet<&[u8]> = source
            .lines()
            .filter_map(|line| line.trim().strip_prefix("pub const "))
            .filter_map(|rest| rest.split_once(": &[u8] = b\""))
            .filter_map(|(_, literal)| literal.strip_suffix("\";"))
            .map(str::as_bytes)
            .collect();
        let listed: BTreeSet<&[u8]> = ALL.iter().copied().collect();
        assert_eq!(defined, listed);
    }
}
