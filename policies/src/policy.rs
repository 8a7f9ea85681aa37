//! Per-field permissions as Cedar policies.
//!
//! The policy set is validated (strict mode) against `cedar/veil.cedarschema` when loaded. Its
//! canonical hash — SHA-256 over a version label and the policies' JSON forms (sorted keys),
//! sorted by id — goes into the genesis and into every ciphertext's associated data.
//!
//! The gateway asks two questions per field: *who reads it* ([`Policies::readers`], the
//! encryption recipients) and *may this caller see it* ([`Policies::can_read`]).

use std::collections::{HashMap, HashSet};
use std::str::FromStr as _;

use cedar_policy::{
    Authorizer, Context, Decision, Entities, Entity, EntityId, EntityTypeName, EntityUid,
    PolicySet, Request, RestrictedExpression, Schema, ValidationMode, Validator,
};
use sha2::{Digest as _, Sha256};

use crate::schema::EntryType;

/// The Cedar schema of Veil's entities and actions.
pub const SCHEMA: &str = include_str!("../cedar/veil.cedarschema");
/// The default policy set (the permissions table of the contract).
pub const DEFAULT_POLICIES: &str = include_str!("../cedar/default.cedar");
/// Largest policy file accepted.
pub const MAX_POLICY_LEN: usize = 256 * 1024;

/// Why a policy set was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The file is too large.
    #[error("policy file too large (at most {MAX_POLICY_LEN} bytes)")]
    TooLarge,
    /// Cedar could not parse it.
    #[error("syntax error: {0}")]
    Parse(String),
    /// It does not type-check against Veil's schema.
    #[error("does not validate against Veil's schema: {0}")]
    Invalid(String),
    /// A policy has no `@id("...")` annotation (ids make the hash canonical and errors legible).
    #[error("every policy needs an @id(\"...\") annotation")]
    MissingId,
    /// Internal: the built-in schema or an entity could not be built.
    #[error("internal policy error: {0}")]
    Internal(String),
}

/// Who asks.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Principal {
    /// A member bank through a role.
    Member {
        /// Bank id.
        bank: String,
        /// Role (`clerk`, `auditor`, ...).
        role: String,
    },
    /// A regulator.
    Regulator {
        /// Regulator id.
        id: String,
    },
}

/// A field of an entry, as policies see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldResource<'a> {
    /// Entry type name.
    pub entry_type: &'a str,
    /// Field path.
    pub path: &'a str,
    /// Field class (`pii`, `terms`, `amounts`).
    pub class: &'a str,
    /// The submitting bank.
    pub originator: &'a str,
    /// The loan's participants.
    pub participants: &'a [String],
    /// The bank a per-bank field is about.
    pub subject_bank: Option<&'a str>,
}

/// The policy resource of the field at `path` of an entry of type `kind` submitted by
/// `originator`, concerning the banks `participants`: the class is the schema's, the subject
/// bank is the one a per-bank path names (`funding.bank-b` is about `bank-b`). `None` for a path
/// the type does not have.
///
/// Gateways (choosing whom to encrypt a field to) and nodes (checking that an entry's reader
/// groups are wrapped to exactly those recipients) both derive resources here, so they agree.
pub fn field_resource<'a>(
    kind: EntryType,
    path: &'a str,
    originator: &'a str,
    participants: &'a [String],
) -> Option<FieldResource<'a>> {
    let (spec, subject_bank) = kind.field(path)?;
    Some(FieldResource {
        entry_type: kind.name(),
        path,
        class: spec.class.name(),
        originator,
        participants,
        subject_bank,
    })
}

/// A validated policy set.
#[derive(Debug, Clone)]
pub struct Policies {
    set: PolicySet,
    schema: Schema,
    hash: [u8; 32],
    text: String,
}

fn internal(e: impl std::fmt::Display) -> PolicyError {
    PolicyError::Internal(e.to_string())
}

fn uid(kind: &str, id: &str) -> Result<EntityUid, PolicyError> {
    Ok(EntityUid::from_type_name_and_id(
        EntityTypeName::from_str(kind).map_err(internal)?,
        EntityId::new(id),
    ))
}

fn action(name: &str) -> Result<EntityUid, PolicyError> {
    uid("Veil::Action", name)
}

fn string(value: &str) -> RestrictedExpression {
    RestrictedExpression::new_string(value.to_owned())
}

impl Policies {
    /// The default policy set.
    pub fn default_set() -> Result<Self, PolicyError> {
        Self::parse(DEFAULT_POLICIES)
    }

