//! Link secrets, passwords and every key derived from them.
//!
//! The derivation (FORMAT.md, "Keys") is:
//!
//! ```text
//! link_prk   = HKDF-Extract(salt = "veil/v1 link", ikm = secret)
//! argon_salt = HKDF-Expand(link_prk, "veil/v1 argon2id salt", 16)
//! ikm        = secret                                    (no password)
//!            | secret || Argon2id(password, argon_salt)  (password)
//! key_prk    = HKDF-Extract(salt = "veil/v1 key", ikm)
//! proof      = HKDF-Expand(key_prk, "veil/v1 download proof", 32)
//! file_prk   = HKDF-Extract(salt = header.salt, ikm)
//! content    = HKDF-Expand(file_prk, "veil/v1 content key"  || header, 32)
//! metadata   = HKDF-Expand(file_prk, "veil/v1 metadata key" || header, 32)
//! prefix     = HKDF-Expand(file_prk, "veil/v1 nonce prefix" || header, 7)
//! ```
//!
//! Everything secret here zeroizes on drop and has no `Debug`.

use hkdf::Hkdf;
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::Error;
use crate::format::HEADER_LEN;

/// Length of the link secret in bytes (256 bits).
pub const SECRET_LEN: usize = 32;
/// Length of the download proof and of its verifier, in bytes.
pub const PROOF_LEN: usize = 32;

const LABEL_LINK: &[u8] = b"veil/v1 link";
const LABEL_ARGON_SALT: &[u8] = b"veil/v1 argon2id salt";
const LABEL_KEY: &[u8] = b"veil/v1 key";
const LABEL_PROOF: &[u8] = b"veil/v1 download proof";
const LABEL_CONTENT: &[u8] = b"veil/v1 content key";
const LABEL_METADATA: &[u8] = b"veil/v1 metadata key";
const LABEL_NONCE: &[u8] = b"veil/v1 nonce prefix";

/// Fills `buf` from the platform CSPRNG (getrandom).
pub(crate) fn random_bytes(buf: &mut [u8]) -> Result<(), Error> {
    getrandom::getrandom(buf).map_err(|_| Error::Random)
}

/// The 256-bit secret that travels in the link's fragment and nowhere else.
#[derive(Zeroize, ZeroizeOnDrop, Clone)]
pub struct LinkSecret([u8; SECRET_LEN]);

impl LinkSecret {
    /// A fresh secret from the platform CSPRNG.
    pub fn generate() -> Result<Self, Error> {
        let mut bytes = [0u8; SECRET_LEN];
        random_bytes(&mut bytes)?;
        Ok(Self(bytes))
    }

    /// Wraps existing bytes (a parsed link, or a test vector).
    #[must_use]
    pub fn from_bytes(bytes: [u8; SECRET_LEN]) -> Self {
        Self(bytes)
    }

    /// The raw bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; SECRET_LEN] {
        &self.0
    }
}

/// Argon2id cost parameters, carried in the header and in password links.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Params {
    /// Memory in KiB.
    pub m_cost: u32,
    /// Passes over memory.
    pub t_cost: u32,
    /// Lanes.
    pub p_cost: u32,
}

impl Argon2Params {
    /// What new password links use: 19 MiB, 2 passes, 1 lane (OWASP's
    /// recommended minimum for Argon2id). Measured at about 0.1-0.3 s in a
    /// desktop browser, so about a second on a phone.
    pub const DEFAULT: Self = Self {
        m_cost: 19 * 1024,
        t_cost: 2,
        p_cost: 1,
    };
    /// Largest memory cost a decryptor accepts (256 MiB), so a hostile link
    /// cannot make a browser allocate without bound.
    pub const MAX_M_COST: u32 = 256 * 1024;
    /// Largest pass count a decryptor accepts.
    pub const MAX_T_COST: u32 = 16;
    /// Largest lane count a decryptor accepts.
    pub const MAX_P_COST: u32 = 8;

    /// Checks the bounds in FORMAT.md.
    pub fn validate(self) -> Result<Self, Error> {
        let ok = (1..=Self::MAX_P_COST).contains(&self.p_cost)
            && (1..=Self::MAX_T_COST).contains(&self.t_cost)
            && self.m_cost >= 8 * self.p_cost
            && self.m_cost <= Self::MAX_M_COST;
        if ok {
            Ok(self)
        } else {
            Err(Error::InvalidKdfParams)
        }
    }

