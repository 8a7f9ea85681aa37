//! Frozen wire-format vectors: `tests/vectors/envelope.json` and `tests/vectors/pedersen.json`.
//!
//! The vectors are checked two ways: the committed files must equal what the current code
//! produces from the same seed (the format has not drifted), and every envelope vector must
//! open with plain RFC 9180 HPKE, HMAC/HKDF-SHA256 and XChaCha20-Poly1305 as
//! `docs/protocol/envelope.md` describes them, without Veil's envelope code: unwrap the data
//! key, check the group's key commitment, derive the field key, decrypt, strip the padding.
//!
//! Regenerate (only when a format changes on purpose, with a new label version):
//!
//! ```text
//! VEIL_REGENERATE_VECTORS=1 cargo test -p veil-crypto --test vectors
//! ```

use std::path::PathBuf;

use chacha20poly1305::aead::{Aead as _, Payload};
use chacha20poly1305::{KeyInit as _, XChaCha20Poly1305};
use curve25519_dalek::scalar::Scalar;
use hpke::{Deserializable as _, Kem as _};
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng as _, SeedableRng as _};
use serde::{Deserialize, Serialize};
use veil_crypto::encoding::{from_hex, to_hex};
use veil_crypto::envelope::{self, FieldContext};
use veil_crypto::{Commitment, EncryptionSecretKey, Opening};

type Kem = hpke::kem::X25519HkdfSha256;

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
struct EnvelopeVector {
    recipient_sk: String,
    recipient_pk: String,
    hpke_info: String,
    hpke_aad: String,
    enc: String,
    wrapped_key: String,
    key_commitment_message: String,
    key_commitment: String,
    field_key_info: String,
    nonce: String,
    field_aad: String,
    ciphertext: String,
    plaintext: String,
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
struct PedersenVector {
    value: u64,
    blinding: String,
    commitment: String,
}

fn vectors_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
        .join("tests/vectors")
}

fn generate_envelope_vectors() -> Vec<EnvelopeVector> {
    let mut rng = ChaCha20Rng::from_seed([0x76; 32]);
    let policy_hash = [0x11u8; 32];
    // (consortium id, entry id, fields, number of recipients)
    type Case<'a> = (&'a str, &'a [u8], &'a [(&'a str, &'a [u8])], u8);
    // A committed amount's plaintext: u64_be(500000) || a 32-byte little-endian scalar.
    let mut opening = [0u8; 40];
    opening[..8].copy_from_slice(&500_000u64.to_be_bytes());
    opening[8..].copy_from_slice(&Scalar::from(0x0123_4567_89ab_cdefu64).to_bytes());
    let long_memo = [b'x'; 300];
    let cases: [Case<'_>; 5] = [
        (
            "veil-vectors",
            b"entry-0001",
            &[
                ("borrower.name", b"Zhang Wei"),
                ("borrower.national_id", b"110101199003077777"),
            ],
            2,
        ),
        ("veil-vectors", b"entry-0002", &[("principal", &opening)], 1),
        ("veil-vectors", b"entry-0003", &[("memo", b"")], 1),
        (
            "veil-vectors",
            b"entry-0004",
            &[
                (
                    "memo",
                    b"sixty-one bytes of plaintext spill into the 128-byte bucket..",
                ),
                ("remarks", &long_memo),
            ],
            2,
        ),
        (
            "veil-vectors",
            b"entry-0005",
            &[(
                "borrower.address",
                b"sixty bytes exactly fill the smallest bucket with the prefix",
            )],
            1,
        ),
    ];
    let mut out = Vec::new();
    for (consortium_id, entry_id, fields, recipients) in cases {
        let context = FieldContext {
            consortium_id,
            entry_id,
            schema_version: 1,
            policy_hash: &policy_hash,
        };
        let keys: Vec<EncryptionSecretKey> = (0..recipients)
            .map(|_| {
                let mut ikm = [0u8; 32];
                rng.fill_bytes(&mut ikm);
                EncryptionSecretKey::derive(&ikm)
            })
            .collect();
        let publics: Vec<_> = keys.iter().map(|k| k.public_key()).collect();
        let group = envelope::seal_group_with_rng(&context, &publics, fields, &mut rng).unwrap();
        let hpke_aad = context.wrap_aad(group.paths());
        let mut key_commitment_message = Vec::new();
        veil_crypto::encoding::put_framed(
            &mut key_commitment_message,
            veil_crypto::labels::ENVELOPE_KEY_COMMITMENT,
        );
        key_commitment_message.extend_from_slice(&hpke_aad);
        for (key, wrap) in keys.iter().zip(&group.wrapped_keys) {
            for (field, (_, plaintext)) in group.fields.iter().zip(fields.iter()) {
                out.push(EnvelopeVector {
                    recipient_sk: to_hex(key.to_bytes().as_ref()),
                    recipient_pk: key.public_key().to_hex(),
                    hpke_info: to_hex(veil_crypto::labels::ENVELOPE_WRAP_INFO),
                    hpke_aad: to_hex(&hpke_aad),
                    enc: to_hex(&wrap.enc),
                    wrapped_key: to_hex(&wrap.ciphertext),
                    key_commitment_message: to_hex(&key_commitment_message),
                    key_commitment: to_hex(&group.key_commitment),
                    field_key_info: to_hex(&envelope::field_key_info(&field.path)),
                    nonce: to_hex(&field.nonce),
                    field_aad: to_hex(&context.field_aad(&field.path)),
                    ciphertext: to_hex(&field.ciphertext),
                    plaintext: to_hex(plaintext),
                });
            }
        }
    }
    out
}

