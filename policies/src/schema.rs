//! Entry schemas: the entry types of the joint-loan ledger, their fields, which fields are
//! committed amounts, which are personal data, and the public shape nodes check.
//!
//! A field path is either fixed (`principal`, `borrower.name`) or per bank
//! (`funding.<bank>`). Every committed field is encrypted as its Pedersen opening (40 bytes,
//! `u64_be(value) || blinding`, `veil_crypto::Opening::to_plaintext`) and also appears, by the
//! same label, among the entry's public commitments.

use core::fmt;

/// The entry types Veil knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntryType {
    /// A loan originated and co-funded by participants (submitted by the originator).
    LoanOriginated,
    /// A repayment of a loan, split among its participants by share.
    LoanRepaid,
    /// A clearing period's settlement: each participant's amount due.
    SettlementClosed,
    /// A change to the consortium's KYC registry or blocklist (any member).
    RegistryUpdated,
    /// A regulator's publication of the scoped public view keys of further months (submitted
    /// by that regulator, signed with its genesis signing key; never by a member). Its keys
    /// are public and travel in the entry's circuit-data slot; it has no fields.
    ViewKeysPublished,
    /// A member gateway's disclosure-log head, anchored on the ledger (submitted by that
    /// member, signed with its signing key): the sequence number and hash of the log's last
    /// record, in the entry's circuit-data slot; it has no fields. Readers check the log
    /// against every anchor, so a record dropped or rewritten after it was anchored shows.
    DisclosuresAnchored,
    /// A member gateway's count of the borrower-reference OPRF evaluations it answered each
    /// other member on one UTC day (submitted by that member, signed with its signing key), in
    /// the entry's circuit-data slot; it has no fields. Regulators and members see who asked
    /// how often.
    OprfEvaluations,
}

impl EntryType {
    /// Every entry type.
    pub const ALL: [EntryType; 7] = [
        EntryType::LoanOriginated,
        EntryType::LoanRepaid,
        EntryType::SettlementClosed,
        EntryType::RegistryUpdated,
        EntryType::ViewKeysPublished,
        EntryType::DisclosuresAnchored,
        EntryType::OprfEvaluations,
    ];

    /// The wire name, e.g. `loan.originated`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::LoanOriginated => "loan.originated",
            Self::LoanRepaid => "loan.repaid",
            Self::SettlementClosed => "settlement.closed",
            Self::RegistryUpdated => "registry.updated",
            Self::ViewKeysPublished => "view_keys.published",
            Self::DisclosuresAnchored => "disclosures.anchored",
            Self::OprfEvaluations => "oprf.evaluations",
        }
    }

    /// Whether entries of this type are the ledger's bookkeeping (disclosure-log anchors, OPRF
    /// evaluation reports) rather than business: entry lists leave them out unless asked for
    /// by type.
    pub const fn is_bookkeeping(self) -> bool {
        matches!(self, Self::DisclosuresAnchored | Self::OprfEvaluations)
    }

    /// The type named `name`, if any.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.name() == name)
    }

    /// The schema version of this type's fields.
    pub const fn schema_version(self) -> u16 {
        1
    }

    /// The fields of this type.
    pub fn fields(self) -> &'static [FieldSpec] {
        match self {
            Self::LoanOriginated => LOAN_ORIGINATED,
            Self::LoanRepaid => LOAN_REPAID,
            Self::SettlementClosed => SETTLEMENT_CLOSED,
            Self::RegistryUpdated => REGISTRY_UPDATED,
            Self::ViewKeysPublished | Self::DisclosuresAnchored | Self::OprfEvaluations => &[],
        }
    }

    /// Whether entries of this type are submitted by a regulator (and only by one), rather
    /// than by a member bank.
    pub const fn by_regulator(self) -> bool {
        matches!(self, Self::ViewKeysPublished)
    }

    /// How many entries of which type an entry of this type references, in order.
    pub fn references(self) -> ReferenceRule {
        match self {
            // The registry version its screening proof is against (when the consortium screens).
            Self::LoanOriginated => ReferenceRule::AtMostOne(EntryType::RegistryUpdated),
            Self::LoanRepaid => ReferenceRule::Exactly(EntryType::LoanOriginated),
            Self::SettlementClosed => ReferenceRule::AnyNumberOf(EntryType::LoanRepaid),
            // The registry version it changes (none for the first).
            Self::RegistryUpdated => ReferenceRule::AtMostOne(EntryType::RegistryUpdated),
            // The same regulator's publication it follows (none for its first).
            Self::ViewKeysPublished => ReferenceRule::AtMostOne(EntryType::ViewKeysPublished),
            // Anchors stand alone: readers check every one against the log.
            Self::DisclosuresAnchored => ReferenceRule::None,
            // Reports stand alone: a day's latest supersedes the earlier ones.
            Self::OprfEvaluations => ReferenceRule::None,
        }
    }

    /// The spec of the field at `path` (a fixed path or `<prefix>.<bank>`), with the bank.
    pub fn field(self, path: &str) -> Option<(&'static FieldSpec, Option<&str>)> {
        for spec in self.fields() {
            match spec.shape {
                Shape::Fixed if spec.path == path => return Some((spec, None)),
                Shape::PerBank => {
                    if let Some(bank) = path
                        .strip_prefix(spec.path)
                        .and_then(|rest| rest.strip_prefix('.'))
                        .filter(|bank| is_member_id(bank))
                    {
                        return Some((spec, Some(bank)));
                    }
                }
                Shape::Fixed => {}
            }
        }
        None
    }
}

