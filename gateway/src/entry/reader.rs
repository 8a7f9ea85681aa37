//! Turns a ledger entry back into exactly the view one caller may have: fields this gateway
//! can decrypt and the policy lets the caller read are shown (committed amounts only after
//! their opening is checked against the public commitment); every other field is
//! `{"redacted": true}`, with its commitment if it has one. Proofs are re-verified here.

use crate::entry::error::EntryError;
use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use veil_crypto::range_proof::RangeProof;
use veil_crypto::{Commitment, Opening, encoding};
use veil_node::genesis::Genesis;
use veil_node::ledger::Entry;
use veil_node::validation::Validator;
use veil_policies::proof_plan::per_bank;
use veil_policies::schema::{EntryType, Kind};
use veil_policies::{FieldResource, Policies, Principal};
use zeroize::Zeroizing;

use crate::entry::builder::{SPLIT_PURPOSE, parse_opening, split_items};
use crate::entry::keys::Opener;

/// What a recipient found wrong in an entry it was meant to read: evidence that the writer's
/// gateway lied, which the signed entry proves (`GET /v1/alerts`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    /// A reader group wrapped to this gateway's key does not open (a garbled wrap or field).
    UnopenableGroup,
    /// A reader group's data key does not match its key commitment: the writer wrapped
    /// different keys to different recipients.
    KeyCommitment,
    /// A decrypted amount does not open its public commitment.
    OpeningMismatch,
    /// The participants' split proof of a repayment does not verify.
    ParticipantCheck,
}

impl FindingKind {
    /// The kebab-case name (as in the API).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnopenableGroup => "unopenable-group",
            Self::KeyCommitment => "key-commitment",
            Self::OpeningMismatch => "opening-mismatch",
            Self::ParticipantCheck => "participant-check",
        }
    }
}

/// One finding: its kind and what it concerns (a group's first field path, an amount's label).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// What is wrong.
    pub kind: FindingKind,
    /// Where: a field path or commitment label.
    pub detail: String,
}

/// Most new discrete-log searches one opening of an entry makes (each up to about 60 ms for an
/// amount beyond the bound): a writer cannot stall a regulator's gateway with many amounts.
pub const MAX_SEARCHES: usize = 8;

/// The plaintexts this gateway could decrypt from one entry.
pub struct Opened {
    /// The entry.
    pub entry: Entry,
    /// Height of its block.
    pub height: u64,
    /// Decrypted fields by path (wiped on drop).
    pub plaintexts: BTreeMap<String, Zeroizing<Vec<u8>>>,
    /// What this gateway, as a named recipient, found wrong (none for an honest writer).
    pub findings: Vec<Finding>,
    /// Amounts a regulator recovered from their decrypt handles ([`veil_node::audit`]) where
    /// its reader group failed it, by commitment label (amounts below 2³² fen).
    pub recovered: BTreeMap<String, u64>,
    /// Fields this gateway was meant to read but could not, with why: views show them as an
    /// alert, never as a plain redaction.
    pub unreadable: BTreeMap<String, FindingKind>,
}

impl std::fmt::Debug for Opened {
    /// Never the plaintexts.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opened")
            .field("id", &self.entry.header.id)
            .field("height", &self.height)
            .field("fields", &self.plaintexts.len())
            .field("findings", &self.findings)
            .finish_non_exhaustive()
    }
}

impl Opened {
    /// Decrypts every group `opener` is a recipient of. A group that fails to open, or an
    /// opening that disagrees with its commitment, is left out (it shows as redacted) and
    /// recorded in [`Opened::findings`]; a regulator with its auditor key then recovers the
    /// amounts from their decrypt handles ([`Opened::recovered`]).
    pub fn open(entry: Entry, height: u64, genesis: &Genesis, opener: &Opener<'_>) -> Self {
        let statement = entry.header.statement_id();
        let context = entry
            .header
            .field_context(&genesis.consortium_id, &statement);
        let mut plaintexts = BTreeMap::new();
        let mut findings = Vec::new();
        let mut unreadable = BTreeMap::new();
        for group in &entry.groups {
            let Some(key) = opener.key_for(group, &entry.header.period) else {
                continue;
            };
            match group.open_all(&context, &key) {
                Ok(fields) => {
                    for (path, plaintext) in fields {
                        plaintexts.insert(path, Zeroizing::new(plaintext.expose().clone()));
                    }
                }
                Err(error) => {
                    let kind = if error == veil_crypto::EnvelopeError::KeyCommitment {
                        FindingKind::KeyCommitment
                    } else {
                        FindingKind::UnopenableGroup
                    };
                    for path in group.paths() {
                        unreadable.insert(path.to_owned(), kind);
                    }
                    findings.push(Finding {
                        kind,
                        detail: group.paths().next().unwrap_or_default().to_owned(),
                    });
                }
            }
        }
        let mut opened = Self {
            entry,
            height,
            plaintexts,
            findings,
            recovered: BTreeMap::new(),
            unreadable,
        };
        for (label, _) in &opened.entry.commitments {
            if opened.plaintexts.contains_key(label) && opened.opening(label).is_none() {
                opened.findings.push(Finding {
                    kind: FindingKind::OpeningMismatch,
                    detail: label.clone(),
                });
                opened
                    .unreadable
                    .insert(label.clone(), FindingKind::OpeningMismatch);
            }
        }
        if let Opener::Regulator(keys) = opener {
            opened.recover_amounts(genesis, keys);
        }
        opened
    }

