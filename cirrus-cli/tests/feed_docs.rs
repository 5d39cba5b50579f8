//! The examples of `docs/feeders.md` work: each config block is a valid config of its feeder,
//! the `python file=…` / `toml file=…` blocks are written into a fresh project, and each
//! `$ …` line of a `console` block, run there with `cirrus` on the PATH, prints what follows
//! it. (The Rust example runs as a doc test of `cirrus-feeders`.)

mod common;

use assert_cmd::Command;
use cirrus_feeders::FeedConfig;
use cirrus_feeders::catalog::{CatalogConfig, CatalogFeeder};
use cirrus_feeders::listing::ListingConfig;
use cirrus_feeders::rerun::RerunConfig;
use cirrus_feeders::stac_api::{StacApiConfig, StacApiFeeder};
use common::markdown::{Block, blocks};

#[test]
fn config_blocks_are_valid_configs_of_their_feeder() {
    let configs: Vec<Block> = blocks("feeders.md")
        .into_iter()
        .filter(|b| b.info.starts_with("toml"))
        .collect();
    assert_eq!(configs.len(), 4, "stac-api, stac-catalog, listing, rerun");
    let file = |b: &Block| format!("feeders.md:{}.toml", b.line);
    let stac = FeedConfig::<StacApiConfig>::parse(&file(&configs[0]), &configs[0].body).unwrap();
    assert!(stac.template(&file(&configs[0])).unwrap().is_some());
    StacApiFeeder::new(stac.source).unwrap();
    let catalog = FeedConfig::<CatalogConfig>::parse(&file(&configs[1]), &configs[1].body).unwrap();
    CatalogFeeder::new(catalog.source).unwrap();
    FeedConfig::<ListingConfig>::parse(&file(&configs[2]), &configs[2].body).unwrap();
    FeedConfig::<RerunConfig>::parse(&file(&configs[3]), &configs[3].body).unwrap();
}

#[test]
fn console_examples_print_what_the_docs_say() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let cirrus = assert_cmd::cargo::cargo_bin("cirrus");
    Command::new(&cirrus)
        .current_dir(root)
        .args(["init", "."])
        .assert()
        .success();
    // The files the listing example lists: two headers with their images, one without.
    for file in [
        "scenes/2019/f190101t01p00r01_rdn_e.hdr",
        "scenes/2019/f190101t01p00r01_rdn_e",
        "scenes/2020/ang20200601t101010_rdn_v2z1.hdr",
        "scenes/2020/ang20200601t101010_rdn_v2z1.img",
        "scenes/2021/f210101t01p00r02_rdn_e.hdr",
    ] {
        let path = root.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, "x").unwrap();
    }
    let blocks = blocks("feeders.md");
    for block in &blocks {
        if let Some(name) = block
            .info
            .split_whitespace()
            .find_map(|w| w.strip_prefix("file="))
        {
            std::fs::write(root.join(name), &block.body).unwrap();
        }
    }
    let path = format!(
        "{}:{}",
        cirrus.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut ran = 0;
    for block in blocks.iter().filter(|b| b.info == "console") {
        for (command, want) in block.commands() {
            let out = std::process::Command::new("sh")
                .current_dir(root)
                .env("PATH", &path)
                .args(["-c", &command])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "feeders.md:{}: {command}: {}",
                block.line,
                String::from_utf8_lossy(&out.stderr)
            );
            let got = String::from_utf8_lossy(&out.stdout);
            let got: String = got.lines().map(|l| format!("{}\n", l.trim())).collect();
            assert_eq!(got, want, "feeders.md:{}: {command}", block.line);
            ran += 1;
        }
    }
    assert_eq!(ran, 2);
}
