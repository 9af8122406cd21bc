//! The bindings in a real browser (wasm-bindgen-test): round trips, tampering
//! as exceptions rather than traps, and WebCrypto against aes-gcm byte for byte.
#![allow(clippy::cast_possible_truncation)]

use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use super::decrypt::Decryptor;
use super::encrypt::Encryptor;
use super::files::{sniff_type, strip_metadata};
use super::key::{link_needs_password, new_link, Key};
use super::subtle::subtle;
use crate::format::HEADER_LEN;
use crate::keys::Link;
use crate::metadata::Metadata;
use crate::stream::record_nonce;
use crate::stream::{self, RecordBytes};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Concatenates what the async encryption methods resolve to.
fn u8s(v: JsValue) -> Vec<u8> {
    let parts: Array = v.unchecked_into();
    parts
        .iter()
        .flat_map(|b| Uint8Array::new(&b).to_vec())
        .collect()
}

fn buf(v: JsValue) -> Vec<u8> {
    Uint8Array::new(&v).to_vec()
}

fn native_and_subtle(size: usize, rs: u32) -> (Vec<u8>, Encryptor, Encryptor, String) {
    let fragment = new_link(false).unwrap();
    let key = Key::unlock(&fragment, None).unwrap();
    let meta = Metadata {
        name: "w.bin".into(),
        mime: "x/y".into(),
        size: size as u64,
        report: vec!["XMP".into()],
    };
    let data: Vec<u8> = (0..size).map(|i| (i * 7 % 256) as u8).collect();
    let make = || Encryptor {
        inner: stream::Encryptor::new_with_salt(&key.inner, &meta, rs, [9; 32]).unwrap(),
        subtle_key: None,
        names: vec![meta.name.clone()],
    };
    (data, make(), make(), fragment)
}

#[wasm_bindgen_test]
async fn webcrypto_path_is_byte_identical_and_decrypts() {
    assert!(Encryptor::webcrypto_available());
    for (size, rs) in [
        (0usize, 64u32),
        (1, 64),
        (64, 64),
        (1000, 64),
        (200_000, 65_536),
    ] {
        let (data, mut native, mut subtle, fragment) = native_and_subtle(size, rs);
        let mut a = native.header();
        let mut b = subtle.header();
        for chunk in data.chunks(333) {
            a.extend(native.push(chunk).unwrap());
            let arr = Uint8Array::new_from_slice(chunk);
            b.extend(u8s(JsFuture::from(subtle.push_async(&arr).unwrap())
                .await
                .unwrap()));
        }
        b.extend(u8s(JsFuture::from(subtle.pad_async(5).unwrap())
            .await
            .unwrap()));
        a.extend(native.finish().unwrap());
        b.extend(u8s(JsFuture::from(subtle.finish_async().unwrap())
            .await
            .unwrap()));
        assert_eq!(a.len(), b.len(), "length, size {size}");
        assert_eq!(a, b, "size {size}");

        let mut dec = Decryptor::new(Key::unlock(&fragment, None).unwrap());
        let mut plain = Vec::new();
        for chunk in b.chunks(1000) {
            plain.extend(dec.push(chunk).unwrap());
        }
        dec.finish().unwrap();
        assert_eq!(plain, data);
    }
}

/// Decrypts `sealed` through `pushAsync` in `chunk`-byte pieces, all
/// calls made before any is awaited (as the download worker overlaps
/// them), then `finish`.
async fn open_async(
    fragment: &str,
    sealed: &[u8],
    chunk: usize,
) -> (Vec<u8>, Result<JsValue, JsError>) {
    let mut dec = Decryptor::new(Key::unlock(fragment, None).unwrap());
    let mut pending = Vec::new();
    for piece in sealed.chunks(chunk) {
        match dec.push_async(&Uint8Array::new_from_slice(piece)) {
            Ok(p) => pending.push(p),
            Err(e) => return (Vec::new(), Err(e)),
        }
    }
    let mut plain = Vec::new();
    let mut rejected = false;
    for p in pending {
        match JsFuture::from(p).await {
            Ok(v) => plain.extend(u8s(v)),
            Err(_) => rejected = true,
        }
    }
    let finished = dec.finish();
    assert!(
        !rejected || finished.is_err(),
        "finish after a rejected record"
    );
    (plain, finished)
}

