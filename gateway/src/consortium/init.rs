//! `veil init`: makes a consortium directory on one machine by running, for every party, the
//! same steps separate hosts run: each bank's and regulator's `keygen` in its own
//! subdirectory, `veil consortium assemble`, and each bank's `veil consortium sign`.
//!
//! ```text
//! DIR/consortium.toml                      the genesis, signed by every bank
//! DIR/policies/default.cedar               the policy set the genesis hash names
//! DIR/circuits/settlement-<capacity>.pk    proving keys (verifying keys pinned in the genesis)
//! DIR/<bank>/                              one bank's directory (super::keygen): member.json,
//!                                          keys/, ca/, clients/, node.toml, gateway.toml
//! DIR/<regulator>/                         one regulator's: regulator.json, view.key, keys/,
//!                                          ca/, client.pem, client.key, gateway.toml
//! ```
//!
//! No directory holds another party's secret: each bank's share of the borrower-reference OPRF
//! key lies in its own `keys/oprf.share` (the DKG's rounds all run in this process, so this is
//! a test consortium; separate hosts run `veil dkg`). Every secret file is created with mode
//! 0600. Tests, `veil up` and `veil init` all use this code.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use veil_crypto::encoding;
use veil_node::config::TimingConfig;
use veil_node::genesis::{ConsortiumFile, Genesis, ParamsFile};

use super::assemble::{
    AssembleError, AssembleOptions, CeremonyCheck, DkgCheck, OprfSource, assemble, sign_checked,
};
use super::circuit_keys::{CircuitKeysError, CircuitSource, DEFAULT_CAPACITIES};
use super::files::{FileError, mkdir, write_public};
use super::keygen::{
    GenesisPaths, KeygenError, MemberOptions, RegulatorOptions, member_keygen, regulator_keygen,
};
use super::layout;
use super::members::{bank_ids, regulator_ids};

/// A key-generation failure as an [`InitError`].
fn key_error(e: impl std::error::Error + Send + Sync + 'static) -> InitError {
    InitError::Keys(Box::new(e))
}

/// Default rate cap (`docs/api.md`: 2400 bps).
pub const DEFAULT_RATE_CAP_BPS: u64 = 2400;
/// First month regulators publish scoped view keys for.
pub const FIRST_VIEW_KEY_MONTH: &str = "2025-01";
/// Last month the genesis publishes regulators' scoped view keys for, by default; later
/// months are published on the ledger (`veil regulator publish`).
pub const DEFAULT_VIEW_KEYS_THROUGH: &str = "2031-12";