    /// Recovers, from their decrypt handles to the regulator's auditor key, the amounts whose
    /// openings this regulator did not get (bounded discrete log: below 2³² fen). At most
    /// [`MAX_SEARCHES`] new searches per entry; outcomes are remembered in `keys`.
    fn recover_amounts(&mut self, genesis: &Genesis, keys: &crate::entry::keys::RegulatorKeys) {
        let Some(auditor) = &keys.auditor else {
            return;
        };
        let Some(index) = genesis
            .regulators
            .iter()
            .position(|r| &r.auditor_key == auditor.public_key())
        else {
            return;
        };
        let missing: Vec<usize> = (0..self.entry.commitments.len())
            .filter(|i| self.opening(&self.entry.commitments[*i].0).is_none())
            .collect();
        if missing.is_empty() {
            return;
        }
        let Some(handles) = veil_node::audit::handles(
            genesis,
            index,
            self.entry.commitments.len(),
            &self.entry.proofs.audit,
        ) else {
            return;
        };
        let id = self.entry.header.id.0;
        let mut searches = 0;
        for i in missing {
            let (label, commitment) = &self.entry.commitments[i];
            let value = match keys.recovered(id, label) {
                Some(known) => known,
                None if searches < MAX_SEARCHES => {
                    searches += 1;
                    let value = auditor.vartime_decrypt_amount(commitment, &handles[i], None);
                    keys.remember(id, label, value);
                    value
                }
                None => None,
            };
            if let Some(value) = value {
                self.recovered.insert(label.clone(), value);
            }
        }
    }

    /// The decrypted JSON value at `path`.
    pub fn value(&self, path: &str) -> Option<Value> {
        serde_json::from_slice(self.plaintexts.get(path)?).ok()
    }

    /// The opening of the committed field `path`, if decrypted, in the 40-byte layout of
    /// [`crate::entry::builder::opening_plaintext`] and matching its public commitment.
    pub fn opening(&self, path: &str) -> Option<Opening> {
        let opening = parse_opening(self.plaintexts.get(path)?)?;
        self.entry
            .commitment(path)?
            .is_opened_by(&opening)
            .then_some(opening)
    }

    /// The banks this entry concerns (public: its per-bank commitment labels).
    pub fn participants(&self) -> Vec<String> {
        entry_participants(&self.entry)
    }
}

/// The banks an entry concerns, from its per-bank commitment labels.
pub fn entry_participants(entry: &Entry) -> Vec<String> {
    let prefix = match EntryType::from_name(&entry.header.kind) {
        Some(EntryType::LoanOriginated) => "funding",
        Some(EntryType::LoanRepaid) => "allocations",
        Some(EntryType::SettlementClosed) => "due",
        Some(
            EntryType::RegistryUpdated
            | EntryType::ViewKeysPublished
            | EntryType::DisclosuresAnchored
            | EntryType::OprfEvaluations,
        )
        | None => {
            return Vec::new();
        }
    };
    per_bank(&entry.commitments, prefix)
        .into_iter()
        .map(|(bank, _)| bank.to_owned())
        .collect()
}

/// Inserts `value` at a dotted path (`borrower.name` → `{"borrower": {"name": value}}`).
fn insert(fields: &mut Map<String, Value>, path: &str, value: Value) {
    match path.split_once('.') {
        None => {
            fields.insert(path.to_owned(), value);
        }
        Some((head, rest)) => {
            let child = fields
                .entry(head.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(map) = child {
                insert(map, rest, value);
            }
        }
    }
}

/// How proofs checked out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProofReport {
    /// Signature, range and relation proofs (what every node checks).
    pub verified: bool,
    /// The participants' split proof: `None` if this caller cannot check it (no shares).
    pub splits: Option<bool>,
    /// Whether the entry's Poseidon commitments (circuit data) hold the same amounts as the
    /// Pedersen commitments this caller can open: `None` if it can open none of them.
    pub circuit_link: Option<bool>,
}

