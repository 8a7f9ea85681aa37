//! The business requests `POST /v1/entries` accepts, typed and bounded, and the consortium
//! rules they must meet before anything is encrypted, proven or written.

use std::collections::BTreeMap;

use serde::Deserialize;
use veil_crypto::view_key::month_of;
use veil_node::genesis::Genesis;
use veil_policies::EntryType;

use veil_crypto::allocation::BASIS_POINTS;

use crate::entry::error::EntryError;

/// Largest request body.
pub const MAX_BODY: usize = 64 * 1024;
/// Most participants of one loan.
pub const MAX_PARTICIPANTS: usize = veil_circuits::settlement::PARTICIPANT_SLOTS;

/// `{"type": T, "fields": {...}}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntryRequest {
    /// Entry type.
    #[serde(rename = "type")]
    pub kind: String,
    /// The fields, typed per entry type: `LoanOriginated`, `LoanRepaid`, `SettlementClosed`
    /// or `RegistryUpdated`.
    #[schema(value_type = Object)]
    pub fields: serde_json::Value,
}

/// The borrower of a loan (personal data: stays with the originator and regulators).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Borrower {
    /// Full name.
    #[schema(
        min_length = 1,
        max_length = 128,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub name: String,
    /// National id.
    #[schema(
        min_length = 1,
        max_length = 32,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub national_id: String,
    /// Phone number.
    #[schema(
        min_length = 1,
        max_length = 32,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub phone: String,
}

/// One participant of a loan and its share.
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Participant {
    /// Member id.
    pub bank: String,
    /// Share in basis points.
    #[schema(minimum = 1, maximum = 10_000)]
    pub share_bps: u64,
}

/// `loan.originated` fields.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoanOriginated {
    /// The loan's business id.
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub loan_id: String,
    /// The borrower.
    pub borrower: Borrower,
    /// Principal in minor units.
    #[schema(minimum = 1, maximum = 4_503_599_627_370_495_u64)]
    pub principal: u64,
    /// Annual rate in basis points.
    pub annual_rate_bps: u64,
    /// Term in days.
    #[schema(minimum = 1)]
    pub term_days: u32,
    /// Participants and their shares.
    #[schema(min_items = 1, max_items = 4)]
    pub participants: Vec<Participant>,
    /// Funding by bank, in minor units.
    pub funding: BTreeMap<String, u64>,
}

/// `loan.repaid` fields.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoanRepaid {
    /// The loan's business id.
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub loan_id: String,
    /// Clearing period (`YYYY-MM` or `YYYY-MM-DD`).
    #[schema(pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01]))?$")]
    pub period: String,
    /// Amount repaid.
    #[schema(minimum = 1, maximum = 4_503_599_627_370_495_u64)]
    pub amount: u64,
    /// Of which principal.
    #[schema(minimum = 0, maximum = 4_503_599_627_370_495_u64)]
    pub principal_part: u64,
    /// Of which interest.
    #[schema(minimum = 0, maximum = 4_503_599_627_370_495_u64)]
    pub interest_part: u64,
}

/// `settlement.closed` fields.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettlementClosed {
    /// Clearing period to settle.
    #[schema(pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01]))?$")]
    pub period: String,
}

/// Changes to one registry list, by national id (the gateway turns each into the borrower's
/// keyed reference; the ids themselves go only to the submitter and regulators).
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListChanges {
    /// National ids to add.
    #[serde(default)]
    pub add: Vec<String>,
    /// National ids to remove.
    #[serde(default)]
    pub remove: Vec<String>,
}

/// `registry.updated` fields: changes to the KYC registry and the blocklist.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistryUpdated {
    /// Changes to the KYC registry.
    #[serde(default)]
    pub kyc: ListChanges,
    /// Changes to the blocklist.
    #[serde(default)]
    pub blocklist: ListChanges,
}

