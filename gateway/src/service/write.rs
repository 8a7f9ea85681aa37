//! The write path: idempotency, business-key uniqueness, building the entry, submitting it
//! and waiting for finalization.

use veil_crypto::encoding;
use veil_node::ledger::{Entry, EntryId};
use veil_node::link::LinkError;
use veil_node::validation::RejectionCode;
use veil_policies::Principal;

use super::error::ServiceError;
use super::*;

/// A loan id being created by one request. Released when dropped — also when the request is
/// cancelled (client gone, request timeout) while it waits for finalization.
struct LoanReservation<'a> {
    reserved: &'a Mutex<HashSet<String>>,
    loan_id: String,
}

impl<'a> LoanReservation<'a> {
    fn take(reserved: &'a Mutex<HashSet<String>>, loan_id: &str) -> Option<Self> {
        lock(reserved).insert(loan_id.to_owned()).then(|| Self {
            reserved,
            loan_id: loan_id.to_owned(),
        })
    }
}

impl Drop for LoanReservation<'_> {
    fn drop(&mut self) {
        lock(self.reserved).remove(&self.loan_id);
    }
}

/// See [`Gateway::business_lock`].
#[allow(dead_code)]
enum BusinessLock<'a> {
    Loan(LoanReservation<'a>),
    Keyed(KeyedGuard<'a>),
    None,
}

/// Where writes spent their time, summed since the gateway started.
#[derive(Debug, Default)]
pub struct WriteTimings {
    totals: Mutex<(u64, BuildTimings, Duration)>,
}

impl WriteTimings {
    fn add(&self, build: BuildTimings, consensus: Duration) {
        let mut totals = lock(&self.totals);
        totals.0 += 1;
        totals.1.encrypt += build.encrypt;
        totals.1.prove += build.prove;
        totals.1.sign += build.sign;
        totals.1.references += build.references;
        totals.2 += consensus;
    }

    /// (writes, summed build timings, summed wait for finalization).
    pub fn totals(&self) -> (u64, BuildTimings, Duration) {
        *lock(&self.totals)
    }
}

/// The answer to a successful write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// Entry id.
    pub id: EntryId,
    /// Height.
    pub height: u64,
}

impl Gateway {
    /// Handles `POST /v1/entries`.
    ///
    /// With an idempotency key (draft-ietf-httpapi-idempotency-key-header): the first request
    /// under a key is recorded durably before its entry is submitted; a retry with the same
    /// body answers what the first did (resubmitting the very same entry if its answer was
    /// lost); a retry with another body is a conflict; a retry while the first is still being
    /// processed is [`ServiceError::InProgress`]; a request that failed and certainly wrote
    /// nothing ([`ServiceError::nothing_written`]) forgets its key, so it can be sent again.
    pub async fn write(
        &self,
        principal: &Principal,
        body: &[u8],
        idempotency_key: Option<&str>,
    ) -> Result<Written, ServiceError> {
        let Secrets::Member(secrets) = &self.secrets else {
            return Err(ServiceError::forbidden());
        };
        let request = request::parse(body)?;
        if !self
            .policies
            .can_write(principal, request.kind().name())
            .map_err(store_error)?
        {
            return Err(ServiceError::forbidden());
        }
        let Some(key) = idempotency_key else {
            let _business = self.business_lock(&request).await?;
            let (entry, timings) = self.build(secrets, &request, None).await?;
            return self.submit(&request, entry, timings, false).await;
        };
        if key.is_empty()
            || key.len() > 128
            || !key.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
        {
            return Err(ServiceError::bad_request(
                "Idempotency-Key must be 1 to 128 visible ASCII characters",
            ));
        }
        let hash = body_hash(body).ok_or_else(|| ServiceError::bad_request("invalid JSON"))?;
        let _key = self
            .idempotency_locks
            .try_lock(key)
            .ok_or(ServiceError::InProgress)?;
        let result = self.write_once(secrets, &request, key, hash).await;
        if let Err(error) = &result
            && error.nothing_written()
        {
            self.store
                .delete_idempotency(&self.id, key)
                .map_err(store_error)?;
        }
        result
    }

