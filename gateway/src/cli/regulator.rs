//! `veil regulator keygen` (and `publish`): a regulator makes its own keys and publishes only
//! scoped public view keys (see [`veil_gateway::consortium::keygen`]).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use veil_gateway::consortium::init::{FIRST_VIEW_KEY_MONTH, months_between};
use veil_gateway::consortium::keygen::{self, GenesisPaths, RegulatorOptions};

/// `veil regulator` subcommands.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Make this regulator's master view key, signing key, CA, certificates, gateway config
    /// and signed descriptor (DIR/regulator.json, publishing scoped public keys only) in DIR.
    Keygen(KeygenArgs),
    /// Publish the scoped public view keys of further months on the ledger (after the last
    /// month published, through --through), signed with the regulator's signing key.
    Publish(super::publish::PublishArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct KeygenArgs {
    /// The regulator's id ([a-z][a-z0-9-]{0,31}).
    #[arg(long)]
    id: String,
    /// The directory to write.
    #[arg(long)]
    dir: PathBuf,
    /// The consortium id the founding members agreed on (view keys are bound to it).
    #[arg(long)]
    consortium: String,
    /// Display name (default: the id).
    #[arg(long)]
    name: Option<String>,
    /// The read-only gateway's address.
    #[arg(long)]
    gateway: SocketAddr,
    /// The member whose node the gateway reads from.
    #[arg(long)]
    node_member: String,
    /// That node's API address.
    #[arg(long)]
    node_api: SocketAddr,
    /// First month of published view keys (YYYY-MM).
    #[arg(long, default_value = FIRST_VIEW_KEY_MONTH)]
    view_keys_from: String,
    /// Last month of published view keys (YYYY-MM); later months are published on the ledger.
    #[arg(long, default_value = veil_gateway::consortium::init::DEFAULT_VIEW_KEYS_THROUGH)]
    view_keys_through: String,
    /// Where the config finds the signed genesis (relative to DIR).
    #[arg(long, default_value = "consortium.toml")]
    genesis: PathBuf,
}

pub(crate) fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Publish(args) => super::publish::run(args),
        Command::Keygen(args) => {
            let months = months_between(&args.view_keys_from, &args.view_keys_through);
            if months.is_empty() {
                anyhow::bail!(
                    "--view-keys-from {} and --view-keys-through {} name no month (YYYY-MM, \
                     from not after through)",
                    args.view_keys_from,
                    args.view_keys_through
                );
            }
            let policy = args
                .genesis
                .parent()
                .map_or_else(|| PathBuf::from("policies"), |p| p.join("policies"))
                .join("default.cedar");
            let mut hosts = vec!["localhost".to_owned()];
            let ip = args.gateway.ip().to_string();
            if !hosts.contains(&ip) {
                hosts.push(ip);
            }
            let descriptor = keygen::regulator_keygen(
                &args.dir,
                &RegulatorOptions {
                    id: args.id.clone(),
                    name: args.name.unwrap_or_else(|| args.id.clone()),
                    consortium: args.consortium,
                    gateway: args.gateway,
                    node: (args.node_member, args.node_api),
                    months,
                    hosts,
                    paths: GenesisPaths {
                        genesis: args.genesis,
                        policy,
                    },
                },
            )?;
            println!(
                "{}: master view key in {}; send {} to the founding members",
                descriptor.id,
                args.dir.display(),
                args.dir.join("regulator.json").display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
