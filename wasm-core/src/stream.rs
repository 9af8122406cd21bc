//! STREAM-style record encryption: a streaming [`Encryptor`] and
//! [`Decryptor`] over the container of FORMAT.md.
//!
//! The content (file bytes, then zero padding up to PADMÉ of the size) is cut
//! into records of `record_size` bytes, the last one possibly shorter. Record
//! `i` is sealed with AES-256-GCM under the content key and the nonce
//! `prefix(7) || i (u32 BE) || last (0x00 or 0x01)`. Because both the counter
//! and the last-record flag are in the nonce, reordering, duplication,
//! truncation and appending all fail authentication. The record layout is
//! known in advance from the sealed size, so the decryptor also rejects any
//! byte after the last record.

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use std::ops::Range;
use zeroize::Zeroizing;

use crate::error::{DecryptError, Error};
use crate::format::{Header, HEADER_LEN, MAX_RECORD_SIZE, MIN_RECORD_SIZE, TAG_LEN};
use crate::keys::{random_bytes, FileKey};
use crate::metadata::Metadata;
use crate::padding::padme;
use crate::share::Manifest;

/// Nonce length of AES-GCM.
pub const NONCE_LEN: usize = 12;

/// The nonce of record `index`.
#[must_use]
pub(crate) fn record_nonce(prefix: &[u8; 7], index: u32, last: bool) -> [u8; NONCE_LEN] {
    let mut n = [0u8; NONCE_LEN];
    n[..7].copy_from_slice(prefix);
    n[7..11].copy_from_slice(&index.to_be_bytes());
    n[11] = u8::from(last);
    n
}

/// The record plan of one container: how the padded content splits into records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layout {
    pub(crate) record_size: u64,
    /// Plaintext bytes of content: the file then its padding.
    pub(crate) padded: u64,
    /// Index of the last record.
    pub(crate) last: u32,
}

impl Layout {
    pub(crate) fn new(size: u64, record_size: u32) -> Option<Self> {
        let padded = padme(size);
        let record_size = u64::from(record_size);
        let records = padded.div_ceil(record_size).max(1);
        let last = u32::try_from(records - 1).ok()?;
        Some(Self {
            record_size,
            padded,
            last,
        })
    }

    /// Plaintext length of record `index`.
    pub(crate) fn plain_len(&self, index: u32) -> u64 {
        let start = u64::from(index) * self.record_size;
        self.padded.saturating_sub(start).min(self.record_size)
    }

    /// Total sealed length of the records.
    pub(crate) fn sealed_len(&self) -> u64 {
        self.padded + (u64::from(self.last) + 1) * TAG_LEN as u64
    }
}

/// Splits the plaintext stream into records and numbers them. The sealing
/// itself is left to the caller, so the same framing drives both the
/// aes-gcm path and the browser's WebCrypto path.
pub(crate) struct Framer {
    nonce_prefix: [u8; 7],
    layout: Layout,
    size: u64,
    /// Content bytes accepted so far (data, then padding).
    consumed: u64,
    next: u32,
    /// The record being filled. Plaintext is not wiped: it is the caller's
    /// file, which the caller holds anyway, and wiping costs a third of the
    /// throughput in wasm. Keys are wiped.
    pending: Vec<u8>,
    done: bool,
}

/// Where a record's plaintext is.
pub(crate) enum RecordBytes {
    /// A whole record inside the input just pushed: sealed from there, no copy.
    Input(Range<usize>),
    /// A record assembled across pushes.
    Owned(Vec<u8>),
}

/// One record ready to be sealed.
pub(crate) struct PlainRecord {
    /// Its nonce.
    pub nonce: [u8; NONCE_LEN],
    /// Its plaintext.
    pub bytes: RecordBytes,
}

/// Bytes the framer can read from: a slice natively, a JS `Uint8Array` in
/// the browser (so whole records never enter wasm memory).
pub(crate) trait Source {
    /// Length in bytes.
    fn len(&self) -> usize;
    /// Appends `range` of the source to `out`.
    fn copy_to(&self, range: Range<usize>, out: &mut Vec<u8>);
}

