//! The project a command runs in: the nearest folder holding `cirrus.toml`, and the settings
//! the CLI reads from it.
//!
//! ```toml
//! [state]
//! db = "sqlite:.cirrus/state.db"   # or "dynamodb:my-deployment-state"
//!
//! [store]
//! payloads = ".cirrus/payloads"    # the payload bucket: a path, file:// or s3:// URL
//! data = ".cirrus/data"            # where output items are published (path_template root)
//!
//! [queue]                          # the local process queue (`cirrus process`, `cirrus run`)
//! db = ".cirrus/queue.db"
//! max_receives = 5                 # receives before a message becomes a dead letter
//!
//! [publish]
//! items = ".cirrus/published.ndjson"   # the publish log: one line per published item
//! events = ".cirrus/events.ndjson"     # workflow events (also kept in the state DB)
//! stac_api = "http://127.0.0.1:8080/"  # optional: POST items to a STAC API (Transactions)
//! stac_api_headers = { Authorization = "Bearer …" }  # optional
//!
//! [tasks.copy-assets]                              # a task run as a subprocess
//! command = ["python3", "tasks/copy_assets.py"]   # then: run INPUT --output OUT --workdir DIR
//! args = ["--logging", "DEBUG"]                    # optional, after --workdir DIR
//! env = { AWS_REGION = "us-west-2" }               # optional
//! timeout = "15m"                                  # optional: s, m, h, or seconds as a number
//!
//! [lambda.functions]                               # Lambda function name -> task
//! "my-stack-copy-assets" = "copy-assets"
//! ```
//!
//! A relative SQLite path is relative to the project folder. Tasks run in the project folder,
//! and a relative program path (`./tasks/run.sh`) is relative to it too. Unknown keys in
//! `[tasks.*]` and `[lambda]` are errors that name the key.

use anyhow::Context;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The project configuration file.
pub const CONFIG_FILE: &str = "cirrus.toml";

/// The state DB of a project when its configuration names none.
pub const DEFAULT_STATE_DB: &str = ".cirrus/state.db";

/// The definition file names of a workflow folder (`workflows/<name>/`), in the order they
/// are looked for.
pub const DEFINITION_FILES: [&str; 3] = ["definition.json", "definition.yaml", "definition.yml"];

/// The payload bucket of a project when its configuration names none.
pub const DEFAULT_PAYLOAD_BUCKET: &str = ".cirrus/payloads";

/// A project folder and the settings the CLI uses.
#[derive(Debug)]
pub struct Project {
    /// The folder holding `cirrus.toml`, or the current folder when there is none.
    pub root: PathBuf,
    /// `state.db` from `cirrus.toml`.
    pub state_db: Option<String>,
    /// `store.payloads` from `cirrus.toml`: the payload bucket.
    pub payload_bucket: Option<String>,
    /// `[tasks.NAME]`: tasks run as subprocesses, by name.
    pub tasks: BTreeMap<String, TaskConfig>,
    /// `[lambda.functions]`: Lambda function name -> task name.
    pub lambda_functions: BTreeMap<String, String>,
    /// `store.data`: where output items are published.
    pub data_store: Option<String>,
    /// `[queue]`.
    pub queue: QueueConfig,
    /// `[publish]`.
    pub publish: PublishConfig,
    /// `[deploy]`: how the project deploys to AWS (`cirrus deploy`, docs/deploy.md).
    #[cfg(feature = "aws")]
    pub deploy: cirrus_deploy::stack::DeployConfig,
}

/// `[queue]`: the local process queue.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueConfig {
    /// The SQLite file, relative to the project folder.
    pub db: Option<String>,
    /// Receives before a message becomes a dead letter.
    pub max_receives: Option<u32>,
}

