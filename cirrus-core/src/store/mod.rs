//! Object stores: the payload bucket ([`PayloadBucket`]) and the place output items are
//! published to ([`ItemPublisher`]).
//!
//! A [`Store`] is an object store plus a key prefix, opened from a URL:
//!
//! - `file:///abs/path` or a plain path (relative paths are made absolute): a folder on the
//!   local filesystem. The folder need not exist; writes create what they need.
//! - `s3://bucket/prefix`: an S3 bucket, with cirrus-core's `aws` feature only. Credentials,
//!   region and endpoint come from the environment (`AWS_ACCESS_KEY_ID`, `AWS_REGION`,
//!   `AWS_ENDPOINT`, `AWS_ALLOW_HTTP`, …), as `object_store`'s `AmazonS3Builder::from_env`
//!   reads them, and from the options given to [`Store::open_with`], which take precedence.
//!
//! Keys are `/`-separated paths below the prefix. A key segment may be any text except
//! empty, `.`, `..`, or text with control characters; those keys are refused rather than
//! rewritten, so a key is always the same object on S3 as on disk.
//!
//! Every write is atomic: the local backend writes a temporary file next to the target and
//! renames it into place, and an S3 `PUT` replaces the object whole. A crash never leaves a
//! half-written JSON object behind.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use cirrus_core::store::Store;
//! use serde_json::json;
//!
//! let dir = tempfile::tempdir().unwrap();
//! let store = Store::open(dir.path().to_str().unwrap())?;
//! let url = store.put_json("a/b.json", &json!({"x": 1})).await?;
//! assert!(url.starts_with("file:///") && url.ends_with("/a/b.json"));
//! assert_eq!(store.get_json("a/b.json").await?, Some(json!({"x": 1})));
//! assert_eq!(cirrus_core::store::fetch_json(&url).await?, json!({"x": 1}));
//! # Ok::<(), cirrus_core::Error>(())
//! # }).unwrap();
//! ```

mod bucket;
mod items;
mod location;

pub use bucket::{DEFAULT_ROOT, PayloadBucket};
pub use items::{ItemPublisher, ItemStatus, PublishedItem, upload_options_of};

use crate::{Error, Result};
use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt};
use location::Location;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use serde_json::Value;
use std::fmt;
use std::sync::Arc;

/// An object store and a key prefix within it.
#[derive(Clone)]
pub struct Store {
    inner: Arc<dyn ObjectStore>,
    location: Location,
    prefix: Path,
    options: Options,
    /// Local writes are not flushed one by one: [`Store::sync`] flushes them together.
    deferred_sync: bool,
}

/// S3 client options (`object_store` configuration keys and values), shared by the stores
/// opened from one another.
type Options = Arc<[(String, String)]>;

/// One object found by [`Store::list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// The key, relative to the store's prefix.
    pub key: String,
    /// When the object was last written.
    pub last_modified: DateTime<Utc>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store").field("url", &self.url()).finish()
    }
}

impl Store {
    /// Opens the store at `url`: `file:///abs/path`, a plain path, or `s3://bucket/prefix`
    /// (with the `aws` feature).
    pub fn open(url: &str) -> Result<Store> {
        Store::open_with(url, std::iter::empty::<(String, String)>())
    }

    /// Opens the store at `url` with S3 client options: `object_store`'s `AmazonS3ConfigKey`
    /// names (`aws_endpoint`, `aws_region`, `aws_access_key_id`, `aws_secret_access_key`,
    /// `aws_allow_http`, `aws_virtual_hosted_style_request`, …) and their values. Options
    /// are ignored by local stores, and passed on to the stores opened from this one
    /// ([`Store::open_like`]).
    pub fn open_with<K, V>(url: &str, options: impl IntoIterator<Item = (K, V)>) -> Result<Store>
    where
        K: Into<String>,
        V: Into<String>,
    {
        let options: Options = options
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        let (location, prefix) = Location::parse(url)?;
        let inner = location.connect(url, &options)?;
        Ok(Store {
            inner,
            location,
            prefix,
            options,
            deferred_sync: false,
        })
    }

    /// Opens the store at `url` with this store's options.
    pub fn open_like(&self, url: &str) -> Result<Store> {
        Store::open_with(url, self.options.iter().cloned())
    }

    /// Opens the store holding the object at `url`, and returns it with the object's key.
    pub fn open_object(url: &str) -> Result<(Store, String)> {
        Store::open_object_with(url, Arc::from([]))
    }

    /// [`Store::open_object`] with `options`.
    fn open_object_with(url: &str, options: Options) -> Result<(Store, String)> {
        let (location, path) = Location::parse(url)?;
        let mut parts: Vec<String> = path.parts().map(|p| p.as_ref().to_string()).collect();
        let Some(key) = parts.pop() else {
            return Err(store_error(url, "names a folder or bucket, not an object"));
        };
        let inner = location.connect(url, &options)?;
        let prefix = Path::parse(parts.join("/"))
            .map_err(|err| store_source(url, "invalid object path", err))?;
        Ok((
            Store {
                inner,
                location,
                prefix,
                options,
                deferred_sync: false,
            },
            key,
        ))
    }

