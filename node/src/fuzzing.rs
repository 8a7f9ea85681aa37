//! Fuzzing harnesses for the node's decoders, shared by the cargo-fuzz targets in
//! `node/fuzz/` and the test below that replays their corpora on stable.
//!
//! Bytes from peers, from the gateway and from disk reach these decoders. None may panic;
//! what they accept re-encodes to exactly the input (encodings are canonical).

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used, missing_docs)]

use commonware_codec::{Decode as _, DecodeExt as _, Encode as _};
use commonware_consensus::simplex::types::{Certificate, Vote};

use crate::consensus::{Digest, Scheme};
use crate::ledger::{Block, Entry};
use crate::store;

use veil_crypto::fuzzing::Harness;

/// The fuzz targets, by name (the names of `node/fuzz/fuzz_targets/*.rs`).
pub const TARGETS: &[(&str, Harness)] = &[
    ("entry", entry),
    ("block", block),
    ("records", records),
    ("consensus", consensus),
];

/// `Entry::decode` (API submissions, gossip, blocks): canonical round trip.
pub fn entry(data: &[u8]) {
    if let Ok(entry) = Entry::decode(data) {
        assert_eq!(entry.encode(), data, "non-canonical entry accepted");
    }
}

/// Block decoding (proposals, catch-up): canonical round trip.
pub fn block(data: &[u8]) {
    if let Ok(block) = Block::decode(data.to_vec()) {
        assert_eq!(
            block.encode().as_ref(),
            data,
            "non-canonical block accepted"
        );
    }
}

/// Records read back from disk and over the node API, selected by the first byte.
pub fn records(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    match selector % 3 {
        0 => {
            if let Ok(record) = store::decode_block_record(7, rest) {
                assert_eq!(store::encode_block_record(&record), rest);
            }
        }
        1 => {
            if let Ok(record) = store::decode_entry_record(rest) {
                assert_eq!(
                    store::encode_entry_record(record.height, record.index, &record.bytes),
                    rest
                );
            }
        }
        _ => {
            if let Ok(list) = crate::link::decode_entry_list(rest) {
                assert_eq!(crate::link::encode_entry_list(&list), rest);
            }
        }
    }
}

/// Consensus votes and certificates as they arrive from peers (four validators).
pub fn consensus(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    if selector % 2 == 0 {
        if let Ok(vote) = Vote::<Scheme, Digest>::decode(rest.to_vec()) {
            assert_eq!(vote.encode().as_ref(), rest, "non-canonical vote accepted");
        }
    } else {
        if let Ok(certificate) = Certificate::<Scheme, Digest>::decode_cfg(rest.to_vec(), &4) {
            assert_eq!(
                certificate.encode().as_ref(),
                rest,
                "non-canonical certificate"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    //! Replays every corpus of `node/fuzz/corpus/` through its harness on stable, so what
    //! fuzzing found stays fixed. `VEIL_WRITE_FUZZ_SEEDS=1` (re)writes the `seed-*` inputs.

    use super::*;
    use crate::store::StoredBlock;
    use crate::testkit::TestConsortium;

    fn seeds() -> Vec<(&'static str, Vec<u8>)> {
        let consortium = TestConsortium::new(4, 31, 40_000);
        let loan = consortium.loan(0, 1, 300_000, &[(1, 6000)]);
        let block = Block::new(
            1,
            Digest::from([0u8; 32]),
            1_700_000_000_000,
            [1; 32],
            vec![loan.clone()],
        );
        let block_bytes = block.encode().to_vec();
        let record = store::encode_block_record(&StoredBlock {
            height: 1,
            digest: [0; 32],
            block: block_bytes.clone(),
            finalization: vec![1, 2, 3],
        });
        let stored = crate::store::StoredEntry {
            height: 1,
            index: 0,
            bytes: loan.encode(),
        };
        vec![
            ("entry", loan.encode()),
            ("block", block_bytes),
            ("records", [&[0u8][..], &record].concat()),
            (
                "records",
                [
                    &[1u8][..],
                    &store::encode_entry_record(1, 0, &loan.encode()),
                ]
                .concat(),
            ),
            (
                "records",
                [&[2u8][..], &crate::link::encode_entry_list(&[stored])].concat(),
            ),
        ]
    }

    #[test]
    fn every_corpus_input_passes_its_harness() {
        veil_crypto::fuzzing::replay(
            &veil_crypto::manifest_dir!().join("fuzz/corpus"),
            TARGETS,
            &seeds(),
        );
    }

    #[test]
    fn seeds_pass_their_harnesses() {
        for (target, bytes) in seeds() {
            let (_, harness) = TARGETS.iter().find(|(name, _)| *name == target).unwrap();
            harness(&bytes);
        }
    }
}
