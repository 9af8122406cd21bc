//! Abuse reports: what a reporter may say about a link, and the *sealed
//! key*, the link's fragment (and the password, if the reporter knows it)
//! sealed to the operator's public key on the reporter's machine. The
//! server stores the sealed bytes and can open none of them; only the
//! operator's private key, kept off the server, can (FORMAT.md, "Sealed
//! report keys").
//!
//! ```text
//! shared   = X25519(ephemeral secret, operator public)      (not all zero)
//! prk      = HKDF-Extract(salt = "veil/v1 report", ikm = shared)
//! key‖nonce= HKDF-Expand(prk, ephemeral public ‖ operator public, 44)
//! aad      = "veil/v1 report"
//! sealed   = ephemeral public (32) ‖ AES-256-GCM(key, nonce, aad, plain) (1024 + 16)
//! plain    = field(blob id) ‖ field(fragment) ‖ field(password or empty) ‖ zeros,
//!            1024 bytes; field(x) = u16 BE length ‖ x (UTF-8)
//! ```
//!
//! The blob id inside is what binds a sealed key to its report: the
//! operator's tool checks that it hashes to the reported slot.
//!
//! The ephemeral key is fresh for every report, so one AES key and nonce
//! are never used twice; the fixed length tells the server nothing about
//! whether a password was included.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use hkdf::Hkdf;
use sha2::Sha256;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::{DecryptError, Error};
use crate::keys::random_bytes;

/// Length of the sealed key in bytes.
pub const SEALED_LEN: usize = 32 + PLAIN_LEN + 16;
/// The padded plaintext's length.
const PLAIN_LEN: usize = 1024;
/// Longest free text of a report, in bytes of UTF-8.
pub const MAX_TEXT: usize = 1000;

const LABEL: &[u8] = b"veil/v1 report";

/// Why a link is reported. The wire form is [`Category::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    /// Malicious software.
    Malware,
    /// A page or file that tricks people into giving away credentials or money.
    Phishing,
    /// Sexual material involving children.
    ChildAbuse,
    /// Intimate pictures shared without consent, doxxing, other personal data.
    Privacy,
    /// Incitement to violence, terrorist content.
    Violence,
    /// Someone else's work shared without permission.
    Copyright,
    /// Anything else (the free text says what).
    Other,
}

impl Category {
    /// Every category, in the order a form lists them.
    pub const ALL: [Self; 7] = [
        Self::Malware,
        Self::Phishing,
        Self::ChildAbuse,
        Self::Privacy,
        Self::Violence,
        Self::Copyright,
        Self::Other,
    ];

    /// The wire name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Malware => "malware",
            Self::Phishing => "phishing",
            Self::ChildAbuse => "child-abuse",
            Self::Privacy => "privacy",
            Self::Violence => "violence",
            Self::Copyright => "copyright",
            Self::Other => "other",
        }
    }

    /// Parses a wire name.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// Whether `text` may be a report's free text: at most [`MAX_TEXT`] bytes,
/// no control characters but line breaks and tabs, no bidirectional
/// controls (which would make an operator's terminal show other text).
#[must_use]
pub fn text_is_valid(text: &str) -> bool {
    text.len() <= MAX_TEXT
        && !text
            .chars()
            .any(|c| (c.is_control() && !matches!(c, '\n' | '\t')) || is_bidi_control(c))
}

/// The bidirectional formatting characters (Unicode UAX #9).
#[must_use]
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// The operator's key pair for reports. No `Debug`; zeroized on drop.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct OperatorKey([u8; 32]);

impl OperatorKey {
    /// A fresh key pair from the CSPRNG.
    pub fn generate() -> Result<Self, Error> {
        let mut b = [0u8; 32];
        random_bytes(&mut b)?;
        Ok(Self(b))
    }

    /// The private key as it is written to its file (base64url, 43 characters).
    #[must_use]
    pub fn encode(&self) -> Zeroizing<String> {
        Zeroizing::new(crate::b64::encode(&self.0))
    }

