//! The gateway's state and its operations (what the HTTP routes call): writing entries,
//! reading them as one caller may, loans, disclosures, and the ledger follower that indexes
//! loans by their business id.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use veil_crypto::{ViewKeyring, encoding};
use veil_node::genesis::Genesis;
use veil_node::ledger::{Entry, EntryId};
use veil_node::link::{LinkError, NodeLink};
use veil_node::store::StoredEntry;
use veil_node::validation::Validator;
use veil_policies::{EntryType, Policies, Principal};

use crate::builder::{BuildTimings, Builder, Built, LoanTerms, RepaymentAllocations};
use crate::circuits::ProvingKeys;
use crate::config::GatewayKind;
use crate::keys::{MemberSecrets, Opener};
use crate::problem::Problem;
use crate::reader::{self, Opened, ProofReport};
use crate::request::{self, Request};
use crate::store::{GatewayStore, IdempotencyRecord};

/// How long a write waits for finalization before answering 504.
pub const FINALIZATION_WAIT: Duration = Duration::from_secs(30);
/// Most entries per list page.
pub const MAX_PAGE: usize = 100;

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

/// What a gateway holds.
#[derive(Debug)]
pub enum Secrets {
    /// A member's keys.
    Member(Box<MemberSecrets>),
    /// A regulator's view keys.
    Regulator(ViewKeyring),
}

/// A gateway.
#[derive(Debug)]
pub struct Gateway {
    /// Member or regulator gateway.
    pub kind: GatewayKind,
    /// Its member or regulator id.
    pub id: String,
    /// The consortium.
    pub genesis: Arc<Genesis>,
    /// The policy set (hash checked against the genesis).
    pub policies: Policies,
    /// Entry verification.
    pub validator: Validator,
    /// The node.
    pub node: NodeLink,
    /// Keys.
    pub secrets: Secrets,
    /// Durable gateway state.
    pub store: GatewayStore,
    /// Where writes spent their time.
    pub timings: WriteTimings,
    /// The settlement circuit's proving keys.
    pub proving_keys: ProvingKeys,
    /// One permit per core for proving and verifying (see [`Gateway::cpu`]).
    cpu: tokio::sync::Semaphore,
    idempotency_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    loan_reservations: Mutex<HashSet<String>>,
    registry: tokio::sync::Mutex<RegistryFollower>,
}

/// The registry as far as this gateway has read the ledger's `registry.updated` chain.
#[derive(Debug, Default)]
struct RegistryFollower {
    after: Option<(u64, u32)>,
    head: Option<EntryId>,
    registry: Arc<veil_circuits::screening::Registry>,
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

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn store_error(e: impl std::fmt::Display) -> Problem {
    tracing::error!(error = %e, "gateway store failed");
    Problem::internal()
}

fn link_problem(error: LinkError) -> Problem {
    match error {
        LinkError::Rejected(reason) => {
            tracing::warn!(%reason, "the ledger refused an entry");
            Problem::refused()
        }
        LinkError::Replay => Problem::conflict("entry id already used"),
        LinkError::Busy | LinkError::Unavailable(_) | LinkError::Protocol(_) => {
            Problem::unavailable()
        }
        LinkError::Timeout => Problem::timeout(),
        LinkError::Forbidden => {
            tracing::error!("the node refused this gateway's identity");
            Problem::internal()
        }
        _ => Problem::unavailable(),
    }
}

/// SHA-256 of a request body in canonical JSON form (sorted keys, no whitespace).
pub fn body_hash(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    Some(encoding::to_hex(&Sha256::digest(
        value.to_string().as_bytes(),
    )))
}

/// The current month, `YYYY-MM`, in UTC.
pub fn current_month() -> String {
    let days = (now_ms() / 86_400_000) as i64;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}")
}

impl Gateway {
    /// Runs CPU-heavy work (proving, verifying proofs) without stalling the runtime's I/O:
    /// at most one job per core at once, admitted in arrival order, each on a thread the
    /// runtime sets aside for it.
    async fn cpu<T>(&self, work: impl FnOnce() -> T) -> T {
        let _permit = self.cpu.acquire().await.ok();
        tokio::task::block_in_place(work)
    }

