//! Scoped view keys open exactly their scope; the master key opens every scope.

use veil_crypto::envelope::{self, EnvelopeError, FieldContext};
use veil_crypto::{MasterViewKey, ViewKeyring, ViewScope};

const CONSORTIUM: &str = "veil-test";
const POLICY: [u8; 32] = [3; 32];

#[test]
fn a_scoped_key_opens_exactly_its_scope() {
    let master = MasterViewKey::from_bytes(&[42; 32]);
    let scopes = [
        ViewScope::new("2026-10", "amounts").unwrap(),
        ViewScope::new("2026-11", "amounts").unwrap(),
        ViewScope::new("2026-11", "pii").unwrap(),
        ViewScope::new("2026-12", "amounts").unwrap(),
    ];
    // The regulator publishes the public keys; the gateway seals each scope's field to its key.
    let published = master
        .publish(
            CONSORTIUM,
            &["2026-10".into(), "2026-11".into(), "2026-12".into()],
            &["amounts", "pii"],
        )
        .unwrap();
    let ctx = FieldContext {
        consortium_id: CONSORTIUM,
        entry_id: b"entry-1",
        schema_version: 1,
        policy_hash: &POLICY,
    };
    let groups: Vec<_> = scopes
        .iter()
        .map(|scope| {
            let key = &published
                .iter()
                .find(|p| &p.scope == scope)
                .unwrap()
                .public_key;
            envelope::seal_group(&ctx, &[key], &[("amount", scope.to_string().as_bytes())]).unwrap()
        })
        .collect();

    // The inspector's key for November's amounts.
    let inspector = master.derive(CONSORTIUM, &scopes[1]);
    let ring = ViewKeyring::from_pem(CONSORTIUM, &inspector.to_pem()).unwrap();
    for (scope, group) in scopes.iter().zip(&groups) {
        let opened = ring
            .key_for(scope)
            .map(|key| group.open_field(&ctx, "amount", &key));
        if scope == &scopes[1] {
            assert_eq!(
                opened.unwrap().unwrap().expose().as_slice(),
                b"2026-11/amounts"
            );
        } else {
            assert!(opened.is_none(), "keyring claims a key for {scope}");
            // Even used directly, the inspector's secret is not a recipient of other scopes.
            assert_eq!(
                group
                    .open_field(&ctx, "amount", inspector.secret_key())
                    .unwrap_err(),
                EnvelopeError::NotARecipient
            );
        }
    }

    // The master key opens all of them.
    let master_ring = ViewKeyring::from_pem(CONSORTIUM, &master.to_pem()).unwrap();
    for (scope, group) in scopes.iter().zip(&groups) {
        let key = master_ring.key_for(scope).unwrap();
        let opened = group.open_field(&ctx, "amount", &key).unwrap();
        assert_eq!(opened.expose().as_slice(), scope.to_string().as_bytes());
    }
}

#[test]
fn published_directories_round_trip_as_json() {
    let master = MasterViewKey::from_bytes(&[1; 32]);
    let published = master
        .publish(CONSORTIUM, &["2026-11".into()], &["amounts"])
        .unwrap();
    let json = serde_json::to_string(&published).unwrap();
    assert!(json.contains("\"month\":\"2026-11\""));
    let back: Vec<veil_crypto::view_key::PublishedViewKey> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, published);
    // Unknown fields and bad months are refused.
    assert!(
        serde_json::from_str::<Vec<veil_crypto::view_key::PublishedViewKey>>(
            &json.replace("\"class\"", "\"extra\":1,\"class\"")
        )
        .is_err()
    );
    assert!(
        serde_json::from_str::<Vec<veil_crypto::view_key::PublishedViewKey>>(
            &json.replace("2026-11", "2026-13")
        )
        .is_err()
    );
}
