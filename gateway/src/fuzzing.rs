//! Fuzzing harness for the API's JSON bodies, shared by the cargo-fuzz target in
//! `gateway/fuzz/` and the unit test replaying its corpus. Parsing never panics; an accepted
//! loan's repayment split always sums to the repaid amount; an accepted registry update is
//! within its limits.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used, missing_docs)]

use veil_crypto::fuzzing::Harness;

use crate::entry::request::{self, Request};

/// The fuzz targets, by name.
pub const TARGETS: &[(&str, Harness)] = &[("api_json", api_json)];

/// `request::parse` on an arbitrary body.
pub fn api_json(data: &[u8]) {
    let loan = match request::parse(data) {
        Ok(Request::LoanOriginated(loan)) => loan,
        Ok(Request::RegistryUpdated(update)) => {
            // An accepted registry update makes 1 to MAX_CHANGES changes, each id once per list.
            let lists = [&update.kyc, &update.blocklist];
            let total: usize = lists.iter().map(|l| l.add.len() + l.remove.len()).sum();
            assert!((1..=veil_circuits::screening::MAX_CHANGES).contains(&total));
            for list in lists {
                let ids: std::collections::BTreeSet<&String> =
                    list.add.iter().chain(&list.remove).collect();
                assert_eq!(ids.len(), list.add.len() + list.remove.len());
            }
            return;
        }
        _ => return,
    };
    let shares: Vec<(String, u64)> = loan
        .participants
        .iter()
        .map(|p| (p.bank.clone(), p.share_bps))
        .collect();
    let total = shares
        .iter()
        .try_fold(0u64, |sum, (_, share)| sum.checked_add(*share));
    let Some(originator) = shares.first().map(|(bank, _)| bank.clone()) else {
        return;
    };
    let distinct: std::collections::BTreeSet<&str> =
        shares.iter().map(|(bank, _)| bank.as_str()).collect();
    // What the write path checks before allocating (request::check_loan): distinct banks
    // whose shares sum to 10000.
    if total == Some(veil_crypto::allocation::BASIS_POINTS) && distinct.len() == shares.len() {
        let amount = loan.principal;
        let split = request::allocate(amount, &shares, &originator);
        assert!(split.is_some_and(|split| split.iter().map(|(_, v)| *v).sum::<u64>() == amount));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_corpus_input_passes_its_harness() {
        let loan = br#"{"type": "loan.originated", "fields": {"loan_id": "L-0001",
 "borrower": {"name": "Zhang Wei", "national_id": "110101199003077774", "phone": "+86 138 0013 8000"},
 "principal": 500000, "annual_rate_bps": 1800, "term_days": 360,
 "participants": [{"bank": "bank-a", "share_bps": 3000}, {"bank": "bank-b", "share_bps": 7000}],
 "funding": {"bank-a": 150000, "bank-b": 350000}}}"#;
        let repayment = br#"{"type": "loan.repaid", "fields": {"loan_id": "L-0001", "period": "2026-11", "amount": 45001, "principal_part": 40000, "interest_part": 5001}}"#;
        let settlement = br#"{"type": "settlement.closed", "fields": {"period": "2026-11"}}"#;
        let registry = br#"{"type": "registry.updated", "fields": {"kyc": {"add": ["110101199003077774"]}, "blocklist": {"remove": ["1"]}}}"#;
        veil_crypto::fuzzing::replay(
            &veil_crypto::manifest_dir!().join("fuzz/corpus"),
            TARGETS,
            &[
                ("api_json", loan.to_vec()),
                ("api_json", repayment.to_vec()),
                ("api_json", settlement.to_vec()),
                ("api_json", registry.to_vec()),
            ],
        );
    }
}