impl Source for [u8] {
    fn len(&self) -> usize {
        <[u8]>::len(self)
    }
    fn copy_to(&self, range: Range<usize>, out: &mut Vec<u8>) {
        out.extend_from_slice(self.get(range).unwrap_or_default());
    }
}

impl Framer {
    fn new(nonce_prefix: [u8; 7], layout: Layout, size: u64) -> Self {
        Self {
            nonce_prefix,
            layout,
            size,
            consumed: 0,
            next: 0,
            pending: Vec::new(),
            done: false,
        }
    }

    fn emit(&mut self, bytes: RecordBytes, out: &mut Vec<PlainRecord>) {
        let index = self.next;
        let last = index == self.layout.last;
        out.push(PlainRecord {
            nonce: record_nonce(&self.nonce_prefix, index, last),
            bytes,
        });
        if last {
            self.done = true;
        } else {
            self.next = index + 1;
        }
    }

    fn feed_content<S: Source + ?Sized>(&mut self, data: &S, out: &mut Vec<PlainRecord>) {
        let len = data.len();
        let mut at = 0;
        while at < len && !self.done {
            let want = usize::try_from(self.layout.plain_len(self.next)).unwrap_or(usize::MAX);
            if self.pending.is_empty() && len - at >= want {
                self.consumed += want as u64;
                self.emit(RecordBytes::Input(at..at + want), out);
                at += want;
                continue;
            }
            let n = want.saturating_sub(self.pending.len()).min(len - at);
            if self.pending.capacity() == 0 {
                self.pending.reserve_exact(want + TAG_LEN);
            }
            data.copy_to(at..at + n, &mut self.pending);
            self.consumed += n as u64;
            at += n;
            if self.pending.len() == want {
                let rec = std::mem::take(&mut self.pending);
                self.emit(RecordBytes::Owned(rec), out);
            }
        }
    }

    /// Accepts file bytes; returns the records completed by them.
    pub fn push<S: Source + ?Sized>(&mut self, data: &S) -> Result<Vec<PlainRecord>, Error> {
        // `consumed` only passes `size` once padding starts, and then no file
        // bytes may follow.
        if self.consumed.saturating_add(data.len() as u64) > self.size {
            return Err(Error::SizeMismatch);
        }
        let mut out = Vec::new();
        self.feed_content(data, &mut out);
        Ok(out)
    }

    /// Bytes of padding still to seal once all file bytes are in.
    #[must_use]
    pub fn padding_left(&self) -> u64 {
        self.layout.padded - self.consumed.max(self.size)
    }

    /// Seals up to `max` bytes of padding (after the last file byte); returns
    /// the completed records. Lets callers spread large padding over several
    /// calls instead of one large `finish`.
    pub fn pad(&mut self, max: usize) -> Result<Vec<PlainRecord>, Error> {
        if self.consumed < self.size {
            return Err(Error::SizeMismatch);
        }
        let n = usize::try_from(self.padding_left())
            .unwrap_or(usize::MAX)
            .min(max);
        let mut out = Vec::new();
        self.feed_content(&Zeros(n), &mut out);
        Ok(out)
    }

    /// Pads what is left and returns the final records.
    pub fn finish(mut self) -> Result<Vec<PlainRecord>, Error> {
        if self.consumed < self.size {
            return Err(Error::SizeMismatch);
        }
        let mut out = Vec::new();
        while self.padding_left() > 0 {
            out.extend(self.pad(1 << 20)?);
        }
        if !self.done {
            // Only an empty file gets here: its one record is empty.
            self.emit(RecordBytes::Owned(Vec::new()), &mut out);
        }
        Ok(out)
    }
}

/// A run of zero bytes (padding) that is never materialised as input.
pub(crate) struct Zeros(pub(crate) usize);

impl Source for Zeros {
    fn len(&self) -> usize {
        self.0
    }
    fn copy_to(&self, range: Range<usize>, out: &mut Vec<u8>) {
        out.resize(out.len() + range.len(), 0);
    }
}

