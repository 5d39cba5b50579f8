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
