//! Ledger entries: header, encrypted fields, commitments, proofs and the submitter's signature.
//!
//! The canonical encoding (format v1, `docs/protocol/ledger.md`) is the only encoding: the
//! signature covers it, its SHA-256 is the entry's digest in a block's Merkle tree, and the
//! decoder accepts exactly the bytes the encoder produces (sorted commitments, bounded
//! lengths, no trailing bytes), so `encode(decode(b)) == b`.

use core::fmt;

use sha2::{Digest as _, Sha256};
use veil_crypto::encoding::{self, Reader};
use veil_crypto::envelope::{FieldContext, SealedGroup};
use veil_crypto::labels;
use veil_crypto::{Commitment, EncodingError, Signature, SigningKey, VerifyingKey};
use veil_policies::schema::is_member_id;

use super::codec::{Writer, read_bytes32, read_str8};

/// Encoding version of an entry (2: the header names the genesis; 3: audit proofs).
pub const ENTRY_VERSION: u8 = 3;
/// Largest encoded entry.
pub const MAX_ENTRY_LEN: usize = 512 * 1024;
/// Most reader groups in one entry. A settlement has one group per partner's amount due (read
/// by that partner and the originator) and one for the originator's own: 64 at 64 members, so
/// an originator whose period involves every other member can still close it.
pub const MAX_GROUPS: usize = 128;
/// Most commitments in one entry.
pub const MAX_COMMITMENTS: usize = 128;
/// Most references in one entry (a settlement references its period's repayments).
pub const MAX_REFERENCES: usize = 4096;
/// Most repayments one `settlement.closed` settles: its references, and one fewer than a
/// relation proof's terms (the originator's amount due is the sum of its allocations in every
/// repayment, plus its own commitment). A larger period is closed by several settlements.
pub const MAX_SETTLED: usize = if MAX_REFERENCES < veil_crypto::relation_proof::MAX_TERMS {
    MAX_REFERENCES
} else {
    veil_crypto::relation_proof::MAX_TERMS - 1
};
/// Most relation proofs in one entry.
pub const MAX_RELATIONS: usize = 128;
/// Largest opaque proof (split or circuit proof).
pub const MAX_OPAQUE_PROOF_LEN: usize = 64 * 1024;
/// Largest audit proof section ([`crate::audit`]): 160 bytes per regulator and commitment.
pub const MAX_AUDIT_LEN: usize = 256 * 1024;
/// Longest entry type name, commitment label or period label.
pub const MAX_LABEL_LEN: usize = 64;

/// Why entry bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EntryDecodeError {
    /// The bytes are malformed.
    #[error(transparent)]
    Encoding(#[from] EncodingError),
    /// The bytes are over [`MAX_ENTRY_LEN`].
    #[error("entry too large")]
    TooLarge,
    /// An unknown encoding version.
    #[error("unknown entry version {0}")]
    Version(u8),
    /// An embedded sealed group is malformed.
    #[error("malformed reader group")]
    Group,
}

/// A 16-byte entry id, shown as hex: [`EntryId::derive`]d from the genesis, the submitter and
/// a nonce the submitter's gateway chooses, so no member can take another member's id.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntryId(pub [u8; 16]);

impl EntryId {
    /// A fresh random id.
    pub fn random() -> Self {
        let mut bytes = [0u8; 16];
        // An OS RNG failure leaves the id all-zero, which the node refuses as a replay after
        // the first use; it cannot silently collide with a real id.
        let _ = getrandom::fill(&mut bytes);
        Self(bytes)
    }

