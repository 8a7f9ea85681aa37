//! Regulators' view keys on the ledger, from both sides:
//!
//! - a member gateway's index of the keys regulators published since the genesis
//!   ([`PublishedViewKeys`]), read from its node's ledger when a write's month has no key yet
//!   (so the first write of a newly published month finds it, and no write pays for it
//!   otherwise);
//! - a regulator's publication of further months ([`Publisher`], what `veil regulator publish`
//!   runs): it reads its chain from a node, derives the next months' keys from its master view
//!   key, signs the `view_keys.published` entry with its signing key, submits it to the node
//!   with its gateway identity (`<regulator>:gateway`) and waits for finality.

use std::sync::Arc;
use std::time::Duration;

use veil_crypto::view_key::{MasterViewKey, month_of};
use veil_crypto::{SigningKey, ViewKeyring};
use veil_node::genesis::Genesis;
use veil_node::ledger::{Entry, EntryId};
use veil_node::link::{LinkError, NodeLink, RemoteNode};
use veil_node::tls::{self, TlsFiles};
use veil_node::validation::RejectionCode;
use veil_node::view_keys::{MAX_MONTHS, months_from_through, next_month};
use veil_policies::EntryType;

use super::error::ServiceError;
use super::{Gateway, current_month, link_problem, now_ms};
use crate::consortium::config::{GatewayConfig, GatewayKind};
use crate::entry::builder::view_keys_publication;
use crate::entry::keys::{load_signing_key, load_view_keys};
use crate::entry::view_keys::{ChainError, PublishedViewKeys};

/// Publications read from a node per request.
const PAGE: usize = 64;
/// How long a publication waits for finality.
pub const PUBLISH_WAIT: Duration = Duration::from_secs(60);

/// The published keys as far as a member gateway has read the ledger.
#[derive(Debug, Default)]
pub(super) struct ViewKeysFollower {
    after: Option<(u64, u32)>,
    keys: Arc<PublishedViewKeys>,
}

/// Why the chain of publications could not be read.
#[derive(Debug)]
enum FollowError {
    Link(LinkError),
    Decode(u64),
    Chain(ChainError),
}

/// Reads the `view_keys.published` entries `node` finalized after `after` into `keys`,
/// moving `after` past each.
async fn catch_up(
    node: &NodeLink,
    genesis: &Genesis,
    keys: &mut PublishedViewKeys,
    after: &mut Option<(u64, u32)>,
) -> Result<(), FollowError> {
    loop {
        let page = node
            .entries_by_type(EntryType::ViewKeysPublished.name(), *after, PAGE)
            .await
            .map_err(FollowError::Link)?;
        for stored in &page {
            let entry =
                Entry::decode(&stored.bytes).map_err(|_| FollowError::Decode(stored.height))?;
            keys.apply(genesis, &entry).map_err(FollowError::Chain)?;
            *after = Some((stored.height, stored.index));
        }
        if page.len() < PAGE {
            return Ok(());
        }
    }
}

impl Gateway {
    /// The regulators' keys published on the ledger, including those of the month of
    /// `period` if this gateway's node has finalized them: the ledger is read again only when
    /// some regulator's key of that month is not indexed yet.
    pub(super) async fn view_keys_for(
        &self,
        period: &str,
    ) -> Result<Arc<PublishedViewKeys>, ServiceError> {
        let mut follower = self.view_keys.lock().await;
        if !follower.keys.covers(&self.genesis, period) {
            let ViewKeysFollower { after, keys } = &mut *follower;
            catch_up(&self.node, &self.genesis, Arc::make_mut(keys), after)
                .await
                .map_err(|error| match error {
                    FollowError::Link(error) => link_problem(error),
                    other => {
                        tracing::error!(error = ?other, "the view-key publications on the ledger are unusable");
                        ServiceError::internal()
                    }
                })?;
        }
        Ok(follower.keys.clone())
    }
}