fn generate_pedersen_vectors() -> Vec<PedersenVector> {
    let mut rng = ChaCha20Rng::from_seed([0x70; 32]);
    let values = [0u64, 1, 500, 350_000, 20_000_000, u64::MAX];
    values
        .iter()
        .map(|&value| {
            let mut wide = [0u8; 64];
            rng.fill_bytes(&mut wide);
            let opening = Opening::new(value, Scalar::from_bytes_mod_order_wide(&wide));
            PedersenVector {
                value,
                blinding: to_hex(&opening.blinding_bytes()),
                commitment: opening.commit().to_hex(),
            }
        })
        .collect()
}

fn check_or_regenerate<T: Serialize + for<'de> Deserialize<'de> + PartialEq + std::fmt::Debug>(
    name: &str,
    generated: Vec<T>,
) -> Vec<T> {
    let path = vectors_dir().join(name);
    if std::env::var_os("VEIL_REGENERATE_VECTORS").is_some() {
        let text = serde_json::to_string_pretty(&generated).unwrap() + "\n";
        std::fs::write(&path, text).unwrap();
    }
    let committed: Vec<T> = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(
        committed, generated,
        "{name} differs from what the code produces: the wire format changed"
    );
    committed
}

fn hex(text: &str) -> Vec<u8> {
    from_hex(text, 1 << 20).unwrap()
}

#[test]
fn envelope_vectors_are_frozen_and_open_with_plain_primitives() {
    let vectors = check_or_regenerate("envelope.json", generate_envelope_vectors());
    assert!(vectors.len() >= 11);
    for vector in &vectors {
        // RFC 9180 single-shot open of the wrapped data key.
        let sk = <Kem as hpke::Kem>::PrivateKey::from_bytes(&hex(&vector.recipient_sk)).unwrap();
        assert_eq!(
            hpke::Serializable::to_bytes(&Kem::sk_to_pk(&sk)).as_slice(),
            hex(&vector.recipient_pk).as_slice()
        );
        let enc = <Kem as hpke::Kem>::EncappedKey::from_bytes(&hex(&vector.enc)).unwrap();
        let data_key =
            hpke::single_shot_open::<hpke::aead::ChaCha20Poly1305, hpke::kdf::HkdfSha256, Kem>(
                &hpke::OpModeR::Base,
                &sk,
                &enc,
                &hex(&vector.hpke_info),
                &hex(&vector.wrapped_key),
                &hex(&vector.hpke_aad),
            )
            .unwrap();
        assert_eq!(data_key.len(), 32);

        // Key commitment: HMAC-SHA256(key = data key,
        //                             framed("veil.envelope.key-commitment.v1") || wrap_aad).
        let message = hex(&vector.key_commitment_message);
        let mut expected_message = Vec::new();
        expected_message.extend_from_slice(
            &u32::try_from(veil_crypto::labels::ENVELOPE_KEY_COMMITMENT.len())
                .unwrap()
                .to_be_bytes(),
        );
        expected_message.extend_from_slice(veil_crypto::labels::ENVELOPE_KEY_COMMITMENT);
        expected_message.extend_from_slice(&hex(&vector.hpke_aad));
        assert_eq!(message, expected_message);
        let mut mac =
            <hmac::Hmac<sha2::Sha256> as hmac::KeyInit>::new_from_slice(&data_key).unwrap();
        hmac::Mac::update(&mut mac, &message);
        let commitment: [u8; 32] = hmac::Mac::finalize(mac).into_bytes().into();
        assert_eq!(to_hex(&commitment), vector.key_commitment);

        // HKDF-SHA256(ikm = data key, salt = empty, info = field_key_info, L = 32).
        let mut field_key = [0u8; 32];
        hkdf::Hkdf::<sha2::Sha256>::new(None, &data_key)
            .expand(&hex(&vector.field_key_info), &mut field_key)
            .unwrap();

        // XChaCha20-Poly1305 with the field AAD.
        let nonce: [u8; 24] = hex(&vector.nonce).try_into().unwrap();
        let ciphertext = hex(&vector.ciphertext);
        let padded = XChaCha20Poly1305::new(&field_key.into())
            .decrypt(
                &nonce.into(),
                Payload {
                    msg: &ciphertext,
                    aad: &hex(&vector.field_aad),
                },
            )
            .unwrap();
        assert_eq!(padded.len() + 16, ciphertext.len());

        // Padding: u32_be(len) || plaintext || zeros, to the smallest bucket 64 * 2^k
        // (k = 0..=11) that holds len + 4.
        let buckets: Vec<usize> = (0..=11).map(|k| 64usize << k).collect();
        assert!(buckets.contains(&padded.len()), "{}", padded.len());
        let len = u32::from_be_bytes(padded[..4].try_into().unwrap()) as usize;
        assert!(len + 4 <= padded.len());
        assert_eq!(
            buckets.iter().find(|&&bucket| bucket >= len + 4),
            Some(&padded.len()),
            "not the smallest bucket"
        );
        assert!(padded[4 + len..].iter().all(|&b| b == 0));
        assert_eq!(padded[4..4 + len], hex(&vector.plaintext));
    }
}

#[test]
fn pedersen_vectors_are_frozen_and_recompute_from_the_bulletproofs_generators() {
    let vectors = check_or_regenerate("pedersen.json", generate_pedersen_vectors());
    let gens = bulletproofs::PedersenGens::default();
    for vector in &vectors {
        let blinding: [u8; 32] = hex(&vector.blinding).try_into().unwrap();
        let point = gens.commit(
            Scalar::from(vector.value),
            Scalar::from_canonical_bytes(blinding).unwrap(),
        );
        assert_eq!(to_hex(point.compress().as_bytes()), vector.commitment);
        let commitment = Commitment::from_hex(&vector.commitment).unwrap();
        assert!(commitment.is_opened_by(&Opening::from_parts(vector.value, &blinding).unwrap()));
    }
}