/// `[publish]`: where published items and workflow events go.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishConfig {
    /// The publish log (NDJSON), relative to the project folder.
    pub items: Option<String>,
    /// The workflow event log (NDJSON), relative to the project folder.
    pub events: Option<String>,
    /// A STAC API whose Transactions endpoint receives every published item.
    pub stac_api: Option<String>,
    /// Headers sent to the STAC API (`Authorization`, …).
    #[serde(default)]
    pub stac_api_headers: BTreeMap<String, String>,
}

/// `[tasks.NAME]`: a task run as a subprocess speaking the task CLI contract.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskConfig {
    /// The program and its first arguments.
    pub command: Vec<String>,
    /// Extra arguments, after `--workdir DIR`.
    #[serde(default)]
    pub args: Vec<String>,
    /// Environment variables, on top of the inherited ones.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// The longest the task may run before it fails with `States.Timeout`.
    #[serde(default, deserialize_with = "timeout")]
    pub timeout: Option<Duration>,
}

/// `[lambda]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LambdaConfig {
    #[serde(default)]
    functions: BTreeMap<String, String>,
}

impl Project {
    /// Finds the project of the current folder: the nearest ancestor holding `cirrus.toml`.
    pub fn discover() -> anyhow::Result<Project> {
        let cwd = std::env::current_dir().context("cannot read the current folder")?;
        if let Some(root) = find_root(&cwd) {
            return Project::load_root(&root);
        }
        Ok(Project {
            root: cwd,
            state_db: None,
            payload_bucket: None,
            tasks: BTreeMap::new(),
            lambda_functions: BTreeMap::new(),
            data_store: None,
            queue: QueueConfig::default(),
            publish: PublishConfig::default(),
            #[cfg(feature = "aws")]
            deploy: Default::default(),
        })
    }

    /// Loads the project whose folder `root` holds `cirrus.toml`.
    pub fn load_root(root: &Path) -> anyhow::Result<Project> {
        Project::load(root, &root.join(CONFIG_FILE))
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
        let payload_bucket = match table.get("store").and_then(|s| s.get("payloads")) {
            None => None,
            Some(toml::Value::String(url)) if !url.is_empty() => Some(url.clone()),
            Some(toml::Value::String(_)) => anyhow::bail!(
                "{}: store.payloads is empty; give a path or URL such as \".cirrus/payloads\"",
                config.display()
            ),
            Some(other) => anyhow::bail!(
                "{}: store.payloads must be a path or URL such as \".cirrus/payloads\" or \"s3://bucket/prefix\", not {}",
                config.display(),
                other.type_str()
            ),
        };
        let mut tasks = BTreeMap::new();
        match table.get("tasks") {
            None => {}
            Some(toml::Value::Table(entries)) => {
                for (name, entry) in entries {
                    let task: TaskConfig = entry.clone().try_into().map_err(|e| {
                        anyhow::anyhow!("{}: tasks.{name}: {}", config.display(), one_line(&e))
                    })?;
                    if task.command.first().is_none_or(String::is_empty) {
                        anyhow::bail!(
                            "{}: tasks.{name}.command must name a program, such as [\"python3\", \"tasks/{name}.py\"]",
                            config.display()
                        );
                    }
                    tasks.insert(name.clone(), task);
                }
            }
            Some(other) => anyhow::bail!(
                "{}: tasks must be a table of [tasks.NAME] sections, not {}",
                config.display(),
                other.type_str()
            ),
        }
        let lambda: LambdaConfig = match table.get("lambda") {
            None => LambdaConfig::default(),
            Some(value) => value
                .clone()
                .try_into()
                .map_err(|e| anyhow::anyhow!("{}: lambda: {}", config.display(), one_line(&e)))?,
        };
        let data_store = match table.get("store").and_then(|s| s.get("data")) {
            None => None,
            Some(toml::Value::String(url)) if !url.is_empty() => Some(url.clone()),
            Some(_) => anyhow::bail!(
                "{}: store.data must be a non-empty path or URL such as \".cirrus/data\" or \"s3://bucket\"",
                config.display()
            ),
        };
        let queue: QueueConfig = section(&table, "queue", config)?;
        if queue.max_receives == Some(0) {
            anyhow::bail!(
                "{}: queue.max_receives must be at least 1",
                config.display()
            );
        }
        let publish: PublishConfig = section(&table, "publish", config)?;
        #[cfg(feature = "aws")]
        let deploy = match table.get("deploy") {
            None => cirrus_deploy::stack::DeployConfig::default(),
            Some(value) => cirrus_deploy::stack::DeployConfig::from_deserializer(value.clone())
                .map_err(|e| anyhow::anyhow!("{}: {e}", config.display()))?,
        };
        Ok(Project {
            root: root.to_path_buf(),
            state_db,
            payload_bucket,
            tasks,
            lambda_functions: lambda.functions,
            data_store,
            queue,
            publish,
            #[cfg(feature = "aws")]
            deploy,
        })
    }
}