/// Why a regulator could not publish.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The gateway config is unreadable or invalid.
    #[error(transparent)]
    Config(#[from] crate::consortium::config::GatewayConfigError),
    /// The genesis is unreadable or invalid.
    #[error(transparent)]
    Genesis(#[from] veil_node::genesis::GenesisError),
    /// A key file is unreadable or invalid.
    #[error(transparent)]
    Keys(#[from] crate::entry::keys::KeyError),
    /// The node's TLS client could not be set up.
    #[error(transparent)]
    Tls(#[from] veil_node::tls::TlsError),
    /// The config or keys do not fit the genesis: not a regulator's gateway, no signing key
    /// in the genesis, another key, a scoped view key instead of the master key.
    #[error("{0}")]
    Mismatch(String),
    /// `--through` is not a month that can be published.
    #[error("{0}")]
    Months(String),
    /// The publications on the ledger are unusable (a broken chain: the node is not to be
    /// trusted).
    #[error("the view-key publications on the ledger are unusable: {0}")]
    Chain(String),
    /// The node refused the publication, or could not be reached.
    #[error("{0}")]
    Node(String),
}

/// One publication made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// The `view_keys.published` entry.
    pub entry: EntryId,
    /// The height of its block.
    pub height: u64,
    /// The first month it publishes.
    pub first_month: String,
    /// The last month it publishes.
    pub last_month: String,
}

/// A regulator that publishes its view keys of further months (see the module
/// documentation).
#[derive(Debug)]
pub struct Publisher {
    genesis: Arc<Genesis>,
    regulator: String,
    master: MasterViewKey,
    signing: SigningKey,
    node: NodeLink,
}

/// What the node's refusal `code` of a publication means for the regulator.
fn refusal(code: RejectionCode) -> String {
    match code {
        RejectionCode::StaleViewKeys => "another publication of this regulator was ordered \
                                         first; nothing was written by this one: run the \
                                         command again"
            .to_owned(),
        RejectionCode::ViewKeys => "the node refused the months published (view-keys): they \
                                    must follow the last month already published"
            .to_owned(),
        RejectionCode::Signature => "the node refused the publication's signature: the \
                                     signing key is not the one the genesis names for this \
                                     regulator"
            .to_owned(),
        other => format!("the node refused the publication ({other})"),
    }
}

fn node_problem(error: LinkError) -> PublishError {
    PublishError::Node(match error {
        LinkError::Rejected(code) => refusal(code),
        LinkError::Forbidden => "the node refused this regulator's gateway identity".to_owned(),
        LinkError::Timeout => "the publication was not finalized in time; run the command \
                               again to see what was published"
            .to_owned(),
        other => format!("the node: {other}"),
    })
}

impl Publisher {
    /// The publisher of the regulator whose read-only gateway `config` configures: reads the
    /// genesis, the master view key (`view_key`) and the signing key (`signing_key`, both
    /// owner-only), and reaches the configured node over mutual TLS with the gateway's node
    /// client certificate, trusting only the CA of the node's member.
    ///
    /// # Errors
    /// [`PublishError`] naming the file or the mismatch.
    pub fn from_config(config: &GatewayConfig) -> Result<Self, PublishError> {
        if config.kind != GatewayKind::Regulator {
            return Err(PublishError::Mismatch(format!(
                "{} is a member's gateway; only a regulator publishes view keys",
                config.id
            )));
        }
        let genesis = Arc::new(Genesis::load(&config.consortium)?);
        let view_key = config.view_key.as_ref().ok_or_else(|| {
            PublishError::Mismatch("the regulator's gateway.toml names no view_key".into())
        })?;
        let master = match load_view_keys(view_key, &genesis.consortium_id)? {
            ViewKeyring::Master { key, .. } => key,
            ViewKeyring::Scoped(_) => {
                return Err(PublishError::Mismatch(format!(
                    "{}: a scoped view key file; publishing needs the master view key",
                    view_key.display()
                )));
            }
        };
        let signing_key = config.signing_key.as_ref().ok_or_else(|| {
            PublishError::Mismatch("the regulator's gateway.toml names no signing_key".into())
        })?;
        let signing = load_signing_key(signing_key)?;
        // The node's server certificate must come from its own member's CA.
        let anchors = vec![
            config
                .node_ca(&genesis)
                .map_err(PublishError::Mismatch)?
                .anchor()
                .clone(),
        ];
        let client = tls::https_client(
            &TlsFiles {
                cert: &config.node.cert,
                key: &config.node.key,
                anchors: &anchors,
            },
            PUBLISH_WAIT + Duration::from_secs(10),
        )?;
        let node = NodeLink::Remote(RemoteNode::new(client, config.node.api));
        Self::new(genesis, &config.id, master, signing, node)
    }

    /// The publisher of regulator `regulator` of `genesis` with these keys, through `node`.
    ///
    /// # Errors
    /// [`PublishError::Mismatch`] if `regulator` is not a regulator of the genesis, the genesis
    /// names no signing key for it, or `signing` is not that key.
    pub fn new(
        genesis: Arc<Genesis>,
        regulator: &str,
        master: MasterViewKey,
        signing: SigningKey,
        node: NodeLink,
    ) -> Result<Self, PublishError> {
        let known = genesis.regulator(regulator).ok_or_else(|| {
            PublishError::Mismatch(format!("{regulator} is not a regulator of the consortium"))
        })?;
        match &known.signing_key {
            None => {
                return Err(PublishError::Mismatch(format!(
                    "the genesis names no signing key for {regulator}: it cannot publish on \
                     the ledger"
                )));
            }
            Some(key) if *key != signing.verifying_key() => {
                return Err(PublishError::Mismatch(format!(
                    "this signing key is not the one the genesis names for {regulator}"
                )));
            }
            Some(_) => {}
        }
        Ok(Self {
            genesis,
            regulator: regulator.to_owned(),
            master,
            signing,
            node,
        })
    }

    /// The regulator's publications on the ledger, as the node has finalized them.
    ///
    /// # Errors
    /// [`PublishError::Node`] if the node cannot be read; [`PublishError::Chain`] if what it
    /// serves is not a chain of valid publications.
    pub async fn published(&self) -> Result<PublishedViewKeys, PublishError> {
        let mut keys = PublishedViewKeys::default();
        catch_up(&self.node, &self.genesis, &mut keys, &mut None)
            .await
            .map_err(|error| match error {
                FollowError::Link(error) => node_problem(error),
                FollowError::Decode(height) => {
                    PublishError::Chain(format!("an entry at height {height} does not decode"))
                }
                FollowError::Chain(error) => PublishError::Chain(error.to_string()),
            })?;
        Ok(keys)
    }

    /// The last month this regulator has published keys for (ledger or genesis), if any.
    ///
    /// # Errors
    /// See [`Publisher::published`].
    pub async fn last_month(&self) -> Result<Option<String>, PublishError> {
        let keys = self.published().await?;
        Ok(self
            .genesis
            .regulator(&self.regulator)
            .and_then(|r| keys.last_month(r)))
    }

    /// Publishes the keys of every month after the last one published through `through`
    /// (`YYYY-MM`), in as many entries as needed ([`MAX_MONTHS`] months each), each waiting
    /// for finality; a regulator that never published starts with the current month. Returns
    /// what was published, nothing if `through` is already published.
    ///
    /// # Errors
    /// [`PublishError::Months`] for a malformed `through`; [`PublishError::Node`] if the node
    /// refuses a publication or does not finalize it in time (the ones finalized before
    /// stay).
    pub async fn publish_through(&self, through: &str) -> Result<Vec<Published>, PublishError> {
        if through.len() != 7 || month_of(through).is_err() {
            return Err(PublishError::Months(format!(
                "--through {through:?} is not a month (YYYY-MM)"
            )));
        }
        let keys = self.published().await?;
        let regulator = self
            .genesis
            .regulator(&self.regulator)
            .ok_or_else(|| PublishError::Mismatch("not a regulator".into()))?;
        let first = match keys.last_month(regulator) {
            Some(last) => next_month(&last)
                .ok_or_else(|| PublishError::Months(format!("no month can follow {last}")))?,
            None => current_month(),
        };
        let months = months_from_through(&first, through);
        let mut previous = keys.head(&self.regulator);
        let mut published = Vec::new();
        for chunk in months.chunks(MAX_MONTHS) {
            let entry = view_keys_publication(
                &self.genesis,
                &self.regulator,
                &self.master,
                &self.signing,
                previous,
                chunk,
                now_ms(),
            )
            .map_err(|e| PublishError::Months(e.to_string()))?;
            let id = entry.header.id;
            let receipt = self
                .node
                .submit(entry.encode(), PUBLISH_WAIT)
                .await
                .map_err(node_problem)?;
            published.push(Published {
                entry: id,
                height: receipt.height,
                first_month: chunk.first().cloned().unwrap_or_default(),
                last_month: chunk.last().cloned().unwrap_or_default(),
            });
            previous = Some(id);
        }
        Ok(published)
    }
}
