//! RFC 9180 Appendix A.2.1: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305, Base
//! mode — the suite every Veil wrapped key uses. The values are the RFC's (sequence number 0,
//! which is what a single-shot seal is).

use hpke::{Deserializable as _, Kem as _, Serializable as _};
use rand_core::{Infallible, TryCryptoRng, TryRng};
use veil_crypto::EncryptionSecretKey;
use veil_crypto::encoding::{from_hex, to_hex};

type Kem = hpke::kem::X25519HkdfSha256;
type Aead = hpke::aead::ChaCha20Poly1305;
type Kdf = hpke::kdf::HkdfSha256;

const INFO: &str = "4f6465206f6e2061204772656369616e2055726e";
const IKM_E: &str = "909a9b35d3dc4713a5e72a4da274b55d3d3821a37e5d099e74a647db583a904b";
const SK_EM: &str = "f4ec9b33b792c372c1d2c2063507b684ef925b8c75a42dbcbf57d63ccd381600";
const PK_RM: &str = "4310ee97d88cc1f088a5576c77ab0cf5c3ac797f3d95139c6c84b5429c59662a";
const SK_RM: &str = "8057991eef8f1f1af18f4a9491d16a1ce333f695d4db8e38da75975c4478e0fb";
const ENC: &str = "1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a";
const PT: &str = "4265617574792069732074727574682c20747275746820626561757479";
const AAD_0: &str = "436f756e742d30";
const CT_0: &str =
    "1c5250d8034ec2b784ba2cfd69dbdb8af406cfe3ff938e131f0def8c8b60b4db21993c62ce81883d2dd1b51a28";

fn hex(text: &str) -> Vec<u8> {
    from_hex(text, 1024).unwrap()
}

/// Hands out fixed bytes, so the sender's ephemeral key is `DeriveKeyPair(ikmE)`.
struct FixedRng(Vec<u8>);

impl TryRng for FixedRng {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        unreachable!("HPKE asks for bytes")
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        unreachable!("HPKE asks for bytes")
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        assert!(dst.len() <= self.0.len(), "FixedRng exhausted");
        let rest = self.0.split_off(dst.len());
        dst.copy_from_slice(&self.0);
        self.0 = rest;
        Ok(())
    }
}

impl TryCryptoRng for FixedRng {}

#[test]
fn recipient_key_matches_the_rfc() {
    let sk: [u8; 32] = hex(SK_RM).try_into().unwrap();
    let key = EncryptionSecretKey::from_bytes(&sk).unwrap();
    assert_eq!(key.public_key().to_hex(), PK_RM);
}

#[test]
fn ephemeral_key_derivation_matches_the_rfc() {
    let (sk, pk) = Kem::derive_keypair(&hex(IKM_E));
    // The RFC lists skEm before clamping; RFC 9180 §7.1.2 has SerializePrivateKey clamp.
    let mut clamped = hex(SK_EM);
    clamped[0] &= 248;
    clamped[31] &= 127;
    clamped[31] |= 64;
    assert_eq!(sk.to_bytes().as_slice(), clamped.as_slice());
    assert_eq!(to_hex(&pk.to_bytes()), ENC);
}

#[test]
fn seal_reproduces_the_rfc_ciphertext() {
    let pk = <Kem as hpke::Kem>::PublicKey::from_bytes(&hex(PK_RM)).unwrap();
    let mut rng = rand_core::UnwrapErr(FixedRng(hex(IKM_E)));
    let (enc, ct) = hpke::single_shot_seal_with_rng::<Aead, Kdf, Kem>(
        &hpke::OpModeS::Base,
        &pk,
        &hex(INFO),
        &hex(PT),
        &hex(AAD_0),
        &mut rng,
    )
    .unwrap();
    assert_eq!(to_hex(&enc.to_bytes()), ENC);
    assert_eq!(to_hex(&ct), CT_0);
}

#[test]
fn open_recovers_the_rfc_plaintext_and_refuses_tampering() {
    let sk = <Kem as hpke::Kem>::PrivateKey::from_bytes(&hex(SK_RM)).unwrap();
    let enc = <Kem as hpke::Kem>::EncappedKey::from_bytes(&hex(ENC)).unwrap();
    let open = |ct: &[u8], aad: &[u8]| {
        hpke::single_shot_open::<Aead, Kdf, Kem>(
            &hpke::OpModeR::Base,
            &sk,
            &enc,
            &hex(INFO),
            ct,
            aad,
        )
    };
    assert_eq!(open(&hex(CT_0), &hex(AAD_0)).unwrap(), hex(PT));
    let ct = hex(CT_0);
    for i in 0..ct.len() {
        let mut tampered = ct.clone();
        tampered[i] ^= 0x01;
        assert!(open(&tampered, &hex(AAD_0)).is_err(), "byte {i}");
    }
    assert!(open(&ct, b"Count-1").is_err());
}