/// A parsed request.
#[derive(Debug, Clone)]
pub enum Request {
    /// A loan.
    LoanOriginated(LoanOriginated),
    /// A repayment.
    LoanRepaid(LoanRepaid),
    /// A settlement.
    SettlementClosed(SettlementClosed),
    /// A registry change.
    RegistryUpdated(RegistryUpdated),
}

impl Request {
    /// The entry type.
    pub fn kind(&self) -> EntryType {
        match self {
            Self::LoanOriginated(_) => EntryType::LoanOriginated,
            Self::LoanRepaid(_) => EntryType::LoanRepaid,
            Self::SettlementClosed(_) => EntryType::SettlementClosed,
            Self::RegistryUpdated(_) => EntryType::RegistryUpdated,
        }
    }
}

/// Characters that render as nothing or reorder text (Unicode's Default_Ignorable_Code_Point
/// set and the bidirectional controls: zero-width spaces and joiners, variation selectors,
/// fillers, tags, the BOM): with them, `L-1` and `L-1` followed by U+200B would be two ids
/// that look the same. (Text is not normalized: the same word in NFC and NFD is two ids.)
fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'..='\u{1160}'
            | '\u{17B4}'..='\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF0}'..='\u{FFFB}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E0FFF}'
    )
}

/// A text naming something that exists (checked against it later): not blank, at most `max`
/// characters, no control characters.
fn reference(field: &str, value: &str, max: usize) -> Result<(), EntryError> {
    if value.trim().is_empty() || value.chars().count() > max || value.chars().any(char::is_control)
    {
        return Err(EntryError::malformed(format!(
            "{field} must be 1 to {max} printable characters"
        )));
    }
    Ok(())
}

fn text(field: &str, value: &str, max: usize) -> Result<(), EntryError> {
    // Characters, not bytes: what JSON Schema's maxLength counts (docs/api.md, /openapi.json).
    if value.trim().is_empty()
        || value.trim() != value
        || value.chars().count() > max
        || value
            .chars()
            .any(|c| c.is_control() || is_invisible_format(c))
    {
        return Err(EntryError::malformed(format!(
            "{field} must be 1 to {max} printable characters, without surrounding spaces or \
             invisible format characters"
        )));
    }
    Ok(())
}

fn period(value: &str) -> Result<(), EntryError> {
    month_of(value)
        .map(|_| ())
        .map_err(|_| EntryError::malformed("period must be YYYY-MM or YYYY-MM-DD"))
}

