//! `veil up`: the embedded default (see [`veil_gateway::embedded`]), until SIGINT/SIGTERM.

use std::path::PathBuf;
use std::process::ExitCode;

use veil_gateway::consortium::{self, CircuitSource, InitOptions};
use veil_gateway::embedded::Embedded;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The consortium directory.
    #[arg(long)]
    dir: PathBuf,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let options = InitOptions {
        circuits: CircuitSource::Dev(consortium::DEFAULT_CAPACITIES.to_vec()),
        ..Default::default()
    };
    super::runtime()?.block_on(async {
        let embedded = Embedded::start(&args.dir, &options)
            .await
            .map_err(anyhow::Error::msg)?;
        println!("consortium running from {}", embedded.dir.display());
        for (id, gateway) in &embedded.gateways {
            println!("  {id:<12} https://127.0.0.1:{}", gateway.addr.port());
        }
        println!(
            "endpoints: {}",
            consortium::layout::endpoints_path(&embedded.dir).display()
        );
        let listen: std::net::SocketAddr = ([127, 0, 0, 1], 0).into();
        // The console opens as the first member's auditor (members are named by the banks).
        let genesis = veil_node::genesis::Genesis::load(&embedded.dir.join("consortium.toml"))?;
        let first = genesis
            .members
            .first()
            .map(|m| m.id.clone())
            .ok_or_else(|| anyhow::anyhow!("the genesis has no member"))?;
        let other = genesis
            .members
            .get(1)
            .map_or(first.as_str(), |m| m.id.as_str());
        let console =
            veil_gateway::api::console::serve(&embedded.dir, &first, Some("auditor"), listen)
                .await
                .map_err(anyhow::Error::msg)?;
        println!(
            "console (as {first}:auditor): {}  (another view: veil console --dir {} --as {other})",
            console.url,
            embedded.dir.display()
        );
        println!("stop with Ctrl-C");
        veil_node::process::shutdown_signal().await;
        println!("stopping");
        console.stop().await;
        embedded.stop().await.map_err(anyhow::Error::msg)?;
        Ok(ExitCode::SUCCESS)
    })
}
