//! `veil dkg`: the distributed key generation of the borrower-reference OPRF key among member
//! banks on separate hosts (the cryptography: [`veil_crypto::dkg`], FROST's Pedersen DKG; the
//! procedure: `docs/ceremony.md`, "The DKG of the borrower-reference key").
//!
//! ```text
//! D/dkg.json                  consortium, session, threshold, members with their signing and
//!                             encryption keys, in genesis order (manifest)
//! D/round1/<member>.json      the member's round-1 package (commitments, proof), signed
//! D/round2/<from>/<to>.json   <from>'s round-2 package for <to>, sealed to <to>'s encryption
//!                             key (HPKE), signed by <from>
//! D/result/<member>.json      the group key and public shares the member computed, signed
//!
//! MEMBER/keys/dkg/<h>.round1  the member's round-1 secret until round 2 (0600; h = the first
//! MEMBER/keys/dkg/<h>.round2  16 hex digits of the manifest hash), its round-2 secret until
//!                             finish; both deleted once used
//! MEMBER/keys/oprf.share      the member's key share, what its gateway reads (0600)
//! ```
//!
//! The directory travels between members like the ceremony's: each runs its own steps on its
//! own machine with its own member directory (`veil member keygen`) and passes the directory
//! on. Every file in it is written by one member only (its own round-1 file, its own round-2
//! directory, its own result), so copies that travelled in parallel merge by copying files
//! together. Nothing secret is in it: round-2 packages are sealed to their recipients, and a
//! member's round secrets and share never leave its own directory.
//!
//! Every file is signed by its member's entry signing key over the manifest hash, the step,
//! the sender, the recipient and the contents ([`signed`]); every step reads and checks every
//! file present before doing anything, and refuses, writing nothing, a file that is misnamed,
//! misaddressed, altered, forged or another DKG's, a step done twice or before the steps it
//! needs, and a member directory whose keys are not the manifest's. Anyone can run [`verify`]:
//! it checks every signature, recomputes the public key from the round-1 packages (checking
//! their proofs) and compares each member's result with it.

mod error;
mod files;
mod manifest;
mod member;
mod signed;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use veil_crypto::dkg::{self as protocol, Round1Secret, Round2Binding, Round2Secret};
use veil_crypto::oprf::OprfPublicKey;
use veil_crypto::{EncryptionPublicKey, Secret, VerifyingKey, encoding};
use veil_node::genesis::MemberFile;

pub use error::DkgError;
pub use manifest::DkgMember;

use super::descriptor::{Descriptor, PartyKind};
use error::refused;
use files::{
    SecretRound, delete_round_secret, io, manifest_path, member_share, read_round_secret,
    result_path, round1_path, round2_path, round2_sender_dir, secret_path, write,
    write_round_secret,
};
use manifest::Manifest;
use member::{Member, member};
use signed::{Signed, result_file, round1_file, round2_file, signed};

/// A `veil_crypto::dkg` failure as a refusal naming the file of the member at fault when the
/// DKG names one: its round-1 package, or (`to` not empty) its round-2 package for `to`.
fn protocol_error(
    error: protocol::DkgError,
    dir: &Path,
    manifest: &Manifest,
    to: &str,
) -> DkgError {
    match error {
        protocol::DkgError::Culprit(index) | protocol::DkgError::Malformed(index) => {
            let id = manifest.id_at(index);
            if to.is_empty() {
                refused(format!(
                    "{}: {id}'s round-1 package is invalid (it does not decode, its proof of \
                     knowledge does not verify, or it was made for another threshold)",
                    round1_path(dir, id).display()
                ))
            } else {
                refused(format!(
                    "{}: the share {id} sent {to} does not match {id}'s round-1 commitments \
                     ({}): {id} sent a wrong share",
                    round2_path(dir, id, to).display(),
                    round1_path(dir, id).display()
                ))
            }
        }
        other => refused(format!("the DKG failed: {other}")),
    }
}