    /// Parses [`Self::encode`]'s form (surrounding whitespace ignored).
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        crate::b64::decode_exact::<32>(s.trim()).map(Self)
    }

    /// The public key, base64url: what the server publishes
    /// (`report_key` in `/api/v1/config`).
    #[must_use]
    pub fn public(&self) -> String {
        let secret = StaticSecret::from(self.0);
        crate::b64::encode(PublicKey::from(&secret).as_bytes())
    }

    /// Opens a sealed key: the blob id, the fragment and the password, if
    /// one was included. Every failure is the same opaque error.
    pub fn open(&self, sealed: &[u8]) -> Result<Opened, DecryptError> {
        let (eph, body) = sealed.split_at_checked(32).ok_or(DecryptError)?;
        if sealed.len() != SEALED_LEN {
            return Err(DecryptError);
        }
        let eph: [u8; 32] = eph.try_into().map_err(|_| DecryptError)?;
        let secret = StaticSecret::from(self.0);
        let ours = PublicKey::from(&secret);
        let shared = secret.diffie_hellman(&PublicKey::from(eph));
        let cipher = cipher(shared.as_bytes(), &eph, ours.as_bytes())?;
        let plain = Zeroizing::new(
            cipher
                .0
                .decrypt(
                    Nonce::from_slice(&cipher.1),
                    Payload {
                        msg: body,
                        aad: LABEL,
                    },
                )
                .map_err(|_| DecryptError)?,
        );
        unpad(&plain).ok_or(DecryptError)
    }
}

/// What a sealed key holds.
pub struct Opened {
    /// The reported blob's id (base64url).
    pub blob_id: String,
    /// The link's fragment (after `#`).
    pub fragment: Zeroizing<String>,
    /// The password the reporter opened the link with, if included.
    pub password: Option<Zeroizing<String>>,
}

/// The AEAD and nonce for one sealing; refuses a shared secret of zeros
/// (a low-order public key).
fn cipher(
    shared: &[u8; 32],
    eph: &[u8; 32],
    operator: &[u8; 32],
) -> Result<(Aes256Gcm, [u8; 12]), DecryptError> {
    if shared.iter().all(|b| *b == 0) {
        return Err(DecryptError);
    }
    let hk = Hkdf::<Sha256>::new(Some(LABEL), shared);
    let mut info = [0u8; 64];
    let (a, b) = info.split_at_mut(32);
    a.copy_from_slice(eph);
    b.copy_from_slice(operator);
    let mut okm = Zeroizing::new([0u8; 44]);
    hk.expand(&info, okm.as_mut()).map_err(|_| DecryptError)?;
    let (key, nonce) = okm.split_at(32);
    let nonce: [u8; 12] = nonce.try_into().map_err(|_| DecryptError)?;
    Ok((Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key)), nonce))
}

fn pad(blob_id: &str, fragment: &str, password: Option<&str>) -> Result<Zeroizing<Vec<u8>>, Error> {
    let password = password.unwrap_or("");
    let mut out = Zeroizing::new(Vec::with_capacity(PLAIN_LEN));
    for part in [blob_id, fragment, password] {
        let len = u16::try_from(part.len()).map_err(|_| Error::MetadataTooLong("report key"))?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(part.as_bytes());
    }
    if out.len() > PLAIN_LEN {
        return Err(Error::MetadataTooLong("report key"));
    }
    out.resize(PLAIN_LEN, 0);
    Ok(out)
}

fn unpad(plain: &[u8]) -> Option<Opened> {
    fn field(b: &[u8]) -> Option<(&str, &[u8])> {
        let (len, rest) = b.split_first_chunk::<2>()?;
        let (s, rest) = rest.split_at_checked(usize::from(u16::from_be_bytes(*len)))?;
        Some((std::str::from_utf8(s).ok()?, rest))
    }
    let (blob_id, rest) = field(plain)?;
    let (fragment, rest) = field(rest)?;
    let (password, rest) = field(rest)?;
    if rest.iter().any(|b| *b != 0) || plain.len() != PLAIN_LEN {
        return None;
    }
    Some(Opened {
        blob_id: blob_id.to_owned(),
        fragment: Zeroizing::new(fragment.to_owned()),
        password: (!password.is_empty()).then(|| Zeroizing::new(password.to_owned())),
    })
}

/// Seals `fragment` (and `password`) for the blob `blob_id` to the
/// operator's public key (base64url). Fails on a malformed public key, on
/// fields too long for the 1024-byte plaintext, or on the CSPRNG.
pub fn seal(
    operator_public: &str,
    blob_id: &str,
    fragment: &str,
    password: Option<&str>,
) -> Result<Vec<u8>, Error> {
    let mut eph = [0u8; 32];
    random_bytes(&mut eph)?;
    let out = seal_with(operator_public, blob_id, fragment, password, eph);
    eph.zeroize();
    out
}

/// [`seal`], as the base64url text of a report's `key` field.
pub fn seal_base64(
    operator_public: &str,
    blob_id: &str,
    fragment: &str,
    password: Option<&str>,
) -> Result<String, Error> {
    seal(operator_public, blob_id, fragment, password).map(|s| crate::b64::encode(&s))
}