    /// Parses and validates a policy file.
    pub fn parse(text: &str) -> Result<Self, PolicyError> {
        if text.len() > MAX_POLICY_LEN {
            return Err(PolicyError::TooLarge);
        }
        let (schema, _) = Schema::from_cedarschema_str(SCHEMA).map_err(internal)?;
        let set = PolicySet::from_str(text).map_err(|e| PolicyError::Parse(render(&e)))?;
        let result = Validator::new(schema.clone()).validate(&set, ValidationMode::Strict);
        if !result.validation_passed() {
            let messages: Vec<String> = result.validation_errors().map(|e| render(e)).collect();
            return Err(PolicyError::Invalid(messages.join("; ")));
        }
        let mut canonical = Vec::new();
        for policy in set.policies() {
            let id = policy.annotation("id").ok_or(PolicyError::MissingId)?;
            // The JSON form is independent of formatting and comments; serde_json's maps are
            // sorted, so its text is canonical.
            let json = policy.to_json().map_err(internal)?;
            canonical.push((id.to_owned(), json.to_string()));
        }
        canonical.sort();
        let mut hasher = Sha256::new();
        hasher.update(veil_crypto::labels::POLICY);
        for (id, policy) in &canonical {
            hasher.update((id.len() as u32).to_be_bytes());
            hasher.update(id.as_bytes());
            hasher.update((policy.len() as u32).to_be_bytes());
            hasher.update(policy.as_bytes());
        }
        Ok(Self {
            set,
            schema,
            hash: hasher.finalize().into(),
            text: text.to_owned(),
        })
    }

    /// The canonical hash.
    pub fn hash(&self) -> [u8; 32] {
        self.hash
    }

    /// The policy text as loaded.
    pub fn text(&self) -> &str {
        &self.text
    }

    fn principal_entity(principal: &Principal) -> Result<Entity, PolicyError> {
        match principal {
            Principal::Member { bank, role } => Entity::new(
                uid("Veil::Member", &format!("{bank}:{role}"))?,
                HashMap::from([
                    ("bank".to_owned(), string(bank)),
                    ("role".to_owned(), string(role)),
                ]),
                HashSet::new(),
            )
            .map_err(internal),
            Principal::Regulator { id } => Entity::new(
                uid("Veil::Regulator", id)?,
                HashMap::from([("id".to_owned(), string(id))]),
                HashSet::new(),
            )
            .map_err(internal),
        }
    }

    fn decide(
        &self,
        principal: &Principal,
        action_name: &str,
        resource: Entity,
    ) -> Result<bool, PolicyError> {
        let principal_entity = Self::principal_entity(principal)?;
        let request = Request::new(
            principal_entity.uid(),
            action(action_name)?,
            resource.uid(),
            Context::empty(),
            Some(&self.schema),
        )
        .map_err(internal)?;
        let entities = Entities::from_entities([principal_entity, resource], Some(&self.schema))
            .map_err(internal)?;
        let response = Authorizer::new().is_authorized(&request, &self.set, &entities);
        Ok(response.decision() == Decision::Allow)
    }

    fn field_entity(field: &FieldResource<'_>) -> Result<Entity, PolicyError> {
        Entity::new(
            uid(
                "Veil::Field",
                &format!("{}/{}", field.entry_type, field.path),
            )?,
            HashMap::from([
                ("entry_type".to_owned(), string(field.entry_type)),
                ("path".to_owned(), string(field.path)),
                ("class".to_owned(), string(field.class)),
                ("originator".to_owned(), string(field.originator)),
                (
                    "participants".to_owned(),
                    RestrictedExpression::new_set(field.participants.iter().map(|p| string(p))),
                ),
                (
                    "subject_bank".to_owned(),
                    string(field.subject_bank.unwrap_or("")),
                ),
            ]),
            HashSet::new(),
        )
        .map_err(internal)
    }

    /// Whether `principal` may read the plaintext of `field`.
    pub fn can_read(
        &self,
        principal: &Principal,
        field: &FieldResource<'_>,
    ) -> Result<bool, PolicyError> {
        self.decide(principal, "read", Self::field_entity(field)?)
    }

    /// Whether `principal` may see the commitment of `field`.
    pub fn can_read_commitment(
        &self,
        principal: &Principal,
        field: &FieldResource<'_>,
    ) -> Result<bool, PolicyError> {
        self.decide(principal, "read_commitment", Self::field_entity(field)?)
    }