#[wasm_bindgen_test]
async fn webcrypto_decryption_matches_and_fails_closed() {
    for (size, rs, chunk) in [
        (0usize, 64u32, 7usize),
        (1000, 64, 333),
        (1000, 64, 100_000),
        (200_000, 65_536, 8_191),
        (200_000, 16, 65_536),
    ] {
        let (data, mut native, _, fragment) = native_and_subtle(size, rs);
        let mut sealed = native.header();
        sealed.extend(native.push(&data).unwrap());
        sealed.extend(native.finish().unwrap());
        let (plain, finished) = open_async(&fragment, &sealed, chunk).await;
        let meta = finished.unwrap_or_else(|_| panic!("size {size} chunk {chunk}"));
        assert_eq!(plain, data, "size {size} chunk {chunk}");
        let files = Array::from(&Reflect::get(&meta, &"files".into()).unwrap());
        let name = Reflect::get(&files.get(0), &"name".into()).unwrap();
        assert_eq!(name.as_string().as_deref(), Some("w.bin"));

        // A flipped bit in the last byte (a record's tag), a cut stream,
        // an appended byte: never a successful finish.
        let mut flipped = sealed.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(open_async(&fragment, &flipped, chunk).await.1.is_err());
        assert!(open_async(&fragment, &sealed[..sealed.len() - 1], chunk)
            .await
            .1
            .is_err());
        let mut longer = sealed.clone();
        longer.push(0);
        assert!(open_async(&fragment, &longer, chunk).await.1.is_err());
    }
}

/// Padding that is not zeros, sealed with the right key, is refused by
/// both paths (it could otherwise carry hidden data).
#[wasm_bindgen_test]
async fn webcrypto_decryption_refuses_nonzero_padding() {
    use aes_gcm::aead::{AeadInPlace, KeyInit};
    // 1000 bytes pad to 1024: the last 256-byte record ends in 24 padding bytes.
    let (data, native, _, fragment) = native_and_subtle(1000, 256);
    let mut sealed = native.header();
    let mut enc = native.inner;
    let cipher = aes_gcm::Aes256Gcm::new(&(*enc.parts().1).into());
    let mut framer = enc.into_framer();
    let mut recs = framer.push(&data[..]).unwrap();
    recs.extend(framer.finish().unwrap());
    for rec in recs {
        let mut plain = match rec.bytes {
            RecordBytes::Input(r) => data[r].to_vec(),
            RecordBytes::Owned(v) => v,
        };
        if rec.nonce[11] == 1 {
            *plain.last_mut().unwrap() = 1;
        }
        cipher
            .encrypt_in_place(&rec.nonce.into(), &[], &mut plain)
            .unwrap();
        sealed.extend(plain);
    }
    assert_eq!(
        sealed.len() as f64,
        native_and_subtle(1000, 256).1.container_length()
    );
    assert!(open_async(&fragment, &sealed, 4096).await.1.is_err());
    let mut dec = Decryptor::new(Key::unlock(&fragment, None).unwrap());
    assert!(dec.push(&sealed).is_err());
}

