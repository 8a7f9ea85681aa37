//! Envelope encryption: round trips, reader groups, binding to context, tampering.

use veil_crypto::envelope::{self, EnvelopeError, FieldContext, SealedGroup};
use veil_crypto::{EncodingError, EncryptionSecretKey};

const POLICY: [u8; 32] = [0x5a; 32];

fn context(entry_id: &[u8]) -> FieldContext<'_> {
    FieldContext {
        consortium_id: "veil-test",
        entry_id,
        schema_version: 1,
        policy_hash: &POLICY,
    }
}

fn keys(n: u8) -> Vec<EncryptionSecretKey> {
    (0..n)
        .map(|i| EncryptionSecretKey::derive(&[i + 1; 32]))
        .collect()
}

const FIELDS: [(&str, &[u8]); 3] = [
    ("borrower.name", b"Zhang Wei"),
    ("borrower.national_id", b"110101199003077777"),
    ("borrower.phone", b"+86 138 0000 0000"),
];

#[test]
fn every_recipient_opens_every_field_and_others_do_not() {
    let readers = keys(3);
    let outsider = EncryptionSecretKey::derive(&[0xee; 32]);
    let publics: Vec<_> = readers.iter().map(|k| k.public_key()).collect();
    let ctx = context(b"entry-1");
    let group = envelope::seal_group(&ctx, &publics, &FIELDS).unwrap();
    assert_eq!(
        group.wrapped_keys.len(),
        3,
        "one wrap per reader, not per field"
    );
    for reader in &readers {
        assert!(group.is_recipient(reader.public_key()));
        let opened = group.open_all(&ctx, reader).unwrap();
        for ((path, plaintext), (expected_path, expected)) in opened.iter().zip(FIELDS) {
            assert_eq!(path, expected_path);
            assert_eq!(plaintext.expose().as_slice(), expected);
        }
        let single = group.open_field(&ctx, "borrower.phone", reader).unwrap();
        assert_eq!(single.expose().as_slice(), FIELDS[2].1);
    }
    assert!(!group.is_recipient(outsider.public_key()));
    assert_eq!(
        group.open_all(&ctx, &outsider).unwrap_err(),
        EnvelopeError::NotARecipient
    );
    assert_eq!(
        group
            .open_field(&ctx, "borrower.address", &readers[0])
            .unwrap_err(),
        EnvelopeError::NoSuchField
    );
}

#[test]
fn sealing_is_randomized() {
    let readers = keys(1);
    let ctx = context(b"entry-1");
    let a = envelope::seal_group(&ctx, &[readers[0].public_key()], &FIELDS).unwrap();
    let b = envelope::seal_group(&ctx, &[readers[0].public_key()], &FIELDS).unwrap();
    assert_ne!(a.wrapped_keys[0].enc, b.wrapped_keys[0].enc);
    assert_ne!(a.fields[0].ciphertext, b.fields[0].ciphertext);
}

#[test]
fn encoding_round_trips() {
    let readers = keys(2);
    let publics: Vec<_> = readers.iter().map(|k| k.public_key()).collect();
    let ctx = context(b"entry-1");
    let group = envelope::seal_group(&ctx, &publics, &FIELDS).unwrap();
    let bytes = group.encode();
    assert_eq!(SealedGroup::decode(&bytes).unwrap(), group);
}

#[test]
fn a_ciphertext_moved_to_another_field_or_entry_does_not_open() {
    let readers = keys(1);
    let reader = &readers[0];
    let ctx = context(b"entry-1");
    let group = envelope::seal_group(&ctx, &[reader.public_key()], &FIELDS).unwrap();

    // Another entry: the wrapped key's AAD and each field's AAD name the entry.
    let other_entry = context(b"entry-2");
    assert_eq!(
        group.open_all(&other_entry, reader).unwrap_err(),
        EnvelopeError::Decrypt
    );

    // Another field in the same group: swap the name and phone ciphertexts.
    let mut swapped = group.clone();
    let (name, phone) = (swapped.fields[0].clone(), swapped.fields[2].clone());
    swapped.fields[0].nonce = phone.nonce;
    swapped.fields[0].ciphertext = phone.ciphertext;
    swapped.fields[2].nonce = name.nonce;
    swapped.fields[2].ciphertext = name.ciphertext;
    let data_key = swapped.unwrap_key(&ctx, reader).unwrap();
    for field in &swapped.fields {
        let result = data_key.open(&ctx, field);
        if field.path == "borrower.national_id" {
            assert!(result.is_ok());
        } else {
            assert_eq!(
                result.unwrap_err(),
                EnvelopeError::Decrypt,
                "{}",
                field.path
            );
        }
    }

    // A field renamed in place: its key and AAD derive from the path.
    let mut renamed = group.clone();
    renamed.fields[0].path = "borrower.alias".to_owned();
    let data_key = group.unwrap_key(&ctx, reader).unwrap();
    assert_eq!(
        data_key.open(&ctx, &renamed.fields[0]).unwrap_err(),
        EnvelopeError::Decrypt
    );
    // ... and the group's wrap no longer opens: its AAD lists the group's paths.
    assert_eq!(
        renamed.unwrap_key(&ctx, reader).unwrap_err(),
        EnvelopeError::Decrypt
    );

    // A field moved into another group of the same entry: the other group's key is unrelated.
    let other_group =
        envelope::seal_group(&ctx, &[reader.public_key()], &[("borrower.name", b"x")]).unwrap();
    let other_key = other_group.unwrap_key(&ctx, reader).unwrap();
    assert_eq!(
        other_key.open(&ctx, &group.fields[0]).unwrap_err(),
        EnvelopeError::Decrypt
    );

    // A wrapped key moved from one group to another.
    let mut grafted = other_group.clone();
    grafted.wrapped_keys = group.wrapped_keys.clone();
    assert_eq!(
        grafted.unwrap_key(&ctx, reader).unwrap_err(),
        EnvelopeError::Decrypt
    );
}

