//! The read path: entries, pages, loans and settlement proofs as one caller may see them
//! (decrypted where allowed, redacted elsewhere, proofs re-verified), and sealed entries for
//! regulators' exports.

use serde_json::{Value, json};
use veil_crypto::encoding;
use veil_node::ledger::EntryId;
use veil_policies::{EntryType, Principal};

use super::error::ServiceError;
use super::*;

impl Gateway {
    pub(super) async fn proof_report(&self, opened: &Opened) -> Result<ProofReport, ServiceError> {
        let entry = &opened.entry;
        let mut referenced = Vec::new();
        if entry.header.kind == EntryType::SettlementClosed.name()
            || entry.header.kind == EntryType::LoanOriginated.name()
        {
            for id in &entry.header.references {
                let stored = self.node.entry(id).await.map_err(link_problem)?;
                let Some(stored) = stored else {
                    return Ok(ProofReport {
                        verified: false,
                        splits: None,
                        circuit_link: None,
                    });
                };
                referenced.push(self.decode(&stored)?);
            }
        }
        let verified = self
            .cpu(|| reader::verify(&self.validator, entry, &referenced))
            .await;
        let mut splits = None;
        let mut circuit_link = None;
        if entry.header.kind == EntryType::LoanRepaid.name()
            && let Some(loan_id) = entry.header.references.first()
            && let Some(loan) = self.fetch(loan_id).await?
            && let Some(shares) = reader::shares(&loan)
        {
            splits = Some(self.cpu(|| reader::verify_splits(entry, &shares)).await);
            circuit_link = reader::repayment_link(opened, &shares);
        }
        if entry.header.kind == EntryType::LoanOriginated.name() {
            circuit_link = reader::screening_link(&self.genesis, opened);
        }
        Ok(ProofReport {
            verified,
            splits,
            circuit_link,
        })
    }

    /// The settlement proof of a repayment as partners check it themselves (real-time
    /// clearing: every `loan.repaid` carries its own): its circuit data, and the proof in
    /// snarkjs' JSON with its public inputs and the genesis verifying key, verified here
    /// first; no customer data is in it. For a `settlement.closed`, the repayments it totals,
    /// each with the path of its proof: the settlement itself carries no circuit proof. Both
    /// carry `signed`, the entry as its submitter signed it (hex).
    ///
    /// Errors: 404 for an unknown entry or one of another type.
    pub async fn settlement_proof(&self, id: &EntryId) -> Result<Value, ServiceError> {
        let stored = self
            .node
            .entry(id)
            .await
            .map_err(link_problem)?
            .ok_or_else(ServiceError::not_found)?;
        let entry = self.decode(&stored)?;
        // Signed by its submitter and valid on its own (for a repayment, its proof too), as
        // every node checked before ordering it; the signed bytes go along, so a client can
        // check the same without trusting this gateway or its node.
        if !self
            .cpu(|| self.validator.check_stateless(&entry).is_ok())
            .await
        {
            tracing::error!(id = %entry.header.id, "a finalized entry does not check");
            return Err(ServiceError::internal());
        }
        let signed = veil_crypto::encoding::to_hex(&stored.bytes);
        if entry.header.kind == EntryType::LoanRepaid.name() {
            let mut exported = self
                .cpu(|| reader::repayment_export(&self.genesis, &entry))
                .await?;
            exported["signed"] = Value::String(signed);
            return Ok(exported);
        }
        if entry.header.kind != EntryType::SettlementClosed.name() {
            return Err(ServiceError::not_found_because(
                "not a repayment or a settlement",
            ));
        }
        let repayments: Vec<Value> = entry
            .header
            .references
            .iter()
            .map(|r| {
                serde_json::json!({
                    "entry": r.to_hex(),
                    "proof": format!("/v1/entries/{}/proof", r.to_hex()),
                })
            })
            .collect();
        Ok(serde_json::json!({
            "entry": entry.header.id.to_hex(),
            "period": entry.header.period,
            "originator": entry.header.submitter,
            "repayments": repayments,
            "signed": signed,
        }))
    }

    /// The view of one entry for `principal`, logging the disclosure.
    pub async fn read(
        &self,
        principal: &Principal,
        who: &str,
        id: &EntryId,
    ) -> Result<Value, ServiceError> {
        let opened = self.fetch(id).await?.ok_or_else(ServiceError::not_found)?;
        self.present(principal, who, &opened).await
    }

    pub(super) async fn present(
        &self,
        principal: &Principal,
        who: &str,
        opened: &Opened,
    ) -> Result<Value, ServiceError> {
        let report = self.proof_report(opened).await?;
        let (view, disclosed) = reader::view(opened, principal, &self.policies, report);
        if !disclosed.is_empty() {
            self.store
                .disclose(who, &opened.entry.header.id, disclosed, now_ms())
                .map_err(store_error)?;
        }
        Ok(view)
    }

    /// Up to `limit` (at most [`MAX_PAGE`]) stored entries of `kinds` after `cursor`, in ledger
    /// order, and the cursor of the next page if there may be one.
    pub(super) async fn page(
        &self,
        kinds: &[EntryType],
        cursor: Option<(u64, u32)>,
        limit: usize,
    ) -> Result<(Vec<StoredEntry>, Option<String>), ServiceError> {
        let limit = limit.clamp(1, MAX_PAGE);
        let mut page: Vec<StoredEntry> = Vec::new();
        for kind in kinds {
            page.extend(
                self.node
                    .entries_by_type(kind.name(), cursor, limit)
                    .await
                    .map_err(link_problem)?,
            );
        }
        page.sort_by_key(|e| (e.height, e.index));
        page.truncate(limit);
        let next = (page.len() == limit)
            .then(|| page.last().map(|e| format!("{}:{}", e.height, e.index)))
            .flatten();
        Ok((page, next))
    }

