//! `veil member keygen` and `veil member issue`: one bank makes its own keys and certificates
//! (see [`veil_gateway::consortium::keygen`]).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use veil_gateway::consortium::keygen::{self, GenesisPaths, MemberOptions};

/// `veil member` subcommands.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Make this bank's secrets, issuing CA, certificates, configs and signed descriptor
    /// (DIR/member.json) in DIR only.
    Keygen(Box<KeygenArgs>),
    /// Issue a client certificate for ROLE from this bank's own CA (DIR/clients/ROLE.pem).
    Issue {
        /// The bank's directory (made by `veil member keygen`).
        #[arg(long)]
        dir: PathBuf,
        /// clerk (write and read) or auditor (read).
        #[arg(long)]
        role: String,
    },
}

#[derive(Debug, clap::Args)]
pub(crate) struct KeygenArgs {
    /// The bank's id, e.g. webank or huarui-bank ([a-z][a-z0-9-]{0,31}).
    #[arg(long)]
    id: String,
    /// The directory to write (it must not hold another party's keys).
    #[arg(long)]
    dir: PathBuf,
    /// The consortium id the founding members agreed on.
    #[arg(long)]
    consortium: String,
    /// Display name (default: the id).
    #[arg(long)]
    name: Option<String>,
    /// The node's peer-to-peer address.
    #[arg(long)]
    p2p: SocketAddr,
    /// The node API's address (mutual TLS, for the bank's gateway and regulators).
    #[arg(long)]
    node_api: SocketAddr,
    /// The gateway's address (mutual TLS, for the bank's applications).
    #[arg(long)]
    gateway: SocketAddr,
    /// Host names or IP addresses the server certificates name (default: localhost and the
    /// addresses' IPs).
    #[arg(long, value_delimiter = ',')]
    hosts: Vec<String>,
    /// Bring your own PKI: the PEM chain of the bank's CA that issues Veil certificates
    /// (issuing CA first; RSA-2048+, ECDSA P-256/P-384). The bank's PKI then issues the TLS
    /// certificates the configs name (keys/node-api.pem, ...); no CA is made here.
    #[arg(long)]
    ca_chain: Option<PathBuf>,
    /// With --ca-chain: the issuing CA's private key (PKCS#8 PEM, mode 0600), so that `veil`
    /// issues the Veil certificates from the bank's CA (copied into DIR/ca/).
    #[arg(long, requires = "ca_chain")]
    ca_key: Option<PathBuf>,
    /// Where the configs find the signed genesis (relative to DIR); the policy set and circuit
    /// keys go beside it.
    #[arg(long, default_value = "consortium.toml")]
    genesis: PathBuf,
}

pub(crate) fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Keygen(args) => {
            let mut hosts = args.hosts.clone();
            if hosts.is_empty() {
                hosts.push("localhost".into());
                for address in [args.p2p, args.node_api, args.gateway] {
                    let ip = address.ip().to_string();
                    if !hosts.contains(&ip) {
                        hosts.push(ip);
                    }
                }
            }
            let policy = args
                .genesis
                .parent()
                .map_or_else(|| PathBuf::from("policies"), |p| p.join("policies"))
                .join("default.cedar");
            let descriptor = keygen::member_keygen(
                &args.dir,
                &MemberOptions {
                    id: args.id.clone(),
                    name: args.name.unwrap_or_else(|| args.id.clone()),
                    consortium: args.consortium,
                    p2p_address: args.p2p,
                    node_api: args.node_api,
                    gateway: args.gateway,
                    hosts,
                    ca_chain: args.ca_chain.clone(),
                    ca_key: args.ca_key.clone(),
                    paths: GenesisPaths {
                        genesis: args.genesis,
                        policy,
                    },
                    timing: Default::default(),
                },
            )?;
            println!(
                "{}: keys in {}; send {} to the other founding members",
                descriptor.id,
                args.dir.display(),
                args.dir.join("member.json").display()
            );
            if args.ca_chain.is_some() && args.ca_key.is_none() {
                println!(
                    "your PKI issues: keys/node-api.pem (server, CN {0}:node), keys/gateway.pem \
                     (server, CN {0}:gateway-server), keys/node-client.pem (client, CN \
                     {0}:gateway), clients/<role>.pem (client, CN {0}:<role>), with their keys \
                     (mode 0600)",
                    descriptor.id
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Issue { dir, role } => {
            let path = keygen::issue_client(&dir, &role)?;
            println!("issued {}", path.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}
