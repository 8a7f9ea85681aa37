//! A gateway keeps the registry it followed in its own RocksDB store, written with its
//! follower's position in one synced batch: a restarted gateway screens loans from the stored
//! registry and follows only the updates finalized since, without replaying the chain.

use reqwest::StatusCode;
use serde_json::json;
use veil_tests::{Harness, member_client, post_json, register_borrowers};

const FIRST: &str = "110101199205051230";
const SECOND: &str = "110101199003074514";
const THIRD: &str = "440301198807155216";

fn loan(loan_id: &str, national_id: &str) -> serde_json::Value {
    let shares = [("bank-a", 3000u64), ("bank-b", 7000)];
    json!({"type": "loan.originated", "fields": {
        "loan_id": loan_id,
        "borrower": {"name": "Li Na", "national_id": national_id, "phone": "+86 139 0000 1111"},
        "principal": 300_000, "annual_rate_bps": 1500, "term_days": 300,
        "participants": shares.iter().map(|(b, s)| json!({"bank": b, "share_bps": s})).collect::<Vec<_>>(),
        "funding": veil_gateway::scenario::funding(300_000, &shares),
    }})
}

/// The last `registry.updated` entry on bank-a's node: its id and the roots it states.
async fn last_update(dir: &std::path::Path) -> (String, veil_circuits::screening::Roots) {
    let node = veil_tests::ConsortiumDir::node_link_in(dir, "bank-a");
    let page = node
        .entries_by_type("registry.updated", None, 100)
        .await
        .unwrap();
    let last = veil_node::ledger::Entry::decode(&page.last().unwrap().bytes).unwrap();
    let roots = veil_node::registry::update_of(&last).unwrap().roots;
    (last.header.id.to_hex(), roots)
}

/// Asserts what bank-a's gateway stored: the update `last_id` as its registry head, the roots
/// it states, and `members` borrowers on the KYC registry (none blocklisted).
fn assert_stored(
    dir: &std::path::Path,
    last_id: &str,
    last_roots: veil_circuits::screening::Roots,
    members: usize,
) {
    let store =
        veil_gateway::service::store::GatewayStore::open(&dir.join("bank-a/gateway-data")).unwrap();
    let (_, head) = store
        .registry_head()
        .unwrap()
        .expect("a stored registry head");
    assert_eq!(head.to_hex(), last_id);
    let snapshot = store.registry().unwrap();
    assert_eq!(
        veil_circuits::screening::stored::roots(&snapshot).unwrap(),
        last_roots
    );
    assert_eq!(
        veil_circuits::screening::stored::len(&snapshot).unwrap(),
        (members, 0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_gateway_screens_from_its_stored_registry() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let harness = Harness::start(dir).await;
    let clerk = member_client(dir, "bank-a", "clerk");
    let entries = harness.url("bank-a", "/v1/entries");
    register_borrowers(&clerk, &entries, &[FIRST]).await;
    register_borrowers(&clerk, &entries, &[SECOND]).await;
    // A loan makes the gateway follow both updates into its store.
    let (status, body) = post_json(&clerk, &entries, &loan("R-1", FIRST), None).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (last_id, last_roots) = last_update(dir).await;
    harness.embedded.stop().await.unwrap();

    // What the gateway stored: the registry after the last update, and that update as its head.
    assert_stored(dir, &last_id, last_roots, 2);

    // Restarted: a loan for a registered borrower is screened from the stored registry, and a
    // borrower registered after the restart is followed from the stored position.
    let harness = Harness::start(dir).await;
    let clerk = member_client(dir, "bank-a", "clerk");
    let entries = harness.url("bank-a", "/v1/entries");
    let (status, body) = post_json(&clerk, &entries, &loan("R-2", SECOND), None).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = post_json(&clerk, &entries, &loan("R-3", THIRD), None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    register_borrowers(&clerk, &entries, &[THIRD]).await;
    let (status, body) = post_json(&clerk, &entries, &loan("R-3", THIRD), None).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (last_id, last_roots) = last_update(dir).await;
    harness.embedded.stop().await.unwrap();
    assert_stored(dir, &last_id, last_roots, 3);
}
