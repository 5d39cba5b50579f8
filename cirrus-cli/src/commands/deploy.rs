//! `cirrus deploy --stage NAME [--dry-run [--template-out FILE]] [--delete] [--package]`:
//! the project as a CloudFormation stack (`docs/deploy.md`).
//!
//! The stack is rendered from the project's workflows (`workflows/<name>/definition.*`, the
//! ones `cirrus run` runs, checked the same way), its tasks (the built-ins and
//! `[tasks.NAME]`) and `[deploy]` in `cirrus.toml`, by `cirrus_deploy::stack`. The
//! deployment is `<project>-<stage>`: `[deploy] name` (else the project folder's name) and
//! `--stage`.
//!
//! - `--dry-run` prints the template (JSON) on stdout, or writes it to `--template-out FILE`.
//! - Without it, the stack is created or updated and waited for, with its events on stderr
//!   (`cirrus_deploy::apply`); a second deploy of the same project changes nothing.
//!   `--delete` removes it. `--package` builds the Lambda package first (`--code` gives one).
//!   stdout: what happened (`--format json`: one object with the stack outputs). Exit 1 when
//!   a resource the stack skipped could not be created.

use crate::cli::Global;
use crate::commands::workflow::definition;
use crate::local::load_workflows;
use crate::output::Format;
use crate::project::{DEFINITION_FILES, Project, current_root};
use anyhow::Context;
use cirrus_deploy::apply::{Deployer, Plan, StackEvent};
use cirrus_deploy::stack::{self, StackInput, TaskSource, Workflow};
use cirrus_tasks::TaskEnv;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// `cirrus deploy`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The stage: the deployment (and stack) is `<project>-<stage>`, e.g. `dev`, `prod`.
    #[arg(long, value_name = "NAME")]
    pub stage: String,
    /// Print the CloudFormation template (JSON) instead of deploying it.
    #[arg(long)]
    pub dry_run: bool,
    /// With --dry-run: write the template to FILE instead of stdout.
    #[arg(long, value_name = "FILE", requires = "dry_run")]
    pub template_out: Option<PathBuf>,
    /// Remove the deployment's stack.
    #[arg(long, conflicts_with = "dry_run")]
    pub delete: bool,
    /// Build the Lambda package (`bootstrap.zip`) from the workspace before deploying.
    #[arg(long, conflicts_with_all = ["delete", "code"])]
    pub package: bool,
    /// With --package: the cargo workspace holding the `bootstrap` binary (cirrus-deploy);
    /// default: the project folder.
    #[arg(long, value_name = "DIR", requires = "package")]
    pub workspace: Option<PathBuf>,
    /// The Lambda package to deploy: a zip holding `bootstrap`, or the `bootstrap` binary
    /// itself (zipped here). Default: `.cirrus/deploy/bootstrap.zip` from the last --package.
    #[arg(long, value_name = "PATH", conflicts_with = "delete")]
    pub code: Option<PathBuf>,
    /// The bucket the package (and a template over 51,200 bytes) is uploaded to; created when
    /// missing. Default: `cirrus-artifacts-<account>-<region>`.
    #[arg(long, value_name = "BUCKET")]
    pub artifacts_bucket: Option<String>,
    /// Seconds to wait for the stack.
    #[arg(long, value_name = "SECONDS", default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,
}

/// Where `--package` writes the zip, in the project folder.
const PACKAGE_FILE: &str = ".cirrus/deploy/bootstrap.zip";

