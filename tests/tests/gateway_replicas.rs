//! Two `veil gateway` processes of one bank in front of its node (as behind a TCP load
//! balancer, or two URLs a client uses alternately): a request sent with one Idempotency-Key
//! to either, in turn or at once, is written once and answered alike by both.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use veil_gateway::consortium::config::GatewayConfig;
use veil_node::link::NodeLink;
use veil_tests::{
    BORROWER, ConsortiumDir, GatewayProcess, NodeProcess, eventually, free_base_port, loan_request,
    member_client, post_json, register_borrowers,
};

const WAIT: Duration = Duration::from_secs(120);

fn gateway_url(config: &Path) -> String {
    format!("https://{}", GatewayConfig::load(config).unwrap().listen)
}

/// POSTs until the answer is not `409 in-progress` (another process of the bank's gateway is
/// writing the same request): what a client following the problem's Retry-After does.
async fn post_until_settled(
    client: &reqwest::Client,
    url: &str,
    body: &Value,
    key: &str,
) -> (StatusCode, Value) {
    eventually(WAIT, "an answer other than in-progress", || async {
        let (status, answer) = post_json(client, url, body, Some(key)).await;
        let in_progress = status == StatusCode::CONFLICT
            && answer["type"]
                .as_str()
                .is_some_and(|t| t.ends_with("/in-progress"));
        if in_progress {
            tokio::time::sleep(Duration::from_millis(200)).await;
            None
        } else {
            Some((status, answer))
        }
    })
    .await
}

async fn count(node: &NodeLink, kind: &str) -> usize {
    node.entries_by_type(kind, None, 1_000).await.unwrap().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_gateway_processes_of_one_bank_write_a_keyed_request_once_and_answer_alike() {
    let consortium = ConsortiumDir::init(4);
    let dir = consortium.path();
    let mut nodes: Vec<NodeProcess> = (0..4).map(|i| NodeProcess::start(&consortium, i)).collect();
    let links: Vec<NodeLink> = (0..4).map(|i| consortium.node_link(i)).collect();
    veil_tests::nodes_answering(&mut nodes, &links, WAIT).await;
    // Every member's gateway (borrower references need the members' threshold OPRF), and a
    // second process of bank-a's: its own port and data directory, the same keys and node.
    let _gateways: Vec<GatewayProcess> = ["bank-a", "bank-b", "bank-c", "bank-d"]
        .into_iter()
        .map(|id| GatewayProcess::gateway(dir, id))
        .collect();
    let lease = free_base_port(1, 0);
    let first_config = dir.join("bank-a").join("gateway.toml");
    let mut config = GatewayConfig::load(&first_config).unwrap();
    config.listen = SocketAddr::from(([127, 0, 0, 1], lease.base() + 2));
    config.data_dir = dir.join("bank-a").join("gateway-2-data");
    let second_config = dir.join("bank-a").join("gateway-2.toml");
    std::fs::write(&second_config, toml::to_string(&config).unwrap()).unwrap();
    let _second = GatewayProcess::with_config(
        "gateway",
        second_config.clone(),
        dir.join("bank-a-gateway-2.log"),
        true,
    );

    let clerk = member_client(dir, "bank-a", "clerk");
    let urls: Vec<String> = [&first_config, &second_config]
        .into_iter()
        .map(|c| format!("{}/v1/entries", gateway_url(c)))
        .collect();
    for url in &urls {
        let ready = url.replace("/v1/entries", "/readyz");
        eventually(WAIT, "both gateway processes to be ready", || async {
            let response = clerk.get(&ready).send().await.ok()?;
            (response.status() == StatusCode::OK).then_some(())
        })
        .await;
    }
    register_borrowers(&clerk, &urls[0], &[BORROWER]).await;

    // A loan written through the first process; the same request and key through the second
    // answers the same entry and height, and the ledger holds one loan.
    let loan = loan_request("L-R1");
    let (status, first) = post_json(&clerk, &urls[0], &loan, Some("replica-loan-1")).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (status, second) = post_until_settled(&clerk, &urls[1], &loan, "replica-loan-1").await;
    if status != StatusCode::CREATED {
        let log = std::fs::read_to_string(dir.join("bank-a-gateway-2.log")).unwrap_or_default();
        eprintln!("{log}");
    }
    assert_eq!(status, StatusCode::CREATED, "{second}");
    assert_eq!(
        (&second["id"], &second["height"]),
        (&first["id"], &first["height"])
    );
    // Another body for the same loan id, under another key, through the second process: the
    // ledger's loan is not this request's, so it is refused, not answered as written.
    let mut other = loan.clone();
    other["fields"]["annual_rate_bps"] = json!(2400);
    let (status, refused) = post_json(&clerk, &urls[1], &other, Some("replica-loan-2")).await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert_eq!(count(&links[0], "loan.originated").await, 1);

    // A repayment (random-id entry without a key) sent with one key through the second
    // process, then through the first: one entry, one answer.
    let repay = json!({"type": "loan.repaid", "fields": {
        "loan_id": "L-R1", "period": "2026-11", "amount": 45001, "principal_part": 40000,
        "interest_part": 5001
    }});
    let (status, first) = post_json(&clerk, &urls[1], &repay, Some("replica-repay-1")).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (status, second) = post_until_settled(&clerk, &urls[0], &repay, "replica-repay-1").await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    assert_eq!(
        (&second["id"], &second["height"]),
        (&first["id"], &first["height"])
    );
    assert_eq!(count(&links[0], "loan.repaid").await, 1);

    // The same repayment request and key through both processes at once: one entry.
    let (a, b) = tokio::join!(
        post_until_settled(&clerk, &urls[0], &repay, "replica-repay-2"),
        post_until_settled(&clerk, &urls[1], &repay, "replica-repay-2"),
    );
    assert_eq!(a.0, StatusCode::CREATED, "{}", a.1);
    assert_eq!(b.0, StatusCode::CREATED, "{}", b.1);
    assert_eq!((&a.1["id"], &a.1["height"]), (&b.1["id"], &b.1["height"]));
    assert_eq!(count(&links[0], "loan.repaid").await, 2);

    // Without a key, two requests are two repayments (as with one process).
    let (status, _) = post_json(&clerk, &urls[1], &repay, None).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(count(&links[0], "loan.repaid").await, 3);

    // What cannot be built again once written — the last of the principal repaid, the period
    // settled — retried through the other process is answered as written, not refused.
    let last = json!({"type": "loan.repaid", "fields": {
        "loan_id": "L-R1", "period": "2026-11", "amount": 385000, "principal_part": 380000,
        "interest_part": 5000
    }});
    let (status, first) = post_json(&clerk, &urls[0], &last, Some("replica-repay-last")).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (status, again) = post_json(&clerk, &urls[0], &last, None).await;
    assert!(
        status.is_client_error(),
        "repaid beyond the principal: {again}"
    );
    let (status, second) = post_until_settled(&clerk, &urls[1], &last, "replica-repay-last").await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    assert_eq!(
        (&second["id"], &second["height"]),
        (&first["id"], &first["height"])
    );
    let close = json!({"type": "settlement.closed", "fields": {"period": "2026-11"}});
    let (status, first) = post_json(&clerk, &urls[0], &close, Some("replica-close")).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (status, second) = post_until_settled(&clerk, &urls[1], &close, "replica-close").await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    assert_eq!(
        (&second["id"], &second["height"]),
        (&first["id"], &first["height"])
    );
    assert_eq!(count(&links[0], "loan.repaid").await, 4);
    assert_eq!(count(&links[0], "settlement.closed").await, 1);
}
