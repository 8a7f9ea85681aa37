//! `veil demo`: the joint-loan story, end to end, on an embedded consortium, through each
//! party's own gateway over mutual TLS with its own client certificate.
//!
//! bank-a originates loans co-funded with two or three partners by share; borrowers repay
//! over three monthly periods; the last period is settled. Then one loan is shown as the
//! originator, a partner, a bank outside the loan and the regulator see it, and every claim
//! the story makes is checked. The report goes to `DIR/demo-report.json`; the exit status is
//! 0 only if every check held.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use serde_json::{Value, json};
use veil_crypto::MasterViewKey;
use veil_crypto::view_key::ViewScope;

use veil_gateway::client;
use veil_gateway::consortium::bank_ids;
use veil_gateway::consortium::init::InitOptions;
use veil_gateway::embedded::Embedded;
use veil_gateway::scenario::{PERIODS, Workload, installment, kyc_requests};

/// One checked claim.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Check {
    /// What is claimed.
    pub(crate) claim: String,
    /// Whether it held.
    pub(crate) passed: bool,
    /// Evidence.
    pub(crate) detail: String,
}

fn check(checks: &mut Vec<Check>, claim: &str, passed: bool, detail: impl Into<String>) {
    checks.push(Check {
        claim: claim.to_owned(),
        passed,
        detail: detail.into(),
    });
}

/// A party of the story: who, which gateway, with which client certificate.
struct Party {
    name: &'static str,
    gateway: String,
    client: reqwest::Client,
}

fn redacted(value: &Value) -> bool {
    value.get("redacted") == Some(&Value::Bool(true))
}

/// Every leaf of a view's fields: (dotted path, value).
fn leaves(fields: &Value, prefix: &str, out: &mut Vec<(String, Value)>) {
    match fields {
        Value::Object(map) if !map.contains_key("redacted") => {
            for (key, value) in map {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                leaves(value, &path, out);
            }
        }
        other => out.push((prefix.to_owned(), other.clone())),
    }
}

/// POSTs `body` under a fresh idempotency key, retrying with it while the gateway is not ready
/// or the write not finalized in time (a consortium of many members on two cores may take a
/// while to settle after it starts). The key is random: it carries nothing of the body.
async fn post(client: &reqwest::Client, url: &str, body: &Value) -> Result<Value, String> {
    let mut nonce = [0u8; 16];
    getrandom::fill(&mut nonce).map_err(|e| e.to_string())?;
    let key = format!("demo-{}", veil_crypto::encoding::to_hex(&nonce));
    client::post_json_retrying(client, url, body, &key, std::time::Duration::from_secs(120))
        .await
        .map_err(|e| e.to_string())
}

async fn get(client: &reqwest::Client, url: &str) -> Result<Value, String> {
    client::get_json(client, url)
        .await
        .map_err(|e| e.to_string())
}

/// Marker of a directory made by `veil demo` (which may therefore be replaced by the next run).
const MARKER: &str = ".veil-demo";

