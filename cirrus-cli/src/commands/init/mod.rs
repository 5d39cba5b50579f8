//! `cirrus init [DIR]`: create a project: `cirrus.toml`, `workflows/`, `tasks/`, `feeders/`,
//! a `.gitignore` ignoring the local state folder, and a working example: the `example`
//! workflow, its example payload, and the `stamp` task it runs, so that
//! `cirrus workflow exec workflows/example/definition.json --input workflows/example/payload.json`
//! succeeds right away.
//!
//! `cirrus init --hsi [DIR]` creates an HSI project instead: a `cirrus.toml` with the data
//! store set, and the ready-made HSI workflows of the repository's `workflows/` folder
//! ([`hsi`]), whose tasks are built in; `cirrus validate` passes on it as created.
//!
//! An existing project (a `cirrus.toml` in DIR) is refused; nothing is ever overwritten. An
//! existing `.gitignore` gets the `.cirrus/` line appended when it lacks one.

pub mod hsi;

use super::create;
use crate::cli::Global;
use crate::project::CONFIG_FILE;
use anyhow::{Context, bail};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The `cirrus.toml` of a new project.
const CONFIG_TEMPLATE: &str = include_str!("../../../templates/cirrus.toml");

/// The `.gitignore` of a new project.
const GITIGNORE_TEMPLATE: &str = include_str!("../../../templates/gitignore");

/// The example workflow of a new project.
pub const EXAMPLE_WORKFLOW: &str = "example";

/// The task the example workflow runs.
pub const EXAMPLE_TASK: &str = "stamp";

/// The line of `.gitignore` that keeps the local state out of version control.
const STATE_IGNORE: &str = ".cirrus/";

/// Arguments of `cirrus init`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project folder, created when missing (default: the current folder).
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// An HSI project: the ready-made HSI workflows (AVIRIS activation, indices, detection,
    /// and the chain aviris-to-products) instead of the example.
    #[arg(long)]
    hsi: bool,
}

/// Creates the project and lists what it created on stderr.
pub fn run(args: Args, global: &Global) -> anyhow::Result<ExitCode> {
    let root = args.dir;
    let appended_to_gitignore = root.join(".gitignore").exists();
    let created = if args.hsi {
        init_hsi(&root)?
    } else {
        init(&root)?
    };
    if global.quiet == 0 {
        for path in &created {
            let shown = path.strip_prefix(&root).unwrap_or(path);
            let verb = if path.ends_with(".gitignore") && appended_to_gitignore {
                "updated"
            } else {
                "created"
            };
            eprintln!("{verb} {}", shown.display());
        }
        let cd = if root == Path::new(".") {
            String::new()
        } else {
            format!("cd {} && ", root.display())
        };
        if args.hsi {
            eprintln!(
                "try: {cd}cirrus validate && cirrus task list (the chain's example payload: workflows/{}/payload.json)",
                hsi::CHAIN
            );
        } else {
            eprintln!(
                "try: {cd}cirrus workflow exec workflows/{EXAMPLE_WORKFLOW}/definition.json --input workflows/{EXAMPLE_WORKFLOW}/payload.json"
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Creates the project in `root`; returns the files it created or changed.
fn init(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    make_folders(root)?;
    // The example's folders are checked before anything is written, so a refusal leaves
    // no half-made project.
    for folder in [
        root.join("workflows").join(EXAMPLE_WORKFLOW),
        root.join("tasks").join(EXAMPLE_TASK),
    ] {
        if folder.exists() {
            bail!(
                "{} exists already; cirrus init does not overwrite it",
                folder.display()
            );
        }
    }
    let config = root.join(CONFIG_FILE);
    create::write_new(&config, CONFIG_TEMPLATE)?;
    let mut created = vec![config];
    if let Some(gitignore) = gitignore(root)? {
        created.push(gitignore);
    }
    created.extend(create::task(root, EXAMPLE_TASK)?);
    created.extend(create::workflow(
        root,
        EXAMPLE_WORKFLOW,
        &[EXAMPLE_TASK.to_owned()],
    )?);
    Ok(created)
}

/// Creates the HSI project in `root`; returns the files it created or changed.
fn init_hsi(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    make_folders(root)?;
    let folders: Vec<PathBuf> = hsi::WORKFLOWS
        .iter()
        .map(|workflow| root.join("workflows").join(workflow.name))
        .collect();
    if let Some(folder) = folders.iter().find(|folder| folder.exists()) {
        bail!(
            "{} exists already; cirrus init does not overwrite it",
            folder.display()
        );
    }
    let config = root.join(CONFIG_FILE);
    create::write_new(&config, hsi::CONFIG_TEMPLATE)?;
    let mut created = vec![config];
    if let Some(gitignore) = gitignore(root)? {
        created.push(gitignore);
    }
    for (workflow, folder) in hsi::WORKFLOWS.iter().zip(folders) {
        std::fs::create_dir(&folder)
            .with_context(|| format!("cannot create {}", folder.display()))?;
        for (file, text) in [
            ("definition.json", workflow.definition),
            ("payload.json", workflow.payload),
        ] {
            let path = folder.join(file);
            create::write_new(&path, text)?;
            created.push(path);
        }
    }
    Ok(created)
}

/// Refuses an existing project, then makes the project's folders.
fn make_folders(root: &Path) -> anyhow::Result<()> {
    let config = root.join(CONFIG_FILE);
    if config.exists() {
        bail!(
            "{} exists already: {} is a Cirrus project; add to it with `cirrus create`",
            config.display(),
            root.display()
        );
    }
    for folder in ["workflows", "tasks", "feeders"] {
        let path = root.join(folder);
        std::fs::create_dir_all(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
    }
    Ok(())
}

/// Writes `.gitignore`, or appends the state folder to an existing one that lacks it.
/// Returns the file when it was created or changed.
fn gitignore(root: &Path) -> anyhow::Result<Option<PathBuf>> {
    let path = root.join(".gitignore");
    if !path.exists() {
        create::write_new(&path, GITIGNORE_TEMPLATE)?;
        return Ok(Some(path));
    }
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    if text.lines().any(|line| {
        matches!(
            line.trim(),
            ".cirrus" | ".cirrus/" | "/.cirrus" | "/.cirrus/"
        )
    }) {
        return Ok(None);
    }
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    let separator = if text.is_empty() || text.ends_with('\n') {
        ""
    } else {
        "\n"
    };
    writeln!(file, "{separator}{STATE_IGNORE}")
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(Some(path))
}
