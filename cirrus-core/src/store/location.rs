//! Where a [`Store`](super::Store) lives, a local folder or an S3 bucket, and how URLs map to
//! it and back.

use super::{store_error, store_source};
use crate::Result;
use object_store::ObjectStore;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use std::path::{Component, PathBuf};
use std::sync::Arc;
use url::Url;

/// The backend of a store. Paths within it are [`Path`]s: from the filesystem root for
/// [`Location::Local`], from the bucket root for [`Location::S3`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Location {
    /// The local filesystem.
    Local,
    /// An S3 bucket.
    S3 {
        /// The bucket name.
        bucket: String,
    },
}

impl Location {
    /// The backend and path named by `url`: `s3://bucket/key`, `file:///abs/path`, or a plain
    /// (absolute or relative) path. `.` and `..` in local paths are resolved lexically.
    pub(super) fn parse(url: &str) -> Result<(Location, Path)> {
        if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(store_error(url, "an s3:// URL needs a bucket name"));
            }
            let path = Path::parse(key).map_err(|err| store_source(url, "invalid S3 key", err))?;
            let bucket = bucket.to_string();
            return Ok((Location::S3 { bucket }, path));
        }
        let fs_path = if url.starts_with("file:") {
            let parsed =
                Url::parse(url).map_err(|err| store_source(url, "invalid file URL", err))?;
            parsed.to_file_path().map_err(|()| {
                store_error(
                    url,
                    "a file URL must name a local absolute path (file:///…)",
                )
            })?
        } else if let Some((scheme, _)) = url.split_once("://") {
            return Err(store_error(
                url,
                format!("unsupported URL scheme {scheme:?}: use file://, a path, or s3://"),
            ));
        } else if url.is_empty() {
            return Err(store_error(url, "empty path"));
        } else {
            PathBuf::from(url)
        };
        let absolute = std::path::absolute(&fs_path)
            .map_err(|err| store_source(url, "cannot make the path absolute", err))?;
        let path = Path::from_absolute_path(normalize(&absolute))
            .map_err(|err| store_source(url, "invalid local path", err))?;
        Ok((Location::Local, path))
    }

    /// The object store client for this backend.
    pub(super) fn connect(
        &self,
        url: &str,
        options: &[(String, String)],
    ) -> Result<Arc<dyn ObjectStore>> {
        match self {
            // fsync: a write is on disk (file and directory entry) before it returns.
            Location::Local => Ok(Location::local(true)),
            Location::S3 { bucket } => connect_s3(url, bucket, options),
        }
    }

    /// A local file system client; with `fsync`, each write is flushed to disk (the file,
    /// its folder and the folders it creates) before it returns.
    pub(super) fn local(fsync: bool) -> Arc<dyn ObjectStore> {
        Arc::new(LocalFileSystem::new().with_fsync(fsync))
    }

    /// The absolute URL of `path`: `file:///…` (percent-encoded as needed) or `s3://…`.
    pub(super) fn url_of(&self, path: &Path) -> String {
        match self {
            Location::Local => {
                let fs_path = PathBuf::from("/").join(path.as_ref());
                Url::from_file_path(&fs_path)
                    .map(String::from)
                    .unwrap_or_else(|()| format!("file:///{path}"))
            }
            Location::S3 { bucket } if path.as_ref().is_empty() => format!("s3://{bucket}"),
            Location::S3 { bucket } => format!("s3://{bucket}/{path}"),
        }
    }
}

#[cfg(feature = "aws")]
fn connect_s3(
    url: &str,
    bucket: &str,
    options: &[(String, String)],
) -> Result<Arc<dyn ObjectStore>> {
    let mut builder = object_store::aws::AmazonS3Builder::from_env();
    for (key, value) in options {
        let key = key
            .parse::<object_store::aws::AmazonS3ConfigKey>()
            .map_err(|err| store_source(url, format!("unknown S3 option {key:?}"), err))?;
        builder = builder.with_config(key, value);
    }
    let s3 = builder
        .with_bucket_name(bucket)
        .build()
        .map_err(|err| store_source(url, "cannot configure the S3 client", err))?;
    Ok(Arc::new(s3))
}

#[cfg(not(feature = "aws"))]
fn connect_s3(
    url: &str,
    _bucket: &str,
    _options: &[(String, String)],
) -> Result<Arc<dyn ObjectStore>> {
    Err(store_error(
        url,
        "s3:// URLs need cirrus-core's `aws` feature, and this build does not have it",
    ))
}

/// `path` with `.` dropped and `..` applied, without touching the filesystem.
fn normalize(path: &std::path::Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}
