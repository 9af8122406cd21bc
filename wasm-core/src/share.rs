//! What a container holds: one file (a version 1 container) or a *share*
//! of several files and folders (version 2), and where each file's bytes
//! lie in the decrypted content (FORMAT.md §4, "Shares").
//!
//! A share's files are concatenated in manifest order into one content, so
//! one link, one key, one claim and one download carry them all, and a
//! recipient can fetch the records of one file alone ([`Manifest::span`]).
//! Paths are relative, made safe by the sender ([`share_path`]) and
//! checked again by every decoder, so a saver can join them under a
//! directory as they are.

use std::ops::Range;

use zeroize::Zeroizing;

use crate::error::Error;
use crate::format::{MAX_SHARE_METADATA_LEN, METADATA_BLOCK, VERSION_FILE, VERSION_SHARE};
use crate::metadata::{safe_file_name, Metadata, Reader, MAX_FILE_SIZE, MAX_NAME_LEN};

/// Most files in one share.
pub const MAX_FILES: usize = 65_536;

/// The files of one container, in content order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    version: u8,
    files: Vec<Metadata>,
}

impl Manifest {
    /// One file, as a version 1 container (its `name` is a file name).
    #[must_use]
    pub fn file(meta: Metadata) -> Self {
        Self {
            version: VERSION_FILE,
            files: vec![meta],
        }
    }

    /// A share (version 2) of `files`, whose `name`s are relative paths as
    /// the sender has them. Each path is made safe ([`share_path`]) and
    /// unique (a second `a.jpg` becomes `a (2).jpg`; a file whose path is
    /// another's folder is renamed the same way), so nothing given is lost.
    pub fn share(mut files: Vec<Metadata>) -> Result<Self, Error> {
        if files.is_empty() || files.len() > MAX_FILES {
            return Err(Error::ShareSize);
        }
        // Sorted vectors and binary search rather than hash or tree sets:
        // the page's module stays small, and the work O(n log n).
        let paths: Vec<String> = files.iter().map(|f| share_path(&f.name)).collect();
        let folders = sorted(paths.iter().flat_map(|p| parents(p)).collect());
        let originals = sorted(paths.iter().map(String::as_str).collect());
        // The first file at each path keeps it (unless it is a folder's).
        let mut claimed = vec![false; originals.len()];
        let mut renamed: Vec<String> = Vec::new();
        for (f, path) in files.iter_mut().zip(&paths) {
            let slot = originals
                .binary_search(&path.as_str())
                .ok()
                .and_then(|i| claimed.get_mut(i));
            if let Some(claimed) = slot.filter(|c| !**c) {
                if folders.binary_search(&path.as_str()).is_err() {
                    *claimed = true;
                    f.name = path.clone();
                    continue;
                }
            }
            let free = |p: &str| {
                originals.binary_search(&p).is_err()
                    && folders.binary_search(&p).is_err()
                    && renamed.binary_search_by(|r| r.as_str().cmp(p)).is_err()
            };
            let name = unique(path, |p| !free(p)).ok_or(Error::PathClash)?;
            let at = renamed.partition_point(|r| *r < name);
            renamed.insert(at, name.clone());
            f.name = name;
        }
        let m = Self {
            version: VERSION_SHARE,
            files,
        };
        m.total_size()?;
        Ok(m)
    }

    /// The container version this manifest is written as (1 or 2).
    #[must_use]
    pub fn version(&self) -> u8 {
        self.version
    }

    /// The files, in content order.
    #[must_use]
    pub fn files(&self) -> &[Metadata] {
        &self.files
    }

    /// Whether this is a share (paths) rather than a lone file (a name).
    #[must_use]
    pub fn is_share(&self) -> bool {
        self.version == VERSION_SHARE
    }

    /// The content length: every file's size, summed.
    pub fn total_size(&self) -> Result<u64, Error> {
        self.files
            .iter()
            .try_fold(0u64, |sum, f| sum.checked_add(f.size))
            .filter(|&t| t <= MAX_FILE_SIZE)
            .ok_or(Error::FileTooLarge)
    }

    /// Where file `index` starts in the content.
    #[must_use]
    pub fn offset(&self, index: usize) -> u64 {
        self.files.iter().take(index).map(|f| f.size).sum()
    }