#[test]
fn every_aad_component_is_bound() {
    let readers = keys(1);
    let reader = &readers[0];
    let entry_id = *b"entry-0000000001";
    let ctx = context(&entry_id);
    let group = envelope::seal_group(&ctx, &[reader.public_key()], &FIELDS).unwrap();
    group.open_all(&ctx, reader).unwrap();

    let mut rejected = 0;
    let mut check = |ctx: FieldContext<'_>| {
        assert_eq!(
            group.open_all(&ctx, reader).unwrap_err(),
            EnvelopeError::Decrypt
        );
        rejected += 1;
    };
    check(FieldContext {
        consortium_id: "veil-tesu",
        ..ctx
    });
    check(FieldContext {
        schema_version: 2,
        ..ctx
    });
    for i in 0..entry_id.len() {
        let mut changed = entry_id;
        changed[i] ^= 0x01;
        check(FieldContext {
            entry_id: &changed,
            ..ctx
        });
    }
    for i in 0..POLICY.len() {
        let mut changed = POLICY;
        changed[i] ^= 0x01;
        check(FieldContext {
            policy_hash: &changed,
            ..ctx
        });
    }
    assert_eq!(rejected, 2 + 16 + 32);
}

/// Every single-byte change anywhere in an encoded group — recipient id, `enc`, wrapped key,
/// path, nonce, ciphertext, tag, length prefixes — is refused, by the decoder or on opening.
#[test]
fn every_single_byte_change_of_a_sealed_group_is_refused() {
    let readers = keys(2);
    let publics: Vec<_> = readers.iter().map(|k| k.public_key()).collect();
    let ctx = context(b"entry-1");
    let group = envelope::seal_group(&ctx, &publics, &FIELDS[..2]).unwrap();
    let bytes = group.encode();
    let mut refused = 0usize;
    for i in 0..bytes.len() {
        for mask in [0x01u8, 0x80, 0xff] {
            let mut tampered = bytes.clone();
            tampered[i] ^= mask;
            let opened = SealedGroup::decode(&tampered).and_then(|g| {
                // The change may touch the other reader's wrap only; it must then still be
                // refused for that reader, so try both.
                let a = g.open_all(&ctx, &readers[0]);
                let b = g.open_all(&ctx, &readers[1]);
                match (a, b) {
                    (Ok(_), Ok(_)) => Ok(()),
                    (Err(e), _) | (_, Err(e)) => Err(e),
                }
            });
            assert!(opened.is_err(), "byte {i} mask {mask:#x} went unnoticed");
            refused += 1;
        }
    }
    assert_eq!(refused, bytes.len() * 3);
}

#[test]
fn malformed_encodings_are_typed_errors() {
    let readers = keys(1);
    let ctx = context(b"entry-1");
    let group = envelope::seal_group(&ctx, &[readers[0].public_key()], &FIELDS).unwrap();
    let bytes = group.encode();
    for len in 0..bytes.len() {
        assert!(matches!(
            SealedGroup::decode(&bytes[..len]),
            Err(EnvelopeError::Encoding(EncodingError::Malformed(_)))
        ));
    }
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert_eq!(
        SealedGroup::decode(&trailing).unwrap_err(),
        EnvelopeError::Encoding(EncodingError::Malformed("trailing bytes"))
    );
    // Version 1 (unpadded, no key commitment) and unknown versions are refused.
    for v in [0u8, 1, 3, 0xff] {
        let mut version = bytes.clone();
        version[0] = v;
        assert_eq!(
            SealedGroup::decode(&version).unwrap_err(),
            EnvelopeError::Encoding(EncodingError::Malformed("unknown sealed group version"))
        );
    }
}

