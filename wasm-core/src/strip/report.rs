//! What the stripper found and removed, in words a person can check before
//! sending ("GPS position", "camera: NIKON D5000", "thumbnail").

/// The outcome of stripping one file, shown to the sender and sealed into
/// the container's metadata.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Report {
    /// The detected format, e.g. `JPEG`; `None` for files that are not media.
    pub format: Option<&'static str>,
    /// What was removed, in order of discovery, without duplicates.
    pub removed: Vec<String>,
    /// What was deliberately kept because display needs it.
    pub kept: Vec<String>,
}

impl Report {
    pub(crate) fn new(format: &'static str) -> Self {
        Self {
            format: Some(format),
            ..Self::default()
        }
    }

    /// Records a removed item once.
    pub(crate) fn removed(&mut self, item: impl Into<String>) {
        let item = item.into();
        if !self.removed.contains(&item) {
            self.removed.push(item);
        }
    }

    /// Records a kept item once.
    pub(crate) fn kept(&mut self, item: impl Into<String>) {
        let item = item.into();
        if !self.kept.contains(&item) {
            self.kept.push(item);
        }
    }

    /// One line per item, as sealed into the container metadata:
    /// `removed: GPS position`, `kept: colour profile`, or for other files
    /// `not an image: sent as is`.
    #[must_use]
    pub fn lines(&self) -> Vec<String> {
        if self.format.is_none() {
            return crate::prepare::as_is_report(crate::prepare::Kind::Other, None);
        }
        self.removed
            .iter()
            .map(|r| format!("removed: {r}"))
            .chain(self.kept.iter().map(|k| format!("kept: {k}")))
            .collect()
    }
}

/// A byte count for people: `512 bytes`, `4.1 KB`, `3.2 MB` (rounded
/// down). Integer arithmetic only: float formatting would add ~15 KB to the wasm.
pub(crate) fn human_bytes(n: usize) -> String {
    let (unit, div) = match n {
        0..=999 => return format!("{n} bytes"),
        1_000..=999_999 => ("KB", 1_000),
        _ => ("MB", 1_000_000),
    };
    format!("{}.{} {unit}", n / div, (n % div) / (div / 10))
}

#[cfg(test)]
mod tests {
    #[test]
    fn human_bytes_reads_naturally() {
        assert_eq!(super::human_bytes(512), "512 bytes");
        assert_eq!(super::human_bytes(4_150), "4.1 KB");
        assert_eq!(super::human_bytes(61_644), "61.6 KB");
        assert_eq!(super::human_bytes(3_250_000), "3.2 MB");
    }
}
