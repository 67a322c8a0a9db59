//! S3: credentials and region as the AWS CLI finds them, a read-only object store per bucket, and a
//! listing that descends AWS's key layouts only into the prefixes that can hold matching flows.
//!
//! - Credentials come from `aws-config`'s standard chain (environment, shared files, `--profile` /
//!   `AWS_PROFILE`, SSO, assume-role, web identity, instance metadata) and are bridged into
//!   `object_store`, which asks for them on every request: [`CachedCredentials`] keeps them until
//!   five minutes before they expire, so the chain runs once, not once per request.
//! - The bucket's region is asked of S3 (`HeadBucket`), so a user never has to know it.
//! - `--endpoint-url` (or `AWS_ENDPOINT_URL`) reaches any S3-compatible server, path-style.
//! - Listing uses the delimiter to walk `AWSLogs/<account>/vpcflowlogs/<region>/YYYY/MM/DD/[HH/]` (and
//!   the Hive-style names) level by level, skipping every prefix whose region or time span rules it
//!   out, and lists the remaining prefixes concurrently. Prefixes it does not recognise are walked.
//! - Nothing here writes: flowq only lists and reads.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_config::BehaviorVersion;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use futures::StreamExt;
use object_store::aws::{AmazonS3Builder, AwsCredential};
use object_store::path::Path;
use object_store::{ObjectStore, RetryConfig};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use super::layout::prefix_may_hold;
use super::{KeyInfo, Listing, ObjectRef, Selection, SourceError};

/// How to reach S3: plain data from the command line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct S3Options {
    /// A named profile of the shared config files (else `AWS_PROFILE`, else `default`).
    pub profile: Option<String>,
    /// An S3-compatible endpoint instead of AWS (else `AWS_ENDPOINT_URL`).
    pub endpoint_url: Option<String>,
    /// Read a public bucket without credentials.
    pub no_sign_request: bool,
}

/// `s3://bucket[/prefix]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketUrl {
    /// The bucket name.
    pub bucket: String,
    /// The key prefix, without leading or trailing `/` (may be empty).
    pub prefix: String,
}

impl std::str::FromStr for BucketUrl {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let rest =
            s.strip_prefix("s3://").ok_or_else(|| format!("{s:?} is not an S3 URL: use s3://bucket[/prefix]"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let valid = (3..=63).contains(&bucket.len())
            && bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !valid {
            return Err(format!("{s:?}: {bucket:?} is not a bucket name (3-63 lowercase letters, digits, '-', '.')"));
        }
        Ok(BucketUrl { bucket: bucket.to_string(), prefix: prefix.trim_matches('/').to_string() })
    }
}

impl std::fmt::Display for BucketUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.prefix.is_empty() {
            write!(f, "s3://{}", self.bucket)
        } else {
            write!(f, "s3://{}/{}", self.bucket, self.prefix)
        }
    }
}

/// A connected bucket: its store (read only by flowq) and where it answered.
#[derive(Debug, Clone)]
pub struct Bucket {
    /// What the user named.
    pub url: BucketUrl,
    /// The store.
    pub store: Arc<dyn ObjectStore>,
    /// The bucket's region.
    pub region: String,
}

/// Credentials from the AWS SDK's chain, cached until shortly before they expire.
#[derive(Debug)]
pub struct CachedCredentials {
    provider: SharedCredentialsProvider,
    cached: Mutex<Option<Cached>>,
}

/// Credentials are renewed this long before they expire (or at half-life, if they live less than twice
/// this).
const RENEW_BEFORE: Duration = Duration::from_secs(5 * 60);

impl CachedCredentials {
    /// Wraps a provider of the SDK's chain.
    pub fn new(provider: SharedCredentialsProvider) -> Self {
        CachedCredentials { provider, cached: Mutex::new(None) }
    }