/// Runs `cirrus deploy`.
pub fn run(args: Args, global: &Global) -> anyhow::Result<ExitCode> {
    let root = current_root()?;
    let project = Project::load_root(&root)?;
    let input = stack_input(&project, &args.stage)?;
    let stack = stack::build(&input)?;
    if args.dry_run {
        return dry_run(&args, &stack);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let region = project.deploy.region.clone();
    let timeout = Duration::from_secs(args.timeout);
    let name = stack.names.prefix().to_string();
    let progress = StackProgress::start(global.quiet > 0);
    let result = runtime.block_on(async {
        let deployer = Deployer::connect(region.as_deref()).await?;
        tracing::info!(account = %deployer.identity().account, region = deployer.region(), stack = %name, "deploying");
        if args.delete {
            let existed = deployer
                .delete(&name, timeout, &mut |event| progress.event(event))
                .await?;
            let machines: Vec<String> =
                stack.state_machines.iter().map(|m| m.name.clone()).collect();
            let leftovers = cirrus_deploy::fill_in::delete_state_machines(&deployer, &machines).await?;
            return anyhow::Ok(json!({
                "stack": name,
                "deleted": existed,
                "state_machines_deleted": leftovers,
            }));
        }
        let code = package(&args, &project)?;
        let plan = Plan {
            stack: name.clone(),
            template: stack.template.clone(),
            code,
            artifacts_bucket: args.artifacts_bucket.clone(),
            timeout,
            state_machines: stack.state_machines.clone(),
        };
        let deployed = deployer
            .deploy(&plan, &mut |event| progress.event(event))
            .await?;
        Ok(json!({
            "stack": name,
            "deployment": name,
            "applied": deployed.applied.as_str(),
            "code": deployed.code,
            "filled_in": deployed.filled_in,
            "missing": deployed.missing,
            "outputs": deployed.outputs,
        }))
    });
    progress.finish();
    let report = result?;
    let mut out = std::io::stdout().lock();
    match global.format {
        Format::Json => writeln!(out, "{report}")?,
        Format::Text => {
            if let Some(deleted) = report["deleted"].as_bool() {
                if deleted {
                    writeln!(out, "stack {name} deleted")?;
                } else {
                    writeln!(out, "stack {name} does not exist: nothing to delete")?;
                }
            } else {
                writeln!(
                    out,
                    "stack {name} {}",
                    report["applied"].as_str().unwrap_or("")
                )?;
                for resource in report["filled_in"].as_array().into_iter().flatten() {
                    writeln!(
                        out,
                        "  created through its service API (the stack skipped it): {}",
                        resource.as_str().unwrap_or_default()
                    )?;
                }
                for resource in report["missing"].as_array().into_iter().flatten() {
                    writeln!(
                        out,
                        "  MISSING (the stack skipped it, and cirrus cannot create it): {}",
                        resource.as_str().unwrap_or_default()
                    )?;
                }
                writeln!(out, "deployment {name}: use it with --deployment {name}")?;
            }
        }
    }
    let missing = report["missing"].as_array().is_some_and(|m| !m.is_empty());
    Ok(if missing {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `--dry-run`: the template on stdout or in `--template-out`.
fn dry_run(args: &Args, stack: &cirrus_deploy::stack::Stack) -> anyhow::Result<ExitCode> {
    let mut text = serde_json::to_string_pretty(&stack.template)
        .context("cannot write the template as JSON")?;
    text.push('\n');
    match &args.template_out {
        Some(path) => {
            std::fs::write(path, &text)
                .with_context(|| format!("cannot write {}", path.display()))?;
            tracing::info!(
                stack = stack.names.prefix(),
                file = %path.display(),
                state_machines = stack.state_machines.len(),
                "wrote the template"
            );
        }
        None => std::io::stdout()
            .lock()
            .write_all(text.as_bytes())
            .context("cannot write the template to stdout")?,
    }
    Ok(ExitCode::SUCCESS)
}

/// The Lambda package to deploy: built with `--package`, given with `--code` (a zip, or the
/// binary, zipped here), else the last `--package` build when there is one.
fn package(args: &Args, project: &Project) -> anyhow::Result<Option<PathBuf>> {
    let out = project.root.join(PACKAGE_FILE);
    if args.package {
        let workspace = args
            .workspace
            .clone()
            .unwrap_or_else(|| project.root.clone());
        tracing::info!(workspace = %workspace.display(), "building the Lambda package (cargo build --release --bin bootstrap)");
        let binary = cirrus_deploy::package::build(&workspace)?;
        cirrus_deploy::package::zip_bootstrap(&binary, &out)?;
        let size = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
        tracing::info!(zip = %out.display(), bytes = size, "packaged");
        return Ok(Some(out));
    }
    match &args.code {
        Some(path) => {
            let mut head = [0_u8; 4];
            let is_zip = std::fs::File::open(path)
                .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
                .with_context(|| format!("--code {}", path.display()))
                .map(|()| head == *b"PK\x03\x04")?;
            if is_zip {
                Ok(Some(path.clone()))
            } else {
                cirrus_deploy::package::zip_bootstrap(path, &out)?;
                Ok(Some(out))
            }
        }
        None => Ok(out.is_file().then_some(out)),
    }
}

/// The stack's events on stderr, above a spinner, while CloudFormation works.
struct StackProgress {
    bar: ProgressBar,
}

impl StackProgress {
    fn start(hidden: bool) -> StackProgress {
        let target = if hidden {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        };
        let bar = ProgressBar::with_draw_target(None, target);
        bar.set_style(
            ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}")
                .expect("the template is valid"),
        );
        bar.set_message("waiting for CloudFormation");
        bar.enable_steady_tick(Duration::from_millis(120));
        StackProgress { bar }
    }

    fn event(&self, event: &StackEvent) {
        let reason = event
            .reason
            .as_deref()
            .map(|r| format!("  {r}"))
            .unwrap_or_default();
        self.bar.println(format!(
            "{:<20} {:<36} {}{reason}",
            event.status, event.resource_type, event.logical_id
        ));
        self.bar
            .set_message(format!("{} {}", event.logical_id, event.status));
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// What the stack of `project` at `stage` is rendered from.
pub fn stack_input(project: &Project, stage: &str) -> anyhow::Result<StackInput> {
    let config = project.deploy.clone();
    let folder_name = project
        .root
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_string();
    let mut workflows = Vec::new();
    // Every definition is checked as `cirrus run` checks it; the stack takes them as JSON.
    let machines = load_workflows(&project.root)?;
    for name in machines.names() {
        let file = definition_file(&project.root, name)?;
        let definition = match definition::read(&file)? {
            Ok(value) => value,
            Err(problem) => anyhow::bail!("{}: {problem}", file.display()),
        };
        workflows.push(Workflow {
            name: name.to_string(),
            definition,
        });
    }
    let mut tasks = BTreeMap::new();
    for task in cirrus_tasks::builtin_tasks(&TaskEnv::without_store()) {
        tasks.insert(task.name().to_string(), TaskSource::Builtin);
    }
    // A project task replaces the built-in of the same name, as `cirrus run` does.
    for name in project.tasks.keys() {
        tasks.insert(name.clone(), TaskSource::Project);
    }
    Ok(StackInput {
        project: folder_name,
        stage: stage.to_string(),
        config,
        workflows,
        tasks,
    })
}

/// The definition file of workflow `name` (as [`load_workflows`] finds it).
fn definition_file(root: &Path, name: &str) -> anyhow::Result<PathBuf> {
    let dir = root.join("workflows").join(name);
    DEFINITION_FILES
        .into_iter()
        .map(|file| dir.join(file))
        .find(|path| path.is_file())
        .with_context(|| format!("{}: no definition.json (or .yaml)", dir.display()))
}
