//! `copy-assets`: copies the files of an item's assets to the item's output location and
//! rewrites their hrefs, as cirrus-geo's built-in `copy-assets` did.
//!
//! An asset's file (a path, a `file://` URL, or any object store URL such as `s3://…`) is
//! copied, under its own file name, into the folder the item's
//! `upload_options.path_template` renders to (below the data store), or with `--local`
//! into `<local folder>/<item id>/`. Files are streamed, never held in memory. Everything
//! else in the item is kept; `processing:software` gains `cirrus-tasks/copy-assets`.
//!
//! | parameter | type | default | meaning |
//! |---|---|---|---|
//! | `assets` | list of asset keys | every asset | the assets to copy (a missing key is InvalidInput) |
//! | `drop_assets` | list of asset keys | none | assets removed from the items (not copied) |

use super::{add_software, parameters};
use crate::env::TaskEnv;
use crate::error::{Error, Result};
use crate::io::{Outputs, Workdir, asset_href, fetch, local_path, try_fetch};
use async_trait::async_trait;
use cirrus_core::payload::{Feature, ProcessPayload};
use cirrus_core::task::{Task, TaskContext, TaskError};
use serde::Deserialize;
use serde_json::{Value, json};
use std::path::Path;

/// The task's name.
pub const NAME: &str = "copy-assets";

/// The keys of [`Parameters`], the ones taken from `workflow_options`.
const KEYS: &[&str] = &["assets", "drop_assets"];

/// The parameters of `copy-assets`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Parameters {
    /// The keys of the assets to copy; every asset when absent.
    #[serde(default)]
    pub assets: Option<Vec<String>>,
    /// The keys of the assets to remove from the items.
    #[serde(default)]
    pub drop_assets: Vec<String>,
}

/// The `copy-assets` task.
#[derive(Debug, Clone)]
pub struct CopyAssets {
    env: TaskEnv,
}

impl CopyAssets {
    /// The task, writing where `env` says.
    pub fn new(env: TaskEnv) -> CopyAssets {
        CopyAssets { env }
    }

    /// Copies the assets of every item of `payload` and returns the payload with the new
    /// hrefs.
    pub async fn copy(&self, mut payload: ProcessPayload) -> Result<ProcessPayload> {
        let params: Parameters = parameters(&payload, NAME, KEYS)?;
        let workdir = Workdir::new(&self.env, NAME)?;
        let mut features = std::mem::take(&mut payload.features);
        for item in &mut features {
            self.copy_item(&payload, item, &params, workdir.path())
                .await?;
        }
        payload.features = features;
        Ok(payload)
    }

    /// Copies the chosen assets of `item` and drops the dropped ones.
    async fn copy_item(
        &self,
        payload: &ProcessPayload,
        item: &mut Feature,
        params: &Parameters,
        scratch: &Path,
    ) -> Result<()> {
        let present: Vec<String> = item
            .as_map()
            .get("assets")
            .and_then(Value::as_object)
            .map(|assets| assets.keys().cloned().collect())
            .unwrap_or_default();
        let keys: Vec<String> = match &params.assets {
            Some(wanted) => {
                if let Some(missing) = wanted.iter().find(|key| !present.contains(key)) {
                    return Err(Error::item(
                        item.id(),
                        format!(
                            "has no asset {missing:?} to copy (parameter assets; its assets: {})",
                            present.join(", ")
                        ),
                    ));
                }
                wanted.clone()
            }
            None => present,
        };
        let keys: Vec<String> = keys
            .into_iter()
            .filter(|key| !params.drop_assets.contains(key))
            .collect();
        let id = item.id().to_string();
        if let Some(assets) = item
            .as_map_mut()
            .get_mut("assets")
            .and_then(Value::as_object_mut)
        {
            for key in &params.drop_assets {
                if assets.remove(key).is_some() {
                    tracing::debug!(item = %id, asset = %key, "asset dropped");
                }
            }
        }
        if !keys.is_empty() {
            let outputs = Outputs::for_item(&self.env, payload, item)?;
            for key in &keys {
                let href = asset_href(item, key)?;
                let copied = copy_file(&outputs, item.id(), &href, scratch).await?;
                tracing::info!(item = item.id(), asset = %key, from = %href, to = %copied, "asset copied");
                if let Some(asset) = item
                    .as_map_mut()
                    .get_mut("assets")
                    .and_then(|assets| assets.get_mut(key))
                    .and_then(Value::as_object_mut)
                {
                    asset.insert("href".into(), json!(copied));
                }
            }
        }
        add_software(item.as_map_mut(), NAME);
        Ok(())
    }
}

/// Copies the file at `href` to `outputs` under its own file name; returns its new href.
async fn copy_file(outputs: &Outputs, item: &str, href: &str, scratch: &Path) -> Result<String> {
    let name = file_name(href)?;
    match outputs {
        Outputs::Folder(dir) => {
            let folder = dir.join(item);
            tokio::fs::create_dir_all(&folder)
                .await
                .map_err(|err| Error::io(&folder, "cannot create the output folder", err))?;
            let target = folder.join(&name);
            match local_path(href)? {
                Some(source) => copy_local(href, &source, &target).await?,
                None => {
                    if try_fetch(href, &folder).await?.is_none() {
                        return Err(Error::asset(href, "no such file or object"));
                    }
                }
            }
            let target = std::path::absolute(&target)
                .map_err(|err| Error::io(&target, "cannot resolve the output path", err))?;
            Ok(target.display().to_string())
        }
        Outputs::Store { store, .. } => {
            let target = store.url_of(&name)?;
            if same_local_file(href, &target)? {
                return Ok(target);
            }
            let source = fetch(href, scratch).await?;
            let url = store.put_file(&name, &source).await?;
            if source.starts_with(scratch) {
                // A download: free the disk before the next asset.
                let _ = tokio::fs::remove_file(&source).await;
            }
            Ok(url)
        }
    }
}

/// Copies the local file `source` (the asset `href`) to `target`, unless they are the
/// same file.
async fn copy_local(href: &str, source: &Path, target: &Path) -> Result<()> {
    if !source.is_file() {
        return Err(Error::asset(href, "no such file"));
    }
    if let (Ok(a), Ok(b)) = (source.canonicalize(), target.canonicalize())
        && a == b
    {
        return Ok(());
    }
    tokio::fs::copy(source, target)
        .await
        .map_err(|err| Error::io(target, format!("cannot copy {href}"), err))?;
    Ok(())
}

/// Whether `href` and `target` name the same existing local file.
fn same_local_file(href: &str, target: &str) -> Result<bool> {
    let (Some(a), Some(b)) = (local_path(href)?, local_path(target)?) else {
        return Ok(false);
    };
    Ok(match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    })
}

/// The file name at the end of `href`, without a query or fragment.
fn file_name(href: &str) -> Result<String> {
    let path = href.split(['?', '#']).next().unwrap_or(href);
    match path.rsplit('/').next() {
        Some(name) if !name.is_empty() && name != "." && name != ".." => Ok(name.to_string()),
        _ => Err(Error::asset(href, "names a folder, not a file")),
    }
}

#[async_trait]
impl Task for CopyAssets {
    fn name(&self) -> &str {
        NAME
    }

    async fn run(
        &self,
        payload: ProcessPayload,
        _context: &TaskContext,
    ) -> std::result::Result<ProcessPayload, TaskError> {
        Ok(self.copy(payload).await?)
    }
}