#[test]
fn bad_seal_requests_are_refused() {
    let readers = keys(2);
    let ctx = context(b"entry-1");
    let one = [readers[0].public_key()];
    let invalid = |result: Result<SealedGroup, EnvelopeError>| {
        assert!(matches!(result, Err(EnvelopeError::InvalidRequest(_))));
    };
    invalid(envelope::seal_group(&ctx, &[], &FIELDS));
    invalid(envelope::seal_group(&ctx, &one, &[]));
    invalid(envelope::seal_group(
        &ctx,
        &[readers[0].public_key(), readers[0].public_key()],
        &FIELDS,
    ));
    invalid(envelope::seal_group(
        &ctx,
        &one,
        &[("a", b"1"), ("a", b"2")],
    ));
    invalid(envelope::seal_group(&ctx, &one, &[("has space", b"1")]));
    invalid(envelope::seal_group(&ctx, &one, &[("", b"1")]));
    let huge = vec![0u8; envelope::MAX_FIELD_LEN + 1];
    invalid(envelope::seal_group(&ctx, &one, &[("big", &huge)]));
    invalid(envelope::seal_group(&context(b""), &one, &FIELDS));
}

#[test]
fn a_swapped_or_forged_key_commitment_is_refused() {
    let readers = keys(2);
    let publics: Vec<_> = readers.iter().map(|k| k.public_key()).collect();
    let ctx = context(b"entry-1");
    let group = envelope::seal_group(&ctx, &publics, &FIELDS).unwrap();
    let twin = envelope::seal_group(&ctx, &publics, &FIELDS).unwrap();
    assert_ne!(group.key_commitment, twin.key_commitment);

    let mut forgeries = Vec::new();
    // The commitment of another group with the same readers, context and paths.
    forgeries.push(twin.key_commitment);
    // Every single-bit change.
    for bit in 0..envelope::KEY_COMMITMENT_LEN * 8 {
        let mut forged = group.key_commitment;
        forged[bit / 8] ^= 1 << (bit % 8);
        forgeries.push(forged);
    }
    forgeries.push([0u8; envelope::KEY_COMMITMENT_LEN]);
    for forged in forgeries {
        let mut tampered = group.clone();
        tampered.key_commitment = forged;
        // Through the wire encoding, as a reader gets it.
        let tampered = SealedGroup::decode(&tampered.encode()).unwrap();
        for reader in &readers {
            assert_eq!(
                tampered.open_all(&ctx, reader).unwrap_err(),
                EnvelopeError::KeyCommitment
            );
            assert_eq!(
                tampered
                    .open_field(&ctx, "borrower.name", reader)
                    .unwrap_err(),
                EnvelopeError::KeyCommitment
            );
        }
    }
    // The genuine group still opens for both.
    for reader in &readers {
        group.open_all(&ctx, reader).unwrap();
    }
}

/// Length hiding: every plaintext of up to 40 bytes (any amount opening, short names and
/// identifiers) encrypts to the same length, one bucket of 64 bytes plus the tag.
#[test]
fn plaintexts_of_0_to_40_bytes_have_ciphertexts_of_equal_length() {
    let readers = keys(1);
    let ctx = context(b"entry-1");
    let paths: Vec<String> = (0..=40).map(|len| format!("field.{len}")).collect();
    let plaintexts: Vec<Vec<u8>> = (0..=40u8).map(|len| vec![len; usize::from(len)]).collect();
    let fields: Vec<(&str, &[u8])> = paths
        .iter()
        .zip(&plaintexts)
        .map(|(path, plaintext)| (path.as_str(), plaintext.as_slice()))
        .collect();
    let group = envelope::seal_group(&ctx, &[readers[0].public_key()], &fields).unwrap();
    for field in &group.fields {
        assert_eq!(
            field.ciphertext.len(),
            64 + envelope::TAG_LEN,
            "{}",
            field.path
        );
    }
    let opened = group.open_all(&ctx, &readers[0]).unwrap();
    for ((_, plaintext), expected) in opened.iter().zip(&plaintexts) {
        assert_eq!(plaintext.expose(), expected);
    }
}

