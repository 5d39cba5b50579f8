//! `StacApiSink` against `StacApiServer`, an in-memory STAC API with Transactions on
//! loopback: create, upsert on conflict, retries, and the errors an operator must be able
//! to act on.

use cirrus_core::Error;
use cirrus_core::process::{Message, MessageSink, StacApiSink};
use cirrus_core::testing::StacApiServer;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

fn item(collection: &str, id: &str, cloud_cover: u32) -> Value {
    json!({
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": id,
        "collection": collection,
        "geometry": null,
        "properties": {"datetime": "2024-01-02T03:04:05Z", "eo:cloud_cover": cloud_cover},
        "links": [],
        "assets": {},
    })
}

/// A sink for `server` whose retries wait a millisecond, not a tenth of a second.
fn sink(server: &StacApiServer) -> StacApiSink {
    StacApiSink::new(&server.url())
        .unwrap()
        .with_backoff(Duration::from_millis(1))
}

fn counts(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|(m, n)| (m.to_string(), *n)).collect()
}

/// The message of an `Error::Sink`, checking its sink is named after `url`.
fn sink_message(error: Error, url: &str) -> String {
    match error {
        Error::Sink { sink, message, .. } => {
            assert_eq!(sink, format!("stac-api {url}"));
            message
        }
        other => panic!("not a sink error: {other:?}"),
    }
}

#[tokio::test]
async fn new_items_are_created() {
    let server = StacApiServer::start();
    let sink = sink(&server);
    let items = [
        item("c1", "a", 10),
        item("c1", "b", 20),
        item("c2", "a", 30),
    ];
    let messages: Vec<Message> = items.iter().cloned().map(Message::item).collect();
    sink.publish(&messages).await.unwrap();
    sink.flush().await.unwrap();
    assert_eq!(server.items(), items);
    assert_eq!(server.requests(), counts(&[("POST", 3)]));
}

