//! ZIP archives as Office and OpenDocument files use them: read from the
//! central directory, written back with nothing of the writer's own.
//!
//! Reading trusts the central directory (the index every reader uses) and
//! checks each entry's local header against it: the same name, data inside
//! the file, no two entries with one name, no encryption, no ZIP64, no
//! archive split over disks; methods stored (0) and deflate (8) only.
//!
//! Writing keeps each kept entry's compressed bytes as they were (so a
//! content part is byte-identical) but not the archive's own metadata:
//! every entry gets the same time stamp (1980-01-01 00:00, the format's
//! zero), no extra fields (the UNIX owner ids, the exact times, the
//! writer's padding), no comments, no file attributes.

use miniz_oxide::inflate::decompress_to_vec_with_limit;

use super::{read, StripError};

/// One entry of an archive being read.
pub(crate) struct Entry<'a> {
    pub(crate) name: &'a [u8],
    pub(crate) method: u16,
    pub(crate) crc: u32,
    pub(crate) size: u32,
    pub(crate) compressed: &'a [u8],
}

/// One entry to write: compressed bytes and what describes them.
pub(crate) struct Out<'a> {
    pub(crate) name: &'a [u8],
    pub(crate) method: u16,
    pub(crate) crc: u32,
    pub(crate) size: u32,
    pub(crate) compressed: std::borrow::Cow<'a, [u8]>,
}

const LOCAL: [u8; 4] = *b"PK\x03\x04";
const CENTRAL: [u8; 4] = *b"PK\x01\x02";
const END: [u8; 4] = *b"PK\x05\x06";
const MAX_ENTRIES: usize = 65_535;
/// The largest part inflated to be rewritten (XML metadata parts are small).
pub(crate) const MAX_INFLATED: usize = 64 << 20;

/// The entries of an archive, in central-directory order.
pub(crate) fn entries(
    data: &[u8],
    err: fn(&'static str) -> StripError,
) -> Result<Vec<Entry<'_>>, StripError> {
    // The end record is in the last 22 + 65535 bytes (its comment).
    let tail_start = data.len().saturating_sub(22 + 65_535);
    let tail = data.get(tail_start..).unwrap_or_default();
    let at = tail
        .windows(4)
        .rposition(|w| w == END)
        .map(|p| p + tail_start)
        .ok_or_else(|| err("has no ZIP directory"))?;
    let cut = || err("has a cut ZIP directory");
    let disk = read::le16(data, at + 4).ok_or_else(cut)?;
    let cd_disk = read::le16(data, at + 6).ok_or_else(cut)?;
    let count = usize::from(read::le16(data, at + 10).ok_or_else(cut)?);
    let cd_size = read::le32(data, at + 12).ok_or_else(cut)? as usize;
    let cd_at = read::le32(data, at + 16).ok_or_else(cut)? as usize;
    if disk != 0 || cd_disk != 0 {
        return Err(err("is an archive split over several disks"));
    }
    if count == 0xFFFF || cd_at == 0xFFFF_FFFF || cd_size == 0xFFFF_FFFF {
        return Err(err("uses ZIP64, which Veil does not rewrite"));
    }
    let mut out = Vec::with_capacity(count.min(MAX_ENTRIES));
    let mut p = cd_at;
    for _ in 0..count {
        if read::arr::<4>(data, p) != Some(CENTRAL) {
            return Err(err("has a damaged ZIP directory"));
        }
        let flags = read::le16(data, p + 8).ok_or_else(cut)?;
        let method = read::le16(data, p + 10).ok_or_else(cut)?;
        let crc = read::le32(data, p + 16).ok_or_else(cut)?;
        let csize = read::le32(data, p + 20).ok_or_else(cut)? as usize;
        let size = read::le32(data, p + 24).ok_or_else(cut)?;
        let nlen = usize::from(read::le16(data, p + 28).ok_or_else(cut)?);
        let xlen = usize::from(read::le16(data, p + 30).ok_or_else(cut)?);
        let clen = usize::from(read::le16(data, p + 32).ok_or_else(cut)?);
        let local = read::le32(data, p + 42).ok_or_else(cut)? as usize;
        let name = data.get(p + 46..p + 46 + nlen).ok_or_else(cut)?;
        p += 46 + nlen + xlen + clen;
        if flags & 0x0041 != 0 {
            return Err(err("is encrypted"));
        }
        if method != 0 && method != 8 {
            return Err(err("uses a compression method other than deflate"));
        }
        if local == 0xFFFF_FFFF || csize == 0xFFFF_FFFF {
            return Err(err("uses ZIP64, which Veil does not rewrite"));
        }
        if read::arr::<4>(data, local) != Some(LOCAL) {
            return Err(err("has an entry whose header is missing"));
        }
        let lnlen = usize::from(read::le16(data, local + 26).ok_or_else(cut)?);
        let lxlen = usize::from(read::le16(data, local + 28).ok_or_else(cut)?);
        if data.get(local + 30..local + 30 + lnlen) != Some(name) {
            return Err(err(
                "names an entry differently in its header and directory",
            ));
        }
        let start = local + 30 + lnlen + lxlen;
        let compressed = data
            .get(start..start.saturating_add(csize))
            .ok_or_else(|| err("has an entry that runs past its end"))?;
        if out.iter().any(|e: &Entry<'_>| e.name == name) {
            return Err(err("has two entries with one name"));
        }
        out.push(Entry {
            name,
            method,
            crc,
            size,
            compressed,
        });
    }
    Ok(out)
}