    /// The id of an entry of `submitter` for the consortium of genesis hash `genesis` with
    /// `nonce`: the first 16 bytes of SHA-256(framed([`labels::ENTRY_ID`]) ‖ framed(genesis) ‖
    /// framed(submitter) ‖ framed(nonce)). Nodes recompute it (`docs/protocol/ledger.md`): a
    /// member cannot give its entry the id of another member's pending entry to have that
    /// entry refused as a replay.
    pub fn derive(genesis: &[u8; 32], submitter: &str, nonce: &[u8; 16]) -> Self {
        let mut message = Vec::with_capacity(128);
        encoding::put_framed(&mut message, labels::ENTRY_ID);
        encoding::put_framed(&mut message, genesis);
        encoding::put_framed(&mut message, submitter.as_bytes());
        encoding::put_framed(&mut message, nonce);
        let digest = Sha256::digest(&message);
        let mut out = [0u8; 16];
        out.copy_from_slice(&digest[..16]);
        Self(out)
    }

    /// A fresh random nonce for [`EntryId::derive`].
    pub fn random_nonce() -> [u8; 16] {
        Self::random().0
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        encoding::to_hex(&self.0)
    }

    /// Parses 32 hex digits.
    pub fn from_hex(text: &str) -> Result<Self, EncodingError> {
        Ok(Self(encoding::from_hex_array(text)?))
    }
}

impl fmt::Debug for EntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EntryId({})", self.to_hex())
    }
}

impl fmt::Display for EntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// The public header of an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryHeader {
    /// The entry id: [`EntryId::derive`]`(genesis, submitter, nonce)`.
    pub id: EntryId,
    /// The nonce the id is derived from (random, or for a loan a keyed hash of its business
    /// id).
    pub nonce: [u8; 16],
    /// The hash of the genesis of the consortium the entry is written for: nodes refuse an
    /// entry for another consortium, and every proof and ciphertext of the entry is bound to it
    /// through [`EntryHeader::statement_id`].
    pub genesis: [u8; 32],
    /// The entry type name, e.g. `loan.originated`.
    pub kind: String,
    /// The submitting member's id.
    pub submitter: String,
    /// The schema version of the entry type.
    pub schema_version: u16,
    /// The hash of the policy set the entry was written under.
    pub policy_hash: [u8; 32],
    /// Milliseconds since the Unix epoch, as the submitter's gateway saw it.
    pub timestamp_ms: u64,
    /// The clearing period (`YYYY-MM` or `YYYY-MM-DD`); selects the regulators' view keys.
    pub period: String,
    /// Entries this one refers to (e.g. the loan a repayment repays).
    pub references: Vec<EntryId>,
}

/// The statement id of entry `id` submitted by `submitter` for the consortium of genesis hash
/// `genesis`: the first 16 bytes of SHA-256(framed([`labels::STATEMENT_ID`]) ‖
/// framed(genesis) ‖ framed(submitter) ‖ framed(id)).
///
/// It is what every proof of the entry (range and relation transcripts, the participants' split
/// proof, the Groth16 statements) and every field ciphertext (the envelope AAD) is bound to, in
/// place of the bare entry id: a proof or ciphertext lifted into an entry of another consortium
/// or of another submitter does not verify (`docs/protocol/ledger.md`).
pub fn statement_id(genesis: &[u8; 32], submitter: &str, id: &EntryId) -> [u8; 16] {
    let mut message = Vec::with_capacity(128);
    encoding::put_framed(&mut message, labels::STATEMENT_ID);
    encoding::put_framed(&mut message, genesis);
    encoding::put_framed(&mut message, submitter.as_bytes());
    encoding::put_framed(&mut message, &id.0);
    let digest = Sha256::digest(&message);
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest[..16]);
    out
}

impl EntryHeader {
    /// Whether the id is the one [`EntryId::derive`] gives for this header's genesis,
    /// submitter and nonce.
    pub fn id_is_derived(&self) -> bool {
        self.id == EntryId::derive(&self.genesis, &self.submitter, &self.nonce)
    }

    /// This entry's [`statement_id`].
    pub fn statement_id(&self) -> [u8; 16] {
        statement_id(&self.genesis, &self.submitter, &self.id)
    }

