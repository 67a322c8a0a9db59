//! An S3-compatible server for tests (moto's `moto_server`, on 127.0.0.1), a bucket loaded with the
//! fixtures, and a loopback proxy in front of it that records requests and injects faults.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::{files_under, fixtures};

pub const BUCKET: &str = "corp-flowlogs";

/// A running moto server with the fixtures uploaded under `AWSLogs/`, started once per test binary;
/// it stops when the test process exits and its stdin closes.
pub struct Moto {
    pub port: u16,
    _child: Child,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The shared server of this test binary.
pub fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(|| {
        let port = free_port();
        // The server lives until its stdin closes, i.e. until this test process exits.
        let script = format!(
            "import sys\nfrom moto.server import ThreadedMotoServer\n\
             s = ThreadedMotoServer(ip_address='127.0.0.1', port={port}, verbose=False)\ns.start()\n\
             sys.stdin.read()\ns.stop()\n"
        );
        let child = Command::new("python3")
            .args(["-c", &script])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 not found: the S3 tests run moto's server (pip install 'moto[server]', as .ci/run does)");
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto's server did not start on port {port}: is moto installed? pip install 'moto[server]'"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        upload_fixtures(port);
        Moto { port, _child: child }
    })
}

/// Environment for a flowq process talking to the test server: fixed credentials, no profile files,
/// no instance metadata (so nothing leaves loopback).
pub fn env(cmd: &mut assert_cmd::Command) -> &mut assert_cmd::Command {
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", std::env::temp_dir())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/nonexistent/flowq-test-config")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/flowq-test-credentials")
        .env("AWS_EC2_METADATA_DISABLED", "true")
}

/// A client of the test server, for putting test objects (flowq itself never writes).
pub fn client() -> aws_sdk_s3::Client {
    sdk_client(moto().port)
}

fn sdk_client(port: u16) -> aws_sdk_s3::Client {
    let credentials = aws_sdk_s3::config::Credentials::new("testing", "testing", None, None, "tests");
    let config = aws_sdk_s3::config::Builder::new()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .credentials_provider(credentials)
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

fn upload_fixtures(port: u16) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let client = sdk_client(port);
        client.create_bucket().bucket(BUCKET).send().await.unwrap();
        let root = fixtures();
        for file in files_under(&root.join("AWSLogs")) {
            let key = file.strip_prefix(&root).unwrap().to_string_lossy().into_owned();
            let body = std::fs::read(&file).unwrap();
            client.put_object().bucket(BUCKET).key(key).body(body.into()).send().await.unwrap();
        }
    });
}

/// Puts one more object into the test bucket (tests that need their own keys use their own prefix).
pub fn put(key: &str, body: Vec<u8>) {
    let port = moto().port;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        sdk_client(port).put_object().bucket(BUCKET).key(key).body(body.into()).send().await.unwrap();
    });
}

/// What the proxy does to a matching request.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer with this status and S3 error code, without asking the server.
    Status(u16, &'static str),
    /// Forward, but cut the response body in half and close the connection.
    Truncate,
    /// Wait, then forward.
    Stall(Duration),
}

#[derive(Debug, Clone)]
struct Rule {
    method: &'static str,
    /// A substring of the request target (path and query).
    target: String,
    fault: Fault,
    times: usize,
}

/// A request the proxy saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    /// Path and query.
    pub target: String,
    /// The `Range` header, if any.
    pub range: Option<String>,
}

/// A loopback HTTP proxy in front of the test server: records every request and applies faults.
#[derive(Clone, Default)]
pub struct Proxy {
    rules: Arc<Mutex<Vec<Rule>>>,
    log: Arc<Mutex<Vec<Request>>>,
    pub port: u16,
}

impl Proxy {
    pub fn start() -> Proxy {
        let upstream = moto().port;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let proxy = Proxy { port: listener.local_addr().unwrap().port(), ..Proxy::default() };
        let handle = proxy.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let handle = handle.clone();
                std::thread::spawn(move || handle.serve(client, upstream));
            }
        });
        proxy
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Applies `fault` to the next `times` requests with this method whose target contains `target`
    /// and that read a whole object or listing (no `Range` header: header probes and resumed reads
    /// pass untouched).
    pub fn fault(&self, method: &'static str, target: &str, fault: Fault, times: usize) {
        self.rules.lock().unwrap().push(Rule { method, target: target.to_string(), fault, times });
    }

    /// Every request seen.
    pub fn requests(&self) -> Vec<Request> {
        self.log.lock().unwrap().clone()
    }

    fn take_fault(&self, method: &str, target: &str) -> Option<Fault> {
        let mut rules = self.rules.lock().unwrap();
        let rule = rules.iter_mut().find(|r| r.times > 0 && r.method == method && target.contains(&r.target))?;
        rule.times -= 1;
        Some(rule.fault.clone())
    }

    /// One connection, one request: it is forwarded on a fresh upstream connection with
    /// `Connection: close`, so the response is simply everything upstream sends, and then both
    /// connections close (the client opens a new one for its next request).
    fn serve(&self, mut client: TcpStream, upstream: u16) {
        client.set_read_timeout(Some(Duration::from_secs(30))).ok();
        let Some((head, body)) = read_request(&mut client) else { return };
        let request_line = head.split("\r\n").next().unwrap_or_default().to_string();
        let mut parts = request_line.split(' ');
        let method = parts.next().unwrap_or_default().to_string();
        let target = parts.next().unwrap_or_default().to_string();
        let range = head.split("\r\n").find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("range").then(|| value.trim().to_string())
        });
        self.log.lock().unwrap().push(Request { method: method.clone(), target: target.clone(), range: range.clone() });
        let fault = if range.is_none() { self.take_fault(&method, &target) } else { None };
        if let Some(Fault::Status(code, error)) = fault {
            let body = if method == "HEAD" {
                String::new()
            } else {
                format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{error}</Code><Message>injected by the test proxy</Message></Error>"
                )
            };
            let response = format!(
                "HTTP/1.1 {code} Injected\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = client.write_all(response.as_bytes());
            return;
        }
        if let Some(Fault::Stall(d)) = &fault {
            std::thread::sleep(*d);
        }
        let mut forwarded = String::new();
        for line in head.split("\r\n").filter(|l| !l.to_ascii_lowercase().starts_with("connection:")) {
            forwarded.push_str(line);
            forwarded.push_str("\r\n");
        }
        forwarded.push_str("Connection: close\r\n\r\n");
        let Ok(mut server) = TcpStream::connect(("127.0.0.1", upstream)) else { return };
        if server.write_all(forwarded.as_bytes()).is_err() || server.write_all(&body).is_err() {
            return;
        }
        let mut response = Vec::new();
        let _ = server.read_to_end(&mut response);
        if let Some(Fault::Truncate) = fault {
            let split = find(&response, b"\r\n\r\n").map_or(response.len(), |p| p + 4);
            response.truncate(split + (response.len() - split) / 2);
        }
        let _ = client.write_all(&response);
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Reads one request: its head (up to the blank line, without it) and its body.
fn read_request(stream: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while find(&buf, b"\r\n\r\n").is_none() {
        match stream.read(&mut byte) {
            Ok(1) => buf.push(byte[0]),
            _ => return None,
        }
    }
    let head = String::from_utf8_lossy(&buf[..buf.len() - 4]).into_owned();
    let length = head
        .split("\r\n")
        .find_map(|l| {
            l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap_or(0))
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).ok()?;
    Some((head, body))
}
