//! Borrower references by the members' threshold OPRF (`veil_crypto::oprf`, RFC 9497 VOPRF
//! under a key shared `t`-of-`n` by the DKG `veil init` runs):
//!
//! - as the originator, [`Gateway::borrower_refs`]: blinds the national id, evaluates its own
//!   share, asks other members' gateways (`POST /v1/oprf/evaluate`, mutual TLS as
//!   `<member>:gateway`) until `t` answers verify, combines and unblinds; references of its own
//!   customers are cached under a keyed hash of the id, so a member that is down matters only
//!   when fewer than `t` answer (then 503, nothing written);
//! - as a member asked, [`Gateway::evaluate_oprf`]: answers another member's gateway with its
//!   share and a DLEQ proof, at most [`veil_node::genesis::OprfFile::daily_limit`] times per
//!   caller and UTC day (then 429, nothing evaluated), counting each caller's evaluations.
//!
//! A member gateway does not start under a genesis without an OPRF key: no key every member
//! holds derives references any more.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use veil_crypto::encoding;
use veil_crypto::oprf::{self, OprfRequest, ShareEvaluation};

use super::error::ServiceError;
use super::{Gateway, Secrets, lock, now_ms, store_error};
use crate::entry::builder::BorrowerRefs;
use crate::entry::keys::MemberSecrets;

/// Purpose of the keyed hash a national id is cached under.
const CACHE_PURPOSE: &str = "borrower-ref-cache";
/// How long a member that failed to answer is asked last.
const PEER_BACKOFF: std::time::Duration = std::time::Duration::from_secs(30);
/// Borrower references one request evaluates at once (each asks `t − 1` peers).
const EVALUATIONS_IN_FLIGHT: usize = 8;
/// Longest answer accepted from a peer, in bytes.
const MAX_ANSWER_LEN: usize = 4096;

/// `POST /v1/oprf/evaluate`: one blinded element (RFC 9497 `BlindedElement`, 32 bytes, hex).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvaluateRequest {
    /// The blinded element (64 hex digits).
    pub blinded_element: String,
}

/// The answer: the member's index, its evaluation element and DLEQ proof (hex).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvaluateResponse {
    /// The answering member's index (its position in the genesis, from 1).
    pub index: u16,
    /// `Z_i = k_i·B` (64 hex digits).
    pub evaluation_element: String,
    /// The DLEQ proof that `log_G K_i = log_B Z_i` (128 hex digits).
    pub proof: String,
}

impl Gateway {
    /// The borrower reference (32 bytes) of each of `national_ids` (canonical ids, checked by
    /// the request parser).
    ///
    /// # Errors
    /// [`ServiceError::Unavailable`] if fewer than the threshold of members answered with a
    /// valid evaluation; [`ServiceError::Internal`] for a store failure.
    pub async fn borrower_refs(
        &self,
        secrets: &MemberSecrets,
        national_ids: &[&str],
    ) -> Result<BorrowerRefs, ServiceError> {
        let mut refs = HashMap::new();
        let Some(key) = &self.oprf_key else {
            // Member gateways refuse to start without one (`crate::api::server`).
            tracing::error!("borrower references need the genesis' OPRF key ([oprf])");
            return Err(ServiceError::internal());
        };
        // Cached references first; the others evaluated up to EVALUATIONS_IN_FLIGHT at once (a
        // registry update lists up to hundreds of ids), each cached as soon as it is known.
        let mut missing = Vec::new();
        for id in national_ids {
            if refs.contains_key(*id) || missing.iter().any(|(m, _)| m == id) {
                continue;
            }
            // Under this very key: a reference never outlives the key it came from.
            let mut cached = key.group_key.compress().to_bytes().to_vec();
            cached.extend_from_slice(id.as_bytes());
            let cache_key = secrets.ref_cache.hash(CACHE_PURPOSE, &cached);
            match self.store.borrower_ref(&cache_key).map_err(store_error)? {
                Some(reference) => {
                    refs.insert((*id).to_owned(), reference);
                }
                None => missing.push((*id, cache_key)),
            }
        }
        for chunk in missing.chunks(EVALUATIONS_IN_FLIGHT) {
            let evaluated = futures::future::join_all(
                chunk
                    .iter()
                    .map(|(id, cache_key)| self.evaluate_and_cache(secrets, id, cache_key)),
            )
            .await;
            for ((id, _), reference) in chunk.iter().zip(evaluated) {
                refs.insert((*id).to_owned(), reference?);
            }
        }
        Ok(refs)
    }

