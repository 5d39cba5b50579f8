//! The `{{name}}` feeder: prints Cirrus process payloads as NDJSON on stdout.
//!
//!     cargo run -q -- feeder.toml | cirrus process -
//!     cargo run -q -- feeder.toml feeder.checkpoint.json | cirrus process -   # resumable
//!
//! Replace `records` with a read of the real source (a database, an API, a bucket listing):
//! yield each item with a cursor saying where to resume after it.

use cirrus_feeders::{Counters, FeedConfig, FeedOptions, Feeder, Found, NdjsonSink, Record, Records, feed};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};

/// The `source` section of the config; unknown fields are refused.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Source {
    /// The items' collection.
    collection: String,
    /// How many items to make.
    count: u64,
}

/// The feeder: items `{collection}-0` … `{collection}-{count-1}`; the cursor is the next index.
struct ThisFeeder {
    source: Source,
}

impl Feeder for ThisFeeder {
    fn name(&self) -> &str {
        "{{name}}"
    }

    fn records(self: Box<Self>, resume: Option<Value>) -> Records {
        let start = resume.and_then(|cursor| cursor.as_u64()).unwrap_or(0);
        let collection = self.source.collection;
        futures_util::stream::iter(start..self.source.count)
            .map(move |i| {
                let item = json!({
                    "type": "Feature",
                    "stac_version": "1.1.0",
                    "id": format!("{collection}-{i}"),
                    "collection": collection,
                    "geometry": null,
                    "properties": {"datetime": "2024-01-01T00:00:00Z"},
                    "links": [],
                    "assets": {},
                });
                Ok(Record::new(Found::Item(item), json!(i + 1)))
            })
            .boxed()
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().unwrap_or_else(|| "feeder.toml".to_string());
    let config = FeedConfig::<Source>::load(path.as_ref())?;
    let options = FeedOptions {
        template: config.template(&path)?,
        batch_size: config.batch_size.unwrap_or(1),
        max_rate: config.max_rate,
        checkpoint: args.next().map(Into::into),
        fingerprint: config.fingerprint.clone(),
    };
    let sink = NdjsonSink::new(std::io::BufWriter::new(std::io::stdout()));
    let feeder = Box::new(ThisFeeder { source: config.source });
    let summary = feed(feeder, &sink, &options, &Counters::default(), std::future::pending()).await?;
    eprintln!("{{name}}: {} payloads ({} items)", summary.payloads, summary.items);
    Ok(())
}
