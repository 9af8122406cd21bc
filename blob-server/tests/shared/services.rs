//! What the multi-instance suite runs against, started here on 127.0.0.1
//! with temporary data and stopped when dropped: a PostgreSQL cluster
//! (Debian's binaries), an S3 server (moto, or an external one such as
//! Garage named by `VEIL_TEST_S3_*`), and blob-server processes (the real
//! binary, so one can be killed with SIGKILL).

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A port free a moment ago (the services want a number, not a socket).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_port(port: u16, what: &str, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited before listening: {status}");
        }
        assert!(
            Instant::now() < deadline,
            "{what} did not listen within 60 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn stop(child: &mut Child, signal: &str) {
    let _ = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Debian installs PostgreSQL's server binaries outside PATH.
fn pg_bin(name: &str) -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path().join("bin"))
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs.into_iter()
        .rev()
        .map(|d| d.join(name))
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("PostgreSQL's {name} is missing: run `make setup`"))
}

/// Runs as the `postgres` user when we are root (PostgreSQL refuses root).
fn as_pg_user(bin: &Path) -> Command {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin);
        c
    } else {
        Command::new(bin)
    }
}

/// A throwaway PostgreSQL cluster.
pub struct Postgres {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
}

impl Postgres {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        let _ = Command::new("chown")
            .args(["-R", "postgres"])
            .arg(dir.path())
            .status();
        let ok = as_pg_user(&pg_bin("initdb"))
            .args(["-A", "trust", "-U", "veil", "-E", "UTF8", "--no-sync", "-D"])
            .arg(&data)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(ok.success(), "initdb failed");
        let mut pg = Self {
            dir,
            port: free_port(),
            child: None,
        };
        pg.resume();
        pg
    }

    pub fn url(&self) -> String {
        format!("postgres://veil@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts (again) on the same port and data.
    pub fn resume(&mut self) {
        let data = self.dir.path().join("data");
        let mut child = as_pg_user(&pg_bin("postgres"))
            .arg("-D")
            .arg(&data)
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-k"])
            .arg(self.dir.path())
            .args(["-c", "fsync=off", "-c", "max_connections=200"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_for_port(self.port, "postgres", &mut child);
        // Listening is not yet accepting queries: wait for a real one.
        let deadline = Instant::now() + Duration::from_secs(30);
        while !Command::new("psql")
            .args([&self.url(), "-qAtc", "SELECT 1"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
        {
            assert!(Instant::now() < deadline, "postgres did not answer");
            std::thread::sleep(Duration::from_millis(100));
        }
        self.child = Some(child);
    }

    /// Stops it (fast shutdown: sessions are cut).
    pub fn pause(&mut self) {
        if let Some(mut c) = self.child.take() {
            // The postmaster runs under runuser (when root): pg_ctl signals
            // the postmaster itself and waits for it to exit.
            let _ = as_pg_user(&pg_bin("pg_ctl"))
                .args(["stop", "-m", "fast", "-w", "-D"])
                .arg(self.dir.path().join("data"))
                .stdout(Stdio::null())
                .status();
            stop(&mut c, "-INT");
        }
    }

    /// Freezes every process of the cluster (SIGSTOP): connections stay
    /// open, nothing answers — a hung database, not a stopped one.
    pub fn freeze(&self, on: bool) {
        let pid = std::fs::read_to_string(self.dir.path().join("data/postmaster.pid")).unwrap();
        let pid = pid.lines().next().unwrap().trim().to_owned();
        let signal = if on { "-STOP" } else { "-CONT" };
        let children = Command::new("pgrep").args(["-P", &pid]).output().unwrap();
        let mut pids: Vec<String> = String::from_utf8_lossy(&children.stdout)
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        pids.push(pid);
        assert!(Command::new("kill")
            .arg(signal)
            .args(&pids)
            .status()
            .unwrap()
            .success());
    }

    /// One value from a query, as text.
    pub fn query(&self, sql: &str) -> String {
        let out = Command::new("psql")
            .args([&self.url(), "-qAtc", sql])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "psql: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.pause();
    }
}

/// An S3 endpoint and bucket: moto started here, or an external server.
pub struct S3 {
    pub endpoint: String,
    pub bucket: String,
    pub key: String,
    pub secret: String,
    port: u16,
    child: Option<Child>,
}

impl S3 {
    /// `VEIL_TEST_S3_ENDPOINT` (+ `_BUCKET`, `AWS_*` credentials) names an
    /// external server; otherwise moto is started.
    pub fn start() -> Self {
        if let Ok(endpoint) = std::env::var("VEIL_TEST_S3_ENDPOINT") {
            return Self {
                endpoint,
                bucket: std::env::var("VEIL_TEST_S3_BUCKET").unwrap_or_else(|_| "veil".into()),
                key: std::env::var("AWS_ACCESS_KEY_ID").expect("AWS_ACCESS_KEY_ID"),
                secret: std::env::var("AWS_SECRET_ACCESS_KEY").expect("AWS_SECRET_ACCESS_KEY"),
                port: 0,
                child: None,
            };
        }
        let port = free_port();
        let mut s3 = Self {
            endpoint: format!("http://127.0.0.1:{port}"),
            bucket: "veil".into(),
            key: "test".into(),
            secret: "test".into(),
            port,
            child: None,
        };
        s3.resume();
        s3
    }

    /// The same server and bucket under another key prefix (not started
    /// or stopped by this value).
    pub fn elsewhere(&self, prefix: &str) -> Self {
        Self {
            endpoint: self.endpoint.clone(),
            bucket: format!("{}/{prefix}", self.bucket),
            key: self.key.clone(),
            secret: self.secret.clone(),
            port: 0,
            child: None,
        }
    }

    /// Whether this harness controls the server (and so can stop it).
    pub fn is_local(&self) -> bool {
        self.port != 0
    }

    /// (Re)starts moto and creates the bucket (moto keeps objects in
    /// memory: a restarted moto is empty, like storage that lost data).
    pub fn resume(&mut self) {
        if !self.is_local() {
            return;
        }
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
        let mut child = Command::new(python)
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto is missing: run `make setup`");
        wait_for_port(self.port, "moto", &mut child);
        self.child = Some(child);
        let status = Command::new("curl")
            .args(["-sf", "-o", "/dev/null", "-X", "PUT"])
            .arg(format!("{}/{}", self.endpoint, self.bucket))
            .status()
            .unwrap();
        assert!(status.success(), "could not create the bucket");
    }

    pub fn pause(&mut self) {
        if let Some(mut c) = self.child.take() {
            stop(&mut c, "-TERM");
        }
    }

    /// Freezes moto (SIGSTOP) or lets it go on: a hung store.
    pub fn freeze(&self, on: bool) {
        let child = self.child.as_ref().expect("a local moto");
        let signal = if on { "-STOP" } else { "-CONT" };
        assert!(Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap()
            .success());
    }

    /// Whether the bucket holds `key` (under the instances' prefix). `None`
    /// for an external server.
    pub fn has(&self, key: &str) -> Option<bool> {
        if !self.is_local() {
            return None;
        }
        let out = Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-I"])
            .arg(format!("{}/{}/veil-test/{key}", self.endpoint, self.bucket))
            .output()
            .unwrap();
        Some(out.stdout == b"200")
    }

    /// Writes the store id object, as the first instance did (signed, with
    /// boto3, which moto installs: moto refuses signed reads of objects
    /// written anonymously).
    pub fn put_marker(&self, id: &str) {
        let script = "import boto3, sys; boto3.client('s3', endpoint_url=sys.argv[1], \
            region_name='us-east-1', aws_access_key_id=sys.argv[2], \
            aws_secret_access_key=sys.argv[3]).put_object(Bucket=sys.argv[4], \
            Key='veil-test/veil-store-id', Body=sys.argv[5].encode())";
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
        let status = Command::new(python)
            .args(["-c", script])
            .args([&self.endpoint, &self.key, &self.secret, &self.bucket, id])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Multipart uploads begun and neither completed nor aborted.
    pub fn open_multipart_uploads(&self) -> Option<usize> {
        if !self.is_local() {
            return None;
        }
        let out = Command::new("curl")
            .args(["-sf"])
            .arg(format!("{}/{}?uploads", self.endpoint, self.bucket))
            .output()
            .unwrap();
        Some(
            String::from_utf8_lossy(&out.stdout)
                .matches("<UploadId>")
                .count(),
        )
    }
}

impl Drop for S3 {
    fn drop(&mut self) {
        self.pause();
    }
}

/// One blob-server process over the shared stores.
pub struct Instance {
    pub url: String,
    child: Option<Child>,
    _data: tempfile::TempDir,
}

/// Where the instances put objects.
pub enum Objects<'a> {
    S3(&'a S3),
    /// A directory they all mount.
    Dir(&'a Path),
}

impl Objects<'_> {
    fn args(&self) -> Vec<String> {
        match self {
            Self::S3(s3) => vec![
                "--storage".into(),
                format!("s3://{}/veil-test", s3.bucket),
                "--s3-endpoint".into(),
                s3.endpoint.clone(),
                "--s3-region".into(),
                "us-east-1".into(),
                "--s3-path-style".into(),
            ],
            Self::Dir(d) => vec!["--storage".into(), format!("file://{}", d.display())],
        }
    }

    fn credentials(&self) -> (String, String) {
        match self {
            Self::S3(s3) => (s3.key.clone(), s3.secret.clone()),
            Self::Dir(_) => (String::new(), String::new()),
        }
    }
}

fn command(pg: &Postgres, objects: &Objects<'_>, program: &str, pre: &[&str]) -> Command {
    let (key, secret) = objects.credentials();
    let mut c = Command::new(program);
    c.args(pre)
        .arg(env!("CARGO_BIN_EXE_blob-server"))
        .args(["--bind", "127.0.0.1:0", "--meta", &pg.url()])
        .args(objects.args())
        .arg("--static-dir")
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../web"))
        .env("AWS_ACCESS_KEY_ID", key)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env("VEIL_LOG", "warn");
    c
}

/// Runs blob-server expecting it to refuse to start (within 40 s); its
/// exit status and stderr.
pub fn refuses(pg: &Postgres, objects: &Objects<'_>) -> (bool, String) {
    let out = command(pg, objects, "timeout", &["40"]).output().unwrap();
    (
        !out.status.success() && out.status.code() != Some(124),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

impl Instance {
    pub fn start(pg: &Postgres, objects: &Objects<'_>, extra: &[&str]) -> Self {
        let data = tempfile::tempdir().unwrap();
        // `env` execs blob-server: the child's pid is blob-server's.
        let mut child = command(pg, objects, "env", &[])
            .arg("--data-dir")
            .arg(data.path())
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        out.read_line(&mut line).unwrap();
        // Its log (stdout) goes on to the test's stderr.
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::stderr()));
        let url = line
            .trim()
            .strip_prefix("Veil is serving ")
            .unwrap_or_else(|| panic!("blob-server did not start: {line:?}"))
            .to_owned();
        Self {
            url,
            child: Some(child),
            _data: data,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// SIGKILL: no shutdown, no cleanup.
    pub fn kill(mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            stop(&mut c, "-TERM");
        }
    }
}