    async fn fetch(&self) -> Result<Arc<AwsCredential>, aws_credential_types::provider::error::CredentialsError> {
        let mut cached = self.cached.lock().await;
        let now = SystemTime::now();
        if let Some(entry) = cached.as_ref()
            && entry.renew_at.is_none_or(|renew| now < renew)
        {
            return Ok(Arc::clone(&entry.credential));
        }
        let credentials = match self.provider.provide_credentials().await {
            Ok(credentials) => credentials,
            // A failed refresh does not throw away credentials that are still valid.
            Err(err) => match cached.as_ref() {
                Some(entry) if entry.expiry.is_none_or(|e| now < e) => return Ok(Arc::clone(&entry.credential)),
                _ => return Err(err),
            },
        };
        let credential = Arc::new(AwsCredential {
            key_id: credentials.access_key_id().to_string(),
            secret_key: credentials.secret_access_key().to_string(),
            token: credentials.session_token().map(str::to_string),
        });
        let expiry = credentials.expiry();
        // Renew five minutes before expiry, or at half-life for credentials that live less than ten.
        let renew_at = expiry.map(|e| {
            let lifetime = e.duration_since(now).unwrap_or_default();
            e.checked_sub(RENEW_BEFORE.min(lifetime / 2)).unwrap_or(now)
        });
        *cached = Some(Cached { credential: Arc::clone(&credential), expiry, renew_at });
        Ok(credential)
    }
}

#[derive(Debug)]
struct Cached {
    credential: Arc<AwsCredential>,
    expiry: Option<SystemTime>,
    renew_at: Option<SystemTime>,
}

#[async_trait]
impl object_store::CredentialProvider for CachedCredentials {
    type Credential = AwsCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<AwsCredential>> {
        self.fetch().await.map_err(|e| object_store::Error::Generic { store: "S3", source: Box::new(e) })
    }
}

/// Connects to a bucket: resolves credentials, finds the bucket's region, builds the store.
pub async fn connect(url: &BucketUrl, options: &S3Options) -> Result<Bucket, SourceError> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(profile) = &options.profile {
        loader = loader.profile_name(profile);
    }
    if options.no_sign_request {
        loader = loader.no_credentials();
    }
    let sdk = loader.load().await;
    // The S3-specific variable first, as the SDK's own S3 client would: HeadBucket and the reads must
    // reach the same server.
    let endpoint = options
        .endpoint_url
        .clone()
        .or_else(|| std::env::var("AWS_ENDPOINT_URL_S3").ok().filter(|e| !e.is_empty()))
        .or_else(|| sdk.endpoint_url().map(str::to_string));
    let credentials = match sdk.credentials_provider() {
        Some(provider) if !options.no_sign_request => {
            let cached = Arc::new(CachedCredentials::new(provider));
            cached.fetch().await.map_err(|e| SourceError::NoCredentials { reason: error_chain(&e) })?;
            Some(cached)
        }
        _ if options.no_sign_request => None,
        _ => return Err(SourceError::NoCredentials { reason: "no credential provider is configured".into() }),
    };
    let region = bucket_region(url, &sdk, endpoint.as_deref()).await?;
    let mut builder = AmazonS3Builder::new()
        .with_bucket_name(&url.bucket)
        .with_region(&region)
        // A request (its body included) may take 5 minutes; one cut short resumes where it stopped, and
        // retries of one request may go on for 10 minutes.
        .with_client_options(object_store::ClientOptions::new().with_timeout(Duration::from_secs(300)))
        .with_retry(RetryConfig { max_retries: 10, retry_timeout: Duration::from_secs(600), ..RetryConfig::default() });
    if let Some(endpoint) = &endpoint {
        builder = builder
            .with_endpoint(endpoint.trim_end_matches('/'))
            .with_allow_http(true)
            .with_virtual_hosted_style_request(false);
    }
    builder = match credentials {
        Some(credentials) => builder.with_credentials(credentials),
        None => builder.with_skip_signature(true),
    };
    let store = builder.build().map_err(|e| SourceError::S3 { url: url.to_string(), reason: e.to_string() })?;
    Ok(Bucket { url: url.clone(), store: Arc::new(store), region })
}