/// Parses a request body (already size-limited) into a typed request.
pub fn parse(body: &[u8]) -> Result<Request, EntryError> {
    crate::entry::strict_json::check(body)
        .map_err(|e| EntryError::malformed(format!("invalid request: {e}")))?;
    let request: EntryRequest = serde_json::from_slice(body)
        .map_err(|e| EntryError::malformed(format!("invalid request: {e}")))?;
    let kind = EntryType::from_name(&request.kind)
        .ok_or_else(|| EntryError::malformed(format!("unknown entry type {:?}", request.kind)))?;
    let fields = |e: serde_json::Error| EntryError::malformed(format!("invalid fields: {e}"));
    match kind {
        EntryType::LoanOriginated => {
            let mut loan: LoanOriginated =
                serde_json::from_value(request.fields).map_err(fields)?;
            loan.borrower.national_id =
                national_id("borrower.national_id", &loan.borrower.national_id)?;
            text("loan_id", &loan.loan_id, 64)?;
            text("borrower.name", &loan.borrower.name, 128)?;
            text("borrower.phone", &loan.borrower.phone, 32)?;
            if loan.participants.is_empty() || loan.participants.len() > MAX_PARTICIPANTS {
                return Err(EntryError::malformed(format!(
                    "participants must list 1 to {MAX_PARTICIPANTS} banks"
                )));
            }
            Ok(Request::LoanOriginated(loan))
        }
        EntryType::LoanRepaid => {
            let repayment: LoanRepaid = serde_json::from_value(request.fields).map_err(fields)?;
            // A reference to an existing loan: loans made before ids were checked for
            // look-alikes must stay repayable.
            reference("loan_id", &repayment.loan_id, 64)?;
            period(&repayment.period)?;
            Ok(Request::LoanRepaid(repayment))
        }
        EntryType::SettlementClosed => {
            let settlement: SettlementClosed =
                serde_json::from_value(request.fields).map_err(fields)?;
            period(&settlement.period)?;
            Ok(Request::SettlementClosed(settlement))
        }
        EntryType::RegistryUpdated => {
            let mut update: RegistryUpdated =
                serde_json::from_value(request.fields).map_err(fields)?;
            for (name, ids) in [
                ("kyc.add", &mut update.kyc.add),
                ("kyc.remove", &mut update.kyc.remove),
                ("blocklist.add", &mut update.blocklist.add),
                ("blocklist.remove", &mut update.blocklist.remove),
            ] {
                for (i, id) in ids.iter_mut().enumerate() {
                    *id = national_id(&format!("{name}[{i}]"), id)?;
                }
            }
            let lists = [
                ("kyc.add", &update.kyc.add),
                ("kyc.remove", &update.kyc.remove),
                ("blocklist.add", &update.blocklist.add),
                ("blocklist.remove", &update.blocklist.remove),
            ];
            let total: usize = lists.iter().map(|(_, ids)| ids.len()).sum();
            let max = veil_circuits::screening::MAX_CHANGES;
            if total == 0 || total > max {
                return Err(EntryError::malformed(format!(
                    "a registry update makes 1 to {max} changes"
                )));
            }
            for (name, ids) in lists {
                for id in ids {
                    text(name, id, 32)?;
                }
            }
            for (name, list) in [("kyc", &update.kyc), ("blocklist", &update.blocklist)] {
                let mut seen = std::collections::BTreeSet::new();
                if !list
                    .add
                    .iter()
                    .chain(&list.remove)
                    .all(|id| seen.insert(id))
                {
                    return Err(EntryError::malformed(format!(
                        "{name}: a national id appears twice"
                    )));
                }
            }
            Ok(Request::RegistryUpdated(update))
        }
        EntryType::ViewKeysPublished => Err(EntryError::malformed(
            "view_keys.published is not written through this API: a regulator publishes its \
             view keys with `veil regulator publish`",
        )),
        EntryType::DisclosuresAnchored => Err(EntryError::malformed(
            "disclosures.anchored is not written through this API: the gateway anchors its \
             disclosure log itself",
        )),
        EntryType::OprfEvaluations => Err(EntryError::malformed(
            "oprf.evaluations is not written through this API: the gateway reports the \
             evaluations it answered itself",
        )),
    }
}

/// The canonical form of the national id `id` in field `field`, or 422 naming the field and
/// what is wrong (`super::national_id`: GB 11643-1999, ISO 7064 MOD 11-2).
fn national_id(field: &str, id: &str) -> Result<String, EntryError> {
    super::national_id::check(id)
        .map_err(|e| EntryError::invalid(format!("{field} is not a valid national id: it {e}")))
}

