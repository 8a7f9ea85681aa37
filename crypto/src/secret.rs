//! A wrapper for secret values: redacted `Debug`, zeroized on drop, constant-time equality.
//!
//! `Secret<T>` relies on `T`'s [`Zeroize`] implementation, which wipes every element of
//! owned buffers (`Vec<u8>`, `String`, arrays), including spare capacity, not just the
//! pointer and length. Access is explicit through [`Secret::expose`].

use core::fmt;

use subtle::{Choice, ConstantTimeEq};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// A secret value that never prints, is wiped when dropped and compares in constant time.
pub struct Secret<T: Zeroize>(T);

impl<T: Zeroize> Secret<T> {
    /// Wraps `value`. The caller should not keep other copies of it.
    pub const fn new(value: T) -> Self {
        Self(value)
    }

    /// Borrows the secret value. Avoid copying it out; prefer working on the borrow.
    pub fn expose(&self) -> &T {
        &self.0
    }

    /// Mutably borrows the secret value, e.g. to fill it in place.
    pub fn expose_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T: Zeroize> Drop for Secret<T> {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl<T: Zeroize> ZeroizeOnDrop for Secret<T> {}

impl<T: Zeroize> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}

impl<T: Zeroize + Clone> Clone for Secret<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T: Zeroize + AsRef<[u8]>> ConstantTimeEq for Secret<T> {
    /// Constant time in the contents; the lengths are treated as public.
    fn ct_eq(&self, other: &Self) -> Choice {
        self.0.as_ref().ct_eq(other.0.as_ref())
    }
}

impl<T: Zeroize + AsRef<[u8]>> PartialEq for Secret<T> {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl<T: Zeroize + AsRef<[u8]>> Eq for Secret<T> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let secret = Secret::new([0x42u8; 32]);
        let shown = format!("{secret:?}");
        assert_eq!(shown, "Secret([REDACTED])");
        assert!(!shown.contains("42"));
    }

    #[test]
    fn equality_compares_contents() {
        assert_eq!(Secret::new([1u8; 32]), Secret::new([1u8; 32]));
        assert_ne!(Secret::new([1u8; 32]), Secret::new([2u8; 32]));
        assert_ne!(Secret::new(vec![1u8; 3]), Secret::new(vec![1u8; 4]));
    }

    #[test]
    fn zeroize_wipes_every_element() {
        let mut secret = Secret::new(vec![0xffu8; 64]);
        secret.expose_mut().zeroize();
        assert!(secret.expose().is_empty());
        let mut array = Secret::new([0xffu8; 32]);
        array.expose_mut().zeroize();
        assert_eq!(array.expose(), &[0u8; 32]);
    }
}
