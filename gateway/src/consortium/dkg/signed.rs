//! The signed files of a DKG directory, and reading all of them back checked: names,
//! members, addressing, formats and signatures (the cryptography of the packages is checked
//! after, `veil_crypto::dkg`).
//!
//! Every file carries its sender's Ed25519 signature, under
//! [`labels::signature::DKG`], of
//!
//! ```text
//! m = SHA-256(framed("veil.dkg.message.v1") ‖ manifest hash ‖ framed(step) ‖ framed(sender)
//!             ‖ framed(recipient) ‖ framed(payload))
//! ```
//!
//! with `step` one of `round1`, `round2`, `result`, `recipient` empty but in round 2, and the
//! payload the round-1 package; `framed(enc) ‖ framed(ciphertext)` of a sealed round-2
//! package; or `u16_be(t) ‖ group key ‖ u32_be(n) ‖ K_1 ‖ … ‖ K_n` of a result. A file moved
//! to another member's name, another recipient, another step or another DKG no longer
//! verifies.
//!
//! ```json
//! round1/<member>.json      {"format": "veil.dkg.round1.v1", "member": ..., "package": hex,
//!                            "signature": hex}
//! round2/<from>/<to>.json   {"format": "veil.dkg.round2.v1", "from": ..., "to": ...,
//!                            "enc": hex, "ciphertext": hex, "signature": hex}
//! result/<member>.json      {"format": "veil.dkg.result.v1", "member": ..., "threshold": t,
//!                            "group_key": hex, "public_shares": [hex, ...], "signature": hex}
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use veil_crypto::oprf::OprfPublicKey;
use veil_crypto::sealed_box::{self, SealedBox};
use veil_crypto::signature::SIGNATURE_LEN;
use veil_crypto::{Signature, SigningKey, VerifyingKey, encoding, labels};

use super::error::{DkgError, refused};
use super::files::{entries, read, result_dir, round1_dir, round2_dir};
use super::manifest::Manifest;

/// `format` of a round-1 file.
pub(super) const ROUND1_FORMAT: &str = "veil.dkg.round1.v1";
/// `format` of a round-2 file.
pub(super) const ROUND2_FORMAT: &str = "veil.dkg.round2.v1";
/// `format` of a result file.
pub(super) const RESULT_FORMAT: &str = "veil.dkg.result.v1";

/// Largest round-1 package, in bytes (FROST's encoding: `t` commitments of 32 bytes, a proof
/// and a header).
const MAX_PACKAGE_LEN: usize = 64 * 1024;

/// A step of the DKG, as signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    Round1,
    Round2,
    Result,
}

impl Step {
    fn name(self) -> &'static str {
        match self {
            Self::Round1 => "round1",
            Self::Round2 => "round2",
            Self::Result => "result",
        }
    }
}

/// The message `m` a DKG file's signature covers (see the module documentation).
pub(super) fn message(
    manifest_hash: &[u8; 32],
    step: Step,
    sender: &str,
    recipient: &str,
    payload: &[u8],
) -> [u8; 32] {
    let mut bytes = Vec::with_capacity(payload.len() + 128);
    encoding::put_framed(&mut bytes, labels::DKG_MESSAGE);
    bytes.extend_from_slice(manifest_hash);
    encoding::put_framed(&mut bytes, step.name().as_bytes());
    encoding::put_framed(&mut bytes, sender.as_bytes());
    encoding::put_framed(&mut bytes, recipient.as_bytes());
    encoding::put_framed(&mut bytes, payload);
    Sha256::digest(&bytes).into()
}

/// A signed message: its digest and the signature, what the transcript hash chains.
#[derive(Debug, Clone, Copy)]
pub(super) struct Link {
    pub(super) digest: [u8; 32],
    pub(super) signature: [u8; SIGNATURE_LEN],
}

impl Link {
    /// Signs `digest` with `key`.
    pub(super) fn sign(key: &SigningKey, digest: [u8; 32]) -> Self {
        Self {
            digest,
            signature: key.sign(labels::signature::DKG, &digest).to_bytes(),
        }
    }

    /// The signature, hex.
    pub(super) fn signature_hex(&self) -> String {
        encoding::to_hex(&self.signature)
    }
}

/// `round1/<member>.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Round1File {
    pub(super) format: String,
    pub(super) member: String,
    pub(super) package: String,
    pub(super) signature: String,
}

/// `round2/<from>/<to>.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Round2File {
    pub(super) format: String,
    pub(super) from: String,
    pub(super) to: String,
    pub(super) enc: String,
    pub(super) ciphertext: String,
    pub(super) signature: String,
}

