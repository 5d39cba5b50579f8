//! `listing`: the files under a folder or object-store prefix that match a glob, each made a
//! STAC item.
//!
//! The item's id is the file's stem (`f180601t01p00r06_rdn_c.hdr` → `f180601t01p00r06_rdn_c`),
//! the matched file is an asset (its key and media type from its extension unless `asset`
//! says otherwise), and each `siblings` rule adds the first existing file next to it with the
//! same stem and one of its suffixes (for ENVI headers: the image, `""`, `.img`, `.dat`, …).
//!
//! Files are read in listing order (lexicographic on S3); the cursor is the number of
//! matching files already taken, so a resume is exact as long as the listing is the same.

use crate::feeder::{Feeder, Found, Record, Records};
use crate::{Error, Result};
use chrono::{DateTime, Utc};
use cirrus_core::store::{Listed, Store};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// The `source` section of a `listing` feeder config.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListingConfig {
    /// The folder or prefix: a path, `file://` or `s3://` URL.
    pub url: String,
    /// The files to take, a glob relative to `url` (`**/*.hdr`).
    pub glob: String,
    /// The items' collection.
    #[serde(default)]
    pub collection: Option<String>,
    /// Only files modified at or after this (RFC 3339).
    #[serde(default)]
    pub modified_since: Option<DateTime<Utc>>,
    /// The matched file's asset (default: key and type from its extension).
    #[serde(default)]
    pub asset: Option<AssetRule>,
    /// Files next to the matched one to add as assets.
    #[serde(default)]
    pub siblings: Vec<SiblingRule>,
}

/// How a file becomes an asset.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetRule {
    /// The asset key.
    pub key: String,
    /// The media type.
    #[serde(default, rename = "type")]
    pub media_type: Option<String>,
    /// The asset roles.
    #[serde(default)]
    pub roles: Vec<String>,
}

/// A file next to the matched one: the same stem, one of these suffixes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiblingRule {
    /// Suffixes to try after the stem, in order; the first that exists is taken (`""`: the
    /// stem alone).
    pub suffixes: Vec<String>,
    /// Its asset.
    #[serde(flatten)]
    pub asset: AssetRule,
    /// Skip the match when no sibling exists (default: add no asset).
    #[serde(default)]
    pub required: bool,
}

/// The `listing` feeder.
pub struct ListingFeeder {
    store: Store,
    glob: globset::GlobMatcher,
    config: ListingConfig,
}

impl ListingFeeder {
    /// Builds the feeder; errors name the `source.` field.
    pub fn new(config: ListingConfig) -> Result<ListingFeeder> {
        let store = Store::open(&config.url)
            .map_err(|e| Error::invalid_argument("source.url", e.to_string()))?;
        let glob = globset::GlobBuilder::new(&config.glob)
            .literal_separator(true)
            .build()
            .map_err(|e| Error::invalid_argument("source.glob", e.to_string()))?
            .compile_matcher();
        Ok(ListingFeeder {
            store,
            glob,
            config,
        })
    }

    /// The item of `file`, or why it is skipped.
    async fn item(&self, file: &Listed) -> Result<Found> {
        let name = file.key.rsplit('/').next().unwrap_or(&file.key);
        let (stem, extension) = match name.rsplit_once('.') {
            Some((stem, ext)) if !stem.is_empty() => (stem, ext.to_ascii_lowercase()),
            _ => (name, String::new()),
        };
        let dir = &file.key[..file.key.len() - name.len()];
        let mut assets = Map::new();
        let rule = self
            .config
            .asset
            .clone()
            .unwrap_or_else(|| by_extension(&extension));
        assets.insert(
            rule.key.clone(),
            asset(&self.store.url_of(&file.key)?, &rule),
        );
        for sibling in &self.config.siblings {
            let mut taken = false;
            for suffix in &sibling.suffixes {
                let key = format!("{dir}{stem}{suffix}");
                if key != file.key && self.store.exists(&key).await? {
                    assets.insert(
                        sibling.asset.key.clone(),
                        asset(&self.store.url_of(&key)?, &sibling.asset),
                    );
                    taken = true;
                    break;
                }
            }
            if !taken && sibling.required {
                return Ok(Found::Skipped(format!(
                    "{}: no {} next to it ({stem} + one of {:?})",
                    file.key, sibling.asset.key, sibling.suffixes
                )));
            }
        }
        let mut item = json!({
            "type": "Feature",
            "stac_version": "1.1.0",
            "id": stem,
            "geometry": null,
            "properties": {"datetime": file.last_modified.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)},
            "links": [],
            "assets": assets,
        });
        if let Some(collection) = &self.config.collection {
            item["collection"] = json!(collection);
        }
        Ok(Found::Item(item))
    }
}

