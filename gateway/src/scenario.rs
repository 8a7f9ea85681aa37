//! The joint-loan business as Veil's demo, benchmark and tests exercise it: realistic loans
//! (as public reporting describes internet-bank consumer micro-loans), their borrowers'
//! registration, monthly installments, and the contract's example loan.

use serde_json::{Value, json};
use veil_crypto::allocation::BASIS_POINTS;

use crate::consortium::members::bank_ids;

/// The national id of the contract's example borrower: a well-formed mainland resident id
/// (Beijing Dongcheng, born 1990-03-07, sequence 777, ISO 7064 MOD 11-2 check character 4),
/// generated, not a real person's.
pub const BORROWER: &str = "110101199003077774";

/// The contract's example loan (`docs/api.md`), with id `loan_id`: 5,000.00 yuan at 18% a year
/// over 360 days, bank-a 30% and bank-b 70%.
pub fn loan_request(loan_id: &str) -> Value {
    json!({"type": "loan.originated", "fields": {
        "loan_id": loan_id,
        "borrower": {"name": "Zhang Wei", "national_id": BORROWER, "phone": "+86 138 0013 8000"},
        "principal": 500000, "annual_rate_bps": 1800, "term_days": 360,
        "participants": [{"bank": "bank-a", "share_bps": 3000}, {"bank": "bank-b", "share_bps": 7000}],
        "funding": {"bank-a": 150000, "bank-b": 350000}
    }})
}

/// A `registry.updated` request adding `national_ids` to the KYC registry.
pub fn kyc_request(national_ids: &[&str]) -> Value {
    json!({"type": "registry.updated", "fields": {"kyc": {"add": national_ids}}})
}

/// Periods the borrowers repay in.
pub const PERIODS: [&str; 3] = ["2026-09", "2026-10", "2026-11"];

/// A deterministic generator for the demo's realistic numbers.
#[derive(Debug)]
pub struct Workload(u64);

impl Workload {
    /// A generated, well-formed national id (not a real person's): one of a few regions,
    /// a birth date from 1950 to 2004 (day 1 to 28), a random sequence, its check character.
    pub fn national_id(&mut self) -> String {
        const REGIONS: [&str; 6] = ["110101", "310104", "440305", "510107", "330106", "420102"];
        let region = REGIONS[self.below(REGIONS.len() as u64) as usize];
        let birth = format!(
            "{:04}{:02}{:02}",
            1950 + self.below(55),
            1 + self.below(12),
            1 + self.below(28)
        );
        crate::entry::national_id::generate(region, &birth, self.below(1000) as u16)
    }

    /// Seeded.
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// A pseudo-random number below `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }

    /// A loan as public reporting describes internet-bank micro-loans: mostly a few thousand
    /// yuan (500 to 200,000, in fen), 7.3%–18.25% a year, 5, 10 or 20 monthly installments,
    /// partners funding about 80%.
    pub fn loan(&mut self, loan_id: &str, originator: &str, partners: &[&str]) -> Value {
        let yuan = match self.below(10) {
            0..=5 => 500 + self.below(5_000),
            6..=8 => 5_000 + self.below(25_000),
            _ => 30_000 + self.below(170_000),
        };
        let principal = yuan * 100;
        let rate = 730 + self.below(1096);
        let installments = [5u64, 10, 20][self.below(3) as usize];
        // Partners split 8000 bps; the originator keeps 2000.
        let mut shares: Vec<(String, u64)> = Vec::new();
        let each = 8000 / partners.len() as u64;
        for (i, partner) in partners.iter().enumerate() {
            let share = if i + 1 == partners.len() {
                8000 - each * (partners.len() as u64 - 1)
            } else {
                each
            };
            shares.push(((*partner).to_owned(), share));
        }
        shares.push((originator.to_owned(), 2000));
        let shares_by_name: Vec<(&str, u64)> = shares
            .iter()
            .map(|(bank, share)| (bank.as_str(), *share))
            .collect();
        let funding = funding(principal, &shares_by_name);
        let n = self.below(9000) + 1000;
        json!({"type": "loan.originated", "fields": {
            "loan_id": loan_id,
            "borrower": {
                "name": format!("Borrower {n}"),
                "national_id": self.national_id(),
                "phone": format!("+86 138 {n:04} {:04}", self.below(10_000)),
            },
            "principal": principal,
            "annual_rate_bps": rate,
            "term_days": installments * 30,
            "participants": shares.iter().map(|(bank, share)| json!({"bank": bank, "share_bps": share})).collect::<Vec<_>>(),
            "funding": funding,
        }})
    }
}

/// A loan's `funding` object: each participant funds `principal × share / 10000` fen, the last
/// one listed the rest, so the funding sums to the principal exactly.
pub fn funding(principal: u64, shares: &[(&str, u64)]) -> serde_json::Map<String, Value> {
    let mut funding = serde_json::Map::new();
    let mut funded = 0;
    for (i, (bank, share)) in shares.iter().enumerate() {
        let amount = if i + 1 == shares.len() {
            principal - funded
        } else {
            principal * share / BASIS_POINTS
        };
        funded += amount;
        funding.insert((*bank).to_owned(), json!(amount));
    }
    funding
}

/// `registry.updated` requests adding the borrowers of `loans` (`loan.originated` requests)
/// to the KYC registry, each within the per-entry limit of changes.
pub fn kyc_requests<'a>(loans: impl IntoIterator<Item = &'a Value>) -> Vec<Value> {
    let ids: std::collections::BTreeSet<&str> = loans
        .into_iter()
        .filter_map(|loan| loan["fields"]["borrower"]["national_id"].as_str())
        .collect();
    let ids: Vec<&str> = ids.into_iter().collect();
    ids.chunks(veil_circuits::screening::MAX_CHANGES)
        .map(kyc_request)
        .collect()
}

/// A monthly installment of `loan` (a `loan.originated` request) in `period`.
pub fn installment(loan: &Value, period: &str) -> Value {
    let fields = &loan["fields"];
    let principal = fields["principal"].as_u64().unwrap_or(0);
    let installments = (fields["term_days"].as_u64().unwrap_or(30) / 30).max(1);
    let rate = fields["annual_rate_bps"].as_u64().unwrap_or(0);
    let principal_part = principal / installments;
    let interest_part = principal * rate / BASIS_POINTS / 12;
    json!({"type": "loan.repaid", "fields": {
        "loan_id": fields["loan_id"],
        "period": period,
        "amount": principal_part + interest_part,
        "principal_part": principal_part,
        "interest_part": interest_part,
    }})
}

/// The workload: `loans` loans originated round-robin by the `banks` banks (`bank_ids`; at
/// least 4), each funded with one to three partners (the next banks in id order, so every
/// member originates and partners alike), and one installment per loan.
pub fn workload(loans: usize, seed: u64, banks: usize) -> Vec<(String, Value, Value)> {
    let n = banks.max(4);
    let banks = bank_ids(n);
    let mut numbers = Workload::new(seed);
    (0..loans)
        .map(|k| {
            let originator = &banks[k % n];
            let count = 1 + numbers.below(3) as usize;
            let partners: Vec<&str> = (1..=count).map(|p| banks[(k + p) % n].as_str()).collect();
            let loan = numbers.loan(&format!("B-{seed}-{k:06}"), originator, &partners);
            let repayment = installment(&loan, "2026-11");
            (originator.clone(), loan, repayment)
        })
        .collect()
}