    /// The content bytes of files `first..=last` (one contiguous range).
    #[must_use]
    pub fn content_range(&self, first: usize, last: usize) -> Option<Range<u64>> {
        let last_file = self.files.get(last)?;
        if first > last {
            return None;
        }
        let start = self.offset(first);
        Some(start..self.offset(last) + last_file.size)
    }

    /// The name a recipient saves file `index` under: its path in a share
    /// (already safe), the safe form of its name in a lone file.
    #[must_use]
    pub fn save_path(&self, index: usize) -> Option<String> {
        let f = self.files.get(index)?;
        Some(if self.is_share() {
            f.name.clone()
        } else {
            safe_file_name(&f.name)
        })
    }

    /// Encodes the metadata plaintext for this manifest's version.
    pub fn encode(&self) -> Result<Zeroizing<Vec<u8>>, Error> {
        if !self.is_share() {
            return match self.files.as_slice() {
                [one] => one.encode(),
                _ => Err(Error::ShareSize),
            };
        }
        let mut out = Zeroizing::new(Vec::with_capacity(METADATA_BLOCK));
        let count = u32::try_from(self.files.len()).map_err(|_| Error::ShareSize)?;
        out.extend_from_slice(&count.to_be_bytes());
        for f in &self.files {
            f.write_fields(&mut out)?;
        }
        let padded = share_padded(out.len());
        if padded > MAX_SHARE_METADATA_LEN {
            return Err(Error::MetadataTooLong("share"));
        }
        out.resize(padded, 0);
        Ok(out)
    }

    /// Decodes a container's metadata plaintext for its header `version`;
    /// `None` for anything malformed: bad padding, a path that is not in
    /// safe form, two files at one path, a file where another has a folder.
    #[must_use]
    pub fn decode(version: u8, bytes: &[u8]) -> Option<Self> {
        if version == VERSION_FILE {
            return Metadata::decode(bytes).map(Self::file);
        }
        if version != VERSION_SHARE {
            return None;
        }
        let mut r = Reader(bytes);
        let count = usize::try_from(r.u32()?).ok()?;
        if count == 0 || count > MAX_FILES {
            return None;
        }
        // Each entry takes at least 14 bytes: no allocation beyond the input.
        let mut files = Vec::with_capacity(count.min(bytes.len() / 14));
        for _ in 0..count {
            files.push(Metadata::read_fields(&mut r)?);
        }
        r.padding(bytes.len(), share_padded)?;
        let m = Self { version, files };
        m.total_size().ok()?;
        if m.files
            .iter()
            .any(|f| f.name.is_empty() || share_path(&f.name) != f.name)
        {
            return None;
        }
        // Two files at one path are neighbours once sorted; a file that is
        // another's folder `P` is followed, first thing from `P/` on, by a
        // path that starts with `P/`. O(n log n) whatever the depth.
        let names = sorted(m.files.iter().map(|f| f.name.as_str()).collect());
        if names.len() != m.files.len() {
            return None;
        }
        for name in &names {
            let mut folder = String::with_capacity(name.len() + 1);
            folder.push_str(name);
            folder.push('/');
            let at = names.partition_point(|n| *n < folder.as_str());
            if names
                .get(at)
                .is_some_and(|n| n.starts_with(folder.as_str()))
            {
                return None;
            }
        }
        Some(m)
    }
}

/// One piece of a plaintext chunk that belongs to a chosen file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    /// The file's index in the manifest.
    pub file: usize,
    /// Which bytes of the chunk are its.
    pub range: Range<usize>,
    /// This piece is the file's first (open it).
    pub starts: bool,
    /// This piece is the file's last (it is complete: save it).
    pub ends: bool,
}

/// Cuts the decrypted content (from some content offset on) into the
/// chosen files: the one place that knows how a share's files follow each
/// other. Feed it the length of each plaintext chunk in order; it says
/// which bytes belong to which file, and when each starts and ends. Bytes
/// of files not chosen (a record's share of a neighbour) are skipped.
#[derive(Debug, Clone)]
pub struct Splitter {
    /// Chosen files in content order: (index, content range).
    files: Vec<(usize, Range<u64>)>,
    /// Content offset of the next byte fed.
    at: u64,
    /// Files before this one are complete.
    next: usize,
    /// The file `next` has had its first piece.
    open: bool,
}