    /// One attempt of a write under idempotency key `key` (held by the caller).
    async fn write_once(
        &self,
        secrets: &MemberSecrets,
        request: &Request,
        key: &str,
        hash: String,
    ) -> Result<Written, ServiceError> {
        if let Some(record) = self.store.idempotency(&self.id, key).map_err(store_error)? {
            if record.body_hash != hash {
                // Not `nothing_written`: the key's first request stays recorded.
                return Err(ServiceError::KeyReused);
            }
            let id = EntryId::from_hex(&record.entry_id).map_err(store_error)?;
            if let Some(height) = record.height {
                return Ok(Written { id, height });
            }
            // The first attempt's answer was lost: resubmit exactly the same entry.
            let bytes = encoding::from_hex(&record.entry, veil_node::ledger::entry::MAX_ENTRY_LEN)
                .map_err(store_error)?;
            let entry = Entry::decode(&bytes).map_err(store_error)?;
            let _business = self.business_lock(request).await?;
            let written = self
                .submit(request, entry, BuildTimings::default(), true)
                .await?;
            self.store
                .put_idempotency(
                    &self.id,
                    key,
                    &IdempotencyRecord {
                        height: Some(written.height),
                        ..record
                    },
                )
                .map_err(store_error)?;
            return Ok(written);
        }
        let _business = self.business_lock(request).await?;
        // Another process of this member's gateway given the same request under the same key
        // builds the same entry id (`MemberSecrets::idempotent_nonce`): one of them lands.
        let nonce = secrets.idempotent_nonce(&self.genesis.consortium_id, key, &hash);
        // If it already has (the first answer was lost), that is the answer: building again
        // against today's ledger could refuse what was written (the loan repaid in full, the
        // period settled) and tell the client nothing was.
        let id = match request {
            Request::LoanOriginated(loan) => {
                secrets.loan_entry_id(&self.genesis, &self.id, &loan.loan_id)
            }
            _ => EntryId::derive(&self.genesis.hash, &self.id, &nonce),
        };
        let existing = self.node.entry(&id).await.map_err(link_problem)?;
        if let Some(stored) = &existing
            && !matches!(request, Request::LoanOriginated(_))
        {
            let record = IdempotencyRecord {
                body_hash: hash,
                entry_id: id.to_hex(),
                entry: encoding::to_hex(&stored.bytes),
                height: Some(stored.height),
            };
            self.store
                .put_idempotency(&self.id, key, &record)
                .map_err(store_error)?;
            tracing::info!(id = %id, "written by another gateway process of this member");
            return Ok(Written {
                id,
                height: stored.height,
            });
        }
        let (entry, timings) = match self.build(secrets, request, Some(nonce)).await {
            Ok(built) => built,
            // The loan is on the ledger and this request no longer builds (its borrower since
            // blocklisted, say): whether it was this request cannot be told, the loan exists.
            Err(_) if existing.is_some() => {
                return Err(ServiceError::conflict(match request {
                    Request::LoanOriginated(loan) => {
                        format!("loan {} already exists", loan.loan_id)
                    }
                    _ => "another entry holds this entry's id".to_owned(),
                }));
            }
            Err(error) => return Err(error),
        };
        let mut record = IdempotencyRecord {
            body_hash: hash,
            entry_id: entry.header.id.to_hex(),
            entry: encoding::to_hex(&entry.encode()),
            height: None,
        };
        // Durable before submitting: a retry after a crash resubmits this very entry.
        self.store
            .put_idempotency(&self.id, key, &record)
            .map_err(store_error)?;
        let written = self.submit(request, entry, timings, true).await?;
        record.height = Some(written.height);
        self.store
            .put_idempotency(&self.id, key, &record)
            .map_err(store_error)?;
        Ok(written)
    }