/// A record sealed by the module opens with the browser's own AES-GCM,
/// given the derived key and nonce: the format is standard AES-GCM.
#[wasm_bindgen_test]
async fn webcrypto_opens_a_record_sealed_in_wasm() {
    let (data, mut native, _, fragment) = native_and_subtle(100, 64);
    let mut sealed = native.header();
    sealed.extend(native.push(&data).unwrap());
    sealed.extend(native.finish().unwrap());
    let header: [u8; HEADER_LEN] = sealed[..HEADER_LEN].try_into().unwrap();
    let key = Link::parse_fragment(&fragment)
        .unwrap()
        .unlock(None)
        .unwrap();
    let (content, _, prefix) = key.subkeys_for_vectors(&header);
    let meta_len = u32::from_be_bytes(header[56..60].try_into().unwrap()) as usize;
    // 100 bytes pad to 104: record 0 is 64 bytes, record 1 (last) is 40.
    let rec0 = &sealed[HEADER_LEN + meta_len..HEADER_LEN + meta_len + 64 + 16];
    let subtle = subtle().unwrap();
    let algo = Object::new();
    Reflect::set(&algo, &"name".into(), &"AES-GCM".into()).unwrap();
    let usages = Array::of1(&"decrypt".into());
    let k = subtle
        .import_key_with_object(
            "raw",
            &Uint8Array::new_from_slice(&content[..]),
            &algo,
            false,
            &usages,
        )
        .unwrap();
    let k: web_sys::CryptoKey = JsFuture::from(k).await.unwrap().unchecked_into();
    let open = |last: bool| {
        let params = Object::new();
        Reflect::set(&params, &"name".into(), &"AES-GCM".into()).unwrap();
        let nonce = record_nonce(&prefix, 0, last);
        Reflect::set(
            &params,
            &"iv".into(),
            &Uint8Array::new_from_slice(&nonce[..]).into(),
        )
        .unwrap();
        JsFuture::from(
            subtle
                .decrypt_with_object_and_u8_array(&params, &k, rec0)
                .unwrap(),
        )
    };
    let plain = buf(open(false).await.unwrap());
    assert_eq!(plain, data[..64]);
    // The same record with the last-record flag set must not open.
    assert!(open(true).await.is_err());
}

#[wasm_bindgen_test]
fn tampering_and_bad_input_throw_instead_of_trapping() {
    let (data, mut native, _, fragment) = native_and_subtle(500, 64);
    let mut sealed = native.header();
    sealed.extend(native.push(&data).unwrap());
    sealed.extend(native.finish().unwrap());
    for at in [0, 5, 59, 70, sealed.len() / 2, sealed.len() - 1] {
        let mut bad = sealed.clone();
        bad[at] ^= 0x40;
        let mut dec = Decryptor::new(Key::unlock(&fragment, None).unwrap());
        let pushed = dec.push(&bad);
        assert!(pushed.is_err() || dec.finish().is_err(), "flip at {at}");
    }
    let mut dec = Decryptor::new(Key::unlock(&fragment, None).unwrap());
    dec.push(&sealed[..sealed.len() - 1]).unwrap();
    assert!(dec.finish().is_err(), "truncated");
    assert!(Key::unlock("not a link", None).is_err());
    assert!(Key::unlock(&fragment, Some("pw".into())).is_err());
    assert!(link_needs_password(&new_link(true).unwrap()).unwrap());
    let key = Key::unlock(&fragment, None).unwrap();
    assert!(Encryptor::new(&key, "n", "t", -1.0, vec![], None).is_err());
    assert!(Encryptor::new(&key, "n", "t", 0.5, vec![], None).is_err());
    assert!(Encryptor::new(&key, "n", "t", 1.0, vec![], Some(3)).is_err());
}

#[wasm_bindgen_test]
fn strip_from_js_cleans_and_reports_and_never_traps() {
    // A tiny JPEG: SOI, a COM segment, a frame header, a scan, EOI.
    let jpeg = [
        0xFF, 0xD8, 0xFF, 0xFE, 0, 5, b'h', b'i', b'!', 0xFF, 0xC0, 0, 2, 0xFF, 0xDA, 0, 2, 1, 2,
        3, 0xFF, 0xD9,
    ];
    let r = strip_metadata(&jpeg, Some("image/jpeg".into())).unwrap();
    let get = |k: &str| Reflect::get(&r, &k.into()).unwrap();
    assert_eq!(get("format").as_string().as_deref(), Some("JPEG"));
    assert_eq!(get("type").as_string().as_deref(), Some("image/jpeg"));
    let removed: Array = get("removed").unchecked_into();
    assert_eq!(removed.get(0).as_string().as_deref(), Some("comment"));
    assert_eq!(
        buf(Uint8Array::new(&get("data")).buffer().into()).len(),
        jpeg.len() - 7
    );
    // Truncated or hostile inputs throw instead of trapping.
    for cut in 0..jpeg.len() {
        let _ = strip_metadata(&jpeg[..cut], Some("image/jpeg".into()));
    }
    assert!(strip_metadata(b"not really", Some("image/png".into())).is_err());
    let text = strip_metadata(b"hello", Some("text/plain".into())).unwrap();
    assert_eq!(
        Reflect::get(&text, &"changed".into()).unwrap().as_bool(),
        Some(false)
    );
    assert_eq!(sniff_type(&jpeg).as_deref(), Some("image/jpeg"));
}

