//! Public Ristretto point types that keep their canonical encoding next to the point
//! (commitments, auditor keys, decrypt handles): one definition of their encodings, `Debug`
//! (the hex encoding), `Hash` (the encoding) and serde (hex).

/// Defines a public point type that keeps its canonical encoding next to the point.
macro_rules! point_type {
    ($(#[$doc:meta])* $name:ident, $from_vis:vis) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq)]
        pub struct $name {
            point: curve25519_dalek::ristretto::RistrettoPoint,
            compressed: curve25519_dalek::ristretto::CompressedRistretto,
        }

        impl $name {
            /// Wraps a point.
            $from_vis fn from_point(point: curve25519_dalek::ristretto::RistrettoPoint) -> Self {
                Self {
                    point,
                    compressed: point.compress(),
                }
            }

            /// Decodes a slice of exactly 32 bytes.
            pub fn from_slice(bytes: &[u8]) -> Result<Self, $crate::encoding::EncodingError> {
                Self::from_bytes(&$crate::encoding::to_array(bytes)?)
            }

            /// Decodes hex.
            pub fn from_hex(text: &str) -> Result<Self, $crate::encoding::EncodingError> {
                Self::from_bytes(&$crate::encoding::from_hex_array(text)?)
            }

            /// The 32-byte compressed encoding.
            pub fn to_bytes(&self) -> [u8; 32] {
                self.compressed.to_bytes()
            }

            /// Lowercase hex of the encoding.
            pub fn to_hex(&self) -> String {
                $crate::encoding::to_hex(self.compressed.as_bytes())
            }

            /// The point.
            pub fn point(&self) -> &curve25519_dalek::ristretto::RistrettoPoint {
                &self.point
            }

            /// The compressed point.
            pub fn compressed(&self) -> &curve25519_dalek::ristretto::CompressedRistretto {
                &self.compressed
            }
        }

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                write!(f, "{}({})", stringify!($name), self.to_hex())
            }
        }

        impl core::hash::Hash for $name {
            fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
                self.compressed.as_bytes().hash(state);
            }
        }

        $crate::encoding::serde_as_hex!($name, 32);
    };
}

pub(crate) use point_type;