/// Encrypts one file, or a share of several, into a container, streaming.
///
/// ```
/// use veil_core::{Decryptor, Encryptor, Link, Manifest, Metadata, DEFAULT_RECORD_SIZE};
/// let link = Link::generate(None).unwrap();
/// let key = link.unlock(None).unwrap();
/// let file = |name: &str, size| Metadata { name: name.into(), mime: "text/plain".into(), size, report: vec![] };
/// let share = Manifest::share(vec![file("a.txt", 5), file("notes/b.txt", 3)]).unwrap();
/// let mut enc = Encryptor::for_manifest(&key, &share, DEFAULT_RECORD_SIZE).unwrap();
/// let mut out = enc.header().to_vec();
/// out.extend(enc.push(b"hello").unwrap()); // the files' bytes, one after the other
/// out.extend(enc.push(b"bye").unwrap());
/// out.extend(enc.finish().unwrap());
/// assert_eq!(out.len() as u64, veil_core::container_len(&share, DEFAULT_RECORD_SIZE).unwrap());
///
/// let mut dec = Decryptor::new(link.unlock(None).unwrap());
/// let plain = dec.push(&out).unwrap();
/// assert_eq!(plain, b"hellobye");
/// assert_eq!(dec.manifest().unwrap().files()[1].name, "notes/b.txt");
/// assert_eq!(dec.finish().unwrap(), share);
/// ```
pub struct Encryptor {
    cipher: Aes256Gcm,
    framer: Framer,
    prefix: Vec<u8>,
    /// For the WebCrypto path of the page's `send` build.
    #[cfg_attr(not(all(target_arch = "wasm32", feature = "send")), allow(dead_code))]
    content_key: Zeroizing<[u8; 32]>,
}

/// Total container length for `manifest` at `record_size`: what the server
/// will store, known before encrypting (useful for `Upload-Length`).
pub fn container_len(manifest: &Manifest, record_size: u32) -> Result<u64, Error> {
    let layout = Layout::new(manifest.total_size()?, record_size).ok_or(Error::FileTooLarge)?;
    let meta_len = manifest.encode()?.len() + TAG_LEN;
    Ok(HEADER_LEN as u64 + meta_len as u64 + layout.sealed_len())
}

/// The most content bytes a container of at most `max` bytes can hold as
/// one file described by `meta` (its `size` is ignored): what a server's
/// size limit allows the sender, padding and metadata included.
pub fn largest_content(max: u64, meta: &Metadata, record_size: u32) -> u64 {
    let fits = |size: u64| {
        let m = Manifest::file(Metadata {
            size,
            ..meta.clone()
        });
        container_len(&m, record_size).is_ok_and(|n| n <= max)
    };
    // The length grows with the content (padding never shrinks), so the
    // largest size that fits is found by bisection.
    let (mut lo, mut hi) = (0u64, max);
    if !fits(lo) {
        return 0;
    }
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if fits(mid) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    lo
}

/// About the largest file a server limit of `max` container bytes admits:
/// one picture with a short name and report, at the default record size.
/// What a server announces (`largest_file` in its config); a share's exact
/// length is [`container_len`].
pub fn largest_file(max: u64) -> u64 {
    let meta = Metadata {
        name: "photo.jpg".into(),
        mime: "image/jpeg".into(),
        size: 0,
        report: vec!["removed: GPS position, camera, capture time".into()],
    };
    largest_content(max, &meta, crate::format::DEFAULT_RECORD_SIZE)
}

impl Encryptor {
    /// Starts a version 1 container for one file described by `meta` (its
    /// `size` must be exact), with a fresh random salt.
    pub fn new(key: &FileKey, meta: &Metadata, record_size: u32) -> Result<Self, Error> {
        Self::for_manifest(key, &Manifest::file(meta.clone()), record_size)
    }

    /// Starts a container for `manifest` (a lone file or a share), with a
    /// fresh random salt. Push the files' bytes one after the other, in
    /// manifest order.
    pub fn for_manifest(
        key: &FileKey,
        manifest: &Manifest,
        record_size: u32,
    ) -> Result<Self, Error> {
        let mut salt = [0u8; 32];
        random_bytes(&mut salt)?;
        Self::with_salt(key, manifest, record_size, salt)
    }

    /// Like [`Encryptor::new`] with a caller-chosen salt. Only for test vectors.
    #[cfg(feature = "test-vectors")]
    pub fn new_with_salt(
        key: &FileKey,
        meta: &Metadata,
        record_size: u32,
        salt: [u8; 32],
    ) -> Result<Self, Error> {
        Self::with_salt(key, &Manifest::file(meta.clone()), record_size, salt)
    }

