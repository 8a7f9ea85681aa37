//! `veil regulator publish --config REGDIR/gateway.toml --through YYYY-MM [--dev]`: a
//! regulator publishes the scoped public view keys of the months after the last one published
//! (by the genesis or on the ledger) through `--through`, in `view_keys.published` entries
//! signed with its signing key, through the node its read-only gateway reads from; then
//! member gateways can write entries of those months ([`veil_gateway::service::Publisher`]).
//! The master view key never leaves the regulator's directory: only public keys are published.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use veil_gateway::consortium::config::GatewayConfig;
use veil_gateway::service::Publisher;
use veil_node::genesis::Genesis;

/// `veil regulator publish`.
#[derive(Debug, clap::Args)]
pub(crate) struct PublishArgs {
    /// The regulator's gateway config (REGDIR/gateway.toml): its master view key, signing key
    /// and node.
    #[arg(long)]
    config: PathBuf,
    /// The last month to publish (YYYY-MM).
    #[arg(long)]
    through: String,
    /// Accept a consortium whose circuit keys come from the insecure dev setup.
    #[arg(long)]
    dev: bool,
}

pub(crate) fn run(args: PublishArgs) -> anyhow::Result<ExitCode> {
    let config = GatewayConfig::load(&args.config)?;
    let genesis = Genesis::load(&config.consortium)?;
    genesis.require_signed()?;
    if !args.dev {
        genesis.require_production_circuits()?;
    }
    let publisher = Publisher::from_config(&config)?;
    let runtime = super::runtime()?;
    runtime.block_on(async {
        let published = publisher
            .publish_through(&args.through)
            .await
            .with_context(|| format!("publishing {}'s view keys", config.id))?;
        if published.is_empty() {
            let last = publisher.last_month().await?;
            println!(
                "{}: view keys already published through {}; nothing to publish",
                config.id,
                last.as_deref().unwrap_or("(none)")
            );
        }
        for publication in &published {
            println!(
                "{}: published view keys of {} through {} (entry {}, height {})",
                config.id,
                publication.first_month,
                publication.last_month,
                publication.entry,
                publication.height
            );
        }
        Ok(ExitCode::SUCCESS)
    })
}