/// The caller's view of an opened entry, and the fields disclosed in it.
pub fn view(
    opened: &Opened,
    principal: &Principal,
    policies: &Policies,
    proofs: ProofReport,
) -> (Value, Vec<String>) {
    let entry = &opened.entry;
    let kind = EntryType::from_name(&entry.header.kind);
    let participants = opened.participants();
    let mut fields = Map::new();
    let mut disclosed = Vec::new();
    let mut paths: Vec<&str> = entry.groups.iter().flat_map(|g| g.paths()).collect();
    paths.sort_unstable();
    for path in paths {
        let Some((spec, bank)) = kind.and_then(|k| k.field(path)) else {
            continue;
        };
        let resource = FieldResource {
            entry_type: &entry.header.kind,
            path,
            class: spec.class.name(),
            originator: &entry.header.submitter,
            participants: &participants,
            subject_bank: bank,
        };
        let may_read = policies.can_read(principal, &resource).unwrap_or(false);
        let commitment = entry.commitment(path);
        let shown = if !may_read {
            None
        } else if spec.kind == Kind::Committed {
            opened
                .opening(path)
                .map(|o| o.value())
                .or_else(|| opened.recovered.get(path).copied())
                .map(|value| json!(value))
        } else {
            opened.value(path)
        };
        let value = match shown {
            Some(value) => {
                disclosed.push(path.to_owned());
                value
            }
            None => {
                let may_see_commitment = policies
                    .can_read_commitment(principal, &resource)
                    .unwrap_or(false);
                let mut value = json!({"redacted": true});
                if let Some(c) = commitment
                    && may_see_commitment
                {
                    value["commitment"] = json!(c.to_hex());
                }
                // What the caller may read but this gateway could not: an alert, not a
                // redaction (`GET /v1/alerts` holds the evidence).
                if may_read && let Some(kind) = opened.unreadable.get(path) {
                    value["alert"] = json!(kind.as_str());
                }
                value
            }
        };
        insert(&mut fields, path, value);
    }
    let commitments: Map<String, Value> = entry
        .commitments
        .iter()
        .map(|(label, c)| (label.clone(), json!(c.to_hex())))
        .collect();
    let view = json!({
        "id": entry.header.id.to_hex(),
        "type": entry.header.kind,
        "submitter": entry.header.submitter,
        "height": opened.height,
        "period": entry.header.period,
        "timestamp_ms": entry.header.timestamp_ms,
        "references": entry.header.references.iter().map(|r| r.to_hex()).collect::<Vec<_>>(),
        "fields": fields,
        "commitments": commitments,
        "proofs": {
            "verified": proofs.verified,
            "splits_verified": proofs.splits,
            "circuit_link_verified": proofs.circuit_link,
        },
    });
    (view, disclosed)
}

/// Verifies what every node verifies (signature, shapes, range and relation proofs), with
/// the referenced entries for types whose statements involve them.
pub fn verify(validator: &Validator, entry: &Entry, referenced: &[Entry]) -> bool {
    if validator.check_stateless(entry).is_err() {
        return false;
    }
    let Some(kind) = EntryType::from_name(&entry.header.kind) else {
        return false;
    };
    match kind {
        EntryType::SettlementClosed => validator.check_proofs_with(entry, referenced).is_ok(),
        EntryType::LoanOriginated => validator.check_screening_with(entry, referenced).is_ok(),
        EntryType::LoanRepaid
        | EntryType::RegistryUpdated
        | EntryType::ViewKeysPublished
        | EntryType::DisclosuresAnchored
        | EntryType::OprfEvaluations => true,
    }
}

/// The link between a loan's screening proof and its borrower, for a caller who reads the
/// `borrower_ref` (and so the `screening_blinding` sealed beside it): the proof's commitment
/// must be to this borrower's reference, blinded by the value derived from that secret. `None`
/// when the consortium does not screen or the caller cannot check.
pub fn screening_link(genesis: &Genesis, opened: &Opened) -> Option<bool> {
    genesis.circuits.screening.as_ref()?;
    let borrower_ref: [u8; 32] =
        encoding::from_hex_array(opened.value("borrower_ref")?.as_str()?).ok()?;
    let secret: [u8; 32] =
        encoding::from_hex_array(opened.value("screening_blinding")?.as_str()?).ok()?;
    let expected = crate::entry::builder::screening_commitment(&borrower_ref, &secret);
    let carried =
        veil_circuits::screening::ScreeningProof::from_bytes(&opened.entry.proofs.circuit)
            .ok()
            .map(|p| p.commitment);
    Some(carried == Some(expected))
}

