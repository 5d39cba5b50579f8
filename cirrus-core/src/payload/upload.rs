//! `upload_options`: where and how output items and assets are uploaded.

use super::extract::{
    Checker, KeyOrder, Known, boolean, kind, object, optional, serialize_ordered, string,
};
use super::jsonpath::JsonPath;
use super::problem::{child, index};
use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

/// How output items and assets are uploaded (`process[i].upload_options`).
#[derive(Debug, Clone, Default, PartialEq, JsonSchema)]
pub struct UploadOptions {
    /// Where items go, e.g. `/${collection}/${year}/${month}/${id}`. See
    /// [`path_template`](super::path_template).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_template: Option<String>,
    /// Assets made public: a list of asset keys, or `"ALL"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_assets: Option<PublicAssets>,
    /// Extra arguments for uploads (e.g. `CacheControl`, `StorageClass`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<Map<String, Value>>,
    /// Write `s3://` asset URLs instead of `https://` ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_urls: Option<bool>,
    /// Deprecated: collection name → JSONPath pattern; the first match wins. Use
    /// `collection_matchers` instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collections: Option<IndexMap<String, String>>,
    /// Every other member, kept as is.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
    #[serde(skip)]
    order: KeyOrder,
}

impl UploadOptions {
    /// Whether nothing is set (stac-task treats empty upload options as none).
    pub fn is_empty(&self) -> bool {
        self.path_template.is_none()
            && self.public_assets.is_none()
            && self.headers.is_none()
            && self.s3_urls.is_none()
            && self.collections.is_none()
            && self.extra.is_empty()
    }

    /// Whether `s3_urls` is set (absent means `false`).
    pub fn s3_urls(&self) -> bool {
        self.s3_urls.unwrap_or(false)
    }

    pub(crate) fn from_map(
        mut map: Map<String, Value>,
        path: &str,
        ck: &mut Checker,
    ) -> Option<UploadOptions> {
        let order = KeyOrder::of(&map);
        let path_template = optional(&mut map, "path_template", path, ck, string);
        let public_assets = optional(
            &mut map,
            "public_assets",
            path,
            ck,
            PublicAssets::from_value,
        );
        let headers = optional(&mut map, "headers", path, ck, object);
        let s3_urls = optional(&mut map, "s3_urls", path, ck, boolean);
        let collections = optional(&mut map, "collections", path, ck, |v, p, ck| {
            let map = object(v, p, ck)?;
            let mut out = IndexMap::with_capacity(map.len());
            for (name, pattern) in map {
                let pattern_path = child(p, &name);
                let Some(pattern) = string(pattern, &pattern_path, ck) else {
                    continue;
                };
                if let Err(err) = JsonPath::parse(&pattern) {
                    ck.problem(pattern_path, err.to_string());
                }
                out.insert(name, pattern);
            }
            Some(out)
        });
        if collections.is_some() {
            ck.warning(
                child(path, "collections"),
                "upload_options.collections is deprecated; use process collection_matchers",
            );
        }
        Some(UploadOptions {
            path_template,
            public_assets,
            headers,
            s3_urls,
            collections,
            extra: map,
            order,
        })
    }
}

impl Serialize for UploadOptions {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let known: [Known<'_>; 5] = [
            ("path_template", self.path_template.as_ref().map(|v| v as _)),
            ("public_assets", self.public_assets.as_ref().map(|v| v as _)),
            ("headers", self.headers.as_ref().map(|v| v as _)),
            ("s3_urls", self.s3_urls.as_ref().map(|v| v as _)),
            ("collections", self.collections.as_ref().map(|v| v as _)),
        ];
        serialize_ordered(serializer, &self.order, &known, &self.extra)
    }
}

/// `upload_options.public_assets`: the asset keys to make public, or all of them.
#[derive(Debug, Clone, PartialEq, Eq, JsonSchema)]
#[serde(untagged)]
pub enum PublicAssets {
    /// `"ALL"`: every asset.
    All(AllAssets),
    /// These asset keys.
    Keys(Vec<String>),
}

/// The literal string `"ALL"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, JsonSchema)]
pub enum AllAssets {
    /// `"ALL"`.
    #[serde(rename = "ALL")]
    All,
}

impl PublicAssets {
    /// Whether asset `key` is public.
    pub fn contains(&self, key: &str) -> bool {
        match self {
            PublicAssets::All(_) => true,
            PublicAssets::Keys(keys) => keys.iter().any(|k| k == key),
        }
    }

    fn from_value(value: Value, path: &str, ck: &mut Checker) -> Option<PublicAssets> {
        match value {
            Value::String(s) if s == "ALL" => Some(PublicAssets::All(AllAssets::All)),
            Value::Array(list) => {
                let mut keys = Vec::with_capacity(list.len());
                for (i, key) in list.into_iter().enumerate() {
                    keys.extend(string(key, &index(path, i), ck));
                }
                Some(PublicAssets::Keys(keys))
            }
            other => {
                ck.problem(
                    path,
                    format!(
                        "must be a list of asset keys or the string \"ALL\", got {}",
                        match &other {
                            Value::String(s) => format!("{s:?}"),
                            v => kind(v).to_string(),
                        }
                    ),
                );
                None
            }
        }
    }
}

impl Serialize for PublicAssets {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            PublicAssets::All(_) => serializer.serialize_str("ALL"),
            PublicAssets::Keys(keys) => keys.serialize(serializer),
        }
    }
}