/// Starts a DKG in the empty directory `dir` among the members whose descriptor files are
/// `descriptors` (in genesis order), `threshold` of them needed to evaluate (default
/// [`super::init::oprf_threshold`]).
///
/// # Errors
/// [`DkgError`]: `dir` is not empty; fewer than two descriptors; a descriptor does not verify,
/// is a regulator's, repeats an id or key, or joins another consortium; a threshold below 2,
/// above `n` or not more than half the members.
pub fn new(
    dir: &Path,
    descriptors: &[PathBuf],
    threshold: Option<u16>,
) -> Result<String, DkgError> {
    if dir.exists() && std::fs::read_dir(dir).map_err(io(dir))?.next().is_some() {
        return Err(refused(format!("{} is not empty", dir.display())));
    }
    if descriptors.len() < 2 {
        return Err(refused(
            "a DKG needs at least two members: give each member's descriptor with \
             --descriptor, in genesis order",
        ));
    }
    let mut consortium: Option<(String, String)> = None;
    let mut members: Vec<DkgMember> = Vec::new();
    for path in descriptors {
        let descriptor = Descriptor::load(path)?;
        let at = path.display();
        let id = &descriptor.id;
        if descriptor.kind != PartyKind::Member {
            return Err(refused(format!(
                "{at}: {id} is a regulator; only members share the borrower-reference key"
            )));
        }
        match &consortium {
            Some((first, joins)) if *joins != descriptor.consortium => {
                return Err(refused(format!(
                    "{at}: {id} joins consortium {:?}, {first} joins {joins:?}",
                    descriptor.consortium
                )));
            }
            Some(_) => {}
            None => consortium = Some((id.clone(), descriptor.consortium.clone())),
        }
        // One spelling of each key (the descriptor verified, so they decode).
        let signing_key = VerifyingKey::from_hex(&descriptor.signing_key)
            .map_err(|e| refused(format!("{at}: signing_key: {e}")))?
            .to_hex();
        let encryption_key =
            EncryptionPublicKey::from_hex(descriptor.encryption_key.as_deref().unwrap_or_default())
                .map_err(|e| refused(format!("{at}: encryption_key: {e}")))?
                .to_hex();
        if members.iter().any(|m| m.id == *id) {
            return Err(refused(format!("{at}: {id} is given twice")));
        }
        if let Some(other) = members
            .iter()
            .find(|m| m.signing_key == signing_key || m.encryption_key == encryption_key)
        {
            return Err(refused(format!("{at}: {id} has a key of {}", other.id)));
        }
        members.push(DkgMember {
            id: id.clone(),
            signing_key,
            encryption_key,
        });
    }
    let n = u16::try_from(members.len())
        .ok()
        .filter(|n| usize::from(*n) <= manifest::MAX_MEMBERS)
        .ok_or_else(|| refused(format!("at most {} members", manifest::MAX_MEMBERS)))?;
    let threshold = threshold.unwrap_or_else(|| super::init::oprf_threshold(n).max(2));
    manifest::check_threshold(threshold, members.len()).map_err(refused)?;
    let mut session = [0u8; 16];
    getrandom::fill(&mut session)
        .map_err(|e| refused(format!("no randomness for the session id: {e}")))?;
    let manifest = Manifest {
        format: manifest::FORMAT.into(),
        consortium: consortium.map(|(_, c)| c).unwrap_or_default(),
        session: encoding::to_hex(&session),
        threshold,
        members,
    };
    manifest.check().map_err(refused)?;
    let mut json = serde_json::to_vec_pretty(&manifest).map_err(|e| refused(e.to_string()))?;
    json.push(b'\n');
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    write(&manifest_path(dir), &json)?;
    Ok(format!(
        "DKG of the borrower-reference key of {} started in {}: {n} members ({}), threshold \
         {threshold}; manifest hash {}; each member now runs `veil dkg round1 --dir {} --keys \
         MEMBER-DIR` on its own host",
        manifest.consortium,
        dir.display(),
        manifest.ids().join(", "),
        encoding::to_hex(&manifest.hash()),
        dir.display()
    ))
}

/// What every step starts from: the manifest, the member with its keys, and every file of the
/// directory read and checked.
struct MemberStep {
    manifest: Manifest,
    hash: [u8; 32],
    me: Member,
    signed: Signed,
}

impl MemberStep {
    fn load(dir: &Path, keys: &Path) -> Result<Self, DkgError> {
        let manifest = Manifest::load(dir)?;
        let me = member(&manifest, keys)?;
        let signed = signed(dir, &manifest)?;
        Ok(Self {
            hash: manifest.hash(),
            manifest,
            me,
            signed,
        })
    }

