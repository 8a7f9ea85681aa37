//! The names of a consortium's parties and roles, as `veil init` assigns them.

/// Roles of member client certificates: `clerk` (write and read), `auditor` (read).
pub const CLIENT_ROLES: [&str; 2] = ["clerk", "auditor"];

/// The member ids `bank-a`, `bank-b`, ...
pub fn bank_ids(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("bank-{}", (b'a' + i as u8) as char))
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