    /// The URL of the store's prefix (`file:///…` or `s3://bucket/prefix`).
    pub fn url(&self) -> String {
        self.location.url_of(&self.prefix)
    }

    /// The store one level down: keys of the result are relative to `key`.
    pub fn child(&self, key: &str) -> Result<Store> {
        Ok(Store {
            inner: Arc::clone(&self.inner),
            location: self.location.clone(),
            prefix: self.path(key)?,
            options: Arc::clone(&self.options),
            deferred_sync: self.deferred_sync,
        })
    }

    /// This store, with local writes no longer flushed to disk one by one (each file, its
    /// folder and every folder it creates: about four `fsync`s a file) but together by
    /// [`Store::sync`], which the writer calls before anything depends on them being on
    /// disk. The local pipeline archives a batch's inputs and outputs and writes its items
    /// this way, then syncs once before recording the batch's states. S3 stores are
    /// unchanged: a `PUT` is durable when it returns.
    pub fn with_deferred_sync(&self) -> Store {
        match self.location {
            Location::Local => Store {
                inner: Location::local(false),
                location: self.location.clone(),
                prefix: self.prefix.clone(),
                options: Arc::clone(&self.options),
                deferred_sync: true,
            },
            _ => self.clone(),
        }
    }

    /// Flushes to disk every write made through a store from
    /// [`Store::with_deferred_sync`]: one `syncfs` of the file system holding the store's
    /// folder. Does nothing for other stores, whose writes are durable when they return.
    pub async fn sync(&self) -> Result<()> {
        if !self.deferred_sync || !matches!(self.location, Location::Local) {
            return Ok(());
        }
        let folder = std::path::PathBuf::from("/").join(self.prefix.as_ref());
        let url = self.url();
        tokio::task::spawn_blocking(move || sync_file_system(&folder))
            .await
            .map_err(|err| store_source(&url, "the sync task failed", err))?
            .map_err(|err| store_source(&url, "cannot flush the writes to disk (syncfs)", err))
    }

    /// Reads the JSON object at `url`, anywhere (not only in this store), opening its store
    /// with this store's options.
    pub async fn fetch_json(&self, url: &str) -> Result<Value> {
        let (store, key) = Store::open_object_with(url, Arc::clone(&self.options))?;
        let bytes = store
            .get(&key)
            .await?
            .ok_or_else(|| Error::ObjectNotFound(url.to_string()))?;
        parse_json(url, &bytes)
    }

    /// The absolute URL of the object at `key`.
    pub fn url_of(&self, key: &str) -> Result<String> {
        Ok(self.location.url_of(&self.path(key)?))
    }

    /// Writes `bytes` at `key`, atomically, and returns the object's URL.
    pub async fn put(&self, key: &str, bytes: impl Into<Vec<u8>>) -> Result<String> {
        let path = self.path(key)?;
        let url = self.location.url_of(&path);
        let payload = PutPayload::from(bytes.into());
        self.inner
            .put(&path, payload)
            .await
            .map_err(|err| store_source(&url, "write failed", err))?;
        tracing::debug!(%url, "object written");
        Ok(url)
    }

    /// Reads the object at `key`; `None` when there is none.
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let path = self.path(key)?;
        let read = async {
            let result = self.inner.get(&path).await?;
            result.bytes().await
        };
        match read.await {
            Ok(bytes) => Ok(Some(bytes.to_vec())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(err) => Err(store_source(
                &self.location.url_of(&path),
                "read failed",
                err,
            )),
        }
    }

    /// Copies the local file `file` to `key`, streaming it in parts (a multi-gigabyte
    /// raster is never held in memory), and returns the object's URL. The object appears
    /// whole or not at all.
    pub async fn put_file(&self, key: &str, file: &std::path::Path) -> Result<String> {
        use tokio::io::AsyncReadExt;
        const PART: usize = 8 << 20;
        let path = self.path(key)?;
        let url = self.location.url_of(&path);
        let mut source = tokio::fs::File::open(file).await.map_err(|err| {
            store_source(
                &url,
                format!("cannot open {} to upload it", file.display()),
                err,
            )
        })?;
        let upload = self
            .inner
            .put_multipart(&path)
            .await
            .map_err(|err| store_source(&url, "write failed", err))?;
        let mut writer = object_store::WriteMultipart::new_with_chunk_size(upload, PART);
        let mut buffer = vec![0u8; PART];
        loop {
            let read = match source.read(&mut buffer).await {
                Ok(read) => read,
                Err(err) => {
                    let _ = writer.abort().await;
                    return Err(store_source(
                        &url,
                        format!("cannot read {} to upload it", file.display()),
                        err,
                    ));
                }
            };
            if read == 0 {
                break;
            }
            writer.write(&buffer[..read]);
        }
        writer
            .finish()
            .await
            .map_err(|err| store_source(&url, "write failed", err))?;
        tracing::debug!(%url, file = %file.display(), "file uploaded");
        Ok(url)
    }