    /// The 12-byte big-endian encoding used in the header and the link.
    #[must_use]
    pub fn to_bytes(self) -> [u8; 12] {
        let mut out = [0u8; 12];
        out[..4].copy_from_slice(&self.m_cost.to_be_bytes());
        out[4..8].copy_from_slice(&self.t_cost.to_be_bytes());
        out[8..].copy_from_slice(&self.p_cost.to_be_bytes());
        out
    }

    /// Parses the 12-byte encoding (not validated).
    #[must_use]
    pub fn from_bytes(b: [u8; 12]) -> Self {
        let [m0, m1, m2, m3, t0, t1, t2, t3, p0, p1, p2, p3] = b;
        Self {
            m_cost: u32::from_be_bytes([m0, m1, m2, m3]),
            t_cost: u32::from_be_bytes([t0, t1, t2, t3]),
            p_cost: u32::from_be_bytes([p0, p1, p2, p3]),
        }
    }
}

/// What a link fragment holds: the secret, and the Argon2id parameters when
/// the file also needs a password.
#[derive(Clone)]
pub struct Link {
    secret: LinkSecret,
    kdf: Option<Argon2Params>,
}

impl Link {
    /// A new link with a fresh secret; `kdf` is `Some` when a password will be set.
    pub fn generate(kdf: Option<Argon2Params>) -> Result<Self, Error> {
        let kdf = kdf.map(Argon2Params::validate).transpose()?;
        Ok(Self {
            secret: LinkSecret::generate()?,
            kdf,
        })
    }

    /// Builds a link from parts (a test vector, or a parsed fragment).
    pub fn from_parts(secret: LinkSecret, kdf: Option<Argon2Params>) -> Result<Self, Error> {
        let kdf = kdf.map(Argon2Params::validate).transpose()?;
        Ok(Self { secret, kdf })
    }

    /// Parses a fragment: `SECRET` or `SECRET.PARAMS`, both base64url without
    /// padding (43 and 16 characters). A leading `#` is accepted.
    pub fn parse_fragment(fragment: &str) -> Result<Self, Error> {
        let fragment = fragment.strip_prefix('#').unwrap_or(fragment);
        let (secret_part, params_part) = match fragment.split_once('.') {
            Some((s, p)) => (s, Some(p)),
            None => (fragment, None),
        };
        let secret = decode_exact::<SECRET_LEN>(secret_part).ok_or(Error::InvalidLink)?;
        let kdf = match params_part {
            None => None,
            Some(p) => {
                let bytes = decode_exact::<12>(p).ok_or(Error::InvalidLink)?;
                Some(
                    Argon2Params::from_bytes(*bytes)
                        .validate()
                        .map_err(|_| Error::InvalidLink)?,
                )
            }
        };
        Ok(Self {
            secret: LinkSecret(*secret),
            kdf,
        })
    }

    /// The fragment to put after `#` in the share link.
    #[must_use]
    pub fn fragment(&self) -> Zeroizing<String> {
        let mut out = Zeroizing::new(crate::b64::encode(self.secret.as_bytes()));
        if let Some(kdf) = self.kdf {
            out.push('.');
            out.push_str(&crate::b64::encode(&kdf.to_bytes()));
        }
        out
    }

    /// Whether the recipient must also type a password.
    #[must_use]
    pub fn needs_password(&self) -> bool {
        self.kdf.is_some()
    }

    /// The Argon2id parameters, when the link needs a password.
    #[must_use]
    pub fn kdf(&self) -> Option<Argon2Params> {
        self.kdf
    }

    /// Combines the link with the password (if the link needs one) into the
    /// file key. The password is NFC-normalised first ([`crate::password`]),
    /// then runs through Argon2id, which is deliberately slow.
    pub fn unlock(&self, password: Option<&str>) -> Result<FileKey, Error> {
        let password = password.map(crate::password::normalize);
        self.unlock_bytes(password.as_ref().map(|p| p.as_bytes()))
    }

    fn unlock_bytes(&self, password: Option<&[u8]>) -> Result<FileKey, Error> {
        let mut ikm = Zeroizing::new(Vec::with_capacity(2 * SECRET_LEN));
        ikm.extend_from_slice(self.secret.as_bytes());
        match (self.kdf, password) {
            (None, None) => {}
            (None, Some(_)) => return Err(Error::PasswordNotExpected),
            (Some(_), None) => return Err(Error::PasswordRequired),
            (Some(_), Some([])) => return Err(Error::EmptyPassword),
            (Some(params), Some(pw)) => {
                let link_prk = Hkdf::<Sha256>::new(Some(LABEL_LINK), self.secret.as_bytes());
                let mut salt = [0u8; 16];
                link_prk
                    .expand(LABEL_ARGON_SALT, &mut salt)
                    .map_err(|_| Error::Kdf)?;
                let argon = argon2::Argon2::new(
                    argon2::Algorithm::Argon2id,
                    argon2::Version::V0x13,
                    argon2::Params::new(params.m_cost, params.t_cost, params.p_cost, Some(32))
                        .map_err(|_| Error::InvalidKdfParams)?,
                );
                let mut pw_key = Zeroizing::new([0u8; 32]);
                argon
                    .hash_password_into(pw, &salt, pw_key.as_mut())
                    .map_err(|_| Error::Kdf)?;
                ikm.extend_from_slice(pw_key.as_ref());
            }
        }
        Ok(FileKey { ikm, kdf: self.kdf })
    }
}