/// `result/<member>.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ResultFile {
    pub(super) format: String,
    pub(super) member: String,
    pub(super) threshold: u16,
    pub(super) group_key: String,
    pub(super) public_shares: Vec<String>,
    pub(super) signature: String,
}

/// The payload of a sealed round-2 package.
pub(super) fn round2_payload(sealed: &SealedBox) -> Vec<u8> {
    let mut out = Vec::with_capacity(sealed.ciphertext.len() + 48);
    encoding::put_framed(&mut out, &sealed.enc);
    encoding::put_framed(&mut out, &sealed.ciphertext);
    out
}

/// The payload of a result: `u16_be(t) ‖ K ‖ u32_be(n) ‖ K_1 ‖ … ‖ K_n` (compressed points).
pub(super) fn result_payload(key: &OprfPublicKey) -> Vec<u8> {
    let mut out = Vec::with_capacity(38 + 32 * key.shares.len());
    out.extend_from_slice(&key.threshold.to_be_bytes());
    out.extend_from_slice(key.group_key.compress().as_bytes());
    let count = u32::try_from(key.shares.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&count.to_be_bytes());
    for share in key.shares.values() {
        out.extend_from_slice(share.compress().as_bytes());
    }
    out
}

/// JSON of a file, with a final newline.
pub(super) fn to_json(file: &impl Serialize) -> Vec<u8> {
    // Plain strings and numbers: serializing cannot fail.
    let mut bytes = serde_json::to_vec_pretty(file).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// An item of the transcript with its signed link.
#[derive(Debug, Clone)]
pub(super) struct Item<T> {
    pub(super) value: T,
    pub(super) link: Link,
}

/// Every file of a DKG directory, read and checked: names, members, addressing, formats and
/// signatures. Maps are keyed by member index (1-based, manifest order).
#[derive(Debug, Default)]
pub(super) struct Signed {
    /// Each member's round-1 package.
    pub(super) round1: BTreeMap<u16, Item<Vec<u8>>>,
    /// Each sealed round-2 package, by (sender, recipient).
    pub(super) round2: BTreeMap<(u16, u16), Item<SealedBox>>,
    /// Each member's result.
    pub(super) results: BTreeMap<u16, Item<OprfPublicKey>>,
}

impl Signed {
    /// The transcript hash: `SHA-256(framed("veil.dkg.transcript.v1") ‖ manifest hash ‖
    /// u32_be(count) ‖ (m ‖ signature)...)` over every signed file present, round-1 files in
    /// member order, then round-2 files by (sender, recipient), then results.
    pub(super) fn transcript_hash(&self, manifest_hash: &[u8; 32]) -> [u8; 32] {
        let links: Vec<&Link> = self
            .round1
            .values()
            .map(|item| &item.link)
            .chain(self.round2.values().map(|item| &item.link))
            .chain(self.results.values().map(|item| &item.link))
            .collect();
        let mut bytes = Vec::with_capacity(64 + 96 * links.len());
        encoding::put_framed(&mut bytes, labels::DKG_TRANSCRIPT);
        bytes.extend_from_slice(manifest_hash);
        let count = u32::try_from(links.len()).unwrap_or(u32::MAX);
        bytes.extend_from_slice(&count.to_be_bytes());
        for link in links {
            bytes.extend_from_slice(&link.digest);
            bytes.extend_from_slice(&link.signature);
        }
        Sha256::digest(&bytes).into()
    }

    /// The round-1 packages by index, as `veil_crypto::dkg` takes them.
    pub(super) fn round1_packages(&self) -> BTreeMap<u16, Vec<u8>> {
        self.round1
            .iter()
            .map(|(index, item)| (*index, item.value.clone()))
            .collect()
    }

    /// The members (ids) whose round-1 file is missing.
    pub(super) fn missing_round1<'a>(&self, manifest: &'a Manifest) -> Vec<&'a str> {
        (1..=manifest.n())
            .filter(|i| !self.round1.contains_key(i))
            .map(|i| manifest.id_at(i))
            .collect()
    }

    /// The members (ids) that have not sent every other member its round-2 package.
    pub(super) fn missing_round2<'a>(&self, manifest: &'a Manifest) -> Vec<&'a str> {
        let n = manifest.n();
        (1..=n)
            .filter(|from| (1..=n).any(|to| to != *from && !self.round2.contains_key(&(*from, to))))
            .map(|i| manifest.id_at(i))
            .collect()
    }

    /// The members (ids) whose result is missing.
    pub(super) fn missing_results<'a>(&self, manifest: &'a Manifest) -> Vec<&'a str> {
        (1..=manifest.n())
            .filter(|i| !self.results.contains_key(i))
            .map(|i| manifest.id_at(i))
            .collect()
    }
}

