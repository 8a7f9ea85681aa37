//! Crash loop through the API (real processes): while a client writes loans through bank-a's
//! gateway, one process at a time — bank-a's gateway or any of the four nodes — is killed with
//! SIGKILL at a random moment and restarted. The client does what a bank's client does: on a
//! timeout, a dropped connection or a 5xx it retries with the same `Idempotency-Key`.
//!
//! At the end every acknowledged entry is on every node, byte-identical at the same height,
//! and no write appears twice on the ledger.
//!
//! ```text
//! cargo test -p veil-tests --test crashes                         # 6 kills (CI)
//! VEIL_CRASH_KILLS=1000 cargo test --release -p veil-tests --test crashes -- --nocapture
//! VEIL_CRASH_SEED=1234 ...                                        # replay a schedule
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use tokio::sync::Mutex;
use veil_gateway::consortium::config::GatewayConfig;
use veil_node::ledger::EntryId;
use veil_node::link::NodeLink;
use veil_tests::{
    BORROWER, ConsortiumDir, GatewayProcess, NodeProcess, eventually, loan_request, member_client,
    register_borrowers, status,
};

const WAIT: Duration = Duration::from_secs(180);

/// xorshift64*: the kill schedule from a seed.
struct Schedule(u64);

impl Schedule {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_nine_loop_loses_and_duplicates_nothing() {
    let kills = env_u64("VEIL_CRASH_KILLS").unwrap_or(6);
    let seed = env_u64("VEIL_CRASH_SEED").unwrap_or_else(|| {
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).unwrap();
        u64::from_le_bytes(bytes) | 1
    });
    eprintln!("crash loop: {kills} kills, VEIL_CRASH_SEED={seed}");
    let mut schedule = Schedule(seed);

    let consortium = ConsortiumDir::init(4);
    let dir = consortium.path().to_path_buf();
    let mut nodes: Vec<NodeProcess> = (0..4).map(|i| NodeProcess::start(&consortium, i)).collect();
    let links: Vec<NodeLink> = (0..4).map(|i| consortium.node_link(i)).collect();
    veil_tests::nodes_answering(&mut nodes, &links, WAIT).await;
    let mut gateway = GatewayProcess::gateway(&dir, "bank-a");
    // The other members' gateways, never killed: a borrower's reference needs three of the
    // four members' OPRF answers.
    let _peers: Vec<GatewayProcess> = ["bank-b", "bank-c", "bank-d"]
        .into_iter()
        .map(|id| GatewayProcess::gateway(&dir, id))
        .collect();
    let url = format!(
        "https://{}",
        GatewayConfig::load(&dir.join("bank-a/gateway.toml"))
            .unwrap()
            .listen
    );

    register_borrowers(
        &member_client(&dir, "bank-a", "clerk"),
        &format!("{url}/v1/entries"),
        &[BORROWER],
    )
    .await;