fn decode_exact<const N: usize>(s: &str) -> Option<Zeroizing<[u8; N]>> {
    crate::b64::decode_exact::<N>(s).map(Zeroizing::new)
}

/// The input keying material of one file: the link secret, joined with the
/// Argon2id output when a password is set. Every other key derives from it.
#[derive(ZeroizeOnDrop)]
pub struct FileKey {
    ikm: Zeroizing<Vec<u8>>,
    #[zeroize(skip)]
    kdf: Option<Argon2Params>,
}

/// The per-file subkeys, bound to one header.
#[derive(ZeroizeOnDrop)]
pub(crate) struct Subkeys {
    pub(crate) content: [u8; 32],
    pub(crate) metadata: [u8; 32],
    pub(crate) nonce_prefix: [u8; 7],
}

impl FileKey {
    /// The Argon2id parameters this key was made with, if any.
    #[must_use]
    pub fn kdf(&self) -> Option<Argon2Params> {
        self.kdf
    }

    /// The download proof: the server stores only its SHA-256 and asks for
    /// the proof itself before serving the ciphertext.
    #[must_use]
    pub fn download_proof(&self) -> DownloadProof {
        let key_prk = Hkdf::<Sha256>::new(Some(LABEL_KEY), &self.ikm);
        let mut out = [0u8; PROOF_LEN];
        // Loud rather than a silent all-zero proof. HKDF-SHA256 refuses only
        // outputs over 8160 bytes; this one is 32.
        #[allow(clippy::expect_used)]
        key_prk
            .expand(LABEL_PROOF, &mut out)
            .expect("32 bytes is far below HKDF-SHA256's 8160-byte limit");
        DownloadProof(out)
    }

    /// The derived subkeys for a header: `(content key, metadata key, nonce
    /// prefix)`. Only for test vectors and cross-implementation checks.
    #[cfg(feature = "test-vectors")]
    #[must_use]
    pub fn subkeys_for_vectors(&self, header: &[u8; HEADER_LEN]) -> ([u8; 32], [u8; 32], [u8; 7]) {
        let mut salt = [0u8; 32];
        salt.copy_from_slice(&header[24..56]);
        let k = self.subkeys(&salt, header);
        (k.content, k.metadata, k.nonce_prefix)
    }

    pub(crate) fn subkeys(&self, salt: &[u8; 32], header: &[u8; HEADER_LEN]) -> Subkeys {
        let file_prk = Hkdf::<Sha256>::new(Some(salt), &self.ikm);
        let mut keys = Subkeys {
            content: [0; 32],
            metadata: [0; 32],
            nonce_prefix: [0; 7],
        };
        // Output lengths are fixed and far below HKDF's limit, so expand_multi_info
        // cannot fail; the results are ignored only to avoid a panic path.
        let _ = file_prk.expand_multi_info(&[LABEL_CONTENT, header], &mut keys.content);
        let _ = file_prk.expand_multi_info(&[LABEL_METADATA, header], &mut keys.metadata);
        let _ = file_prk.expand_multi_info(&[LABEL_NONCE, header], &mut keys.nonce_prefix);
        keys
    }
}

/// Proof of knowing the link (and password): sent to the server in the
/// `Veil-Proof` header when downloading.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct DownloadProof([u8; PROOF_LEN]);

impl DownloadProof {
    /// base64url without padding, as sent in the `Veil-Proof` header.
    #[must_use]
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(crate::b64::encode(&self.0))
    }

    /// SHA-256 of the proof: what the uploader gives the server to store.
    #[must_use]
    pub fn verifier(&self) -> [u8; PROOF_LEN] {
        Sha256::digest(self.0).into()
    }

    /// base64url of [`Self::verifier`], as sent in the `Veil-Proof-Hash` header.
    #[must_use]
    pub fn verifier_base64(&self) -> String {
        crate::b64::encode(&self.verifier())
    }
}