/// The entry's bytes, inflated and checked against its CRC.
pub(crate) fn inflate(
    e: &Entry<'_>,
    err: fn(&'static str) -> StripError,
) -> Result<Vec<u8>, StripError> {
    let bytes = match e.method {
        0 => e.compressed.to_vec(),
        _ => decompress_to_vec_with_limit(e.compressed, MAX_INFLATED)
            .map_err(|_| err("has an entry that does not inflate"))?,
    };
    if bytes.len() != e.size as usize || super::png::crc32(&bytes) != e.crc {
        return Err(err("has an entry whose checksum does not match"));
    }
    Ok(bytes)
}

/// A new entry holding `bytes`, deflated.
pub(crate) fn deflated<'a>(
    name: &'a [u8],
    bytes: &[u8],
    err: fn(&'static str) -> StripError,
) -> Result<Out<'a>, StripError> {
    let size = u32::try_from(bytes.len()).map_err(|_| err("has an entry too large to rewrite"))?;
    Ok(Out {
        name,
        method: 8,
        crc: super::png::crc32(bytes),
        size,
        compressed: std::borrow::Cow::Owned(miniz_oxide::deflate::compress_to_vec(bytes, 6)),
    })
}

/// Writes an archive of `entries`, in order.
pub(crate) fn write(
    entries: &[Out<'_>],
    err: fn(&'static str) -> StripError,
) -> Result<Vec<u8>, StripError> {
    let too_large = || err("is too large to rewrite");
    let u16_of = |n: usize| u16::try_from(n).map_err(|_| too_large());
    let u32_of = |n: usize| u32::try_from(n).map_err(|_| too_large());
    let mut out = Vec::new();
    let mut central = Vec::new();
    for e in entries {
        let offset = u32_of(out.len())?;
        // Bit 11: the name is UTF-8 (it is kept as the writer gave it).
        let flags: u16 = if e.name.is_ascii() { 0 } else { 0x0800 };
        let common = |buf: &mut Vec<u8>| -> Result<(), StripError> {
            buf.extend_from_slice(&20u16.to_le_bytes()); // version needed: 2.0
            buf.extend_from_slice(&flags.to_le_bytes());
            buf.extend_from_slice(&e.method.to_le_bytes());
            buf.extend_from_slice(&0u16.to_le_bytes()); // time 00:00
            buf.extend_from_slice(&0x21u16.to_le_bytes()); // date 1980-01-01
            buf.extend_from_slice(&e.crc.to_le_bytes());
            buf.extend_from_slice(&u32_of(e.compressed.len())?.to_le_bytes());
            buf.extend_from_slice(&e.size.to_le_bytes());
            buf.extend_from_slice(&u16_of(e.name.len())?.to_le_bytes());
            buf.extend_from_slice(&0u16.to_le_bytes()); // no extra field
            Ok(())
        };
        out.extend_from_slice(&LOCAL);
        common(&mut out)?;
        out.extend_from_slice(e.name);
        out.extend_from_slice(&e.compressed);
        central.extend_from_slice(&CENTRAL);
        central.extend_from_slice(&20u16.to_le_bytes()); // made by: MS-DOS, 2.0
        common(&mut central)?;
        central.extend_from_slice(&[0; 10]); // comment length, disk, internal and external attributes
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(e.name);
    }
    let cd_at = u32_of(out.len())?;
    let count = u16_of(entries.len())?;
    out.extend_from_slice(&central);
    out.extend_from_slice(&END);
    out.extend_from_slice(&[0; 4]); // this disk, the directory's disk
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&u32_of(central.len())?.to_le_bytes());
    out.extend_from_slice(&cd_at.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes()); // no comment
    Ok(out)
}