impl Splitter {
    /// For files `first..=last` of `manifest`, with plaintext starting at
    /// content offset `content_start` (what [`crate::Decryptor::select`]
    /// returned, or 0 for the whole container).
    #[must_use]
    pub fn new(manifest: &Manifest, first: usize, last: usize, content_start: u64) -> Option<Self> {
        let range = manifest.content_range(first, last)?;
        if content_start > range.start {
            return None;
        }
        let files = (first..=last)
            .filter_map(|i| Some((i, manifest.content_range(i, i)?)))
            .collect();
        Some(Self {
            files,
            at: content_start,
            next: 0,
            open: false,
        })
    }

    /// The pieces of the next `len` plaintext bytes. Call it once more with
    /// 0 after the last chunk, so empty files at the very end are reported.
    pub fn split(&mut self, len: usize) -> Vec<Piece> {
        let start = self.at;
        let end = start.saturating_add(len as u64);
        let mut out = Vec::new();
        while let Some((file, range)) = self.files.get(self.next).cloned() {
            // Not reached yet (an empty file counts once its offset is).
            if range.start > end || (range.start == end && !range.is_empty()) {
                break;
            }
            let from = range.start.max(start);
            let to = range.end.min(end);
            let ends = range.end <= end;
            let to_local = |x: u64| usize::try_from(x - start).unwrap_or(usize::MAX);
            out.push(Piece {
                file,
                range: to_local(from)..to_local(to.max(from)),
                starts: !self.open,
                ends,
            });
            if ends {
                self.next += 1;
                self.open = false;
            } else {
                self.open = true;
                break;
            }
        }
        self.at = end;
        out
    }

    /// Whether every chosen file has ended.
    #[must_use]
    pub fn done(&self) -> bool {
        self.next >= self.files.len()
    }
}

/// A v2 manifest is padded to a power-of-two number of 256-byte blocks, so
/// its length tells the server the number of files only within a factor
/// of two (FORMAT.md §5).
fn share_padded(used: usize) -> usize {
    used.div_ceil(METADATA_BLOCK).max(1).next_power_of_two() * METADATA_BLOCK
}

/// `v` sorted, duplicates dropped.
fn sorted(mut v: Vec<&str>) -> Vec<&str> {
    v.sort_unstable();
    v.dedup();
    v
}

/// The folders `path` is in: `a`, `a/b` for `a/b/c`.
fn parents(path: &str) -> impl Iterator<Item = &str> {
    // `get`, not indexing: no panic path (and its formatting code) in the page's module.
    path.match_indices('/')
        .filter_map(move |(i, _)| path.get(..i))
}

/// The safe form of a sender's relative path, as a share stores it:
/// segments split at `/` or `\`; empty and `.` segments dropped; in each
/// segment control characters and `:` (a Windows drive or stream) become
/// `_` and a leading `.` becomes `_.`
/// (so `..` is `_..`, and no segment is hidden or climbs); joined with `/`;
/// `veil-download` if nothing is left. A path in safe form is its own safe
/// form, which is what decoders check.
#[must_use]
pub fn share_path(raw: &str) -> String {
    let segments: Vec<String> = raw
        .split(['/', '\\'])
        .filter(|s| !s.is_empty() && *s != ".")
        .map(|s| {
            let clean: String = s
                .chars()
                .map(|c| if c.is_control() || c == ':' { '_' } else { c })
                .collect();
            if clean.starts_with('.') {
                let mut out = String::with_capacity(clean.len() + 1);
                out.push('_');
                out.push_str(&clean);
                out
            } else {
                clean
            }
        })
        .collect();
    if segments.is_empty() {
        "veil-download".to_owned()
    } else {
        segments.join("/")
    }
}

/// Most renamings tried for one path (`stem (2)` … `stem (100001)`).
const MAX_RENAMES: u64 = 100_000;

