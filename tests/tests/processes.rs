//! Nodes as separate OS processes on loopback, as `veil init` configures them: they agree on
//! one ledger, survive `kill -9`, catch up, and never lose an acknowledged entry.

use std::time::Duration;

use veil_node::ledger::Entry;
use veil_node::link::NodeLink;
use veil_node::state::Receipt;
use veil_node::testkit::TestConsortium;
use veil_tests::{
    ConsortiumDir, NodeProcess, eventually, nodes_answering, status, submit_until_finalized,
};

const WAIT: Duration = Duration::from_secs(120);

/// Submits `entry` through `link` until it is finalized (retrying what a client retries).
async fn submit(link: &NodeLink, entry: &Entry) -> Receipt {
    submit_until_finalized(link, entry, WAIT).await
}

/// Waits until every link answers and reports the same head at height ≥ `height`.
async fn converged(links: &[&NodeLink], height: u64) -> String {
    eventually(WAIT, "nodes to agree on the head", || async {
        let mut heads = Vec::new();
        for link in links {
            let status = status(link).await?;
            if status.height < height {
                return None;
            }
            heads.push((status.height, status.head_hash));
        }
        let first = heads[0].clone();
        heads.iter().all(|h| *h == first).then_some(first.1)
    })
    .await
}

async fn started(nodes: &mut [NodeProcess], links: &[NodeLink]) {
    nodes_answering(nodes, links, WAIT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_node_processes_agree_on_one_ledger() {
    let dir = ConsortiumDir::init_unscreened(4);
    let mut nodes: Vec<NodeProcess> = (0..4).map(|i| NodeProcess::start(&dir, i)).collect();
    let consortium = TestConsortium::from_dir(dir.path());
    let links: Vec<NodeLink> = (0..4).map(|i| dir.node_link(i)).collect();
    started(&mut nodes, &links).await;

    // Each bank originates a loan through its own node, then repays it.
    let mut top = 0;
    let mut loans = Vec::new();
    for (i, link) in links.iter().enumerate() {
        let loan = consortium.loan(
            i,
            i as u32,
            200_000 + 1000 * i as u64,
            &[((i + 1) % 4, 7000)],
        );
        top = top.max(submit(link, &loan).await.height);
        loans.push(loan);
    }
    for (i, loan) in loans.iter().enumerate() {
        let repayment = consortium.repayment(loan, 18_000, "2026-11");
        top = top.max(submit(&links[i], &repayment).await.height);
    }
    let refs: Vec<&NodeLink> = links.iter().collect();
    converged(&refs, top).await;

    // Every node holds every entry, byte for byte.
    for loan in &loans {
        let mut copies = Vec::new();
        for link in &links {
            copies.push(link.entry(&loan.header.id).await.unwrap().unwrap().bytes);
        }
        assert!(copies.iter().all(|c| *c == loan.encode()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_node_catches_up_and_no_acknowledged_entry_is_lost() {
    let dir = ConsortiumDir::init_unscreened(4);
    let mut nodes: Vec<NodeProcess> = (0..4).map(|i| NodeProcess::start(&dir, i)).collect();
    let consortium = TestConsortium::from_dir(dir.path());
    let links: Vec<NodeLink> = (0..4).map(|i| dir.node_link(i)).collect();
    started(&mut nodes, &links).await;

    let mut acknowledged: Vec<(Entry, Receipt)> = Vec::new();
    for (i, link) in links.iter().enumerate() {
        let loan = consortium.loan(i, 100 + i as u32, 150_000, &[((i + 1) % 4, 5000)]);
        let receipt = submit(link, &loan).await;
        acknowledged.push((loan, receipt));
    }

    // kill -9 bank-d's node: the other three keep finalizing.
    nodes[3].kill();
    for round in 0..2 {
        for (i, link) in links.iter().enumerate().take(3) {
            let loan = consortium.loan(i, 200 + 10 * round + i as u32, 90_000, &[(3, 2000)]);
            let receipt = submit(link, &loan).await;
            acknowledged.push((loan, receipt));
        }
    }

    // Kill bank-b's node while it is writing: an entry in flight through it is either
    // acknowledged (and must survive) or not (and the client retries elsewhere).
    let writer = {
        let link = links[1].clone();
        let entry = consortium.loan(1, 300, 80_000, &[(0, 3000)]);
        tokio::spawn(async move {
            let receipt = link.submit(entry.encode(), Duration::from_secs(10)).await;
            (entry, receipt)
        })
    };
    tokio::time::sleep(Duration::from_millis(150)).await;
    nodes[1].kill();
    let (entry, receipt) = writer.await.unwrap();
    if let Ok(receipt) = receipt {
        acknowledged.push((entry, receipt));
    }

    // Restart both: they catch up from their peers.
    nodes[1].restart();
    nodes[3].restart();
    let top = acknowledged.iter().map(|(_, r)| r.height).max().unwrap();
    let refs: Vec<&NodeLink> = links.iter().collect();
    converged(&refs, top).await;

    // Every acknowledged entry is on every node, byte-identical, at its acknowledged height.
    for (entry, receipt) in &acknowledged {
        for (i, link) in links.iter().enumerate() {
            let stored = link
                .entry(&entry.header.id)
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("node {i} lost acknowledged entry {}", entry.header.id));
            assert_eq!(stored.bytes, entry.encode());
            assert_eq!(stored.height, receipt.height);
        }
    }
    assert!(!nodes[1].log().contains("panicked"), "{}", nodes[1].log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_shuts_down_cleanly_on_sigterm_and_restarts_with_its_data() {
    let dir = ConsortiumDir::init_unscreened(4);
    let mut nodes: Vec<NodeProcess> = (0..4).map(|i| NodeProcess::start(&dir, i)).collect();
    let consortium = TestConsortium::from_dir(dir.path());
    let links: Vec<NodeLink> = (0..4).map(|i| dir.node_link(i)).collect();
    started(&mut nodes, &links).await;
    let loan = consortium.loan(0, 1, 120_000, &[(1, 4000)]);
    let receipt = submit(&links[0], &loan).await;
    assert!(
        nodes[0].terminate(),
        "node did not exit cleanly: {}",
        nodes[0].log()
    );
    nodes[0].restart();
    let restarted = &mut nodes[0];
    eventually(WAIT, "the restarted node to serve its data", || {
        restarted.assert_running();
        async { links[0].entry(&loan.header.id).await.ok().flatten() }
    })
    .await;
    let refs: Vec<&NodeLink> = links.iter().collect();
    converged(&refs, receipt.height).await;
}

/// A node whose data directory is lost (a dead disk, or wiped after the integrity check
/// refused a torn store) recovers the whole ledger from its peers and rejoins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_lost_its_data_recovers_the_ledger_from_its_peers() {
    let dir = ConsortiumDir::init_unscreened(4);
    let mut nodes: Vec<NodeProcess> = (0..4).map(|i| NodeProcess::start(&dir, i)).collect();
    let consortium = TestConsortium::from_dir(dir.path());
    let links: Vec<NodeLink> = (0..4).map(|i| dir.node_link(i)).collect();
    started(&mut nodes, &links).await;
    let mut acknowledged = Vec::new();
    for (i, link) in links.iter().enumerate().take(3) {
        let loan = consortium.loan(i, 400 + i as u32, 110_000, &[((i + 1) % 4, 4000)]);
        let receipt = submit(link, &loan).await;
        acknowledged.push((loan, receipt));
    }

    nodes[3].kill();
    let data = dir.path().join(dir.bank(3)).join("node-data");
    std::fs::remove_dir_all(&data).unwrap();
    // The others keep finalizing meanwhile.
    let loan = consortium.loan(0, 410, 95_000, &[(2, 5000)]);
    let receipt = submit(&links[0], &loan).await;
    acknowledged.push((loan, receipt));

    nodes[3].restart();
    let top = acknowledged.iter().map(|(_, r)| r.height).max().unwrap();
    let refs: Vec<&NodeLink> = links.iter().collect();
    converged(&refs, top).await;
    for (entry, receipt) in &acknowledged {
        let stored = links[3].entry(&entry.header.id).await.unwrap().unwrap();
        assert_eq!(stored.bytes, entry.encode());
        assert_eq!(stored.height, receipt.height);
    }
    // And it takes part again: an entry submitted through it is finalized.
    let loan = consortium.loan(3, 420, 90_000, &[(0, 5000)]);
    submit(&links[3], &loan).await;
}

/// The consortium at the business's size, as separate processes: 21 node processes (f = 6, a
/// quorum of 15) finalize one ledger, keep finalizing with six of them killed (`kill -9`), and
/// the six catch up when they restart, every acknowledged entry on every node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_one_node_processes_keep_finalizing_with_six_killed() {
    const MEMBERS: usize = 21;
    let dir = ConsortiumDir::init_unscreened(MEMBERS);
    let mut nodes: Vec<NodeProcess> = (0..MEMBERS).map(|i| NodeProcess::start(&dir, i)).collect();
    let consortium = TestConsortium::from_dir(dir.path());
    let links: Vec<NodeLink> = (0..MEMBERS).map(|i| dir.node_link(i)).collect();
    started(&mut nodes, &links).await;

    // Loans through three members' nodes, each funded by a partner across the consortium.
    let mut acknowledged: Vec<(Entry, Receipt)> = Vec::new();
    for (k, i) in [0, 10, 20].into_iter().enumerate() {
        let loan = consortium.loan(i, k as u32, 120_000, &[((i + 7) % MEMBERS, 6000)]);
        let receipt = submit(&links[i], &loan).await;
        acknowledged.push((loan, receipt));
    }

    // kill -9 six nodes, the most a 21-member consortium tolerates: the fifteen others are a
    // quorum and still finalize, also loans funded by a killed member.
    let killed = [3, 6, 9, 12, 15, 18];
    for &i in &killed {
        nodes[i].kill();
    }
    for (k, i) in [0, 5, 11].into_iter().enumerate() {
        let loan = consortium.loan(i, 100 + k as u32, 90_000, &[(killed[k], 5000)]);
        let receipt = submit(&links[i], &loan).await;
        acknowledged.push((loan, receipt));
    }

    // The six restart and catch up from their peers.
    for &i in &killed {
        nodes[i].restart();
    }
    let top = acknowledged.iter().map(|(_, r)| r.height).max().unwrap();
    let refs: Vec<&NodeLink> = links.iter().collect();
    converged(&refs, top).await;
    for (entry, receipt) in &acknowledged {
        for (i, link) in links.iter().enumerate() {
            let stored = link
                .entry(&entry.header.id)
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("node {i} lost acknowledged entry {}", entry.header.id));
            assert_eq!(stored.bytes, entry.encode());
            assert_eq!(stored.height, receipt.height);
        }
    }
    for (i, node) in nodes.iter().enumerate() {
        assert!(!node.log().contains("panicked"), "node {i}: {}", node.log());
    }
}
