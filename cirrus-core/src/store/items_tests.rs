use super::*;

/// 2025-01-02T03:04:05Z and five seconds (and a fraction) later: the test clock.
const T0: i64 = 1_735_787_045_000_000;
const T1: i64 = T0 + 5_250_000;

fn payload(upload_options: Value) -> ProcessPayload {
    ProcessPayload::from_value(json!({
        "type": "FeatureCollection",
        "features": [
            {
                "id": "S2B_1", "collection": "sentinel-2-l2a",
                "properties": {"datetime": "2023-06-01T10:20:30Z"},
                "assets": {"B01": {"href": "s3://b/B01.tif"}, "thumbnail": {"href": "s3://b/t.png"}},
                "links": [
                    {"rel": "self", "href": "s3://old/S2B_1.json"},
                    {"rel": "derived_from", "href": "s3://src/x.json"},
                    {"rel": "canonical", "href": "s3://old/S2B_1.json"}
                ]
            },
            {"id": "S2B_2", "collection": "other", "properties": {"datetime": "2023-06-02T00:00:00Z"}}
        ],
        "process": [{
            "workflow": "cog",
            "upload_options": upload_options,
            "collection_options": {"other": {"upload_options": {"path_template": "/special/${id}/"}}}
        }]
    }))
    .expect("a valid payload")
    .value
}

fn temp_publisher() -> (tempfile::TempDir, ItemPublisher) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let publisher = ItemPublisher::open(dir.path().to_str().expect("UTF-8")).expect("open");
    (dir, publisher)
}

