//! `veil node` and `veil gateway`: one member's node, or one gateway, as its own process.

use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The config file `veil init` wrote for this process: `DIR/<bank>/node.toml` for
    /// `veil node`; `DIR/<bank>/gateway.toml` or `DIR/<regulator>/gateway.toml` for
    /// `veil gateway`.
    #[arg(long)]
    config: PathBuf,
    /// Accept circuit keys from the insecure dev setup (test consortia only).
    #[arg(long)]
    dev: bool,
}

pub(crate) fn node(args: Args) -> anyhow::Result<ExitCode> {
    let code = veil_node::process::run(&args.config, args.dev).map_err(anyhow::Error::msg)?;
    Ok(ExitCode::from(code as u8))
}

pub(crate) fn gateway(args: Args) -> anyhow::Result<ExitCode> {
    let code =
        veil_gateway::api::server::run(&args.config, args.dev).map_err(anyhow::Error::msg)?;
    Ok(ExitCode::from(code as u8))
}
