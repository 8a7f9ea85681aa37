//! The names of a consortium's parties and roles, as `veil init` assigns them.

/// Roles of member client certificates: `clerk` (write and read), `auditor` (read).
pub const CLIENT_ROLES: [&str; 2] = ["clerk", "auditor"];

/// The member ids `veil init` gives when the banks name none: `bank-a` … `bank-z`, then
/// `bank-27`, `bank-28`, … (a consortium has up to 64 members).
pub fn bank_ids(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| match u8::try_from(i) {
            Ok(letter) if letter < 26 => format!("bank-{}", (b'a' + letter) as char),
            _ => format!("bank-{}", i + 1),
        })
        .collect()
}

/// The regulator ids `regulator`, `regulator-2`, ...
pub fn regulator_ids(n: usize) -> Vec<String> {
    (0..n)
        .map(|j| {
            if j == 0 {
                "regulator".to_owned()
            } else {
                format!("regulator-{}", j + 1)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_past_z_are_numbered_and_all_valid() {
        let ids = bank_ids(64);
        assert_eq!(ids[0], "bank-a");
        assert_eq!(ids[25], "bank-z");
        assert_eq!(ids[26], "bank-27");
        assert_eq!(ids[63], "bank-64");
        let unique: std::collections::BTreeSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), 64);
        assert!(ids.iter().all(|id| veil_policies::schema::is_member_id(id)));
    }
}
