//! The project a command runs in: the nearest folder holding `cirrus.toml`, and the settings
//! the CLI reads from it.
//!
//! ```toml
//! [state]
//! db = "sqlite:.cirrus/state.db"   # or "dynamodb:my-deployment-state"
//! ```
//!
//! A relative SQLite path is relative to the project folder.

use anyhow::Context;
use std::path::{Path, PathBuf};

/// The project configuration file.
pub const CONFIG_FILE: &str = "cirrus.toml";

/// The state DB of a project when its configuration names none.
pub const DEFAULT_STATE_DB: &str = ".cirrus/state.db";

/// A project folder and the settings the CLI uses.
#[derive(Debug)]
pub struct Project {
    /// The folder holding `cirrus.toml`, or the current folder when there is none.
    pub root: PathBuf,
    /// `state.db` from `cirrus.toml`.
    pub state_db: Option<String>,
}

impl Project {
    /// Finds the project of the current folder: the nearest ancestor holding `cirrus.toml`.
    pub fn discover() -> anyhow::Result<Project> {
        let cwd = std::env::current_dir().context("cannot read the current folder")?;
        for dir in cwd.ancestors() {
            let config = dir.join(CONFIG_FILE);
            if config.is_file() {
                return Project::load(dir, &config);
            }
        }
        Ok(Project {
            root: cwd,
            state_db: None,
        })
    }

    fn load(root: &Path, config: &Path) -> anyhow::Result<Project> {
        let text = std::fs::read_to_string(config)
            .with_context(|| format!("cannot read {}", config.display()))?;
        let table: toml::Table = toml::from_str(&text)
            .with_context(|| format!("{} is not valid TOML", config.display()))?;
        let state_db = match table.get("state").and_then(|s| s.get("db")) {
            None => None,
            Some(toml::Value::String(db)) => Some(db.clone()),
            Some(other) => anyhow::bail!(
                "{}: state.db must be a string such as \"sqlite:.cirrus/state.db\", not {}",
                config.display(),
                other.type_str()
            ),
        };
        Ok(Project {
            root: root.to_path_buf(),
            state_db,
        })
    }
}