/// The bucket's region, as S3 reports it.
async fn bucket_region(
    url: &BucketUrl,
    sdk: &aws_config::SdkConfig,
    endpoint: Option<&str>,
) -> Result<String, SourceError> {
    let configured = sdk.region().map(|r| r.to_string()).unwrap_or_else(|| "us-east-1".to_string());
    let timeouts =
        aws_sdk_s3::config::timeout::TimeoutConfig::builder().operation_timeout(Duration::from_secs(30)).build();
    let mut config = aws_sdk_s3::config::Builder::from(sdk)
        .region(aws_sdk_s3::config::Region::new(configured.clone()))
        .timeout_config(timeouts);
    if let Some(endpoint) = endpoint {
        config = config.endpoint_url(endpoint).force_path_style(true);
    }
    let client = aws_sdk_s3::Client::from_conf(config.build());
    match client.head_bucket().bucket(&url.bucket).send().await {
        Ok(out) => Ok(out.bucket_region().map(str::to_string).unwrap_or(configured)),
        Err(err) => {
            let raw = err.raw_response();
            if let Some(region) = raw.and_then(|r| r.headers().get("x-amz-bucket-region")) {
                return Ok(region.to_string());
            }
            let status = raw.map(|r| r.status().as_u16());
            let bucket = url.bucket.clone();
            Err(match status {
                Some(404) => SourceError::BucketNotFound { bucket },
                // HeadBucket needs s3:ListBucket on the whole bucket; a policy may grant listing only
                // under a prefix. Go on in the configured region: the listing says if it is refused.
                Some(403) => return Ok(configured),
                Some(400) => SourceError::S3 {
                    url: url.to_string(),
                    reason: "the request was refused (400): an expired session token is the usual cause; \
                             refresh it (aws sso login, or new temporary credentials)"
                        .into(),
                },
                Some(code) => SourceError::S3 { url: url.to_string(), reason: format!("HeadBucket answered {code}") },
                None => SourceError::Unreachable {
                    endpoint: endpoint.map_or_else(|| format!("S3 in {configured}"), str::to_string),
                    reason: error_chain(&err),
                },
            })
        }
    }
}

/// What to tell a user about a read that S3 refused, beyond the error itself.
pub fn read_error_hint(text: &str) -> Option<&'static str> {
    if text.contains("ExpiredToken") || text.contains("TokenRefreshRequired") {
        Some("the AWS session token expired during the run: refresh it and run again")
    } else if text.contains("AccessDenied") || text.contains("403 Forbidden") {
        Some("access denied: the credentials lack s3:GetObject on this key")
    } else if text.contains("NoSuchKey") || text.contains("404 Not Found") {
        Some("the object is gone (deleted since it was listed?)")
    } else {
        None
    }
}

/// An error and its sources, on one line.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        let part = e.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = e.source();
    }
    text
}

/// Lists the objects of a bucket that can hold flows of the selection.
pub async fn list_bucket(bucket: &Bucket, selection: &Selection) -> Result<Listing, SourceError> {
    let mut listing = Listing::default();
    let root = Path::parse(&bucket.url.prefix).unwrap_or_else(|_| Path::from(bucket.url.prefix.as_str()));
    let mut pending: Vec<Path> = vec![root];
    while !pending.is_empty() {
        let results: Vec<_> = futures::stream::iter(std::mem::take(&mut pending))
            .map(|prefix| {
                let store = Arc::clone(&bucket.store);
                async move {
                    let listed = (!prefix.as_ref().is_empty()).then_some(prefix.clone());
                    (prefix, store.list_with_delimiter(listed.as_ref()).await)
                }
            })
            .buffer_unordered(32)
            .collect()
            .await;
        for (listed, result) in results {
            let result = result.map_err(|e| list_error(&bucket.url, e))?;
            for prefix in result.common_prefixes {
                if prefix_may_hold(prefix.as_ref(), selection) {
                    pending.push(prefix);
                } else {
                    listing.pruned_prefixes += 1;
                }
            }
            for meta in result.objects {
                // A zero-byte "folder" marker (`prefix/`) lists as the prefix itself: not an object.
                if meta.size == 0 && meta.location == listed {
                    continue;
                }
                let key = KeyInfo::parse(meta.location.as_ref());
                let name = format!("s3://{}/{}", bucket.url.bucket, meta.location);
                if selection.may_hold(&key) {
                    listing.objects.push(ObjectRef {
                        name,
                        location: meta.location.to_string(),
                        size: meta.size,
                        key,
                        etag: meta.e_tag.clone(),
                        modified: Some(meta.last_modified.timestamp()),
                    });
                } else {
                    listing.pruned += 1;
                }
            }
        }
    }
    listing.objects.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(listing)
}

