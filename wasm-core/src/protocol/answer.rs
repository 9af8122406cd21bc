//! What the server's answer to a download request means, for every client:
//! one classification, one set of outcomes (docs/API.md, "GET").

/// The meaning of the status of `GET /api/v1/blobs/{id}` (and of the look
/// at its head, `…/head`, which answers the same way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DownloadAnswer {
    /// `200` (or `206` for one range of it): the ciphertext follows.
    Granted,
    /// `404`: expired, used up, deleted or never existed (indistinguishable).
    Gone,
    /// `410`: the operator removed it after a report.
    Removed,
    /// `403` for a password link: the password is wrong; nothing was consumed.
    WrongPassword,
    /// `403` for a link without a password: the link is incomplete or wrong.
    WrongLink,
    /// `429` with `Veil-Work-Bits`: solve [`crate::work`] and ask again.
    WorkRequired(u8),
    /// `429` without work, or `503`: busy; nothing was consumed.
    Busy,
    /// Anything else: a server or network failure.
    Failed(u16),
}

impl DownloadAnswer {
    /// Classifies `status`; `password` says whether the link needs one,
    /// `work_bits` is the `Veil-Work-Bits` header if present.
    #[must_use]
    pub fn classify(status: u16, password: bool, work_bits: Option<&str>) -> Self {
        match status {
            200 | 206 => Self::Granted,
            404 => Self::Gone,
            410 => Self::Removed,
            403 if password => Self::WrongPassword,
            403 => Self::WrongLink,
            429 => match work_bits.and_then(|b| {
                b.trim_matches(|c: char| c.is_ascii_whitespace())
                    .parse()
                    .ok()
            }) {
                Some(bits) => Self::WorkRequired(bits),
                None => Self::Busy,
            },
            503 => Self::Busy,
            other => Self::Failed(other),
        }
    }

    /// A stable name for the page's messages (`granted`, `gone`, `removed`, `password`,
    /// `link`, `work`, `busy`, `failed`).
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::Granted => "granted",
            Self::Gone => "gone",
            Self::Removed => "removed",
            Self::WrongPassword => "password",
            Self::WrongLink => "link",
            Self::WorkRequired(_) => "work",
            Self::Busy => "busy",
            Self::Failed(_) => "failed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::DownloadAnswer as A;

    #[test]
    fn statuses_mean_one_thing_each() {
        assert_eq!(A::classify(200, true, None), A::Granted);
        assert_eq!(A::classify(206, false, None), A::Granted);
        assert_eq!(A::classify(404, false, None), A::Gone);
        assert_eq!(A::classify(410, false, None), A::Removed);
        assert_eq!(A::classify(403, true, None), A::WrongPassword);
        assert_eq!(A::classify(403, false, None), A::WrongLink);
        assert_eq!(A::classify(429, true, Some("14")), A::WorkRequired(14));
        assert_eq!(A::classify(429, true, Some("x")), A::Busy);
        assert_eq!(A::classify(503, true, None), A::Busy);
        assert_eq!(A::classify(500, true, None), A::Failed(500));
    }
}
