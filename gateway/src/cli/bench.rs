//! `veil bench`: the end-to-end benchmark on an embedded consortium (four banks by default, 4
//! to 64 with `--banks`; a regulator), through the gateways' HTTPS API with real client certificates.
//!
//! 1. Saturation: every loan, then every repayment, submitted concurrently through its
//!    originator's gateway; finalized entries per second and latency percentiles.
//! 2. Half load: more loans at half the saturated rate; latency percentiles there.
//! 3. Reads: every entry through a partner's gateway (decrypt, check openings, verify); then
//!    borrower references: fresh national ids, one after another, through one gateway's
//!    threshold OPRF (its own share and `t − 1` other members' gateways over loopback mTLS, 3
//!    of 4); their latency, and its share of a loan's write latency at half load.
//! 4. Baseline, in the same run: the same entries' encryption, proofs and signatures made,
//!    and verified, in a plain loop over all cores — no network, no consensus, no storage.
//!    `ratio = entries_per_s / baseline_entries_per_s`.
//!
//! Also reports where a write spends its time (encryption, proving, signing, waiting for
//! finalization, durable storage, verification at the nodes).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rayon::prelude::*;
use serde_json::{Value, json};

use crate::cli::progress::Progress;
use veil_gateway::client;
use veil_gateway::consortium::{InitOptions, bank_ids};
use veil_gateway::embedded::Embedded;

/// How long one write may take, retries included, before the bench fails.
const PATIENCE: Duration = Duration::from_secs(120);
use veil_gateway::entry::builder::{Builder, LoanTerms};
use veil_gateway::entry::keys::MemberSecrets;
use veil_gateway::entry::request::{self, Request};
use veil_gateway::scenario::{kyc_requests, workload};

/// Requests in flight at once during the saturation phase.
pub(crate) const CONCURRENCY: usize = 48;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn latency(latencies: &[f64]) -> Value {
    let mut sorted = latencies.to_vec();
    sorted.sort_by(|a, b| a.total_cmp(b));
    json!({"p50": percentile(&sorted, 50.0), "p99": percentile(&sorted, 99.0), "max": sorted.last()})
}

async fn submit_all(
    clients: &[(String, reqwest::Client, String)],
    requests: Vec<(String, Value)>,
    concurrency: usize,
    pace: Option<Duration>,
) -> Result<Vec<f64>, String> {
    submit_all_after(clients, requests, concurrency, pace, None)
        .await
        .map(|(latencies, _)| latencies)
}

/// Submits every request, each through its bank's gateway, at most `concurrency` at once
/// (and one every `pace`), each gateway first reaching `min_height` (read-your-writes across
/// gateways); returns the latencies in ms and the highest height written. On the first
/// failure the other requests are abandoned (the set aborts its tasks when dropped).
async fn submit_all_after(
    clients: &[(String, reqwest::Client, String)],
    requests: Vec<(String, Value)>,
    concurrency: usize,
    pace: Option<Duration>,
    min_height: Option<u64>,
) -> Result<(Vec<f64>, u64), String> {
    let semaphore = Arc::new(tokio::sync::Semaphore::new(concurrency));
    let mut tasks = tokio::task::JoinSet::new();
    let query = min_height.map_or_else(String::new, |h| format!("?min_height={h}"));
    for (bank, body) in requests {
        let (_, client, url) = clients
            .iter()
            .find(|(b, _, _)| *b == bank)
            .cloned()
            .ok_or("unknown bank")?;
        let url = format!("{url}{query}");
        let permit = semaphore
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| e.to_string())?;
        tasks.spawn(async move {
            let _permit = permit;
            let started = Instant::now();
            // Under a fresh idempotency key, retried with it while the gateway asks to (its
            // node not yet at `min_height`, 409 behind; a write not finalized in time, 504;
            // not ready, 503), as the problem documents tell clients to: every wait is part of
            // the request's latency.
            let mut nonce = [0u8; 16];
            getrandom::fill(&mut nonce).map_err(|e| e.to_string())?;
            let key = format!("bench-{}", veil_crypto::encoding::to_hex(&nonce));
            let written = client::post_json_retrying(&client, &url, &body, &key, PATIENCE)
                .await
                .map_err(|e| e.to_string())?;
            let height = written["height"].as_u64().unwrap_or(0);
            Ok::<(f64, u64), String>((started.elapsed().as_secs_f64() * 1000.0, height))
        });
        if let Some(pace) = pace {
            tokio::time::sleep(pace).await;
        }
    }
    let mut latencies = Vec::with_capacity(tasks.len());
    let mut highest = 0;
    while let Some(done) = tasks.join_next().await {
        let (latency, height) = done.map_err(|e| e.to_string())??;
        latencies.push(latency);
        highest = highest.max(height);
    }
    Ok((latencies, highest))
}