impl fmt::Display for EntryType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which entries an entry must reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferenceRule {
    /// No references.
    None,
    /// Exactly one entry of this type.
    Exactly(EntryType),
    /// None or one entry of this type.
    AtMostOne(EntryType),
    /// Any number (including none) of entries of this type.
    AnyNumberOf(EntryType),
}

/// Whether a field is one path or one path per bank.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A single field at `path`.
    Fixed,
    /// One field per bank at `path.<bank>`.
    PerBank,
}

/// What a field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Free text (names, identifiers).
    Text,
    /// A non-negative integer shown as is, not committed.
    Integer,
    /// A non-negative 64-bit integer, Pedersen-committed and range-proved.
    Committed,
    /// Structured JSON (e.g. the participants list).
    Json,
}

/// Who a field is about and how sensitive it is: also the view-key class it is encrypted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FieldClass {
    /// Personal data of the borrower: only the originator (and regulators) read it.
    Pii,
    /// Loan terms and identifiers: the loan's participants read them.
    Terms,
    /// Money amounts.
    Amounts,
}

impl FieldClass {
    /// Every class.
    pub const ALL: [FieldClass; 3] = [FieldClass::Pii, FieldClass::Terms, FieldClass::Amounts];

    /// The class name used in view-key scopes and policies.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Pii => "pii",
            Self::Terms => "terms",
            Self::Amounts => "amounts",
        }
    }
}

/// Who reads a field under the default policy (regulators always do).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// The submitting (originating) bank only.
    Originator,
    /// Every participant of the loan (the originator included).
    Participants,
    /// The bank the field is about, and the originator.
    BankAndOriginator,
}

/// One field of an entry type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    /// The path, or the path prefix of a per-bank field.
    pub path: &'static str,
    /// Fixed or per bank.
    pub shape: Shape,
    /// What the value is.
    pub kind: Kind,
    /// The view-key class.
    pub class: FieldClass,
    /// Default readers.
    pub audience: Audience,
    /// Whether the submitter must provide it (derived fields are added by the gateway).
    pub input: Input,
}

/// Where a field's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// Required in the request.
    Required,
    /// Computed by the gateway.
    Derived,
}

const fn field(
    path: &'static str,
    shape: Shape,
    kind: Kind,
    class: FieldClass,
    audience: Audience,
    input: Input,
) -> FieldSpec {
    FieldSpec {
        path,
        shape,
        kind,
        class,
        audience,
        input,
    }
}

use Audience::{BankAndOriginator, Originator, Participants};
use FieldClass::{Amounts, Pii, Terms};
use Input::{Derived, Required};
use Kind::{Committed, Integer, Json, Text};
use Shape::{Fixed, PerBank};

