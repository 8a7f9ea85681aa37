//! `veil audit export`: a regulator's (or an inspector's) export of everything a view key
//! opens. The regulator's gateway only relays sealed entries; decryption happens here, with
//! the key file given, so a master key opens everything and a scoped key exactly its scope.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Map, Value, json};
use veil_crypto::{ViewKeyring, encoding};
use veil_node::genesis::Genesis;
use veil_node::ledger::Entry;
use veil_policies::schema::{EntryType, Kind};

use crate::keys::{Opener, load_view_keys};
use crate::reader::Opened;

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSummary {
    /// Entries scanned.
    pub scanned: usize,
    /// Entries the key opened (written).
    pub exported: usize,
    /// Committed amounts exported (each checked against its commitment).
    pub amounts: usize,
}

/// The URL of gateway `id` in consortium directory `dir`.
pub fn gateway_url(dir: &Path, id: &str) -> Result<String, String> {
    if let Ok(text) = std::fs::read_to_string(crate::up::endpoints_path(dir)) {
        let endpoints: BTreeMap<String, String> =
            serde_json::from_str(&text).map_err(|e| format!("endpoints.json: {e}"))?;
        if let Some(url) = endpoints.get(id) {
            return Ok(url.clone());
        }
    }
    let config = crate::config::GatewayConfig::load(&dir.join(id).join("gateway.toml"))
        .map_err(|e| e.to_string())?;
    Ok(format!("https://127.0.0.1:{}", config.listen.port()))
}

/// The client certificate and key acting as `member` (a bank, with `role`, by default
/// `auditor`) or as a regulator, in consortium `dir`.
pub fn identity_files(
    dir: &Path,
    member: &str,
    role: Option<&str>,
) -> Result<(std::path::PathBuf, std::path::PathBuf), String> {
    let (cert, key) = if member == "regulator" || dir.join(member).join("view.key").exists() {
        (
            dir.join(member).join("client.pem"),
            dir.join(member).join("client.key"),
        )
    } else {
        let role = role.unwrap_or("auditor");
        let clients = dir.join(member).join("clients");
        (
            clients.join(format!("{role}.pem")),
            clients.join(format!("{role}.key")),
        )
    };
    if !cert.exists() {
        return Err(format!(
            "{}: no such client certificate (member {member:?}, role {role:?})",
            cert.display()
        ));
    }
    Ok((cert, key))
}

/// An HTTPS client acting as `cert`/`key` in consortium `dir`.
pub fn client(dir: &Path, cert: &Path, key: &Path) -> Result<reqwest::Client, String> {
    veil_node::tls::https_client(
        &veil_node::tls::TlsFiles {
            cert,
            key,
            ca: &dir.join("ca/ca.pem"),
            crl: None,
        },
        Duration::from_secs(120),
    )
    .map_err(|e| e.to_string())
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

/// Exports everything `view_key` opens, reading through the regulator gateway of `dir`.
pub async fn export(
    dir: &Path,
    view_key: &Path,
    out: &Path,
    regulator: Option<&str>,
) -> Result<ExportSummary, String> {
    let genesis = Genesis::load(&dir.join("consortium.toml")).map_err(|e| e.to_string())?;
    let regulator = match regulator {
        Some(id) => genesis
            .regulator(id)
            .ok_or_else(|| format!("{id} is not a regulator of this consortium"))?,
        None => genesis
            .regulators
            .first()
            .ok_or("the consortium has no regulator")?,
    };
    let keyring: ViewKeyring =
        load_view_keys(view_key, &genesis.consortium_id).map_err(|e| e.to_string())?;
    let key_kind = match &keyring {
        ViewKeyring::Master { .. } => json!("master"),
        ViewKeyring::Scoped(keys) => {
            json!(keys.keys().map(ToString::to_string).collect::<Vec<_>>())
        }
    };
    let regulator_dir: PathBuf = dir.join(&regulator.id);
    let http = client(
        dir,
        &regulator_dir.join("client.pem"),
        &regulator_dir.join("client.key"),
    )?;
    let base = gateway_url(dir, &regulator.id)?;
    let opener = Opener::Regulator(&keyring);
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
    crate::init::write_secret(out, &text).map_err(|e| e.to_string())?;
    Ok(summary)
}