    /// What a write holds from before it is built until its outcome is recorded, so that two
    /// requests of this gateway never race on one business key: a loan id being created
    /// (a second request for it is refused at once), a loan being repaid (repayments of one
    /// loan are built one after another, each against the outstanding principal the previous
    /// one left), a period being settled (one settlement at a time, each of the repayments the
    /// previous one left), or the registry (one update at a time). The ledger itself enforces one loan per id and originator (the loan's entry
    /// id derives from its business id), also across gateway processes and restarts.
    async fn business_lock(&self, request: &Request) -> Result<BusinessLock<'_>, ServiceError> {
        Ok(match request {
            Request::LoanOriginated(loan) => BusinessLock::Loan(
                LoanReservation::take(&self.loan_reservations, &loan.loan_id).ok_or_else(|| {
                    ServiceError::conflict(format!("loan {} is being created", loan.loan_id))
                })?,
            ),
            Request::LoanRepaid(repayment) => {
                BusinessLock::Keyed(self.repayment_locks.lock(&repayment.loan_id).await)
            }
            Request::SettlementClosed(settlement) => {
                BusinessLock::Keyed(self.settlement_locks.lock(&settlement.period).await)
            }
            // One registry update at a time: each is built on the version the last one made.
            Request::RegistryUpdated(_) => {
                BusinessLock::Keyed(self.settlement_locks.lock("\0registry").await)
            }
        })
    }

    pub(super) async fn build(
        &self,
        secrets: &MemberSecrets,
        request: &Request,
        nonce: Option<[u8; 16]>,
    ) -> Result<Built, ServiceError> {
        // The period whose regulators' view keys the entry is encrypted to.
        let period = match request {
            Request::LoanOriginated(_) | Request::RegistryUpdated(_) => current_month(),
            Request::LoanRepaid(repayment) => repayment.period.clone(),
            Request::SettlementClosed(settlement) => settlement.period.clone(),
        };
        let view_keys = self.view_keys_for(&period).await?;
        // The borrower references (the members' threshold OPRF, which spends other members'
        // quota): after the checks that need none, before anything is built.
        if let Request::LoanOriginated(loan) = request {
            request::check_loan(loan, &self.id, &self.genesis)?;
            // Under an Idempotency-Key, a loan of this id may be this very request written by
            // another process of this member's gateway: it is built, and `submit` compares it
            // with the ledger's.
            if nonce.is_none()
                && self
                    .store
                    .loan(&self.id, &loan.loan_id)
                    .map_err(store_error)?
                    .is_some()
            {
                return Err(ServiceError::conflict(format!(
                    "loan {} already exists",
                    loan.loan_id
                )));
            }
        }
        let national_ids: Vec<&str> = match request {
            Request::LoanOriginated(loan) => vec![loan.borrower.national_id.as_str()],
            Request::RegistryUpdated(update) => [
                &update.kyc.add,
                &update.kyc.remove,
                &update.blocklist.add,
                &update.blocklist.remove,
            ]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect(),
            Request::LoanRepaid(_) | Request::SettlementClosed(_) => Vec::new(),
        };
        let references_started = std::time::Instant::now();
        let borrower_refs = self.borrower_refs(secrets, &national_ids).await?;
        let references = references_started.elapsed();
        let builder = Builder {
            genesis: &self.genesis,
            policies: &self.policies,
            secrets,
            member: &self.id,
            proving_keys: &self.proving_keys,
            view_keys: &view_keys,
            borrower_refs: &borrower_refs,
            nonce,
        };
        let built = match request {
            Request::LoanOriginated(loan) => {
                let version = if self.genesis.circuits.screening.is_some() {
                    self.current_registry().await?
                } else {
                    None
                };
                let snapshot = self.store.registry().map_err(store_error)?;
                let registry = version.map(|version| crate::entry::builder::ScreeningRegistry {
                    version,
                    registry: &snapshot,
                });
                self.cpu(|| builder.loan(loan, registry.as_ref(), &period, now_ms()))
                    .await
                    .map_err(ServiceError::from)
            }
            Request::RegistryUpdated(update) => {
                let previous = self.current_registry().await?;
                let snapshot = self.store.registry().map_err(store_error)?;
                self.cpu(|| builder.registry(update, previous, &snapshot, &period, now_ms()))
                    .await
                    .map_err(ServiceError::from)
            }
            Request::LoanRepaid(repayment) => {
                request::check_repayment(repayment, &self.genesis)?;
                let terms = self.loan_terms(&repayment.loan_id).await?;
                self.check_outstanding(&terms.entry_id, repayment.principal_part)
                    .await?;
                self.cpu(|| builder.repayment(repayment, &terms, now_ms()))
                    .await
                    .map_err(ServiceError::from)
            }
            Request::SettlementClosed(settlement) => {
                let mut repayments = self.unsettled_repayments(&settlement.period).await?;
                // A period with more unsettled repayments than one entry references is
                // settled in parts: this entry settles as many as fit, and closing the period
                // again settles the rest. No circuit bounds it: each repayment proved its own
                // split when it was written.
                repayments.truncate(veil_node::ledger::entry::MAX_SETTLED);
                self.cpu(|| builder.settlement(&settlement.period, &repayments, now_ms()))
                    .await
                    .map_err(ServiceError::from)
            }
        };
        built.map(|(entry, timings)| {
            self.metrics.proved(timings.proofs.iter());
            (
                entry,
                BuildTimings {
                    references,
                    ..timings
                },
            )
        })
    }

    pub(super) async fn loan_terms(&self, loan_id: &str) -> Result<LoanTerms, ServiceError> {
        let unknown = || ServiceError::invalid_entry(format!("loan {loan_id} does not exist"));
        // This member's own loan of that business id: other members' loans of the same id
        // are theirs to repay.
        let Some(entry_id) = self.store.loan(&self.id, loan_id).map_err(store_error)? else {
            if self
                .store
                .loans_named(loan_id)
                .map_err(store_error)?
                .is_empty()
            {
                return Err(unknown());
            }
            return Err(ServiceError::invalid_entry(
                "only the loan's originator records its repayments",
            ));
        };
        let opened = self.fetch(&entry_id).await?.ok_or_else(unknown)?;
        if opened.entry.header.submitter != self.id {
            return Err(ServiceError::invalid_entry(
                "only the loan's originator records its repayments",
            ));
        }
        let shares = reader::shares(&opened).ok_or_else(ServiceError::internal)?;
        Ok(LoanTerms {
            entry_id,
            loan_id: loan_id.to_owned(),
            shares,
        })
    }

    /// Refuses a repayment whose `principal_part` (fen) is above what the loan `loan` still
    /// owes: its principal less the principal parts of its finalized repayments.
    async fn check_outstanding(
        &self,
        loan: &EntryId,
        principal_part: u64,
    ) -> Result<(), ServiceError> {
        let opened = self.fetch(loan).await?.ok_or_else(ServiceError::internal)?;
        let principal = opened
            .opening("principal")
            .ok_or_else(ServiceError::internal)?
            .value();
        let mut repaid = 0u64;
        for stored in self.node.referrers(loan).await.map_err(link_problem)? {
            let entry = self.decode(&stored)?;
            if entry.header.kind != veil_policies::EntryType::LoanRepaid.name() {
                continue;
            }
            let opened = Opened::open(entry, stored.height, &self.genesis, &self.opener());
            let part = opened
                .opening("principal_part")
                .ok_or_else(ServiceError::internal)?
                .value();
            repaid = repaid.saturating_add(part);
        }
        let outstanding = principal.saturating_sub(repaid);
        if principal_part > outstanding {
            return Err(ServiceError::invalid_entry(format!(
                "principal_part is above the loan's outstanding principal of {outstanding} fen"
            )));
        }
        Ok(())
    }

    /// What closing `period` settles next: this member's repayments of `period` that no
    /// finalized settlement references yet, at most [`veil_node::ledger::entry::MAX_SETTLED`],
    /// each opened from the ledger (its amount, its loan's shares, its allocations).
    ///
    /// Repayments found settled leave the gateway's index of the period
    /// ([`GatewayStore::forget_repayments`]), as the write path's own settlements' do once
    /// finalized: closing a period in parts reads each repayment once, not the settled ones
    /// again at every part.
    pub async fn unsettled_repayments(
        &self,
        period: &str,
    ) -> Result<Vec<RepaymentAllocations>, ServiceError> {
        const MAX_SETTLED: usize = veil_node::ledger::entry::MAX_SETTLED;
        let mut out = Vec::new();
        let mut settled = Vec::new();
        let mut loan_shares: HashMap<EntryId, Vec<(String, u64)>> = HashMap::new();
        let mut after = None;
        // One settlement settles at most MAX_SETTLED; closing the period again settles the
        // rest (no need to open more now).
        'pages: while out.len() < MAX_SETTLED {
            let page = self
                .store
                .repayments(period, after.as_ref(), MAX_SETTLED)
                .map_err(store_error)?;
            after = page.last().copied();
            for id in &page {
                if out.len() >= MAX_SETTLED {
                    break 'pages;
                }
                if self
                    .node
                    .settled_by(id)
                    .await
                    .map_err(link_problem)?
                    .is_some()
                {
                    settled.push(*id);
                    continue;
                }
                let Some(opened) = self.fetch(id).await? else {
                    continue;
                };
                let amount = opened
                    .opening("amount")
                    .ok_or_else(ServiceError::internal)?;
                let loan = opened
                    .entry
                    .header
                    .references
                    .first()
                    .copied()
                    .ok_or_else(ServiceError::internal)?;
                let shares = match loan_shares.get(&loan) {
                    Some(shares) => shares.clone(),
                    None => {
                        let opened_loan = self
                            .fetch(&loan)
                            .await?
                            .ok_or_else(ServiceError::internal)?;
                        let shares =
                            reader::shares(&opened_loan).ok_or_else(ServiceError::internal)?;
                        loan_shares.insert(loan, shares.clone());
                        shares
                    }
                };
                let mut allocations = Vec::new();
                for bank in opened.participants() {
                    let opening = opened
                        .opening(&format!("allocations.{bank}"))
                        .ok_or_else(ServiceError::internal)?;
                    allocations.push((bank, opening));
                }
                out.push(RepaymentAllocations {
                    entry_id: *id,
                    amount,
                    shares,
                    allocations,
                });
            }
            if page.len() < MAX_SETTLED {
                break;
            }
        }
        self.forget_settled(period, &settled);
        Ok(out)
    }

    /// Drops settled repayments from the index of `period`. A failure only leaves them to be
    /// found settled again by the next close.
    fn forget_settled(&self, period: &str, settled: &[EntryId]) {
        if settled.is_empty() {
            return;
        }
        if let Err(error) = self.store.forget_repayments(period, settled) {
            tracing::warn!(%error, period, "could not drop settled repayments from the index");
        }
    }

    /// Whether the entry `stored` (bytes from the ledger) carries exactly the field values of
    /// `built`, both this member's: every field this member can open, the same paths, the
    /// same plaintexts, and for each amount the same value (blindings differ: the amounts',
    /// and a loan's [`crate::entry::builder::SCREENING_BLINDING`]). A request built twice
    /// gives two such entries; two different requests never do.
    fn same_fields(&self, built: &Entry, stored: &[u8]) -> bool {
        let Secrets::Member(secrets) = &self.secrets else {
            return false;
        };
        let Ok(stored) = Entry::decode(stored) else {
            return false;
        };
        let opener = Opener::Member(&secrets.encryption);
        let ours = Opened::open(built.clone(), 0, &self.genesis, &opener);
        let theirs = Opened::open(stored, 0, &self.genesis, &opener);
        let (a, b) = (&ours.entry.header, &theirs.entry.header);
        if a.kind != b.kind
            || a.submitter != b.submitter
            || !ours.findings.is_empty()
            || !theirs.findings.is_empty()
            || !ours.plaintexts.keys().eq(theirs.plaintexts.keys())
        {
            tracing::info!("the ledger's entry under this id differs in its type or fields");
            return false;
        }
        let differing = ours.plaintexts.iter().find(|(path, plaintext)| {
            if path.as_str() == crate::entry::builder::SCREENING_BLINDING {
                return false;
            }
            let same = match ours.entry.commitment(path) {
                Some(_) => matches!(
                    (ours.opening(path), theirs.opening(path)),
                    (Some(x), Some(y)) if x.value() == y.value()
                ),
                None => theirs.plaintexts.get(*path) == Some(*plaintext),
            };
            !same
        });
        if let Some((path, _)) = differing {
            // The path only, never a value.
            tracing::info!(path = %path, "the ledger's entry under this id differs in a field");
        }
        differing.is_none()
    }

    /// Submits `entry` (built for `request`) and waits for it to be finalized. With
    /// `idempotent`, its id was derived from the request's Idempotency-Key and body
    /// ([`MemberSecrets::idempotent_nonce`]): another entry under that id is this same request
    /// written by another process of this member's gateway, and its outcome is this one's.
    pub(super) async fn submit(
        &self,
        request: &Request,
        entry: Entry,
        timings: BuildTimings,
        idempotent: bool,
    ) -> Result<Written, ServiceError> {
        let id = entry.header.id;
        let bytes = entry.encode();
        let submitted = std::time::Instant::now();
        let submitted_result = self.node.submit(bytes.clone(), FINALIZATION_WAIT).await;
        // The references of what the ledger holds under this id, when another process of this
        // member's gateway wrote it (a settlement settles those).
        let mut settled = entry.header.references.clone();
        let receipt = match submitted_result {
            // Finalized (now, or by an earlier attempt whose answer was lost): what the ledger
            // holds under this id decides. These bytes are this entry; other bytes mean this
            // entry can never be finalized (one entry per id), whoever wrote them.
            Ok(_) | Err(LinkError::Replay) => match self.node.entry(&id).await {
                Ok(Some(stored)) if stored.bytes == bytes => Ok(stored.height),
                // The same request under the same key, written by another process of this
                // member's gateway. A loan's id derives from its business id, not the key:
                // the loan on the ledger must carry this request's very field values.
                Ok(Some(stored))
                    if idempotent
                        && (!matches!(request, Request::LoanOriginated(_))
                            || self.same_fields(&entry, &stored.bytes)) =>
                {
                    tracing::info!(id = %id, "written by another gateway process of this member");
                    if let Ok(theirs) = Entry::decode(&stored.bytes) {
                        settled = theirs.header.references;
                    }
                    Ok(stored.height)
                }
                Ok(Some(_)) => Err(ServiceError::Superseded(match request {
                    Request::LoanOriginated(loan) => {
                        format!("loan {} already exists", loan.loan_id)
                    }
                    _ => "another entry holds this entry's id; nothing was written".to_owned(),
                })),
                // The same request under the same key (or, for a loan, one of the same loan
                // id), being written by another process of this member's gateway: answered
                // once it is finalized (409 in-progress until then, which clients retry).
                Ok(None) if idempotent => Err(ServiceError::InProgress),
                // Another entry with this id waits to be ordered: this one's fate is open.
                Ok(None) => Err(ServiceError::conflict(match request {
                    Request::LoanOriginated(loan) => {
                        format!("loan {} is being created by another request", loan.loan_id)
                    }
                    _ => "another entry with this id is waiting to be ordered".to_owned(),
                })),
                Err(error) => Err(link_problem(error)),
            },
            // The entry was built on a registry version another member has just changed (a
            // loan screened against it, or an update of it): it can never be finalized, and
            // building it again uses the new version.
            // Refused at admission. The gateway builds on what its own node has finalized, so
            // a refusal is final for these bytes — unless an earlier copy of them was
            // finalized in the meantime (the node checks the id before the rules).
            Err(LinkError::Rejected(code)) => match self.node.entry(&id).await {
                Ok(Some(stored)) if stored.bytes == bytes => Ok(stored.height),
                Ok(_) if code == RejectionCode::StaleRegistry => Err(ServiceError::Superseded(
                    "the consortium's registry changed while this entry was being built; \
                         nothing was written: send the same request again (the same \
                         Idempotency-Key is fine)"
                        .to_owned(),
                )),
                Ok(_) => Err(link_problem(LinkError::Rejected(code))),
                Err(error) => Err(link_problem(error)),
            },
            Err(other) => Err(link_problem(other)),
        }?;
        if let Request::LoanOriginated(loan) = request {
            self.store
                .put_loan(&self.id, &loan.loan_id, &id)
                .map_err(store_error)?;
        }
        let receipt = veil_node::state::Receipt {
            id,
            height: receipt,
            block: [0; 32],
        };
        self.timings.add(timings, submitted.elapsed());
        if let Request::LoanRepaid(repayment) = request {
            self.store
                .put_repayment(&repayment.period, &id)
                .map_err(store_error)?;
        }
        if let Request::SettlementClosed(settlement) = request {
            self.forget_settled(&settlement.period, &settled);
        }
        tracing::info!(id = %id, kind = %request.kind(), height = receipt.height, "entry finalized");
        Ok(Written {
            id,
            height: receipt.height,
        })
    }
}