    /// A page of entries of type `kind`, oldest first; with `None`, of every type but the
    /// bookkeeping ones, `disclosures.anchored` and `oprf.evaluations` (listed when asked for
    /// by type, and by `GET /v1/disclosures/anchors` and `GET /v1/oprf/evaluations`).
    pub async fn list(
        &self,
        principal: &Principal,
        who: &str,
        kind: Option<EntryType>,
        cursor: Option<(u64, u32)>,
        limit: usize,
    ) -> Result<(Vec<Value>, Option<String>), ServiceError> {
        let kinds: Vec<EntryType> = kind.map_or_else(
            || {
                EntryType::ALL
                    .into_iter()
                    .filter(|k| !k.is_bookkeeping())
                    .collect()
            },
            |k| vec![k],
        );
        let (page, next) = self.page(&kinds, cursor, limit).await?;
        let mut views = Vec::with_capacity(page.len());
        for stored in &page {
            let entry = self.decode(stored)?;
            let opened = Opened::open(entry, stored.height, &self.genesis, &self.opener());
            views.push(self.present(principal, who, &opened).await?);
        }
        Ok((views, next))
    }

    /// The loan `loan_id` as `principal` may see it: terms, funding, repayments, outstanding.
    ///
    /// Loans are indexed by (originator, business id): `originator` picks one; without it the
    /// caller's own bank's loan of that id, else the only one this gateway can see. Errors:
    /// not found; conflict if several originators' loans have that id and none is the caller's.
    pub async fn loan(
        &self,
        principal: &Principal,
        who: &str,
        loan_id: &str,
        originator: Option<&str>,
    ) -> Result<Value, ServiceError> {
        let own = match principal {
            Principal::Member { bank, .. } => Some(bank.as_str()),
            Principal::Regulator { .. } => None,
        };
        let entry_id = match originator.or(own) {
            Some(originator) => self.store.loan(originator, loan_id).map_err(store_error)?,
            None => None,
        };
        let entry_id = match (entry_id, originator) {
            (Some(id), _) => id,
            (None, Some(_)) => return Err(ServiceError::not_found()),
            (None, None) => {
                let named = self.store.loans_named(loan_id).map_err(store_error)?;
                match named.as_slice() {
                    [] => return Err(ServiceError::not_found()),
                    [(_, id)] => *id,
                    several => {
                        let banks: Vec<&str> = several.iter().map(|(b, _)| b.as_str()).collect();
                        return Err(ServiceError::conflict(format!(
                            "loans of {} have the business id {loan_id}: name one with \
                             ?originator=",
                            banks.join(", ")
                        )));
                    }
                }
            }
        };
        let opened = self
            .fetch(&entry_id)
            .await?
            .ok_or_else(ServiceError::not_found)?;
        let loan = self.present(principal, who, &opened).await?;
        let mut repayments = Vec::new();
        for stored in self.node.referrers(&entry_id).await.map_err(link_problem)? {
            let entry = self.decode(&stored)?;
            if entry.header.kind != EntryType::LoanRepaid.name() {
                continue;
            }
            let opened = Opened::open(entry, stored.height, &self.genesis, &self.opener());
            repayments.push(self.present(principal, who, &opened).await?);
        }
        let principal_value = loan["fields"]["principal"].as_u64();
        // Checked: amounts on the ledger come from other members' gateways, which may lie.
        let repaid: Option<u64> = repayments
            .iter()
            .map(|r| r["fields"]["principal_part"].as_u64())
            .try_fold(0u64, |sum, part| sum.checked_add(part?));
        let outstanding = principal_value
            .zip(repaid)
            .map(|(p, r)| p.saturating_sub(r));
        Ok(json!({
            "loan_id": loan_id,
            "entry": loan["id"],
            "originator": loan["submitter"],
            "terms": {
                "principal": loan["fields"]["principal"],
                "annual_rate_bps": loan["fields"]["annual_rate_bps"],
                "term_days": loan["fields"]["term_days"],
                "participants": loan["fields"]["participants"],
            },
            "funding": loan["fields"]["funding"],
            "repayments": repayments,
            "outstanding": outstanding,
            "proofs": loan["proofs"],
        }))
    }

    /// A page of sealed entries of every type, oldest first (for regulators' exports). The
    /// export itself is logged as a disclosure of sealed data.
    pub async fn sealed(
        &self,
        who: &str,
        cursor: Option<(u64, u32)>,
        limit: usize,
    ) -> Result<(Vec<Value>, Option<String>), ServiceError> {
        let (page, next) = self.page(&EntryType::ALL, cursor, limit).await?;
        for stored in &page {
            let entry = self.decode(stored)?;
            self.store
                .disclose(
                    who,
                    &entry.header.id,
                    vec!["<sealed export>".into()],
                    now_ms(),
                )
                .map_err(store_error)?;
        }
        let entries = page
            .iter()
            .map(|e| json!({"height": e.height, "index": e.index, "bytes": encoding::to_hex(&e.bytes)}))
            .collect();
        Ok((entries, next))
    }
}