    /// Like [`Encryptor::for_manifest`] with a caller-chosen salt. Only for test vectors.
    #[cfg(feature = "test-vectors")]
    pub fn manifest_with_salt(
        key: &FileKey,
        manifest: &Manifest,
        record_size: u32,
        salt: [u8; 32],
    ) -> Result<Self, Error> {
        Self::with_salt(key, manifest, record_size, salt)
    }

    fn with_salt(
        key: &FileKey,
        manifest: &Manifest,
        record_size: u32,
        salt: [u8; 32],
    ) -> Result<Self, Error> {
        if !(MIN_RECORD_SIZE..=MAX_RECORD_SIZE).contains(&record_size) {
            return Err(Error::InvalidRecordSize);
        }
        let size = manifest.total_size()?;
        let layout = Layout::new(size, record_size).ok_or(Error::FileTooLarge)?;
        let mut meta_plain = manifest.encode()?;
        let metadata_len = u32::try_from(meta_plain.len() + TAG_LEN)
            .map_err(|_| Error::MetadataTooLong("report"))?;
        let header = Header {
            version: manifest.version(),
            kdf: key.kdf(),
            record_size,
            salt,
            metadata_len,
        };
        let header_bytes = header.to_bytes();
        let subkeys = key.subkeys(&salt, &header_bytes);
        let meta_cipher = Aes256Gcm::new(&subkeys.metadata.into());
        let mut sealed_meta = std::mem::take(&mut *meta_plain);
        meta_cipher
            .encrypt_in_place(
                &Nonce::from([0u8; NONCE_LEN]),
                &header_bytes,
                &mut sealed_meta,
            )
            .map_err(|_| Error::MetadataTooLong("report"))?;
        let mut prefix = header_bytes.to_vec();
        prefix.extend_from_slice(&sealed_meta);
        Ok(Self {
            cipher: Aes256Gcm::new(&subkeys.content.into()),
            framer: Framer::new(subkeys.nonce_prefix, layout, size),
            prefix,
            content_key: Zeroizing::new(subkeys.content),
        })
    }

    /// The header and sealed metadata: the first bytes of the container.
    #[must_use]
    pub fn header(&self) -> &[u8] {
        &self.prefix
    }

    /// Total container length (header included).
    #[must_use]
    pub fn container_len(&self) -> u64 {
        self.prefix.len() as u64 + self.framer.layout.sealed_len()
    }

    fn seal<S: Source + ?Sized>(
        &self,
        records: Vec<PlainRecord>,
        input: &S,
    ) -> Result<Vec<u8>, Error> {
        seal_records(&self.cipher, records, input)
    }

    /// Encrypts file bytes; returns the ciphertext of the records they completed.
    pub fn push(&mut self, data: &[u8]) -> Result<Vec<u8>, Error> {
        let recs = self.framer.push(data)?;
        self.seal(recs, data)
    }

    /// After the last file byte: seals up to `max` bytes of padding, so a
    /// caller can stream the padding instead of taking it all from `finish`.
    pub fn pad(&mut self, max: usize) -> Result<Vec<u8>, Error> {
        let n = usize::try_from(self.framer.padding_left())
            .unwrap_or(usize::MAX)
            .min(max);
        let recs = self.framer.pad(n)?;
        self.seal(recs, &Zeros(n))
    }

    /// Bytes of padding not yet sealed.
    #[must_use]
    pub fn padding_left(&self) -> u64 {
        self.framer.padding_left()
    }

    /// Seals the rest of the padding and the last record.
    /// Fails if fewer bytes were pushed than the declared size.
    pub fn finish(self) -> Result<Vec<u8>, Error> {
        let recs = self.framer.finish()?;
        // Padding records point into a run of zeros of any length.
        seal_records(&self.cipher, recs, &Zeros(usize::MAX))
    }

    /// The framer and the raw content key, for sealing records elsewhere
    /// (the browser's WebCrypto path produces the identical format).
    #[cfg_attr(not(all(target_arch = "wasm32", feature = "send")), allow(dead_code))]
    pub(crate) fn parts(&mut self) -> (&mut Framer, &[u8; 32]) {
        (&mut self.framer, &self.content_key)
    }