fn asset(href: &str, rule: &AssetRule) -> Value {
    let mut asset = json!({"href": href});
    if let Some(t) = &rule.media_type {
        asset["type"] = json!(t);
    }
    if !rule.roles.is_empty() {
        asset["roles"] = json!(rule.roles);
    }
    asset
}

/// The asset key, media type and roles for a file extension.
fn by_extension(extension: &str) -> AssetRule {
    let (key, media_type, role) = match extension {
        "hdr" => ("header", "text/plain", "metadata"),
        "tif" | "tiff" => ("data", "image/tiff; application=geotiff", "data"),
        "json" => ("metadata", "application/json", "metadata"),
        "xml" => ("metadata", "application/xml", "metadata"),
        "nc" => ("data", "application/netcdf", "data"),
        "h5" | "he5" => ("data", "application/x-hdf5", "data"),
        "jp2" => ("data", "image/jp2", "data"),
        "png" => ("thumbnail", "image/png", "thumbnail"),
        "jpg" | "jpeg" => ("thumbnail", "image/jpeg", "thumbnail"),
        _ => ("data", "application/octet-stream", "data"),
    };
    AssetRule {
        key: key.to_string(),
        media_type: Some(media_type.to_string()),
        roles: vec![role.to_string()],
    }
}

impl Feeder for ListingFeeder {
    fn name(&self) -> &str {
        "listing"
    }

    fn records(self: Box<Self>, resume: Option<Value>) -> Records {
        let skip = resume.and_then(|v| v.as_u64()).unwrap_or(0);
        // The listing runs in its own task and hands files over through a bounded channel.
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Listed>>(1000);
        let store = self.store.clone();
        tokio::spawn(async move {
            let listing = match store.list("") {
                Ok(listing) => listing,
                Err(e) => {
                    let _ = tx.send(Err(e.into())).await;
                    return;
                }
            };
            let mut listing = std::pin::pin!(listing);
            while let Some(file) = listing.next().await {
                if tx.send(file.map_err(Error::from)).await.is_err() {
                    return;
                }
            }
        });
        let feeder = std::sync::Arc::new(*self);
        let files =
            futures_util::stream::unfold(
                rx,
                |mut rx| async move { rx.recv().await.map(|f| (f, rx)) },
            );
        let mut taken = 0u64;
        files
            .filter_map(move |file| {
                let feeder = feeder.clone();
                let keep = match &file {
                    Ok(f) => {
                        feeder.glob.is_match(&f.key)
                            && feeder
                                .config
                                .modified_since
                                .is_none_or(|t| f.last_modified >= t)
                    }
                    Err(_) => true,
                };
                let position = if keep && file.is_ok() {
                    taken += 1;
                    Some(taken)
                } else {
                    None
                };
                async move {
                    match (file, position) {
                        (Err(e), _) => Some(Err(e)),
                        (Ok(_), None) => None,
                        (Ok(_), Some(n)) if n <= skip => None,
                        (Ok(f), Some(n)) => Some(
                            feeder
                                .item(&f)
                                .await
                                .map(|found| Record::new(found, json!(n))),
                        ),
                    }
                }
            })
            .boxed()
    }
}