/// A report's `key` field decoded, if it is base64url of [`SEALED_LEN`] bytes.
#[must_use]
pub fn decode_sealed(text: &str) -> Option<Vec<u8>> {
    crate::b64::decode(text).filter(|b| b.len() == SEALED_LEN)
}

/// Whether `text` is an operator public key (base64url of 32 bytes).
#[must_use]
pub fn is_public_key(text: &str) -> bool {
    crate::b64::decode_exact::<32>(text).is_some()
}

/// [`seal`] with a given ephemeral secret: for the published vector only.
#[cfg(any(test, feature = "test-vectors"))]
pub fn seal_with_ephemeral(
    operator_public: &str,
    blob_id: &str,
    fragment: &str,
    password: Option<&str>,
    ephemeral: [u8; 32],
) -> Result<Vec<u8>, Error> {
    seal_with(operator_public, blob_id, fragment, password, ephemeral)
}

fn seal_with(
    operator_public: &str,
    blob_id: &str,
    fragment: &str,
    password: Option<&str>,
    ephemeral: [u8; 32],
) -> Result<Vec<u8>, Error> {
    let operator = crate::b64::decode_exact::<32>(operator_public).ok_or(Error::InvalidLink)?;
    let secret = StaticSecret::from(ephemeral);
    let eph = PublicKey::from(&secret);
    let shared = secret.diffie_hellman(&PublicKey::from(operator));
    let (aead, nonce) =
        cipher(shared.as_bytes(), eph.as_bytes(), &operator).map_err(|_| Error::InvalidLink)?;
    let plain = pad(blob_id, fragment, password)?;
    let body = aead
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: &plain,
                aad: LABEL,
            },
        )
        .map_err(|_| Error::Seal)?;
    let mut out = Vec::with_capacity(SEALED_LEN);
    out.extend_from_slice(eph.as_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "AAAAAAAAAAAAAAAAAAAAAA";

    #[test]
    fn a_sealed_key_opens_only_with_the_operator_key_and_for_its_blob() {
        let op = OperatorKey::generate().unwrap();
        let sealed = seal(&op.public(), ID, "frag-ment", Some("pässword")).unwrap();
        assert_eq!(sealed.len(), SEALED_LEN);
        let opened = op.open(&sealed).unwrap();
        assert_eq!(opened.blob_id, ID);
        assert_eq!(opened.fragment.as_str(), "frag-ment");
        assert_eq!(
            opened.password.as_deref().map(String::as_str),
            Some("pässword")
        );
        let no_pw = seal(&op.public(), ID, "frag", None).unwrap();
        assert_eq!(no_pw.len(), sealed.len());
        assert!(op.open(&no_pw).unwrap().password.is_none());
        // Another operator, any flipped bit, any length: refused.
        let other = OperatorKey::generate().unwrap();
        assert!(other.open(&sealed).is_err());
        for i in [0, 31, 32, 500, SEALED_LEN - 1] {
            let mut bad = sealed.clone();
            bad[i] ^= 1;
            assert!(op.open(&bad).is_err(), "bit flipped at {i}");
        }
        assert!(op.open(&sealed[..SEALED_LEN - 1]).is_err());
        assert!(op.open(&[]).is_err());
        assert!(op.open(&[0; SEALED_LEN]).is_err());
    }

    #[test]
    fn the_key_file_form_round_trips_and_fields_are_bounded() {
        let op = OperatorKey::generate().unwrap();
        let again = OperatorKey::parse(&format!("{}\n", op.encode().as_str())).unwrap();
        assert_eq!(again.public(), op.public());
        assert!(OperatorKey::parse("short").is_none());
        // Three length fields and the 22-character id leave 996 bytes.
        assert!(seal(&op.public(), ID, &"x".repeat(997), None).is_err());
        assert!(seal(&op.public(), ID, &"x".repeat(996), None).is_ok());
        assert!(seal("not a key", ID, "f", None).is_err());
        // A low-order public key gives a zero shared secret: refused.
        assert!(seal(&crate::b64::encode(&[0; 32]), ID, "f", None).is_err());
    }

    #[test]
    fn categories_and_text() {
        for c in Category::ALL {
            assert_eq!(Category::parse(c.as_str()), Some(c));
        }
        assert_eq!(Category::parse("spam"), None);
        assert!(text_is_valid("line one\nline\ttwo"));
        assert!(!text_is_valid("bell\u{7}"));
        assert!(!text_is_valid("\u{1b}[31m"));
        assert!(!text_is_valid("abc\u{202e}fed"));
        assert!(!text_is_valid(&"x".repeat(MAX_TEXT + 1)));
    }
}