/// A signature in hex, decoded.
fn signature(at: &Path, text: &str) -> Result<[u8; SIGNATURE_LEN], DkgError> {
    encoding::from_hex_array::<SIGNATURE_LEN>(text)
        .map_err(|_| refused(format!("{}: signature is not 64 hex bytes", at.display())))
}

/// Checks `key`'s signature `signature` of `digest`, or says whose signature it is not.
fn check_link(
    at: &Path,
    who: &str,
    what: &str,
    key: &VerifyingKey,
    digest: [u8; 32],
    signature: [u8; SIGNATURE_LEN],
) -> Result<Link, DkgError> {
    let valid = Signature::from_bytes(&signature)
        .ok()
        .is_some_and(|s| key.verify(labels::signature::DKG, &digest, &s).is_ok());
    if !valid {
        return Err(refused(format!(
            "{}: not {who}'s signature of {what} for this DKG (the file was altered, moved, \
             forged or made for another DKG)",
            at.display()
        )));
    }
    Ok(Link { digest, signature })
}

/// The member index of a file `<id>.json` in `dir`, or why it does not belong there.
fn member_file(manifest: &Manifest, name: &str, at: &Path) -> Result<(u16, String), DkgError> {
    let id = name.strip_suffix(".json").unwrap_or_default();
    match manifest.index_of(id) {
        Some(index) if !id.is_empty() => Ok((index, id.to_owned())),
        _ => Err(refused(format!(
            "{}: not <member>.json of a member of this DKG (an interrupted write, or a file \
             that does not belong here; its members: {})",
            at.display(),
            manifest.ids().join(", ")
        ))),
    }
}

/// Parses a JSON file, naming it on failure.
fn parse<T: serde::de::DeserializeOwned>(at: &Path, bytes: &[u8]) -> Result<T, DkgError> {
    serde_json::from_slice(bytes).map_err(|e| refused(format!("{}: {e}", at.display())))
}

fn check_format(at: &Path, format: &str, expected: &str) -> Result<(), DkgError> {
    if format != expected {
        return Err(refused(format!(
            "{}: format {format:?} is not {expected:?}",
            at.display()
        )));
    }
    Ok(())
}

