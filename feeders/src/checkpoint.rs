//! The checkpoint file: where an interrupted feed resumes.
//!
//! It is written (atomically: a temporary file renamed over it) only after the sink has
//! acknowledged the payloads it covers, so resuming from it neither repeats nor misses one.

use crate::feeder::Cursor;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// What the checkpoint file holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The feeder that wrote it.
    pub feeder: String,
    /// The fingerprint of the config it was written with.
    pub fingerprint: String,
    /// Where to resume; `None` before anything was sent.
    pub cursor: Option<Cursor>,
    /// Whether the feed ran to its end.
    pub complete: bool,
    /// Records found so far, over every run.
    pub found: u64,
    /// Items sent so far (in payloads), over every run.
    pub items: u64,
    /// Payloads sent so far, over every run.
    pub payloads: u64,
    /// Records skipped so far, over every run.
    pub skipped: u64,
    /// When it was written (RFC 3339).
    pub updated: String,
}

impl Checkpoint {
    /// A fresh checkpoint for `feeder` with config `fingerprint`.
    pub fn new(feeder: &str, fingerprint: &str) -> Checkpoint {
        Checkpoint {
            feeder: feeder.to_string(),
            fingerprint: fingerprint.to_string(),
            cursor: None,
            complete: false,
            found: 0,
            items: 0,
            payloads: 0,
            skipped: 0,
            updated: String::new(),
        }
    }

    /// The checkpoint at `path`, or `None` when there is no file. A checkpoint of another
    /// feeder or config is an error: resuming it would not be the same feed.
    pub fn load(path: &Path, feeder: &str, fingerprint: &str) -> Result<Option<Checkpoint>> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(checkpoint_error(path, format!("cannot read: {e}"))),
        };
        let checkpoint: Checkpoint = serde_json::from_str(&text)
            .map_err(|e| checkpoint_error(path, format!("not a checkpoint file: {e}")))?;
        if checkpoint.feeder != feeder {
            return Err(checkpoint_error(
                path,
                format!(
                    "written by the {:?} feeder, not {feeder:?}; use another file",
                    checkpoint.feeder
                ),
            ));
        }
        if checkpoint.fingerprint != fingerprint {
            return Err(checkpoint_error(
                path,
                "written with another config; resuming it with this one could skip or repeat payloads (delete the file to start over)",
            ));
        }
        Ok(Some(checkpoint))
    }

    /// Writes the checkpoint to `path` atomically (a temporary file in the same folder,
    /// synced, then renamed over it).
    pub fn save(&mut self, path: &Path) -> Result<()> {
        self.updated = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let folder = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let text = serde_json::to_vec_pretty(self).expect("a checkpoint is plain JSON");
        let write = || -> std::io::Result<()> {
            let mut tmp = tempfile::NamedTempFile::new_in(&folder)?;
            tmp.write_all(&text)?;
            tmp.write_all(b"\n")?;
            tmp.as_file().sync_all()?;
            tmp.persist(path).map_err(|e| e.error)?;
            Ok(())
        };
        write().map_err(|e| checkpoint_error(path, format!("cannot write: {e}")))
    }
}

fn checkpoint_error(path: &Path, message: impl Into<String>) -> Error {
    Error::Checkpoint {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_and_refuses_other_feeds() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("feed.checkpoint.json");
        assert_eq!(Checkpoint::load(&path, "stac-api", "f").unwrap(), None);
        let mut checkpoint = Checkpoint::new("stac-api", "f");
        checkpoint.cursor = Some(json!({"page": 3}));
        checkpoint.save(&path).unwrap();
        let back = Checkpoint::load(&path, "stac-api", "f").unwrap().unwrap();
        assert_eq!(back, checkpoint);
        let other = Checkpoint::load(&path, "rerun", "f")
            .unwrap_err()
            .to_string();
        assert!(
            other.contains("written by the \"stac-api\" feeder"),
            "{other}"
        );
        let config = Checkpoint::load(&path, "stac-api", "g")
            .unwrap_err()
            .to_string();
        assert!(config.contains("another config"), "{config}");
        std::fs::write(&path, "{").unwrap();
        assert!(
            Checkpoint::load(&path, "stac-api", "f")
                .unwrap_err()
                .to_string()
                .contains("not a checkpoint")
        );
    }
}
