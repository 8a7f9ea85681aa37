//! `veil settlement export`: a period's settlement proof, fetched through a member's gateway
//! with the member's client certificate, checked here against the verifying key the local
//! genesis pins, and written in snarkjs' Groth16 JSON (`proof.json`, `public.json`,
//! `verification_key.json`) for `snarkjs groth16 verify`.
//!
//! Nothing the gateway sends is trusted: the files are rebuilt from the entry's circuit data
//! and the repayments' commitments, and the proof is verified before anything is written.

use std::path::{Path, PathBuf};

use veil_circuits::settlement::SettlementProof;
use veil_gateway::client;
use veil_node::genesis::Genesis;

/// What was exported.
#[derive(Debug, Clone)]
pub(crate) struct Exported {
    /// The settlement entry.
    pub(crate) entry: String,
    /// Who settled.
    pub(crate) originator: String,
    /// How many repayments the settlement covers.
    pub(crate) repayments: usize,
    /// The circuit capacity used.
    pub(crate) capacity: usize,
    /// The files written.
    pub(crate) files: Vec<PathBuf>,
}

/// Exports the settlement of `period` (by `originator`, if several banks settled it) as
/// `member` sees it, into `out`.
pub(crate) async fn settlement(
    dir: &Path,
    member: &str,
    period: &str,
    originator: Option<&str>,
    out: &Path,
) -> Result<Exported, String> {
    let genesis = Genesis::load(&dir.join("consortium.toml")).map_err(|e| e.to_string())?;
    let period_number = veil_circuits::period_number(period)
        .ok_or_else(|| format!("{period:?} is not a period (YYYY-MM or YYYY-MM-DD)"))?;
    let (cert, key) = client::identity_files(dir, member, None).map_err(|e| e.to_string())?;
    let client = client::https(dir, &cert, &key).map_err(|e| e.to_string())?;
    let gateway = client::gateway_url(dir, member).map_err(|e| e.to_string())?;

    // The period's settlements, as the member's gateway lists them.
    let mut candidates: Vec<(String, String)> = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{gateway}/v1/entries?type=settlement.closed&limit=100");
        if let Some(cursor) = &cursor {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let page = client::get_json(&client, &url)
            .await
            .map_err(|e| e.to_string())?;
        for entry in page["entries"].as_array().into_iter().flatten() {
            if entry["period"] == period
                && originator.is_none_or(|o| entry["submitter"] == o)
                && let (Some(id), Some(submitter)) =
                    (entry["id"].as_str(), entry["submitter"].as_str())
            {
                candidates.push((id.to_owned(), submitter.to_owned()));
            }
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let (id, submitter) = match candidates.as_slice() {
        [] => return Err(format!("no settlement of period {period} on the ledger")),
        [one] => one.clone(),
        several => {
            let banks: Vec<&str> = several.iter().map(|(_, s)| s.as_str()).collect();
            return Err(format!(
                "period {period} was settled by {}; choose one with --originator",
                banks.join(", ")
            ));
        }
    };

    let exported = client::get_json(&client, &format!("{gateway}/v1/entries/{id}/proof"))
        .await
        .map_err(|e| e.to_string())?;
    let bad = |what: &str| format!("the gateway's answer has no valid {what}");
    let circuit = exported["circuit"]
        .as_str()
        .and_then(|h| veil_crypto::encoding::from_hex(h, 4096).ok())
        .ok_or_else(|| bad("circuit"))?;
    let proof = SettlementProof::from_bytes(&circuit).map_err(|e| e.to_string())?;
    let leaves = exported["leaves"]
        .as_array()
        .ok_or_else(|| bad("leaves"))?
        .iter()
        .map(|leaf| {
            let bytes: [u8; 32] = leaf
                .as_str()
                .and_then(|h| veil_crypto::encoding::from_hex_array(h).ok())
                .ok_or_else(|| bad("leaf"))?;
            veil_circuits::groth16::field::from_bytes(&bytes).map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, _>>()?;
    let vk = genesis
        .circuits
        .settlement
        .get(&proof.capacity)
        .ok_or_else(|| {
            format!(
                "the genesis has no settlement key of capacity {}",
                proof.capacity
            )
        })?;
    let entry_id = veil_node::ledger::EntryId::from_hex(&id).map_err(|e| e.to_string())?;
    // The proof is bound to the settlement's statement id (genesis, submitter, entry id).
    let statement = veil_node::ledger::statement_id(&genesis.hash, &submitter, &entry_id);
    let slot = genesis
        .bank_slot(&submitter)
        .ok_or_else(|| format!("{submitter} is not a member"))?;
    proof
        .verify(vk, &statement, period_number, slot, &leaves)
        .map_err(|e| format!("settlement {id}: {e}"))?;
    let public = veil_circuits::settlement::SettlementPublic {
        entry: statement,
        period: period_number,
        root: proof.root,
        count: leaves.len() as u64,
        originator: slot as u64,
        due: proof.due.clone(),
    };

    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut files = Vec::new();
    for (name, value) in [
        ("proof.json", veil_circuits::snarkjs::proof(&proof.proof)),
        (
            "public.json",
            veil_circuits::snarkjs::public(&public.inputs()),
        ),
        (
            "verification_key.json",
            veil_circuits::snarkjs::verification_key(vk),
        ),
    ] {
        let path = out.join(name);
        let text = serde_json::to_string_pretty(&value).map_err(|e| e.to_string())?;
        std::fs::write(&path, text + "\n").map_err(|e| format!("{}: {e}", path.display()))?;
        files.push(path);
    }
    Ok(Exported {
        entry: id,
        originator: submitter,
        repayments: leaves.len(),
        capacity: proof.capacity,
        files,
    })
}

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Write a period's settlement proof for `snarkjs groth16 verify` (proof.json,
    /// public.json, verification_key.json), fetched through MEMBER's gateway and verified
    /// here against the genesis's pinned verifying key first.
    Export {
        /// The consortium directory (the consortium must be running).
        #[arg(long)]
        dir: PathBuf,
        /// Whose gateway and client certificate to use (a bank, or a regulator).
        #[arg(long)]
        member: String,
        /// The clearing period, YYYY-MM or YYYY-MM-DD.
        #[arg(long)]
        period: String,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
        /// Output format (only `snarkjs`).
        #[arg(long, default_value = "snarkjs")]
        format: String,
        /// The settling bank, if several settled the period.
        #[arg(long)]
        originator: Option<String>,
    },
}

/// `veil settlement export`.
pub(crate) fn run_command(command: Command) -> anyhow::Result<std::process::ExitCode> {
    let Command::Export {
        dir,
        member,
        period,
        out,
        format,
        originator,
    } = command;
    if format != "snarkjs" {
        anyhow::bail!("--format must be snarkjs");
    }
    let exported = super::runtime()?
        .block_on(settlement(
            &dir,
            &member,
            &period,
            originator.as_deref(),
            &out,
        ))
        .map_err(anyhow::Error::msg)?;
    println!(
        "settlement {} of {period} by {} ({} repayments, circuit capacity {}): proof verified against the genesis key; wrote {}",
        exported.entry,
        exported.originator,
        exported.repayments,
        exported.capacity,
        exported
            .files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "check independently: snarkjs groth16 verify {0}/verification_key.json {0}/public.json {0}/proof.json",
        out.display()
    );
    Ok(std::process::ExitCode::SUCCESS)
}