impl Project {
    /// `location` resolved against the project folder: a URL or an absolute path as is,
    /// else `<root>/location`.
    pub fn locate(&self, location: &str) -> String {
        absolute(location, &self.root)
    }
}

/// `location` itself when it is a URL or an absolute path, else `base/location`.
pub fn absolute(location: &str, base: &Path) -> String {
    if location.contains("://") || Path::new(location).is_absolute() {
        location.to_owned()
    } else {
        base.join(location).display().to_string()
    }
}

/// The `[name]` table of the configuration, or its default when absent.
fn section<T: Default + serde::de::DeserializeOwned>(
    table: &toml::Table,
    name: &str,
    config: &Path,
) -> anyhow::Result<T> {
    match table.get(name) {
        None => Ok(T::default()),
        Some(value) => value
            .clone()
            .try_into()
            .map_err(|e| anyhow::anyhow!("{}: {name}: {}", config.display(), one_line(&e))),
    }
}

/// The nearest folder, from `start` up, holding `cirrus.toml`.
pub fn find_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|dir| dir.join(CONFIG_FILE).is_file())
        .map(Path::to_path_buf)
}

/// The project folder of the current folder, for the commands that need a project; the
/// error says how to make one.
pub fn current_root() -> anyhow::Result<PathBuf> {
    let cwd = std::env::current_dir().context("cannot read the current folder")?;
    find_root(&cwd).with_context(|| {
        format!(
            "no {CONFIG_FILE} in {} or its parents: this is not a Cirrus project (create one with `cirrus init`)",
            cwd.display()
        )
    })
}

/// A TOML error on one line (they end with a line that names the key: "in `timeout`").
fn one_line(error: &toml::de::Error) -> String {
    let text = error.to_string();
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `timeout`: `"90s"`, `"15m"`, `"2h"`, or a number of seconds.
fn timeout<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Duration>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Seconds(u64),
        Text(String),
    }
    let raw = Option::<Raw>::deserialize(deserializer).map_err(|_| {
        serde::de::Error::custom(
            "timeout must be a duration such as \"15m\", \"90s\" or \"2h\", or a number of seconds",
        )
    })?;
    match raw {
        None => Ok(None),
        Some(Raw::Seconds(seconds)) => positive(Duration::from_secs(seconds)).map(Some),
        Some(Raw::Text(text)) => parse_duration(&text).map(Some),
    }
}

fn positive<E: serde::de::Error>(duration: Duration) -> Result<Duration, E> {
    if duration.is_zero() {
        return Err(E::custom("timeout must be longer than 0"));
    }
    Ok(duration)
}