#[tokio::test]
async fn items_go_under_their_path_template_with_timestamps_and_links() {
    let (dir, publisher) = temp_publisher();
    let payload = payload(json!({
        "path_template": "/${collection}/${year}/${month}/${id}",
        "public_assets": ["thumbnail", "missing"]
    }));
    let published = publisher
        .publish(&payload, Timestamp::from_micros(T0))
        .await
        .unwrap();
    assert_eq!(published.len(), 2);

    let first = &published[0];
    let path = dir.path().join("sentinel-2-l2a/2023/6/S2B_1/S2B_1.json");
    assert_eq!(first.url, url::Url::from_file_path(&path).unwrap().as_str());
    assert_eq!(first.status, ItemStatus::Created);
    assert_eq!(first.public_assets, ["thumbnail"]);
    let written: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(written, first.item);
    assert_eq!(written["properties"]["created"], "2025-01-02T03:04:05Z");
    assert_eq!(written["properties"]["updated"], "2025-01-02T03:04:05Z");
    assert_eq!(
        written["links"],
        json!([
            {"rel": "derived_from", "href": "s3://src/x.json"},
            {"rel": "canonical", "href": first.url, "type": "application/json"},
            {"rel": "self", "href": first.url, "type": "application/json"}
        ])
    );

    // The second item's collection has its own upload options.
    let second = &published[1];
    assert!(dir.path().join("special/S2B_2/S2B_2.json").is_file());
    assert_eq!(
        second.url,
        publisher.data.url_of("special/S2B_2/S2B_2.json").unwrap()
    );
    assert!(second.public_assets.is_empty());
    assert_eq!(second.item["links"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn publishing_again_changes_only_updated() {
    let (_dir, publisher) = temp_publisher();
    let payload = payload(json!({"path_template": "/${collection}/${id}", "public_assets": "ALL"}));
    let first = publisher
        .publish(&payload, Timestamp::from_micros(T0))
        .await
        .unwrap();
    let again = publisher
        .publish(&payload, Timestamp::from_micros(T1))
        .await
        .unwrap();
    assert_eq!(first[0].public_assets, ["B01", "thumbnail"]);
    for (before, after) in first.iter().zip(&again) {
        assert_eq!(after.status, ItemStatus::Updated);
        assert_eq!(after.url, before.url);
        assert_eq!(after.item["properties"]["created"], "2025-01-02T03:04:05Z");
        assert_eq!(
            after.item["properties"]["updated"],
            "2025-01-02T03:04:10.250000Z"
        );
        let mut expected = before.item.clone();
        expected["properties"]["updated"] = after.item["properties"]["updated"].clone();
        assert_eq!(after.item, expected);
    }
    let read = crate::store::fetch_json(&again[0].url).await.unwrap();
    assert_eq!(read, again[0].item);
}

#[tokio::test]
async fn created_comes_from_the_existing_object_first_then_the_item() {
    let (_dir, publisher) = temp_publisher();
    let options: UploadOptions = payload(json!({"path_template": "/c/${id}"}))
        .process_definition()
        .upload_options
        .clone()
        .unwrap();
    let mut item = payload(json!({})).features.remove(0);
    item.as_map_mut()["properties"]["created"] = json!("2020-01-01T00:00:00Z");

    // No object yet: the item's own `created` is kept, so cirrus-geo's rule says "updated".
    let published = publisher
        .publish_item(&item, &options, Timestamp::from_micros(T0))
        .await
        .unwrap();
    assert_eq!(
        published.item["properties"]["created"],
        "2020-01-01T00:00:00Z"
    );
    assert_eq!(published.status, ItemStatus::Updated);

    // An existing object wins over the item, even when it has no `created` (as in stac-task).
    publisher
        .data
        .put_json("c/S2B_1/S2B_1.json", &json!({"id": "S2B_1"}))
        .await
        .unwrap();
    let published = publisher
        .publish_item(&item, &options, Timestamp::from_micros(T1))
        .await
        .unwrap();
    assert_eq!(
        published.item["properties"]["created"],
        "2025-01-02T03:04:10.250000Z"
    );
    assert_eq!(published.status, ItemStatus::Created);
}

#[tokio::test]
async fn url_templates_name_their_own_store() {
    let (_dir, publisher) = temp_publisher();
    let elsewhere = tempfile::tempdir().unwrap();
    let base = Store::open(elsewhere.path().to_str().unwrap())
        .unwrap()
        .url();
    let payload = payload(json!({"path_template": format!("{base}/${{collection}}/")}));
    let options = payload.process_definition().upload_options.clone().unwrap();
    let published = publisher
        .publish_item(&payload.features[0], &options, Timestamp::from_micros(T0))
        .await
        .unwrap();
    assert_eq!(published.url, format!("{base}/sentinel-2-l2a/S2B_1.json"));
    assert!(elsewhere.path().join("sentinel-2-l2a/S2B_1.json").is_file());
}

#[tokio::test]
async fn missing_or_unrenderable_templates_are_errors() {
    let (_dir, publisher) = temp_publisher();
    let payload_without = payload(json!({"public_assets": "ALL"}));
    let err = publisher
        .publish(&payload_without, Timestamp::from_micros(T0))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidArgument { field: "upload_options.path_template", message } if message.contains("S2B_1")),
        "{err}"
    );
    let payload_bad = payload(json!({"path_template": "/${nope}/${id}"}));
    let err = publisher
        .publish(&payload_bad, Timestamp::from_micros(T0))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::PathTemplate { .. }), "{err}");
}

#[tokio::test]
async fn malformed_items_are_refused_not_overwritten() {
    let (_dir, publisher) = temp_publisher();
    let options = payload(json!({"path_template": "/c"}))
        .process_definition()
        .upload_options
        .clone()
        .unwrap();
    let mut item = payload(json!({})).features.remove(0);
    item.as_map_mut()["links"] = json!("nope");
    let err = publisher
        .publish_item(&item, &options, Timestamp::from_micros(T0))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("links must be an array"), "{err}");

    publisher
        .data
        .put("c/S2B_1.json", b"{broken".to_vec())
        .await
        .unwrap();
    let item = payload(json!({})).features.remove(0);
    let err = publisher
        .publish_item(&item, &options, Timestamp::from_micros(T0))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not valid JSON"), "{err}");
    assert_eq!(
        publisher.data.get("c/S2B_1.json").await.unwrap(),
        Some(b"{broken".to_vec())
    );
}

#[test]
fn timestamps_are_written_as_pystac_writes_them() {
    assert_eq!(
        pystac_datetime(Timestamp::from_micros(0)),
        "1970-01-01T00:00:00Z"
    );
    assert_eq!(
        pystac_datetime(Timestamp::from_micros(1)),
        "1970-01-01T00:00:00.000001Z"
    );
    assert_eq!(ItemStatus::Created.as_str(), "created");
    assert_eq!(ItemStatus::Updated.as_str(), "updated");
}
