//! Project Wycheproof vectors for the primitives under Veil's envelopes and signatures:
//! ChaCha20-Poly1305 (inside HPKE), XChaCha20-Poly1305 (field encryption), X25519 (the HPKE
//! KEM) and Ed25519 (`verify_strict`, as `veil_crypto::signature` uses it).

use chacha20poly1305::aead::Payload;
use chacha20poly1305::{ChaCha20Poly1305, XChaCha20Poly1305};
use veil_crypto::{EncodingError, EncryptionPublicKey, VerifyingKey};
use wycheproof::TestResult;

fn check_aead<A: chacha20poly1305::KeyInit + chacha20poly1305::aead::Aead>(
    name: wycheproof::aead::TestName,
    nonce_len: usize,
) -> usize {
    let set = wycheproof::aead::TestSet::load(name).unwrap();
    let mut checked = 0;
    for group in &set.test_groups {
        for test in &group.tests {
            let usable =
                group.key_size == 256 && group.nonce_size == nonce_len * 8 && group.tag_size == 128;
            if !usable {
                // Our APIs take only 256-bit keys, full nonces and 128-bit tags; other sizes
                // cannot even be expressed, which is the refusal the vector expects.
                assert_ne!(
                    test.result,
                    TestResult::Valid,
                    "tc {} needs other sizes",
                    test.tc_id
                );
                continue;
            }
            let cipher = A::new_from_slice(&test.key).unwrap();
            let nonce = chacha20poly1305::aead::Nonce::<A>::try_from(&test.nonce[..]).unwrap();
            let mut sealed = test.ct.to_vec();
            sealed.extend_from_slice(&test.tag);
            let opened = cipher.decrypt(
                &nonce,
                Payload {
                    msg: &sealed,
                    aad: &test.aad,
                },
            );
            match test.result {
                TestResult::Valid => {
                    assert_eq!(opened.unwrap(), test.pt.to_vec(), "tc {}", test.tc_id);
                    let encrypted = cipher
                        .encrypt(
                            &nonce,
                            Payload {
                                msg: &test.pt,
                                aad: &test.aad,
                            },
                        )
                        .unwrap();
                    assert_eq!(encrypted, sealed, "tc {}", test.tc_id);
                }
                TestResult::Invalid => assert!(opened.is_err(), "tc {}", test.tc_id),
                TestResult::Acceptable => {}
            }
            checked += 1;
        }
    }
    checked
}

#[test]
fn chacha20_poly1305() {
    let checked = check_aead::<ChaCha20Poly1305>(wycheproof::aead::TestName::ChaCha20Poly1305, 12);
    assert!(checked > 100, "only {checked} vectors checked");
}

#[test]
fn xchacha20_poly1305() {
    let checked =
        check_aead::<XChaCha20Poly1305>(wycheproof::aead::TestName::XChaCha20Poly1305, 24);
    assert!(checked > 100, "only {checked} vectors checked");
}

#[test]
fn x25519() {
    let set = wycheproof::xdh::TestSet::load(wycheproof::xdh::TestName::X25519).unwrap();
    let mut checked = 0;
    let mut refused_weak = 0;
    for group in &set.test_groups {
        for test in &group.tests {
            let (Ok(private), Ok(public)) = (
                <[u8; 32]>::try_from(&test.private_key[..]),
                <[u8; 32]>::try_from(&test.public_key[..]),
            ) else {
                assert_ne!(test.result, TestResult::Valid, "tc {}", test.tc_id);
                continue;
            };
            let shared = x25519_dalek::x25519(private, public);
            match test.result {
                TestResult::Valid => {
                    assert_eq!(
                        shared.as_slice(),
                        &test.shared_secret[..],
                        "tc {}",
                        test.tc_id
                    );
                }
                TestResult::Invalid => {
                    assert_ne!(
                        shared.as_slice(),
                        &test.shared_secret[..],
                        "tc {}",
                        test.tc_id
                    );
                }
                TestResult::Acceptable => {
                    assert_eq!(
                        shared.as_slice(),
                        &test.shared_secret[..],
                        "tc {}",
                        test.tc_id
                    );
                }
            }
            // A public key whose shared secret is all zero is of small order: Veil refuses it
            // as a recipient, so HPKE never runs with it.
            if shared == [0u8; 32] {
                assert_eq!(
                    EncryptionPublicKey::from_bytes(&public),
                    Err(EncodingError::WeakKey),
                    "tc {}",
                    test.tc_id
                );
                refused_weak += 1;
            }
            checked += 1;
        }
    }
    assert!(checked > 400, "only {checked} vectors checked");
    assert!(refused_weak > 0);
}

#[test]
fn ed25519_verify_strict() {
    let set = wycheproof::eddsa::TestSet::load(wycheproof::eddsa::TestName::Ed25519).unwrap();
    let mut checked = 0;
    for group in &set.test_groups {
        let key_bytes: [u8; 32] = group.key.pk[..].try_into().unwrap();
        let dalek = ed25519_dalek::VerifyingKey::from_bytes(&key_bytes);
        let ours = VerifyingKey::from_bytes(&key_bytes);
        for test in &group.tests {
            let verified = match (&dalek, <[u8; 64]>::try_from(&test.sig[..])) {
                (Ok(key), Ok(sig)) => key
                    .verify_strict(&test.msg, &ed25519_dalek::Signature::from_bytes(&sig))
                    .is_ok(),
                _ => false,
            };
            match test.result {
                TestResult::Valid => {
                    assert!(verified, "tc {} valid but refused", test.tc_id);
                    assert!(ours.is_ok(), "tc {}: a valid key refused", test.tc_id);
                }
                TestResult::Invalid => assert!(!verified, "tc {} invalid but accepted", test.tc_id),
                TestResult::Acceptable => {}
            }
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} vectors checked");
}
