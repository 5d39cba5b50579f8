//! The `stac-catalog` feeder on a generated static catalog of 5,000 items, with relative and
//! absolute links, and a resume in the middle.

mod common;

use cirrus_feeders::catalog::{CatalogConfig, CatalogFeeder};
use cirrus_feeders::{Counters, FeedOptions, ProcessTemplate, feed};
use common::{Collect, assert_exactly_once, never};
use serde_json::json;
use std::path::Path;
use std::sync::atomic::Ordering;

/// root → 5 collections (1,000 items each; odd ones link with absolute `file://` hrefs, and
/// the last also nests a sub-catalog) → items.
fn generate(root: &Path) -> Vec<String> {
    let write = |path: &Path, value: serde_json::Value| {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, value.to_string()).unwrap();
    };
    let url = |p: &Path| format!("file://{}", p.display());
    let mut ids = Vec::new();
    let mut children = Vec::new();
    for c in 0..5 {
        let collection = format!("c{c}");
        let dir = root.join(&collection);
        let mut links = vec![json!({"rel": "root", "href": "../catalog.json"})];
        for i in 0..1000 {
            let id = format!("{collection}-item-{i:04}");
            let (sub, href) = if c == 4 && i >= 500 {
                ("nested/items", format!("items/{id}.json"))
            } else {
                ("items", format!("./items/{id}.json"))
            };
            let path = dir.join(sub).join(format!("{id}.json"));
            write(
                &path,
                json!({"type": "Feature", "stac_version": "1.1.0", "id": id, "collection": collection, "geometry": null, "properties": {"datetime": "2020-01-01T00:00:00Z"}, "links": [], "assets": {}}),
            );
            if c == 4 && i >= 500 {
                continue;
            }
            let href = if c % 2 == 1 { url(&path) } else { href };
            links.push(json!({"rel": "item", "href": href}));
            ids.push(id);
        }
        if c == 4 {
            let nested = dir.join("nested/catalog.json");
            let items: Vec<_> = (500..1000)
                .map(|i| json!({"rel": "item", "href": format!("./items/c4-item-{i:04}.json")}))
                .collect();
            write(
                &nested,
                json!({"type": "Catalog", "id": "nested", "description": "d", "stac_version": "1.1.0", "links": items}),
            );
            ids.extend((500..1000).map(|i| format!("c4-item-{i:04}")));
            links.push(json!({"rel": "child", "href": "nested/catalog.json"}));
        }
        write(
            &dir.join("collection.json"),
            json!({"type": "Collection", "id": collection, "links": links}),
        );
        children.push(json!({"rel": "child", "href": format!("{collection}/collection.json")}));
    }
    write(
        &root.join("catalog.json"),
        json!({"type": "Catalog", "id": "root", "description": "d", "stac_version": "1.1.0", "links": children}),
    );
    ids
}

fn options() -> FeedOptions {
    FeedOptions {
        template: Some(ProcessTemplate::new(json!({"workflow": "ingest"})).unwrap()),
        batch_size: 1,
        ..FeedOptions::default()
    }
}

fn feeder(root: &Path, collections: &[&str]) -> Box<CatalogFeeder> {
    Box::new(
        CatalogFeeder::new(CatalogConfig {
            url: root.join("catalog.json").display().to_string(),
            collections: collections.iter().map(|s| s.to_string()).collect(),
            max_depth: None,
        })
        .unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crawls_5000_items_through_relative_and_absolute_links() {
    let dir = tempfile::tempdir().unwrap();
    let ids = generate(dir.path());
    assert_eq!(ids.len(), 5000);
    let sink = Collect::default();
    let summary = feed(
        feeder(dir.path(), &[]),
        &sink,
        &options(),
        &Counters::default(),
        never(),
    )
    .await
    .unwrap();
    assert_exactly_once(&sink.item_ids(), &ids);
    assert_eq!(summary.payloads, 5000);

    let sink = Collect::default();
    let summary = feed(
        feeder(dir.path(), &["c1"]),
        &sink,
        &options(),
        &Counters::default(),
        never(),
    )
    .await
    .unwrap();
    assert_eq!(sink.item_ids().len(), 1000);
    assert_eq!(summary.skipped, 4000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resumes_in_the_middle_of_a_nested_catalog() {
    let dir = tempfile::tempdir().unwrap();
    let ids = generate(dir.path());
    let mut options = options();
    options.checkpoint = Some(dir.path().join("cp.json"));
    let sink = Collect::failing_from(4);
    assert!(
        feed(
            feeder(dir.path(), &[]),
            &sink,
            &options,
            &Counters::default(),
            never()
        )
        .await
        .is_err()
    );
    let sent = sink.item_ids().len();
    assert!(sent > 0 && sent < 5000, "{sent}");
    sink.fail_from.store(0, Ordering::SeqCst);
    let summary = feed(
        feeder(dir.path(), &[]),
        &sink,
        &options,
        &Counters::default(),
        never(),
    )
    .await
    .unwrap();
    assert!(summary.resumed);
    assert_exactly_once(&sink.item_ids(), &ids);
}

#[tokio::test]
async fn a_missing_catalog_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = feed(
        feeder(dir.path(), &[]),
        &Collect::default(),
        &options(),
        &Counters::default(),
        never(),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("catalog.json"), "{err}");
}