/// The consortium rules of a new loan by `originator`.
pub fn check_loan(
    loan: &LoanOriginated,
    originator: &str,
    genesis: &Genesis,
) -> Result<(), EntryError> {
    let mut banks: Vec<&str> = Vec::new();
    for participant in &loan.participants {
        if genesis.member(&participant.bank).is_none() {
            return Err(EntryError::invalid(format!(
                "{} is not a member of the consortium",
                participant.bank
            )));
        }
        if banks.contains(&participant.bank.as_str()) {
            return Err(EntryError::invalid(format!(
                "{} is listed twice",
                participant.bank
            )));
        }
        if participant.share_bps == 0 {
            return Err(EntryError::invalid(format!(
                "{}'s share must be positive (a participant with no share takes no part)",
                participant.bank
            )));
        }
        banks.push(&participant.bank);
    }
    let shares: u128 = loan
        .participants
        .iter()
        .map(|p| u128::from(p.share_bps))
        .sum();
    if shares != u128::from(BASIS_POINTS) {
        return Err(EntryError::invalid(format!(
            "shares must sum to {BASIS_POINTS} bps, they sum to {shares}"
        )));
    }
    if !banks.contains(&originator) {
        return Err(EntryError::invalid("the originator must be a participant"));
    }
    let funded: Vec<&str> = loan.funding.keys().map(String::as_str).collect();
    let mut sorted_banks = banks.clone();
    sorted_banks.sort_unstable();
    if funded != sorted_banks {
        return Err(EntryError::invalid(
            "funding must name exactly the participants",
        ));
    }
    let total: u128 = loan.funding.values().map(|v| u128::from(*v)).sum();
    if total != u128::from(loan.principal) {
        return Err(EntryError::invalid(format!(
            "funding sums to {total}, not to the principal {}",
            loan.principal
        )));
    }
    if loan.principal == 0 {
        return Err(EntryError::invalid("principal must be positive"));
    }
    amount("principal", loan.principal, genesis)?;
    for (bank, funded) in &loan.funding {
        if *funded == 0 {
            return Err(EntryError::invalid(format!(
                "{bank}'s funding must be positive (every participant funds its share)"
            )));
        }
        amount(&format!("funding.{bank}"), *funded, genesis)?;
    }
    if loan.annual_rate_bps > genesis.params.rate_cap_bps {
        return Err(EntryError::invalid(format!(
            "annual rate {} bps is above the consortium cap of {} bps",
            loan.annual_rate_bps, genesis.params.rate_cap_bps
        )));
    }
    if loan.term_days == 0 {
        return Err(EntryError::invalid("term_days must be positive"));
    }
    Ok(())
}

/// An amount field within the consortium's maximum (`params.max_amount_fen` of the genesis).
fn amount(field: &str, value: u64, genesis: &Genesis) -> Result<(), EntryError> {
    let max = genesis.params.max_amount();
    if value > max {
        return Err(EntryError::invalid(format!(
            "{field} is above the consortium's maximum amount of {max} fen"
        )));
    }
    Ok(())
}

/// The consortium rules of a repayment.
pub fn check_repayment(repayment: &LoanRepaid, genesis: &Genesis) -> Result<(), EntryError> {
    if repayment.amount == 0 {
        return Err(EntryError::invalid("amount must be positive"));
    }
    amount("amount", repayment.amount, genesis)?;
    amount("principal_part", repayment.principal_part, genesis)?;
    amount("interest_part", repayment.interest_part, genesis)?;
    if u128::from(repayment.principal_part) + u128::from(repayment.interest_part)
        != u128::from(repayment.amount)
    {
        return Err(EntryError::invalid(
            "principal_part and interest_part must sum to amount",
        ));
    }
    Ok(())
}

