//! Loopback ports for a consortium on one machine, reserved so that consortia started at the
//! same time (parallel tests, `veil demo` beside `veil up`) never take the same ones.

use std::path::Path;

/// Most banks a consortium on one machine has ports for.
pub const MAX_BANKS: usize = 64;
/// Regulator `j`'s gateway port is `base + REGULATOR_OFFSET + j`, past the banks' ports.
pub const REGULATOR_OFFSET: u16 = 700;

/// The ports [`init`](super::init::init) assigns from `base` to `banks` banks (node consensus, node API,
/// gateway: `base + 10 i` .. `+ 2`, up to 64 banks) and `regulators` regulators
/// (`base + 700 + j`).
fn assigned_ports(base: u16, banks: usize, regulators: usize) -> Vec<u16> {
    let mut ports: Vec<u16> = (0..banks as u16)
        .flat_map(|i| [base + 10 * i, base + 10 * i + 1, base + 10 * i + 2])
        .collect();
    ports.extend((0..regulators as u16).map(|j| base + REGULATOR_OFFSET + j));
    ports
}

/// A range of loopback ports reserved for one consortium on this machine: every port
/// [`init`](super::init::init) assigns from [`PortLease::base`] was free when leased, and no other lease taken on
/// this machine (by any process) overlaps it until this one is dropped.
///
/// The reservation is an advisory lock (`flock`) on one file per ten ports under
/// `$TMPDIR/veil-ports-$USER/`, released by the kernel when the process exits, so a crashed run
/// leaves nothing behind. Processes that do not lease (anything else on the machine) are
/// detected by binding each port before the lease is granted.
#[derive(Debug)]
pub struct PortLease {
    base: u16,
    _locks: Vec<std::fs::File>,
}

impl PortLease {
    /// The base port to pass to [`init`](super::init::init) (`--base-port`).
    pub fn base(&self) -> u16 {
        self.base
    }
}

/// Leases a base port such that every port [`init`](super::init::init) assigns from it (for `banks` banks and
/// `regulators` regulators) is free on loopback and reserved against other leases: `preferred`
/// if it is, or else one drawn at random; `None` if no such range was found.
///
/// Random bases are drawn from 20000..31800 so that, with the regulators at `base + 700`,
/// every port stays below Linux's default ephemeral range (32768 and up), where outgoing
/// connections would otherwise take them between this check and the bind.
pub fn lease_base_port(
    preferred: Option<u16>,
    banks: usize,
    regulators: usize,
) -> Option<PortLease> {
    if banks > MAX_BANKS || regulators > 10 {
        return None;
    }
    // One directory per user: another user's locks cannot block this one's consortia. Where it
    // cannot be made (a read-only temporary directory), leases rest on the bind check alone.
    let user: String = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "default".into())
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        .collect();
    let locks_dir = std::env::temp_dir().join(format!("veil-ports-{user}"));
    let mut locking = std::fs::create_dir_all(&locks_dir).is_ok();
    let mut seed = [0u8; 8];
    let _ = getrandom::fill(&mut seed);
    let seed = u64::from_le_bytes(seed);
    let random = (0..500u64).map(|attempt| {
        let slot = seed.wrapping_add(attempt.wrapping_mul(7919)) % 1_180;
        20_000 + slot as u16 * 10
    });
    let preferred = preferred.filter(|p| u32::from(*p) + 1_000 <= u32::from(u16::MAX));
    for base in preferred.into_iter().chain(random) {
        let ports = assigned_ports(base, banks, regulators);
        let mut slots: Vec<u16> = ports.iter().map(|p| p / 10).collect();
        slots.sort_unstable();
        slots.dedup();
        let locks = if locking {
            match lock_slots(&locks_dir, &slots) {
                Ok(Some(locks)) => locks,
                Ok(None) => continue,
                // The lock files cannot be opened (another user's directory): bind check only.
                Err(_) => {
                    locking = false;
                    Vec::new()
                }
            }
        } else {
            Vec::new()
        };
        if ports
            .iter()
            .all(|p| std::net::TcpListener::bind(("127.0.0.1", *p)).is_ok())
        {
            return Some(PortLease {
                base,
                _locks: locks,
            });
        }
    }
    None
}

/// Exclusive locks on the files of `slots`, `None` if another lease holds one of them, or the
/// error if a lock file cannot be opened at all.
fn lock_slots(dir: &Path, slots: &[u16]) -> std::io::Result<Option<Vec<std::fs::File>>> {
    let mut locks = Vec::with_capacity(slots.len());
    for slot in slots {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(format!("{slot}.lock")))?;
        if file.try_lock().is_err() {
            return Ok(None);
        }
        locks.push(file);
    }
    Ok(Some(locks))
}
