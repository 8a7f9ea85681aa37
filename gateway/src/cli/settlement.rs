//! `veil settlement export`: the settlement proofs of a period's settled repayments (each
//! repayment proves its own split when it is written), fetched through a member's gateway
//! with the member's client certificate, checked here against the verifying key the local
//! genesis pins, and written in snarkjs' Groth16 JSON (`verification_key.json`, and
//! `<repayment id>/proof.json`, `public.json`) for `snarkjs groth16 verify`.
//!
//! Nothing the gateway sends is trusted: the settlement and each repayment come as their
//! submitter signed them and are checked here as a node checks them (signature, fields, the
//! repayment's proof) against the local genesis; the repayments are the settlement's own
//! references, and each file is rebuilt from the signed entry before it is written.

use std::path::{Path, PathBuf};

use veil_circuits::settlement::SettlementProof;
use veil_gateway::client;
use veil_node::genesis::Genesis;
use veil_node::ledger::Entry;
use veil_policies::schema::EntryType;

/// What was exported.
#[derive(Debug, Clone)]
pub(crate) struct Exported {
    /// The settlement entry.
    pub(crate) entry: String,
    /// Who settled.
    pub(crate) originator: String,
    /// How many repayments the settlement covers.
    pub(crate) repayments: usize,
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

    // Nothing the gateway says is taken on trust: each entry comes signed, and is checked here
    // as a node checks it (signature, fields, a repayment's proof) against the local genesis.
    let validator = veil_node::validation::Validator::new(std::sync::Arc::new(genesis.clone()))
        .map_err(|e| e.to_string())?;
    let bad = |what: &str| format!("the gateway's answer has no valid {what}");
    let signed = |answer: &serde_json::Value| -> Result<Entry, String> {
        let bytes = answer["signed"]
            .as_str()
            .and_then(|h| {
                veil_crypto::encoding::from_hex(h, veil_node::ledger::entry::MAX_ENTRY_LEN).ok()
            })
            .ok_or_else(|| bad("signed entry"))?;
        let entry = Entry::decode(&bytes).map_err(|e| format!("signed entry: {e}"))?;
        validator
            .check_stateless(&entry)
            .map_err(|e| format!("entry {}: {e}", entry.header.id.to_hex()))?;
        Ok(entry)
    };
    let listed = client::get_json(&client, &format!("{gateway}/v1/entries/{id}/proof"))
        .await
        .map_err(|e| e.to_string())?;
    let settlement = signed(&listed)?;
    if settlement.header.id.to_hex() != id
        || settlement.header.kind != EntryType::SettlementClosed.name()
        || settlement.header.period != period
        || settlement.header.submitter != submitter
    {
        return Err(format!(
            "the gateway answered another entry than settlement {id} of {period} by {submitter}"
        ));
    }
    let vk = genesis.circuits.settlement.get(&1).ok_or_else(|| {
        "the genesis has no settlement key of capacity 1 (one repayment)".to_owned()
    })?;

    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut files = Vec::new();
    let mut write = |path: PathBuf, value: serde_json::Value| -> Result<(), String> {
        let text = serde_json::to_string_pretty(&value).map_err(|e| e.to_string())?;
        std::fs::write(&path, text + "\n").map_err(|e| format!("{}: {e}", path.display()))?;
        files.push(path);
        Ok(())
    };
    write(
        out.join("verification_key.json"),
        veil_circuits::snarkjs::verification_key(vk),
    )?;
    let repayments = &settlement.header.references;
    for reference in repayments {
        let repayment = reference.to_hex();
        let exported =
            client::get_json(&client, &format!("{gateway}/v1/entries/{repayment}/proof"))
                .await
                .map_err(|e| e.to_string())?;
        let entry = signed(&exported)?;
        if entry.header.id != *reference
            || entry.header.kind != EntryType::LoanRepaid.name()
            || entry.header.period != period
            || entry.header.submitter != submitter
        {
            return Err(format!(
                "the gateway answered another entry than repayment {repayment} of {period} by \
                 {submitter}"
            ));
        }
        let proof =
            SettlementProof::from_bytes(&entry.proofs.circuit).map_err(|e| e.to_string())?;
        let participants = entry
            .commitments
            .iter()
            .filter_map(|(label, _)| label.strip_prefix("allocations."));
        let (_, slot) = veil_circuits::settlement::participant_slots(participants, &submitter)
            .ok_or_else(|| format!("repayment {repayment}: its participants do not fit"))?;
        let statement = entry.header.statement_id();
        proof
            .verify_repayment(vk, &statement, period_number, slot)
            .map_err(|e| format!("repayment {repayment}: {e}"))?;
        let public = veil_circuits::settlement::SettlementPublic {
            entry: statement,
            period: period_number,
            root: proof.root,
            count: 1,
            originator: slot as u64,
            due: proof.due.clone(),
        };
        let folder = out.join(&repayment);
        std::fs::create_dir_all(&folder).map_err(|e| format!("{}: {e}", folder.display()))?;
        write(
            folder.join("proof.json"),
            veil_circuits::snarkjs::proof(&proof.proof),
        )?;
        write(
            folder.join("public.json"),
            veil_circuits::snarkjs::public(&public.inputs()),
        )?;
    }
    Ok(Exported {
        entry: id,
        originator: submitter,
        repayments: repayments.len(),
        files,
    })
}

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Write the settlement proofs of a period's settled repayments for `snarkjs groth16
    /// verify` (OUT/verification_key.json, and OUT/<repayment id>/proof.json and public.json
    /// per repayment), fetched through MEMBER's gateway and verified here against the
    /// genesis's pinned verifying key first.
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
        "settlement {} of {period} by {}: {} repayment proofs verified against the genesis \
         key; wrote {} files under {}",
        exported.entry,
        exported.originator,
        exported.repayments,
        exported.files.len(),
        out.display()
    );
    println!(
        "check independently: for r in {0}/*/; do snarkjs groth16 verify \
         {0}/verification_key.json \"$r\"public.json \"$r\"proof.json; done",
        out.display()
    );
    Ok(std::process::ExitCode::SUCCESS)
}
