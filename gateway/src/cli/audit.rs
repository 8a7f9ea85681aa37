//! `veil audit export`: a regulator's (or an inspector's) export of everything a view key
//! opens. The regulator's gateway only relays sealed entries; decryption happens here, with
//! the key file given, so a master key opens everything and a scoped key exactly its scope.
//!
//! `veil audit disclosures`: a regulator's check of a member gateway's disclosure log against
//! the member's anchors on the ledger ([`client::audit_disclosures`]).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::{Map, Value, json};
use veil_crypto::{ViewKeyring, encoding};
use veil_node::genesis::Genesis;
use veil_node::ledger::Entry;
use veil_policies::schema::{EntryType, Kind};

use veil_gateway::client;
use veil_gateway::consortium::config::GatewayConfig;
use veil_gateway::consortium::layout;
use veil_gateway::entry::keys::{Opener, load_view_keys};
use veil_gateway::entry::reader::Opened;

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExportSummary {
    /// Entries with sealed fields scanned.
    pub(crate) scanned: usize,
    /// Entries the key opened (written).
    pub(crate) exported: usize,
    /// Committed amounts exported (each checked against its commitment).
    pub(crate) amounts: usize,
}

fn export_entry(opened: &Opened) -> Option<Value> {
    if opened.plaintexts.is_empty() {
        return None;
    }
    let entry = &opened.entry;
    let kind = EntryType::from_name(&entry.header.kind)?;
    let mut fields = Map::new();
    let mut amounts = Map::new();
    for path in opened.plaintexts.keys() {
        let committed = kind
            .field(path)
            .is_some_and(|(spec, _)| spec.kind == Kind::Committed);
        if committed {
            // Only openings that match their public commitment are exported.
            let opening = opened.opening(path)?;
            let commitment = entry.commitment(path)?;
            fields.insert(path.clone(), json!(opening.value()));
            amounts.insert(
                path.clone(),
                json!({
                    "commitment": commitment.to_hex(),
                    "value": opening.value(),
                    "blinding": encoding::to_hex(&opening.blinding_bytes()),
                }),
            );
        } else if let Some(value) = opened.value(path) {
            fields.insert(path.clone(), value);
        }
    }
    Some(json!({
        "id": entry.header.id.to_hex(),
        "type": entry.header.kind,
        "submitter": entry.header.submitter,
        "height": opened.height,
        "period": entry.header.period,
        "fields": fields,
        "amounts": amounts,
    }))
}

/// Regulator `id` of `genesis`, or its first regulator.
fn regulator_of<'g>(
    genesis: &'g Genesis,
    id: Option<&str>,
) -> Result<&'g veil_node::genesis::Regulator, String> {
    match id {
        Some(id) => genesis
            .regulator(id)
            .ok_or_else(|| format!("{id} is not a regulator of this consortium")),
        None => genesis
            .regulators
            .first()
            .ok_or_else(|| "the consortium has no regulator".to_owned()),
    }
}

