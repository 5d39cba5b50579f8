//! Helpers shared by the pipeline's end-to-end tests (`pipeline_bad_input`, `pipeline_crash`),
//! and the docs' code blocks ([`markdown`]). Each test binary uses a part of them.
#![allow(dead_code)]

pub mod markdown;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

/// Processes whose working folder is `root` (task subprocesses run in the project folder),
/// as `pid command` lines. Empty where `/proc` is not available.
pub fn processes_in(root: &Path) -> Vec<String> {
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter(|entry| {
            entry
                .file_name()
                .to_str()
                .is_some_and(|name| name.bytes().all(|b| b.is_ascii_digit()))
        })
        .filter(|entry| fs::read_link(entry.path().join("cwd")).is_ok_and(|cwd| cwd == root))
        .map(|entry| {
            let cmdline = fs::read(entry.path().join("cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            format!("{} {}", entry.file_name().to_string_lossy(), cmdline.trim())
        })
        .collect()
}

/// [`processes_in`], once it is empty or `patience` has passed (a killed process takes a
/// moment to go).
pub fn wait_for_no_processes_in(root: &Path, patience: Duration) -> Vec<String> {
    let until = Instant::now() + patience;
    loop {
        let left = processes_in(root);
        if left.is_empty() || Instant::now() >= until {
            return left;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

pub fn set_mode(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