/// The Pedersen–Poseidon link of a repayment, for a caller who opens its amount and knows the
/// loan's shares: the settlement proof's repayment commitment must be over the same amount and
/// shares, blinded by the value derived from the amount's Pedersen blinding, and every
/// allocation the caller opens must be the one the proof commits in that bank's slot.
pub fn repayment_link(opened: &Opened, shares: &[(String, u64)]) -> Option<bool> {
    let amount = opened.opening("amount")?;
    let expected =
        crate::entry::builder::repayment_commitment(&opened.entry.header.id, &amount, shares)?
            .commitment();
    let proof =
        veil_circuits::settlement::SettlementProof::from_bytes(&opened.entry.proofs.circuit).ok();
    let Some(proof) = proof else {
        return Some(false);
    };
    let (slots, _) = veil_circuits::settlement::participant_slots(
        shares.iter().map(|(bank, _)| bank.as_str()),
        &opened.entry.header.submitter,
    )?;
    let mut holds = proof.root == expected;
    for (slot, bank) in slots.iter().enumerate() {
        if let Some(allocation) = opened.opening(&format!("allocations.{bank}")) {
            let committed = veil_circuits::settlement::due_commitment(
                u128::from(allocation.value()),
                veil_circuits::derived_blinding(&allocation.blinding_bytes()),
            );
            holds &= proof.due.get(slot) == Some(&committed);
        }
    }
    Some(holds)
}

/// A repayment's settlement proof for independent verification (see
/// [`crate::service::Gateway::settlement_proof`]): verified here against the genesis key, then
/// its public inputs and the proof in snarkjs' JSON.
pub fn repayment_export(genesis: &Genesis, entry: &Entry) -> Result<Value, EntryError> {
    use veil_circuits::settlement::{SettlementProof, SettlementPublic, participant_slots};
    let invalid = |why: String| {
        tracing::error!(entry = %entry.header.id, %why, "a finalized repayment's proof does not check");
        EntryError::internal()
    };
    let proof =
        SettlementProof::from_bytes(&entry.proofs.circuit).map_err(|e| invalid(e.to_string()))?;
    let vk = genesis
        .circuits
        .settlement
        .get(&proof.capacity)
        .ok_or_else(|| invalid("no verifying key".into()))?;
    let period = veil_circuits::period_number(&entry.header.period)
        .ok_or_else(|| invalid("period".into()))?;
    let participants = entry
        .commitments
        .iter()
        .filter_map(|(label, _)| label.strip_prefix("allocations."));
    let (slots, originator) = participant_slots(participants, &entry.header.submitter)
        .ok_or_else(|| invalid("participants".into()))?;
    proof
        .verify_repayment(vk, &entry.header.statement_id(), period, originator)
        .map_err(|e| invalid(e.to_string()))?;
    let public = SettlementPublic {
        entry: entry.header.statement_id(),
        period,
        root: proof.root,
        count: 1,
        originator: originator as u64,
        due: proof.due.clone(),
    };
    Ok(json!({
        "entry": entry.header.id.to_hex(),
        "period": entry.header.period,
        "originator": entry.header.submitter,
        "capacity": proof.capacity,
        "slots": slots,
        "circuit": veil_crypto::encoding::to_hex(&entry.proofs.circuit),
        "verified": true,
        "snarkjs": {
            "proof": veil_circuits::snarkjs::proof(&proof.proof),
            "public": veil_circuits::snarkjs::public(&public.inputs()),
            "verification_key": veil_circuits::snarkjs::verification_key(vk),
        },
    }))
}

/// Verifies a repayment's split proof given the loan's shares (participants know them).
pub fn verify_splits(entry: &Entry, shares: &[(String, u64)]) -> bool {
    let Some(amount) = entry.commitment("amount") else {
        return false;
    };
    let allocations = per_bank(&entry.commitments, "allocations");
    let Some(items) =
        split_items::<Commitment>(amount, &allocations, shares, &entry.header.submitter)
    else {
        return false;
    };
    if items.is_empty() {
        return entry.proofs.participant.is_empty();
    }
    RangeProof::from_bytes_for(&entry.proofs.participant, items.len())
        .and_then(|proof| proof.verify(&entry.header.statement_id(), SPLIT_PURPOSE, &items))
        .is_ok()
}

