//! Reading input assets and writing output assets: local paths, `file://` URLs and any
//! object store URL (`s3://…`) through `cirrus_core::store`.

use crate::env::TaskEnv;
use crate::error::{Error, Result};
use cirrus_core::payload::{Feature, ProcessPayload};
use cirrus_core::store::{ItemPublisher, Store, upload_options_of};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A run's scratch folder: removed when dropped, unless the environment keeps it.
#[derive(Debug)]
pub struct Workdir {
    dir: Option<tempfile::TempDir>,
    path: PathBuf,
}

impl Workdir {
    /// A fresh scratch folder for a run of `task`.
    pub fn new(env: &TaskEnv, task: &str) -> Result<Workdir> {
        let mut builder = tempfile::Builder::new();
        let prefix = format!("cirrus-{task}-");
        builder.prefix(&prefix);
        let made = match env.workdir_root() {
            Some(root) => {
                std::fs::create_dir_all(root)
                    .map_err(|err| Error::io(root, "cannot create the work folder", err))?;
                builder.tempdir_in(root)
            }
            None => builder.tempdir(),
        };
        let dir = made.map_err(|err| {
            Error::io(
                env.workdir_root().unwrap_or(Path::new("$TMPDIR")),
                "cannot create a scratch folder",
                err,
            )
        })?;
        let path = dir.path().to_path_buf();
        if env.keeps_workdir() {
            tracing::info!(task, workdir = %path.display(), "keeping the work folder");
            let _ = dir.keep();
            Ok(Workdir { dir: None, path })
        } else {
            Ok(Workdir {
                dir: Some(dir),
                path,
            })
        }
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the folder outlives this value.
    pub fn is_kept(&self) -> bool {
        self.dir.is_none()
    }
}

/// The href of `item`'s asset `key`, made absolute against the item's `self` link when it
/// is relative.
pub fn asset_href(item: &Feature, key: &str) -> Result<String> {
    let href = item
        .as_value()
        .pointer(&format!(
            "/assets/{}",
            key.replace('~', "~0").replace('/', "~1")
        ))
        .ok_or_else(|| Error::item(item.id(), format!("has no asset {key:?}")))?
        .get("href")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::item(item.id(), format!("asset {key:?} has no string href")))?;
    Ok(absolute_href(item, href))
}

/// `href` made absolute against `item`'s `self` link, when it is relative and there is one.
pub fn absolute_href(item: &Feature, href: &str) -> String {
    if href.contains("://") || href.starts_with('/') {
        return href.to_string();
    }
    let self_href = item
        .as_value()
        .get("links")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|link| link.get("rel").and_then(Value::as_str) == Some("self"))
        .and_then(|link| link.get("href").and_then(Value::as_str));
    match self_href.and_then(|s| s.rfind('/').map(|slash| &s[..=slash])) {
        Some(base) => format!("{base}{}", href.trim_start_matches("./")),
        None => href.to_string(),
    }
}

/// A local path for the file at `href`: the file itself when it is local (a path or a
/// `file://` URL), else a copy downloaded into `dir`.
pub async fn fetch(href: &str, dir: &Path) -> Result<PathBuf> {
    match try_fetch(href, dir).await? {
        Some(path) => Ok(path),
        None => Err(Error::asset(href, "no such file or object")),
    }
}

/// [`fetch`], with `Ok(None)` when there is no such file or object.
pub async fn try_fetch(href: &str, dir: &Path) -> Result<Option<PathBuf>> {
    if let Some(path) = local_path(href)? {
        return Ok(path.is_file().then_some(path));
    }
    let (store, key) = Store::open_object(href)?;
    let name = key.rsplit('/').next().unwrap_or(&key);
    let target = dir.join(name);
    Ok(store.get_to_file(&key, &target).await?.then_some(target))
}

/// The local path `href` names, when it is a path or a `file://` URL.
pub fn local_path(href: &str) -> Result<Option<PathBuf>> {
    if let Some(rest) = href.strip_prefix("file://") {
        let url = url::Url::parse(href).map_err(|err| Error::asset(href, err.to_string()))?;
        return url
            .to_file_path()
            .map(Some)
            .map_err(|()| Error::asset(href, format!("{rest:?} is not a local path")));
    }
    if href.contains("://") {
        return Ok(None);
    }
    Ok(Some(PathBuf::from(href)))
}

/// Where a task writes an output item's assets.
#[derive(Debug, Clone)]
pub enum Outputs {
    /// `--local`: a local folder; nothing is uploaded.
    Folder(PathBuf),
    /// The folder of the object store that the item's `path_template` renders to.
    Store {
        /// The folder.
        store: Store,
        /// The item's own key in it (`<id>.json`), where it is published.
        item_key: String,
    },
}

impl Outputs {
    /// Where the assets of the output item `item` of `payload` go.
    pub fn for_item(env: &TaskEnv, payload: &ProcessPayload, item: &Feature) -> Result<Outputs> {
        if let Some(dir) = env.local_dir() {
            return Ok(Outputs::Folder(dir.to_path_buf()));
        }
        let definition = payload.process_definition();
        let options = upload_options_of(definition, item).ok_or_else(|| {
            Error::parameter(
                "upload_options.path_template",
                format!(
                    "output item {:?} (collection {:?}) has no upload options, so there is nowhere to write its assets",
                    item.id(),
                    item.collection().unwrap_or("none")
                ),
            )
        })?;
        let template = options.path_template.as_deref().unwrap_or_default();
        let data = match env.data() {
            Some(data) => data.clone(),
            None if template.contains("://") => Store::open(template)?,
            None => {
                return Err(Error::parameter(
                    "upload_options.path_template",
                    format!(
                        "{template:?} is relative and there is no data store to resolve it against: run the task in a project, give a URL template, or write the outputs locally (--local)"
                    ),
                ));
            }
        };
        let (store, item_key) = ItemPublisher::new(data).item_location(item, options)?;
        Ok(Outputs::Store { store, item_key })
    }

    /// Stores the local file `file` as `name` and returns its href.
    pub async fn put(&self, file: &Path, name: &str) -> Result<String> {
        match self {
            Outputs::Folder(dir) => {
                std::fs::create_dir_all(dir)
                    .map_err(|err| Error::io(dir, "cannot create the output folder", err))?;
                let target = dir.join(name);
                if std::fs::rename(file, &target).is_err() {
                    std::fs::copy(file, &target)
                        .map_err(|err| Error::io(&target, "cannot write the output", err))?;
                }
                let target = std::path::absolute(&target)
                    .map_err(|err| Error::io(&target, "cannot resolve the output path", err))?;
                Ok(target.display().to_string())
            }
            Outputs::Store { store, .. } => Ok(store.put_file(name, file).await?),
        }
    }

    /// The published item already at the output location, if any (never with `--local`).
    pub async fn existing_item(&self) -> Result<Option<Value>> {
        match self {
            Outputs::Folder(_) => Ok(None),
            Outputs::Store { store, item_key } => Ok(store.get_json(item_key).await?),
        }
    }
}