    fn secret_path(&self, round: SecretRound) -> PathBuf {
        secret_path(&self.me.dir, &self.hash, round)
    }

    /// Refuses unless every member's round-1 package is in.
    fn require_round1(&self, dir: &Path) -> Result<(), DkgError> {
        let missing = self.signed.missing_round1(&self.manifest);
        if let Some(first) = missing.first() {
            return Err(refused(format!(
                "round 1 is not complete: no round-1 package from {} yet ({} ...)",
                missing.join(", "),
                round1_path(dir, first).display()
            )));
        }
        Ok(())
    }

    /// The other members' round-1 packages, by index.
    fn others_round1(&self) -> BTreeMap<u16, Vec<u8>> {
        let mut all = self.signed.round1_packages();
        all.remove(&self.me.index);
        all
    }

    /// This member's own round-1 package.
    fn own_round1(&self) -> &[u8] {
        self.signed
            .round1
            .get(&self.me.index)
            .map_or(&[][..], |item| item.value.as_slice())
    }
}

/// Makes the round-1 package of the member whose directory is `keys` (fresh OS randomness):
/// writes `D/round1/<member>.json`, signed, and keeps the round-1 secret in the member's
/// directory.
///
/// # Errors
/// [`DkgError`]: not a member (its keys are not the manifest's), round 1 already done (its file
/// or its secret exists), round 2 started, or a file of the directory refused. Nothing is
/// written then.
pub fn round1(dir: &Path, keys: &Path) -> Result<String, DkgError> {
    let step = MemberStep::load(dir, keys)?;
    let me = &step.me;
    let public_path = round1_path(dir, &me.id);
    if step.signed.round1.contains_key(&me.index) || public_path.exists() {
        return Err(refused(format!(
            "{} already made its round-1 package ({})",
            me.id,
            public_path.display()
        )));
    }
    for round in [SecretRound::One, SecretRound::Two] {
        let path = step.secret_path(round);
        if path.exists() {
            return Err(refused(format!(
                "{}: {} already ran round 1 of this DKG from this member directory (is its \
                 copy of {} older than the one it wrote to?)",
                path.display(),
                me.id,
                dir.display()
            )));
        }
    }
    if !step.signed.round2.is_empty() || !step.signed.results.is_empty() {
        return Err(refused(
            "round 2 has started: round 1 is closed (a round-1 file was removed?)",
        ));
    }
    let (n, t) = (step.manifest.n(), step.manifest.threshold);
    let (secret, package) =
        protocol::round1(me.index, n, t).map_err(|e| protocol_error(e, dir, &step.manifest, ""))?;
    let secret_bytes = secret
        .to_bytes()
        .map_err(|e| protocol_error(e, dir, &step.manifest, ""))?;
    let secret_file = step.secret_path(SecretRound::One);
    write_round_secret(&secret_file, &secret_bytes)?;
    let file = round1_file(&step.hash, &me.id, &package, &me.signing);
    if let Err(e) = write(&public_path, &file) {
        let _ = delete_round_secret(&secret_file);
        return Err(e);
    }
    let done = step.signed.round1.len() + 1;
    Ok(format!(
        "{} made its round-1 package ({}; {done} of {n} members); its round-1 secret waits in \
         {} (owner-only). Once every member has, each runs `veil dkg round2 --dir {} --keys \
         MEMBER-DIR`",
        me.id,
        public_path.display(),
        secret_file.display(),
        dir.display()
    ))
}

