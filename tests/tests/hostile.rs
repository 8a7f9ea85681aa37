//! Unusual and hostile requests on a real consortium (real TLS with client certificates, the
//! BFT engine over loopback, RocksDB): for each class of fault, the answer a careful client
//! relies on, and that nothing reached the ledger when the answer says so.
//!
//! - any body two JSON readers could read differently is 400 (I-JSON, RFC 7493);
//! - `Idempotency-Key` as draft-ietf-httpapi-idempotency-key-header specifies;
//! - one loan per business id and originator, under concurrency and across gateway processes;
//! - every non-2xx answer is `application/problem+json` (RFC 9457), framework and HTTP-framing
//!   rejections included, on gateways and on the node API;
//! - a stalled body is 408, named as such;
//! - amounts are bounded, every accepted period settles, and a repayment never repays more
//!   principal than is outstanding;
//! - a client reads its writes on any gateway with `min_height`;
//! - nothing an unauthenticated peer sends makes the gateway log at WARN.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use veil_gateway::consortium::config::GatewayConfig;
use veil_gateway::consortium::layout;
use veil_node::tls::TlsFiles;
use veil_policies::Principal;
use veil_tests::{
    ConsortiumDir, Harness, NodeProcess, get_json as get, loan_request, member_client,
    post_json as post,
};

/// A raw HTTP/1.1 exchange over mutual TLS as bank-a's clerk: sends `head_and_body`, then
/// reads until the server closes or a complete response arrived (at most `wait`). Returns
/// status, content type and body.
fn raw(dir: &Path, addr: &str, bytes: &[u8], wait: Duration) -> (u16, String, String) {
    let (cert, key) = veil_gateway::client::identity_files(dir, "bank-a", Some("clerk")).unwrap();
    raw_as(dir, addr, &cert, &key, bytes, wait)
}

fn raw_as(
    dir: &Path,
    addr: &str,
    cert: &Path,
    key: &Path,
    bytes: &[u8],
    wait: Duration,
) -> (u16, String, String) {
    let genesis = veil_node::genesis::Genesis::load(&layout::genesis(dir)).unwrap();
    let anchors = veil_node::tls::anchors(&genesis.certificate_authorities());
    let config = veil_node::tls::client_config(&TlsFiles {
        cert,
        key,
        anchors: &anchors,
    })
    .unwrap();
    let host: std::net::SocketAddr = addr.parse().unwrap();
    let name = rustls::pki_types::ServerName::IpAddress(host.ip().into());
    let connection = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let tcp = TcpStream::connect(host).unwrap();
    tcp.set_read_timeout(Some(wait)).unwrap();
    let mut tls = rustls::StreamOwned::new(connection, tcp);
    tls.write_all(bytes).unwrap();
    tls.flush().unwrap();
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match tls.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => received.extend_from_slice(&buffer[..n]),
        }
        if let Some(done) = complete(&received) {
            received.truncate(done);
            break;
        }
    }
    let text = String::from_utf8_lossy(&received).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no response: {text:?}"));
    let status = head[9..12].parse().unwrap();
    let content_type = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type:")
                .map(|v| v.trim().to_owned())
        })
        .unwrap_or_default();
    (status, content_type, body.to_owned())
}

/// The length of the first complete response in `bytes` (head with Content-Length), if any.
fn complete(bytes: &[u8]) -> Option<usize> {
    let text = String::from_utf8_lossy(bytes);
    let (head, _) = text.split_once("\r\n\r\n")?;
    let length: usize = head.lines().find_map(|l| {
        l.to_ascii_lowercase()
            .strip_prefix("content-length:")
            .map(|v| v.trim().parse().unwrap_or(0))
    })?;
    let total = head.len() + 4 + length;
    (bytes.len() >= total).then_some(total)
}

fn host_of(url: &str) -> String {
    url.trim_start_matches("https://")
        .split('/')
        .next()
        .unwrap()
        .to_owned()
}

