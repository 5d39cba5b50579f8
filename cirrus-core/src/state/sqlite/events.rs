//! The workflow event log: every [`WorkflowEvent`] published locally, kept in the state DB.
//!
//! Each event is one row of `events`, numbered by `seq` in the order it was appended, with
//! its exact JSON body and, for filtering, its type, time, payload ID, workflow and
//! collections. [`SqliteStateStore::event_log`] is the [`MessageSink`] that writes it;
//! [`SqliteStateStore::events`] reads it back, oldest first, a bounded page at a time.

use super::{BACKEND, SqliteStateStore, write_tx};
use crate::process::{Message, MessageSink, WorkflowEvent, WorkflowEventType};
use crate::state::Timestamp;
use crate::{Error, Result};
use async_trait::async_trait;
use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, params};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// The number of events [`EventQuery::default`] reads.
pub const DEFAULT_EVENT_LIMIT: usize = 1000;

/// Which events to read: every filter that is set must match. Results come oldest first (by
/// `seq`), at most `limit` of them; continue with `after_seq` = the last one's `seq`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventQuery {
    /// Only events about this payload ID.
    pub payload_id: Option<String>,
    /// Only events of this type.
    pub event_type: Option<WorkflowEventType>,
    /// Only events about payloads of this workflow.
    pub workflow: Option<String>,
    /// Only events at or after this time (`isotimestamp`).
    pub since: Option<Timestamp>,
    /// Only events at or before this time.
    pub until: Option<Timestamp>,
    /// Only events appended after the one with this `seq`.
    pub after_seq: Option<i64>,
    /// At most this many events.
    pub limit: usize,
}

impl Default for EventQuery {
    fn default() -> EventQuery {
        EventQuery {
            payload_id: None,
            event_type: None,
            workflow: None,
            since: None,
            until: None,
            after_seq: None,
            limit: DEFAULT_EVENT_LIMIT,
        }
    }
}

/// An event read back from the log, with its position in it.
///
/// Serialized as the event's body with `seq` first:
/// `{"seq": 7, "event_type": "FAILED", "payload_id": …, "isotimestamp": …, …}`.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedEvent {
    /// The event's position in the log: increasing in the order events were appended.
    pub seq: i64,
    /// The event.
    pub event: WorkflowEvent,
}

impl Serialize for LoggedEvent {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let body = match self.event.body() {
            Value::Object(fields) => fields,
            _ => serde_json::Map::new(),
        };
        let mut map = serializer.serialize_map(Some(body.len() + 1))?;
        map.serialize_entry("seq", &self.seq)?;
        for (name, value) in &body {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for LoggedEvent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<LoggedEvent, D::Error> {
        let body = Value::deserialize(deserializer)?;
        let seq = body
            .get("seq")
            .and_then(Value::as_i64)
            .ok_or_else(|| serde::de::Error::custom("seq: is missing or not an integer"))?;
        let event = WorkflowEvent::from_body(&body).map_err(serde::de::Error::custom)?;
        Ok(LoggedEvent { seq, event })
    }
}

impl SqliteStateStore {
    /// Appends `events` to the log, in order, in one transaction.
    pub async fn append_events(&self, events: &[WorkflowEvent]) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let events = events.to_vec();
        self.run_write(move |conn| append(conn, &events)).await
    }

    /// The events matching `query`, oldest first, at most `query.limit`.
    pub async fn events(&self, query: &EventQuery) -> Result<Vec<LoggedEvent>> {
        let (sql, values) = events_sql(query);
        self.run(move |conn| {
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = stmt.query_map(rusqlite::params_from_iter(values.iter()), |row| {
                Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
            })?;
            rows.map(|row| {
                let (seq, body) = row?;
                let event = serde_json::from_str(&body)
                    .map_err(Error::from)
                    .and_then(|body: Value| WorkflowEvent::from_body(&body))
                    .map_err(|e| Error::StateDb {
                        backend: BACKEND,
                        message: format!("event {seq} of the log is not a workflow event: {e}"),
                        source: None,
                    })?;
                Ok(LoggedEvent { seq, event })
            })
            .collect()
        })
        .await
    }

