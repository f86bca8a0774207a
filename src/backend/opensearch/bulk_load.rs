//! Bulk-load mode for backfills: refresh off and no replicas on the index being loaded (the
//! cluster then writes each document once and builds no searchable segments until the end),
//! then the previous settings restored and the index refreshed.
//!
//! Restoring must happen even when the job fails. A job that returns an error restores in
//! [`BulkLoad::finish`]; a job that is killed cannot, so the previous settings are written into
//! the index's own mapping `_meta` before they are changed, and every Glossa start
//! ([`restore_unfinished`], called by the bootstrap) puts back what an unfinished load left.

use reqwest::Method;
use serde_json::{json, Value};

use super::client::{Client, OpenSearchError};

/// Key under the mapping's `_meta` that holds the settings to restore.
const MARKER: &str = "glossa_bulk_load";

/// A bulk load in progress on one physical index.
#[derive(Debug)]
pub struct BulkLoad {
    client: Client,
    index: String,
    previous: Value,
}

/// The physical index behind `alias` (its write index when there are several).
pub async fn write_index(client: &Client, alias: &str) -> Result<String, OpenSearchError> {
    let answer = client
        .json(Method::GET, &format!("_alias/{alias}"), None)
        .await?;
    let indices = answer.as_object().cloned().unwrap_or_default();
    let mut names: Vec<&String> = indices.keys().collect();
    if let Some((name, _)) = indices
        .iter()
        .find(|(_, entry)| entry["aliases"][alias]["is_write_index"] == true)
    {
        return Ok(name.clone());
    }
    names.sort();
    names
        .last()
        .map(|n| n.to_string())
        .ok_or_else(|| OpenSearchError::Decode(format!("alias {alias} points at no index")))
}

/// `refresh_interval` and `number_of_replicas` as set on `index` (null when left at default).
async fn current_settings(client: &Client, index: &str) -> Result<Value, OpenSearchError> {
    let answer = client
        .json(Method::GET, &format!("{index}/_settings"), None)
        .await?;
    let settings = &answer[index]["settings"]["index"];
    Ok(json!({
        "refresh_interval": settings["refresh_interval"].clone(),
        "number_of_replicas": settings["number_of_replicas"].clone(),
    }))
}

async fn put_settings(
    client: &Client,
    index: &str,
    settings: &Value,
) -> Result<(), OpenSearchError> {
    client
        .json(
            Method::PUT,
            &format!("{index}/_settings"),
            Some(&json!({ "index": settings })),
        )
        .await
        .map(|_| ())
}

async fn set_marker(client: &Client, index: &str, marker: Value) -> Result<(), OpenSearchError> {
    client
        .json(
            Method::PUT,
            &format!("{index}/_mapping"),
            Some(&json!({ "_meta": { MARKER: marker } })),
        )
        .await
        .map(|_| ())
}

impl BulkLoad {
    /// Switches the index behind `write_alias` to bulk-load settings, remembering the current
    /// ones in the index itself first. When an unfinished load already left its marker, that
    /// marker (the settings from before it) is kept, so they are what gets restored.
    pub async fn start(client: &Client, write_alias: &str) -> Result<BulkLoad, OpenSearchError> {
        let index = write_index(client, write_alias).await?;
        BulkLoad::start_on_index(client, index).await
    }

    /// The same on a physical index (a reindex job's new version, before any alias names it).
    pub async fn start_on_index(
        client: &Client,
        index: String,
    ) -> Result<BulkLoad, OpenSearchError> {
        let mapping = client
            .json(Method::GET, &format!("{index}/_mapping"), None)
            .await?;
        let previous = match &mapping[&index]["mappings"]["_meta"][MARKER] {
            Value::Object(saved) => Value::Object(saved.clone()),
            _ => {
                let current = current_settings(client, &index).await?;
                set_marker(client, &index, current.clone()).await?;
                current
            }
        };
        put_settings(
            client,
            &index,
            &json!({"refresh_interval": "-1", "number_of_replicas": 0}),
        )
        .await?;
        tracing::info!(%index, "bulk-load mode on: refresh off, no replicas until the load ends");
        Ok(BulkLoad {
            client: client.clone(),
            index,
            previous,
        })
    }

    /// Puts the previous settings back, refreshes, and clears the marker.
    pub async fn finish(self) -> Result<(), OpenSearchError> {
        restore(&self.client, &self.index, &self.previous).await
    }
}

async fn restore(client: &Client, index: &str, previous: &Value) -> Result<(), OpenSearchError> {
    put_settings(client, index, previous).await?;
    client
        .json(Method::POST, &format!("{index}/_refresh"), None)
        .await?;
    set_marker(client, index, Value::Null).await?;
    tracing::info!(%index, settings = %previous, "bulk-load mode off: settings restored, index refreshed");
    Ok(())
}

/// Restores the settings an interrupted bulk load left on the index behind `write_alias`.
pub async fn restore_unfinished(
    client: &Client,
    write_alias: &str,
) -> Result<bool, OpenSearchError> {
    let index = write_index(client, write_alias).await?;
    if saved_settings(client, &index).await?.is_some() {
        tracing::warn!(%index, "a bulk load did not finish; restoring the index settings it changed");
    }
    finish_on_index(client, &index).await
}

/// Ends the bulk load of a physical index, if it has one (a reindex job, which may have been
/// restarted since it began the load, so it holds no [`BulkLoad`]).
pub async fn finish_on_index(client: &Client, index: &str) -> Result<bool, OpenSearchError> {
    match saved_settings(client, index).await? {
        Some(saved) => {
            restore(client, index, &saved).await?;
            Ok(true)
        }
        None => Ok(false),
    }
}

/// The settings a bulk load in progress on `index` will restore.
async fn saved_settings(client: &Client, index: &str) -> Result<Option<Value>, OpenSearchError> {
    let mapping = client
        .json(Method::GET, &format!("{index}/_mapping"), None)
        .await?;
    Ok(match &mapping[index]["mappings"]["_meta"][MARKER] {
        Value::Object(saved) => Some(Value::Object(saved.clone())),
        _ => None,
    })
}
