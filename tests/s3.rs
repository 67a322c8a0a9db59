//! S3 against a real S3-compatible server on 127.0.0.1 (moto_server, started here), through the same
//! client code flowq uses against AWS: every built-in query equals its `--path` answer, pruning lists
//! and reads less, injected faults leave answers exact, and S3 errors get their messages.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::s3::{BUCKET, Fault, Proxy, env, moto, put};
use common::{flowq, parse_csv};

fn endpoint() -> String {
    format!("http://127.0.0.1:{}", moto().port)
}

/// Runs flowq against the test bucket through `endpoint`; returns (exit code, stdout, stderr).
fn run(endpoint: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let mut cmd = flowq();
    env(&mut cmd);
    let out = cmd.args(args).args(["--endpoint-url", endpoint, "--format", "csv"]).output().unwrap();
    (out.status.code(), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

fn local(args: &[&str]) -> String {
    let out = flowq().args(args).args(["--path", "fixtures/AWSLogs", "--format", "csv", "--quiet"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

const BUCKET_URL: &str = "s3://corp-flowlogs/AWSLogs";

fn same_answer_as_local(endpoint: &str, args: &[&str]) {
    let (code, out, err) = run(endpoint, &[args, &["--bucket", BUCKET_URL]].concat());
    assert_eq!(code, Some(0), "{args:?}: {err}");
    assert_eq!(out.replace("s3://corp-flowlogs/", "fixtures/"), local(args), "{args:?}");
}

#[test]
fn every_builtin_query_over_s3_equals_the_local_answer() {
    let endpoint = endpoint();
    for args in [
        &["top-talkers"][..],
        &["top-talkers-pkt"],
        &["top-pairs"],
        &["top-pairs-pkt"],
        &["top-instances"],
        &["top-subnets"],
        &["admin-ports"],
        &["rejected-tcp"],
        &["traffic-by-type"],
        &["ip", "198.51.100.77"],
        &["from", "203.0.113.45"],
        &["to", "10.0.1.0/24"],
        &["rejected"],
        &["accepted"],
        &["ssh-rdp"],
        &["sql", "SELECT COUNT(*), SUM(bytes), MIN(start), MAX(\"end\") FROM flows"],
        &["top-talkers", "--since", "2024-03-02", "--until", "2024-03-03", "--region", "us-east-1"],
    ] {
        same_answer_as_local(&endpoint, args);
    }
}

#[test]
fn provenance_names_the_s3_object() {
    let (code, out, _) =
        run(&endpoint(), &["ip", "198.51.100.77", "--bucket", BUCKET_URL, "--limit", "1", "--columns", "source,line"]);
    assert_eq!(code, Some(0));
    let (_, rows) = parse_csv(&out);
    assert!(
        rows[0][0].starts_with("s3://corp-flowlogs/AWSLogs/111122223333/vpcflowlogs/us-east-1/2024/03/03/"),
        "{rows:?}"
    );
}

#[test]
fn the_manifest_names_each_s3_object_with_its_etag_and_digest() {
    use sha2::Digest;
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("m.json");
    let manifest_arg = manifest.to_string_lossy().into_owned();
    let (code, _, err) =
        run(&endpoint(), &["ip", "198.51.100.77", "--bucket", BUCKET_URL, "--manifest", &manifest_arg]);
    assert_eq!(code, Some(0), "{err}");
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
    let objects = m["objects"].as_array().unwrap();
    assert_eq!(objects.len(), common::files_under(&common::fixtures().join("AWSLogs")).len());
    for object in objects {
        let url = object["url"].as_str().unwrap();
        let local = common::fixtures().join(url.strip_prefix("s3://corp-flowlogs/").unwrap());
        let sha256: String =
            sha2::Sha256::digest(std::fs::read(local).unwrap()).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(object["sha256"], sha256, "{url}");
        assert!(object["etag"].as_str().is_some_and(|e| !e.is_empty()), "{url}: {object}");
        assert!(object["last_modified"].is_string(), "{url}");
    }
}

#[test]
fn pruning_lists_and_reads_only_what_can_match() {
    let proxy = Proxy::start();
    let args = ["top-talkers", "--bucket", BUCKET_URL, "--since", "2024-03-03T06:00:00Z", "--region", "us-east-1"];
    let (code, out, err) = run(&proxy.endpoint(), &args);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out, local(&["top-talkers", "--since", "2024-03-03T06:00:00Z", "--region", "us-east-1"]), "same answer");
    let requests = proxy.requests();
    let gets: Vec<&String> =
        requests.iter().filter(|r| r.method == "GET" && !r.target.contains("list-type")).map(|r| &r.target).collect();
    assert!(!gets.is_empty());
    for target in &gets {
        assert!(
            target.contains("/2024/03/03/") || target.contains("/2024/03/02/"),
            "read an object that cannot match: {target}"
        );
        assert!(target.contains("us-east-1"), "read the other region: {target}");
    }
    let lists: Vec<String> =
        requests.iter().filter(|r| r.target.contains("list-type")).map(|r| r.target.replace("%2F", "/")).collect();
    assert!(lists.iter().any(|t| t.contains("us-east-1/2024/03/03/")), "{lists:?}");
    assert!(lists.iter().all(|t| !t.contains("2024/03/01/") && !t.contains("eu-west-1")), "{lists:?}");
    assert!(err.contains("objects skipped by their key") || err.contains("read "), "{err}");
}

#[test]
fn dry_run_lists_without_reading() {
    let proxy = Proxy::start();
    let (code, out, err) =
        run(&proxy.endpoint(), &["top-talkers", "--bucket", BUCKET_URL, "--dry-run", "--since", "2024-03-03"]);
    assert_eq!(code, Some(0), "{err}");
    let (header, rows) = parse_csv(&out);
    assert_eq!(header, ["source", "bytes", "account", "region", "delivered"]);
    assert!(rows.iter().all(|r| r[0].starts_with("s3://corp-flowlogs/AWSLogs/")));
    assert!(rows.iter().any(|r| r[0].contains("20240303T")));
    assert!(rows.iter().all(|r| !r[0].contains("20240301T")), "the 1st cannot hold flows of the 3rd");
    assert!(err.contains(&format!("dry run: would read {} objects", rows.len())), "{err}");
    assert!(
        proxy.requests().iter().all(|r| r.method == "HEAD" || r.target.contains("list-type")),
        "only listed, never read"
    );
}

#[test]
fn faults_are_retried_and_answers_stay_exact() {
    let proxy = Proxy::start();
    for args in [&["top-talkers"][..], &["rejected-tcp"], &["sql", "SELECT COUNT(*), SUM(bytes) FROM flows"]] {
        proxy.fault("GET", "20240303T1200Z", Fault::Status(503, "SlowDown"), 2);
        proxy.fault("GET", "20240302T0800Z", Fault::Status(500, "InternalError"), 1);
        proxy.fault("GET", "20240301T0400Z", Fault::Truncate, 2);
        proxy.fault("GET", "20240302T1200Z", Fault::Stall(Duration::from_secs(2)), 1);
        proxy.fault("GET", "list-type", Fault::Status(503, "SlowDown"), 1);
        let (code, out, err) = run(&proxy.endpoint(), &[args, &["--bucket", BUCKET_URL]].concat());
        assert_eq!(code, Some(0), "{args:?}: {err}");
        assert_eq!(out.replace("s3://corp-flowlogs/", "fixtures/"), local(args), "{args:?}");
    }
    let requests = proxy.requests();
    let resumed = requests
        .iter()
        .filter(|r| r.target.contains("20240301T0400Z"))
        .any(|r| r.range.as_deref().is_some_and(|range| range.starts_with("bytes=") && !range.starts_with("bytes=0-")));
    assert!(resumed, "the cut-short body was resumed where it stopped: {requests:?}");
    let retried = requests.iter().filter(|r| r.target.contains("20240303T1200Z") && r.range.is_none()).count();
    // Per query: two objects match 20240303T1200Z, read once each, plus two throttled attempts.
    assert!(retried >= 3 * (2 + 2), "throttled reads were retried: {retried}");
    assert!(requests.iter().all(|r| r.method == "GET" || r.method == "HEAD"), "flowq only reads: {requests:?}");
}

#[test]
fn an_object_that_cannot_be_read_is_reported_and_the_run_goes_on() {
    put(
        "denied/AWSLogs/111122223333/vpcflowlogs/us-east-1/2024/03/01/a.log",
        b"version srcaddr bytes\n2 10.0.0.1 5\n".to_vec(),
    );
    put(
        "denied/AWSLogs/111122223333/vpcflowlogs/us-east-1/2024/03/01/b.log",
        b"version srcaddr bytes\n2 10.0.0.2 7\n".to_vec(),
    );
    let proxy = Proxy::start();
    proxy.fault("GET", "b.log", Fault::Status(403, "AccessDenied"), 100);
    let (code, out, err) = run(
        &proxy.endpoint(),
        &["sql", "SELECT SUM(bytes) AS b FROM flows", "--bucket", &format!("s3://{BUCKET}/denied")],
    );
    assert_eq!(code, Some(3), "{err}");
    assert_eq!(out, "b\n5\n");
    assert!(
        err.contains(&format!(
            "s3://{BUCKET}/denied/AWSLogs/111122223333/vpcflowlogs/us-east-1/2024/03/01/b.log: could not be read"
        )),
        "{err}"
    );
}

#[test]
fn s3_errors_say_what_to_do() {
    let proxy = Proxy::start();
    proxy.fault("GET", "list-type", Fault::Status(403, "AccessDenied"), 100);
    let (code, _, err) = run(&proxy.endpoint(), &["top-talkers", "--bucket", BUCKET_URL]);
    assert_eq!(code, Some(1));
    assert!(err.contains("access denied (ListObjectsV2)"), "{err}");

    let proxy = Proxy::start();
    proxy.fault("GET", "list-type", Fault::Status(400, "ExpiredToken"), 100);
    let (code, _, err) = run(&proxy.endpoint(), &["top-talkers", "--bucket", BUCKET_URL]);
    assert_eq!(code, Some(1));
    assert!(err.contains("session token has expired"), "{err}");

    let (code, _, err) = run(&endpoint(), &["top-talkers", "--bucket", "s3://no-such-bucket-here"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("s3://no-such-bucket-here: no such bucket"), "{err}");

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (code, _, err) = run(&format!("http://127.0.0.1:{closed}"), &["top-talkers", "--bucket", BUCKET_URL]);
    assert_eq!(code, Some(1));
    assert!(err.contains(&format!("cannot reach http://127.0.0.1:{closed}")), "{err}");

    let mut cmd = flowq();
    env(&mut cmd).env_remove("AWS_ACCESS_KEY_ID").env_remove("AWS_SECRET_ACCESS_KEY");
    let out = cmd.args(["top-talkers", "--bucket", BUCKET_URL, "--endpoint-url", &endpoint()]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("no AWS credentials found") && err.contains("AWS_PROFILE"), "{err}");

    let (code, _, err) = run(&endpoint(), &["top-talkers", "--bucket", "corp-flowlogs"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("is not an S3 URL"), "{err}");
}

#[test]
fn listings_of_many_keys_paginate() {
    // More keys in one folder than one ListObjectsV2 page (1,000) holds.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let keys: Vec<String> =
        (0..1500).map(|i| format!("many/AWSLogs/111122223333/vpcflowlogs/us-east-1/2024/03/01/{i:05}.log")).collect();
    runtime.block_on(async {
        let client = common::s3::client();
        use futures::StreamExt;
        let puts: Vec<_> = futures::stream::iter(&keys)
            .map(|key| {
                let body = b"version srcaddr bytes\n2 10.0.0.1 1\n".to_vec();
                client.put_object().bucket(BUCKET).key(key).body(body.into()).send()
            })
            .buffer_unordered(16)
            .collect()
            .await;
        puts.into_iter().for_each(|r| {
            r.unwrap();
        });
    });
    let (code, out, err) = run(
        &endpoint(),
        &[
            "sql",
            "SELECT COUNT(*) AS n, COUNT(DISTINCT source) AS objects FROM flows",
            "--bucket",
            &format!("s3://{BUCKET}/many"),
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out, "n,objects\n1500,1500\n");
}

#[test]
fn no_sign_request_reads_public_objects_without_credentials() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        for (key, bytes) in [("a.log", 5), ("b.log", 7)] {
            let body = format!("version srcaddr bytes\n2 10.0.0.1 {bytes}\n").into_bytes();
            common::s3::client()
                .put_object()
                .bucket(BUCKET)
                .key(format!("public/AWSLogs/111122223333/vpcflowlogs/us-east-1/2024/03/01/{key}"))
                .acl(aws_sdk_s3::types::ObjectCannedAcl::PublicRead)
                .body(body.into())
                .send()
                .await
                .unwrap();
        }
    });
    let mut cmd = flowq();
    env(&mut cmd).env_remove("AWS_ACCESS_KEY_ID").env_remove("AWS_SECRET_ACCESS_KEY");
    let out = cmd
        .args(["sql", "SELECT SUM(bytes) AS b FROM flows", "--no-sign-request", "--format", "csv", "--quiet"])
        .args(["--bucket", &format!("s3://{BUCKET}/public"), "--endpoint-url", &endpoint()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "b\n12\n");
}

#[test]
fn bucket_and_path_together() {
    let (code, out, err) = run(
        &endpoint(),
        &["sql", "SELECT COUNT(*) AS n FROM flows", "--bucket", BUCKET_URL, "--path", "fixtures/samples"],
    );
    assert_eq!(code, Some(3), "the samples' annotated lines are reported: {err}");
    let s3 = local(&["sql", "SELECT COUNT(*) AS n FROM flows"]);
    let n: u64 = s3.lines().nth(1).unwrap().parse().unwrap();
    assert_eq!(out, format!("n\n{}\n", n + 25));
}

/// flowq's Parquet copy in a bucket reads like the text logs: footers and column chunks through the
/// same S3 client (ranged reads), the records naming their original objects.
#[test]
fn a_parquet_copy_in_s3_answers_like_the_logs() {
    let copy = tempfile::tempdir().unwrap();
    let out =
        flowq().args(["--path", "fixtures/AWSLogs", "--quiet", "convert", "--out"]).arg(copy.path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for file in common::files_under(copy.path()) {
        let key = format!("parquet-copy/{}", file.strip_prefix(copy.path()).unwrap().to_string_lossy());
        put(&key, std::fs::read(&file).unwrap());
    }
    let endpoint = endpoint();
    for args in [
        &["top-talkers"][..],
        &["ip", "198.51.100.77"],
        &["to", "10.0.1.0/24"],
        &["ssh-rdp"],
        &["sql", "SELECT COUNT(*), SUM(bytes), MIN(start), MAX(\"end\") FROM flows"],
    ] {
        let (code, out, err) = run(&endpoint, &[args, &["--bucket", "s3://corp-flowlogs/parquet-copy"]].concat());
        assert_eq!(code, Some(0), "{args:?}: {err}");
        assert_eq!(out, local(args), "{args:?}");
    }
}

#[test]
fn the_report_over_s3_equals_the_local_report() {
    let dir = tempfile::tempdir().unwrap();
    let (remote, local) = (dir.path().join("s3.json"), dir.path().join("local.json"));
    let mut cmd = flowq();
    env(&mut cmd);
    let out = cmd
        .args(["report", "--bucket", BUCKET_URL, "--endpoint-url", &endpoint(), "--output"])
        .arg(&remote)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "a detection fired: {}", String::from_utf8_lossy(&out.stderr));
    let out = flowq().args(["report", "--path", "fixtures/AWSLogs", "--output"]).arg(&local).output().unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", String::from_utf8_lossy(&out.stderr));
    let read = |path: &std::path::Path| -> serde_json::Value {
        let text = std::fs::read_to_string(path).unwrap();
        serde_json::from_str(&text.replace("s3://corp-flowlogs/", "fixtures/")).unwrap()
    };
    let (remote, local) = (read(&remote), read(&local));
    assert_eq!(remote["scanned"]["objects_read"], 36);
    for part in ["scanned", "detections", "coverage", "traffic", "rankings", "accounts"] {
        assert_eq!(remote[part], local[part], "{part} differs");
    }
}
