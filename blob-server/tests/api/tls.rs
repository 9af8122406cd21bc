//! HTTPS with the real binary: a self-signed certificate (made with the
//! openssl command), HSTS on responses, and `--tls13-only` refusing TLS 1.2.

use std::ffi::OsStr;
use std::process::Command;

fn curl(args: &[&str]) -> (bool, String) {
    let out = Command::new("curl")
        .args(["-sk", "-D", "-", "-o", "/dev/null"])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_lowercase(),
    )
}

#[test]
fn serves_https_with_hsts_and_can_refuse_tls12() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let data = dir.path().join("data");
    let (mut child, url) = crate::helpers::spawn_binary(&[
        OsStr::new("--bind"),
        OsStr::new("127.0.0.1:0"),
        OsStr::new("--tls13-only"),
        OsStr::new("--tls-cert"),
        cert.as_os_str(),
        OsStr::new("--tls-key"),
        key.as_os_str(),
        OsStr::new("--data-dir"),
        data.as_os_str(),
    ]);
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");

    let (ok, headers) = curl(&[&format!("{url}/healthz")]);
    assert!(ok, "HTTPS request failed");
    assert!(
        headers.contains("strict-transport-security: max-age=63072000"),
        "{headers}"
    );
    let (ok12, _) = curl(&["--tlsv1.2", "--tls-max", "1.2", &format!("{url}/healthz")]);
    assert!(!ok12, "TLS 1.2 was accepted with --tls13-only");
    child.kill().unwrap();
    child.wait().unwrap();
}