/// Each participant's allocation of a repayment of `amount` fen, by bank, in the order of
/// `shares` (bank, share in basis points): the consortium's one allocation rule,
/// [`veil_crypto::allocation::allocate`] (floor by share, remainder to `originator`).
///
/// `None` if `originator` is not a participant or the shares do not sum to
/// [`BASIS_POINTS`] (a loan [`check_loan`] accepted always has both).
pub fn allocate(
    amount: u64,
    shares: &[(String, u64)],
    originator: &str,
) -> Option<Vec<(String, u64)>> {
    let originator = shares.iter().position(|(bank, _)| bank == originator)?;
    let shares_bps: Vec<u64> = shares.iter().map(|(_, share)| *share).collect();
    let split = veil_crypto::allocation::allocate(amount, &shares_bps, originator)?;
    Some(
        shares
            .iter()
            .map(|(bank, _)| bank.clone())
            .zip(split)
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_that_look_alike_are_refused() {
        assert!(text("loan_id", "L-1", 64).is_ok());
        assert!(text("loan_id", "贷款-1", 64).is_ok());
        assert!(text("loan_id", &"字".repeat(64), 64).is_ok());
        for look_alike in [
            "L-1 ",
            " L-1",
            "L-1\u{200B}",
            "\u{202E}1-L",
            "L\u{00AD}-1",
            "\u{FEFF}L-1",
            "L-1\n",
            "   ",
            "",
        ] {
            assert!(text("loan_id", look_alike, 64).is_err(), "{look_alike:?}");
        }
        assert!(text("loan_id", &"字".repeat(65), 64).is_err());
        for look_alike in ["L-1\u{3164}", "L\u{FE0F}-1", "L-1\u{E0041}", "\u{115F}L-1"] {
            assert!(text("loan_id", look_alike, 64).is_err(), "{look_alike:?}");
        }
        // Loans made before the rule stay repayable.
        assert!(reference("loan_id", "L-1 ", 64).is_ok());
        assert!(reference("loan_id", "L-1\n", 64).is_err());
    }

    #[test]
    fn allocation_floors_and_gives_the_remainder_to_the_originator() {
        let shares = vec![
            ("bank-a".to_owned(), 3000),
            ("bank-b".to_owned(), 3333),
            ("bank-c".to_owned(), 3667),
        ];
        let allocations = allocate(10_001, &shares, "bank-a").unwrap();
        assert_eq!(
            allocations,
            vec![
                ("bank-a".to_owned(), 10_001 - 3333 - 3667),
                ("bank-b".to_owned(), 3333),
                ("bank-c".to_owned(), 3667),
            ]
        );
        assert_eq!(allocations.iter().map(|(_, v)| v).sum::<u64>(), 10_001);
    }

    #[test]
    fn parsing_refuses_unknown_fields_and_types() {
        assert!(parse(br#"{"type":"loan.repaid","fields":{"loan_id":"L","period":"2026-11","amount":1,"principal_part":1,"interest_part":0}}"#).is_ok());
        assert!(parse(br#"{"type":"loan.repaid","fields":{"loan_id":"L","period":"2026-11","amount":1,"principal_part":1,"interest_part":0,"x":1}}"#).is_err());
        assert!(parse(br#"{"type":"loan.repaid","extra":1,"fields":{}}"#).is_err());
        assert!(parse(br#"{"type":"loan.deleted","fields":{}}"#).is_err());
        assert!(parse(br#"{"type":"loan.repaid","fields":{"loan_id":"L","period":"2026-11","amount":-1,"principal_part":1,"interest_part":0}}"#).is_err());
        assert!(parse(b"not json").is_err());
    }

    #[test]
    fn a_participant_without_a_share_or_funding_is_named() {
        let consortium = veil_node::testkit::TestConsortium::new(2, 6, 41_100);
        let loan = |share_b: u64, funding_b: u64| {
            let body = serde_json::json!({"type": "loan.originated", "fields": {
                "loan_id": "L-1",
                "borrower": {"name": "Li Na", "national_id": "110101199205051230", "phone": "1"},
                "principal": 1000, "annual_rate_bps": 100, "term_days": 30,
                "participants": [{"bank": "bank-a", "share_bps": 10_000 - share_b},
                                 {"bank": "bank-b", "share_bps": share_b}],
                "funding": {"bank-a": 1000 - funding_b, "bank-b": funding_b},
            }});
            match parse(&serde_json::to_vec(&body).unwrap()).unwrap() {
                Request::LoanOriginated(loan) => loan,
                _ => unreachable!(),
            }
        };
        assert!(check_loan(&loan(5000, 500), "bank-a", &consortium.genesis).is_ok());
        let error = check_loan(&loan(0, 500), "bank-a", &consortium.genesis).unwrap_err();
        assert!(error.to_string().contains("bank-b's share"), "{error}");
        let error = check_loan(&loan(5000, 0), "bank-a", &consortium.genesis).unwrap_err();
        assert!(error.to_string().contains("bank-b's funding"), "{error}");
    }
}