const LOAN_ORIGINATED: &[FieldSpec] = &[
    field("loan_id", Fixed, Text, Terms, Participants, Required),
    field("borrower.name", Fixed, Text, Pii, Originator, Required),
    field(
        "borrower.national_id",
        Fixed,
        Text,
        Pii,
        Originator,
        Required,
    ),
    field("borrower.phone", Fixed, Text, Pii, Originator, Required),
    field("borrower_ref", Fixed, Text, Terms, Participants, Derived),
    // The secret the screening commitment's blinding is derived from (screening consortia).
    field(
        "screening_blinding",
        Fixed,
        Text,
        Terms,
        Participants,
        Derived,
    ),
    field(
        "principal",
        Fixed,
        Committed,
        Amounts,
        Participants,
        Required,
    ),
    field(
        "annual_rate_bps",
        Fixed,
        Committed,
        Terms,
        Participants,
        Required,
    ),
    field("term_days", Fixed, Integer, Terms, Participants, Required),
    field("participants", Fixed, Json, Terms, Participants, Required),
    field("share", PerBank, Committed, Terms, Participants, Derived),
    field(
        "funding",
        PerBank,
        Committed,
        Amounts,
        BankAndOriginator,
        Required,
    ),
];

const LOAN_REPAID: &[FieldSpec] = &[
    field("loan_id", Fixed, Text, Terms, Participants, Required),
    field("period", Fixed, Text, Terms, Participants, Required),
    field("amount", Fixed, Committed, Amounts, Participants, Required),
    field(
        "principal_part",
        Fixed,
        Committed,
        Amounts,
        Participants,
        Required,
    ),
    field(
        "interest_part",
        Fixed,
        Committed,
        Amounts,
        Participants,
        Required,
    ),
    field(
        "allocations",
        PerBank,
        Committed,
        Amounts,
        BankAndOriginator,
        Derived,
    ),
];

const SETTLEMENT_CLOSED: &[FieldSpec] = &[
    field("period", Fixed, Text, Terms, Participants, Required),
    field("repayments", Fixed, Integer, Terms, Participants, Derived),
    field(
        "due",
        PerBank,
        Committed,
        Amounts,
        BankAndOriginator,
        Derived,
    ),
];

const REGISTRY_UPDATED: &[FieldSpec] = &[
    // `{"add": [national id…], "remove": [national id…]}`: the submitter's and regulators'
    // record of the change; the ledger's public part holds only the keyed references.
    field("kyc", Fixed, Json, Pii, Originator, Required),
    field("blocklist", Fixed, Json, Pii, Originator, Required),
];

/// Whether `id` is a valid member id: 1..=32 characters of `[a-z0-9-]`, starting with a letter.
pub fn is_member_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 32
        && id.as_bytes()[0].is_ascii_lowercase()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in EntryType::ALL {
            assert_eq!(EntryType::from_name(kind.name()), Some(kind));
        }
        assert_eq!(EntryType::from_name("loan.deleted"), None);
    }

    #[test]
    fn per_bank_paths_resolve() {
        let (spec, bank) = EntryType::LoanOriginated.field("funding.bank-b").unwrap();
        assert_eq!(spec.path, "funding");
        assert_eq!(bank, Some("bank-b"));
        assert!(EntryType::LoanOriginated.field("funding.").is_none());
        assert!(EntryType::LoanOriginated.field("funding.Bank").is_none());
        assert!(EntryType::LoanOriginated.field("fundingx.bank-b").is_none());
        let (spec, bank) = EntryType::LoanOriginated.field("borrower.name").unwrap();
        assert_eq!((spec.class, bank), (FieldClass::Pii, None));
        assert!(EntryType::LoanRepaid.field("borrower.name").is_none());
    }

    #[test]
    fn member_ids() {
        assert!(is_member_id("bank-a"));
        assert!(is_member_id("regulator"));
        assert!(!is_member_id("Bank-a"));
        assert!(!is_member_id("1bank"));
        assert!(!is_member_id(""));
        assert!(!is_member_id(&"a".repeat(33)));
    }
}
