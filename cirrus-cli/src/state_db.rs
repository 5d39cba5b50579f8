//! Choosing and opening the state DB: `--state-db sqlite:PATH | dynamodb:TABLE`, else the
//! project's `state.db`, else SQLite in the project folder.

use crate::project::{DEFAULT_STATE_DB, Project};
use anyhow::Context;
use cirrus_core::state::StateStore;
use cirrus_core::state::sqlite::SqliteStateStore;
use std::path::PathBuf;

/// Where the state DB is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateDbSpec {
    /// An SQLite file.
    Sqlite(PathBuf),
    /// A DynamoDB table (cirrus-geo's schema); the timeline lives in `{table}-timeline`.
    Dynamodb(String),
}

impl StateDbSpec {
    /// Parses `sqlite:PATH` or `dynamodb:TABLE`; a relative PATH is taken relative to `base`.
    pub fn parse(text: &str, base: &std::path::Path) -> anyhow::Result<StateDbSpec> {
        if let Some(path) = text.strip_prefix("sqlite:") {
            anyhow::ensure!(
                !path.is_empty(),
                "state DB {text:?}: the SQLite path is empty"
            );
            return Ok(StateDbSpec::Sqlite(base.join(path)));
        }
        if let Some(table) = text.strip_prefix("dynamodb:") {
            anyhow::ensure!(
                !table.is_empty() && table.len() <= 255,
                "state DB {text:?}: a DynamoDB table name is 1 to 255 characters"
            );
            return Ok(StateDbSpec::Dynamodb(table.to_string()));
        }
        anyhow::bail!(
            "state DB {text:?}: expected sqlite:PATH or dynamodb:TABLE (did you mean sqlite:{text} or dynamodb:{text}?)"
        )
    }

    /// The spec in effect: `--state-db` (or `CIRRUS_STATE_DB`), else the project's, else
    /// `sqlite:<project>/.cirrus/state.db`.
    pub fn resolve(flag: Option<&str>) -> anyhow::Result<StateDbSpec> {
        let cwd = std::env::current_dir().context("cannot read the current folder")?;
        if let Some(flag) = flag {
            return StateDbSpec::parse(flag, &cwd);
        }
        StateDbSpec::of_project(&Project::discover()?)
    }

    /// The project's state DB: its `state.db`, else `sqlite:<project>/.cirrus/state.db`.
    pub fn of_project(project: &Project) -> anyhow::Result<StateDbSpec> {
        match &project.state_db {
            Some(db) => StateDbSpec::parse(db, &project.root).with_context(|| {
                format!("state.db in {}", project.root.join("cirrus.toml").display())
            }),
            None => Ok(StateDbSpec::Sqlite(project.root.join(DEFAULT_STATE_DB))),
        }
    }

    /// Opens an existing state DB. A missing SQLite file is an error, not a new database.
    pub async fn open(&self) -> anyhow::Result<Box<dyn StateStore>> {
        match self {
            StateDbSpec::Sqlite(path) => Ok(Box::new(SqliteStateStore::open(path).await?)),
            #[cfg(feature = "aws")]
            StateDbSpec::Dynamodb(table) => {
                use cirrus_core::state::dynamodb::DynamoStateStore;
                let store = DynamoStateStore::connect(table, None).await?;
                Ok(Box::new(store))
            }
            #[cfg(not(feature = "aws"))]
            StateDbSpec::Dynamodb(_) => anyhow::bail!(
                "this cirrus was built without the `aws` feature, so it cannot use DynamoDB"
            ),
        }
    }
}