    /// [`Gateway::evaluate_ref`], then the reference cached under `cache_key`.
    async fn evaluate_and_cache(
        &self,
        secrets: &MemberSecrets,
        national_id: &str,
        cache_key: &[u8; 32],
    ) -> Result<[u8; 32], ServiceError> {
        let reference = self.evaluate_ref(secrets, national_id).await?;
        self.store
            .put_borrower_ref(cache_key, &reference)
            .map_err(store_error)?;
        Ok(reference)
    }

    /// One threshold evaluation of `national_id`.
    async fn evaluate_ref(
        &self,
        secrets: &MemberSecrets,
        national_id: &str,
    ) -> Result<[u8; 32], ServiceError> {
        let (Some(key), Some(share)) = (&self.oprf_key, &secrets.oprf) else {
            tracing::error!("the genesis has an OPRF key but this gateway holds no share");
            return Err(ServiceError::internal());
        };
        let request = OprfRequest::blind(national_id.as_bytes())
            .map_err(|_| ServiceError::invalid_entry("a national id is 1 to 65535 bytes"))?;
        let blinded = request.blinded_element();
        let blinded_hex = encoding::to_hex(&blinded);
        let needed = usize::from(key.threshold);
        let mut answers = vec![oprf::evaluate_share(share, &blinded).map_err(store_error)?];
        // Ask the others in genesis order from the one after this member — those that failed
        // in the last PEER_BACKOFF last — as many at once as answers are missing, until enough
        // verify or nobody is left.
        let position = self
            .genesis
            .members
            .iter()
            .position(|m| m.id == self.id)
            .unwrap_or(0);
        let members = &self.genesis.members;
        let mut order: Vec<usize> = (1..members.len())
            .map(|k| (position + k) % members.len())
            .collect();
        {
            let down = lock(&self.peers_down);
            order.sort_by_key(|i| down.get(i).is_some_and(|at| at.elapsed() < PEER_BACKOFF));
        }
        let mut others = order.into_iter();
        while answers.len() < needed {
            let batch: Vec<usize> = others.by_ref().take(needed - answers.len()).collect();
            if batch.is_empty() {
                tracing::warn!(
                    answered = answers.len(),
                    needed,
                    "too few members answered a borrower-reference evaluation"
                );
                return Err(ServiceError::Unavailable);
            }
            let asked =
                futures::future::join_all(batch.iter().map(|i| self.ask_member(*i, &blinded_hex)))
                    .await;
            for (i, answer) in batch.into_iter().zip(asked) {
                let member = &members[i].id;
                let expected = u16::try_from(i + 1).unwrap_or(0);
                // Each answer is checked alone, so one bad answer never spoils the others.
                match answer {
                    Some(answer)
                        if answer.index == expected && request.verify(key, &answer).is_ok() =>
                    {
                        lock(&self.peers_down).remove(&i);
                        answers.push(answer);
                    }
                    Some(_) => {
                        tracing::warn!(%member, "a member's OPRF answer does not verify");
                        lock(&self.peers_down).insert(i, std::time::Instant::now());
                    }
                    None => {
                        lock(&self.peers_down).insert(i, std::time::Instant::now());
                    }
                }
            }
        }
        let output = request.finalize(key, &answers).map_err(|e| {
            tracing::error!(error = %e, "verified OPRF answers do not combine");
            ServiceError::internal()
        })?;
        Ok(oprf::borrower_ref(&output))
    }

