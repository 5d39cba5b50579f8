//! The payload bucket and item publishing on a local folder, end to end: what process and
//! update-state do with a payload, through the public API only.

use cirrus_core::payload::ProcessPayload;
use cirrus_core::payload::size::MAX_PAYLOAD_LENGTH;
use cirrus_core::state::Timestamp;
use cirrus_core::store::{self, ItemPublisher, ItemStatus, PayloadBucket, Store};
use serde_json::{Value, json};

/// 2025-03-04T05:06:07Z, and a minute later.
const T0: i64 = 1_741_064_767_000_000;
const T1: i64 = T0 + 60_000_000;

fn output_payload(padding: usize) -> Value {
    json!({
        "type": "FeatureCollection",
        "features": [{
            "id": "S2B_17HQD_20230601_0_L2A",
            "collection": "sentinel-2-l2a",
            "properties": {"datetime": "2023-06-01T10:20:30Z", "mgrs:utm_zone": 17},
            "assets": {"visual": {"href": "s3://data/visual.tif"}, "thumbnail": {"href": "s3://data/t.png"}},
            "links": []
        }],
        "process": [{
            "workflow": "cog-archive",
            "upload_options": {
                "path_template": "/${collection}/${mgrs:utm_zone}/${year}/${month}/${id}",
                "public_assets": ["thumbnail"]
            }
        }],
        "padding": "x".repeat(padding)
    })
}

#[tokio::test]
async fn a_payload_goes_through_the_bucket_and_its_items_are_published() {
    let root = tempfile::tempdir().unwrap();
    let bucket_url = format!("file://{}/payloads", root.path().display());
    let bucket = PayloadBucket::open(&bucket_url).unwrap();
    assert_eq!(bucket.url(), format!("{bucket_url}/cirrus"));

    // process: a large input travels as a pointer; the execution's input is kept.
    let input = output_payload(MAX_PAYLOAD_LENGTH);
    let parsed = ProcessPayload::from_value(input.clone()).unwrap().value;
    let id = parsed.id().unwrap();
    assert_eq!(
        id,
        "sentinel-2-l2a/workflow-cog-archive/S2B_17HQD_20230601_0_L2A"
    );
    let pointer = bucket.maybe_offload(&input).await.unwrap();
    assert!(
        pointer["url"]
            .as_str()
            .unwrap()
            .contains("/cirrus/tmp/oversized/")
    );
    let resolved = bucket.resolve(pointer).await.unwrap();
    assert_eq!(resolved, input);
    bucket.put_input(&id, "exec-1", &resolved).await.unwrap();

    // update-state: the output is kept and its items are published.
    let output = output_payload(0);
    let output_url = bucket.put_output(&id, "exec-1", &output).await.unwrap();
    assert_eq!(bucket.get_output(&id, None).await.unwrap(), output);
    assert_eq!(bucket.get_input(&id, None).await.unwrap(), input);
    assert_eq!(store::fetch_json(&output_url).await.unwrap(), output);

    let catalog = Store::open(&format!("{}/catalog", root.path().display())).unwrap();
    let publisher = ItemPublisher::new(catalog.clone());
    let payload = ProcessPayload::from_value(output).unwrap().value;
    let first = publisher
        .publish(&payload, Timestamp::from_micros(T0))
        .await
        .unwrap();
    let key = "sentinel-2-l2a/17/2023/6/S2B_17HQD_20230601_0_L2A/S2B_17HQD_20230601_0_L2A.json";
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].url, catalog.url_of(key).unwrap());
    assert_eq!(first[0].status, ItemStatus::Created);
    assert_eq!(first[0].public_assets, ["thumbnail"]);
    assert!(root.path().join("catalog").join(key).is_file());

    let again = publisher
        .publish(&payload, Timestamp::from_micros(T1))
        .await
        .unwrap();
    assert_eq!(again[0].status, ItemStatus::Updated);
    let item = catalog.get_json(key).await.unwrap().unwrap();
    assert_eq!(item["properties"]["created"], "2025-03-04T05:06:07Z");
    assert_eq!(item["properties"]["updated"], "2025-03-04T05:07:07Z");
    let self_link = item["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|link| link["rel"] == "self")
        .unwrap();
    assert_eq!(self_link["href"], first[0].url);

    // A message that did not parse is kept as is.
    let kept = bucket.put_invalid("{\"Records\": [").await.unwrap();
    assert_eq!(store::fetch(&kept).await.unwrap(), b"{\"Records\": [");
}
