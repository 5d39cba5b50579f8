//! The project's local pipeline: its state DB, queue, payload bucket, data store, publish
//! and event logs, workflows and tasks, assembled from `cirrus.toml` (see [`crate::project`]).

use crate::commands::workflow::{definition, resolver};
use crate::project::{DEFAULT_PAYLOAD_BUCKET, DEFINITION_FILES, Project};
use crate::state_db::StateDbSpec;
use anyhow::Context;
use cirrus_core::pipeline::{Pipeline, Workflows};
use cirrus_core::process::{MessageSink, NdjsonSink};
use cirrus_core::queue::sqlite::{SqliteQueue, SqliteQueueOptions};
use cirrus_core::state::sqlite::SqliteStateStore;
use cirrus_core::store::{ItemPublisher, PayloadBucket};
use cirrus_core::workflow::local::LocalResolver;
use cirrus_core::workflow::{Engine, StateMachine};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The project's queue when `[queue] db` names none.
pub const DEFAULT_QUEUE_DB: &str = ".cirrus/queue.db";
/// Where output items go when `store.data` names no place.
pub const DEFAULT_DATA_STORE: &str = ".cirrus/data";
/// The publish log when `[publish] items` names none.
pub const DEFAULT_PUBLISH_LOG: &str = ".cirrus/published.ndjson";
/// The workflow event log when `[publish] events` names none.
pub const DEFAULT_EVENT_LOG: &str = ".cirrus/events.ndjson";

/// What a command needs of the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Put payloads on the queue (`cirrus process`): no workflows or tasks are loaded.
    Submit,
    /// Run payloads (`cirrus run`, `cirrus run-workflow`).
    Run,
}

/// The assembled pipeline and the parts commands look at directly.
pub struct Local {
    /// The pipeline.
    pub pipeline: Pipeline,
    /// The state DB.
    pub state: Arc<SqliteStateStore>,
    /// The process queue.
    pub queue: Arc<SqliteQueue>,
}

/// Opens (creating what is missing) the local pipeline of `project`. Workflow events also
/// go to `extra_event_sinks`.
pub async fn open(
    project: &Project,
    purpose: Purpose,
    extra_event_sinks: Vec<Arc<dyn MessageSink>>,
) -> anyhow::Result<Local> {
    let config = project.root.join(crate::project::CONFIG_FILE);
    let state_path = state_db_path(project)?;
    let state = SqliteStateStore::create(&state_path)
        .await
        .with_context(|| format!("cannot open the state DB {}", state_path.display()))?;
    let state = Arc::new(state);
    let queue = Arc::new(open_queue(project, true).await?);
    let bucket_url = project.locate(
        project
            .payload_bucket
            .as_deref()
            .unwrap_or(DEFAULT_PAYLOAD_BUCKET),
    );
    let bucket = PayloadBucket::open(&bucket_url)
        .with_context(|| format!("the payload bucket {bucket_url}"))?;
    let data_url = project.locate(project.data_store.as_deref().unwrap_or(DEFAULT_DATA_STORE));
    let publisher =
        ItemPublisher::open(&data_url).with_context(|| format!("the data store {data_url}"))?;

    let (workflows, engine) = match purpose {
        Purpose::Submit => (
            Workflows::new(),
            Engine::new(Arc::new(LocalResolver::builder().build()?)),
        ),
        Purpose::Run => (
            load_workflows(&project.root)?,
            Engine::new(Arc::new(resolver(project)?)),
        ),
    };
    let events_path = path_in(
        project,
        project.publish.events.as_deref(),
        DEFAULT_EVENT_LOG,
    );
    let events = NdjsonSink::open(&events_path)
        .await
        .with_context(|| format!("cannot open the event log {}", events_path.display()))?;
    let items_path = path_in(
        project,
        project.publish.items.as_deref(),
        DEFAULT_PUBLISH_LOG,
    );
    let items = NdjsonSink::open(&items_path)
        .await
        .with_context(|| format!("cannot open the publish log {}", items_path.display()))?;
    let mut builder =
        Pipeline::builder(state.clone(), state.clone(), queue.clone(), bucket, engine)
            .workflows(workflows)
            .publisher(publisher)
            .event_sink(Arc::new(state.event_log()))
            .event_sink(Arc::new(events))
            .publish_log(items_path, Arc::new(items));
    for sink in extra_event_sinks {
        builder = builder.event_sink(sink);
    }
    if let Some(url) = &project.publish.stac_api {
        builder = builder.item_sink(stac_api(url, project, &config)?);
    }
    Ok(Local {
        pipeline: builder.build(),
        state,
        queue,
    })
}