fn assert_problem(what: &str, (status, content_type, body): &(u16, String, String), expected: u16) {
    assert_eq!(*status, expected, "{what}: {body}");
    assert_eq!(
        content_type, "application/problem+json",
        "{what}: {status} {body}"
    );
    let problem: Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("{what}: {body}"));
    assert_eq!(problem["status"], expected, "{what}: {problem}");
    assert!(
        problem["type"].as_str().is_some() && problem["title"].as_str().is_some(),
        "{what}: {problem}"
    );
}

async fn raw_async(
    dir: &Path,
    addr: &str,
    bytes: Vec<u8>,
    wait: Duration,
) -> (u16, String, String) {
    let dir = dir.to_path_buf();
    let addr = addr.to_owned();
    tokio::task::spawn_blocking(move || raw(&dir, &addr, &bytes, wait))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_is_problem_json_even_before_a_handler_runs() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let harness = Harness::start(dir).await;
    let gateway = host_of(&harness.url("bank-a", ""));
    let wait = Duration::from_secs(30);
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        (
            "an unknown method",
            b"DELETE /v1/entries HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n".to_vec(),
            405,
        ),
        (
            "a path that is not UTF-8",
            b"GET /v1/loans/%FF HTTP/1.1\r\nhost: x\r\n\r\n".to_vec(),
            400,
        ),
        (
            "a query that does not decode",
            b"GET /v1/entries?limit=%FF HTTP/1.1\r\nhost: x\r\n\r\n".to_vec(),
            400,
        ),
        (
            "an unknown path",
            b"GET /v2/nothing HTTP/1.1\r\nhost: x\r\n\r\n".to_vec(),
            404,
        ),
        (
            "a signed Content-Length",
            b"POST /v1/entries HTTP/1.1\r\nhost: x\r\ncontent-length: +2\r\n\r\n{}".to_vec(),
            400,
        ),
        (
            "two different Content-Lengths",
            b"POST /v1/entries HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\n{}"
                .to_vec(),
            400,
        ),
        (
            "a malformed request line",
            b"GET  /v1/entries HTTP/1.1 x\r\nhost: x\r\n\r\n".to_vec(),
            400,
        ),
        (
            "a query parameter given twice",
            b"GET /v1/entries?limit=1&limit=100 HTTP/1.1\r\nhost: x\r\n\r\n".to_vec(),
            400,
        ),
        (
            "an HTTP/1.1 request without Host",
            b"GET /v1/entries HTTP/1.1\r\n\r\n".to_vec(),
            400,
        ),
        (
            "two Host fields",
            b"GET /v1/entries HTTP/1.1\r\nhost: x\r\nhost: y\r\n\r\n".to_vec(),
            400,
        ),
        (
            "a body in a Content-Encoding the gateway would not decode",
            b"POST /v1/entries HTTP/1.1\r\nhost: x\r\ncontent-encoding: gzip\r\ncontent-length: 2\r\n\r\n{}"
                .to_vec(),
            415,
        ),
        (
            "JSON in another charset",
            b"POST /v1/entries HTTP/1.1\r\nhost: x\r\ncontent-type: application/json; charset=utf-16\r\ncontent-length: 2\r\n\r\n{}"
                .to_vec(),
            415,
        ),
        (
            "a limit out of range",
            b"GET /v1/entries?limit=0 HTTP/1.1\r\nhost: x\r\n\r\n".to_vec(),
            400,
        ),
    ];
    for (what, bytes, expected) in cases {
        let answer = raw_async(dir, &gateway, bytes, wait).await;
        assert_problem(what, &answer, expected);
    }

    // A body that stops arriving: 408 naming it, not a write timeout (and nothing written).
    let stalled = b"POST /v1/entries HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{\"type\":".to_vec();
    let answer = raw_async(dir, &gateway, stalled, Duration::from_secs(40)).await;
    assert_problem("a stalled body", &answer, 408);
    assert!(answer.2.contains("stopped arriving"), "{}", answer.2);

    // The node API: the same, for its own clients (the gateways).
    let node_api = veil_node::config::NodeConfig::load(&layout::node_config(dir, "bank-a"))
        .unwrap()
        .api
        .listen
        .to_string();
    // bank-a's gateway's identity towards its node.
    let config = GatewayConfig::load(&layout::gateway_config(dir, "bank-a")).unwrap();
    let (cert, key) = (config.node.cert.clone(), config.node.key.clone());
    for (what, bytes, expected) in [
        (
            "node: an unknown path",
            b"GET /v2/nothing HTTP/1.1\r\nhost: x\r\n\r\n".to_vec(),
            404,
        ),
        (
            "node: an unknown method",
            b"DELETE /v1/submit HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n".to_vec(),
            405,
        ),
        (
            "node: a signed Content-Length",
            b"POST /v1/submit HTTP/1.1\r\nhost: x\r\ncontent-length: +2\r\n\r\n{}".to_vec(),
            400,
        ),
        (
            "node: an entry that does not decode",
            b"POST /v1/submit HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{}".to_vec(),
            422,
        ),
    ] {
        let (dir, node_api, cert, key) = (
            dir.to_path_buf(),
            node_api.clone(),
            cert.clone(),
            key.clone(),
        );
        let answer =
            tokio::task::spawn_blocking(move || raw_as(&dir, &node_api, &cert, &key, &bytes, wait))
                .await
                .unwrap();
        assert_problem(what, &answer, expected);
    }
    harness.embedded.stop().await.unwrap();
}