fn list_error(url: &BucketUrl, err: object_store::Error) -> SourceError {
    let text = err.to_string();
    match err {
        _ if text.contains("ExpiredToken") || text.contains("TokenRefreshRequired") => {
            SourceError::ExpiredToken { url: url.to_string() }
        }
        object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. } => {
            SourceError::AccessDenied { url: url.to_string(), action: "ListObjectsV2".into() }
        }
        _ if text.contains("AccessDenied") => {
            SourceError::AccessDenied { url: url.to_string(), action: "ListObjectsV2".into() }
        }
        _ if text.contains("NoSuchBucket") => SourceError::BucketNotFound { bucket: url.bucket.clone() },
        _ if text.contains("InvalidAccessKeyId") || text.contains("SignatureDoesNotMatch") => {
            SourceError::CredentialsRejected { url: url.to_string() }
        }
        object_store::Error::NotFound { .. } => SourceError::BucketNotFound { bucket: url.bucket.clone() },
        _ => SourceError::S3 { url: url.to_string(), reason: text },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[derive(Debug)]
    struct Counting {
        calls: Arc<AtomicUsize>,
        lifetime: Duration,
    }

    impl ProvideCredentials for Counting {
        fn provide_credentials<'a>(&'a self) -> aws_credential_types::provider::future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let credentials = aws_credential_types::Credentials::new(
                "AKID",
                "secret",
                Some("token".into()),
                Some(SystemTime::now() + self.lifetime),
                "test",
            );
            aws_credential_types::provider::future::ProvideCredentials::ready(Ok(credentials))
        }
    }

    #[tokio::test]
    async fn credentials_are_fetched_once_until_they_near_expiry() {
        use object_store::CredentialProvider;
        let calls = Arc::new(AtomicUsize::new(0));
        let lasting = CachedCredentials::new(SharedCredentialsProvider::new(Counting {
            calls: Arc::clone(&calls),
            lifetime: Duration::from_secs(3600),
        }));
        for _ in 0..6 {
            let credential = lasting.get_credential().await.unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(credential.token.as_deref(), Some("token"));
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        let expiring = CachedCredentials::new(SharedCredentialsProvider::new(Counting {
            calls: Arc::clone(&calls),
            lifetime: Duration::from_secs(60),
        }));
        for _ in 0..3 {
            expiring.get_credential().await.unwrap_or_else(|e| panic!("{e}"));
        }
        assert_eq!(calls.load(Ordering::SeqCst), 2, "short-lived credentials are kept until half-life");
    }

    #[test]
    fn bucket_urls() {
        let url: BucketUrl = "s3://corp-flowlogs/AWSLogs/".parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(url, BucketUrl { bucket: "corp-flowlogs".into(), prefix: "AWSLogs".into() });
        assert_eq!(url.to_string(), "s3://corp-flowlogs/AWSLogs");
        assert_eq!("s3://logs".parse::<BucketUrl>().map(|u| u.prefix), Ok(String::new()));
        assert!("corp-flowlogs".parse::<BucketUrl>().is_err());
        assert!("s3://Bad_Bucket".parse::<BucketUrl>().is_err());
        assert!("s3://".parse::<BucketUrl>().is_err());
    }
}