    /// The event log as a [`MessageSink`]: each published message must be a workflow event.
    pub fn event_log(&self) -> EventLogSink {
        EventLogSink {
            store: self.clone(),
        }
    }
}

fn append(conn: &mut Connection, events: &[WorkflowEvent]) -> Result<()> {
    write_tx(conn, "cannot commit the events", |tx| {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO events (at, event_type, payload_id, workflow, collections, execution, \
             error, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        for event in events {
            let key = event.key.as_ref();
            stmt.execute(params![
                event.isotimestamp.as_micros(),
                event.event_type.as_str(),
                key.map(|k| k.as_str()),
                key.map(|k| k.workflow()),
                key.map(|k| k.collections()),
                event.execution,
                event.error,
                serde_json::to_string(&event.body())?,
            ])?;
        }
        Ok(())
    })
}

/// The SQL reading `query`, and its parameters.
fn events_sql(query: &EventQuery) -> (String, Vec<SqlValue>) {
    let mut sql = String::from("SELECT seq, body FROM events WHERE 1 = 1");
    let mut values = Vec::new();
    let mut filter = |clause: &str, value: SqlValue| {
        values.push(value);
        sql.push_str(&format!(" AND {clause} ?{}", values.len()));
    };
    if let Some(payload_id) = &query.payload_id {
        filter("payload_id =", SqlValue::Text(payload_id.clone()));
    }
    if let Some(event_type) = query.event_type {
        filter("event_type =", SqlValue::Text(event_type.as_str().into()));
    }
    if let Some(workflow) = &query.workflow {
        filter("workflow =", SqlValue::Text(workflow.clone()));
    }
    if let Some(since) = query.since {
        filter("at >=", SqlValue::Integer(since.as_micros()));
    }
    if let Some(until) = query.until {
        filter("at <=", SqlValue::Integer(until.as_micros()));
    }
    if let Some(after) = query.after_seq {
        filter("seq >", SqlValue::Integer(after));
    }
    values.push(SqlValue::Integer(
        i64::try_from(query.limit).unwrap_or(i64::MAX),
    ));
    sql.push_str(&format!(" ORDER BY seq LIMIT ?{}", values.len()));
    (sql, values)
}

/// The event log of a [`SqliteStateStore`] as a [`MessageSink`].
///
/// Each [`publish`](MessageSink::publish) is one committed transaction, so
/// [`flush`](MessageSink::flush) has nothing left to do. A batch holding a message that is
/// not a workflow event is refused whole.
#[derive(Debug, Clone)]
pub struct EventLogSink {
    store: SqliteStateStore,
}

#[async_trait]
impl MessageSink for EventLogSink {
    async fn publish(&self, messages: &[Message]) -> Result<()> {
        let events = messages
            .iter()
            .enumerate()
            .map(|(i, message)| {
                WorkflowEvent::from_body(&message.body).map_err(|e| Error::Sink {
                    sink: format!("event log {}", self.store.path().display()),
                    message: format!(
                        "message {} of {} is not a workflow event: {e}",
                        i + 1,
                        messages.len()
                    ),
                    source: None,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        self.store.append_events(&events).await
    }

    async fn flush(&self) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::StateKey;
    use serde_json::json;

    async fn store() -> (tempfile::TempDir, SqliteStateStore) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStateStore::create(dir.path().join("state.db"))
            .await
            .expect("create");
        (dir, store)
    }

    fn key(workflow: &str, item: &str) -> StateKey {
        StateKey::parse(&format!("sentinel-2-l2a/workflow-{workflow}/{item}")).expect("key")
    }

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_micros(1_700_000_000_000_000 + seconds * 1_000_000 + 123_456)
    }

    /// Six events over two workflows and one unidentified event, one second apart.
    fn sample() -> Vec<WorkflowEvent> {
        use WorkflowEventType::*;
        vec![
            WorkflowEvent::new(ClaimedProcessing, &key("cog", "A"), at(0)).with_execution("e-a"),
            WorkflowEvent::new(StartedProcessing, &key("cog", "A"), at(1))
                .with_execution("e-a")
                .with_input_url("file:///p/executions/A/e-a/input.json"),
            WorkflowEvent::new(ClaimedProcessing, &key("mosaic", "B"), at(2)).with_execution("e-b"),
            WorkflowEvent::unidentified(RecordExtractFailed, at(3)).with_error("not JSON"),
            WorkflowEvent::new(Failed, &key("cog", "A"), at(4))
                .with_execution("e-a")
                .with_error("TaskFailed: boom"),
            WorkflowEvent::new(Succeeded, &key("mosaic", "B"), at(5))
                .with_execution("e-b")
                .with_output_url("file:///p/executions/B/e-b/output.json"),
        ]
    }

    async fn seqs(store: &SqliteStateStore, query: EventQuery) -> Vec<i64> {
        let events = store.events(&query).await.expect("events");
        events.iter().map(|e| e.seq).collect()
    }

    #[tokio::test]
    async fn events_read_back_exactly_in_append_order() {
        let (_dir, store) = store().await;
        let events = sample();
        store.append_events(&events[..2]).await.expect("append");
        store.append_events(&[]).await.expect("empty batch");
        store.append_events(&events[2..]).await.expect("append");
        let logged = store.events(&EventQuery::default()).await.expect("read");
        assert_eq!(
            logged.iter().map(|e| &e.event).collect::<Vec<_>>(),
            events.iter().collect::<Vec<_>>()
        );
        assert!(logged.windows(2).all(|w| w[0].seq < w[1].seq));

        // The stored body is the event's exact body.
        let conn = rusqlite::Connection::open(store.path()).expect("open");
        let bodies: Vec<String> = conn
            .prepare("SELECT body FROM events ORDER BY seq")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .expect("bodies");
        for (body, event) in bodies.iter().zip(&events) {
            assert_eq!(body, &serde_json::to_string(&event.body()).expect("json"));
        }

        // Serialized as the body with `seq` first, and read back.
        let failed = &logged[4];
        let text = serde_json::to_string(failed).expect("serialize");
        assert_eq!(
            text,
            format!(
                r#"{{"seq":{},"event_type":"FAILED","payload_id":"sentinel-2-l2a/workflow-cog/A","isotimestamp":"2023-11-14T22:13:24.123456+00:00","execution":"e-a","error":"TaskFailed: boom"}}"#,
                failed.seq
            )
        );
        let back: LoggedEvent = serde_json::from_str(&text).expect("deserialize");
        assert_eq!(&back, failed);
    }

    #[tokio::test]
    async fn filters_combine_and_pages_continue_after_seq() {
        let (_dir, store) = store().await;
        store.append_events(&sample()).await.expect("append");
        let all = seqs(&store, EventQuery::default()).await;
        assert_eq!(all.len(), 6);
        let pick = |indexes: &[usize]| indexes.iter().map(|&i| all[i]).collect::<Vec<_>>();

        let of_a = EventQuery {
            payload_id: Some("sentinel-2-l2a/workflow-cog/A".into()),
            ..EventQuery::default()
        };
        assert_eq!(seqs(&store, of_a.clone()).await, pick(&[0, 1, 4]));
        let claimed = EventQuery {
            event_type: Some(WorkflowEventType::ClaimedProcessing),
            ..EventQuery::default()
        };
        assert_eq!(seqs(&store, claimed.clone()).await, pick(&[0, 2]));
        let mosaic = EventQuery {
            workflow: Some("mosaic".into()),
            ..EventQuery::default()
        };
        assert_eq!(seqs(&store, mosaic).await, pick(&[2, 5]));
        let window = EventQuery {
            since: Some(at(1)),
            until: Some(at(3)),
            ..EventQuery::default()
        };
        assert_eq!(seqs(&store, window).await, pick(&[1, 2, 3]));
        let both = EventQuery {
            workflow: Some("mosaic".into()),
            ..claimed
        };
        assert_eq!(seqs(&store, both).await, pick(&[2]));

        // Paging: `limit` events, then on from the last one's `seq`.
        let mut pages = Vec::new();
        let mut after = None;
        loop {
            let page = seqs(
                &store,
                EventQuery {
                    after_seq: after,
                    limit: 4,
                    ..EventQuery::default()
                },
            )
            .await;
            if page.is_empty() {
                break;
            }
            after = page.last().copied();
            pages.push(page);
        }
        assert_eq!(pages, [pick(&[0, 1, 2, 3]), pick(&[4, 5])]);
        let rest_of_a = EventQuery {
            after_seq: Some(all[1]),
            limit: 1,
            ..of_a
        };
        assert_eq!(seqs(&store, rest_of_a).await, pick(&[4]));
    }

    #[tokio::test]
    async fn unidentified_events_have_no_payload_columns() {
        let (_dir, store) = store().await;
        store.append_events(&sample()).await.expect("append");
        let extract_failed = EventQuery {
            event_type: Some(WorkflowEventType::RecordExtractFailed),
            ..EventQuery::default()
        };
        let logged = store.events(&extract_failed).await.expect("events");
        assert_eq!(logged.len(), 1);
        assert_eq!(logged[0].event.key, None);
        assert_eq!(
            serde_json::to_value(&logged[0]).expect("json"),
            json!({
                "seq": logged[0].seq,
                "event_type": "RECORD_EXTRACT_FAILED",
                "isotimestamp": "2023-11-14T22:13:23.123456+00:00",
                "error": "not JSON"
            })
        );
        let conn = rusqlite::Connection::open(store.path()).expect("open");
        let nulls: i64 = conn
            .query_row(
                "SELECT count(*) FROM events WHERE payload_id IS NULL AND workflow IS NULL \
                 AND collections IS NULL",
                [],
                |r| r.get(0),
            )
            .expect("count");
        assert_eq!(nulls, 1);
    }

    #[tokio::test]
    async fn the_sink_appends_events_and_refuses_other_messages_whole() {
        let (_dir, store) = store().await;
        let sink = store.event_log();
        let events = sample();
        let messages: Vec<Message> = events.iter().map(WorkflowEvent::to_message).collect();
        sink.publish(&messages[..3]).await.expect("publish");
        sink.publish_one(&messages[3]).await.expect("publish one");
        sink.flush().await.expect("flush");

        let item = Message::item(json!({"type": "Feature", "id": "x", "properties": {}}));
        let batch = [messages[4].clone(), item];
        let error = sink.publish(&batch).await.expect_err("an item");
        let text = error.to_string();
        assert!(
            text.contains("message 2 of 2 is not a workflow event") && text.contains("event_type"),
            "{text}"
        );
        let logged = store.events(&EventQuery::default()).await.expect("events");
        assert_eq!(
            logged.into_iter().map(|e| e.event).collect::<Vec<_>>(),
            events[..4]
        );
    }

    #[tokio::test]
    async fn a_payload_reads_its_index_in_order() {
        let (_dir, store) = store().await;
        let query = EventQuery {
            payload_id: Some("c/workflow-w/a".into()),
            after_seq: Some(3),
            ..EventQuery::default()
        };
        let (sql, values) = events_sql(&query);
        let plan = store
            .run(move |conn| {
                let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
                let rows = stmt.query_map(rusqlite::params_from_iter(values.iter()), |row| {
                    row.get::<_, String>(3)
                })?;
                Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?.join("; "))
            })
            .await
            .expect("plan");
        assert!(plan.contains("events_by_payload_id"), "{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
    }
}
