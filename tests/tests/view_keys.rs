//! A regulator publishes the view keys of further months on the ledger: on an embedded
//! consortium whose genesis publishes them only through last month, this month's loan is
//! refused until the regulator publishes this month and the next, then written and read by the
//! regulator; the nodes refuse publications that repeat or skip a month, or that a member
//! makes.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::StatusCode;
use serde_json::{Value, json};
use veil_crypto::ViewKeyring;
use veil_gateway::consortium::CircuitSource;
use veil_gateway::consortium::config::GatewayConfig;
use veil_gateway::consortium::init::InitOptions;
use veil_gateway::embedded::Embedded;
use veil_gateway::entry::builder::view_keys_publication;
use veil_gateway::entry::keys::{load_signing_key, load_view_keys};
use veil_gateway::service::{Publisher, current_month};
use veil_node::genesis::Genesis;
use veil_node::ledger::{Entry, EntryId};
use veil_node::link::{LinkError, NodeLink, RemoteNode};
use veil_node::validation::RejectionCode;
use veil_node::view_keys::next_month;
use veil_tests::{
    free_base_port, get_json as get, get_until_found, loan_request, member_client,
    post_json as post, regulator_client,
};

/// The month before `month` (`YYYY-MM`).
fn previous_month(month: &str) -> String {
    let (year, number) = month.split_once('-').unwrap();
    let (year, number): (u32, u32) = (year.parse().unwrap(), number.parse().unwrap());
    match number {
        1 => format!("{:04}-12", year - 1),
        n => format!("{year:04}-{:02}", n - 1),
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// The code a node refused `entry` with.
async fn refusal(node: &NodeLink, entry: &Entry) -> LinkError {
    node.submit(entry.encode(), Duration::from_secs(20))
        .await
        .expect_err("the node must refuse this publication")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_regulator_publishes_further_months_and_only_it_can() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let this_month = current_month();
    let last_month = previous_month(&this_month);
    let following = next_month(&this_month).unwrap();
    let after_that = next_month(&following).unwrap();
    let options = InitOptions {
        base_port: free_base_port(4, 1).base(),
        force: true,
        circuits: CircuitSource::Dev(veil_gateway::consortium::DEFAULT_CAPACITIES.to_vec()),
        screening: false,
        view_keys_through: last_month.clone(),
        ..Default::default()
    };
    let embedded = Embedded::start(dir, &options).await.unwrap();
    let urls: std::collections::BTreeMap<String, String> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("endpoints.json")).unwrap())
            .unwrap();
    let clerk = member_client(dir, "bank-a", "clerk");
    let entries = format!("{}/v1/entries", urls["bank-a"]);

    // This month has no regulator key yet: the write is refused, clearly, as the caller's
    // problem to wait out (422), not a server error; nothing is written.
    let (status, problem) = post(&clerk, &entries, &loan_request("L-VK-1"), None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("regulator")
            && detail.contains(&this_month)
            && detail.contains("veil regulator publish"),
        "{problem}"
    );
    // Nor can a member publish through the API.
    let (status, problem) = post(
        &clerk,
        &entries,
        &json!({"type": "view_keys.published", "fields": {}}),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");

    // The regulator publishes this month and the next, from its own directory.
    let config = GatewayConfig::load(&dir.join("regulator").join("gateway.toml")).unwrap();
    let publisher = Publisher::from_config(&config).unwrap();
    assert_eq!(
        publisher.last_month().await.unwrap().as_deref(),
        Some(last_month.as_str())
    );
    let published = publisher.publish_through(&following).await.unwrap();
    assert_eq!(published.len(), 1, "{published:?}");
    assert_eq!(
        (
            published[0].first_month.as_str(),
            published[0].last_month.as_str()
        ),
        (this_month.as_str(), following.as_str())
    );
    assert_eq!(
        publisher.last_month().await.unwrap().as_deref(),
        Some(following.as_str())
    );
    // Publishing through a published month again publishes nothing.
    assert!(
        publisher
            .publish_through(&following)
            .await
            .unwrap()
            .is_empty()
    );

    // The same loan is now written, encrypted to the new month's keys, and the regulator's
    // gateway opens it with the master view key.
    let (status, written) = post(&clerk, &entries, &loan_request("L-VK-1"), None).await;
    assert_eq!(status, StatusCode::CREATED, "{written}");
    let id = written["id"].as_str().unwrap();
    let regulator = regulator_client(dir);
    let (status, loan) = get_until_found(
        &regulator,
        &format!("{}/v1/entries/{id}", urls["regulator"]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{loan}");
    assert_eq!(loan["period"], this_month.as_str());
    assert_eq!(loan["proofs"]["verified"], true);
    assert_eq!(loan["fields"]["borrower"]["name"], "Zhang Wei", "{loan}");
    assert_eq!(loan["fields"]["principal"], 500_000, "{loan}");
    assert_eq!(loan["fields"]["funding"]["bank-b"], 350_000, "{loan}");
    // The publication itself is public: any member lists it, signature checked.
    let partner = member_client(dir, "bank-b", "auditor");
    let (status, page) = get(
        &partner,
        &format!(
            "{}/v1/entries?type=view_keys.published&min_height={}",
            urls["bank-b"], published[0].height
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let listed: Vec<&Value> = page["entries"].as_array().unwrap().iter().collect();
    assert_eq!(listed.len(), 1, "{page}");
    assert_eq!(listed[0]["submitter"], "regulator");
    assert_eq!(listed[0]["proofs"]["verified"], true);

    // What the nodes refuse, whoever submits it.
    let node = NodeLink::Local(embedded.nodes[0].1.local.clone());
    let genesis = Genesis::load(&dir.join("consortium.toml")).unwrap();
    let ViewKeyring::Master { key: master, .. } = load_view_keys(
        &dir.join("regulator").join("view.key"),
        &genesis.consortium_id,
    )
    .unwrap() else {
        panic!("the regulator's view.key is its master key");
    };
    let regulator_signing = load_signing_key(&dir.join("regulator/keys/signing.key")).unwrap();
    let member_signing = load_signing_key(&dir.join("bank-a/keys/signing.key")).unwrap();
    let head = publisher.published().await.unwrap().head("regulator");
    assert_eq!(head, Some(published[0].entry));
    let publication = |submitter: &str,
                       signing: &veil_crypto::SigningKey,
                       previous: Option<EntryId>,
                       months: &[&String]| {
        let months: Vec<String> = months.iter().map(|m| (*m).clone()).collect();
        view_keys_publication(
            &genesis,
            submitter,
            &master,
            signing,
            previous,
            &months,
            now_ms(),
        )
        .unwrap()
    };
    // A month already published, again.
    let again = publication("regulator", &regulator_signing, head, &[&following]);
    assert_eq!(
        refusal(&node, &again).await,
        LinkError::Rejected(RejectionCode::ViewKeys)
    );
    // A month skipped.
    let skipping = publication(
        "regulator",
        &regulator_signing,
        head,
        &[&next_month(&after_that).unwrap()],
    );
    assert_eq!(
        refusal(&node, &skipping).await,
        LinkError::Rejected(RejectionCode::ViewKeys)
    );
    // A second chain beside the first.
    let fork = publication("regulator", &regulator_signing, None, &[&after_that]);
    assert_eq!(
        refusal(&node, &fork).await,
        LinkError::Rejected(RejectionCode::StaleViewKeys)
    );
    // A member's, signed with its own key; one in the regulator's name signed by a member.
    let by_member = publication("bank-a", &member_signing, None, &[&after_that]);
    assert_eq!(
        refusal(&node, &by_member).await,
        LinkError::Rejected(RejectionCode::Signature)
    );
    let forged = publication("regulator", &member_signing, head, &[&after_that]);
    assert_eq!(
        refusal(&node, &forged).await,
        LinkError::Rejected(RejectionCode::Signature)
    );
    // Through the node API too, with bank-a's own gateway identity: refused by the rules.
    let bank_a_node = member_node_link(dir, &genesis, "bank-a");
    assert_eq!(
        refusal(&bank_a_node, &by_member).await,
        LinkError::Rejected(RejectionCode::Signature)
    );
    // The regulator's gateway identity submits nothing but its own publications.
    let regulator_node = node_link(&genesis, &config);
    let loan_bytes = node
        .entry(&EntryId::from_hex(id).unwrap())
        .await
        .unwrap()
        .unwrap()
        .bytes;
    assert_eq!(
        regulator_node
            .submit(loan_bytes, Duration::from_secs(5))
            .await
            .unwrap_err(),
        LinkError::Forbidden
    );
    assert_eq!(
        refusal(&regulator_node, &by_member).await,
        LinkError::Forbidden
    );
    // Nothing refused reached the ledger: the chain still ends where the publisher left it.
    assert_eq!(
        publisher.last_month().await.unwrap().as_deref(),
        Some(following.as_str())
    );

    embedded.stop().await.unwrap();
}

/// A link to `member`'s node API with the node client certificate of `member`'s gateway.
fn member_node_link(dir: &std::path::Path, genesis: &Genesis, member: &str) -> NodeLink {
    let config = GatewayConfig::load(&dir.join(member).join("gateway.toml")).unwrap();
    node_link(genesis, &config)
}

/// A link to the node `config` names, with that gateway's node client certificate, trusting
/// only the CA of the node's member.
fn node_link(genesis: &Genesis, config: &GatewayConfig) -> NodeLink {
    let node_member = config.node.member.as_deref().unwrap_or(&config.id);
    let anchors = vec![
        genesis
            .member(node_member)
            .and_then(|m| m.ca.as_ref())
            .unwrap()
            .anchor()
            .clone(),
    ];
    let client = veil_node::tls::https_client(
        &veil_node::tls::TlsFiles {
            cert: &config.node.cert,
            key: &config.node.key,
            anchors: &anchors,
        },
        Duration::from_secs(30),
    )
    .unwrap();
    NodeLink::Remote(RemoteNode::new(client, config.node.api))
}
