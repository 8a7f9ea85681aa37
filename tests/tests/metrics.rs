//! What an operator alerts on, as Prometheus scrapes it: every `/metrics` a node process and a
//! gateway serve passes `promtool check metrics`, and the series move with what happened
//! (proofs made and verified by kind, refusals by reason, height and lag, the proving queue).
//! A node process names its own series `veil_node_veil_*` (the runtime adds `veil_node_`).

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use veil_node::link::NodeLink;
use veil_node::testkit::{TestConsortium, with_corrupted_range_proof};
use veil_tests::{
    ConsortiumDir, Harness, NodeProcess, eventually, metric_sum, nodes_answering, post_json,
    promtool_check, status, submit_until_finalized,
};

const WAIT: Duration = Duration::from_secs(120);

async fn node_metrics(dir: &ConsortiumDir, bank: &str) -> String {
    let (client, address) = ConsortiumDir::node_client_in(dir.path(), bank);
    let response = client
        .get(format!("https://{address}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_metrics_pass_promtool_and_count_proofs_refusals_height_and_lag() {
    let dir = ConsortiumDir::init_unscreened(4);
    let mut nodes: Vec<NodeProcess> = (0..4).map(|i| NodeProcess::start(&dir, i)).collect();
    let consortium = TestConsortium::from_dir(dir.path());
    let links: Vec<NodeLink> = (0..4).map(|i| dir.node_link(i)).collect();
    nodes_answering(&mut nodes, &links, WAIT).await;

    let loan = consortium.loan(0, 1, 150_000, &[(1, 5000)]);
    submit_until_finalized(&links[0], &loan, WAIT).await;
    let repayment = consortium.repayment(&loan, 20_000, "2026-11");
    let receipt = submit_until_finalized(&links[0], &repayment, WAIT).await;

    // A member's gateway submits an entry whose range proof is corrupted: refused, counted.
    let bad = with_corrupted_range_proof(
        &consortium.loan(0, 2, 90_000, &[(2, 4000)]),
        &consortium.members[0].signing,
    );
    let refused = links[0].submit(bad.encode(), Duration::from_secs(10)).await;
    assert!(refused.is_err(), "a forged range proof was accepted");

    // bank-b's node has applied the repayment's block.
    eventually(WAIT, "bank-b to apply the repayment", || async {
        (status(&links[1]).await?.height >= receipt.height).then_some(())
    })
    .await;
    let text = node_metrics(&dir, "bank-b").await;
    promtool_check(&text);
    for proof in ["signature", "range", "relation", "audit", "settlement"] {
        let verified = metric_sum(
            &text,
            "veil_proof_verify_seconds_count",
            &format!("proof=\"{proof}\""),
        )
        .unwrap_or_else(|| panic!("no {proof} verification time in:\n{text}"));
        assert!(verified >= 1.0, "{proof}: {verified}\n{text}");
    }
    let height = metric_sum(&text, "veil_height", "").unwrap();
    let tip = metric_sum(&text, "veil_finalized_tip", "").unwrap();
    assert!(height >= receipt.height as f64, "height {height}");
    assert!(tip >= height, "tip {tip} < height {height}");
    let lag = metric_sum(&text, "veil_lag_blocks", "").unwrap();
    assert_eq!(lag, (tip - height).max(0.0), "{text}");

    let text = node_metrics(&dir, "bank-a").await;
    promtool_check(&text);
    let rejected = metric_sum(&text, "veil_rejections_total", "reason=\"proof\"")
        .unwrap_or_else(|| panic!("no proof rejection in:\n{text}"));
    assert!(rejected >= 1.0, "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_metrics_pass_promtool_and_count_proving_verifying_and_refusals() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let (harness, clerk, entries) = Harness::with_example_borrower(dir).await;

    let (status, written) =
        post_json(&clerk, &entries, &veil_tests::loan_request("L-1"), None).await;
    assert_eq!(status, StatusCode::CREATED, "{written}");
    let repay = json!({"type": "loan.repaid", "fields": {
        "loan_id": "L-1", "period": "2026-11", "amount": 45001, "principal_part": 40000,
        "interest_part": 5001
    }});
    let (status, repaid) = post_json(&clerk, &entries, &repay, None).await;
    assert_eq!(status, StatusCode::CREATED, "{repaid}");
    // Reading verifies the entry's proofs at the gateway.
    let read = clerk
        .get(harness.url(
            "bank-a",
            &format!("/v1/entries/{}", repaid["id"].as_str().unwrap()),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::OK);
    // Two refusals: a malformed body and an unknown entry type.
    let (status, _) = post_json(&clerk, &entries, &json!({"type": "loan.repaid"}), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = post_json(
        &clerk,
        &entries,
        &json!({"type": "loan.forgiven", "fields": {}}),
        None,
    )
    .await;
    assert!(status.is_client_error(), "{status}");

    let text = clerk
        .get(harness.url("bank-a", "/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    promtool_check(&text);
    for proof in ["range", "relation", "audit", "screening", "settlement"] {
        let proved = metric_sum(
            &text,
            "veil_gateway_proving_seconds_count",
            &format!("proof=\"{proof}\""),
        )
        .unwrap_or_else(|| panic!("no {proof} proving time in:\n{text}"));
        assert!(proved >= 1.0, "{proof}: {proved}\n{text}");
    }
    for proof in ["signature", "range", "settlement"] {
        let verified = metric_sum(
            &text,
            "veil_gateway_proof_verify_seconds_count",
            &format!("proof=\"{proof}\""),
        )
        .unwrap_or_else(|| panic!("no {proof} verification time in:\n{text}"));
        assert!(verified >= 1.0, "{proof}: {verified}\n{text}");
    }
    let malformed = metric_sum(
        &text,
        "veil_gateway_refusals_total",
        "problem=\"malformed-request\"",
    )
    .unwrap_or(0.0);
    assert!(malformed >= 1.0, "{text}");
    let refusals = metric_sum(&text, "veil_gateway_refusals_total", "").unwrap_or(0.0);
    assert!(refusals >= 2.0, "{text}");
    // Nothing is proving now: the queue is empty and no job runs.
    assert_eq!(
        metric_sum(&text, "veil_gateway_proving_queue", ""),
        Some(0.0)
    );
    assert_eq!(
        metric_sum(&text, "veil_gateway_proving_running", ""),
        Some(0.0)
    );
    assert!(metric_sum(&text, "veil_gateway_alerts", "").is_some());
}
