//! cirrus-geo's item layout: state records to and from DynamoDB attribute maps.

use super::super::model::{State, StateKey, StateRecord, Timestamp};
use crate::{Error, Result};
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

/// A DynamoDB item.
pub(super) type Item = HashMap<String, AttributeValue>;

/// Attribute names of the state table (cirrus-geo's).
pub(super) const PARTITION: &str = "collections_workflow";
pub(super) const ITEM_IDS: &str = "itemids";
pub(super) const CREATED: &str = "created";
pub(super) const UPDATED: &str = "updated";
pub(super) const STATE_UPDATED: &str = "state_updated";
pub(super) const EXECUTIONS: &str = "executions";
pub(super) const LAST_ERROR: &str = "last_error";
pub(super) const OUTPUTS: &str = "outputs";
pub(super) const CLAIMED_AT: &str = "claimed_at";

/// An item of the state table as read: the record, and the item itself, which a write
/// starts from and whose raw `updated` and `state_updated` its condition compares (a
/// record written by another program keeps its own spelling and attributes).
#[derive(Debug, Clone, Default)]
pub(super) struct Stored {
    /// The item; `None` when there is none.
    pub item: Option<Item>,
    /// The record; `None` when there is no item, or an item without a state (cirrus-geo's
    /// `set_outputs` on an unknown payload creates one).
    pub record: Option<StateRecord>,
}

impl Stored {
    /// A string attribute of the item as stored.
    pub fn raw(&self, name: &str) -> Option<&str> {
        self.item.as_ref().and_then(|item| string(item, name))
    }
}

/// The primary key of a payload's item.
pub(super) fn key_of(key: &StateKey) -> Item {
    HashMap::from([
        (PARTITION.to_string(), s(key.collections_workflow())),
        (ITEM_IDS.to_string(), s(key.item_ids())),
    ])
}

/// A string attribute value.
pub(super) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// `{STATE}_{isoformat}`, as cirrus-geo writes `state_updated`.
pub(super) fn state_updated(state: State, at: Timestamp) -> String {
    format!("{}_{at}", state.as_str())
}

/// Splits `state_updated` into its state name and time.
pub(super) fn split_state_updated(value: &str) -> Option<(&str, &str)> {
    value.split_once('_')
}

/// The state and the time text of a `state_updated` value; `None` when it is not
/// `{STATE}_{time}` with a known state.
pub(super) fn parse_state_updated(value: &str) -> Option<(State, &str)> {
    let (name, at) = split_state_updated(value)?;
    Some((State::from_stored(name)?, at))
}

/// Reads items of one table, naming the table in every error.
#[derive(Debug, Clone, Copy)]
pub(super) struct Reader<'a> {
    pub table: &'a str,
}

