//! Every bank's node and gateway, and the regulator's read-only gateway, as their own OS
//! processes run from `veil init`'s configs — as they would run on separate hosts — serve the
//! API end to end: a write through the originator's gateway is read, as each party may see
//! it, through the partner's, an outsider's and the regulator's gateways.

use std::path::Path;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use veil_gateway::consortium::config::GatewayConfig;
use veil_node::link::NodeLink;
use veil_tests::{
    BORROWER, ConsortiumDir, GatewayProcess, NodeProcess, eventually, get_json, get_until_found,
    loan_request, member_client, post_json, register_borrowers, regulator_client,
};

const WAIT: Duration = Duration::from_secs(120);

fn gateway_url(dir: &Path, id: &str) -> String {
    let config = GatewayConfig::load(&dir.join(id).join("gateway.toml")).unwrap();
    format!("https://{}", config.listen)
}

fn redacted(value: &Value) -> bool {
    value.get("redacted") == Some(&Value::Bool(true))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_and_gateways_as_separate_processes_serve_the_api() {
    let consortium = ConsortiumDir::init(4);
    let dir = consortium.path();
    let mut nodes: Vec<NodeProcess> = (0..4).map(|i| NodeProcess::start(&consortium, i)).collect();
    let links: Vec<NodeLink> = (0..4).map(|i| consortium.node_link(i)).collect();
    veil_tests::nodes_answering(&mut nodes, &links, WAIT).await;
    let mut gateways: Vec<(String, GatewayProcess)> = ["bank-a", "bank-b", "bank-c", "regulator"]
        .into_iter()
        .map(|id| (id.to_owned(), GatewayProcess::gateway(dir, id)))
        .collect();

    let clerk = member_client(dir, "bank-a", "clerk");
    let readers = [
        ("bank-a", member_client(dir, "bank-a", "auditor")),
        ("bank-b", member_client(dir, "bank-b", "auditor")),
        ("bank-c", member_client(dir, "bank-c", "auditor")),
        ("regulator", regulator_client(dir)),
    ];
    for (id, client) in &readers {
        let url = format!("{}/readyz", gateway_url(dir, id));
        eventually(WAIT, "a gateway to be ready", || async {
            let response = client.get(&url).send().await.ok()?;
            (response.status() == StatusCode::OK).then_some(())
        })
        .await;
    }

    // The originator writes through its own gateway process.
    let writes = format!("{}/v1/entries", gateway_url(dir, "bank-a"));
    register_borrowers(&clerk, &writes, &[BORROWER]).await;
    let (status_code, written) =
        post_json(&clerk, &writes, &loan_request("L-7"), Some("hosts-1")).await;
    assert_eq!(status_code, StatusCode::CREATED, "{written}");
    let id = written["id"].as_str().unwrap().to_owned();

    // Each party reads it through its own gateway, from its own node.
    for (who, client) in &readers {
        let url = format!("{}/v1/entries/{id}", gateway_url(dir, who));
        let (status_code, entry) = get_until_found(client, &url).await;
        assert_eq!(status_code, StatusCode::OK, "{who}: {entry}");
        assert_eq!(entry["proofs"]["verified"], true, "{who}");
        let fields = &entry["fields"];
        let reads_borrower = matches!(*who, "bank-a" | "regulator");
        let participant = *who != "bank-c";
        assert_eq!(
            !redacted(&fields["borrower"]["name"]),
            reads_borrower,
            "{who}: {entry}"
        );
        if reads_borrower {
            assert_eq!(fields["borrower"]["name"], "Zhang Wei", "{who}");
        }
        assert_eq!(!redacted(&fields["principal"]), participant, "{who}");
        if participant {
            assert_eq!(fields["principal"], json!(500000), "{who}");
        } else {
            assert!(fields["principal"]["commitment"].is_string(), "{entry}");
        }
    }

    // The regulator's gateway never writes.
    let regulator_writes = format!("{}/v1/entries", gateway_url(dir, "regulator"));
    let (status_code, _) = post_json(
        &regulator_client(dir),
        &regulator_writes,
        &loan_request("L-8"),
        None,
    )
    .await;
    assert_eq!(status_code, StatusCode::FORBIDDEN);

    // A gateway stopped with SIGTERM exits cleanly; restarted, it still knows its
    // idempotency keys (RocksDB under its data directory).
    let (_, bank_a) = &mut gateways[0];
    assert!(bank_a.terminate(), "{}", bank_a.log());
    bank_a.restart();
    let ready = format!("{}/readyz", gateway_url(dir, "bank-a"));
    eventually(WAIT, "the restarted gateway to be ready", || async {
        let response = clerk.get(&ready).send().await.ok()?;
        (response.status() == StatusCode::OK).then_some(())
    })
    .await;
    let (status_code, again) =
        post_json(&clerk, &writes, &loan_request("L-7"), Some("hosts-1")).await;
    assert_eq!(status_code, StatusCode::CREATED, "{again}");
    assert_eq!(again["id"], json!(id));

    let (status_code, page) = get_json(
        &member_client(dir, "bank-a", "auditor"),
        &format!(
            "{}/v1/entries?type=loan.originated",
            gateway_url(dir, "bank-a")
        ),
    )
    .await;
    assert_eq!(status_code, StatusCode::OK, "{page}");
    assert_eq!(page["entries"].as_array().unwrap().len(), 1, "no duplicate");

    for (id, gateway) in &mut gateways {
        assert!(gateway.terminate(), "{id}: {}", gateway.log());
    }
}