    /// Asks member `position` (genesis order) to evaluate `blinded` (hex); `None` if it does
    /// not answer with something well-formed.
    async fn ask_member(&self, position: usize, blinded: &str) -> Option<ShareEvaluation> {
        let peers = self.peers.as_ref()?;
        let member = self.genesis.members.get(position)?;
        let url = format!("https://{}/v1/oprf/evaluate", member.gateway);
        let response = peers
            .post(&url)
            .json(&EvaluateRequest {
                blinded_element: blinded.to_owned(),
            })
            .send()
            .await
            .map_err(|e| tracing::warn!(member = %member.id, error = %e, "OPRF peer unreachable"))
            .ok()?;
        if !response.status().is_success() {
            tracing::warn!(member = %member.id, status = %response.status(), "OPRF peer refused");
            return None;
        }
        // An answer is a few hundred bytes: a peer streaming more is cut off.
        let mut response = response;
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.ok()? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_ANSWER_LEN {
                tracing::warn!(member = %member.id, "OPRF peer answered too much");
                return None;
            }
        }
        let answer: EvaluateResponse = serde_json::from_slice(&body).ok()?;
        Some(ShareEvaluation {
            index: answer.index,
            element: encoding::from_hex_array(&answer.evaluation_element).ok()?,
            proof: encoding::from_hex_array(&answer.proof).ok()?,
        })
    }

    /// Evaluates the blinded element `blinded` (hex) with this member's share for the gateway
    /// of member `caller`, counting it against `caller`'s daily limit.
    ///
    /// # Errors
    /// [`ServiceError::Forbidden`] unless `caller` is another member; [`ServiceError::NotFound`]
    /// if this gateway holds no share; 400 for a malformed element; 429
    /// ([`ServiceError::RateLimited`]) once `caller` reached its daily limit (nothing
    /// evaluated).
    pub async fn evaluate_oprf(
        &self,
        caller: &str,
        blinded: &str,
    ) -> Result<EvaluateResponse, ServiceError> {
        if caller == self.id || self.genesis.member(caller).is_none() {
            return Err(ServiceError::forbidden());
        }
        let Secrets::Member(secrets) = &self.secrets else {
            return Err(ServiceError::forbidden());
        };
        let Some(share) = &secrets.oprf else {
            return Err(ServiceError::not_found_because(
                "this consortium has no shared OPRF key",
            ));
        };
        let element: [u8; 32] = encoding::from_hex_array(blinded)
            .map_err(|_| ServiceError::bad_request("blinded_element must be 64 hex digits"))?;
        let limit = self
            .genesis
            .file
            .oprf
            .as_ref()
            .and_then(|o| o.daily_limit)
            .unwrap_or(veil_node::genesis::DEFAULT_OPRF_DAILY_LIMIT);
        let day = now_ms() / 86_400_000;
        let over = |count: u64| {
            ServiceError::RateLimited(format!(
                "{caller} has asked {count} borrower-reference evaluations of {} today (UTC), \
                 its daily limit (consortium.toml oprf.daily_limit)",
                self.id
            ))
        };
        // Refused at once when over the limit; evaluated outside any lock; counted after.
        let counted = self.oprf_count(caller, day)?;
        if counted >= limit {
            return Err(over(counted));
        }
        let answer = oprf::evaluate_share(share, &element).map_err(|_| {
            ServiceError::bad_request("blinded_element is not a ristretto255 element")
        })?;
        {
            let mut counts = lock(&self.oprf_counts);
            let key = (caller.to_owned(), day);
            let count = match counts.get(&key) {
                Some(count) => *count,
                None => self
                    .store
                    .oprf_evaluations(caller, day)
                    .map_err(store_error)?,
            };
            if count >= limit {
                return Err(over(count));
            }
            counts.insert(key, count + 1);
            counts.retain(|(_, d), _| d.saturating_add(1) >= day);
            self.store
                .put_oprf_evaluations(caller, day, count + 1)
                .map_err(store_error)?;
        }
        Ok(EvaluateResponse {
            index: answer.index,
            evaluation_element: encoding::to_hex(&answer.element),
            proof: encoding::to_hex(&answer.proof),
        })
    }

    /// How many evaluations this gateway served `caller` on UTC day `day`.
    fn oprf_count(&self, caller: &str, day: u64) -> Result<u64, ServiceError> {
        if let Some(count) = lock(&self.oprf_counts).get(&(caller.to_owned(), day)) {
            return Ok(*count);
        }
        self.store
            .oprf_evaluations(caller, day)
            .map_err(store_error)
    }

    /// How many evaluations this gateway served each member on UTC day `day`.
    pub fn oprf_counts(&self, day: u64) -> Result<Vec<(String, u64)>, ServiceError> {
        self.genesis
            .members
            .iter()
            .filter(|m| m.id != self.id)
            .map(|m| self.oprf_count(&m.id, day).map(|n| (m.id.clone(), n)))
            .collect()
    }
}