    /// What every field ciphertext of this entry is bound to in consortium `consortium_id`
    /// (the envelope AAD: consortium, `statement` — this entry's [`EntryHeader::statement_id`]
    /// —, schema version, policy hash; `docs/protocol/envelope.md`).
    pub fn field_context<'a>(
        &'a self,
        consortium_id: &'a str,
        statement: &'a [u8; 16],
    ) -> FieldContext<'a> {
        FieldContext {
            consortium_id,
            entry_id: statement,
            schema_version: self.schema_version,
            policy_hash: &self.policy_hash,
        }
    }
}

/// The proofs an entry carries, in the order of its proof plan.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EntryProofs {
    /// The aggregated range proof over the plan's range items.
    pub range: Vec<u8>,
    /// One 64-byte relation proof per relation of the plan, in plan order.
    pub relations: Vec<[u8; 64]>,
    /// Proofs only the entry's participants can check (they need its private terms), e.g. that
    /// each allocation is the floor of amount × share. Empty when the type has none.
    pub participant: Vec<u8>,
    /// A Groth16 proof, for types whose statement needs a circuit. Empty otherwise.
    pub circuit: Vec<u8>,
    /// Each regulator's decrypt handle and validity proof for every commitment
    /// ([`crate::audit`]).
    pub audit: Vec<u8>,
}

/// A signed ledger entry.
#[derive(Clone, PartialEq, Eq)]
pub struct Entry {
    /// The public header.
    pub header: EntryHeader,
    /// The encrypted fields, one sealed group per reader group.
    pub groups: Vec<SealedGroup>,
    /// Pedersen commitments of the committed fields, sorted by label.
    pub commitments: Vec<(String, Commitment)>,
    /// The proofs.
    pub proofs: EntryProofs,
    /// The submitter's Ed25519 signature over the canonical encoding of everything above.
    pub signature: Signature,
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field("id", &self.header.id)
            .field("kind", &self.header.kind)
            .field("submitter", &self.header.submitter)
            .field("groups", &self.groups.len())
            .field("commitments", &self.commitments.len())
            .finish_non_exhaustive()
    }
}

/// The domain-separation label of the signature of an entry of type `kind`: a regulator's
/// view-key publication is signed under [`labels::signature::VIEW_KEYS`], every other entry
/// under [`labels::signature::ENTRY`] (so a signature made for one can never pass as the
/// other).
pub fn signature_label(kind: &str) -> &'static [u8] {
    if kind == veil_policies::EntryType::ViewKeysPublished.name() {
        labels::signature::VIEW_KEYS
    } else {
        labels::signature::ENTRY
    }
}

fn is_label(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_graphic())
}

/// An entry before it is signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsignedEntry {
    /// The public header.
    pub header: EntryHeader,
    /// The encrypted fields.
    pub groups: Vec<SealedGroup>,
    /// The commitments, sorted by label.
    pub commitments: Vec<(String, Commitment)>,
    /// The proofs.
    pub proofs: EntryProofs,
}

impl UnsignedEntry {
    /// A bookkeeping entry of type `kind` (a disclosure-log anchor, an OPRF evaluation report):
    /// by `member` (its id derived from `nonce`), under the consortium of genesis hash
    /// `genesis` and policy hash `policy_hash`, in clearing period `period` (`YYYY-MM`), at
    /// `timestamp_ms` (ms since the Unix epoch), carrying `circuit` in its circuit-data slot
    /// and nothing else ([`Entry::carries_only_circuit_data`]); to be signed with the member's
    /// signing key.
    #[allow(clippy::too_many_arguments)]
    pub fn bookkeeping(
        kind: veil_policies::EntryType,
        circuit: Vec<u8>,
        nonce: [u8; 16],
        genesis: &[u8; 32],
        member: &str,
        policy_hash: [u8; 32],
        period: &str,
        timestamp_ms: u64,
    ) -> Self {
        Self {
            header: EntryHeader {
                id: EntryId::derive(genesis, member, &nonce),
                nonce,
                genesis: *genesis,
                kind: kind.name().to_owned(),
                submitter: member.to_owned(),
                schema_version: kind.schema_version(),
                policy_hash,
                timestamp_ms,
                period: period.to_owned(),
                references: Vec::new(),
            },
            groups: Vec::new(),
            commitments: Vec::new(),
            proofs: EntryProofs {
                circuit,
                ..EntryProofs::default()
            },
        }
    }

