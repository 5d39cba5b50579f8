//! `stac-catalog`: crawl a static STAC catalog, local or in an object store, following its
//! `child` and `item` links (relative or absolute) depth first.
//!
//! Only the catalogs on the path from the root to the current one are in memory, with their
//! links. The cursor is that path, with the index of the next link of each: resuming reads
//! those catalogs again and carries on.

use crate::feeder::{Feeder, Found, Record, Records};
use crate::{Error, Result};
use futures_util::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The `source` section of a `stac-catalog` feeder config.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogConfig {
    /// The root catalog (or collection) document: a path, `file://` or `s3://` URL.
    pub url: String,
    /// Only items of these collections (default: every item).
    #[serde(default)]
    pub collections: Vec<String>,
    /// How deep to follow `child` links (default: no limit).
    #[serde(default)]
    pub max_depth: Option<usize>,
}

/// The `stac-catalog` feeder.
pub struct CatalogFeeder {
    root: url::Url,
    collections: Vec<String>,
    max_depth: usize,
}

/// A catalog being read: its URL, its `child`/`item` links (resolved), and the next one.
struct Frame {
    url: url::Url,
    links: Vec<(bool, url::Url)>,
    next: usize,
}

#[derive(Debug, Serialize, Deserialize)]
struct Position {
    /// `(catalog URL, index of its next link)`, from the root down.
    path: Vec<(String, usize)>,
}

impl CatalogFeeder {
    /// Builds the feeder; a plain path is made a `file://` URL.
    pub fn new(config: CatalogConfig) -> Result<CatalogFeeder> {
        Ok(CatalogFeeder {
            root: to_url(&config.url).map_err(|m| Error::invalid_argument("source.url", m))?,
            collections: config.collections,
            max_depth: config.max_depth.unwrap_or(usize::MAX),
        })
    }

    /// Reads a catalog and resolves its links.
    async fn frame(url: url::Url, next: usize) -> Result<Frame> {
        let doc = fetch(&url).await?;
        let mut links = Vec::new();
        for link in doc
            .get("links")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let rel = link.get("rel").and_then(Value::as_str).unwrap_or_default();
            let child = match rel {
                "child" => true,
                "item" => false,
                _ => continue,
            };
            let Some(href) = link.get("href").and_then(Value::as_str) else {
                return Err(invalid(&url, format!("a {rel} link has no href")));
            };
            let target = url
                .join(href)
                .map_err(|e| invalid(&url, format!("link {href:?}: {e}")))?;
            links.push((child, target));
        }
        Ok(Frame { url, links, next })
    }

    /// The next record, and the frames after it; `None` at the end.
    async fn step(&self, mut frames: Vec<Frame>) -> Result<Option<(Record, Vec<Frame>)>> {
        loop {
            let Some(top) = frames.last_mut() else {
                return Ok(None);
            };
            let Some((child, target)) = top.links.get(top.next).cloned() else {
                frames.pop();
                continue;
            };
            top.next += 1;
            if child {
                if frames.len() <= self.max_depth {
                    frames.push(CatalogFeeder::frame(target, 0).await?);
                }
                continue;
            }
            let item = fetch(&target).await?;
            let found = match item.get("collection").and_then(Value::as_str) {
                Some(c)
                    if !self.collections.is_empty() && !self.collections.iter().any(|x| x == c) =>
                {
                    Found::Skipped(format!("{target}: collection {c} not selected"))
                }
                None if !self.collections.is_empty() => {
                    Found::Skipped(format!("{target}: no collection"))
                }
                _ if item.get("type").and_then(Value::as_str) != Some("Feature") => {
                    Found::Skipped(format!("{target}: not a STAC item"))
                }
                _ => Found::Item(item),
            };
            let cursor = serde_json::to_value(Position {
                path: frames.iter().map(|f| (f.url.to_string(), f.next)).collect(),
            })
            .expect("a position is JSON");
            return Ok(Some((Record::new(found, cursor), frames)));
        }
    }
}

impl Feeder for CatalogFeeder {
    fn name(&self) -> &str {
        "stac-catalog"
    }

    fn records(self: Box<Self>, resume: Option<Value>) -> Records {
        let feeder = *self;
        let start = async move {
            let frames = match resume {
                None => vec![CatalogFeeder::frame(feeder.root.clone(), 0).await?],
                Some(value) => {
                    let position: Position = serde_json::from_value(value).map_err(|e| {
                        Error::invalid_argument(
                            "checkpoint",
                            format!("not a stac-catalog cursor: {e}"),
                        )
                    })?;
                    let mut frames = Vec::new();
                    for (url, next) in position.path {
                        let url = url::Url::parse(&url)
                            .map_err(|e| Error::invalid_argument("checkpoint", e.to_string()))?;
                        frames.push(CatalogFeeder::frame(url, next).await?);
                    }
                    frames
                }
            };
            Ok::<_, Error>((feeder, frames))
        };
        futures_util::stream::once(start)
            .map_ok(|(feeder, frames)| {
                futures_util::stream::try_unfold((feeder, frames), |(feeder, frames)| async move {
                    Ok(feeder
                        .step(frames)
                        .await?
                        .map(|(record, frames)| (record, (feeder, frames))))
                })
            })
            .try_flatten()
            .boxed()
    }
}

/// A URL for `location`: a URL as is, a path made absolute and a `file://` URL.
pub(crate) fn to_url(location: &str) -> std::result::Result<url::Url, String> {
    if location.contains("://") {
        return url::Url::parse(location).map_err(|e| format!("{location:?}: {e}"));
    }
    let path = std::path::absolute(location).map_err(|e| format!("{location:?}: {e}"))?;
    url::Url::from_file_path(&path).map_err(|()| format!("{location:?} is not a usable path"))
}

async fn fetch(url: &url::Url) -> Result<Value> {
    Ok(cirrus_core::store::fetch_json(url.as_str()).await?)
}

fn invalid(url: &url::Url, message: String) -> Error {
    Error::InvalidDocument {
        url: url.to_string(),
        message,
    }
}