#[tokio::test]
async fn an_empty_batch_sends_nothing() {
    let server = StacApiServer::start();
    sink(&server).publish(&[]).await.unwrap();
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn republished_items_are_replaced() {
    let server = StacApiServer::start();
    let sink = sink(&server);
    sink.publish_one(&Message::item(item("c", "a", 10)))
        .await
        .unwrap();
    let updated = item("c", "a", 99);
    sink.publish_one(&Message::item(updated.clone()))
        .await
        .unwrap();
    assert_eq!(server.items(), [updated]);
    assert_eq!(server.requests(), counts(&[("POST", 2), ("PUT", 1)]));
}

#[tokio::test]
async fn ids_and_collections_are_percent_encoded() {
    let server = StacApiServer::start();
    let sink = sink(&server);
    let odd = item("my coll/x", "S2 #1/a?b%c", 1);
    sink.publish_one(&Message::item(odd.clone())).await.unwrap();
    // Again: the PUT URL carries the id as one segment, decoded back by the server.
    sink.publish_one(&Message::item(odd.clone())).await.unwrap();
    assert_eq!(server.item("my coll/x", "S2 #1/a?b%c"), Some(odd));
    assert_eq!(server.requests(), counts(&[("POST", 2), ("PUT", 1)]));
}

#[tokio::test]
async fn a_base_url_with_a_path_is_kept() {
    let server = StacApiServer::start();
    // The test server serves at the root, so a base with a path gets 404s: the error names
    // the URL under the base's path.
    let base = format!("{}stac/v1", server.url());
    let sink = StacApiSink::new(&base).unwrap();
    assert_eq!(sink.base_url(), format!("{base}/"));
    let error = sink
        .publish_one(&Message::item(item("c", "a", 1)))
        .await
        .unwrap_err();
    let message = sink_message(error, &format!("{base}/"));
    assert!(
        message.contains(&format!("POST {base}/collections/c/items answered 404")),
        "{message}"
    );
}

#[tokio::test]
async fn unavailable_answers_are_retried() {
    let server = StacApiServer::start();
    let sink = sink(&server);
    server.fail_next(2);
    sink.publish_one(&Message::item(item("c", "a", 1)))
        .await
        .unwrap();
    assert_eq!(server.items(), [item("c", "a", 1)]);
    assert_eq!(server.requests(), counts(&[("POST", 3)]));
}

#[tokio::test]
async fn retries_also_cover_the_replacing_put() {
    let server = StacApiServer::start();
    let sink = sink(&server);
    sink.publish_one(&Message::item(item("c", "a", 1)))
        .await
        .unwrap();
    server.fail_next(1); // the POST: retried, then 409
    sink.publish_one(&Message::item(item("c", "a", 2)))
        .await
        .unwrap();
    assert_eq!(server.items(), [item("c", "a", 2)]);
    assert_eq!(server.requests(), counts(&[("POST", 3), ("PUT", 1)]));
}

#[tokio::test]
async fn timed_out_requests_are_retried() {
    let server = StacApiServer::start();
    server.stall_next(1, Duration::from_secs(30));
    let sink = sink(&server).with_timeout(Duration::from_millis(200));
    sink.publish_one(&Message::item(item("c", "a", 1)))
        .await
        .unwrap();
    assert_eq!(server.items(), [item("c", "a", 1)]);
    assert_eq!(server.request_count("POST"), 2);
}

#[tokio::test]
async fn requests_timing_out_every_time_are_an_error() {
    let server = StacApiServer::start();
    server.stall_next(2, Duration::from_secs(30));
    let sink = sink(&server)
        .with_timeout(Duration::from_millis(100))
        .with_retries(1);
    let error = sink
        .publish_one(&Message::item(item("c", "a", 1)))
        .await
        .unwrap_err();
    let message = sink_message(error, &server.url());
    assert!(
        message.ends_with("timed out after 100ms (after 2 attempts)"),
        "{message}"
    );
}

#[tokio::test]
async fn redirects_keeping_the_method_are_followed() {
    let server = StacApiServer::start();
    server.redirect_next(1, 308, "/collections/c/items");
    sink(&server)
        .publish_one(&Message::item(item("c", "a", 1)))
        .await
        .unwrap();
    assert_eq!(server.items(), [item("c", "a", 1)]);
    assert_eq!(server.requests(), counts(&[("POST", 2)]));
}

#[tokio::test]
async fn redirects_that_would_become_a_get_are_errors() {
    let server = StacApiServer::start();
    server.redirect_next(1, 301, "https://elsewhere.example/");
    let error = sink(&server)
        .publish_one(&Message::item(item("c", "a", 1)))
        .await
        .unwrap_err();
    let message = sink_message(error, &server.url());
    assert!(
        message.contains(
            "answered 301 Moved Permanently: a redirect to https://elsewhere.example/, \
             which is not followed"
        ),
        "{message}"
    );
    assert_eq!(server.requests(), counts(&[("POST", 1)]));
}

#[tokio::test]
async fn too_many_requests_is_retried() {
    let server = StacApiServer::start();
    server.fail_next_with(1, 429);
    sink(&server)
        .publish_one(&Message::item(item("c", "a", 1)))
        .await
        .unwrap();
    assert_eq!(server.items().len(), 1);
}

#[tokio::test]
async fn retries_give_up_with_an_error() {
    let server = StacApiServer::start();
    server.fail_next(10);
    let sink = sink(&server).with_retries(2);
    let error = sink
        .publish_one(&Message::item(item("c", "a", 1)))
        .await
        .unwrap_err();
    let message = sink_message(error, &server.url());
    assert!(
        message.contains(r#"item "a" in collection "c""#),
        "{message}"
    );
    assert!(
        message.contains("answered 503 Service Unavailable (after 3 attempts)"),
        "{message}"
    );
    assert!(message.contains("InjectedFailure"), "{message}");
    assert_eq!(server.requests(), counts(&[("POST", 3)]));
    assert!(server.items().is_empty());
}

#[tokio::test]
async fn a_rejected_item_is_an_error_naming_it() {
    let server = StacApiServer::start();
    let sink = sink(&server);
    // Not a Feature: the server answers 400.
    let mut bad = item("c", "bad-one", 1);
    bad["type"] = json!("Collection");
    let messages = [Message::item(item("c", "good", 1)), Message::item(bad)];
    let error = sink.publish(&messages).await.unwrap_err();
    let message = sink_message(error, &server.url());
    let url = format!("{}collections/c/items", server.url());
    assert!(
        message.starts_with(&format!(
            r#"item "bad-one" in collection "c": POST {url} answered 400 Bad Request: {{"code":"BadRequest""#
        )),
        "{message}"
    );
    // Not retried; the item before it was published.
    assert_eq!(server.requests(), counts(&[("POST", 2)]));
    assert_eq!(server.items(), [item("c", "good", 1)]);
}

#[tokio::test]
async fn long_error_bodies_are_truncated() {
    let server = StacApiServer::start();
    // The server's 400 quotes the item's "type": make it long.
    let mut bad = item("c", "a", 1);
    bad["type"] = json!("x".repeat(2000));
    let error = sink(&server)
        .publish_one(&Message::item(bad))
        .await
        .unwrap_err();
    let message = error.to_string();
    let body = message.split("400 Bad Request: ").nth(1).unwrap();
    assert_eq!(body.chars().count(), 501, "{body}");
    assert!(body.starts_with(r#"{"code":"BadRequest""#), "{body}");
    assert!(body.ends_with("xxx…"), "{body}");
}

#[tokio::test]
async fn items_without_a_collection_or_id_are_errors() {
    let server = StacApiServer::start();
    let sink = sink(&server);

    let mut no_collection = item("c", "lonely", 1);
    no_collection.as_object_mut().unwrap().remove("collection");
    let messages = [
        Message::item(item("c", "a", 1)),
        Message::item(no_collection),
    ];
    let message = sink_message(sink.publish(&messages).await.unwrap_err(), &server.url());
    assert!(
        message.starts_with(r#"item "lonely" has no "collection" string"#),
        "{message}"
    );

    let mut no_id = item("c", "a", 1);
    no_id.as_object_mut().unwrap().remove("id");
    let message = sink_message(
        sink.publish_one(&Message::item(no_id)).await.unwrap_err(),
        &server.url(),
    );
    assert!(
        message.starts_with(r#"message 1 has no "id" string (collection "c")"#),
        "{message}"
    );

    let mut numeric_collection = item("c", "n", 1);
    numeric_collection["collection"] = json!(7);
    let message = sink_message(
        sink.publish_one(&Message::item(numeric_collection))
            .await
            .unwrap_err(),
        &server.url(),
    );
    assert!(
        message.contains(r#"item "n" has no "collection" string"#),
        "{message}"
    );

    // The batch is checked before anything is sent.
    assert!(server.requests().is_empty());
}

#[test]
fn bad_base_urls_are_errors_naming_them() {
    for (url, expected) in [
        ("not a url", r#"invalid STAC API URL "not a url""#),
        (
            "ftp://example.com/",
            r#"the STAC API URL "ftp://example.com/" is not http:// or https://"#,
        ),
        (
            "s3://bucket/prefix",
            r#"the STAC API URL "s3://bucket/prefix" is not http"#,
        ),
        ("http://example.com/?q=1", "has a query or fragment"),
        ("http://", "invalid STAC API URL \"http://\""),
    ] {
        let error = StacApiSink::new(url).unwrap_err();
        let text = error.to_string();
        assert!(text.contains(expected), "{url}: {text}");
        assert!(matches!(error, Error::Sink { .. }), "{url}: {error:?}");
    }
}

#[tokio::test]
async fn an_unreachable_api_is_an_error_after_retries() {
    // A port that was free a moment ago: nothing listens there.
    let url = {
        let server = StacApiServer::start();
        server.url()
    };
    let sink = StacApiSink::new(&url)
        .unwrap()
        .with_retries(1)
        .with_backoff(Duration::from_millis(1));
    let error = sink
        .publish_one(&Message::item(item("c", "a", 1)))
        .await
        .unwrap_err();
    let message = sink_message(error, &url);
    assert!(message.contains("cannot connect"), "{message}");
    assert!(message.contains("(after 2 attempts)"), "{message}");
}

#[tokio::test]
async fn extra_headers_are_sent() {
    let server = StacApiServer::start();
    let sink = sink(&server)
        .with_headers([("Authorization", "Bearer token"), ("X-Tenant", "t1")])
        .unwrap();
    sink.publish_one(&Message::item(item("c", "a", 1)))
        .await
        .unwrap();
    assert_eq!(
        server.last_header("authorization").as_deref(),
        Some("Bearer token")
    );
    assert_eq!(server.last_header("x-tenant").as_deref(), Some("t1"));
    assert_eq!(
        server.last_header("content-type").as_deref(),
        Some("application/json")
    );
}

#[test]
fn the_server_serves_a_plain_test_too() {
    let server = StacApiServer::start();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime
        .block_on(sink(&server).publish_one(&Message::item(item("c", "a", 1))))
        .unwrap();
    assert_eq!(server.item("c", "a"), Some(item("c", "a", 1)));
    assert_eq!(server.request_count("POST"), 1);
}