/// Reads and checks every file of the DKG in `dir` (see [`Signed`]); refuses the first that is
/// misnamed, misaddressed, malformed or not signed by its member for this DKG.
pub(super) fn signed(dir: &Path, manifest: &Manifest) -> Result<Signed, DkgError> {
    let hash = manifest.hash();
    let mut out = Signed::default();
    for (name, at) in entries(&round1_dir(dir))? {
        let (index, id) = member_file(manifest, &name, &at)?;
        let file: Round1File = parse(&at, &read(&at)?)?;
        check_format(&at, &file.format, ROUND1_FORMAT)?;
        if file.member != id {
            return Err(refused(format!(
                "{}: the package of {}, filed under {id}",
                at.display(),
                file.member
            )));
        }
        let package = encoding::from_hex(&file.package, MAX_PACKAGE_LEN)
            .map_err(|e| refused(format!("{}: package: {e}", at.display())))?;
        let key = manifest
            .signing_key_of(&id)
            .ok_or_else(|| refused(format!("{}: {id} has no key", at.display())))?;
        let digest = message(&hash, Step::Round1, &id, "", &package);
        let link = check_link(
            &at,
            &id,
            "its round-1 package",
            &key,
            digest,
            signature(&at, &file.signature)?,
        )?;
        out.round1.insert(
            index,
            Item {
                value: package,
                link,
            },
        );
    }
    for (sender, sender_dir) in entries(&round2_dir(dir))? {
        let Some(from) = manifest.index_of(&sender).filter(|_| sender_dir.is_dir()) else {
            return Err(refused(format!(
                "{}: not the round-2 directory of a member of this DKG (its members: {})",
                sender_dir.display(),
                manifest.ids().join(", ")
            )));
        };
        let key = manifest
            .signing_key_of(&sender)
            .ok_or_else(|| refused(format!("{}: {sender} has no key", sender_dir.display())))?;
        for (name, at) in entries(&sender_dir)? {
            let (to, recipient) = member_file(manifest, &name, &at)?;
            if to == from {
                return Err(refused(format!(
                    "{}: a member sends itself nothing",
                    at.display()
                )));
            }
            let file: Round2File = parse(&at, &read(&at)?)?;
            check_format(&at, &file.format, ROUND2_FORMAT)?;
            if file.from != sender || file.to != recipient {
                return Err(refused(format!(
                    "{}: misaddressed: the package is from {} to {}, filed as from {sender} to \
                     {recipient}",
                    at.display(),
                    file.from,
                    file.to
                )));
            }
            let sealed = SealedBox {
                enc: encoding::from_hex_array(&file.enc)
                    .map_err(|e| refused(format!("{}: enc: {e}", at.display())))?,
                ciphertext: encoding::from_hex(
                    &file.ciphertext,
                    sealed_box::MAX_MESSAGE_LEN + sealed_box::TAG_LEN,
                )
                .map_err(|e| refused(format!("{}: ciphertext: {e}", at.display())))?,
            };
            let digest = message(
                &hash,
                Step::Round2,
                &sender,
                &recipient,
                &round2_payload(&sealed),
            );
            let link = check_link(
                &at,
                &sender,
                &format!("its round-2 package to {recipient}"),
                &key,
                digest,
                signature(&at, &file.signature)?,
            )?;
            out.round2.insert(
                (from, to),
                Item {
                    value: sealed,
                    link,
                },
            );
        }
    }
    for (name, at) in entries(&result_dir(dir))? {
        let (index, id) = member_file(manifest, &name, &at)?;
        let file: ResultFile = parse(&at, &read(&at)?)?;
        check_format(&at, &file.format, RESULT_FORMAT)?;
        if file.member != id {
            return Err(refused(format!(
                "{}: the result of {}, filed under {id}",
                at.display(),
                file.member
            )));
        }
        let point = |what: &str, hex: &str| {
            encoding::from_hex_array::<32>(hex)
                .map_err(|e| refused(format!("{}: {what}: {e}", at.display())))
        };
        let group_key = point("group_key", &file.group_key)?;
        let shares = file
            .public_shares
            .iter()
            .map(|hex| point("public_shares", hex))
            .collect::<Result<Vec<_>, _>>()?;
        if shares.len() != manifest.members.len() {
            return Err(refused(format!(
                "{}: {} public shares for {} members",
                at.display(),
                shares.len(),
                manifest.members.len()
            )));
        }
        let key = OprfPublicKey::from_bytes(file.threshold, &group_key, &shares)
            .map_err(|e| refused(format!("{}: {e}", at.display())))?;
        let signer = manifest
            .signing_key_of(&id)
            .ok_or_else(|| refused(format!("{}: {id} has no key", at.display())))?;
        let digest = message(&hash, Step::Result, &id, "", &result_payload(&key));
        let link = check_link(
            &at,
            &id,
            "its result",
            &signer,
            digest,
            signature(&at, &file.signature)?,
        )?;
        out.results.insert(index, Item { value: key, link });
    }
    Ok(out)
}

/// The round-1 file of `member` for this DKG, signed with `key`.
pub(super) fn round1_file(
    manifest_hash: &[u8; 32],
    member: &str,
    package: &[u8],
    key: &SigningKey,
) -> Vec<u8> {
    let link = Link::sign(
        key,
        message(manifest_hash, Step::Round1, member, "", package),
    );
    to_json(&Round1File {
        format: ROUND1_FORMAT.into(),
        member: member.into(),
        package: encoding::to_hex(package),
        signature: link.signature_hex(),
    })
}

/// The round-2 file from `from` to `to` for this DKG, signed with `key`.
pub(super) fn round2_file(
    manifest_hash: &[u8; 32],
    from: &str,
    to: &str,
    sealed: &SealedBox,
    key: &SigningKey,
) -> Vec<u8> {
    let digest = message(
        manifest_hash,
        Step::Round2,
        from,
        to,
        &round2_payload(sealed),
    );
    let link = Link::sign(key, digest);
    to_json(&Round2File {
        format: ROUND2_FORMAT.into(),
        from: from.into(),
        to: to.into(),
        enc: encoding::to_hex(&sealed.enc),
        ciphertext: encoding::to_hex(&sealed.ciphertext),
        signature: link.signature_hex(),
    })
}

/// The result file of `member` for this DKG, signed with `key`.
pub(super) fn result_file(
    manifest_hash: &[u8; 32],
    member: &str,
    public: &OprfPublicKey,
    key: &SigningKey,
) -> Vec<u8> {
    let digest = message(
        manifest_hash,
        Step::Result,
        member,
        "",
        &result_payload(public),
    );
    let link = Link::sign(key, digest);
    let hex = veil_node::genesis::OprfFile::of(public);
    to_json(&ResultFile {
        format: RESULT_FORMAT.into(),
        member: member.into(),
        threshold: public.threshold,
        group_key: hex.group_key,
        public_shares: hex.public_shares,
        signature: link.signature_hex(),
    })
}