impl Reader<'_> {
    fn bad(&self, item: &Item, what: String) -> Error {
        let key = match (string(item, PARTITION), string(item, ITEM_IDS)) {
            (Some(cw), Some(ids)) => format!("{cw:?} / {ids:?}"),
            _ => "(no key)".to_string(),
        };
        Error::StateDb {
            backend: super::BACKEND,
            message: format!("table {}: item {key}: {what}", self.table),
            source: None,
        }
    }

    /// A string attribute; `None` when missing or NULL, an error when of another type.
    pub fn opt_string<'i>(&self, item: &'i Item, name: &str) -> Result<Option<&'i str>> {
        match item.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::S(value)) => Ok(Some(value)),
            Some(other) => {
                Err(self.bad(item, format!("attribute {name} is not a string: {other:?}")))
            }
        }
    }

    /// A list-of-strings attribute; `None` when missing or NULL.
    fn opt_strings(&self, item: &Item, name: &str) -> Result<Option<Vec<String>>> {
        let list = match item.get(name) {
            None | Some(AttributeValue::Null(_)) => return Ok(None),
            Some(AttributeValue::L(list)) => list,
            Some(other) => {
                return Err(self.bad(item, format!("attribute {name} is not a list: {other:?}")));
            }
        };
        list.iter()
            .map(|value| match value {
                AttributeValue::S(value) => Ok(value.clone()),
                other => Err(self.bad(
                    item,
                    format!("attribute {name} holds a value that is not a string: {other:?}"),
                )),
            })
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }

    fn time(&self, item: &Item, name: &str, value: &str) -> Result<Timestamp> {
        value.parse().map_err(|_| {
            self.bad(
                item,
                format!("attribute {name} = {value:?} is not an ISO 8601 time"),
            )
        })
    }

    fn opt_time(&self, item: &Item, name: &str) -> Result<Option<Timestamp>> {
        self.opt_string(item, name)?
            .map(|value| self.time(item, name, value))
            .transpose()
    }

    /// Reads an item (or its absence).
    pub fn stored(&self, item: Option<Item>) -> Result<Stored> {
        let Some(item) = item.filter(|item| !item.is_empty()) else {
            return Ok(Stored::default());
        };
        Ok(Stored {
            record: self.record(&item)?,
            item: Some(item),
        })
    }

    /// The record of an item; `None` for an item without `state_updated`.
    ///
    /// Accepts what any cirrus-geo version writes: `COMPLETED` for SUCCEEDED, no
    /// `executions`, `claimed_at` or `created`, times without microseconds.
    pub fn record(&self, item: &Item) -> Result<Option<StateRecord>> {
        let Some(state_updated) = self.opt_string(item, STATE_UPDATED)? else {
            return Ok(None);
        };
        let (Some(partition), Some(item_ids)) = (
            self.opt_string(item, PARTITION)?,
            self.opt_string(item, ITEM_IDS)?,
        ) else {
            return Err(self.bad(item, "the item has no key".to_string()));
        };
        let key = StateKey::from_dynamodb(partition, item_ids)
            .map_err(|e| self.bad(item, format!("the key is not a payload ID: {e}")))?;
        let (state, since) = parse_state_updated(state_updated).ok_or_else(|| {
            self.bad(
                item,
                format!("state_updated = {state_updated:?} is not STATE_time"),
            )
        })?;
        let state_updated = self.time(item, STATE_UPDATED, since)?;
        let updated = self.opt_time(item, UPDATED)?.unwrap_or(state_updated);
        let created = self.opt_time(item, CREATED)?.unwrap_or(updated);
        Ok(Some(StateRecord {
            payload_id: key.as_str().to_string(),
            collections: key.collections().to_string(),
            workflow: key.workflow().to_string(),
            item_ids: key.item_ids().to_string(),
            state,
            created,
            updated,
            state_updated,
            claimed_at: self.opt_time(item, CLAIMED_AT)?,
            executions: self.opt_strings(item, EXECUTIONS)?.unwrap_or_default(),
            last_error: self.opt_string(item, LAST_ERROR)?.map(str::to_string),
            outputs: self.opt_strings(item, OUTPUTS)?,
        }))
    }
}

/// A string attribute, if it is one.
pub(super) fn string<'i>(item: &'i Item, name: &str) -> Option<&'i str> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Some(value),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(pairs: &[(&str, AttributeValue)]) -> Item {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    const READER: Reader<'static> = Reader { table: "t" };

    #[test]
    fn reads_a_cirrus_geo_v0_record() {
        let record = READER
            .record(&item(&[
                (PARTITION, s("sentinel-2-l2a_cog-archive")),
                (ITEM_IDS, s("S2B_1")),
                (
                    STATE_UPDATED,
                    s("COMPLETED_2025-01-01T00:00:05.000001+00:00"),
                ),
                (UPDATED, s("2025-01-01T00:00:05.000001+00:00")),
                (CREATED, s("2025-01-01T00:00:00+00:00")),
            ]))
            .expect("readable")
            .expect("a record");
        assert_eq!(
            record.payload_id,
            "sentinel-2-l2a/workflow-cog-archive/S2B_1"
        );
        assert_eq!(record.state, State::Succeeded);
        assert_eq!(record.created.to_string(), "2025-01-01T00:00:00+00:00");
        assert_eq!(
            record.state_updated.to_string(),
            "2025-01-01T00:00:05.000001+00:00"
        );
        assert!(record.executions.is_empty());
        assert_eq!((record.claimed_at, record.outputs), (None, None));
    }

    #[test]
    fn an_item_without_state_is_no_record_and_bad_values_are_errors() {
        let outputs_only = item(&[
            (PARTITION, s("c_w")),
            (ITEM_IDS, s("a")),
            (OUTPUTS, AttributeValue::L(vec![s("s3://x")])),
        ]);
        assert_eq!(READER.record(&outputs_only).expect("readable"), None);
        let stored = READER.stored(Some(outputs_only)).expect("readable");
        assert!(stored.item.is_some() && stored.record.is_none());

        let bad_state = item(&[
            (PARTITION, s("c_w")),
            (ITEM_IDS, s("a")),
            (STATE_UPDATED, s("RUNNING_2025-01-01T00:00:00+00:00")),
        ]);
        let error = READER.record(&bad_state).expect_err("unknown state");
        assert!(error.to_string().contains("table t"), "{error}");
        let bad_list = item(&[
            (PARTITION, s("c_w")),
            (ITEM_IDS, s("a")),
            (STATE_UPDATED, s("FAILED_2025-01-01T00:00:00+00:00")),
            (EXECUTIONS, s("not a list")),
        ]);
        assert!(READER.record(&bad_list).is_err());
    }
}
