//! Publishing output items, as stac-task's `Task.upload_item_to_s3` does.
//!
//! Each item is written as `<path_template rendered for the item>/<item id>.json`, using the
//! upload options of its collection (`collection_options[collection].upload_options`, else
//! the process definition's `upload_options`). A rendered path that is a URL (`s3://…`,
//! `file://…`) names its own store (opened with the publisher's S3 options); any other path
//! is relative to the publisher's store.
//!
//! Before writing, the item is changed exactly as stac-task changes it:
//!
//! - `properties.created` is taken from the object already at that URL when there is one
//!   (even if that object has none), else from the item; when still missing it is set to now;
//! - `properties.updated` is set to now;
//! - the `self` and `canonical` links are replaced by links to the written object's URL.
//!
//! Timestamps are written as pystac writes them: `2025-01-02T03:04:05.123456Z`, without the
//! fraction when the microseconds are zero. Publishing the same item twice gives the same
//! object apart from `updated`.
//!
//! `public_assets` names assets to upload with a public-read ACL (`"ALL"` for all). Assets are
//! not uploaded here, and the item itself is not public (stac-task's default), so the keys
//! are only resolved, against the item's assets, and returned in
//! [`PublishedItem::public_assets`] for whoever uploads the assets.

use super::Store;
use crate::payload::path_template::PathTemplate;
use crate::payload::{Feature, ProcessDefinition, ProcessPayload, PublicAssets, UploadOptions};
use crate::state::Timestamp;
use crate::{Error, Result};
use serde_json::{Map, Value, json};

/// Whether a published item is new or an update, by cirrus-geo's rule (update-state's
/// `status` attribute): `created` when `properties.created` equals `properties.updated`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ItemStatus {
    /// First written now.
    Created,
    /// Written before (or created elsewhere with an earlier `created`).
    Updated,
}

impl ItemStatus {
    /// `"created"` or `"updated"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemStatus::Created => "created",
            ItemStatus::Updated => "updated",
        }
    }
}

/// One item written by [`ItemPublisher`].
#[derive(Debug, Clone, PartialEq)]
pub struct PublishedItem {
    /// The item ID.
    pub id: String,
    /// The absolute URL of the written object (also its `self` link).
    pub url: String,
    /// Created or updated.
    pub status: ItemStatus,
    /// The keys of the item's assets that `public_assets` makes public, in asset order.
    pub public_assets: Vec<String>,
    /// The item as written.
    pub item: Value,
}

/// Writes output items under their `path_template`.
#[derive(Debug, Clone)]
pub struct ItemPublisher {
    data: Store,
}

impl ItemPublisher {
    /// A publisher that resolves relative `path_template`s against `data`.
    pub fn new(data: Store) -> ItemPublisher {
        ItemPublisher { data }
    }

    /// This publisher with its local writes flushed together by [`Store::sync`] rather than
    /// one by one ([`Store::with_deferred_sync`]).
    pub fn with_deferred_sync(&self) -> ItemPublisher {
        ItemPublisher {
            data: self.data.with_deferred_sync(),
        }
    }

    /// The store relative `path_template`s are resolved against.
    pub fn store(&self) -> &Store {
        &self.data
    }

    /// A publisher that resolves relative `path_template`s against the store at `url`.
    pub fn open(url: &str) -> Result<ItemPublisher> {
        Ok(ItemPublisher::new(Store::open(url)?))
    }

    /// Publishes every item of `payload`, in order, with the upload options of its
    /// collection. Stops at the first error; items written before it stay written.
    pub async fn publish(
        &self,
        payload: &ProcessPayload,
        now: Timestamp,
    ) -> Result<Vec<PublishedItem>> {
        let definition = payload.process_definition();
        let mut published = Vec::with_capacity(payload.features.len());
        for item in &payload.features {
            let Some(options) = upload_options_of(definition, item) else {
                return Err(missing_template(item));
            };
            published.push(self.publish_item(item, options, now).await?);
        }
        Ok(published)
    }

    /// Where `item` is published with `options`: the store of the folder its
    /// `path_template` renders to, and the item's key in it (`<id>.json`). Tasks write an
    /// item's assets next to it, in the same store, as stac-task does.
    pub fn item_location(
        &self,
        item: &Feature,
        options: &UploadOptions,
    ) -> Result<(Store, String)> {
        let Some(template) = options.path_template.as_deref() else {
            return Err(missing_template(item));
        };
        let rendered = PathTemplate::new(template).render(item)?;
        self.target(&rendered, item.id())
    }