/// Runs the benchmark with `loans` loans (and as many repayments). `dir` defaults to a
/// temporary directory.
pub(crate) async fn run(
    loans: usize,
    banks: usize,
    dir: Option<&Path>,
    progress: &Progress,
) -> Result<Value, String> {
    let temp;
    let dir: PathBuf = match dir {
        Some(dir) => dir.to_path_buf(),
        None => {
            temp = tempfile::tempdir().map_err(|e| e.to_string())?;
            temp.path().to_path_buf()
        }
    };
    let step = progress.step(&format!(
        "starting the consortium ({banks} banks, 1 regulator)"
    ));
    let options = InitOptions {
        banks,
        force: true,
        // The bench writes loans and repayments, no settlements.
        circuits: veil_gateway::consortium::circuit_keys::CircuitSource::Dev(
            veil_gateway::consortium::DEFAULT_CAPACITIES.to_vec(),
        ),
        ..Default::default()
    };
    let embedded = Embedded::start(&dir, &options)
        .await
        .map_err(|e| e.to_string())?;
    step.finish();
    let result = measure(&embedded, loans, banks, progress).await;
    let step = progress.step("stopping the consortium");
    embedded.stop().await.map_err(|e| e.to_string())?;
    step.finish();
    result
}

async fn measure(
    embedded: &Embedded,
    loans: usize,
    banks: usize,
    progress: &Progress,
) -> Result<Value, String> {
    let dir = &embedded.dir;
    let mut clients = Vec::new();
    for bank in bank_ids(banks) {
        let clerk = dir.join(&bank).join("clients");
        let client = client::https(dir, &clerk.join("clerk.pem"), &clerk.join("clerk.key"))
            .map_err(|e| e.to_string())?;
        let url = format!(
            "{}/v1/entries",
            client::gateway_url(dir, &bank).map_err(|e| e.to_string())?
        );
        clients.push((bank, client, url));
    }
    let work = workload(loans, 1, banks);
    let half = (loans / 2).max(8);
    let half_work = workload(half, 2, banks);

    // 0. The borrowers enter the KYC registry (every loan is screened against it).
    let step = progress.step("registering the borrowers in the KYC registry");
    // Loans go through every bank's gateway: each waits until its node has the registry.
    let (_, registered) = submit_all_after(
        &clients,
        kyc_requests(work.iter().chain(&half_work).map(|(_, loan, _)| loan))
            .into_iter()
            .map(|request| ("bank-a".to_owned(), request))
            .collect(),
        1,
        None,
        None,
    )
    .await?;
    step.finish();

    // 1. Saturation.
    let step = progress.step(&format!(
        "saturation: {loans} loans, then {loans} repayments"
    ));
    let started = Instant::now();
    let (mut latencies, _) = submit_all_after(
        &clients,
        work.iter()
            .map(|(b, l, _)| (b.clone(), l.clone()))
            .collect(),
        CONCURRENCY,
        None,
        Some(registered),
    )
    .await?;
    latencies.extend(
        submit_all(
            &clients,
            work.iter()
                .map(|(b, _, r)| (b.clone(), r.clone()))
                .collect(),
            CONCURRENCY,
            None,
        )
        .await?,
    );
    let seconds = started.elapsed().as_secs_f64();
    step.finish();
    let entries = latencies.len();
    let entries_per_s = entries as f64 / seconds;

    // 2. Half the saturated load, open loop.
    let step = progress.step(&format!(
        "half load: {half} loans at {:.1}/s",
        entries_per_s / 2.0
    ));
    let pace = Duration::from_secs_f64(2.0 / entries_per_s.max(0.1));
    let (half_latencies, _) = submit_all_after(
        &clients,
        half_work
            .iter()
            .map(|(b, l, _)| (b.clone(), l.clone()))
            .collect(),
        1024,
        Some(pace),
        Some(registered),
    )
    .await?;
    step.finish();

    // 3. Reads: every entry, one by one, through a partner's gateway (bank-b reads what it
    // may, decrypts its groups, checks openings against commitments, verifies the proofs).
    let step = progress.step("reads: every entry through bank-b's gateway");
    let reads = read_all(dir, "bank-b").await?;
    step.finish();

    // 3, continued. Borrower references: new borrowers' ids, uncached, through bank-c's gateway.
    let step = progress.step("borrower references: 3-of-4 OPRF evaluations through bank-c");
    let references_ms = reference_latencies(embedded, REFERENCE_SAMPLES).await?;
    step.finish();
    let half_p50 = {
        let mut sorted = half_latencies.clone();
        sorted.sort_by(|a, b| a.total_cmp(b));
        percentile(&sorted, 50.0)
    };
    let reference_p50 = {
        let mut sorted = references_ms.clone();
        sorted.sort_by(|a, b| a.total_cmp(b));
        percentile(&sorted, 50.0)
    };

    // Where the time went, from the gateways' and nodes' own accounting.
    let mut writes = 0u64;
    let (mut encrypt, mut prove, mut sign, mut consensus) = (0.0, 0.0, 0.0, 0.0);
    let mut references = 0.0;
    for (_, gateway) in &embedded.gateways {
        let (n, build, wait) = gateway.gateway.timings.totals();
        writes += n;
        encrypt += build.encrypt.as_secs_f64();
        prove += build.prove.as_secs_f64();
        sign += build.sign.as_secs_f64();
        references += build.references.as_secs_f64();
        consensus += wait.as_secs_f64();
    }
    let (mut storage, mut blocks, mut verify, mut verified) = (0.0, 0u64, 0.0, 0u64);
    for (_, node) in &embedded.nodes {
        let (s, b) = node.local.state.metrics.storage_totals();
        storage += s;
        blocks += b;
        verify += node.local.state.metrics.proof_seconds_total();
        verified += node.local.state.metrics.entries_verified_total();
    }
    let per = |total: f64, n: u64| {
        if n == 0 {
            0.0
        } else {
            1000.0 * total / n as f64
        }
    };

    // 4. Baseline: the same entries' cryptography in a plain loop over all cores.
    let step = progress.step("baseline: the same entries' proofs made and verified in a loop");
    let baseline = baseline(dir, &work, banks)?;
    step.finish();

    Ok(json!({
        "entries": entries,
        "seconds": seconds,
        "entries_per_s": entries_per_s,
        "latency_ms": latency(&latencies),
        "baseline_entries_per_s": baseline,
        "ratio": entries_per_s / baseline,
        "half_load": {
            "entries": half_latencies.len(),
            "offered_entries_per_s": entries_per_s / 2.0,
            "latency_ms": latency(&half_latencies),
        },
        "reads": reads,
        "borrower_references": {
            "threshold": embedded_threshold(embedded),
            "members": banks,
            "evaluations": references_ms.len(),
            "latency_ms": latency(&references_ms),
            "share_of_loan_write_p50": if half_p50 > 0.0 { reference_p50 / half_p50 } else { 0.0 },
        },
        "breakdown_ms_per_write": {
            "borrower_references": per(references, writes),
            "encrypt": per(encrypt, writes),
            "prove": per(prove, writes),
            "sign": per(sign, writes),
            "wait_for_finalization": per(consensus, writes),
        },
        "nodes": {
            "blocks_written": blocks,
            "storage_ms_per_block": per(storage, blocks),
            "entries_verified": verified,
            "verify_ms_per_entry": per(verify, verified),
        },
        "cores": std::thread::available_parallelism().map_or(1, |n| n.get()),
        "consortium": {"banks": banks, "regulators": 1},
        "memory": crate::cli::memory_report(banks),
    }))
}