    /// The framer alone, consumed at the end of a WebCrypto-sealed stream.
    #[cfg_attr(not(all(target_arch = "wasm32", feature = "send")), allow(dead_code))]
    pub(crate) fn into_framer(self) -> Framer {
        self.framer
    }
}

/// Decrypts a container, streaming: feed it bytes as they arrive; it returns
/// plaintext as each record verifies. Plaintext from a record is only ever
/// returned after that record's tag checked, but a stream can still be cut
/// short: only a successful [`Decryptor::finish`] proves the file complete.
///
/// Internally, [`Decryptor::push_records`] parses the header, opens the
/// metadata and locates each sealed record; [`Decryptor::push`] then opens
/// the records with the aes-gcm crate. The browser opens the same records
/// with WebCrypto instead.
pub struct Decryptor {
    key: FileKey,
    state: State,
    /// Ciphertext of the unit being assembled (header, metadata or record).
    buf: Vec<u8>,
    /// The content cipher and its raw key, once the metadata has verified.
    content: Option<(Aes256Gcm, Zeroizing<[u8; 32]>)>,
}

enum State {
    Header,
    Metadata(Box<Header>, [u8; HEADER_LEN]),
    Records(Box<Records>),
    /// Every record was located (and, for `push`, opened).
    Done(Box<Manifest>),
    Failed,
}

struct Records {
    nonce_prefix: [u8; 7],
    layout: Layout,
    manifest: Manifest,
    /// The content length (every file's size).
    size: u64,
    next: u32,
    /// The last record wanted: the container's last, unless
    /// [`Decryptor::select`] chose fewer.
    until: u32,
    /// Bytes of header and sealed metadata.
    head_len: u64,
    /// Plaintext bytes already located (data and padding).
    produced: u64,
}

/// One sealed record located in the stream, not yet opened.
pub(crate) struct SealedRecord {
    /// Its nonce.
    pub nonce: [u8; NONCE_LEN],
    /// Its ciphertext followed by the 16-byte tag.
    pub bytes: RecordBytes,
    /// How many plaintext bytes are file data; the rest is padding and must
    /// be zeros.
    pub keep: usize,
}

/// The records [`Decryptor::select`] chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// The container bytes holding them (for an HTTP `Range`).
    pub bytes: Range<u64>,
    /// Where in the content their plaintext starts.
    pub content_start: u64,
}

impl Decryptor {
    /// A decryptor for the file the key was unlocked for.
    #[must_use]
    pub fn new(key: FileKey) -> Self {
        Self {
            key,
            state: State::Header,
            buf: Vec::new(),
            content: None,
        }
    }

    /// What the container holds, once the header and metadata have verified.
    #[must_use]
    pub fn manifest(&self) -> Option<&Manifest> {
        match &self.state {
            State::Records(r) => Some(&r.manifest),
            State::Done(m) => Some(m),
            _ => None,
        }
    }

    /// Whether exactly the header and metadata have been pushed: the
    /// moment [`Decryptor::select`] may be called.
    #[must_use]
    pub fn at_records(&self) -> bool {
        matches!(&self.state, State::Records(r) if r.next == 0 && r.produced == 0)
            && self.buf.is_empty()
    }

    /// Right after the header and metadata (and nothing more) were pushed:
    /// restricts the decryptor to the records holding `content` bytes, so a
    /// recipient can fetch one file or a few (FORMAT.md §4, "Shares").
    /// Push those records next, from the container byte range returned;
    /// the plaintext then starts at the returned content offset, and
    /// `finish` succeeds once the last of them verified.
    pub fn select(&mut self, content: Range<u64>) -> Result<Selection, DecryptError> {
        if !self.at_records() {
            return Err(DecryptError);
        }
        let State::Records(r) = &mut self.state else {
            return Err(DecryptError);
        };
        if content.start > content.end || content.end > r.size {
            return Err(DecryptError);
        }
        let rs = r.layout.record_size;
        let to_index = |at: u64| u32::try_from(at / rs).map(|i| i.min(r.layout.last));
        let first = to_index(content.start).map_err(|_| DecryptError)?;
        let last =
            to_index(content.end.saturating_sub(1).max(content.start)).map_err(|_| DecryptError)?;
        let head = r.head_len;
        let sealed = rs + TAG_LEN as u64;
        let from = head + u64::from(first) * sealed;
        let to = head + u64::from(last) * sealed + r.layout.plain_len(last) + TAG_LEN as u64;
        r.next = first;
        r.until = last;
        r.produced = u64::from(first) * rs;
        Ok(Selection {
            bytes: from..to,
            content_start: r.produced,
        })
    }