/// Repayments of loan `L` in `period` (as bank-a, its originator, sees them).
async fn repayments(clerk: &reqwest::Client, url: &str, loan_id: &str) -> Vec<Value> {
    let (status, loan) = get(clerk, &format!("{url}/v1/loans/{loan_id}")).await;
    assert_eq!(status, StatusCode::OK, "{loan}");
    loan["repayments"].as_array().cloned().unwrap_or_default()
}

fn repayment(loan_id: &str, period: &str, amount: u64, principal_part: u64) -> Value {
    json!({"type": "loan.repaid", "fields": {"loan_id": loan_id, "period": period,
        "amount": amount, "principal_part": principal_part, "interest_part": amount - principal_part}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_that_could_be_read_two_ways_or_repeated_change_nothing() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let (harness, clerk, entries) = Harness::with_example_borrower(dir).await;
    let bank_a = harness.url("bank-a", "");
    let (status, loan) = post(&clerk, &entries, &loan_request("L-1"), None).await;
    assert_eq!(status, StatusCode::CREATED, "{loan}");

    // 1. Bodies two conforming JSON readers could read differently: 400, nothing written.
    for body in [
        r#"{"type":"loan.repaid","fields":{"loan_id":"L-1","period":"2030-01","amount":1,"amount":45001,"principal_part":40000,"interest_part":5001}}"#,
        r#"{"type":"loan.repaid","fields":{"loan_id":"L-1","period":"2030-01","amount":45001,"\u0061mount":1,"principal_part":40000,"interest_part":5001}}"#,
        r#"{"type":"loan.repaid","fields":{"loan_id":"L-1","loan_id":"L-2","period":"2030-01","amount":45001,"principal_part":40000,"interest_part":5001}}"#,
        r#"{"type":"loan.repaid","fields":{"loan_id":"L-1","period":"2030-01","amount":9007199254740993,"principal_part":9007199254740993,"interest_part":0}}"#,
        r#"{"type":"loan.repaid","fields":{"loan_id":"L-1","period":"2030-01","amount":45001,"principal_part":40000,"interest_part":5001}} {}"#,
    ] {
        let response = clerk
            .post(&entries)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
    }
    assert!(repayments(&clerk, &bank_a, "L-1").await.is_empty());

    // 2. Idempotency-Key (draft-ietf-httpapi-idempotency-key-header).
    let body = repayment("L-1", "2030-01", 45_001, 40_000);
    // Two field lines, or a list on one: which key is it? 400, nothing written.
    let two_lines = clerk
        .post(&entries)
        .header("Idempotency-Key", "a")
        .header("Idempotency-Key", "b")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(two_lines.status(), StatusCode::BAD_REQUEST);
    for value in ["a, b", "\"a\", \"b\"", "\"a\";p=1", "\"unterminated"] {
        let (status, problem) = post(&clerk, &entries, &body, Some(value)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{value}: {problem}");
    }
    assert!(repayments(&clerk, &bank_a, "L-1").await.is_empty());
    // A quoted Structured Field String and the bare key name the same key.
    let (status, first) = post(&clerk, &entries, &body, Some("\"pay-1\"")).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (status, again) = post(&clerk, &entries, &body, Some("pay-1")).await;
    assert_eq!(status, StatusCode::CREATED, "{again}");
    assert_eq!(first["id"], again["id"]);
    let other = repayment("L-1", "2030-01", 45_002, 40_000);
    let (status, problem) = post(&clerk, &entries, &other, Some("pay-1")).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(repayments(&clerk, &bank_a, "L-1").await.len(), 1);
    // A retry while the first request is still being processed: 409 in-progress, then the
    // same answer once it completed; one repayment either way.
    let body = repayment("L-1", "2030-02", 45_001, 40_000);
    let (first, second) = tokio::join!(post(&clerk, &entries, &body, Some("pay-2")), async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        post(&clerk, &entries, &body, Some("pay-2")).await
    });
    assert_eq!(first.0, StatusCode::CREATED, "{}", first.1);
    if second.0 == StatusCode::CONFLICT {
        assert_eq!(second.1["type"], "https://veil.dev/problems/in-progress");
        let (status, retried) = post(&clerk, &entries, &body, Some("pay-2")).await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(retried["id"], first.1["id"]);
    } else {
        assert_eq!(second.0, StatusCode::CREATED, "{}", second.1);
        assert_eq!(second.1["id"], first.1["id"]);
    }
    assert_eq!(repayments(&clerk, &bank_a, "L-1").await.len(), 2);
    // A loan the nodes refused because another member changed the registry meanwhile wrote
    // nothing: the same key and body then succeed. (The race is provoked by bank-b updating
    // the registry while bank-a proves; it is retried until it happens, at most 8 times.)
    let bank_b = member_client(dir, "bank-b", "clerk");
    let bank_b_entries = harness.url("bank-b", "/v1/entries");
    let mut stale_seen = false;
    for attempt in 0..8 {
        let loan = loan_request(&format!("L-STALE-{attempt}"));
        let key = format!("stale-{attempt}");
        let update = json!({"type": "registry.updated", "fields": {"blocklist": {"add": [
            veil_gateway::entry::national_id::generate("110101", "19900307", 100 + attempt)]}}});
        let (loan_answer, _) = tokio::join!(
            post(&clerk, &entries, &loan, Some(&key)),
            post(&bank_b, &bank_b_entries, &update, None),
        );
        if loan_answer.0 == StatusCode::CREATED {
            continue;
        }
        assert_eq!(loan_answer.0, StatusCode::CONFLICT, "{}", loan_answer.1);
        assert!(
            loan_answer.1["detail"]
                .as_str()
                .unwrap_or("")
                .contains("registry changed"),
            "{}",
            loan_answer.1
        );
        let (status, retried) = post(&clerk, &entries, &loan, Some(&key)).await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "the same key and body after 409: {retried}"
        );
        stale_seen = true;
        break;
    }
    if !stale_seen {
        eprintln!("note: no stale-registry refusal was provoked in 8 attempts");
    }

    // 3. One loan per business id: concurrent requests (with and without keys) and a second
    // gateway process of bank-a (its own store, the same keys and node) all race; exactly
    // one loan is written.
    let config = GatewayConfig::load(&layout::gateway_config(dir, "bank-a")).unwrap();
    let second_store = tempfile::tempdir().unwrap();
    let second = veil_gateway::api::server::build(
        &GatewayConfig {
            data_dir: second_store.path().to_path_buf(),
            ..config
        },
        Some(veil_node::link::NodeLink::Local(
            harness.embedded.nodes[0].1.local.clone(),
        )),
    )
    .unwrap();
    let principal = Principal::Member {
        bank: "bank-a".into(),
        role: "clerk".into(),
    };
    let request = loan_request("L-RACE");
    let bytes = serde_json::to_vec(&request).unwrap();
    let (a, b, c) = tokio::join!(
        post(&clerk, &entries, &request, Some("race-a")),
        async {
            tokio::time::sleep(Duration::from_millis(250)).await;
            post(&clerk, &entries, &request, None).await
        },
        second.write(&principal, &bytes, None),
    );
    let created = [
        a.0 == StatusCode::CREATED,
        b.0 == StatusCode::CREATED,
        c.is_ok(),
    ];
    assert_eq!(
        created.iter().filter(|c| **c).count(),
        1,
        "exactly one of the racing originations may succeed: {a:?} {b:?} {c:?}"
    );
    for (status, body) in [&a, &b] {
        if *status != StatusCode::CREATED {
            assert_eq!(*status, StatusCode::CONFLICT, "{body}");
        }
    }
    // The ledger holds one loan L-RACE, and a partner's gateway shows that one.
    let (status, page) = get(
        &clerk,
        &format!("{bank_a}/v1/entries?type=loan.originated&limit=100"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let races: Vec<&Value> = page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["fields"]["loan_id"] == "L-RACE")
        .collect();
    assert_eq!(races.len(), 1, "{races:?}");
    let height = races[0]["height"].as_u64().unwrap_or(0);

    // 9. Read-your-writes on another bank's gateway: with min_height, never a stale 404.
    let partner = member_client(dir, "bank-b", "auditor");
    let (status, seen) = get(
        &partner,
        &harness.url("bank-b", &format!("/v1/loans/L-RACE?min_height={height}")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{seen}");
    assert_eq!(seen["entry"], races[0]["id"]);
    let written = post(&clerk, &entries, &loan_request("L-RYW"), None).await;
    assert_eq!(written.0, StatusCode::CREATED);
    let response = partner
        .get(harness.url(
            "bank-b",
            &format!("/v1/loans/L-RYW?min_height={}", written.1["height"]),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let at: u64 = response.headers()["veil-ledger-height"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(at >= written.1["height"].as_u64().unwrap());
    // A height the ledger has not reached: 409 with a problem body, at once this far ahead
    // (and after a bounded wait when it is close).
    let (status, problem) = get(
        &partner,
        &harness.url("bank-b", "/v1/loans/L-RYW?min_height=1000000000"),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(problem["type"], "https://veil.dev/problems/behind");
    let near = at + 3;
    let (status, problem) = get(
        &partner,
        &harness.url("bank-b", &format!("/v1/loans/L-RYW?min_height={near}")),
    )
    .await;
    // Three blocks ahead: either they were finalized meanwhile, or 409 after the wait.
    assert!(
        status == StatusCode::OK || problem["type"] == "https://veil.dev/problems/behind",
        "{status} {problem}"
    );

    // 6. Amounts: bounded per amount (consortium maximum), principal never repaid twice, and
    // every period whose repayments were accepted settles.
    let max = veil_node::genesis::DEFAULT_MAX_AMOUNT_FEN;
    for (body, expected) in [
        (
            repayment("L-1", "2030-03", max + 1, 0),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"type": "loan.repaid", "fields": {"loan_id": "L-1", "period": "2030-03",
                "amount": 18_446_744_073_709_551_615_u64, "principal_part": 0,
                "interest_part": 18_446_744_073_709_551_615_u64}}),
            StatusCode::BAD_REQUEST,
        ),
        // L-1's principal is 500,000 fen and 80,000 are repaid: 420,001 is too much.
        (
            repayment("L-1", "2030-03", 420_001, 420_001),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let (status, problem) = post(&clerk, &entries, &body, None).await;
        assert_eq!(status, expected, "{body}: {problem}");
    }
    let mut settle_loan = loan_request("L-BIG");
    settle_loan["fields"]["principal"] = json!(max);
    settle_loan["fields"]["funding"] =
        json!({"bank-a": max * 3 / 10, "bank-b": max - max * 3 / 10});
    let (status, body) = post(&clerk, &entries, &settle_loan, None).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    for amount in [max, max / 2] {
        let (status, body) = post(
            &clerk,
            &entries,
            &repayment("L-BIG", "2030-04", amount, amount / 2),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, body) = post(
        &clerk,
        &entries,
        &json!({"type": "settlement.closed", "fields": {"period": "2030-04"}}),
        None,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "a period of accepted repayments settles: {body}"
    );
    harness.embedded.stop().await.unwrap();
}

/// A TLS ClientHello naming an IP address as its server name (RFC 6066 forbids it), as any
/// client on the network may send before it is authenticated.
fn client_hello_with_ip_server_name() -> Vec<u8> {
    let name = b"127.0.0.1";
    let mut server_name = Vec::new();
    server_name.extend(((name.len() + 3) as u16).to_be_bytes());
    server_name.push(0);
    server_name.extend((name.len() as u16).to_be_bytes());
    server_name.extend(name);
    let mut extensions = vec![0, 0];
    extensions.extend((server_name.len() as u16).to_be_bytes());
    extensions.extend(&server_name);
    extensions.extend([0x00, 0x2b, 0x00, 0x03, 0x02, 0x03, 0x04]);
    let mut hello = vec![0x03, 0x03];
    hello.extend([7u8; 32]);
    hello.push(0);
    hello.extend([0x00, 0x02, 0x13, 0x01, 0x01, 0x00]);
    hello.extend((extensions.len() as u16).to_be_bytes());
    hello.extend(extensions);
    let mut handshake = vec![0x01];
    handshake.extend(&(hello.len() as u32).to_be_bytes()[1..]);
    handshake.extend(hello);
    let mut record = vec![0x16, 0x03, 0x01];
    record.extend((handshake.len() as u16).to_be_bytes());
    record.extend(handshake);
    record
}

/// Log lines at WARN or above (plain or with terminal colours).
fn loud_lines(log: &str) -> usize {
    log.lines()
        .filter(|l| l.contains("WARN") || l.contains("ERROR"))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthenticated_peers_cannot_fill_the_log() {
    let consortium = ConsortiumDir::init(4);
    let dir = consortium.path();
    let mut gateway = NodeProcess::gateway(dir, "bank-a");
    let config = GatewayConfig::load(&layout::gateway_config(dir, "bank-a")).unwrap();
    let addr = config.listen;
    veil_tests::eventually(Duration::from_secs(60), "the gateway to listen", || {
        gateway.assert_running();
        let up = TcpStream::connect(addr).is_ok();
        async move { up.then_some(()) }
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = loud_lines(&gateway.log());
    let hello = client_hello_with_ip_server_name();
    for _ in 0..100 {
        let mut tcp = TcpStream::connect(addr).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        tcp.write_all(&hello).unwrap();
        let mut answer = [0u8; 64];
        let _ = tcp.read(&mut answer);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    gateway.assert_running();
    let log = gateway.log();
    assert_eq!(
        loud_lines(&log),
        before,
        "100 unauthenticated handshakes logged at WARN or above:\n{log}"
    );
}
