//! Outcomes a script can tell apart: each failure kind has its own exit
//! status (listed in `veil --help`).

use std::fmt;
use std::process::ExitCode;

/// Why a command failed, with the exit status it maps to.
#[derive(Debug)]
pub enum Failure {
    /// 1: anything else (bad file, disk, unexpected answer).
    Other(anyhow::Error),
    /// 3: expired, used up, deleted or never existed.
    Gone,
    /// The operator removed it after a report (410).
    Removed,
    /// 4: wrong password (nothing was consumed).
    WrongPassword,
    /// 5: the data is damaged or was tampered with; nothing was saved.
    Damaged,
    /// 5 too: damaged, found after this many bytes had gone to standard
    /// output (each verified record by record, but the file as a whole is
    /// not: the rest is missing or forged).
    DamagedAfterStdout(u64),
    /// 5 too: damaged after this many files of a share were complete,
    /// verified and saved (the others were not).
    DamagedAfterFiles(usize),
    /// 6: the server cannot be reached.
    Unreachable(String),
    /// 7: the link is incomplete or malformed.
    BadLink,
}

impl Failure {
    /// The process exit status.
    pub fn code(&self) -> ExitCode {
        ExitCode::from(match self {
            Self::Other(_) => 1,
            Self::Gone | Self::Removed => 3,
            Self::WrongPassword => 4,
            Self::Damaged | Self::DamagedAfterStdout(_) | Self::DamagedAfterFiles(_) => 5,
            Self::Unreachable(_) => 6,
            Self::BadLink => 7,
        })
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Other(e) => write!(f, "{e:#}"),
            Self::Gone => f.write_str("this link is gone: it expired, was already downloaded, was deleted, or never existed"),
            Self::Removed => f.write_str("the operator of this server removed this share after a report"),
            Self::WrongPassword => f.write_str("wrong password (nothing was downloaded, so you can try again)"),
            Self::Damaged => f.write_str("the file is damaged or was tampered with; nothing was saved"),
            Self::DamagedAfterStdout(n) => write!(
                f,
                "the file is damaged or was tampered with: standard output already received {n} bytes of it, \
                 which are not the whole file; discard them"
            ),
            Self::DamagedAfterFiles(n) => write!(
                f,
                "the share is damaged or was tampered with: the {n} file(s) saved before the damage \
                 are complete and verified; the others were not saved"
            ),
            Self::Unreachable(why) => write!(f, "the server cannot be reached: {why}"),
            Self::BadLink => f.write_str("the link is incomplete or malformed"),
        }
    }
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        Self::Other(e.into())
    }
}

/// Maps a transport-level ureq error.
pub fn transport(e: ureq::Error) -> Failure {
    match e {
        ureq::Error::Transport(t) => Failure::Unreachable(t.to_string()),
        ureq::Error::Status(code, _) => {
            Failure::Other(anyhow::anyhow!("the server answered {code}"))
        }
    }
}