#[wasm_bindgen_test]
fn password_links_round_trip_in_the_browser() {
    let fragment = new_link(true).unwrap();
    let key = Key::unlock(&fragment, Some("hunter2".into())).unwrap();
    let mut enc = Encryptor::new(&key, "p.txt", "text/plain", 3.0, vec![], None).unwrap();
    let mut sealed = enc.header();
    sealed.extend(enc.push(b"abc").unwrap());
    sealed.extend(enc.finish().unwrap());
    let wrong = Key::unlock(&fragment, Some("hunter3".into())).unwrap();
    assert_ne!(wrong.proof_hash(), key.proof_hash());
    assert!(Decryptor::new(wrong).push(&sealed).is_err());
    let mut dec = Decryptor::new(Key::unlock(&fragment, Some("hunter2".into())).unwrap());
    assert_eq!(dec.push(&sealed).unwrap(), b"abc");
    assert!(dec.finish().is_ok());
}

#[wasm_bindgen_test]
async fn a_share_decrypts_whole_and_one_file_alone_through_the_bindings() {
    let fragment = new_link(false).unwrap();
    let key = Key::unlock(&fragment, None).unwrap();
    let bodies: Vec<Vec<u8>> = [70_000usize, 0, 5]
        .iter()
        .enumerate()
        .map(|(i, &n)| (0..n).map(|j| (i + j * 3) as u8).collect())
        .collect();
    let files: Vec<JsValue> = bodies
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let o = Object::new();
            let _ = Reflect::set(&o, &"name".into(), &format!("d/../f{i}").into());
            let _ = Reflect::set(&o, &"type".into(), &"x/y".into());
            let _ = Reflect::set(&o, &"size".into(), &(b.len() as f64).into());
            let _ = Reflect::set(&o, &"report".into(), &Array::new().into());
            o.into()
        })
        .collect();
    let mut enc = Encryptor::share(&key, files, Some(1024)).unwrap();
    let enc_names = enc.names();
    let mut sealed = enc.header();
    for b in &bodies {
        sealed.extend(u8s(JsFuture::from(
            enc.push_async(&Uint8Array::new_from_slice(b)).unwrap(),
        )
        .await
        .unwrap()));
    }
    sealed.extend(u8s(JsFuture::from(enc.finish_async().unwrap())
        .await
        .unwrap()));
    let head = HEADER_LEN + u32::from_be_bytes(sealed[56..60].try_into().unwrap()) as usize;

    // The manifest: safe paths, offsets.
    let mut dec = Decryptor::new(Key::unlock(&fragment, None).unwrap());
    assert!(dec.push(&sealed[..head]).unwrap().is_empty());
    let manifest = dec.manifest();
    let files = Array::from(&Reflect::get(&manifest, &"files".into()).unwrap());
    let names: Vec<String> = files
        .iter()
        .map(|f| {
            Reflect::get(&f, &"name".into())
                .unwrap()
                .as_string()
                .unwrap()
        })
        .collect();
    assert_eq!(names, ["d/_../f0", "d/_../f1", "d/_../f2"]);
    // The sender is told the same names.
    assert_eq!(enc_names, names);

    // File 2 alone, cut out by the splitter.
    let sel = dec.select(2, 2).unwrap();
    let num = |k: &str| Reflect::get(&sel, &k.into()).unwrap().as_f64().unwrap() as usize;
    let plain = buf(Array::from(
        &JsFuture::from(
            dec.push_async(&Uint8Array::new_from_slice(&sealed[num("from")..num("to")]))
                .unwrap(),
        )
        .await
        .unwrap(),
    )
    .get(0));
    let mut split = dec.splitter(2, 2, num("contentStart") as f64).unwrap();
    let pieces = split.split(plain.len());
    assert_eq!(pieces.len(), 4);
    let (start, end) = (pieces[1] as usize, pieces[2] as usize);
    assert_eq!(&plain[start..end], &bodies[2][..]);
    assert_eq!(pieces[3], 3.0, "first and last piece of file 2");
    assert!(split.done());
    assert!(dec.finish().is_ok());
}
