use super::*;
use futures_util::TryStreamExt;
use serde_json::json;

fn temp_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let store = Store::open(dir.path().to_str().expect("a UTF-8 temp path")).expect("open");
    (dir, store)
}

#[tokio::test]
async fn plain_paths_and_file_urls_open_the_same_folder() {
    let (dir, store) = temp_store();
    let url = store.put("x/y.json", b"{}".to_vec()).await.unwrap();
    assert!(dir.path().join("x/y.json").is_file());
    let via_url = Store::open(&store.url()).unwrap();
    assert_eq!(via_url.url(), store.url());
    assert_eq!(via_url.get("x/y.json").await.unwrap(), Some(b"{}".to_vec()));
    assert_eq!(fetch(&url).await.unwrap(), b"{}".to_vec());
    // `..` and `.` are resolved before the store is opened.
    let dotted = format!("{}/x/../x/./", dir.path().display());
    assert_eq!(
        Store::open(&dotted).unwrap().url(),
        format!("{}/x", store.url())
    );
}

#[tokio::test]
async fn deferred_sync_stores_write_the_same_files_and_sync_them_together() {
    let (dir, store) = temp_store();
    let deferred = store.with_deferred_sync().child("a").unwrap();
    assert!(deferred.deferred_sync, "a child keeps the deferred syncs");
    assert!(!store.deferred_sync);
    // Before anything is written, the store's folder does not exist: the sync flushes the
    // file system of its nearest existing parent.
    assert!(!dir.path().join("a").exists());
    deferred.sync().await.unwrap();
    let url = deferred.put("b/c.json", b"{}".to_vec()).await.unwrap();
    deferred.sync().await.unwrap();
    assert_eq!(url, store.url_of("a/b/c.json").unwrap());
    assert_eq!(std::fs::read(dir.path().join("a/b/c.json")).unwrap(), b"{}");
    // A store that flushes every write has nothing left to sync.
    store.sync().await.unwrap();
    // A path with no existing folder at all is an error, not a silent success.
    let missing = sync_file_system(std::path::Path::new("relative/nowhere")).unwrap_err();
    assert_eq!(missing.kind(), std::io::ErrorKind::NotFound);
}

#[tokio::test]
async fn urls_are_percent_encoded_and_round_trip() {
    let (dir, store) = temp_store();
    let key = "a b/c%d#e?.json";
    let url = store.put(key, b"1".to_vec()).await.unwrap();
    assert!(url.ends_with("/a%20b/c%25d%23e%3F.json"), "{url}");
    assert!(dir.path().join("a b").join("c%d#e?.json").is_file());
    assert_eq!(fetch(&url).await.unwrap(), b"1".to_vec());
}

#[tokio::test]
async fn missing_objects_are_none_or_not_found() {
    let (_dir, store) = temp_store();
    assert_eq!(store.get("nope.json").await.unwrap(), None);
    assert_eq!(store.get_json("nope.json").await.unwrap(), None);
    let url = store.url_of("nope.json").unwrap();
    assert!(matches!(fetch(&url).await, Err(Error::ObjectNotFound(u)) if u == url));
    let listed: Vec<Listed> = store
        .list("no/such/dir")
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert!(listed.is_empty());
}

#[tokio::test]
async fn bad_keys_and_urls_are_refused_with_their_name() {
    let (_dir, store) = temp_store();
    for key in ["a//b", "../x", "a/./b", "a\u{1}b"] {
        let err = store.put(key, Vec::new()).await.unwrap_err();
        assert!(matches!(err, Error::Store { .. }), "{key}: {err}");
        assert!(err.to_string().contains("invalid object key"), "{err}");
    }
    let err = Store::open("gs://bucket/x").unwrap_err().to_string();
    assert!(err.contains("unsupported URL scheme \"gs\""), "{err}");
    let err = Store::open("s3:///x").unwrap_err().to_string();
    assert!(err.contains("needs a bucket name"), "{err}");
    let err = Store::open("file://host/x").unwrap_err().to_string();
    assert!(err.contains("local absolute path"), "{err}");
    assert!(Store::open("").is_err());
    let err = Store::open_object(&store.url()[..8])
        .unwrap_err()
        .to_string();
    assert!(err.contains("not an object"), "{err}");
}

#[cfg(not(feature = "aws"))]
#[test]
fn s3_needs_the_aws_feature() {
    let err = Store::open("s3://bucket/prefix").unwrap_err().to_string();
    assert!(err.contains("`aws` feature"), "{err}");
}

#[cfg(feature = "aws")]
#[test]
fn s3_urls_name_bucket_and_key() {
    let store = Store::open("s3://bucket/some/prefix").unwrap();
    assert_eq!(store.url(), "s3://bucket/some/prefix");
    assert_eq!(
        store.url_of("a b/c.json").unwrap(),
        "s3://bucket/some/prefix/a b/c.json"
    );
    let (object, key) = Store::open_object("s3://bucket/k/x.json").unwrap();
    assert_eq!(
        (object.url(), key.as_str()),
        ("s3://bucket/k".into(), "x.json")
    );
    assert_eq!(Store::open("s3://bucket").unwrap().url(), "s3://bucket");
}

#[tokio::test]
async fn list_gives_keys_relative_to_the_store() {
    let (_dir, store) = temp_store();
    let sub = store.child("root").unwrap();
    sub.put_json("a/1.json", &json!(1)).await.unwrap();
    sub.put_json("a/b/2.json", &json!(2)).await.unwrap();
    sub.put_json("ab/3.json", &json!(3)).await.unwrap();
    let mut keys: Vec<String> = sub
        .list("a")
        .unwrap()
        .map_ok(|listed| listed.key)
        .try_collect()
        .await
        .unwrap();
    keys.sort();
    assert_eq!(keys, ["a/1.json", "a/b/2.json"]);
}