    /// Feeds ciphertext; returns the plaintext of the records it completed.
    pub fn push(&mut self, input: &[u8]) -> Result<Vec<u8>, DecryptError> {
        let records = self.push_records(input)?;
        let mut out = Vec::new();
        let opened = match &self.content {
            Some((cipher, _)) => records
                .into_iter()
                .try_for_each(|rec| open_record(cipher, rec, input, &mut out)),
            None if records.is_empty() => Ok(()),
            None => Err(DecryptError),
        };
        opened.inspect_err(|_| {
            self.state = State::Failed;
            out.clear();
        })?;
        Ok(out)
    }

    /// Feeds ciphertext; returns the sealed records it completed, for the
    /// caller to open in order with the key from [`Decryptor::content_key`].
    /// The caller must treat a record that fails to open, or padding that
    /// is not zeros, as the failure of the whole stream: `finish` only knows
    /// that every record was located.
    pub(crate) fn push_records<S: Source + ?Sized>(
        &mut self,
        input: &S,
    ) -> Result<Vec<SealedRecord>, DecryptError> {
        let mut out = Vec::new();
        let len = input.len();
        let mut at = 0;
        loop {
            let need = match &self.state {
                State::Header => HEADER_LEN,
                State::Metadata(h, _) => h.metadata_len as usize,
                State::Records(r) => {
                    usize::try_from(r.layout.plain_len(r.next)).map_err(|_| DecryptError)? + TAG_LEN
                }
                State::Done(_) => {
                    if at == len {
                        return Ok(out);
                    }
                    self.state = State::Failed;
                    return Err(DecryptError);
                }
                State::Failed => return Err(DecryptError),
            };
            if self.buf.is_empty() && len - at >= need {
                if let State::Records(_) = self.state {
                    // A whole record inside the input: located, not copied.
                    self.locate(RecordBytes::Input(at..at + need), &mut out);
                    at += need;
                    continue;
                }
            }
            let take = need.saturating_sub(self.buf.len()).min(len - at);
            input.copy_to(at..at + take, &mut self.buf);
            at += take;
            if self.buf.len() < need {
                return Ok(out);
            }
            let unit = std::mem::take(&mut self.buf);
            if let Err(e) = self.step(unit, &mut out) {
                self.state = State::Failed;
                return Err(e);
            }
        }
    }

    /// The raw content key, once the metadata has verified.
    #[must_use]
    pub fn content_key(&self) -> Option<&[u8; 32]> {
        self.content.as_ref().map(|(_, k)| &**k)
    }

    /// Records one located record and moves past it.
    fn locate(&mut self, bytes: RecordBytes, out: &mut Vec<SealedRecord>) {
        let state = std::mem::replace(&mut self.state, State::Failed);
        let State::Records(mut r) = state else {
            self.state = state;
            return;
        };
        let last = r.next == r.layout.last;
        let plain = r.layout.plain_len(r.next);
        let data_left = r.size.saturating_sub(r.produced);
        out.push(SealedRecord {
            nonce: record_nonce(&r.nonce_prefix, r.next, last),
            bytes,
            keep: usize::try_from(data_left.min(plain)).unwrap_or(usize::MAX),
        });
        r.produced += plain;
        self.state = if r.next == r.until {
            State::Done(Box::new(r.manifest))
        } else {
            r.next += 1;
            State::Records(r)
        };
    }