/// Exports everything `view_key` opens, reading through the regulator gateway of `dir`.
pub(crate) async fn export(
    dir: &Path,
    view_key: &Path,
    out: &Path,
    regulator: Option<&str>,
) -> Result<ExportSummary, String> {
    let genesis = Genesis::load(&dir.join("consortium.toml")).map_err(|e| e.to_string())?;
    let regulator = regulator_of(&genesis, regulator)?;
    let keyring: ViewKeyring =
        load_view_keys(view_key, &genesis.consortium_id).map_err(|e| e.to_string())?;
    let key_kind = match &keyring {
        ViewKeyring::Master { .. } => json!("master"),
        ViewKeyring::Scoped(keys) => {
            json!(keys.keys().map(ToString::to_string).collect::<Vec<_>>())
        }
    };
    let regulator_dir: PathBuf = dir.join(&regulator.id);
    let http = client::https(
        dir,
        &regulator_dir.join("client.pem"),
        &regulator_dir.join("client.key"),
    )
    .map_err(|e| e.to_string())?;
    let base = client::gateway_url(dir, &regulator.id).map_err(|e| e.to_string())?;
    let keys = veil_gateway::entry::keys::RegulatorKeys::new(keyring);
    let opener = Opener::Regulator(&keys);
    let mut cursor: Option<String> = None;
    let mut entries = Vec::new();
    let mut summary = ExportSummary {
        scanned: 0,
        exported: 0,
        amounts: 0,
    };
    loop {
        let mut url = format!("{base}/v1/sealed/entries?limit=100");
        if let Some(cursor) = &cursor {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let response = http
            .get(&url)
            .send()
            .await
            .map_err(|e| format!("{base}: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("{base}: {}", response.status()));
        }
        let page: Value = response.json().await.map_err(|e| e.to_string())?;
        for item in page["entries"].as_array().into_iter().flatten() {
            let bytes = encoding::from_hex(
                item["bytes"].as_str().unwrap_or_default(),
                veil_node::ledger::entry::MAX_ENTRY_LEN,
            )
            .map_err(|e| e.to_string())?;
            let entry = Entry::decode(&bytes).map_err(|e| format!("entry: {e}"))?;
            // Entries that seal nothing (disclosure anchors, view-key publications) have
            // nothing to export.
            if entry.groups.is_empty() {
                continue;
            }
            summary.scanned += 1;
            let opened = Opened::open(
                entry,
                item["height"].as_u64().unwrap_or(0),
                &genesis,
                &opener,
            );
            if let Some(exported) = export_entry(&opened) {
                summary.amounts += exported["amounts"].as_object().map_or(0, Map::len);
                summary.exported += 1;
                entries.push(exported);
            }
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let document = json!({
        "consortium_id": genesis.consortium_id,
        "regulator": regulator.id,
        "view_key": key_kind,
        "entries": entries,
    });
    let text = serde_json::to_string_pretty(&document).map_err(|e| e.to_string())?;
    veil_gateway::consortium::files::write_secret(out, &text).map_err(|e| e.to_string())?;
    Ok(summary)
}

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Export every entry a view key opens (master or scoped), through the regulator's
    /// gateway: decrypted fields and, per amount, its commitment, value and blinding.
    Export {
        /// The consortium directory (the consortium must be running).
        #[arg(long)]
        dir: PathBuf,
        /// A master or scoped view key file.
        #[arg(long)]
        view_key: PathBuf,
        /// Output file (written with mode 0600: it holds customer data).
        #[arg(long)]
        out: PathBuf,
        /// Which regulator's gateway (default: the first).
        #[arg(long)]
        regulator: Option<String>,
    },
    /// Check a member gateway's disclosure log against that member's anchors on the ledger,
    /// read through the regulator's own gateway: the whole log must be one hash chain and
    /// agree with every anchor. Prints the result as JSON; exits 1 if the log fails.
    Disclosures {
        /// The consortium directory (the consortium must be running).
        #[arg(long)]
        dir: PathBuf,
        /// The member whose log to check.
        #[arg(long)]
        member: String,
        /// Which regulator checks (its client certificate and gateway; default: the first).
        #[arg(long)]
        regulator: Option<String>,
    },
}

/// Checks `member`'s disclosure log as regulator `regulator` (default: the first) of the
/// consortium in `dir`.
pub(crate) async fn disclosures(
    dir: &Path,
    member: &str,
    regulator: Option<&str>,
) -> Result<client::DisclosureAudit, String> {
    let genesis = Genesis::load(&dir.join("consortium.toml")).map_err(|e| e.to_string())?;
    if genesis.member(member).is_none() {
        return Err(format!("{member} is not a member of this consortium"));
    }
    let regulator = regulator_of(&genesis, regulator)?;
    // The anchors must not come from the audited member's own node.
    let config = GatewayConfig::load(&layout::gateway_config(dir, &regulator.id))
        .map_err(|e| e.to_string())?;
    if config.node.member.as_deref() == Some(member) {
        return Err(format!(
            "{}'s gateway reads the ledger from {member}'s own node: audit {member} through \
             another regulator's gateway (--regulator), or point this one at another member's \
             node",
            regulator.id
        ));
    }
    let regulator_dir = dir.join(&regulator.id);
    let http = client::https(
        dir,
        &regulator_dir.join("client.pem"),
        &regulator_dir.join("client.key"),
    )
    .map_err(|e| e.to_string())?;
    let own = client::gateway_url(dir, &regulator.id).map_err(|e| e.to_string())?;
    let theirs = client::gateway_url(dir, member).map_err(|e| e.to_string())?;
    client::audit_disclosures(&http, &theirs, &own, member)
        .await
        .map_err(|e| e.to_string())
}

/// `veil audit export`, `veil audit disclosures`.
pub(crate) fn run_command(command: Command) -> anyhow::Result<ExitCode> {
    let (dir, view_key, out, regulator) = match command {
        Command::Export {
            dir,
            view_key,
            out,
            regulator,
        } => (dir, view_key, out, regulator),
        Command::Disclosures {
            dir,
            member,
            regulator,
        } => {
            let audit = super::runtime()?
                .block_on(disclosures(&dir, &member, regulator.as_deref()))
                .map_err(anyhow::Error::msg)?;
            println!("{}", serde_json::to_string_pretty(&audit)?);
            if !audit.passed() {
                eprintln!(
                    "{member}'s disclosure log fails the check: {} anchor(s) disagree, chain {}",
                    audit.mismatches.len(),
                    if audit.chain_verified {
                        "unbroken"
                    } else {
                        "broken"
                    }
                );
                return Ok(ExitCode::FAILURE);
            }
            return Ok(ExitCode::SUCCESS);
        }
    };
    let summary = super::runtime()?
        .block_on(export(&dir, &view_key, &out, regulator.as_deref()))
        .map_err(anyhow::Error::msg)?;
    println!(
        "exported {} of {} entries ({} amounts, each checked against its commitment) to {}",
        summary.exported,
        summary.scanned,
        summary.amounts,
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}