/// The documented buckets: `u32_be(len) || plaintext` of 64 bytes fills the 64-byte bucket,
/// one more byte moves to 128; the largest field fills the last bucket (131 072).
#[test]
fn plaintexts_of_60_and_61_bytes_fill_the_64_and_128_byte_buckets() {
    let readers = keys(1);
    let ctx = context(b"entry-1");
    let sixty = [0x60u8; 60];
    let sixty_one = [0x61u8; 61];
    let largest = vec![0xffu8; envelope::MAX_FIELD_LEN];
    let group = envelope::seal_group(
        &ctx,
        &[readers[0].public_key()],
        &[
            ("sixty", &sixty),
            ("sixty_one", &sixty_one),
            ("largest", &largest),
        ],
    )
    .unwrap();
    let lengths: Vec<usize> = group.fields.iter().map(|f| f.ciphertext.len()).collect();
    assert_eq!(lengths, [64 + 16, 128 + 16, 131_072 + 16]);
    assert_eq!(envelope::padded_len(60), Some(64));
    assert_eq!(envelope::padded_len(61), Some(128));
    assert_eq!(
        envelope::FIELD_BUCKETS,
        [
            64, 128, 256, 512, 1024, 2048, 4096, 8192, 16_384, 32_768, 65_536, 131_072
        ]
    );
    let decoded = SealedGroup::decode(&group.encode()).unwrap();
    let opened = decoded.open_all(&ctx, &readers[0]).unwrap();
    assert_eq!(opened[0].1.expose().as_slice(), sixty);
    assert_eq!(opened[1].1.expose().as_slice(), sixty_one);
    assert_eq!(opened[2].1.expose(), &largest);
}

#[test]
fn decode_refuses_field_ciphertexts_of_non_bucket_lengths() {
    let readers = keys(1);
    let ctx = context(b"entry-1");
    let group = envelope::seal_group(&ctx, &[readers[0].public_key()], &FIELDS).unwrap();
    for len in [
        0usize, 1, 16, 17, 32, 48, 64, 79, 81, 96, 143, 145, 65_551, 65_553, 131_087, 131_089,
        262_160,
    ] {
        let mut changed = group.clone();
        changed.fields[1].ciphertext = vec![0u8; len];
        let decoded = SealedGroup::decode(&changed.encode());
        assert!(
            matches!(
                decoded,
                Err(EnvelopeError::Encoding(EncodingError::Malformed(
                    "field ciphertext length"
                )))
            ),
            "{len}"
        );
        // A group built in memory with such a field does not open either.
        let data_key = changed.unwrap_key(&ctx, &readers[0]).unwrap();
        assert_eq!(
            data_key.open(&ctx, &changed.fields[1]).unwrap_err(),
            EnvelopeError::Decrypt
        );
    }
    // Every bucket length plus the tag decodes (and then fails to authenticate).
    for bucket in envelope::FIELD_BUCKETS {
        let mut changed = group.clone();
        changed.fields[1].ciphertext = vec![0u8; bucket + envelope::TAG_LEN];
        let decoded = SealedGroup::decode(&changed.encode()).unwrap();
        assert!(decoded == changed, "{bucket}");
        assert_eq!(
            decoded
                .open_field(&ctx, "borrower.national_id", &readers[0])
                .unwrap_err(),
            EnvelopeError::Decrypt
        );
    }
}

/// A group read by every party of the largest consortium a genesis admits (members and
/// regulators together: a settlement's repayments when its clearing period involves every
/// partner) seals, encodes, decodes and opens for its last recipient; one more is refused.
#[test]
fn a_group_for_every_party_of_the_largest_consortium_seals_and_decodes() {
    let readers: Vec<EncryptionSecretKey> = (0..=envelope::MAX_RECIPIENTS)
        .map(|i| {
            let mut seed = [7u8; 32];
            seed[..8].copy_from_slice(&(i as u64).to_be_bytes());
            EncryptionSecretKey::derive(&seed)
        })
        .collect();
    let publics: Vec<_> = readers.iter().map(|k| k.public_key()).collect();
    let ctx = context(b"settlement-1");
    let all = &publics[..envelope::MAX_RECIPIENTS];
    let group = envelope::seal_group(&ctx, all, &FIELDS).unwrap();
    let decoded = SealedGroup::decode(&group.encode()).unwrap();
    let last = &readers[envelope::MAX_RECIPIENTS - 1];
    let opened = decoded.open_all(&ctx, last).unwrap();
    assert_eq!(opened.len(), FIELDS.len());

    assert_eq!(
        envelope::seal_group(&ctx, &publics, &FIELDS).unwrap_err(),
        EnvelopeError::InvalidRequest("number of recipients")
    );
    // The same count on the wire: the decoder refuses it before reading the keys.
    let mut bytes = group.encode();
    let count = u16::try_from(envelope::MAX_RECIPIENTS + 1).unwrap();
    bytes[1..3].copy_from_slice(&count.to_be_bytes());
    assert!(matches!(
        SealedGroup::decode(&bytes),
        Err(EnvelopeError::Encoding(_))
    ));
}