/// Fresh borrowers whose references [`reference_latencies`] measures.
const REFERENCE_SAMPLES: usize = 40;

/// The OPRF threshold of the embedded consortium's genesis (0 without an OPRF key).
fn embedded_threshold(embedded: &Embedded) -> u16 {
    embedded
        .gateways
        .first()
        .and_then(|(_, g)| g.gateway.oprf_key.as_ref())
        .map_or(0, |key| key.threshold)
}

/// The latency (ms) of `samples` borrower references of national ids no gateway has seen,
/// computed one after another by bank-c's gateway: blind, its own share, `t − 1` other
/// members' gateways asked over mutual TLS, every DLEQ proof checked, combined, cached.
async fn reference_latencies(embedded: &Embedded, samples: usize) -> Result<Vec<f64>, String> {
    let gateway = embedded
        .gateway("bank-c")
        .ok_or("no gateway bank-c")?
        .gateway
        .clone();
    let veil_gateway::service::Secrets::Member(secrets) = &gateway.secrets else {
        return Err("bank-c's gateway holds no member keys".into());
    };
    let mut latencies = Vec::with_capacity(samples);
    for i in 0..samples {
        // A region (Tianjin, Heping) no workload borrower comes from.
        let id = veil_gateway::entry::national_id::generate(
            "120101",
            &format!("1966{:02}{:02}", 1 + i % 12, 1 + i % 28),
            u16::try_from(i % 1000).unwrap_or(0),
        );
        let started = Instant::now();
        gateway
            .borrower_refs(secrets, &[id.as_str()])
            .await
            .map_err(|e| format!("borrower reference: {e:?}"))?;
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(latencies)
}

/// Reads every entry on the ledger through `bank`'s gateway (as its auditor), 16 at a time:
/// `{entries, seconds, entries_per_s, latency_ms}`.
async fn read_all(dir: &Path, bank: &str) -> Result<Value, String> {
    let clients = dir.join(bank).join("clients");
    let client = client::https(
        dir,
        &clients.join("auditor.pem"),
        &clients.join("auditor.key"),
    )
    .map_err(|e| e.to_string())?;
    let base = client::gateway_url(dir, bank).map_err(|e| e.to_string())?;
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{base}/v1/entries?limit=100");
        if let Some(cursor) = &cursor {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let page: Value = client
            .get(&url)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        for entry in page["entries"].as_array().ok_or("entry list")? {
            ids.push(entry["id"].as_str().ok_or("entry id")?.to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let semaphore = Arc::new(tokio::sync::Semaphore::new(16));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for id in &ids {
        let permit = semaphore
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| e.to_string())?;
        let (client, url) = (client.clone(), format!("{base}/v1/entries/{id}"));
        tasks.push(tokio::spawn(async move {
            let _permit = permit;
            let began = Instant::now();
            let response = client.get(&url).send().await.map_err(|e| e.to_string())?;
            if !response.status().is_success() {
                return Err(format!("read {url}: {}", response.status()));
            }
            let view: Value = response.json().await.map_err(|e| e.to_string())?;
            if view["proofs"]["verified"] != true {
                return Err(format!("read {url}: proofs not verified"));
            }
            Ok::<f64, String>(began.elapsed().as_secs_f64() * 1000.0)
        }));
    }
    let mut latencies = Vec::with_capacity(tasks.len());
    for task in tasks {
        latencies.push(task.await.map_err(|e| e.to_string())??);
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(json!({
        "entries": latencies.len(),
        "seconds": seconds,
        "entries_per_s": latencies.len() as f64 / seconds,
        "latency_ms": latency(&latencies),
    }))
}

/// Entries per second of building (encrypting, proving, signing) and verifying the same
/// entries, in parallel over all cores, with no network and no storage.
fn baseline(dir: &Path, work: &[(String, Value, Value)], banks: usize) -> Result<f64, String> {
    let genesis = veil_node::genesis::Genesis::load(&dir.join("consortium.toml"))
        .map_err(|e| e.to_string())?;
    let policies = veil_policies::Policies::default_set().map_err(|e| e.to_string())?;
    let validator = veil_node::validation::Validator::with_policies(
        Arc::new(genesis.clone()),
        Arc::new(policies.clone()),
    )
    .map_err(|e| e.to_string())?;
    let proving_keys =
        veil_gateway::entry::circuits::ProvingKeys::beside(&dir.join("consortium.toml"));
    let secrets: Vec<(String, MemberSecrets)> = bank_ids(banks)
        .into_iter()
        .map(|bank| {
            let keys = dir.join(&bank).join("keys");
            MemberSecrets::load(&keys.join("signing.key"), &keys.join("encryption.key"))
                .map(|s| (bank, s))
                .map_err(|e| e.to_string())
        })
        .collect::<Result<_, _>>()?;
    // The baseline encrypts to the genesis' view keys only (it runs in the genesis' months).
    let view_keys = veil_gateway::entry::view_keys::PublishedViewKeys::default();
    // The baseline measures proofs, not borrower references (their OPRF round trips are
    // measured on their own, step 3): a stand-in reference per borrower, the SHA-256 of its
    // id, the same at every bank.
    let borrower_refs: veil_gateway::entry::builder::BorrowerRefs = work
        .iter()
        .filter_map(|(_, loan, _)| loan["fields"]["borrower"]["national_id"].as_str())
        .map(|id| {
            use sha2::Digest as _;
            (id.to_owned(), sha2::Sha256::digest(id.as_bytes()).into())
        })
        .collect();
    let builder = |member, secrets| Builder {
        genesis: &genesis,
        policies: &policies,
        secrets,
        member,
        proving_keys: &proving_keys,
        view_keys: &view_keys,
        borrower_refs: &borrower_refs,
        nonce: None,
    };
    let (registry_entry, registry) = {
        let (bank, secrets) = &secrets[0];
        let builder = builder(bank, secrets);
        // The registry as a gateway stores it (`stored` keys), here in memory.
        let mut registry: std::collections::BTreeMap<Vec<u8>, Vec<u8>> = Default::default();
        let mut entry = None;
        for request in kyc_requests(work.iter().map(|(_, loan, _)| loan)) {
            let Ok(Request::RegistryUpdated(update)) =
                request::parse(&serde_json::to_vec(&request).map_err(|e| e.to_string())?)
            else {
                return Err("registry request".into());
            };
            let previous = entry
                .as_ref()
                .map(|e: &veil_node::ledger::Entry| e.header.id);
            let (built, _) = builder
                .registry(&update, previous, &registry, "2026-11", 0)
                .map_err(|e| format!("{e:?}"))?;
            let update = veil_node::registry::update_of(&built).map_err(|e| e.to_string())?;
            let mut overlay = veil_circuits::screening::stored::Overlay::new(&registry);
            overlay
                .apply(&update.changes, built.header.submitter.as_bytes())
                .map_err(|e| e.to_string())?;
            let writes = overlay.into_writes();
            veil_circuits::screening::stored::write_into(&mut registry, writes);
            entry = Some(built);
        }
        (entry.ok_or("no borrowers")?, registry)
    };
    let screening = veil_gateway::entry::builder::ScreeningRegistry {
        version: registry_entry.header.id,
        registry: &registry,
    };
    let registry = Some(screening);
    let started = Instant::now();
    let count: usize = work
        .par_iter()
        .map(|(bank, loan, repayment)| -> Result<usize, String> {
            let secrets = &secrets.iter().find(|(b, _)| b == bank).ok_or("bank")?.1;
            let builder = builder(bank, secrets);
            let Ok(Request::LoanOriginated(loan)) =
                request::parse(&serde_json::to_vec(loan).map_err(|e| e.to_string())?)
            else {
                return Err("loan request".into());
            };
            let (loan_entry, _) = builder
                .loan(&loan, registry.as_ref(), "2026-11", 0)
                .map_err(|e| format!("{e:?}"))?;
            let terms = LoanTerms {
                entry_id: loan_entry.header.id,
                loan_id: loan.loan_id.clone(),
                shares: {
                    let mut shares: Vec<(String, u64)> = loan
                        .participants
                        .iter()
                        .map(|p| (p.bank.clone(), p.share_bps))
                        .collect();
                    shares.sort();
                    shares
                },
            };
            let Ok(Request::LoanRepaid(repayment)) =
                request::parse(&serde_json::to_vec(repayment).map_err(|e| e.to_string())?)
            else {
                return Err("repayment request".into());
            };
            let (repayment_entry, _) = builder
                .repayment(&repayment, &terms, 0)
                .map_err(|e| format!("{e:?}"))?;
            for entry in [&loan_entry, &repayment_entry] {
                validator
                    .check_stateless(entry)
                    .map_err(|e| e.to_string())?;
            }
            validator
                .check_screening_with(&loan_entry, std::slice::from_ref(&registry_entry))
                .map_err(|e| e.to_string())?;
            Ok(2)
        })
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .sum();
    Ok(count as f64 / started.elapsed().as_secs_f64())
}

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Number of loans (each with one repayment).
    #[arg(long, default_value_t = 200)]
    loans: usize,
    /// Write the JSON report here too.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Consortium directory (default: a temporary one).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Member banks (4 to 64), all in this process: loans are originated round-robin by every
    /// bank with the next one to three banks as partners (the scale benchmark runs 4, 7, 13
    /// and 21).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(4..=64))]
    banks: u64,
}

/// `veil bench`: prints the JSON report (and writes it to `--out`).
pub(crate) fn run_command(args: Args) -> anyhow::Result<ExitCode> {
    use anyhow::Context as _;
    if args.loans < 8 {
        anyhow::bail!("--loans must be at least 8");
    }
    let progress = crate::cli::progress::Progress::auto();
    let report = super::runtime()?
        .block_on(run(
            args.loans,
            args.banks as usize,
            args.dir.as_deref(),
            &progress,
        ))
        .map_err(anyhow::Error::msg)?;
    let text = serde_json::to_string_pretty(&report)?;
    println!("{text}");
    if let Some(out) = args.out {
        std::fs::write(&out, text + "\n").with_context(|| format!("writing {}", out.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}