/// `path`, or `stem (2).ext`, `stem (3).ext`, … : the first that `taken`
/// refuses not, the stem shortened (at a character boundary) so that the
/// path stays within [`MAX_NAME_LEN`]. `None` if none is free.
fn unique(path: &str, taken: impl Fn(&str) -> bool) -> Option<String> {
    if !taken(path) {
        return Some(path.to_owned());
    }
    let (dir, base) = path.rsplit_once('/').unwrap_or(("", path));
    let (stem, ext) = match base.rfind('.') {
        Some(i) if i > 0 => base.split_at_checked(i).unwrap_or((base, "")),
        _ => (base, ""),
    };
    let sep = if dir.is_empty() { "" } else { "/" };
    (2..=MAX_RENAMES + 1).find_map(|n| {
        // Built by hand, not with `format!`: the page's module stays free
        // of formatting code.
        let mut suffix = String::from(" (");
        suffix.push_str(&decimal(n));
        suffix.push(')');
        suffix.push_str(ext);
        let room = MAX_NAME_LEN.checked_sub(dir.len() + sep.len() + suffix.len())?;
        let mut cut = stem.len().min(room);
        while !stem.is_char_boundary(cut) {
            cut -= 1;
        }
        let mut candidate = String::with_capacity(MAX_NAME_LEN);
        for part in [dir, sep, stem.get(..cut).unwrap_or_default(), &suffix] {
            candidate.push_str(part);
        }
        (!taken(&candidate)).then_some(candidate)
    })
}