    // The client: loan after loan, each retried with its key until acknowledged.
    let acknowledged: Arc<Mutex<BTreeMap<String, (String, u64)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let acknowledged = acknowledged.clone();
        let stop = stop.clone();
        let clerk = member_client(&dir, "bank-a", "clerk");
        let writes = format!("{url}/v1/entries");
        tokio::spawn(async move {
            let mut retries = 0u64;
            for k in 0u64.. {
                if stop.load(Ordering::SeqCst) {
                    return retries;
                }
                let key = format!("crash-{k}");
                let body = loan_request(&format!("C-{k:05}"));
                let deadline = Instant::now() + WAIT;
                loop {
                    assert!(Instant::now() < deadline, "{key} never acknowledged");
                    let response = clerk
                        .post(&writes)
                        .header("Idempotency-Key", &key)
                        .timeout(Duration::from_secs(15))
                        .json(&body)
                        .send()
                        .await;
                    match response {
                        Ok(response) if response.status() == StatusCode::CREATED => {
                            let written: serde_json::Value = response.json().await.unwrap();
                            let id = written["id"].as_str().unwrap().to_owned();
                            let height = written["height"].as_u64().unwrap();
                            acknowledged.lock().await.insert(key, (id, height));
                            break;
                        }
                        Ok(response) if response.status().is_server_error() => {}
                        // The first attempt is still running (it outlived the client's
                        // timeout): retry later, as the answer's Retry-After says.
                        Ok(response)
                            if response.status() == StatusCode::CONFLICT
                                && response.headers().contains_key("retry-after") => {}
                        Ok(response) => {
                            let status = response.status();
                            let text = response.text().await.unwrap_or_default();
                            panic!("{key}: unexpected {status}: {text}");
                        }
                        Err(_) => {}
                    }
                    retries += 1;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
            retries
        })
    };

    // The killer: one process at a time, at a random moment, down for a random while.
    let mut killed = BTreeMap::<String, u64>::new();
    for _ in 0..kills {
        tokio::time::sleep(Duration::from_millis(300 + schedule.below(1_700))).await;
        let victim = schedule.below(5) as usize;
        let down = Duration::from_millis(schedule.below(1_000));
        if victim == 4 {
            gateway.kill();
            tokio::time::sleep(down).await;
            gateway.restart();
            *killed.entry("gateway bank-a".into()).or_default() += 1;
        } else {
            nodes[victim].kill();
            tokio::time::sleep(down).await;
            nodes[victim].restart();
            eventually(WAIT, "the restarted node to answer", || {
                status(&links[victim])
            })
            .await;
            *killed
                .entry(format!("node {}", consortium.bank(victim)))
                .or_default() += 1;
        }
    }
    // A little more writing after the last restart, then the client finishes its current write.
    let before = acknowledged.lock().await.len();
    eventually(WAIT, "writes after the last restart", || async {
        (acknowledged.lock().await.len() >= before + 2).then_some(())
    })
    .await;
    stop.store(true, Ordering::SeqCst);
    let retries = writer.await.unwrap();
    let acknowledged = acknowledged.lock().await.clone();
    eprintln!(
        "crash loop: {} writes acknowledged, {retries} retries, kills {killed:?}",
        acknowledged.len()
    );

    // Every node reaches the highest acknowledged height with the same head.
    let top = acknowledged.values().map(|(_, h)| *h).max().unwrap();
    eventually(WAIT, "every node to agree on the head", || async {
        let mut heads = BTreeSet::new();
        for link in &links {
            let status = status(link).await?;
            if status.height < top {
                return None;
            }
            heads.insert((status.height, status.head_hash));
        }
        (heads.len() == 1).then_some(())
    })
    .await;

    // Every acknowledged entry is on every node, byte-identical, at its acknowledged height.
    for (key, (id, height)) in &acknowledged {
        let id = EntryId::from_hex(id).unwrap();
        let mut copies = Vec::new();
        for link in &links {
            let stored = link.entry(&id).await.unwrap();
            let stored = stored.unwrap_or_else(|| panic!("{key} is missing on a node"));
            assert_eq!(stored.height, *height, "{key}");
            copies.push(stored.bytes);
        }
        assert!(copies.windows(2).all(|w| w[0] == w[1]), "{key} differs");
    }

    // No write appears twice: the ledger holds exactly one loan per acknowledged key.
    let mut on_ledger = Vec::new();
    let mut after = None;
    loop {
        let page = links[0]
            .entries_by_type("loan.originated", after, 500)
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        after = Some((last.height, last.index));
        on_ledger.extend(page);
    }
    let distinct: BTreeSet<Vec<u8>> = on_ledger
        .iter()
        .map(|stored| stored.bytes[..].to_vec())
        .collect();
    assert_eq!(distinct.len(), on_ledger.len(), "an entry stored twice");
    assert_eq!(
        on_ledger.len(),
        acknowledged.len(),
        "loans on the ledger vs acknowledged writes"
    );

    assert!(gateway.terminate(), "{}", gateway.log());
    for node in &mut nodes {
        assert!(node.terminate(), "{}", node.log());
    }
}