#[cfg(test)]
mod tests {
    use veil_crypto::keyed_hash::KeyedHashKey;
    use veil_node::consensus::gossip::GossipHandle;
    use veil_node::link::LocalNode;
    use veil_node::state::{NodeMetrics, NodeState};
    use veil_node::store::memory::MemoryStore;
    use veil_node::store::{AppliedBlock, AppliedEntry, Store as _, StoredBlock};
    use veil_node::testkit::TestConsortium;

    use super::*;
    use crate::consortium::config::GatewayKind;

    fn applied(entry: &Entry) -> AppliedEntry {
        AppliedEntry {
            id: entry.header.id,
            kind: entry.header.kind.clone(),
            references: entry.header.references.clone(),
            settles_references: veil_node::validation::supersedes_references(&entry.header.kind),
            bytes: entry.encode(),
        }
    }

    fn block(height: u64, entries: Vec<AppliedEntry>) -> AppliedBlock {
        AppliedBlock {
            block: StoredBlock {
                height,
                digest: [height as u8; 32],
                block: Vec::new(),
                finalization: Vec::new(),
            },
            entries,
            registry: Vec::new(),
        }
    }

    /// A period closed in parts: each part reads the repayments no settlement has settled,
    /// and the settled ones leave the gateway's index, so later parts never read them again.
    #[test]
    fn closing_a_period_reads_and_keeps_only_unsettled_repayments() {
        let consortium = TestConsortium::new(3, 61, 40_700);
        let loan = consortium.loan(0, 1, 600_000, &[(1, 4000)]);
        let repayments: Vec<Entry> = (0..3)
            .map(|k| consortium.repayment(&loan, 10_001 + k, "2026-11"))
            .collect();
        // A finalized settlement of the first repayment (the store indexes what it settles;
        // nothing here reads its bytes).
        let settlement = AppliedEntry {
            id: EntryId([9; 16]),
            kind: veil_policies::EntryType::SettlementClosed.name().to_owned(),
            references: vec![repayments[0].header.id],
            settles_references: true,
            bytes: Vec::new(),
        };
        let store = Arc::new(MemoryStore::new());
        let mut entries = vec![applied(&loan)];
        entries.extend(repayments.iter().map(applied));
        store.apply(&block(0, entries)).unwrap();
        store.apply(&block(1, vec![settlement])).unwrap();

        let validator = Validator::new(consortium.genesis.clone()).unwrap();
        let metrics = {
            use commonware_runtime::Runner as _;
            commonware_runtime::deterministic::Runner::default()
                .start(|context| async move { NodeMetrics::register(&context) })
        };
        let member = &consortium.members[0];
        let seed = member.signing.to_seed();
        let dir = tempfile::tempdir().unwrap();
        let gateway = Gateway::new(
            GatewayKind::Member,
            member.id.clone(),
            validator.clone(),
            validator.policies().clone(),
            NodeLink::Local(LocalNode {
                state: Arc::new(NodeState::new(validator, member.id.clone(), store, metrics)),
                gossip: GossipHandle::disconnected(),
            }),
            Secrets::Member(Box::new(MemberSecrets {
                signing: member.signing.clone(),
                encryption: member.encryption.clone(),
                oprf: None,
                ref_cache: KeyedHashKey::derive(veil_crypto::labels::BORROWER_REF_CACHE_KEY, &seed),
                loan_ids: KeyedHashKey::derive(veil_crypto::labels::LOAN_ENTRY_ID_KEY, &seed),
                idempotent_ids: KeyedHashKey::derive(
                    veil_crypto::labels::IDEMPOTENT_ENTRY_ID_KEY,
                    &seed,
                ),
            })),
            GatewayStore::open(&dir.path().join("gateway")).unwrap(),
            ProvingKeys::new(dir.path().join("circuits")),
        );
        for repayment in &repayments {
            gateway
                .store
                .put_repayment("2026-11", &repayment.header.id)
                .unwrap();
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let mut unsettled: Vec<EntryId> = repayments[1..].iter().map(|r| r.header.id).collect();
        unsettled.sort();

        let read = runtime
            .block_on(gateway.unsettled_repayments("2026-11"))
            .unwrap();
        let mut ids: Vec<EntryId> = read.iter().map(|r| r.entry_id).collect();
        ids.sort();
        assert_eq!(ids, unsettled);
        for repayment in &read {
            let banks: Vec<&str> = repayment
                .allocations
                .iter()
                .map(|(b, _)| b.as_str())
                .collect();
            assert_eq!(banks, ["bank-a", "bank-b"]);
            let total: u64 = repayment.allocations.iter().map(|(_, o)| o.value()).sum();
            assert_eq!(total, repayment.amount.value());
        }
        assert_eq!(
            gateway.store.repayments("2026-11", None, 10).unwrap(),
            unsettled,
            "the settled repayment left the index"
        );
        // Closing again reads the same two (nothing more was settled).
        let again = runtime
            .block_on(gateway.unsettled_repayments("2026-11"))
            .unwrap();
        assert_eq!(again.len(), 2);
    }
}
