use super::*;
use crate::payload::size::MAX_PAYLOAD_LENGTH;
use std::time::{Duration, SystemTime};

const ID: &str = "sentinel-2-l2a/workflow-cog/S2B_1";

fn temp_bucket() -> (tempfile::TempDir, PayloadBucket) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let bucket =
        PayloadBucket::open(dir.path().to_str().expect("a UTF-8 temp path")).expect("open");
    (dir, bucket)
}

/// Sets the last-modified time of a file in the bucket: the test's clock for "latest".
fn set_mtime(dir: &tempfile::TempDir, key: &str, secs: u64) {
    let file = std::fs::File::options()
        .write(true)
        .open(dir.path().join(DEFAULT_ROOT).join(key))
        .expect("the object exists");
    file.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
        .expect("set mtime");
}

#[tokio::test]
async fn inputs_and_outputs_follow_the_v2_layout() {
    let (dir, bucket) = temp_bucket();
    let url = bucket
        .put_input(ID, "exec-1", &json!({"n": 1}))
        .await
        .unwrap();
    let path = dir
        .path()
        .join("cirrus/executions/sentinel-2-l2a/workflow-cog/S2B_1/exec-1/input.json");
    assert!(path.is_file());
    assert_eq!(url, url::Url::from_file_path(&path).unwrap().as_str());
    assert_eq!(url, bucket.input_url(ID, "exec-1").unwrap());
    let out = bucket
        .put_output(ID, "exec-1", &json!({"n": 2}))
        .await
        .unwrap();
    assert!(out.ends_with("/exec-1/output.json"));
    assert_eq!(out, bucket.output_url(ID, "exec-1").unwrap());
    assert_eq!(
        bucket.get_input(ID, Some("exec-1")).await.unwrap(),
        json!({"n": 1})
    );
    assert_eq!(
        bucket.get_output(ID, Some("exec-1")).await.unwrap(),
        json!({"n": 2})
    );
    assert_eq!(bucket.fetch(&out).await.unwrap(), json!({"n": 2}));
}

#[tokio::test]
async fn latest_execution_is_the_newest_by_last_modified() {
    let (dir, bucket) = temp_bucket();
    assert_eq!(bucket.latest_execution(ID).await.unwrap(), None);
    let err = bucket.get_input(ID, None).await.unwrap_err();
    assert!(
        matches!(&err, Error::ObjectNotFound(u) if u.contains("S2B_1/<any execution>/input.json")),
        "{err}"
    );

    // Names sort the other way from times, so the pick is by time.
    for (execution, secs) in [("c", 100), ("b", 300), ("a", 200)] {
        bucket
            .put_input(ID, execution, &json!(execution))
            .await
            .unwrap();
        set_mtime(
            &dir,
            &format!("executions/{ID}/{execution}/input.json"),
            secs,
        );
    }
    // A payload whose ID extends this one is not one of its executions.
    bucket
        .put_input(&format!("{ID}/more"), "z", &json!("z"))
        .await
        .unwrap();
    set_mtime(&dir, &format!("executions/{ID}/more/z/input.json"), 900);

    assert_eq!(
        bucket.latest_execution(ID).await.unwrap().as_deref(),
        Some("b")
    );
    assert_eq!(bucket.get_input(ID, None).await.unwrap(), json!("b"));

    // Only "c" has an output: the latest output is c's even though b ran later.
    bucket.put_output(ID, "c", &json!("out-c")).await.unwrap();
    assert_eq!(bucket.get_output(ID, None).await.unwrap(), json!("out-c"));
    let err = bucket.get_output(ID, Some("b")).await.unwrap_err();
    assert!(
        matches!(&err, Error::ObjectNotFound(u) if u.ends_with("/b/output.json")),
        "{err}"
    );

    // Equal times: the greatest name wins, so the answer does not depend on listing order.
    set_mtime(&dir, &format!("executions/{ID}/c/input.json"), 300);
    assert_eq!(
        bucket.latest_execution(ID).await.unwrap().as_deref(),
        Some("c")
    );
}

#[tokio::test]
async fn bad_payload_ids_and_execution_names_are_refused() {
    let (_dir, bucket) = temp_bucket();
    for id in [
        "",
        "/a/workflow-w/x",
        "a/workflow-w/x/",
        "a//x",
        "a/../x",
        "a/\nx",
    ] {
        let err = bucket.put_input(id, "e", &json!({})).await.unwrap_err();
        assert!(
            matches!(
                &err,
                Error::InvalidArgument {
                    field: "payload_id",
                    ..
                }
            ),
            "{id:?}: {err}"
        );
    }
    for execution in ["", "a/b", "..", "."] {
        let err = bucket.get_input(ID, Some(execution)).await.unwrap_err();
        assert!(
            matches!(
                &err,
                Error::InvalidArgument {
                    field: "execution",
                    ..
                }
            ),
            "{execution:?}: {err}"
        );
    }
}