    /// Whether `principal` may write entries of `entry_type`.
    pub fn can_write(&self, principal: &Principal, entry_type: &str) -> Result<bool, PolicyError> {
        let resource = Entity::new(
            uid("Veil::EntryType", entry_type)?,
            HashMap::from([("name".to_owned(), string(entry_type))]),
            HashSet::new(),
        )
        .map_err(internal)?;
        self.decide(principal, "write", resource)
    }

    /// The banks among `banks` that may read `field` (any of their roles reading counts: a
    /// bank's data keys are shared by its roles). These are the field's encryption recipients,
    /// besides regulators.
    pub fn readers<'b>(
        &self,
        field: &FieldResource<'_>,
        banks: impl IntoIterator<Item = &'b str>,
    ) -> Result<Vec<&'b str>, PolicyError> {
        let mut out = Vec::new();
        for bank in banks {
            let principal = Principal::Member {
                bank: bank.to_owned(),
                role: "auditor".to_owned(),
            };
            if self.can_read(&principal, field)? {
                out.push(bank);
            }
        }
        Ok(out)
    }
}

/// Renders a Cedar diagnostic on one line, without colors.
fn render(error: &dyn std::fmt::Display) -> String {
    error.to_string().replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn participants() -> Vec<String> {
        vec!["bank-a".into(), "bank-b".into()]
    }

    fn field<'a>(
        path: &'a str,
        class: &'a str,
        subject: Option<&'a str>,
        p: &'a [String],
    ) -> FieldResource<'a> {
        FieldResource {
            entry_type: "loan.originated",
            path,
            class,
            originator: "bank-a",
            participants: p,
            subject_bank: subject,
        }
    }

    fn member(bank: &str) -> Principal {
        Principal::Member {
            bank: bank.into(),
            role: "auditor".into(),
        }
    }

    #[test]
    fn the_default_set_implements_the_contract_table() {
        let policies = Policies::default_set().unwrap();
        let p = participants();
        let banks = ["bank-a", "bank-b", "bank-c"];
        let cases = [
            (field("borrower.name", "pii", None, &p), vec!["bank-a"]),
            (
                field("borrower_ref", "terms", None, &p),
                vec!["bank-a", "bank-b"],
            ),
            (
                field("principal", "amounts", None, &p),
                vec!["bank-a", "bank-b"],
            ),
            (
                field("participants", "terms", None, &p),
                vec!["bank-a", "bank-b"],
            ),
            (
                field("funding.bank-b", "amounts", Some("bank-b"), &p),
                vec!["bank-a", "bank-b"],
            ),
            (
                field("funding.bank-a", "amounts", Some("bank-a"), &p),
                vec!["bank-a"],
            ),
        ];
        for (f, expected) in cases {
            assert_eq!(policies.readers(&f, banks).unwrap(), expected, "{}", f.path);
            let regulator = Principal::Regulator {
                id: "regulator".into(),
            };
            assert!(policies.can_read(&regulator, &f).unwrap());
            assert!(policies.can_read_commitment(&member("bank-c"), &f).unwrap());
        }
        let clerk = Principal::Member {
            bank: "bank-a".into(),
            role: "clerk".into(),
        };
        assert!(policies.can_write(&clerk, "loan.originated").unwrap());
        assert!(
            !policies
                .can_write(&member("bank-a"), "loan.originated")
                .unwrap()
        );
        assert!(
            !policies
                .can_write(
                    &Principal::Regulator {
                        id: "regulator".into()
                    },
                    "loan.originated"
                )
                .unwrap()
        );
    }

    #[test]
    fn the_hash_is_canonical() {
        let a = Policies::default_set().unwrap();
        let reformatted = DEFAULT_POLICIES.replace("  ", " ").replace("// ", "//");
        let b = Policies::parse(&reformatted).unwrap();
        assert_eq!(a.hash(), b.hash());
        let changed = DEFAULT_POLICIES.replace("\"pii\"", "\"terms\"");
        assert_ne!(Policies::parse(&changed).unwrap().hash(), a.hash());
    }

    #[test]
    fn bad_policies_get_clear_errors() {
        assert!(matches!(
            Policies::parse("permit(principal"),
            Err(PolicyError::Parse(_))
        ));
        let unknown_attribute = "@id(\"x\") permit (principal is Veil::Member, action == Veil::Action::\"read\", resource is Veil::Field) when { resource.colour == \"red\" };";
        assert!(matches!(
            Policies::parse(unknown_attribute),
            Err(PolicyError::Invalid(_))
        ));
        let no_id = "permit (principal, action == Veil::Action::\"read_commitment\", resource is Veil::Field);";
        assert_eq!(Policies::parse(no_id).unwrap_err(), PolicyError::MissingId);
    }
}
