//! The two error types at the library boundary: one that explains what the
//! caller did wrong, and one that deliberately explains nothing.

use thiserror::Error;

/// A problem with the caller's input or environment while creating a link or
/// encrypting. These never depend on secret data, so they can say what went
/// wrong.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The link fragment is not a Veil v1 link (wrong length, alphabet or parameters).
    #[error("the link is incomplete or malformed")]
    InvalidLink,
    /// The link was made with a password and none was given, or the reverse.
    #[error("this link needs a password")]
    PasswordRequired,
    /// A password was given for a link that was made without one.
    #[error("this link was made without a password")]
    PasswordNotExpected,
    /// An empty password was given.
    #[error("the password is empty")]
    EmptyPassword,
    /// Argon2id parameters outside the bounds in FORMAT.md.
    #[error("the password hashing parameters are out of range")]
    InvalidKdfParams,
    /// The record size is outside 16 B ..= 16 MiB.
    #[error("the record size must be between 16 bytes and 16 MiB")]
    InvalidRecordSize,
    /// A metadata field is too long (the message names which).
    #[error("metadata field too long: {0}")]
    MetadataTooLong(&'static str),
    /// The declared file size is beyond what the format can carry.
    #[error("the file is too large for this format")]
    FileTooLarge,
    /// A share with no files, or more than [`crate::share::MAX_FILES`].
    #[error("a share holds between 1 and 65,536 files")]
    ShareSize,
    /// Too many files of a share want one path (even renamed `a (2)` …).
    #[error("too many files in this share have the same name")]
    PathClash,
    /// More or fewer bytes were pushed than the size declared in the metadata.
    #[error("the data pushed does not match the declared size")]
    SizeMismatch,
    /// The operating system's random number generator failed.
    #[error("the system random number generator failed")]
    Random,
    /// Argon2id failed (only possible with out-of-range parameters or memory exhaustion).
    #[error("password hashing failed")]
    Kdf,
    /// AES-GCM refused to seal a record. Cannot happen (it refuses only
    /// messages over 64 GiB; records are at most 16 MiB); reported rather
    /// than dropped, since a missing record would corrupt the container.
    #[error("a record could not be sealed (a bug in Veil)")]
    Seal,
}

/// Decryption failed. Deliberately opaque: a wrong key, a wrong password, a
/// flipped bit, a truncated, reordered, duplicated or extended stream and a
/// file that is not a Veil container all produce this same value, so that no
/// caller can turn the decryptor into an oracle.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
#[error(
    "the data could not be decrypted: it is damaged, incomplete, or the key or password is wrong"
)]
pub struct DecryptError;