#[tokio::test]
async fn temporary_payloads() {
    let (dir, bucket) = temp_bucket();
    let raw = "not json at all {";
    let url = bucket.put_invalid(raw).await.unwrap();
    assert!(
        url.contains("/cirrus/tmp/invalid/") && url.ends_with(".json"),
        "{url}"
    );
    assert_eq!(crate::store::fetch(&url).await.unwrap(), raw.as_bytes());

    let url = bucket.put_oversized(&json!({"big": true})).await.unwrap();
    assert!(url.contains("/cirrus/tmp/oversized/"), "{url}");
    assert_eq!(bucket.fetch(&url).await.unwrap(), json!({"big": true}));

    let url = bucket.put_batch(ID, &json!({"b": 1})).await.unwrap();
    assert!(url.contains(&format!("/cirrus/tmp/batch/{ID}/")), "{url}");
    assert_eq!(bucket.fetch(&url).await.unwrap(), json!({"b": 1}));
    let batch_dir = dir.path().join("cirrus/tmp/batch").join(ID);
    assert_eq!(std::fs::read_dir(batch_dir).unwrap().count(), 1);
}

#[tokio::test]
async fn maybe_offload_keeps_small_payloads_inline() {
    let (_dir, bucket) = temp_bucket();
    let small = json!({"features": [], "process": [{"workflow": "w"}]});
    assert_eq!(bucket.maybe_offload(&small).await.unwrap(), small);

    let big = json!({"process": [{"workflow": "w"}], "blob": "x".repeat(MAX_PAYLOAD_LENGTH)});
    let pointer = bucket.maybe_offload(&big).await.unwrap();
    let url = pointer["url"].as_str().expect("a {url} pointer");
    assert_eq!(pointer.as_object().unwrap().len(), 1);
    assert!(url.contains("/cirrus/tmp/oversized/"), "{url}");
    assert_eq!(bucket.fetch(url).await.unwrap(), big);
    assert_eq!(bucket.resolve(pointer.clone()).await.unwrap(), big);
}

#[tokio::test]
async fn resolve_follows_url_and_href_references_only() {
    let (_dir, bucket) = temp_bucket();
    let url = bucket.put_oversized(&json!({"p": 1})).await.unwrap();
    assert_eq!(
        bucket.resolve(json!({"href": url})).await.unwrap(),
        json!({"p": 1})
    );
    let payload = json!({"url": "ignored", "process": [{"workflow": "w"}]});
    assert_eq!(bucket.resolve(payload.clone()).await.unwrap(), payload);
    assert_eq!(bucket.resolve(json!([1])).await.unwrap(), json!([1]));
    let err = bucket.resolve(json!({"url": 3})).await.unwrap_err();
    assert!(
        matches!(err, Error::InvalidArgument { field: "url", .. }),
        "{err}"
    );
    let missing = bucket.store().url_of("tmp/oversized/none.json").unwrap();
    let err = bucket.resolve(json!({"url": missing})).await.unwrap_err();
    assert!(matches!(err, Error::ObjectNotFound(_)), "{err}");
}

#[tokio::test]
async fn roots_can_be_chosen() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().to_str().unwrap()).unwrap();
    let bare = PayloadBucket::with_root(&store, "").unwrap();
    bare.put_input(ID, "e", &json!(1)).await.unwrap();
    assert!(
        dir.path()
            .join("executions")
            .join(ID)
            .join("e/input.json")
            .is_file()
    );
    let nested = PayloadBucket::with_root(&store, "x/y").unwrap();
    assert_eq!(nested.url(), format!("{}/x/y", store.url()));
}

#[tokio::test]
async fn an_execution_arn_is_filed_under_its_name() {
    let (_dir, bucket) = temp_bucket();
    let arn = "arn:aws:states:us-east-1:123456789012:execution:p-cog:4f1c2b9e";
    bucket
        .put_input(ID, "4f1c2b9e", &json!({"n": 1}))
        .await
        .unwrap();
    assert_eq!(
        bucket.input_url(ID, arn).unwrap(),
        bucket.input_url(ID, "4f1c2b9e").unwrap()
    );
    assert_eq!(
        bucket.get_input(ID, Some(arn)).await.unwrap(),
        json!({"n": 1})
    );
    // Any other colon-holding name is still a name of its own.
    assert!(
        bucket
            .input_url(ID, "a:b")
            .unwrap()
            .ends_with("/a:b/input.json")
    );
}
