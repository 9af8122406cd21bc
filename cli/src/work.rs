//! The server's upload work (docs/API.md, "Upload limits"), for every
//! request that may be asked for it (an upload's creation, a report): send
//! once; if the answer is a `429` with a challenge, solve it and send again
//! with `Veil-Work`. The hash itself is the core's (`veil_core::work`).

use veil_core::protocol::header;

/// `send(None)`, then, if the server asks for work, `send(Some(work))`.
// ureq's own error type, handed back to the caller to take apart.
#[allow(clippy::result_large_err)]
pub fn with_work(
    send: impl Fn(Option<String>) -> Result<ureq::Response, ureq::Error>,
) -> Result<ureq::Response, ureq::Error> {
    match send(None) {
        Err(ureq::Error::Status(429, r)) if r.header(header::WORK_CHALLENGE).is_some() => {
            let challenge = r
                .header(header::WORK_CHALLENGE)
                .unwrap_or_default()
                .to_owned();
            let bits = r
                .header(header::WORK_BITS)
                .and_then(|b| b.parse().ok())
                .unwrap_or(0);
            let nonce = veil_core::work::solve_upload(&challenge, bits);
            send(Some(format!("{challenge} {nonce}")))
        }
        other => other,
    }
}
