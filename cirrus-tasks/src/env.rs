//! [`TaskEnv`]: where a built-in task writes its outputs and does its scratch work.

use cirrus_core::store::Store;
use std::path::{Path, PathBuf};

/// The environment every built-in task runs in.
///
/// - **Outputs.** An output asset is written next to its output item, in the folder that the
///   item's `upload_options.path_template` renders to (as stac-task does). A template that
///   renders to a URL is used as it is; any other is relative to the **data store**, the
///   project's `store.data` locally or the data bucket on AWS. With [`TaskEnv::local`],
///   outputs go to a local folder instead and nothing is uploaded (`cirrus task run --local`).
/// - **Scratch work** happens in a fresh temporary folder per run, below
///   [`TaskEnv::with_workdir`] (the system temporary folder by default), removed at the end
///   unless [`TaskEnv::keep_workdir`] is set.
/// - **Threads.** CPU-bound work uses at most [`TaskEnv::with_threads`] threads (0, the
///   default, means one per core).
#[derive(Debug, Clone, Default)]
pub struct TaskEnv {
    data: Option<Store>,
    local: Option<PathBuf>,
    workdir: Option<PathBuf>,
    keep_workdir: bool,
    threads: usize,
}

impl TaskEnv {
    /// Outputs go below `data` (relative path templates are relative to it).
    pub fn new(data: Store) -> TaskEnv {
        TaskEnv {
            data: Some(data),
            ..TaskEnv::default()
        }
    }

    /// No data store: only path templates that render to URLs can be used, or
    /// [`TaskEnv::local`].
    pub fn without_store() -> TaskEnv {
        TaskEnv::default()
    }

    /// Outputs are written to the local folder `dir` and never uploaded.
    pub fn local(mut self, dir: impl Into<PathBuf>) -> TaskEnv {
        self.local = Some(dir.into());
        self
    }

    /// Scratch folders are made below `dir`.
    pub fn with_workdir(mut self, dir: impl Into<PathBuf>) -> TaskEnv {
        self.workdir = Some(dir.into());
        self
    }

    /// Keeps each run's scratch folder instead of removing it (its path is logged).
    pub fn keep_workdir(mut self, keep: bool) -> TaskEnv {
        self.keep_workdir = keep;
        self
    }

    /// Uses at most `threads` threads for CPU-bound work; 0 means one per core.
    pub fn with_threads(mut self, threads: usize) -> TaskEnv {
        self.threads = threads;
        self
    }

    /// The data store, if any.
    pub fn data(&self) -> Option<&Store> {
        self.data.as_ref()
    }

    /// The local output folder of `--local` runs, if any.
    pub fn local_dir(&self) -> Option<&Path> {
        self.local.as_deref()
    }

    /// The folder scratch folders are made in, if not the system's temporary folder.
    pub fn workdir_root(&self) -> Option<&Path> {
        self.workdir.as_deref()
    }

    /// Whether scratch folders are kept.
    pub fn keeps_workdir(&self) -> bool {
        self.keep_workdir
    }

    /// The number of threads CPU-bound work may use (at least 1).
    pub fn threads(&self) -> usize {
        if self.threads > 0 {
            self.threads
        } else {
            std::thread::available_parallelism().map_or(1, usize::from)
        }
    }
}