/// Round 2 of the member whose directory is `keys`: given every member's round-1 package
/// (each signature and proof checked), seals its round-2 package for each other member to that
/// member's encryption key, signed, into `D/round2/<member>/`; keeps its round-2 secret and
/// deletes its round-1 secret.
///
/// # Errors
/// [`DkgError`]: not a member; round 1 incomplete; round 2 already done; no round-1 secret of
/// this member for this DKG in its directory; its published round-1 package is not the one it
/// made; another member's round-1 package is invalid; a file refused. Nothing is written then.
pub fn round2(dir: &Path, keys: &Path) -> Result<String, DkgError> {
    let step = MemberStep::load(dir, keys)?;
    let me = &step.me;
    step.require_round1(dir)?;
    let sent_dir = round2_sender_dir(dir, &me.id);
    let secret2_path = step.secret_path(SecretRound::Two);
    if sent_dir.exists() || secret2_path.exists() {
        return Err(refused(format!(
            "{} already sent its round-2 packages ({})",
            me.id,
            sent_dir.display()
        )));
    }
    let secret1_path = step.secret_path(SecretRound::One);
    if !secret1_path.exists() {
        return Err(refused(format!(
            "{}: no round-1 secret of {} for this DKG: run round 2 from the member directory \
             round 1 ran from",
            secret1_path.display(),
            me.id
        )));
    }
    let (n, t) = (step.manifest.n(), step.manifest.threshold);
    let not_ours = |_| DkgError::Key {
        path: secret1_path.display().to_string(),
        reason: format!("not {}'s round-1 secret for this DKG", me.id),
    };
    let secret = Round1Secret::from_bytes(me.index, n, t, &read_round_secret(&secret1_path)?)
        .map_err(not_ours)?;
    if !secret.made(step.own_round1()) {
        return Err(refused(format!(
            "{}: not the round-1 package {} made (its secret is in {}): the file was replaced",
            round1_path(dir, &me.id).display(),
            me.id,
            secret1_path.display()
        )));
    }
    let (next, packages) = protocol::round2(secret, &step.others_round1())
        .map_err(|e| protocol_error(e, dir, &step.manifest, ""))?;
    let mut files = Vec::new();
    for (to, package) in &packages {
        let recipient = step.manifest.id_at(*to);
        let key = step
            .manifest
            .encryption_key_of(recipient)
            .ok_or_else(|| refused(format!("{recipient} has no encryption key")))?;
        let binding = Round2Binding {
            session: &step.hash,
            sender: &me.id,
            recipient,
        };
        let sealed = protocol::seal_round2(package, &key, &binding)
            .map_err(|e| protocol_error(e, dir, &step.manifest, ""))?;
        files.push((
            format!("{recipient}.json"),
            round2_file(&step.hash, &me.id, recipient, &sealed, &me.signing),
        ));
    }
    drop(packages);
    let next_bytes = next
        .to_bytes()
        .map_err(|e| protocol_error(e, dir, &step.manifest, ""))?;
    write_round_secret(&secret2_path, &next_bytes)?;
    // All of this member's round-2 files appear at once: written beside, then renamed.
    let temporary = files::partial(&sent_dir);
    let written = (|| {
        let _ = std::fs::remove_dir_all(&temporary);
        std::fs::create_dir_all(&temporary).map_err(io(&temporary))?;
        for (name, bytes) in &files {
            write(&temporary.join(name), bytes)?;
        }
        std::fs::rename(&temporary, &sent_dir).map_err(io(&sent_dir))
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_dir_all(&temporary);
        let _ = delete_round_secret(&secret2_path);
        return Err(e);
    }
    delete_round_secret(&secret1_path)?;
    let done = step
        .signed
        .round2
        .keys()
        .map(|(from, _)| *from)
        .collect::<std::collections::BTreeSet<_>>()
        .len()
        + 1;
    Ok(format!(
        "{} sealed its round-2 packages to {} ({}; {done} of {n} members); its round-2 secret \
         waits in {}. Once every member has, each runs `veil dkg finish --dir {} --keys \
         MEMBER-DIR`",
        me.id,
        files
            .iter()
            .map(|(name, _)| name.trim_end_matches(".json"))
            .collect::<Vec<_>>()
            .join(", "),
        sent_dir.display(),
        secret2_path.display(),
        dir.display()
    ))
}

/// Finishes the DKG for the member whose directory is `keys`: opens the round-2 packages
/// addressed to it (each signature checked), checks each against its sender's round-1
/// commitments, and writes its key share to `MEMBER/keys/oprf.share` (owner-only) and the
/// public key it computed to `D/result/<member>.json`, signed; deletes its round-2 secret.
///
/// # Errors
/// [`DkgError`]: not a member; round 1 incomplete; a package addressed to it missing, not
/// opening with its key or not matching its sender's commitments (the sender is named);
/// already finished; no round-2 secret of this member; another share already in
/// `keys/oprf.share`; a file refused. Nothing is written then.
pub fn finish(dir: &Path, keys: &Path) -> Result<String, DkgError> {
    let step = MemberStep::load(dir, keys)?;
    let me = &step.me;
    step.require_round1(dir)?;
    let result = result_path(dir, &me.id);
    if step.signed.results.contains_key(&me.index) || result.exists() {
        return Err(refused(format!(
            "{} already finished this DKG ({})",
            me.id,
            result.display()
        )));
    }
    let (n, t) = (step.manifest.n(), step.manifest.threshold);
    let missing: Vec<&str> = (1..=n)
        .filter(|from| *from != me.index && !step.signed.round2.contains_key(&(*from, me.index)))
        .map(|from| step.manifest.id_at(from))
        .collect();
    if let Some(first) = missing.first() {
        return Err(refused(format!(
            "round 2 is not complete for {}: no package from {} yet ({} ...)",
            me.id,
            missing.join(", "),
            round2_path(dir, first, &me.id).display()
        )));
    }
    let secret2_path = step.secret_path(SecretRound::Two);
    if !secret2_path.exists() {
        return Err(refused(format!(
            "{}: no round-2 secret of {} for this DKG: run round 2 first, from this member \
             directory",
            secret2_path.display(),
            me.id
        )));
    }
    let secret = Round2Secret::from_bytes(me.index, n, t, &read_round_secret(&secret2_path)?)
        .map_err(|_| DkgError::Key {
            path: secret2_path.display().to_string(),
            reason: format!("not {}'s round-2 secret for this DKG", me.id),
        })?;
    if !secret.made(step.own_round1()) {
        return Err(refused(format!(
            "{}: not the round-1 package {} made: the file was replaced",
            round1_path(dir, &me.id).display(),
            me.id
        )));
    }
    let mut received = BTreeMap::new();
    for ((from, to), item) in &step.signed.round2 {
        if *to != me.index {
            continue;
        }
        let sender = step.manifest.id_at(*from);
        let binding = Round2Binding {
            session: &step.hash,
            sender,
            recipient: &me.id,
        };
        let package =
            protocol::open_round2(&item.value, &me.encryption, &binding).map_err(|_| {
                refused(format!(
                    "{}: does not open with {}'s encryption key for this DKG (sealed to another \
                     key, or altered)",
                    round2_path(dir, sender, &me.id).display(),
                    me.id
                ))
            })?;
        received.insert(*from, package);
    }
    let (share, public) = protocol::round3(&secret, &step.others_round1(), &received)
        .map_err(|e| protocol_error(e, dir, &step.manifest, &me.id))?;
    drop(received);
    let expected = protocol::public_key(&step.signed.round1_packages(), t)
        .map_err(|e| protocol_error(e, dir, &step.manifest, ""))?;
    if public != expected {
        return Err(refused(
            "the key this member computed is not the one the round-1 packages give",
        ));
    }
    let share_path = member_share(&me.dir);
    let share_bytes = Secret::new(share.to_bytes().to_vec());
    if share_path.exists() {
        let text = read_round_secret(&share_path)?;
        if Secret::new(text.to_vec()) != share_bytes {
            return Err(refused(format!(
                "{} holds another share of a borrower-reference key (from `veil init` or \
                 another DKG): move it away, then finish again",
                share_path.display()
            )));
        }
    }
    super::files::write_secret(&share_path, &files::secret_hex(share_bytes.expose())).map_err(
        |e| DkgError::Io {
            path: e.path,
            source: e.source,
        },
    )?;
    write(
        &result,
        &result_file(&step.hash, &me.id, &public, &me.signing),
    )?;
    delete_round_secret(&secret2_path)?;
    let done = step.signed.results.len() + 1;
    Ok(format!(
        "{} holds its share of the borrower-reference key (index {}) in {} (owner-only); its \
         result is {}: group key {}, threshold {t} ({done} of {n} members finished). Once every \
         member has, anyone runs `veil dkg verify --dir {}`, and the genesis is assembled with \
         --dkg {}",
        me.id,
        me.index,
        share_path.display(),
        result.display(),
        encoding::to_hex(public.group_key.compress().as_bytes()),
        dir.display(),
        dir.display()
    ))
}

/// A verified DKG directory.
#[derive(Debug)]
pub struct Verified {
    manifest: Manifest,
    hash: [u8; 32],
    /// Members who made their round-1 package, sent their round-2 packages, finished.
    progress: [Vec<String>; 3],
    /// The key the round-1 packages give, once round 1 is complete.
    public: Option<OprfPublicKey>,
    transcript: [u8; 32],
    /// What a complete DKG still lacks.
    incomplete: Option<String>,
}

impl Verified {
    /// The public key every member agreed on (`None` until the DKG is complete).
    pub fn public_key(&self) -> Option<&OprfPublicKey> {
        self.public.as_ref().filter(|_| self.incomplete.is_none())
    }

    /// The members, in order.
    pub fn members(&self) -> &[DkgMember] {
        &self.manifest.members
    }

    /// The consortium id the members' descriptors named.
    pub fn consortium(&self) -> &str {
        &self.manifest.consortium
    }

    /// The transcript hash over every signed file present.
    pub fn transcript(&self) -> [u8; 32] {
        self.transcript
    }

    /// What a complete DKG still lacks, if anything.
    pub fn incomplete(&self) -> Option<&str> {
        self.incomplete.as_deref()
    }

    /// What the directory holds and what is missing, for people.
    pub fn summary(&self) -> String {
        let m = &self.manifest;
        let list = |ids: &[String]| {
            if ids.is_empty() {
                "nobody yet".to_owned()
            } else {
                ids.join(", ")
            }
        };
        let mut lines = vec![
            format!(
                "DKG of the borrower-reference key of {}: {} members ({}), threshold {}",
                m.consortium,
                m.members.len(),
                m.ids().join(", "),
                m.threshold
            ),
            format!("manifest hash: {}", encoding::to_hex(&self.hash)),
            format!(
                "round 1: signed packages from {}{}",
                list(&self.progress[0]),
                if self.public.is_some() {
                    " (every proof of knowledge verified)"
                } else {
                    ""
                }
            ),
            format!(
                "round 2: sealed, signed packages from {}",
                list(&self.progress[1])
            ),
            format!("results: signed by {}", list(&self.progress[2])),
        ];
        if let Some(public) = &self.public {
            let file = veil_node::genesis::OprfFile::of(public);
            lines.push(format!(
                "public key (from the round-1 packages): threshold {}, group key {}",
                public.threshold, file.group_key
            ));
            for (i, share) in file.public_shares.iter().enumerate() {
                let index = u16::try_from(i + 1).unwrap_or(u16::MAX);
                lines.push(format!(
                    "  public share {index} ({}): {share}",
                    m.id_at(index)
                ));
            }
        }
        let transcript = encoding::to_hex(&self.transcript);
        match &self.incomplete {
            Some(why) => {
                lines.push(format!("transcript hash so far: {transcript}"));
                lines.push(format!("not complete: {why}"));
            }
            None => {
                lines.push(format!("transcript hash: {transcript}"));
                lines.push(format!(
                    "complete: every member's result is this key; assemble the genesis with \
                     `veil consortium assemble --dkg DIR` ({} members in this order: {})",
                    m.members.len(),
                    m.ids().join(", ")
                ));
            }
        }
        lines.join("\n")
    }
}

/// Verifies everything in the DKG directory `dir`: the manifest; every file's name, member,
/// addressing and signature; the round-1 packages' proofs, from which it computes the public
/// key; that every result present is that key ([`OprfPublicKey::check`] included). Says what
/// is missing ([`Verified::incomplete`]).
///
/// # Errors
/// [`DkgError`] naming the file and what is wrong.
pub fn verify(dir: &Path) -> Result<Verified, DkgError> {
    let manifest = Manifest::load(dir)?;
    let hash = manifest.hash();
    let signed = signed(dir, &manifest)?;
    let missing1 = signed.missing_round1(&manifest);
    let public = if missing1.is_empty() {
        Some(
            protocol::public_key(&signed.round1_packages(), manifest.threshold)
                .map_err(|e| protocol_error(e, dir, &manifest, ""))?,
        )
    } else {
        None
    };
    if public.is_none() {
        let early = signed
            .round2
            .keys()
            .map(|(from, _)| round2_sender_dir(dir, manifest.id_at(*from)))
            .chain(
                signed
                    .results
                    .keys()
                    .map(|i| result_path(dir, manifest.id_at(*i))),
            )
            .next();
        if let Some(path) = early {
            return Err(refused(format!(
                "{}: written before round 1 was complete (round 1 lacks {}): a round-1 file \
                 was removed",
                path.display(),
                missing1.join(", ")
            )));
        }
    }
    for (index, item) in &signed.results {
        if Some(&item.value) != public.as_ref() {
            let id = manifest.id_at(*index);
            return Err(refused(format!(
                "{}: {id} computed another key than the round-1 packages give",
                result_path(dir, id).display()
            )));
        }
    }
    let ids = |indices: Vec<u16>| -> Vec<String> {
        indices
            .into_iter()
            .map(|i| manifest.id_at(i).to_owned())
            .collect()
    };
    let senders: std::collections::BTreeSet<u16> =
        signed.round2.keys().map(|(from, _)| *from).collect();
    let progress = [
        ids(signed.round1.keys().copied().collect()),
        ids(senders.into_iter().collect()),
        ids(signed.results.keys().copied().collect()),
    ];
    let missing2 = signed.missing_round2(&manifest);
    let missing3 = signed.missing_results(&manifest);
    let incomplete = if !missing1.is_empty() {
        Some(format!("round 1 lacks {}", missing1.join(", ")))
    } else if !missing2.is_empty() {
        Some(format!("round 2 lacks {}", missing2.join(", ")))
    } else if !missing3.is_empty() {
        Some(format!("finish lacks {}", missing3.join(", ")))
    } else {
        None
    };
    Ok(Verified {
        transcript: signed.transcript_hash(&hash),
        hash,
        progress,
        public,
        incomplete,
        manifest,
    })
}

/// Verifies the DKG in `dir` ([`verify`]) and refuses an incomplete one.
///
/// # Errors
/// As [`verify`]; [`DkgError::Refused`] saying what an incomplete DKG lacks.
pub fn complete(dir: &Path) -> Result<Verified, DkgError> {
    let verified = verify(dir)?;
    if let Some(why) = verified.incomplete() {
        return Err(refused(format!(
            "the DKG in {} is not complete: {why} (`veil dkg verify --dir {}`)",
            dir.display(),
            dir.display()
        )));
    }
    Ok(verified)
}

/// The key of the complete DKG in `dir` for a genesis of consortium `consortium` whose
/// founding members are `members`: refused unless the DKG's members are exactly those, in that
/// order, with the same signing and encryption keys.
///
/// # Errors
/// As [`complete`]; [`DkgError::Refused`] for another consortium or other members.
pub fn genesis_key(
    dir: &Path,
    consortium: &str,
    members: &[MemberFile],
) -> Result<OprfPublicKey, DkgError> {
    let verified = complete(dir)?;
    if verified.consortium() != consortium {
        return Err(refused(format!(
            "the DKG in {} was for consortium {:?}, the genesis is {consortium:?}",
            dir.display(),
            verified.consortium()
        )));
    }
    // One spelling of each key, whatever the genesis's.
    let normal = |hex: &str, signing: bool| {
        if signing {
            VerifyingKey::from_hex(hex).map(|k| k.to_hex())
        } else {
            EncryptionPublicKey::from_hex(hex).map(|k| k.to_hex())
        }
        .unwrap_or_else(|_| hex.to_ascii_lowercase())
    };
    let founders: Vec<(String, String, String)> = members
        .iter()
        .map(|m| {
            (
                m.id.clone(),
                normal(&m.signing_key, true),
                normal(&m.encryption_key, false),
            )
        })
        .collect();
    let shared: Vec<(String, String, String)> = verified
        .members()
        .iter()
        .map(|m| {
            (
                m.id.clone(),
                m.signing_key.clone(),
                m.encryption_key.clone(),
            )
        })
        .collect();
    if founders != shared {
        return Err(refused(format!(
            "the DKG's members ({}) are not the genesis's founding members ({}) in the same \
             order with the same signing and encryption keys",
            verified.manifest.ids().join(", "),
            members
                .iter()
                .map(|m| m.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    verified
        .public_key()
        .cloned()
        .ok_or_else(|| refused("the DKG is not complete"))
}
