//! The independent judge of what metadata is left in a file: exiftool's
//! tags (`-G1`), and the rule for which of them would betray the sender,
//! shared by the picture/video corpus test and the document/audio one.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code, missing_docs)]

use serde_json::{Map, Value};
use std::path::Path;
use std::process::Command;

pub fn exiftool(path: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("exiftool")
        .args(args)
        .arg(path)
        .output()
        .expect("exiftool is installed by make setup");
    out.stdout
}

pub fn tags(path: &Path) -> Map<String, Value> {
    let json = exiftool(path, &["-j", "-a", "-G1", "-ee"]);
    let v: Vec<Map<String, Value>> = serde_json::from_slice(&json).unwrap();
    v.into_iter().next().unwrap()
}

/// Tags that would betray the photographer, as `Group:Name` keys of
/// `exiftool -G1 -j`: anything in a metadata group, and anything whose name
/// names something personal, wherever it sits.
pub fn sensitive(tags: &Map<String, Value>) -> Vec<String> {
    const GROUPS: &[&str] = &[
        "XMP",
        "IPTC",
        "ExifIFD",
        "GPS",
        "IFD1",
        "MakerNotes",
        "Photoshop",
        "Apple",
        "Canon",
        "Nikon",
        "Olympus",
        "Sony",
        "Samsung",
        "UserData",
        "Keys",
        "ItemList",
        "Trailer",
        "MPImage",
        "FlashPix",
        "PrintIM",
        "ID3",
        "APE",
        "Lyrics3",
        "iTunes",
        "SVG-",
    ];
    const WORDS: &[&str] = &[
        "GPS",
        "Make",
        "Model",
        "Serial",
        "Lens",
        "Owner",
        "Date",
        "Time",
        "Comment",
        "Thumbnail",
        "Preview",
        "MakerNote",
        "Software",
        "Artist",
        "Copyright",
        "Trailer",
        "Description",
        "Location",
        "DocumentID",
        "InstanceID",
        "UniqueID",
        "Creator",
        "History",
        "Author",
        "Title",
        "Keywords",
        "Host",
        "Warning",
        "Album",
        "Genre",
        "Lyrics",
        "Composer",
        "Encoder",
        "Vendor",
        "Picture",
        "Label",
        "Publisher",
        "Company",
        "Manager",
        "ISRC",
        "MusicBrainz",
        "Product",
        "Engineer",
    ];
    let mut bad = Vec::new();
    for (key, value) in tags {
        let (group, name) = key.split_once(':').unwrap_or(("", key));
        if group.starts_with("ICC")
            || matches!(group, "System" | "ExifTool" | "") && name != "Warning"
        {
            continue; // The colour profile is kept on purpose; System is the file system's.
        }
        let text = value.to_string();
        // Zeroed video timestamps read back as 0000:00:00.
        let zero_date = text.contains("0000:00:00 00:00:00")
            // ZIP's zero: every entry's time in a cleaned package.
            || group == "ZIP" && text.contains("1980:01:01 00:00:00");
        // A zeroed XMP item in HEIF/AVIF reads back as "Invalid XMP".
        let zeroed_xmp = name == "Warning" && text.contains("Invalid XMP");
        let hit =
            GROUPS.iter().any(|g| group.starts_with(g)) || WORDS.iter().any(|w| name.contains(w));
        // An empty value (Ogg's emptied vendor string) says nothing.
        let empty = text == "\"\"";
        if hit && !zero_date && !zeroed_xmp && !empty && !harmless(name) && !kept(group, name) {
            bad.push(format!("{key} = {text}"));
        }
    }
    bad
}

/// Structural tags whose names contain a watched word but carry nothing personal.
/// Kept on purpose because playback needs it, said in the report:
/// - MP3's LAME header names the encoder's version, and players read the
///   encoder delay and padding after it only when it begins with `LAME`
///   (`MPEG:Encoder`);
/// - iTunes' `iTunSMPB` holds the same delay and padding for AAC; without
///   it the decoded samples differ (`iTunes:iTunSMPB`).
fn kept(group: &str, name: &str) -> bool {
    matches!((group, name), ("MPEG", "Encoder") | ("iTunes", "iTunSMPB"))
}

fn harmless(name: &str) -> bool {
    matches!(
        name,
        "FileModifyDate"
            | "FileAccessDate"
            | "FileInodeChangeDate"
            | "ExifToolVersion"
            | "TimeScale"
            | "MediaTimeScale"
            | "PreviewTime"
            | "PreviewDuration"
            | "PosterTime"
            | "SelectionTime"
            | "SelectionDuration"
            | "CurrentTime"
            | "NextTrackID"
            | "TrackDuration"
            | "MediaDuration"
            | "Duration"
            | "HandlerDescription"
            | "ColorTransform"
            | "DCTEncodeVersion"
            | "TimeCode"
            | "SampleTime"
            | "SampleDuration"
            | "ProductionApertureDimensions"
            | "CopyrightFlag"
    )
}