    /// The bytes the submitter signs (everything but the signature).
    pub fn signing_bytes(&self) -> Vec<u8> {
        let mut writer = Writer::with_capacity(4096);
        encode_unsigned(
            &mut writer,
            &self.header,
            &self.groups,
            &self.commitments,
            &self.proofs,
        );
        writer.0
    }

    /// Signs the entry with the submitter's key (under the label of its type,
    /// [`signature_label`]).
    pub fn sign(self, key: &SigningKey) -> Entry {
        let signature = key.sign(signature_label(&self.header.kind), &self.signing_bytes());
        Entry {
            header: self.header,
            groups: self.groups,
            commitments: self.commitments,
            proofs: self.proofs,
            signature,
        }
    }
}

fn encode_unsigned(
    writer: &mut Writer,
    header: &EntryHeader,
    groups: &[SealedGroup],
    commitments: &[(String, Commitment)],
    proofs: &EntryProofs,
) {
    writer.u8(ENTRY_VERSION);
    writer.bytes(&header.id.0);
    writer.bytes(&header.nonce);
    writer.bytes(&header.genesis);
    writer.str8(&header.kind);
    writer.str8(&header.submitter);
    writer.u16(header.schema_version);
    writer.bytes(&header.policy_hash);
    writer.u64(header.timestamp_ms);
    writer.str8(&header.period);
    writer.u16(header.references.len() as u16);
    for reference in &header.references {
        writer.bytes(&reference.0);
    }
    writer.u8(groups.len() as u8);
    for group in groups {
        writer.bytes32(&group.encode());
    }
    writer.u16(commitments.len() as u16);
    for (label, commitment) in commitments {
        writer.str8(label);
        writer.bytes(&commitment.to_bytes());
    }
    writer.bytes32(&proofs.range);
    writer.u8(proofs.relations.len() as u8);
    for relation in &proofs.relations {
        writer.bytes(relation);
    }
    writer.bytes32(&proofs.participant);
    writer.bytes32(&proofs.circuit);
    writer.bytes32(&proofs.audit);
}

impl Entry {
    /// Whether this entry carries nothing besides its circuit data: no reader groups,
    /// commitments, participant or audit proofs, or references — the shape of bookkeeping
    /// entries ([`UnsignedEntry::bookkeeping`]; their range and relation proofs are empty by
    /// their proof plan).
    pub fn carries_only_circuit_data(&self) -> bool {
        self.groups.is_empty()
            && self.commitments.is_empty()
            && self.proofs.participant.is_empty()
            && self.proofs.audit.is_empty()
            && self.header.references.is_empty()
    }