    /// Publishes one item with `options`.
    pub async fn publish_item(
        &self,
        item: &Feature,
        options: &UploadOptions,
        now: Timestamp,
    ) -> Result<PublishedItem> {
        let (store, key) = self.item_location(item, options)?;
        let url = store.url_of(&key)?;

        let existing = store.get_json(&key).await?;
        let now = pystac_datetime(now);
        let mut map = item.as_map().clone();
        let created = match &existing {
            Some(old) => old.pointer("/properties/created").cloned(),
            None => item.properties().and_then(|p| p.get("created")).cloned(),
        }
        .filter(|created| !created.is_null())
        .unwrap_or_else(|| Value::String(now.clone()));
        let status = if created.as_str() == Some(now.as_str()) {
            ItemStatus::Created
        } else {
            ItemStatus::Updated
        };
        let properties = object_member(&mut map, "properties", item.id())?;
        properties.insert("created".into(), created);
        properties.insert("updated".into(), Value::String(now));
        set_self_links(&mut map, &url, item.id())?;
        let public_assets = public_asset_keys(&map, options.public_assets.as_ref());

        let value = Value::Object(map);
        store.put_json(&key, &value).await?;
        tracing::info!(item = item.id(), %url, status = status.as_str(), "item published");
        Ok(PublishedItem {
            id: item.id().to_string(),
            url,
            status,
            public_assets,
            item: value,
        })
    }

    /// The store of the folder `<rendered>` and the key `<id>.json` in it.
    fn target(&self, rendered: &str, id: &str) -> Result<(Store, String)> {
        let dir = rendered.trim_end_matches('/');
        if dir.contains("://") {
            return Ok((self.data.open_like(dir)?, format!("{id}.json")));
        }
        let dir = dir.trim_start_matches('/');
        let store = if dir.is_empty() {
            self.data.clone()
        } else {
            self.data.child(dir)?
        };
        Ok((store, format!("{id}.json")))
    }
}

/// The upload options of `item`: those of its collection
/// (`collection_options[<collection>].upload_options`), else the payload's.
pub fn upload_options_of<'a>(
    definition: &'a ProcessDefinition,
    item: &Feature,
) -> Option<&'a UploadOptions> {
    match item.collection() {
        Some(collection) => definition.upload_options_for(collection),
        None => definition.upload_options.as_ref(),
    }
}

fn missing_template(item: &Feature) -> Error {
    Error::invalid_argument(
        "upload_options.path_template",
        format!(
            "item {:?} (collection {:?}): no path_template in its upload options",
            item.id(),
            item.collection().unwrap_or("none")
        ),
    )
}

/// `map[key]` as an object, created empty when absent.
fn object_member<'a>(
    map: &'a mut Map<String, Value>,
    key: &'static str,
    id: &str,
) -> Result<&'a mut Map<String, Value>> {
    match map.entry(key).or_insert_with(|| json!({})) {
        Value::Object(member) => Ok(member),
        other => Err(Error::invalid_argument(
            "features",
            format!("item {id:?}: {key} must be an object, got {other}"),
        )),
    }
}

/// Replaces the `self` and `canonical` links with links to `url` (canonical first, as
/// stac-task adds them).
fn set_self_links(map: &mut Map<String, Value>, url: &str, id: &str) -> Result<()> {
    let links = match map.entry("links").or_insert_with(|| json!([])) {
        Value::Array(links) => links,
        other => {
            return Err(Error::invalid_argument(
                "features",
                format!("item {id:?}: links must be an array, got {other}"),
            ));
        }
    };
    links.retain(|link| {
        !matches!(
            link.get("rel").and_then(Value::as_str),
            Some("self" | "canonical")
        )
    });
    for rel in ["canonical", "self"] {
        links.push(json!({"rel": rel, "href": url, "type": "application/json"}));
    }
    Ok(())
}

/// The keys of the item's assets that `public` selects, in asset order.
fn public_asset_keys(map: &Map<String, Value>, public: Option<&PublicAssets>) -> Vec<String> {
    let (Some(public), Some(Value::Object(assets))) = (public, map.get("assets")) else {
        return Vec::new();
    };
    assets
        .keys()
        .filter(|key| public.contains(key))
        .cloned()
        .collect()
}

/// pystac's `datetime_to_str`: ISO 8601 with `Z`, microseconds only when not zero.
fn pystac_datetime(t: Timestamp) -> String {
    let dt = t.to_datetime();
    if dt.timestamp_subsec_micros() == 0 {
        dt.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    } else {
        dt.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
    }
}

#[cfg(test)]
#[path = "items_tests.rs"]
mod tests;