/// A loan's shares from its opened entry (`share.<bank>` openings), if readable.
pub fn shares(loan: &Opened) -> Option<Vec<(String, u64)>> {
    let banks = loan.participants();
    banks
        .into_iter()
        .map(|bank| {
            let opening = loan.opening(&format!("share.{bank}"))?;
            Some((bank, opening.value()))
        })
        .collect()
}

/// Whether `genesis` and `principal` agree that this is a principal of the consortium.
pub fn principal_is_known(genesis: &Genesis, principal: &Principal) -> bool {
    match principal {
        Principal::Member { bank, .. } => genesis.member(bank).is_some(),
        Principal::Regulator { id } => genesis.regulator(id).is_some(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::builder::{OPENING_PLAINTEXT_LEN, opening_plaintext};
    use veil_node::testkit::TestConsortium;

    /// Sets the entry's public commitment of `path` to `opening`'s and its decrypted
    /// plaintext to `plaintext`.
    fn set_amount(opened: &mut Opened, path: &str, opening: &Opening, plaintext: &[u8]) {
        let commitment = opening.commit();
        for (label, c) in &mut opened.entry.commitments {
            if label == path {
                *c = commitment;
            }
        }
        opened
            .plaintexts
            .insert(path.into(), Zeroizing::new(plaintext.to_vec()));
    }

    #[test]
    fn opening_plaintexts_are_40_bytes_and_parse_back() {
        for value in [0, 1, 500_000, u64::MAX] {
            let opening = Opening::random(value);
            let plaintext = opening_plaintext(&opening);
            assert_eq!(plaintext.len(), OPENING_PLAINTEXT_LEN);
            assert_eq!(plaintext[..8], value.to_be_bytes());
            assert_eq!(plaintext[8..], opening.blinding_bytes());
            let parsed = parse_opening(&plaintext).unwrap();
            assert_eq!(parsed.value(), value);
            assert_eq!(parsed.blinding_bytes(), opening.blinding_bytes());
        }
        let good = opening_plaintext(&Opening::random(7));
        assert!(parse_opening(&good[..39]).is_none());
        assert!(parse_opening(&[good.as_slice(), &[0]].concat()).is_none());
        assert!(parse_opening(&[]).is_none());
        // A blinding that is not a canonical scalar (all 0xff is above the group order).
        let mut non_canonical = good.to_vec();
        non_canonical[8..].fill(0xff);
        assert!(parse_opening(&non_canonical).is_none());
    }

    #[test]
    fn a_value_that_does_not_open_its_commitment_is_never_shown() {
        let consortium = TestConsortium::new(2, 5, 41_000);
        let loan = consortium.loan(0, 1, 500_000, &[(1, 7000)]);
        let key = consortium.members[0].encryption.clone();
        let mut opened = Opened::open(loan, 1, &consortium.genesis, &Opener::Member(&key));
        // The amounts this test reads, in the 40-byte layout, with the entry's commitments set
        // to them (the view does not re-check the signature).
        let principal = Opening::random(500_000);
        let funding = Opening::random(150_000);
        set_amount(
            &mut opened,
            "principal",
            &principal,
            &opening_plaintext(&principal),
        );
        set_amount(
            &mut opened,
            "funding.bank-a",
            &funding,
            &opening_plaintext(&funding),
        );
        assert_eq!(opened.opening("principal").unwrap().value(), 500_000);

        // The same blinding with value + 1: well formed, but it does not open the commitment.
        let mut forged = opening_plaintext(&principal);
        forged[..8].copy_from_slice(&500_001u64.to_be_bytes());
        assert!(parse_opening(&forged).is_some());
        opened
            .plaintexts
            .insert("principal".into(), Zeroizing::new(forged.to_vec()));
        assert!(opened.opening("principal").is_none());
        // Nor does the former decimal JSON layout, even with the genuine value and blinding.
        let json_layout = json!({
            "value": 500_000,
            "blinding": encoding::to_hex(&principal.blinding_bytes()),
        });
        set_amount(
            &mut opened,
            "principal",
            &principal,
            json_layout.to_string().as_bytes(),
        );
        assert!(opened.opening("principal").is_none());
        let policies = Policies::default_set().unwrap();
        let originator = Principal::Member {
            bank: "bank-a".into(),
            role: "clerk".into(),
        };
        let (view, disclosed) = view(
            &opened,
            &originator,
            &policies,
            ProofReport {
                verified: true,
                splits: None,
                circuit_link: None,
            },
        );
        assert_eq!(view["fields"]["principal"]["redacted"], true);
        assert!(!disclosed.contains(&"principal".to_owned()));
        assert_eq!(view["fields"]["funding"]["bank-a"], 150_000);
    }
}