    /// Handles one complete unit: the header, the metadata, or a record
    /// assembled across pushes.
    fn step(&mut self, unit: Vec<u8>, out: &mut Vec<SealedRecord>) -> Result<(), DecryptError> {
        let state = std::mem::replace(&mut self.state, State::Failed);
        match state {
            State::Header => {
                let header = Header::parse(&unit).map_err(|_| DecryptError)?;
                if header.kdf != self.key.kdf() {
                    return Err(DecryptError);
                }
                let bytes = header.to_bytes();
                self.state = State::Metadata(Box::new(header), bytes);
            }
            State::Metadata(header, bytes) => {
                let keys = self.key.subkeys(&header.salt, &bytes);
                let cipher = Aes256Gcm::new(&keys.metadata.into());
                let mut plain = Zeroizing::new(unit);
                cipher
                    .decrypt_in_place(&Nonce::from([0u8; NONCE_LEN]), &bytes, &mut *plain)
                    .map_err(|_| DecryptError)?;
                let manifest = Manifest::decode(header.version, &plain).ok_or(DecryptError)?;
                let size = manifest.total_size().map_err(|_| DecryptError)?;
                let layout = Layout::new(size, header.record_size).ok_or(DecryptError)?;
                self.content = Some((
                    Aes256Gcm::new(&keys.content.into()),
                    Zeroizing::new(keys.content),
                ));
                self.state = State::Records(Box::new(Records {
                    nonce_prefix: keys.nonce_prefix,
                    until: layout.last,
                    layout,
                    manifest,
                    size,
                    next: 0,
                    head_len: HEADER_LEN as u64 + u64::from(header.metadata_len),
                    produced: 0,
                }));
            }
            State::Records(r) => {
                self.state = State::Records(r);
                self.locate(RecordBytes::Owned(unit), out);
            }
            State::Done(_) | State::Failed => return Err(DecryptError),
        }
        Ok(())
    }

    /// Succeeds only if the whole container (or the records chosen with
    /// [`Decryptor::select`]), through its last record, arrived and
    /// verified, with nothing after it.
    pub fn finish(self) -> Result<Manifest, DecryptError> {
        match self.state {
            State::Done(m) => Ok(*m),
            _ => Err(DecryptError),
        }
    }
}

/// Opens one record with the aes-gcm crate, appending its file bytes to `out`.
fn open_record(
    cipher: &Aes256Gcm,
    rec: SealedRecord,
    input: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), DecryptError> {
    let start = out.len();
    match rec.bytes {
        RecordBytes::Input(range) => input.copy_to(range, out),
        RecordBytes::Owned(v) => out.extend_from_slice(&v),
    }
    let split = out.len().checked_sub(TAG_LEN).ok_or(DecryptError)?;
    let tag = *aes_gcm::Tag::from_slice(out.get(split..).ok_or(DecryptError)?);
    out.truncate(split);
    let body = out.get_mut(start..).ok_or(DecryptError)?;
    cipher
        .decrypt_in_place_detached(&Nonce::from(rec.nonce), &[], body, &tag)
        .map_err(|_| DecryptError)?;
    // Keep the file bytes; check that the padding is zeros.
    let (_, pad) = body.split_at(rec.keep.min(body.len()));
    if pad.iter().any(|&b| b != 0) {
        return Err(DecryptError);
    }
    out.truncate(start + rec.keep.min(split - start));
    Ok(())
}

/// Seals records with the aes-gcm crate: each record's ciphertext then its
/// tag. `input` is what [`RecordBytes::Input`] ranges point into.
fn seal_records<S: Source + ?Sized>(
    cipher: &Aes256Gcm,
    records: Vec<PlainRecord>,
    input: &S,
) -> Result<Vec<u8>, Error> {
    let total: usize = records
        .iter()
        .map(|r| {
            TAG_LEN
                + match &r.bytes {
                    RecordBytes::Input(range) => range.len(),
                    RecordBytes::Owned(v) => v.len(),
                }
        })
        .sum();
    let mut out = Vec::with_capacity(total);
    for rec in records {
        let start = out.len();
        match rec.bytes {
            RecordBytes::Input(range) => input.copy_to(range, &mut out),
            RecordBytes::Owned(v) => out.extend_from_slice(&v),
        }
        let body = out.get_mut(start..).ok_or(Error::Seal)?;
        // aes-gcm only refuses messages over 64 GiB; records are at most 16 MiB.
        let tag = cipher
            .encrypt_in_place_detached(&Nonce::from(rec.nonce), &[], body)
            .map_err(|_| Error::Seal)?;
        out.extend_from_slice(&tag);
    }
    Ok(out)
}
