//! `veil console`: the web console on loopback, as one member's client certificate (see
//! [`veil_gateway::api::console`]).

use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The consortium directory.
    #[arg(long)]
    dir: PathBuf,
    /// Whose view: `bank-a`, `bank-b:clerk`, `regulator`, ... (role defaults to auditor).
    #[arg(long = "as", value_name = "MEMBER[:ROLE]")]
    identity: String,
    /// Where to listen (loopback only).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: std::net::SocketAddr,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let identity = args.identity;
    let (member, role) = match identity.split_once(':') {
        Some((member, role)) => (member.to_owned(), Some(role.to_owned())),
        None => (identity.clone(), None),
    };
    if member.is_empty() || role.as_deref().is_some_and(str::is_empty) {
        anyhow::bail!("--as must be MEMBER or MEMBER:ROLE, e.g. bank-a:auditor");
    }
    super::runtime()?.block_on(async {
        let console =
            veil_gateway::api::console::serve(&args.dir, &member, role.as_deref(), args.listen)
                .await
                .map_err(anyhow::Error::msg)?;
        println!("console as {identity}: {}  (stop with Ctrl-C)", console.url);
        veil_node::process::shutdown_signal().await;
        console.stop().await;
        Ok(ExitCode::SUCCESS)
    })
}