    /// Copies the object at `key` to the local file `file`, streaming it. `Ok(false)` when
    /// there is no such object (and no file is written).
    pub async fn get_to_file(&self, key: &str, file: &std::path::Path) -> Result<bool> {
        use tokio::io::AsyncWriteExt;
        let path = self.path(key)?;
        let url = self.location.url_of(&path);
        let result = match self.inner.get(&path).await {
            Ok(result) => result,
            Err(object_store::Error::NotFound { .. }) => return Ok(false),
            Err(err) => return Err(store_source(&url, "read failed", err)),
        };
        let mut out = tokio::fs::File::create(file).await.map_err(|err| {
            store_source(
                &url,
                format!("cannot create the download {}", file.display()),
                err,
            )
        })?;
        let mut stream = result.into_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|err| store_source(&url, "read failed", err))?;
            out.write_all(&chunk).await.map_err(|err| {
                store_source(
                    &url,
                    format!("cannot write the download {}", file.display()),
                    err,
                )
            })?;
        }
        out.flush().await.map_err(|err| {
            store_source(
                &url,
                format!("cannot write the download {}", file.display()),
                err,
            )
        })?;
        Ok(true)
    }

    /// Whether there is an object at `key`.
    pub async fn exists(&self, key: &str) -> Result<bool> {
        let path = self.path(key)?;
        match self.inner.head(&path).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(err) => Err(store_source(
                &self.location.url_of(&path),
                "read failed",
                err,
            )),
        }
    }

    /// Writes `value` as JSON at `key` and returns the object's URL.
    pub async fn put_json(&self, key: &str, value: &Value) -> Result<String> {
        self.put(key, serde_json::to_vec(value)?).await
    }

    /// Reads the JSON object at `key`; `None` when there is none.
    pub async fn get_json(&self, key: &str) -> Result<Option<Value>> {
        let Some(bytes) = self.get(key).await? else {
            return Ok(None);
        };
        parse_json(&self.url_of(key)?, &bytes).map(Some)
    }

    /// Every object below `dir` (a key prefix ending at a segment boundary), at any depth,
    /// in no particular order. An empty `dir` lists the whole store.
    pub fn list(&self, dir: &str) -> Result<impl Stream<Item = Result<Listed>> + '_> {
        let path = self.path(dir)?;
        let url = self.location.url_of(&path);
        Ok(self.inner.list(Some(&path)).map(move |meta| {
            let meta = meta.map_err(|err| store_source(&url, "listing failed", err))?;
            let key = meta
                .location
                .prefix_match(&self.prefix)
                .map(|parts| {
                    parts
                        .map(|p| p.as_ref().to_string())
                        .collect::<Vec<_>>()
                        .join("/")
                })
                .unwrap_or_else(|| meta.location.to_string());
            Ok(Listed {
                key,
                last_modified: meta.last_modified,
            })
        }))
    }

    /// The full path of `key` below the prefix; refuses keys that are not valid paths.
    fn path(&self, key: &str) -> Result<Path> {
        let relative = Path::parse(key).map_err(|err| {
            store_error(
                &format!("{}/{key}", self.url()),
                format!("invalid object key {key:?}: {err}"),
            )
        })?;
        Ok(self.prefix.parts().chain(relative.parts()).collect())
    }
}

/// Reads the object at `url` (`file://`, a plain path, or `s3://` with the `aws` feature).
pub async fn fetch(url: &str) -> Result<Vec<u8>> {
    let (store, key) = Store::open_object(url)?;
    store
        .get(&key)
        .await?
        .ok_or_else(|| Error::ObjectNotFound(url.to_string()))
}

/// Reads and parses the JSON object at `url`.
pub async fn fetch_json(url: &str) -> Result<Value> {
    parse_json(url, &fetch(url).await?)
}

fn parse_json(url: &str, bytes: &[u8]) -> Result<Value> {
    serde_json::from_slice(bytes).map_err(|err| store_source(url, "not valid JSON", err))
}

/// An [`Error::Store`] without a source.
pub(crate) fn store_error(url: &str, message: impl Into<String>) -> Error {
    Error::Store {
        url: url.to_string(),
        message: message.into(),
        source: None,
    }
}

/// An [`Error::Store`] with a source.
pub(crate) fn store_source(
    url: &str,
    message: impl Into<String>,
    source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
) -> Error {
    Error::Store {
        url: url.to_string(),
        message: message.into(),
        source: Some(source.into()),
    }
}

#[cfg(test)]
mod tests;

/// `syncfs(2)` on the file system holding `folder`, or its nearest existing parent (a
/// folder not created yet holds no writes of its own, and its parent is where it would be).
fn sync_file_system(folder: &std::path::Path) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let mut at = folder;
    let file = loop {
        match std::fs::File::open(at) {
            Ok(file) => break file,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => match at.parent() {
                Some(parent) => at = parent,
                None => return Err(err),
            },
            Err(err) => return Err(err),
        }
    };
    // SAFETY: `file` is an open descriptor for the whole call.
    if unsafe { libc::syncfs(file.as_raw_fd()) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}
