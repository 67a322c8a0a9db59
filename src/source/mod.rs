//! What to read: turns the paths a user named into a list of objects, pruned by what their keys say.
//!
//! Reads no object bodies. Pruning by `--since/--until` and `--region` only ever drops an object whose
//! key proves it holds no matching flow (see [`TimeWindow::may_hold`]); an object whose key says
//! nothing is always kept. `--account` does not prune: the account in a key owns the flow log, while
//! a record's `account-id` owns the network interface, and the two differ in shared VPCs.

mod layout;
mod local;
mod s3;

use serde::{Deserialize, Serialize};

pub use layout::{KeyInfo, TimeWindow, file_time, prefix_may_hold};
pub use local::list_local;
pub use s3::{Bucket, BucketUrl, CachedCredentials, S3Options, connect, list_bucket, read_error_hint};

/// Where the logs are and which of them can matter: plain data, resolved by the CLI.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selection {
    /// Local files and folders (read recursively).
    pub paths: Vec<String>,
    /// The time window.
    pub window: TimeWindow,
    /// Only this region (a flow log and the interfaces it records are in one region).
    pub region: Option<String>,
}

/// One object to read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectRef {
    /// How the object is named in output (the `source` column): a path as the user wrote it, or a URL.
    pub name: String,
    /// The location in its object store, as an `object_store` path (already encoded: parse it with
    /// `Path::parse`, never re-encode it with `Path::from`).
    pub location: String,
    /// Stored size in bytes.
    pub size: u64,
    /// What the key says about the object.
    pub key: KeyInfo,
    /// The store's entity tag for this version of the object (S3), if it gave one.
    pub etag: Option<String>,
    /// When the object was last modified (epoch seconds), as the store or file system says.
    pub modified: Option<i64>,
}

/// The objects of a selection, and how many were pruned.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listing {
    /// The objects to read, in a stable order.
    pub objects: Vec<ObjectRef>,
    /// Objects found but skipped because their key proves they hold no matching flow.
    pub pruned: usize,
    /// Folders (S3 prefixes) not listed because their name proves they hold no matching flow.
    pub pruned_prefixes: usize,
    /// Entries found while listing that cannot be read (e.g. a dangling link), with the reason: the
    /// scan reports them with its other problems.
    pub unreadable: Vec<(String, String)>,
}

/// Errors of the source layer: a named path that cannot be listed.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The path does not exist.
    #[error("{path}: no such file or directory")]
    NotFound {
        /// The path as given.
        path: String,
    },
    /// The path exists but cannot be read.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// No credentials could be found.
    #[error(
        "no AWS credentials found ({reason}): set AWS_PROFILE or pass --profile, run `aws configure` or \
         `aws sso login`, or use --no-sign-request for a public bucket"
    )]
    NoCredentials {
        /// What the credential chain said.
        reason: String,
    },
    /// The session token has expired.
    #[error("{url}: the AWS session token has expired: refresh it (`aws sso login`, or new temporary credentials)")]
    ExpiredToken {
        /// The bucket.
        url: String,
    },
    /// S3 does not accept the credentials.
    #[error("{url}: S3 rejected the credentials (unknown access key or wrong secret): check AWS_PROFILE/--profile")]
    CredentialsRejected {
        /// The bucket.
        url: String,
    },
    /// S3 refused an action.
    #[error(
        "{url}: access denied ({action}): the credentials in use lack s3:ListBucket/s3:GetObject on this bucket \
         and prefix; check AWS_PROFILE/--profile"
    )]
    AccessDenied {
        /// The bucket and prefix.
        url: String,
        /// The refused S3 action.
        action: String,
    },
    /// The bucket does not exist.
    #[error("s3://{bucket}: no such bucket (check the name, and --endpoint-url if it is not on AWS)")]
    BucketNotFound {
        /// The bucket.
        bucket: String,
    },
    /// The endpoint did not answer.
    #[error("cannot reach {endpoint}: {reason}")]
    Unreachable {
        /// The endpoint.
        endpoint: String,
        /// What failed.
        reason: String,
    },
    /// Any other S3 failure.
    #[error("{url}: {reason}")]
    S3 {
        /// The bucket.
        url: String,
        /// What S3 said.
        reason: String,
    },
}

impl Selection {
    /// True when an object with this key might hold flows of the selection.
    pub fn may_hold(&self, key: &KeyInfo) -> bool {
        let region = match (&self.region, &key.region) {
            (Some(want), Some(have)) => want == have,
            _ => true,
        };
        region && key.delivered.is_none_or(|d| self.window.may_hold(d))
    }
}