#[tokio::test]
async fn invalid_json_names_the_object() {
    let (_dir, store) = temp_store();
    let url = store.put("bad.json", b"{nope".to_vec()).await.unwrap();
    let err = store.get_json("bad.json").await.unwrap_err();
    assert!(err.to_string().contains(&url), "{err}");
    assert!(err.to_string().contains("not valid JSON"), "{err}");
}

/// The same calls against S3, on a `moto_server` on loopback.
#[cfg(feature = "aws")]
mod s3 {
    use super::*;
    use crate::payload::ProcessPayload;
    use crate::payload::size::MAX_PAYLOAD_LENGTH;
    use crate::state::Timestamp;
    use crate::store::{DEFAULT_ROOT, ItemPublisher, ItemStatus, PayloadBucket};
    use crate::testing::MotoServer;
    use std::io::{Read, Write};

    const BUCKET: &str = "cirrus-store-tests";
    const ID: &str = "sentinel-2-l2a/workflow-cog/S2B_1";

    /// Creates the test bucket (moto does not check signatures; creating it again is fine).
    fn create_bucket(moto: &MotoServer) {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", moto.port())).unwrap();
        let request = format!(
            "PUT /{BUCKET} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            moto.port()
        );
        stream.write_all(request.as_bytes()).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    }

    fn open(url: &str) -> Store {
        let moto = MotoServer::shared();
        create_bucket(moto);
        Store::open_with(
            url,
            [
                ("aws_endpoint", moto.endpoint()),
                ("aws_region", "us-east-1".into()),
                ("aws_access_key_id", "testing".into()),
                ("aws_secret_access_key", "testing".into()),
                ("aws_allow_http", "true".into()),
                ("aws_virtual_hosted_style_request", "false".into()),
            ],
        )
        .unwrap()
    }

    #[test]
    fn unknown_s3_options_are_refused_and_local_stores_ignore_them() {
        let err = Store::open_with("s3://b/p", [("aws_nope", "x")]).unwrap_err();
        assert!(
            err.to_string().contains("unknown S3 option \"aws_nope\""),
            "{err}"
        );
        let dir = tempfile::tempdir().unwrap();
        assert!(Store::open_with(dir.path().to_str().unwrap(), [("aws_nope", "x")]).is_ok());
    }

    #[tokio::test]
    async fn payload_bucket_on_s3() {
        let store = open(&format!("s3://{BUCKET}/bucket-test"));
        let bucket = PayloadBucket::with_root(&store, DEFAULT_ROOT).unwrap();
        let url = bucket
            .put_input(ID, "exec-1", &json!({"n": 1}))
            .await
            .unwrap();
        assert_eq!(
            url,
            format!("s3://{BUCKET}/bucket-test/cirrus/executions/{ID}/exec-1/input.json")
        );
        bucket
            .put_input(&format!("{ID}/more"), "x", &json!(0))
            .await
            .unwrap();
        assert_eq!(
            bucket.latest_execution(ID).await.unwrap().as_deref(),
            Some("exec-1")
        );
        assert_eq!(bucket.get_input(ID, None).await.unwrap(), json!({"n": 1}));
        assert!(matches!(
            bucket.get_output(ID, None).await,
            Err(Error::ObjectNotFound(_))
        ));

        let big = json!({"process": [{"workflow": "w"}], "blob": "x".repeat(MAX_PAYLOAD_LENGTH)});
        let pointer = bucket.maybe_offload(&big).await.unwrap();
        let url = pointer["url"].as_str().unwrap();
        assert!(url.starts_with(&format!("s3://{BUCKET}/bucket-test/cirrus/tmp/oversized/")));
        assert_eq!(bucket.resolve(pointer.clone()).await.unwrap(), big);

        let raw = bucket.put_invalid("{oops").await.unwrap();
        let key = raw.strip_prefix(&format!("{}/", store.url())).unwrap();
        assert_eq!(store.get(key).await.unwrap(), Some(b"{oops".to_vec()));
    }

    #[tokio::test]
    async fn items_published_on_s3() {
        let store = open(&format!("s3://{BUCKET}/items-test"));
        let publisher = ItemPublisher::new(store.clone());
        let payload = ProcessPayload::from_value(json!({
            "features": [
                {"id": "a", "collection": "c", "properties": {"datetime": "2023-06-01T00:00:00Z"}},
                {"id": "b", "collection": "elsewhere", "properties": {"datetime": "2023-06-01T00:00:00Z"}}
            ],
            "process": [{
                "workflow": "w",
                "upload_options": {"path_template": "/${collection}/${year}"},
                "collection_options": {"elsewhere": {"upload_options": {
                    "path_template": format!("s3://{BUCKET}/absolute/${{collection}}")
                }}}
            }]
        }))
        .unwrap()
        .value;
        let first = publisher
            .publish(&payload, Timestamp::from_micros(0))
            .await
            .unwrap();
        assert_eq!(
            first[0].url,
            format!("s3://{BUCKET}/items-test/c/2023/a.json")
        );
        assert_eq!(
            first[1].url,
            format!("s3://{BUCKET}/absolute/elsewhere/b.json")
        );
        let again = publisher
            .publish(&payload, Timestamp::from_micros(1_000_000))
            .await
            .unwrap();
        for item in &again {
            assert_eq!(item.status, ItemStatus::Updated);
            let stored = store.fetch_json(&item.url).await.unwrap();
            assert_eq!(stored, item.item);
            assert_eq!(stored["properties"]["created"], "1970-01-01T00:00:00Z");
            assert_eq!(stored["properties"]["updated"], "1970-01-01T00:00:01Z");
        }
    }
}