/// Makes `dir` empty for a fresh demo: a directory from a previous demo is replaced, any
/// other non-empty directory is refused.
fn prepare_dir(dir: &Path) -> Result<(), String> {
    if dir.exists() {
        let empty = std::fs::read_dir(dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?
            .next()
            .is_none();
        if !empty {
            if !dir.join(MARKER).exists() {
                return Err(format!(
                    "{} is not empty and was not made by `veil demo`; choose another --dir",
                    dir.display()
                ));
            }
            std::fs::remove_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    std::fs::write(
        dir.join(MARKER),
        "made by veil demo; the next `veil demo` replaces this directory\n",
    )
    .map_err(|e| format!("{}: {e}", dir.display()))
}

/// Runs the demo in `dir` with `loans` loans. Returns the report and whether every check held.
pub(crate) async fn run(
    dir: &Path,
    loans: usize,
    banks: usize,
    progress: &crate::cli::progress::Progress,
) -> Result<(Value, bool), String> {
    let started = Instant::now();
    prepare_dir(dir)?;
    let step = progress.step(&format!(
        "starting the consortium ({banks} banks, 1 regulator)"
    ));
    let embedded = Embedded::start(
        dir,
        &InitOptions {
            banks,
            force: true,
            circuits: veil_gateway::consortium::circuit_keys::CircuitSource::Dev(
                veil_gateway::consortium::DEFAULT_CAPACITIES.to_vec(),
            ),
            ..Default::default()
        },
    )
    .await
    .map_err(|e| e.to_string())?;
    step.finish();
    let dir = embedded.dir.clone();
    let url = |gateway: &str, path: &str| -> Result<String, String> {
        Ok(format!(
            "{}{path}",
            client::gateway_url(&dir, gateway).map_err(|e| e.to_string())?
        ))
    };
    let clerk = client::https(
        &dir,
        &dir.join("bank-a/clients/clerk.pem"),
        &dir.join("bank-a/clients/clerk.key"),
    )
    .map_err(|e| e.to_string())?;
    let result = story(&dir, loans, banks, &clerk, &url, progress).await;
    let stopping = progress.step("stopping the consortium");
    embedded.stop().await.map_err(|e| e.to_string())?;
    stopping.finish();
    let (mut report, passed) = result?;
    report["seconds"] = json!(started.elapsed().as_secs_f64());
    report["banks"] = json!(banks);
    report["memory"] = crate::cli::memory_report(banks);
    let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("demo-report.json"), text + "\n").map_err(|e| e.to_string())?;
    Ok((report, passed))
}

async fn story(
    dir: &Path,
    loans: usize,
    banks: usize,
    clerk: &reqwest::Client,
    url: &impl Fn(&str, &str) -> Result<String, String>,
    progress: &crate::cli::progress::Progress,
) -> Result<(Value, bool), String> {
    let mut checks = Vec::new();
    let mut workload = Workload::new(2026);
    // bank-a originates; every other member is a partner bank.
    let members = bank_ids(banks);
    let partners_pool: Vec<&str> = members[1..].iter().map(String::as_str).collect();
    let entries_url = url("bank-a", "/v1/entries")?;

    // Originations: two or three partners each; the first loan has bank-b and bank-c, so
    // bank-d is out of it. The next loans take the partner banks that have no loan yet, in
    // order, then random ones: with enough loans (the default) every partner co-funds one.
    let mut requests = Vec::new();
    let mut without_loan: std::collections::VecDeque<&str> = partners_pool
        .iter()
        .copied()
        .filter(|p| !["bank-b", "bank-c"].contains(p))
        .collect();
    let mut co_funding = std::collections::BTreeSet::new();
    for k in 0..loans {
        let partners: Vec<&str> = if k == 0 {
            vec!["bank-b", "bank-c"]
        } else {
            let count = 2 + workload.below(2) as usize;
            let mut chosen: Vec<&str> = Vec::with_capacity(count);
            while chosen.len() < count
                && let Some(next) = without_loan.pop_front()
            {
                chosen.push(next);
            }
            while chosen.len() < count {
                let pick = partners_pool[workload.below(partners_pool.len() as u64) as usize];
                if !chosen.contains(&pick) {
                    chosen.push(pick);
                }
            }
            chosen
        };
        co_funding.extend(partners.iter().copied());
        requests.push(workload.loan(&format!("L-{:04}", k + 1), "bank-a", &partners));
    }

    // Screening: the borrowers enter the consortium's KYC registry; one more borrower is
    // registered and put on the shared blocklist, and its loan is refused.
    let step = progress.step("registering borrowers (KYC registry, blocklist)");
    let blocked = workload.loan("L-BLOCKED", "bank-a", &partners_pool[..1]);
    let blocked_id = blocked["fields"]["borrower"]["national_id"].clone();
    let kyc = kyc_requests(&requests);
    // The KYC additions and the blocklisted borrower's registration.
    let registry_entries = kyc.len() + 1;
    for request in kyc {
        post(clerk, &entries_url, &request).await?;
    }
    post(
        clerk,
        &entries_url,
        &json!({"type": "registry.updated", "fields": {
            "kyc": {"add": [blocked_id]}, "blocklist": {"add": [blocked_id]}}}),
    )
    .await?;
    let refused = clerk
        .post(&entries_url)
        .json(&blocked)
        .send()
        .await
        .map_err(|e| format!("{entries_url}: {e}"))?;
    let refused_status = refused.status();
    let refused_body: Value = refused.json().await.unwrap_or(Value::Null);
    check(
        &mut checks,
        "a loan to a borrower on the shared blocklist is refused before it reaches the ledger",
        refused_status == reqwest::StatusCode::UNPROCESSABLE_ENTITY
            && refused_body.to_string().contains("blocklist"),
        format!("{refused_status}: {refused_body}"),
    );
    step.finish();

    let bar = progress.bar("originating loans", loans as u64);
    let mut loan_ids = Vec::new();
    for request in &requests {
        let written = post(clerk, &entries_url, request).await?;
        loan_ids.push(written["id"].as_str().unwrap_or_default().to_owned());
        bar.inc();
    }
    bar.finish();

    // Repayments over three periods, then the last period is settled.
    let bar = progress.bar(
        "repaying over three periods",
        (loans * PERIODS.len()) as u64,
    );
    let mut repayment_ids = Vec::new();
    for period in PERIODS {
        for request in &requests {
            let written = post(clerk, &entries_url, &installment(request, period)).await?;
            if request["fields"]["loan_id"] == "L-0001" {
                repayment_ids.push(written["id"].as_str().unwrap_or_default().to_owned());
            }
            bar.inc();
        }
    }
    bar.finish();
    let step = progress.step("settling 2026-11");
    let settlement = post(
        clerk,
        &entries_url,
        &json!({"type": "settlement.closed", "fields": {"period": "2026-11"}}),
    )
    .await?;
    let settlement_id = settlement["id"].as_str().unwrap_or_default().to_owned();
    step.finish();

    // The same loan through four pairs of eyes.
    let step = progress.step("reading the first loan as each party");
    let parties = [
        Party {
            name: "originator (bank-a clerk)",
            gateway: "bank-a".into(),
            client: clerk.clone(),
        },
        Party {
            name: "partner (bank-b auditor)",
            gateway: "bank-b".into(),
            client: client::https(
                dir,
                &dir.join("bank-b/clients/auditor.pem"),
                &dir.join("bank-b/clients/auditor.key"),
            )
            .map_err(|e| e.to_string())?,
        },
        Party {
            name: "non-participant (bank-d auditor)",
            gateway: "bank-d".into(),
            client: client::https(
                dir,
                &dir.join("bank-d/clients/auditor.pem"),
                &dir.join("bank-d/clients/auditor.key"),
            )
            .map_err(|e| e.to_string())?,
        },
        Party {
            name: "regulator",
            gateway: "regulator".into(),
            client: client::https(
                dir,
                &dir.join("regulator/client.pem"),
                &dir.join("regulator/client.key"),
            )
            .map_err(|e| e.to_string())?,
        },
    ];
    let mut views = serde_json::Map::new();
    for party in &parties {
        let loan = get(
            &party.client,
            &url(&party.gateway, &format!("/v1/entries/{}", loan_ids[0]))?,
        )
        .await?;
        let repayment = get(
            &party.client,
            &url(&party.gateway, &format!("/v1/entries/{}", repayment_ids[2]))?,
        )
        .await?;
        let settled = get(
            &party.client,
            &url(&party.gateway, &format!("/v1/entries/{settlement_id}"))?,
        )
        .await?;
        views.insert(
            party.name.to_owned(),
            json!({"loan": loan, "repayment": repayment, "settlement": settled}),
        );
    }
    step.finish();

    let view = |party: &str, what: &str| views[party][what].clone();
    let partner = "partner (bank-b auditor)";
    let outsider = "non-participant (bank-d auditor)";
    let regulator = "regulator";
    let originator = "originator (bank-a clerk)";

    let loan = view(partner, "loan");
    check(
        &mut checks,
        "the partner verified the loan's screening proof (borrower in the KYC registry, not on \
         the blocklist) and that it is about this loan's borrower_ref",
        loan["proofs"]["verified"] == true && loan["proofs"]["circuit_link_verified"] == true,
        format!("proofs: {}", loan["proofs"]),
    );
    check(
        &mut checks,
        "the partner verified the loan's funding proofs (sum = principal, shares = 100%, rate under the cap)",
        loan["proofs"]["verified"] == true,
        format!("proofs: {}", loan["proofs"]),
    );
    check(
        &mut checks,
        "the partner saw the principal and its own funding",
        loan["fields"]["principal"].is_u64() && loan["fields"]["funding"]["bank-b"].is_u64(),
        format!(
            "principal {}, funding.bank-b {}",
            loan["fields"]["principal"], loan["fields"]["funding"]["bank-b"]
        ),
    );
    check(
        &mut checks,
        "the partner did not see the borrower",
        ["name", "national_id", "phone"]
            .iter()
            .all(|f| redacted(&loan["fields"]["borrower"][f])),
        format!("borrower: {}", loan["fields"]["borrower"]),
    );
    check(
        &mut checks,
        "the partner saw only the commitment of another bank's funding",
        redacted(&loan["fields"]["funding"]["bank-a"])
            && loan["fields"]["funding"]["bank-a"]["commitment"].is_string(),
        format!("funding.bank-a: {}", loan["fields"]["funding"]["bank-a"]),
    );
    let repayment = view(partner, "repayment");
    check(
        &mut checks,
        "the partner verified the repayment split (each allocation = floor(amount × share / 10000), remainder to the originator) and the repayment's own Groth16 settlement proof (real-time clearing), whose commitment to bank-b's allocation holds the amount it opens",
        repayment["proofs"]["verified"] == true
            && repayment["proofs"]["splits_verified"] == true
            && repayment["proofs"]["circuit_link_verified"] == true,
        format!("proofs: {}", repayment["proofs"]),
    );
    let settled = view(partner, "settlement");
    check(
        &mut checks,
        "the partner verified the settlement: each amount due is the sum of that bank's allocations over the period's repayments (proofs on the commitments; no circuit grows with the period or the consortium)",
        settled["proofs"]["verified"] == true && settled["fields"]["due"]["bank-b"].is_u64(),
        format!(
            "due.bank-b {}, proofs {}",
            settled["fields"]["due"]["bank-b"], settled["proofs"]
        ),
    );
    let due_expected: u64 = {
        let mut total = 0;
        for request in &requests {
            let banks = request["fields"]["participants"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if let Some(share) = banks
                .iter()
                .find(|p| p["bank"] == "bank-b")
                .and_then(|p| p["share_bps"].as_u64())
            {
                let amount = installment(request, "2026-11")["fields"]["amount"]
                    .as_u64()
                    .unwrap_or(0);
                total += amount * share / veil_crypto::allocation::BASIS_POINTS;
            }
        }
        total
    };
    check(
        &mut checks,
        "bank-b's amount due equals its share of the period's repayments",
        settled["fields"]["due"]["bank-b"].as_u64() == Some(due_expected),
        format!(
            "due {} vs expected {due_expected}",
            settled["fields"]["due"]["bank-b"]
        ),
    );

    let outside = view(outsider, "loan");
    let mut outside_leaves = Vec::new();
    leaves(&outside["fields"], "", &mut outside_leaves);
    check(
        &mut checks,
        "a bank outside the loan saw no field, only ids, types and commitments",
        outside_leaves.iter().all(|(_, v)| redacted(v)) && outside["proofs"]["verified"] == true,
        format!("{} fields, all redacted", outside_leaves.len()),
    );

    let mut regulator_leaves = Vec::new();
    for what in ["loan", "repayment", "settlement"] {
        leaves(
            &view(regulator, what)["fields"],
            what,
            &mut regulator_leaves,
        );
    }
    check(
        &mut checks,
        "the regulator decrypted every field with its view key",
        !regulator_leaves.is_empty() && regulator_leaves.iter().all(|(_, v)| !redacted(v)),
        format!("{} fields, none redacted", regulator_leaves.len()),
    );
    check(
        &mut checks,
        "the originator and the regulator read the same borrower",
        view(originator, "loan")["fields"]["borrower"]
            == view(regulator, "loan")["fields"]["borrower"]
            && view(originator, "loan")["fields"]["borrower"]["name"].is_string(),
        "borrower fields equal",
    );

    // The regulator's export: with the master key, every amount's opening matches its
    // commitment; with a scoped key (2026-11 amounts), exactly that scope opens.
    let step = progress.step("exporting with the master and a scoped view key");
    let export_path = dir.join("audit-export.json");
    let master =
        crate::cli::audit::export(dir, &dir.join("regulator/view.key"), &export_path, None).await?;
    let total_entries = loans * (1 + PERIODS.len()) + 1 + registry_entries;
    check(
        &mut checks,
        "the master view key opened every entry, every amount checked against its commitment",
        master.exported == total_entries && master.scanned == total_entries,
        format!(
            "{} of {} entries, {} amounts",
            master.exported, master.scanned, master.amounts
        ),
    );
    let master_key = MasterViewKey::from_pem(
        &std::fs::read_to_string(dir.join("regulator/view.key")).map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    let genesis = veil_node::genesis::Genesis::load(&dir.join("consortium.toml"))
        .map_err(|e| e.to_string())?;
    let scope = ViewScope::new("2026-11", "amounts").map_err(|e| e.to_string())?;
    let scoped_path = dir.join("inspector-2026-11-amounts.key");
    veil_gateway::consortium::files::write_secret(
        &scoped_path,
        &master_key.derive(&genesis.consortium_id, &scope).to_pem(),
    )
    .map_err(|e| e.to_string())?;
    let scoped_export = dir.join("inspector-export.json");
    let scoped = crate::cli::audit::export(dir, &scoped_path, &scoped_export, None).await?;
    let read = |path: &Path| -> Result<Value, String> {
        serde_json::from_str(&std::fs::read_to_string(path).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())
    };
    let all = read(&export_path)?;
    let exported = read(&scoped_export)?;
    // What the scoped key should open: the amounts of entries of November, per the master export.
    let expected: Vec<(String, Vec<String>)> = all["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| {
            e["period"]
                .as_str()
                .is_some_and(|p| p.starts_with("2026-11"))
        })
        .map(|e| {
            let amounts: Vec<String> = e["amounts"]
                .as_object()
                .map(|a| {
                    a.keys()
                        .filter(|k| k.as_str() != "annual_rate_bps" && !k.starts_with("share."))
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            (e["id"].as_str().unwrap_or_default().to_owned(), amounts)
        })
        .filter(|(_, amounts): &(String, Vec<String>)| !amounts.is_empty())
        .collect();
    let opened: Vec<(String, Vec<String>)> = exported["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            (
                e["id"].as_str().unwrap_or_default().to_owned(),
                e["fields"]
                    .as_object()
                    .map(|f| f.keys().cloned().collect())
                    .unwrap_or_default(),
            )
        })
        .collect();
    check(
        &mut checks,
        "an inspector's key for 2026-11 amounts opened exactly that: November's amounts, nothing else",
        !opened.is_empty() && opened == expected,
        format!(
            "{} entries opened, all of period 2026-11, amounts only",
            scoped.exported
        ),
    );
    step.finish();

    // Every decrypting read was logged in a verifiable chain.
    let regulator_client = &parties[3].client;
    let log = get(regulator_client, &url("bank-b", "/v1/disclosures")?).await?;
    check(
        &mut checks,
        "bank-b's gateway logged every disclosure in a hash chain the regulator verified",
        log["chain_verified"] == true && log["records"].as_array().is_some_and(|r| !r.is_empty()),
        format!("{} records", log["records"].as_array().map_or(0, Vec::len)),
    );

    let passed = checks.iter().all(|c| c.passed);
    let report = json!({
        "passed": passed,
        "loans": loans,
        "partner_banks_co_funding": co_funding.len(),
        "repayments": loans * PERIODS.len(),
        "settlement": settlement_id,
        "checks": checks,
        "views_of_loan_L-0001": views,
    });
    Ok((report, passed))
}

/// Prints the side-by-side view and the checks.
pub(crate) fn print(report: &Value) {
    let views = &report["views_of_loan_L-0001"];
    let names = [
        "originator (bank-a clerk)",
        "partner (bank-b auditor)",
        "non-participant (bank-d auditor)",
        "regulator",
    ];
    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
    let mut paths = Vec::new();
    leaves(&views[names[0]]["loan"]["fields"], "", &mut paths);
    for (path, _) in &paths {
        let mut cells = Vec::new();
        for name in names {
            let mut value = &views[name]["loan"]["fields"];
            for part in path.split('.') {
                value = &value[part];
            }
            cells.push(if redacted(value) {
                "·redacted·".to_owned()
            } else {
                let text = value.to_string();
                if text.len() > 22 {
                    format!("{}…", &text[..21])
                } else {
                    text
                }
            });
        }
        rows.push((path.clone(), cells));
    }
    println!("\nLoan L-0001 as each party sees it:\n");
    println!(
        "{:<22} {:<24} {:<24} {:<24} {:<24}",
        "field", "originator", "partner (bank-b)", "outside (bank-d)", "regulator"
    );
    for (path, cells) in rows {
        println!(
            "{:<22} {:<24} {:<24} {:<24} {:<24}",
            path, cells[0], cells[1], cells[2], cells[3]
        );
    }
    println!("\nChecks:");
    for check in report["checks"].as_array().into_iter().flatten() {
        let mark = if check["passed"] == true {
            "PASS"
        } else {
            "FAIL"
        };
        println!(
            "  [{mark}] {} — {}",
            check["claim"].as_str().unwrap_or_default(),
            check["detail"].as_str().unwrap_or_default()
        );
    }
    if let (Some(peak), Some(per_member)) = (
        report["memory"]["peak_rss_mb"].as_f64(),
        report["memory"]["per_member_mb"].as_f64(),
    ) {
        println!(
            "\n{} members in this process ({} partner banks co-funding bank-a's loans): peak \
             resident memory {peak:.0} MB, {per_member:.0} MB per member",
            report["banks"], report["partner_banks_co_funding"]
        );
    }
}

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Directory for the consortium and the report (replaced if made by a previous demo).
    #[arg(long, default_value = "veil-demo")]
    dir: PathBuf,
    /// Number of loans [default: 12, or ⌈(banks − 1) / 2⌉ + 1 if more, so that every partner
    /// bank co-funds at least one].
    #[arg(long)]
    loans: Option<usize>,
    /// Number of member banks (4 to 64): bank-a originates, the others are partner banks
    /// (two or three per loan), bank-b is the partner and bank-d the outsider who read.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(4..=64))]
    banks: u64,
}

/// Loans enough for every one of the `banks − 1` partner banks to co-fund one (the first loan
/// takes two partners, each other at least two), and at least 12.
fn default_loans(banks: usize) -> usize {
    12.max((banks - 1).div_ceil(2) + 1)
}

/// `veil demo`: exit 0 only if every check held.
pub(crate) fn run_command(args: Args) -> anyhow::Result<ExitCode> {
    let banks = args.banks as usize;
    let loans = args.loans.unwrap_or_else(|| default_loans(banks));
    if loans == 0 {
        anyhow::bail!("--loans must be at least 1");
    }
    let progress = crate::cli::progress::Progress::auto();
    let (report, passed) = super::runtime()?
        .block_on(run(&args.dir, loans, banks, &progress))
        .map_err(anyhow::Error::msg)?;
    print(&report);
    println!("\nreport: {}", args.dir.join("demo-report.json").display());
    Ok(if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