    /// A gateway over these parts.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        kind: GatewayKind,
        id: String,
        genesis: Arc<Genesis>,
        policies: Policies,
        node: NodeLink,
        secrets: Secrets,
        store: GatewayStore,
        proving_keys: ProvingKeys,
    ) -> Self {
        Self {
            proving_keys,
            kind,
            id,
            validator: Validator::new(genesis.clone()),
            genesis,
            policies,
            node,
            secrets,
            store,
            timings: WriteTimings::default(),
            cpu: tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get),
            ),
            idempotency_locks: Mutex::new(HashMap::new()),
            loan_reservations: Mutex::new(HashSet::new()),
            registry: tokio::sync::Mutex::default(),
        }
    }

    /// The current registry version (none while the registry is empty) and the registry:
    /// reads the `registry.updated` entries finalized since the last call and replays them.
    async fn current_registry(
        &self,
    ) -> Result<(Option<EntryId>, Arc<veil_circuits::screening::Registry>), Problem> {
        const PAGE: usize = 256;
        let mut follower = self.registry.lock().await;
        loop {
            let page = self
                .node
                .entries_by_type(EntryType::RegistryUpdated.name(), follower.after, PAGE)
                .await
                .map_err(link_problem)?;
            for stored in &page {
                let entry = self.decode(stored)?;
                if entry.header.references.first() != follower.head.as_ref() {
                    tracing::error!(id = %entry.header.id, "the registry chain on the ledger is broken");
                    return Err(Problem::internal());
                }
                let update = veil_node::registry::update_of(&entry).map_err(store_error)?;
                Arc::make_mut(&mut follower.registry)
                    .apply(&update.changes)
                    .map_err(store_error)?;
                follower.head = Some(entry.header.id);
                follower.after = Some((stored.height, stored.index));
            }
            if page.len() < PAGE {
                break;
            }
        }
        Ok((follower.head, follower.registry.clone()))
    }

    fn opener(&self) -> Opener<'_> {
        match &self.secrets {
            Secrets::Member(secrets) => Opener::Member(&secrets.encryption),
            Secrets::Regulator(keyring) => Opener::Regulator(keyring),
        }
    }

    fn decode(&self, stored: &StoredEntry) -> Result<Entry, Problem> {
        Entry::decode(&stored.bytes).map_err(|_| {
            tracing::error!("the node served an entry that does not decode");
            Problem::internal()
        })
    }

    async fn fetch(&self, id: &EntryId) -> Result<Option<Opened>, Problem> {
        let Some(stored) = self.node.entry(id).await.map_err(link_problem)? else {
            return Ok(None);
        };
        let entry = self.decode(&stored)?;
        Ok(Some(Opened::open(
            entry,
            stored.height,
            &self.genesis,
            &self.opener(),
        )))
    }

    /// Handles `POST /v1/entries`.
    pub async fn write(
        &self,
        principal: &Principal,
        body: &[u8],
        idempotency_key: Option<&str>,
    ) -> Result<Written, Problem> {
        let Secrets::Member(secrets) = &self.secrets else {
            return Err(Problem::forbidden());
        };
        let request = request::parse(body)?;
        if !self
            .policies
            .can_write(principal, request.kind().name())
            .map_err(store_error)?
        {
            return Err(Problem::forbidden());
        }
        let Some(key) = idempotency_key else {
            let (entry, timings) = self.build(secrets, &request).await?;
            return self.submit(&request, entry, timings).await;
        };
        if key.is_empty() || key.len() > 128 || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Problem::bad_request(
                "Idempotency-Key must be 1 to 128 visible ASCII characters",
            ));
        }
        let hash = body_hash(body).ok_or_else(|| Problem::bad_request("invalid JSON"))?;
        let key_lock = {
            let mut locks = lock(&self.idempotency_locks);
            locks.entry(key.to_owned()).or_default().clone()
        };
        let _guard = key_lock.lock().await;
        if let Some(record) = self.store.idempotency(&self.id, key).map_err(store_error)? {
            if record.body_hash != hash {
                return Err(Problem::conflict(
                    "Idempotency-Key already used with another body",
                ));
            }
            let id = EntryId::from_hex(&record.entry_id).map_err(store_error)?;
            if let Some(height) = record.height {
                return Ok(Written { id, height });
            }
            // The first attempt's answer was lost: resubmit exactly the same entry.
            let bytes = encoding::from_hex(&record.entry, veil_node::ledger::entry::MAX_ENTRY_LEN)
                .map_err(store_error)?;
            let entry = Entry::decode(&bytes).map_err(store_error)?;
            let written = self
                .submit(&request, entry, BuildTimings::default())
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
        let (entry, timings) = self.build(secrets, &request).await?;
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
        let written = self.submit(&request, entry, timings).await?;
        record.height = Some(written.height);
        self.store
            .put_idempotency(&self.id, key, &record)
            .map_err(store_error)?;
        Ok(written)
    }

    async fn build(&self, secrets: &MemberSecrets, request: &Request) -> Result<Built, Problem> {
        let builder = Builder {
            genesis: &self.genesis,
            policies: &self.policies,
            secrets,
            member: &self.id,
            proving_keys: &self.proving_keys,
        };
        match request {
            Request::LoanOriginated(loan) => {
                request::check_loan(loan, &self.id, &self.genesis)?;
                if self
                    .store
                    .loan(&loan.loan_id)
                    .map_err(store_error)?
                    .is_some()
                {
                    return Err(Problem::conflict(format!(
                        "loan {} already exists",
                        loan.loan_id
                    )));
                }
                let month = current_month();
                let registry = if self.genesis.circuits.screening.is_some() {
                    match self.current_registry().await? {
                        (Some(version), registry) => {
                            Some(crate::builder::ScreeningRegistry { version, registry })
                        }
                        (None, _) => None,
                    }
                } else {
                    None
                };
                self.cpu(|| builder.loan(loan, registry.as_ref(), &month, now_ms()))
                    .await
            }
            Request::RegistryUpdated(update) => {
                let (previous, registry) = self.current_registry().await?;
                let month = current_month();
                self.cpu(|| builder.registry(update, previous, &registry, &month, now_ms()))
                    .await
            }
            Request::LoanRepaid(repayment) => {
                request::check_repayment(repayment)?;
                let terms = self.loan_terms(&repayment.loan_id).await?;
                self.cpu(|| builder.repayment(repayment, &terms, now_ms()))
                    .await
            }
            Request::SettlementClosed(settlement) => {
                let repayments = self.unsettled_repayments(&settlement.period).await?;
                self.cpu(|| builder.settlement(&settlement.period, &repayments, now_ms()))
                    .await
            }
        }
    }

    async fn loan_terms(&self, loan_id: &str) -> Result<LoanTerms, Problem> {
        let unknown = || Problem::invalid_entry(format!("loan {loan_id} does not exist"));
        let entry_id = self
            .store
            .loan(loan_id)
            .map_err(store_error)?
            .ok_or_else(unknown)?;
        let opened = self.fetch(&entry_id).await?.ok_or_else(unknown)?;
        if opened.entry.header.submitter != self.id {
            return Err(Problem::invalid_entry(
                "only the loan's originator records its repayments",
            ));
        }
        let shares = reader::shares(&opened).ok_or_else(Problem::internal)?;
        Ok(LoanTerms {
            entry_id,
            loan_id: loan_id.to_owned(),
            shares,
        })
    }

    async fn unsettled_repayments(
        &self,
        period: &str,
    ) -> Result<Vec<RepaymentAllocations>, Problem> {
        let mut out = Vec::new();
        let mut loan_shares: HashMap<EntryId, Vec<(String, u64)>> = HashMap::new();
        for id in self.store.repayments(period).map_err(store_error)? {
            if self
                .node
                .settled_by(&id)
                .await
                .map_err(link_problem)?
                .is_some()
            {
                continue;
            }
            let Some(opened) = self.fetch(&id).await? else {
                continue;
            };
            let amount = opened.opening("amount").ok_or_else(Problem::internal)?;
            let loan = opened
                .entry
                .header
                .references
                .first()
                .copied()
                .ok_or_else(Problem::internal)?;
            let shares = match loan_shares.get(&loan) {
                Some(shares) => shares.clone(),
                None => {
                    let opened_loan = self.fetch(&loan).await?.ok_or_else(Problem::internal)?;
                    let shares = reader::shares(&opened_loan).ok_or_else(Problem::internal)?;
                    loan_shares.insert(loan, shares.clone());
                    shares
                }
            };
            let mut allocations = Vec::new();
            for bank in opened.participants() {
                let opening = opened
                    .opening(&format!("allocations.{bank}"))
                    .ok_or_else(Problem::internal)?;
                allocations.push((bank, opening));
            }
            out.push(RepaymentAllocations {
                entry_id: id,
                amount,
                shares,
                allocations,
            });
        }
        Ok(out)
    }

    async fn submit(
        &self,
        request: &Request,
        entry: Entry,
        timings: BuildTimings,
    ) -> Result<Written, Problem> {
        let reservation = match request {
            Request::LoanOriginated(loan) => Some(
                LoanReservation::take(&self.loan_reservations, &loan.loan_id).ok_or_else(|| {
                    Problem::conflict(format!("loan {} is being created", loan.loan_id))
                })?,
            ),
            _ => None,
        };
        let id = entry.header.id;
        let bytes = entry.encode();
        let submitted = std::time::Instant::now();
        let result = match self.node.submit(bytes.clone(), FINALIZATION_WAIT).await {
            // Already finalized (an earlier attempt's answer was lost): the same bytes are
            // this entry, anything else under its id is a conflict.
            Err(LinkError::Replay) => match self.node.entry(&id).await {
                Ok(Some(stored)) if stored.bytes == bytes => Ok(veil_node::state::Receipt {
                    id,
                    height: stored.height,
                    block: [0; 32],
                }),
                _ => Err(LinkError::Replay),
            },
            other => other,
        };
        if let Some(reservation) = &reservation
            && result.is_ok()
        {
            self.store
                .put_loan(&reservation.loan_id, &id)
                .map_err(store_error)?;
        }
        drop(reservation);
        let receipt = result.map_err(|e| match e {
            // The entry was built on a registry version another member has just changed (a
            // loan screened against it, or an update of it): nothing was written, and
            // building it again uses the new version.
            LinkError::Rejected(reason) if reason == "stale-registry" => Problem::conflict(
                "the consortium's registry changed while this entry was being built; nothing \
                 was written: submit it again (with a new Idempotency-Key)",
            ),
            other => link_problem(other),
        })?;
        self.timings.add(timings, submitted.elapsed());
        if let Request::LoanRepaid(repayment) = request {
            self.store
                .put_repayment(&repayment.period, &id)
                .map_err(store_error)?;
        }
        tracing::info!(id = %id, kind = %request.kind(), height = receipt.height, "entry finalized");
        Ok(Written {
            id,
            height: receipt.height,
        })
    }

    async fn proof_report(&self, opened: &Opened) -> Result<ProofReport, Problem> {
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
            circuit_link = reader::repayment_link(&self.genesis, opened, &shares);
        }
        if entry.header.kind == EntryType::SettlementClosed.name() {
            circuit_link = reader::settlement_link(&self.genesis, opened);
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

    /// A settlement's circuit proof as partners check it themselves: the entry's circuit
    /// data, the Poseidon commitments of its repayments in reference order, and the proof in
    /// snarkjs' JSON with its public inputs and the genesis verifying key. The proof is
    /// verified here first; no customer data is in it.
    pub async fn settlement_proof(&self, id: &EntryId) -> Result<Value, Problem> {
        let stored = self
            .node
            .entry(id)
            .await
            .map_err(link_problem)?
            .ok_or_else(Problem::not_found)?;
        let entry = self.decode(&stored)?;
        if entry.header.kind != EntryType::SettlementClosed.name() {
            return Err(Problem::not_found_because("not a settlement"));
        }
        let mut referenced = Vec::with_capacity(entry.header.references.len());
        for reference in &entry.header.references {
            let stored = self
                .node
                .entry(reference)
                .await
                .map_err(link_problem)?
                .ok_or_else(Problem::unavailable)?;
            referenced.push(self.decode(&stored)?);
        }
        let exported = self
            .cpu(|| reader::settlement_export(&self.genesis, &entry, &referenced))
            .await?;
        Ok(exported)
    }

    /// The view of one entry for `principal`, logging the disclosure.
    pub async fn read(
        &self,
        principal: &Principal,
        who: &str,
        id: &EntryId,
    ) -> Result<Value, Problem> {
        let opened = self.fetch(id).await?.ok_or_else(Problem::not_found)?;
        self.present(principal, who, &opened).await
    }

    async fn present(
        &self,
        principal: &Principal,
        who: &str,
        opened: &Opened,
    ) -> Result<Value, Problem> {
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
    async fn page(
        &self,
        kinds: &[EntryType],
        cursor: Option<(u64, u32)>,
        limit: usize,
    ) -> Result<(Vec<StoredEntry>, Option<String>), Problem> {
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

    /// A page of entries (all types if `kind` is `None`), oldest first.
    pub async fn list(
        &self,
        principal: &Principal,
        who: &str,
        kind: Option<EntryType>,
        cursor: Option<(u64, u32)>,
        limit: usize,
    ) -> Result<(Vec<Value>, Option<String>), Problem> {
        let kinds: Vec<EntryType> = kind.map_or_else(|| EntryType::ALL.to_vec(), |k| vec![k]);
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
    pub async fn loan(
        &self,
        principal: &Principal,
        who: &str,
        loan_id: &str,
    ) -> Result<Value, Problem> {
        let entry_id = self
            .store
            .loan(loan_id)
            .map_err(store_error)?
            .ok_or_else(Problem::not_found)?;
        let opened = self
            .fetch(&entry_id)
            .await?
            .ok_or_else(Problem::not_found)?;
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
        let repaid: Option<u64> = repayments
            .iter()
            .map(|r| r["fields"]["principal_part"].as_u64())
            .sum();
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
    ) -> Result<(Vec<Value>, Option<String>), Problem> {
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

    /// Indexes, from the ledger, the loans this gateway can read by their business id and
    /// this member's repayments by period (what settlements total). The write path records
    /// both as soon as an entry is finalized; this catches up whatever a crash between
    /// finalization and that record left out.
    pub async fn follow_once(&self) -> Result<usize, Problem> {
        Ok(self.follow_loans().await? + self.follow_repayments().await?)
    }

    async fn follow_repayments(&self) -> Result<usize, Problem> {
        let kind = EntryType::LoanRepaid.name();
        let cursor = self.store.cursor(kind).map_err(store_error)?;
        let page = self
            .node
            .entries_by_type(kind, cursor, 200)
            .await
            .map_err(link_problem)?;
        for stored in &page {
            let entry = self.decode(stored)?;
            if entry.header.submitter == self.id {
                self.store
                    .put_repayment(&entry.header.period, &entry.header.id)
                    .map_err(store_error)?;
            }
            self.store
                .put_cursor(kind, (stored.height, stored.index))
                .map_err(store_error)?;
        }
        Ok(page.len())
    }

    async fn follow_loans(&self) -> Result<usize, Problem> {
        let kind = EntryType::LoanOriginated.name();
        let cursor = self.store.cursor(kind).map_err(store_error)?;
        let page = self
            .node
            .entries_by_type(kind, cursor, 200)
            .await
            .map_err(link_problem)?;
        for stored in &page {
            let entry = self.decode(stored)?;
            let id = entry.header.id;
            let opened = Opened::open(entry, stored.height, &self.genesis, &self.opener());
            if let Some(Value::String(loan_id)) = opened.value("loan_id")
                && self.store.loan(&loan_id).map_err(store_error)?.is_none()
            {
                self.store.put_loan(&loan_id, &id).map_err(store_error)?;
            }
            self.store
                .put_cursor(kind, (stored.height, stored.index))
                .map_err(store_error)?;
        }
        Ok(page.len())
    }

    /// Runs the follower until the task is dropped.
    pub async fn follow(self: Arc<Self>) {
        loop {
            match self.follow_once().await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(problem) => tracing::debug!(?problem, "ledger follower will retry"),
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}