/// `n` in decimal.
fn decimal(mut n: u64) -> String {
    let mut digits = Vec::new();
    loop {
        // n % 10 < 10: always a digit.
        digits.push(char::from(b'0' + (n % 10) as u8));
        n /= 10;
        if n == 0 {
            break;
        }
    }
    digits.iter().rev().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(name: &str, size: u64) -> Metadata {
        Metadata {
            name: name.into(),
            mime: "image/jpeg".into(),
            size,
            report: vec!["removed: GPS position".into()],
        }
    }

    #[test]
    fn paths_are_made_safe() {
        for (raw, safe) in [
            ("photos/a.jpg", "photos/a.jpg"),
            ("/etc/passwd", "etc/passwd"),
            ("../../x", "_../_../x"),
            ("a\\b\\c.txt", "a/b/c.txt"),
            ("./a//b/./c", "a/b/c"),
            ("dir/.ssh/id", "dir/_.ssh/id"),
            ("a\0b\n/c", "a_b_/c"),
            ("C:/x", "C_/x"),
            ("a/C:x", "a/C_x"),
            ("", "veil-download"),
            ("/./", "veil-download"),
        ] {
            assert_eq!(share_path(raw), safe, "{raw:?}");
            assert_eq!(share_path(safe), safe, "idempotent for {safe:?}");
        }
    }

    #[test]
    fn round_trip_offsets_and_ranges() {
        let m = Manifest::share(vec![
            meta("d/a.jpg", 10),
            meta("d/b.jpg", 0),
            meta("c.png", 5),
        ])
        .unwrap();
        let enc = m.encode().unwrap();
        assert_eq!(enc.len(), 256);
        assert_eq!(Manifest::decode(2, &enc), Some(m.clone()));
        assert_eq!(m.total_size(), Ok(15));
        assert_eq!(m.offset(2), 10);
        assert_eq!(m.content_range(1, 2), Some(10..15));
        assert_eq!(m.content_range(2, 1), None);
        assert_eq!(m.content_range(0, 3), None);
        assert_eq!(m.save_path(0).as_deref(), Some("d/a.jpg"));
    }

    #[test]
    fn duplicates_and_folder_clashes_are_renamed() {
        let m = Manifest::share(vec![
            meta("a.jpg", 1),
            meta("x/a.jpg", 1),
            meta("a.jpg", 1),
            meta("x", 1),
            meta(".hidden", 1),
        ])
        .unwrap();
        let names: Vec<_> = m.files().iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            ["a.jpg", "x/a.jpg", "a (2).jpg", "x (2)", "_.hidden"]
        );
        assert!(Manifest::decode(2, &m.encode().unwrap()).is_some());
    }

    #[test]
    fn long_clashing_paths_are_shortened_not_looped_on() {
        let long = "d/".to_owned() + &"é".repeat(511);
        assert_eq!(long.len(), 1024);
        let m = Manifest::share(vec![meta(&long, 1), meta(&long, 1)]).unwrap();
        let second = &m.files()[1].name;
        assert!(
            second.len() <= MAX_NAME_LEN && second.ends_with(" (2)"),
            "{second}"
        );
        assert!(Manifest::decode(2, &m.encode().unwrap()).is_some());
    }

    #[test]
    fn deep_manifests_decode_in_linear_time() {
        // About 16 MiB of ~1 KB paths, 500 folders deep: a hostile manifest.
        let deep = "a/".repeat(500);
        let files: Vec<_> = (0..15_000)
            .map(|i| meta(&format!("{deep}{i}"), 0))
            .collect();
        let m = Manifest {
            version: VERSION_SHARE,
            files,
        };
        let enc = m.encode().unwrap();
        let t = std::time::Instant::now();
        assert!(Manifest::decode(2, &enc).is_some());
        assert!(
            t.elapsed() < std::time::Duration::from_secs(20),
            "{:?}",
            t.elapsed()
        );
    }

    #[test]
    fn decoders_refuse_unsafe_or_clashing_manifests() {
        // Encoded by hand, bypassing `share`'s repairs.
        for names in [
            vec!["../x"],
            vec!["/abs"],
            vec!["a//b"],
            vec![".bashrc"],
            vec!["a\nb"],
            vec![""],
            vec!["a", "a"],
            vec!["a", "a/b"],
            vec!["a/b", "a"],
            vec!["a", "a/b/c"],
            vec!["C:/x"],
        ] {
            let m = Manifest {
                version: VERSION_SHARE,
                files: names.iter().map(|n| meta(n, 1)).collect(),
            };
            assert_eq!(Manifest::decode(2, &m.encode().unwrap()), None, "{names:?}");
        }
    }

    #[test]
    fn padding_is_a_power_of_two_of_blocks_and_unique() {
        let files: Vec<_> = (0..40).map(|i| meta(&format!("p/{i:04}.jpg"), 1)).collect();
        let m = Manifest::share(files).unwrap();
        let enc = m.encode().unwrap();
        // 4 + 40 entries of 57 bytes: 9 blocks, padded to 16.
        assert_eq!(enc.len(), 16 * 256);
        let mut longer = enc.to_vec();
        longer.resize(enc.len() * 2, 0);
        assert_eq!(Manifest::decode(2, &longer), None);
        let mut dirty = enc.to_vec();
        if let Some(b) = dirty.last_mut() {
            *b = 1;
        }
        assert_eq!(Manifest::decode(2, &dirty), None);
        // Count 0 and a count beyond the entries.
        let mut zero = vec![0u8; 256];
        assert_eq!(Manifest::decode(2, &zero), None);
        zero[3] = 9;
        assert_eq!(Manifest::decode(2, &zero), None);
    }

    #[test]
    fn the_splitter_cuts_chunks_into_files() {
        let m =
            Manifest::share(vec![meta("a", 5), meta("b", 0), meta("c", 4), meta("d", 0)]).unwrap();
        // The whole content (9 bytes) in chunks of 3, then the final call.
        let mut s = Splitter::new(&m, 0, 3, 0).unwrap();
        let got: Vec<_> = [3, 3, 3, 0].iter().map(|&n| s.split(n)).collect();
        let p = |file, range: Range<usize>, starts, ends| Piece {
            file,
            range,
            starts,
            ends,
        };
        assert_eq!(got[0], [p(0, 0..3, true, false)]);
        assert_eq!(
            got[1],
            [
                p(0, 0..2, false, true),
                p(1, 2..2, true, true),
                p(2, 2..3, true, false)
            ]
        );
        assert_eq!(got[2], [p(2, 0..3, false, true), p(3, 3..3, true, true)]);
        assert!(got[3].is_empty());
        assert!(s.done());
        // File c alone, from a record that starts at offset 4 (inside a).
        let mut s = Splitter::new(&m, 2, 2, 4).unwrap();
        assert_eq!(s.split(8), [p(2, 1..5, true, true)]);
        assert!(s.done());
        // A start past the files chosen is refused.
        assert!(Splitter::new(&m, 0, 0, 1).is_none());
    }

    #[test]
    fn limits() {
        assert_eq!(Manifest::share(vec![]), Err(Error::ShareSize));
        let big = Manifest::share(vec![meta("a", MAX_FILE_SIZE), meta("b", 1)]);
        assert_eq!(big, Err(Error::FileTooLarge));
        assert_eq!(Manifest::decode(3, &[0; 256]), None);
    }
}
