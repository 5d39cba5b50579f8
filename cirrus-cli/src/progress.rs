//! The progress bar of `cirrus run` and `cirrus run-workflow`, on stderr.

use cirrus_core::pipeline::Stats;
use cirrus_core::queue::Queue;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::sync::Arc;
use std::time::Duration;

/// A spinner line on stderr showing the pipeline's counters and the queue's depth, redrawn
/// a few times a second. Hidden when stderr is not a terminal, or with `--quiet`.
pub struct Progress {
    bar: ProgressBar,
    task: tokio::task::JoinHandle<()>,
}

impl Progress {
    /// Starts drawing.
    pub fn start(stats: Arc<Stats>, queue: Arc<dyn Queue>, hidden: bool) -> Progress {
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
        bar.enable_steady_tick(Duration::from_millis(120));
        let drawn = bar.clone();
        let task = tokio::spawn(async move {
            loop {
                let s = stats.snapshot();
                let waiting = match queue.stats().await {
                    Ok(q) => q.visible.to_string(),
                    Err(_) => "?".to_string(),
                };
                drawn.set_message(format!(
                    "queued {waiting} · received {} · running {} · succeeded {} · failed {} · invalid {} · skipped {} · rejected {}",
                    s.received, s.running, s.succeeded, s.failed, s.invalid, s.skipped, s.rejected
                ));
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        });
        Progress { bar, task }
    }

    /// Prints a line on stderr, above the bar.
    pub fn println(&self, line: impl AsRef<str>) {
        self.bar.suspend(|| eprintln!("{}", line.as_ref()));
    }

    /// Stops drawing and clears the line.
    pub fn finish(self) {
        self.task.abort();
        self.bar.finish_and_clear();
    }
}
