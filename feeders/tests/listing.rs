//! The `listing` feeder: ENVI headers in a folder tree, each made an item with its image.

mod common;

use cirrus_feeders::listing::{ListingConfig, ListingFeeder};
use cirrus_feeders::{Counters, FeedConfig, FeedOptions, feed};
use common::{Collect, never};
use std::path::Path;

const CONFIG: &str = r#"
process = { workflow = "aviris-activate" }
[source]
url = "URL"
glob = "**/*_rdn_*.hdr"
collection = "aviris-l1"
[[source.siblings]]
suffixes = ["", ".img", ".dat"]
key = "data"
type = "application/octet-stream"
roles = ["data"]
required = true
"#;

fn touch(root: &Path, key: &str) {
    let path = root.join(key);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, b"x").unwrap();
}

#[tokio::test]
async fn envi_headers_become_items_with_their_images() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    touch(root, "2019/f190101t01p00r01_rdn_e.hdr");
    touch(root, "2019/f190101t01p00r01_rdn_e");
    touch(root, "2020/06/ang20200601t101010_rdn_v2z1.hdr");
    touch(root, "2020/06/ang20200601t101010_rdn_v2z1.img");
    touch(root, "2020/06/ang20200601t101010_rfl_v2z1.hdr"); // not matched by the glob
    touch(root, "2021/f210101t01p00r02_rdn_e.hdr"); // no image: skipped
    touch(root, "readme.txt");
    let text = CONFIG.replace("URL", &root.display().to_string());
    let config: FeedConfig<ListingConfig> = FeedConfig::parse("listing.toml", &text).unwrap();
    let options = FeedOptions {
        template: config.template("listing.toml").unwrap(),
        ..FeedOptions::default()
    };
    let sink = Collect::default();
    let summary = feed(
        Box::new(ListingFeeder::new(config.source).unwrap()),
        &sink,
        &options,
        &Counters::default(),
        never(),
    )
    .await
    .unwrap();
    assert_eq!(
        (summary.found, summary.payloads, summary.skipped),
        (3, 2, 1)
    );
    let payloads = sink.payloads.into_inner().unwrap();
    let mut items: Vec<_> = payloads.iter().map(|p| p["features"][0].clone()).collect();
    items.sort_by_key(|i| i["id"].as_str().unwrap().to_string());
    assert_eq!(items[0]["id"], "ang20200601t101010_rdn_v2z1");
    assert_eq!(items[0]["collection"], "aviris-l1");
    let href = |item: &serde_json::Value, key: &str| {
        item["assets"][key]["href"].as_str().unwrap().to_string()
    };
    assert!(href(&items[0], "header").ends_with("/2020/06/ang20200601t101010_rdn_v2z1.hdr"));
    assert_eq!(items[0]["assets"]["header"]["type"], "text/plain");
    assert!(href(&items[0], "data").ends_with("/2020/06/ang20200601t101010_rdn_v2z1.img"));
    assert!(href(&items[1], "data").ends_with("/2019/f190101t01p00r01_rdn_e"));
    assert_eq!(payloads[0]["process"][0]["workflow"], "aviris-activate");
}

#[test]
fn a_bad_glob_names_the_field() {
    let err = ListingFeeder::new(ListingConfig {
        url: "/tmp".into(),
        glob: "a[".into(),
        collection: None,
        modified_since: None,
        asset: None,
        siblings: Vec::new(),
    })
    .err()
    .unwrap()
    .to_string();
    assert!(err.starts_with("source.glob:"), "{err}");
}
