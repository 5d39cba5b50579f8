//! Which items an execution already published, read back from the NDJSON publish log.

use crate::process::Message;
use crate::{Error, Result};
use std::collections::HashSet;
use std::path::Path;
use tokio::io::AsyncBufReadExt;

/// The `(execution, item ID)` pairs that any of `executions` already appended to the
/// publish log at `path`.
///
/// Only read when executions are taken over after a crash, so that the new run does not
/// publish an item the dead worker already published: one pass over the file for a whole
/// batch. Streams the file; lines that mention none of the executions are skipped without
/// being parsed, and a torn or foreign line is ignored. A missing file, or no execution,
/// has published nothing.
pub async fn items_published_by(
    path: &Path,
    executions: &HashSet<&str>,
) -> Result<HashSet<(String, String)>> {
    let mut published = HashSet::new();
    if executions.is_empty() {
        return Ok(published);
    }
    let file = match tokio::fs::File::open(path).await {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(published),
        Err(e) => return Err(read_error(path, e)),
    };
    let mut lines = tokio::io::BufReader::new(file).lines();
    while let Some(line) = lines.next_line().await.map_err(|e| read_error(path, e))? {
        if !executions.iter().any(|execution| line.contains(execution)) {
            continue;
        }
        let Ok(message) = serde_json::from_str::<Message>(&line) else {
            continue;
        };
        if let Some(origin) = message.origin
            && executions.contains(origin.execution.as_str())
            && let Some(id) = message.body.get("id").and_then(|id| id.as_str())
        {
            published.insert((origin.execution, id.to_string()));
        }
    }
    Ok(published)
}

fn read_error(path: &Path, e: std::io::Error) -> Error {
    Error::Sink {
        sink: format!("ndjson {}", path.display()),
        message: "cannot read the publish log".to_string(),
        source: Some(Box::new(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::{MessageSink, NdjsonSink};
    use serde_json::json;

    #[tokio::test]
    async fn finds_only_the_items_of_the_execution() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("published.ndjson");
        let e1 = HashSet::from(["e1"]);
        assert!(items_published_by(&path, &e1).await.unwrap().is_empty());
        let sink = NdjsonSink::open(&path).await.unwrap();
        let item = |id: &str| Message::item(json!({"id": id, "collection": "c"}));
        sink.publish(&[
            item("a").with_origin("c/workflow-w/a", "e1"),
            item("b").with_origin("c/workflow-w/b", "e2"),
            item("e1").with_origin("c/workflow-w/x", "e3"),
            item("c"),
        ])
        .await
        .unwrap();
        sink.flush().await.unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .and_then(|mut f| std::io::Write::write_all(&mut f, b"{\"torn e1"))
            .unwrap();
        let ids = items_published_by(&path, &HashSet::from(["e1", "e2"]))
            .await
            .unwrap();
        let pair = |e: &str, id: &str| (e.to_string(), id.to_string());
        assert_eq!(ids, HashSet::from([pair("e1", "a"), pair("e2", "b")]));
        assert!(
            items_published_by(&path, &HashSet::new())
                .await
                .unwrap()
                .is_empty()
        );
    }
}