    /// The canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut writer = Writer::with_capacity(4096);
        encode_unsigned(
            &mut writer,
            &self.header,
            &self.groups,
            &self.commitments,
            &self.proofs,
        );
        writer.bytes(&self.signature.to_bytes());
        writer.0
    }

    /// The bytes the signature covers.
    pub fn signing_bytes(&self) -> Vec<u8> {
        let mut writer = Writer::with_capacity(4096);
        encode_unsigned(
            &mut writer,
            &self.header,
            &self.groups,
            &self.commitments,
            &self.proofs,
        );
        writer.0
    }

    /// Verifies the signature against the submitter's key (under the label of its type,
    /// [`signature_label`]).
    pub fn verify_signature(&self, key: &VerifyingKey) -> bool {
        key.verify(
            signature_label(&self.header.kind),
            &self.signing_bytes(),
            &self.signature,
        )
        .is_ok()
    }

    /// SHA-256 of the canonical encoding: the leaf of the block's Merkle tree.
    pub fn digest(&self) -> [u8; 32] {
        Sha256::digest(self.encode()).into()
    }

    /// Decodes an entry, refusing anything malformed, oversized or non-canonical.
    pub fn decode(bytes: &[u8]) -> Result<Self, EntryDecodeError> {
        if bytes.len() > MAX_ENTRY_LEN {
            return Err(EntryDecodeError::TooLarge);
        }
        let mut reader = Reader::new(bytes);
        let version = reader.u8()?;
        if version != ENTRY_VERSION {
            return Err(EntryDecodeError::Version(version));
        }
        let id = EntryId(reader.array()?);
        let nonce = reader.array()?;
        let genesis = reader.array()?;
        let kind = read_str8(&mut reader, MAX_LABEL_LEN, "entry type", is_label)?;
        let submitter = read_str8(&mut reader, 32, "submitter", is_member_id)?;
        let schema_version = reader.u16()?;
        let policy_hash = reader.array()?;
        let timestamp_ms = reader.u64()?;
        let period = read_str8(&mut reader, MAX_LABEL_LEN, "period", is_label)?;
        let reference_count = usize::from(reader.u16()?);
        if reference_count > MAX_REFERENCES {
            return Err(EncodingError::Malformed("too many references").into());
        }
        let mut references = Vec::with_capacity(reference_count);
        for _ in 0..reference_count {
            references.push(EntryId(reader.array()?));
        }
        let group_count = usize::from(reader.u8()?);
        if group_count > MAX_GROUPS {
            return Err(EncodingError::Malformed("too many reader groups").into());
        }
        let mut groups = Vec::with_capacity(group_count);
        for _ in 0..group_count {
            let group = read_bytes32(&mut reader, MAX_ENTRY_LEN, "reader group")?;
            groups.push(SealedGroup::decode(group).map_err(|_| EntryDecodeError::Group)?);
        }
        let commitment_count = usize::from(reader.u16()?);
        if commitment_count > MAX_COMMITMENTS {
            return Err(EncodingError::Malformed("too many commitments").into());
        }
        let mut commitments: Vec<(String, Commitment)> = Vec::with_capacity(commitment_count);
        for _ in 0..commitment_count {
            let label = read_str8(&mut reader, MAX_LABEL_LEN, "commitment label", is_label)?;
            if commitments.last().is_some_and(|(last, _)| *last >= label) {
                return Err(EncodingError::Malformed("commitments not sorted").into());
            }
            let commitment = Commitment::from_bytes(&reader.array()?)?;
            commitments.push((label, commitment));
        }
        let range = read_bytes32(
            &mut reader,
            veil_crypto::range_proof::MAX_PROOF_LEN,
            "range proof",
        )?
        .to_vec();
        let relation_count = usize::from(reader.u8()?);
        if relation_count > MAX_RELATIONS {
            return Err(EncodingError::Malformed("too many relation proofs").into());
        }
        let mut relations = Vec::with_capacity(relation_count);
        for _ in 0..relation_count {
            relations.push(reader.array()?);
        }
        let participant =
            read_bytes32(&mut reader, MAX_OPAQUE_PROOF_LEN, "participant proof")?.to_vec();
        let circuit = read_bytes32(&mut reader, MAX_OPAQUE_PROOF_LEN, "circuit proof")?.to_vec();
        let audit = read_bytes32(&mut reader, MAX_AUDIT_LEN, "audit proofs")?.to_vec();
        let signature = Signature::from_bytes(&reader.array()?)?;
        reader.finish()?;
        Ok(Self {
            header: EntryHeader {
                id,
                nonce,
                genesis,
                kind,
                submitter,
                schema_version,
                policy_hash,
                timestamp_ms,
                period,
                references,
            },
            groups,
            commitments,
            proofs: EntryProofs {
                range,
                relations,
                participant,
                circuit,
                audit,
            },
            signature,
        })
    }

    /// The commitment labelled `label`.
    pub fn commitment(&self, label: &str) -> Option<&Commitment> {
        self.commitments
            .iter()
            .find(|(l, _)| l == label)
            .map(|(_, c)| c)
    }
}