/// The project's process queue; unless `create`, a missing queue is an error.
pub async fn open_queue(project: &Project, create: bool) -> anyhow::Result<SqliteQueue> {
    let path = path_in(project, project.queue.db.as_deref(), DEFAULT_QUEUE_DB);
    if !create && !path.is_file() {
        anyhow::bail!(
            "no process queue at {} (`cirrus process` creates it)",
            path.display()
        );
    }
    let mut options = SqliteQueueOptions {
        create,
        ..SqliteQueueOptions::default()
    };
    if let Some(max) = project.queue.max_receives {
        options.max_receives = max;
    }
    SqliteQueue::open_with(&path, options)
        .await
        .with_context(|| format!("cannot open the process queue {}", path.display()))
}

/// The STAC API sink of `[publish] stac_api`.
fn stac_api(url: &str, project: &Project, config: &Path) -> anyhow::Result<Arc<dyn MessageSink>> {
    let mut sink = cirrus_core::process::StacApiSink::new(url)
        .with_context(|| format!("{}: publish.stac_api", config.display()))?;
    for (name, value) in &project.publish.stac_api_headers {
        sink = sink
            .with_header(name, value)
            .with_context(|| format!("{}: publish.stac_api_headers.{name}", config.display()))?;
    }
    Ok(Arc::new(sink))
}

/// The SQLite state DB of the project; the local pipeline cannot run on DynamoDB.
fn state_db_path(project: &Project) -> anyhow::Result<PathBuf> {
    match StateDbSpec::of_project(project)? {
        StateDbSpec::Sqlite(path) => Ok(path),
        StateDbSpec::Dynamodb(table) => anyhow::bail!(
            "state.db is dynamodb:{table}; the local pipeline keeps its state in SQLite (state.db = \"sqlite:.cirrus/state.db\"), and a deployment runs on AWS (`cirrus deploy`)"
        ),
    }
}

/// A file of the project: `configured` (relative to the project folder) or `default`.
fn path_in(project: &Project, configured: Option<&str>, default: &str) -> PathBuf {
    PathBuf::from(project.locate(configured.unwrap_or(default)))
}

/// Every `workflows/<name>/definition.{json,yaml,yml}` of the project. An invalid one stops
/// the run with its problems: `cirrus validate` shows them all.
pub fn load_workflows(root: &Path) -> anyhow::Result<Workflows> {
    let mut workflows = Workflows::new();
    let folder = root.join("workflows");
    if !folder.is_dir() {
        return Ok(workflows);
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&folder)
        .with_context(|| format!("cannot list {}", folder.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.is_dir())
        .collect();
    entries.sort();
    for dir in entries {
        let Some(name) = dir.file_name().and_then(|n| n.to_str()).map(str::to_string) else {
            continue;
        };
        let Some(file) = DEFINITION_FILES
            .into_iter()
            .map(|file| dir.join(file))
            .find(|path| path.is_file())
        else {
            continue;
        };
        let machine: StateMachine = match definition::load(&file)? {
            Ok(machine) => machine,
            Err(problems) => {
                let first = problems
                    .first()
                    .map(|p| format!("{}: {}", p.path, p.message))
                    .unwrap_or_default();
                anyhow::bail!(
                    "{}: the workflow definition is invalid ({} problem(s); first: {first}); `cirrus validate` lists them all",
                    file.display(),
                    problems.len()
                );
            }
        };
        workflows.insert(name, machine);
    }
    Ok(workflows)
}