/// The months from `first` through `last` (both `YYYY-MM`), in order; empty if either is
/// malformed or `last` is before `first`.
pub fn months_between(first: &str, last: &str) -> Vec<String> {
    let parse = |m: &str| -> Option<(u32, u32)> {
        let (y, mo) = m.split_once('-')?;
        if y.len() != 4 || mo.len() != 2 {
            return None;
        }
        let (y, mo) = (y.parse().ok()?, mo.parse().ok()?);
        (1..=12).contains(&mo).then_some((y, mo))
    };
    let (Some(mut at), Some(end)) = (parse(first), parse(last)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    while at <= end {
        out.push(format!("{:04}-{:02}", at.0, at.1));
        at = if at.1 == 12 {
            (at.0 + 1, 1)
        } else {
            (at.0, at.1 + 1)
        };
    }
    out
}

/// Why `init` failed.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// The directory holds files and `--force` was not given.
    #[error("{0} is not empty (use --force to overwrite)")]
    NotEmpty(String),
    /// Bad arguments (which, and the accepted range).
    #[error("{0}")]
    Arguments(&'static str),
    /// A member id given with `--members` is invalid, repeated, or their number is not
    /// `--banks`.
    #[error("--members: {0}")]
    Member(String),
    /// A file or directory could not be read or written.
    #[error(transparent)]
    File(#[from] FileError),
    /// A key or identifier could not be generated (no randomness), or a view key published.
    #[error("key generation: {0}")]
    Keys(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The circuits' keys.
    #[error(transparent)]
    CircuitKeys(#[from] CircuitKeysError),
    /// A party's keys.
    #[error(transparent)]
    Keygen(#[from] KeygenError),
    /// The genesis.
    #[error(transparent)]
    Assemble(#[from] AssembleError),
}

/// The OPRF threshold for `n` members: `n − ⌊(n − 1)/3⌋`, the quorum of a BFT consortium of
/// `n` (3 of 4, 15 of 21, 43 of 64): fewer members than a quorum learn nothing of the key.
pub fn oprf_threshold(n: u16) -> u16 {
    n - (n.saturating_sub(1)) / 3
}

/// Runs the DKG of the borrower-reference OPRF key among the members `banks` of the embedded
/// consortium in `dir` (`veil_crypto::dkg`: each member's round messages made with its own
/// randomness, each share kept in its own directory, `keys/oprf.share`, owner-only), and
/// returns the key's public side for the genesis. Fewer than two members share nothing.
fn oprf_dkg(
    dir: &Path,
    banks: &[String],
) -> Result<Option<veil_node::genesis::OprfFile>, InitError> {
    use std::collections::BTreeMap;
    use veil_crypto::dkg;
    let Ok(n) = u16::try_from(banks.len()) else {
        return Err(InitError::Arguments("too many banks"));
    };
    if n < 2 {
        return Ok(None);
    }
    let t = oprf_threshold(n).max(2);
    let keys = |e: dkg::DkgError| InitError::Keys(Box::new(e));
    let mut round1_secrets = BTreeMap::new();
    let mut round1 = BTreeMap::new();
    for i in 1..=n {
        let (secret, package) = dkg::round1(i, n, t).map_err(keys)?;
        round1_secrets.insert(i, secret);
        round1.insert(i, package);
    }
    let others = |i: u16, all: &BTreeMap<u16, Vec<u8>>| -> BTreeMap<u16, Vec<u8>> {
        all.iter()
            .filter(|(j, _)| **j != i)
            .map(|(j, p)| (*j, p.clone()))
            .collect()
    };
    let mut round2_secrets = BTreeMap::new();
    let mut sent: BTreeMap<u16, BTreeMap<u16, dkg::Round2Package>> = BTreeMap::new();
    for (i, secret) in round1_secrets {
        let (next, packages) = dkg::round2(secret, &others(i, &round1)).map_err(keys)?;
        round2_secrets.insert(i, next);
        for (j, package) in packages {
            sent.entry(j).or_default().insert(i, package);
        }
    }
    let mut public = None;
    for (i, bank) in (1..=n).zip(banks) {
        let received = sent.remove(&i).unwrap_or_default();
        let (share, key) =
            dkg::round3(&round2_secrets[&i], &others(i, &round1), &received).map_err(keys)?;
        crate::consortium::files::write_secret(
            &dir.join(bank).join("keys").join(OPRF_SHARE_FILE),
            &(veil_crypto::encoding::to_hex(&share.to_bytes()) + "\n"),
        )?;
        public = Some(key);
    }
    Ok(public.as_ref().map(veil_node::genesis::OprfFile::of))
}

/// A member's OPRF key share, in its `keys/` directory.
pub const OPRF_SHARE_FILE: &str = "oprf.share";

/// What to make.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// Number of banks (2..=64: borrower references need at least two members' OPRF shares).
    pub banks: usize,
    /// The banks' member ids, as the banks chose them (`webank`, `huarui-bank`, …), one per
    /// bank in genesis order; `None` for `bank-a`, `bank-b`, … (see [`bank_ids`]).
    pub members: Option<Vec<String>>,
    /// Number of regulators.
    pub regulators: usize,
    /// First port; bank `i` uses `base + 10i` (p2p), `+1` (node API), `+2` (gateway);
    /// regulator `j` uses `base + 700 + j`.
    pub base_port: u16,
    /// Overwrite a non-empty directory.
    pub force: bool,
    /// Consensus timing written into node configs (e.g. faster on loopback).
    pub timing: TimingConfig,
    /// Where the circuits' keys come from.
    pub circuits: CircuitSource,
    /// Whether loans are screened (KYC registry, blocklist): the genesis then pins the
    /// screening circuit and nodes refuse unscreened loans.
    pub screening: bool,
    /// The last month (`YYYY-MM`) whose regulator view keys the genesis publishes (from
    /// [`FIRST_VIEW_KEY_MONTH`]); later months are published on the ledger.
    pub view_keys_through: String,
    /// The genesis' `oprf.daily_limit` (evaluations one member may ask of another per UTC day);
    /// `None` for the default.
    pub oprf_daily_limit: Option<u64>,
}

/// The consensus timeouts of `members` nodes on one machine: `timing` times `members / 21`
/// rounded to the nearest whole number, at least once (up to 31 members: `timing`; 64: three
/// times). Every node verifies every
/// other's votes and syncs its journal on the same cores and disk, so a view takes longer as
/// the consortium grows; timeouts shorter than a view churn views without finalizing.
fn one_machine_timing(timing: TimingConfig, members: usize) -> TimingConfig {
    let scale = ((members + 10) / 21).max(1) as u64;
    TimingConfig {
        leader_timeout_ms: timing.leader_timeout_ms.map(|ms| ms * scale),
        certification_timeout_ms: timing.certification_timeout_ms.map(|ms| ms * scale),
        timeout_retry_ms: timing.timeout_retry_ms.map(|ms| ms * scale),
        ..timing
    }
}

impl Default for InitOptions {
    fn default() -> Self {
        Self {
            banks: 4,
            members: None,
            regulators: 1,
            base_port: 7100,
            force: false,
            timing: TimingConfig {
                leader_timeout_ms: Some(1000),
                certification_timeout_ms: Some(1500),
                timeout_retry_ms: Some(2000),
                idle_wait_ms: Some(500),
            },
            circuits: CircuitSource::Dev(DEFAULT_CAPACITIES.to_vec()),
            screening: true,
            view_keys_through: DEFAULT_VIEW_KEYS_THROUGH.to_owned(),
            oprf_daily_limit: None,
        }
    }
}

fn addr(port: u32) -> Result<SocketAddr, InitError> {
    let port = u16::try_from(port)
        .map_err(|_| InitError::Arguments("ports exceed 65535; lower --base-port"))?;
    Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port))
}

fn hosts() -> Vec<String> {
    vec!["localhost".into(), "127.0.0.1".into()]
}

/// Marks a directory `init` is writing: removed once `consortium.toml` is in place, so a run
/// that was interrupted (Ctrl-C while the dev keys are made) can be started again over it.
const INCOMPLETE_MARKER: &str = ".veil-init-incomplete";

/// A display name for the bank `id`: `bank-a` is "Bank A", `huarui-bank` "Huarui Bank".
fn bank_name(id: &str) -> String {
    id.split('-')
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Member ids the banks chose: `banks` of them, each `[a-z][a-z0-9-]{0,31}`, none twice, none
/// a regulator's id (`regulator`, `regulator-2`, …).
fn check_member_ids(members: &[String], banks: usize) -> Result<(), InitError> {
    if members.len() != banks {
        return Err(InitError::Member(format!(
            "--members names {} banks, --banks says {banks}",
            members.len()
        )));
    }
    let mut seen = std::collections::BTreeSet::new();
    for id in members {
        if !veil_policies::schema::is_member_id(id) {
            return Err(InitError::Member(format!(
                "{id:?} is not a member id: a lowercase letter, then up to 31 lowercase letters, \
                 digits or hyphens"
            )));
        }
        if id == "regulator" || id.starts_with("regulator-") {
            return Err(InitError::Member(format!(
                "{id:?} is a regulator's id; choose another"
            )));
        }
        // The consortium directory's own folders: a bank's directory must not merge into them.
        if matches!(id.as_str(), "policies" | "circuits" | "genesis") {
            return Err(InitError::Member(format!(
                "{id:?} names a folder of the consortium directory; choose another"
            )));
        }
        if !seen.insert(id.as_str()) {
            return Err(InitError::Member(format!("{id:?} is listed twice")));
        }
    }
    Ok(())
}

/// Checks what can be checked before anything is written.
fn check_options(options: &InitOptions) -> Result<(), InitError> {
    if options.banks < 2 || options.banks > super::ports::MAX_BANKS {
        return Err(InitError::Arguments(if options.members.is_some() {
            "--members must name between 2 and 64 banks"
        } else {
            "--banks must be between 2 and 64"
        }));
    }
    if let Some(members) = &options.members {
        check_member_ids(members, options.banks)?;
    }
    if options.regulators > 9 {
        return Err(InitError::Arguments("--regulators must be at most 9"));
    }
    match &options.circuits {
        CircuitSource::Dev(capacities) => {
            if capacities.is_empty() {
                return Err(InitError::Arguments(
                    "at least one settlement capacity is needed",
                ));
            }
            for capacity in capacities {
                veil_circuits::settlement::Shape::new(
                    *capacity,
                    veil_circuits::settlement::PARTICIPANT_SLOTS,
                )
                .map_err(CircuitKeysError::Circuit)?;
            }
        }
        CircuitSource::Ceremony(_) => {
            // The banks `init` makes have new keys: no ceremony of theirs can exist.
            return Err(InitError::Arguments(
                "a ceremony's keys belong to the members who contributed: assemble their \
                 genesis with `veil consortium assemble --ceremony` (docs/ceremony.md)",
            ));
        }
    }
    Ok(())
}

/// Makes the consortium directory `dir`. Returns the consortium file written.
///
/// Arguments are checked before anything is written; a directory left by an interrupted run
/// is taken over without `--force`.
pub fn init(dir: &Path, options: &InitOptions) -> Result<ConsortiumFile, InitError> {
    check_options(options)?;
    if dir.exists() && !dir.join(INCOMPLETE_MARKER).exists() {
        let non_empty = std::fs::read_dir(dir)
            .map_err(|source| FileError {
                path: dir.display().to_string(),
                source,
            })?
            .next()
            .is_some();
        if non_empty && !options.force {
            return Err(InitError::NotEmpty(dir.display().to_string()));
        }
    }
    mkdir(dir)?;
    let dir = dir.canonicalize().map_err(|source| FileError {
        path: dir.display().to_string(),
        source,
    })?;
    write_public(
        &dir.join(INCOMPLETE_MARKER),
        "veil init has not finished here\n",
    )?;

    let mut id = [0u8; 6];
    getrandom::fill(&mut id).map_err(key_error)?;
    let consortium_id = format!("veil-{}", encoding::to_hex(&id));

    // Each party makes its own keys in its own directory, as on separate hosts.
    let paths = GenesisPaths {
        genesis: PathBuf::from("../consortium.toml"),
        policy: PathBuf::from("../policies/default.cedar"),
    };
    let banks = options
        .members
        .clone()
        .unwrap_or_else(|| bank_ids(options.banks));
    let base = u32::from(options.base_port);
    let mut descriptors = Vec::new();
    let mut node_apis = Vec::new();
    for (i, bank) in banks.iter().enumerate() {
        let bank_dir = dir.join(bank);
        if bank_dir.exists() {
            // Left by an interrupted run or overwritten with --force.
            std::fs::remove_dir_all(&bank_dir).map_err(|source| FileError {
                path: bank_dir.display().to_string(),
                source,
            })?;
        }
        let node_api = addr(base + 10 * i as u32 + 1)?;
        member_keygen(
            &bank_dir,
            &MemberOptions {
                id: bank.clone(),
                name: bank_name(bank),
                consortium: consortium_id.clone(),
                p2p_address: addr(base + 10 * i as u32)?,
                node_api,
                gateway: addr(base + 10 * i as u32 + 2)?,
                hosts: hosts(),
                ca_chain: None,
                ca_key: None,
                paths: paths.clone(),
                timing: one_machine_timing(options.timing, banks.len()),
            },
        )?;
        descriptors.push(bank_dir.join("member.json"));
        node_apis.push((bank.clone(), node_api));
    }
    let oprf = oprf_dkg(&dir, &banks)?.map(|oprf| veil_node::genesis::OprfFile {
        daily_limit: options.oprf_daily_limit,
        ..oprf
    });
    let months = months_between(FIRST_VIEW_KEY_MONTH, &options.view_keys_through);
    for (j, regulator) in regulator_ids(options.regulators).iter().enumerate() {
        let regulator_dir = dir.join(regulator);
        if regulator_dir.exists() {
            std::fs::remove_dir_all(&regulator_dir).map_err(|source| FileError {
                path: regulator_dir.display().to_string(),
                source,
            })?;
        }
        regulator_keygen(
            &regulator_dir,
            &RegulatorOptions {
                id: regulator.clone(),
                name: if j == 0 {
                    "Regulator".into()
                } else {
                    format!("Regulator {}", j + 1)
                },
                consortium: consortium_id.clone(),
                gateway: addr(base + u32::from(super::ports::REGULATOR_OFFSET) + j as u32)?,
                // A regulator attaches to any member's node; by default the first one.
                node: node_apis[0].clone(),
                months: months.clone(),
                hosts: hosts(),
                paths: paths.clone(),
            },
        )?;
        descriptors.push(regulator_dir.join("regulator.json"));
    }
    let _ = std::fs::remove_file(layout::genesis(&dir));
    let consortium = assemble(
        &layout::genesis(&dir),
        &descriptors,
        &AssembleOptions {
            consortium: consortium_id,
            params: ParamsFile {
                rate_cap_bps: DEFAULT_RATE_CAP_BPS,
                max_amount_fen: Some(veil_node::genesis::DEFAULT_MAX_AMOUNT_FEN),
            },
            circuits: options.circuits.clone(),
            screening: options.screening,
            oprf: oprf.map_or(OprfSource::None, OprfSource::RanHere),
        },
    )?;
    // Dev circuit keys only (`check_options`): nothing to verify before signing.
    for bank in &banks {
        sign_checked(
            &layout::genesis(&dir),
            &dir.join(bank),
            CeremonyCheck::AssembledHere,
            DkgCheck::AssembledHere,
        )?;
    }
    std::fs::remove_file(dir.join(INCOMPLETE_MARKER)).map_err(|source| FileError {
        path: dir.join(INCOMPLETE_MARKER).display().to_string(),
        source,
    })?;
    let signed = Genesis::load(&layout::genesis(&dir)).map_err(|e| InitError::Keys(Box::new(e)))?;
    let _ = consortium;
    Ok(signed.file)
}

/// Whether `dir` holds a consortium made by `init`.
pub fn is_initialized(dir: &Path) -> bool {
    dir.join("consortium.toml").is_file()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Too few or too many banks is refused before anything is written, naming the flag the
    /// user gave: `--members` when the banks were named, `--banks` otherwise.
    #[test]
    fn a_consortium_of_fewer_than_2_or_more_than_64_banks_is_refused_naming_the_flag() {
        let named = |n: usize| InitOptions {
            banks: n,
            members: Some((0..n).map(|i| format!("bank{i}")).collect()),
            ..Default::default()
        };
        for n in [1, 65] {
            let refused = check_options(&named(n)).unwrap_err().to_string();
            assert!(
                refused.contains("--members must name between 2 and 64"),
                "{refused}"
            );
            let counted = InitOptions {
                banks: n,
                ..Default::default()
            };
            let refused = check_options(&counted).unwrap_err().to_string();
            assert!(
                refused.contains("--banks must be between 2 and 64"),
                "{refused}"
            );
        }
        for n in [2, 64] {
            check_options(&named(n)).unwrap();
        }
    }

    #[test]
    fn consensus_timeouts_grow_with_the_members_on_one_machine() {
        let timing = InitOptions::default().timing;
        for members in [2, 4, 21] {
            assert_eq!(one_machine_timing(timing, members), timing);
        }
        let at_64 = one_machine_timing(timing, 64);
        assert_eq!(at_64.leader_timeout_ms, Some(3000));
        assert_eq!(at_64.certification_timeout_ms, Some(4500));
        assert_eq!(at_64.timeout_retry_ms, Some(6000));
        assert_eq!(at_64.idle_wait_ms, timing.idle_wait_ms);
        assert_eq!(one_machine_timing(timing, 31), timing);
        assert_eq!(one_machine_timing(timing, 32).leader_timeout_ms, Some(2000));
        // Unset timeouts stay unset (the node's defaults).
        let unset = TimingConfig::default();
        assert_eq!(one_machine_timing(unset, 64), unset);
    }
}
