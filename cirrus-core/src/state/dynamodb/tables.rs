//! The two tables' schemas: creating them, and checking an existing one.

use super::{BACKEND, TL_PAYLOAD_ID, TL_SEQ, item, sdk_error};
use crate::{Error, Result};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, IndexStatus, KeySchemaElement, KeyType,
    Projection, ProjectionType, ScalarAttributeType, TableDescription, TableStatus,
};
use std::time::{Duration, Instant};

/// How long `create` waits for new tables to become active.
const ACTIVE_TIMEOUT: Duration = Duration::from_secs(300);

/// A table's schema: its (hash, range) key and its GSIs' (name, hash, range) keys, all
/// string attributes with every attribute projected.
struct Schema {
    key: (&'static str, &'static str),
    indexes: &'static [(&'static str, &'static str, &'static str)],
}

/// cirrus-geo's state table (`cloudformation/core/base.yaml`, `statedb-schema.json`).
const STATE: Schema = Schema {
    key: (item::PARTITION, item::ITEM_IDS),
    indexes: &[
        (item::STATE_UPDATED, item::PARTITION, item::STATE_UPDATED),
        (item::UPDATED, item::PARTITION, item::UPDATED),
    ],
};

/// The timeline table.
const TIMELINE: Schema = Schema {
    key: (TL_PAYLOAD_ID, TL_SEQ),
    indexes: &[],
};

/// Checks a table name against DynamoDB's rules: 3 to 255 of `a-z A-Z 0-9 _ - .`.
pub(super) fn check_name(name: &str) -> Result<()> {
    let ok = (3..=255).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_argument(
            "table",
            format!(
                "{name:?} is not a DynamoDB table name (3 to 255 letters, digits, '_', '-' or '.')"
            ),
        ))
    }
}

fn build_error(e: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::state_db(BACKEND, "cannot build a CreateTable request", e)
}

fn key_schema(hash: &str, range: &str) -> Result<Vec<KeySchemaElement>> {
    [(hash, KeyType::Hash), (range, KeyType::Range)]
        .into_iter()
        .map(|(name, kind)| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .map_err(build_error)
        })
        .collect()
}

/// Creates `state` and `timeline` (or checks them when they exist), then waits until both
/// are active.
pub(super) async fn create(client: &Client, state: &str, timeline: &str) -> Result<()> {
    for (name, schema) in [(state, &STATE), (timeline, &TIMELINE)] {
        check_name(name)?;
        create_one(client, name, schema).await?;
    }
    let deadline = Instant::now() + ACTIVE_TIMEOUT;
    for (name, schema) in [(state, &STATE), (timeline, &TIMELINE)] {
        loop {
            let table = describe(client, name).await?;
            check(name, schema, &table)?;
            let active = table.table_status == Some(TableStatus::Active)
                && table.global_secondary_indexes.iter().flatten().all(|i| {
                    i.index_status
                        .as_ref()
                        .is_none_or(|s| *s == IndexStatus::Active)
                });
            if active {
                break;
            }
            if Instant::now() > deadline {
                return Err(Error::StateDb {
                    backend: BACKEND,
                    message: format!(
                        "table {name} is still not active after {} s",
                        ACTIVE_TIMEOUT.as_secs()
                    ),
                    source: None,
                });
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    Ok(())
}

async fn create_one(client: &Client, name: &str, schema: &Schema) -> Result<()> {
    let mut attributes = vec![schema.key.0, schema.key.1];
    for (_, hash, range) in schema.indexes {
        for attribute in [hash, range] {
            if !attributes.contains(attribute) {
                attributes.push(attribute);
            }
        }
    }
    let definitions = attributes
        .into_iter()
        .map(|attribute| {
            AttributeDefinition::builder()
                .attribute_name(attribute)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(build_error)
        })
        .collect::<Result<Vec<_>>>()?;
    let indexes = schema
        .indexes
        .iter()
        .map(|(index, hash, range)| {
            GlobalSecondaryIndex::builder()
                .index_name(*index)
                .set_key_schema(Some(key_schema(hash, range)?))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .map_err(build_error)
        })
        .collect::<Result<Vec<_>>>()?;
    let result = client
        .create_table()
        .table_name(name)
        .set_attribute_definitions(Some(definitions))
        .set_key_schema(Some(key_schema(schema.key.0, schema.key.1)?))
        .set_global_secondary_indexes((!indexes.is_empty()).then_some(indexes))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await;
    match result {
        Ok(_) => {
            tracing::info!(table = name, "created DynamoDB table");
            Ok(())
        }
        Err(e) if e.as_service_error().and_then(|e| e.code()) == Some("ResourceInUseException") => {
            tracing::debug!(table = name, "DynamoDB table exists");
            Ok(())
        }
        Err(e) => Err(sdk_error(name, "CreateTable", e)),
    }
}

async fn describe(client: &Client, name: &str) -> Result<TableDescription> {
    client
        .describe_table()
        .table_name(name)
        .send()
        .await
        .map_err(|e| sdk_error(name, "DescribeTable", e))?
        .table
        .ok_or_else(|| Error::StateDb {
            backend: BACKEND,
            message: format!("DescribeTable on table {name} returned no table"),
            source: None,
        })
}

/// The (hash, range) attribute names of a key schema.
fn names(schema: &[KeySchemaElement]) -> (Option<&str>, Option<&str>) {
    let find = |kind: KeyType| {
        schema
            .iter()
            .find(|e| e.key_type == kind)
            .map(|e| e.attribute_name.as_str())
    };
    (find(KeyType::Hash), find(KeyType::Range))
}

/// Checks that an existing table has the keys and indexes of `schema`.
fn check(name: &str, schema: &Schema, table: &TableDescription) -> Result<()> {
    let wrong = |what: String| Error::StateDb {
        backend: BACKEND,
        message: format!("table {name} exists with another schema: {what}"),
        source: None,
    };
    let want = (Some(schema.key.0), Some(schema.key.1));
    let have = names(table.key_schema.as_deref().unwrap_or_default());
    if have != want {
        return Err(wrong(format!("its key is {have:?}, not {want:?}")));
    }
    for (index, hash, range) in schema.indexes {
        let found = table
            .global_secondary_indexes
            .iter()
            .flatten()
            .find(|i| i.index_name.as_deref() == Some(index));
        let Some(found) = found else {
            return Err(wrong(format!("it has no global secondary index {index}")));
        };
        let have = names(found.key_schema.as_deref().unwrap_or_default());
        if have != (Some(hash), Some(range)) {
            return Err(wrong(format!("index {index} has the key {have:?}")));
        }
        let projection = found
            .projection
            .as_ref()
            .and_then(|p| p.projection_type.clone());
        if projection != Some(ProjectionType::All) {
            return Err(wrong(format!(
                "index {index} does not project every attribute"
            )));
        }
    }
    Ok(())
}