/// Parses `90s`, `15m`, `2h`.
fn parse_duration<E: serde::de::Error>(text: &str) -> Result<Duration, E> {
    let invalid = || {
        E::custom(format!(
            "timeout {text:?} is not a duration such as \"15m\", \"90s\" or \"2h\""
        ))
    };
    let text = text.trim();
    let (unit_at, unit) = text.char_indices().next_back().ok_or_else(invalid)?;
    let digits = &text[..unit_at];
    let scale = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        _ => return Err(invalid()),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    let seconds = digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .ok_or_else(invalid)?;
    positive(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> anyhow::Result<Project> {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let config = dir.path().join(CONFIG_FILE);
        std::fs::write(&config, text).expect("cirrus.toml written");
        Project::load(dir.path(), &config)
    }

    fn error(text: &str) -> String {
        format!(
            "{:#}",
            load(text).expect_err("the configuration is rejected")
        )
    }

    #[test]
    fn tasks_and_lambda_functions() {
        let project = load(
            r#"
[tasks.copy-assets]
command = ["python3", "tasks/copy_assets.py"]
args = ["--logging", "DEBUG"]
env = { REGION = "us-west-2" }
timeout = "15m"

[tasks.publish]
command = ["./publish.sh"]
timeout = 90

[lambda.functions]
"my-stack-copy-assets" = "copy-assets"
"#,
        )
        .unwrap();
        let copy = &project.tasks["copy-assets"];
        assert_eq!(copy.command, ["python3", "tasks/copy_assets.py"]);
        assert_eq!(copy.args, ["--logging", "DEBUG"]);
        assert_eq!(copy.env["REGION"], "us-west-2");
        assert_eq!(copy.timeout, Some(Duration::from_secs(900)));
        assert_eq!(
            project.tasks["publish"].timeout,
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            project.lambda_functions["my-stack-copy-assets"],
            "copy-assets"
        );
    }

    #[test]
    fn the_root_is_the_nearest_folder_with_cirrus_toml() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let nested = dir.path().join("workflows/a");
        std::fs::create_dir_all(&nested).expect("folders created");
        assert_eq!(find_root(&nested), None);
        std::fs::write(dir.path().join(CONFIG_FILE), "").expect("cirrus.toml written");
        assert_eq!(find_root(&nested).as_deref(), Some(dir.path()));
        let project = Project::load_root(dir.path()).expect("an empty cirrus.toml loads");
        assert!(project.tasks.is_empty() && project.state_db.is_none());
    }

    #[test]
    fn errors_name_the_key() {
        let unknown = error("[tasks.a]\ncommand = [\"x\"]\ncomand = 1\n");
        assert!(unknown.contains("cirrus.toml: tasks.a: "), "{unknown}");
        assert!(unknown.contains("unknown field `comand`"), "{unknown}");
        let missing = error("[tasks.a]\nargs = []\n");
        assert!(
            missing.contains("tasks.a: ") && missing.contains("missing field `command`"),
            "{missing}"
        );
        let empty = error("[tasks.a]\ncommand = []\n");
        assert!(
            empty.ends_with(
                "tasks.a.command must name a program, such as [\"python3\", \"tasks/a.py\"]"
            ),
            "{empty}"
        );
        let timeout = error("[tasks.a]\ncommand = [\"x\"]\ntimeout = \"15 minutes\"\n");
        assert!(
            timeout.contains("timeout \"15 minutes\" is not a duration"),
            "{timeout}"
        );
        let multibyte = error("[tasks.a]\ncommand = [\"x\"]\ntimeout = \"15ч\"\n");
        assert!(multibyte.contains("is not a duration"), "{multibyte}");
        let zero = error("[tasks.a]\ncommand = [\"x\"]\ntimeout = 0\n");
        assert!(zero.contains("timeout must be longer than 0"), "{zero}");
        let lambda = error("[lambda]\nfunction = {}\n");
        assert!(
            lambda.contains("cirrus.toml: lambda: ") && lambda.contains("unknown field `function`"),
            "{lambda}"
        );
        let not_table = error("tasks = 3\n");
        assert!(
            not_table.ends_with("tasks must be a table of [tasks.NAME] sections, not integer"),
            "{not_table}"
        );
    }
}
