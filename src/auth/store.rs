//! Where key records live: `api-keys.json` in the data directory (embedded backend), or the
//! `<index>-keys` index on the cluster, which every worker reads (OpenSearch backend).

use std::io::Write;
use std::path::{Path, PathBuf};

use reqwest::Method;
use serde_json::{json, Value};

use super::KeyRecord;
use crate::backend::opensearch::client::{Client, OpenSearchError};
use crate::config::{BackendKind, Config};

/// File name of the key store in the data directory.
pub const FILE_NAME: &str = "api-keys.json";

/// Most keys one store holds (a search returns them all in one page).
const MAX_KEYS: usize = 10_000;

/// Failures of the key store; each says which store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("key store {path}: {cause}")]
    File {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("key store {path} is not valid JSON ({cause}); restore it from a backup or remove it and create the keys again")]
    Corrupt {
        path: PathBuf,
        cause: serde_json::Error,
    },
    #[error("key index {index}: {cause}")]
    Cluster {
        index: String,
        cause: OpenSearchError,
    },
    #[error("no key with id or name `{0}`; `glossa keys list` shows them")]
    NotFound(String),
    #[error("`{0}` names several keys; revoke by id")]
    Ambiguous(String),
    #[error("the key store holds {MAX_KEYS} keys, the most it can; revoke and remove some")]
    Full,
}

/// The key store of one deployment.
#[derive(Clone, Debug)]
pub enum KeyStore {
    File(PathBuf),
    OpenSearch { client: Client, index: String },
}

impl KeyStore {
    /// The store `config` points at: its data directory, or its cluster.
    pub fn for_config(config: &Config) -> Result<KeyStore, StoreError> {
        Ok(match config.backend {
            BackendKind::Embedded => KeyStore::File(config.data_dir.join(FILE_NAME)),
            BackendKind::OpenSearch => {
                let index = format!("{}-keys", config.opensearch.index);
                let client =
                    crate::backend::opensearch::connect(&config.opensearch).map_err(|cause| {
                        StoreError::Cluster {
                            index: index.clone(),
                            cause,
                        }
                    })?;
                KeyStore::OpenSearch { client, index }
            }
        })
    }

    /// Every key record, revoked ones included.
    pub async fn load(&self) -> Result<Vec<KeyRecord>, StoreError> {
        match self {
            KeyStore::File(path) => read_file(path),
            KeyStore::OpenSearch { client, index } => {
                let path = format!("{index}/_search?size={MAX_KEYS}");
                let body = json!({"query": {"match_all": {}}, "sort": ["_doc"]});
                let answer = match client.json(Method::POST, &path, Some(&body)).await {
                    Ok(answer) => answer,
                    Err(OpenSearchError::Status { status: 404, .. }) => return Ok(Vec::new()),
                    Err(cause) => return Err(cluster(index, cause)),
                };
                Ok(answer["hits"]["hits"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|hit| serde_json::from_value(hit["_source"].clone()).ok())
                    .collect())
            }
        }
    }

    /// Stores a new key record.
    pub async fn add(&self, record: &KeyRecord) -> Result<(), StoreError> {
        match self {
            KeyStore::File(path) => {
                let mut records = read_file(path)?;
                if records.len() >= MAX_KEYS {
                    return Err(StoreError::Full);
                }
                records.push(record.clone());
                write_file(path, &records)
            }
            KeyStore::OpenSearch { client, index } => {
                ensure_index(client, index).await?;
                let path = format!("{index}/_doc/{}?op_type=create&refresh=wait_for", record.id);
                let body = serde_json::to_value(record).unwrap_or(Value::Null);
                client
                    .json(Method::PUT, &path, Some(&body))
                    .await
                    .map(|_| ())
                    .map_err(|cause| cluster(index, cause))
            }
        }
    }

    /// Marks the key with this id (or, when unique, this name) revoked; returns its record.
    pub async fn revoke(&self, id_or_name: &str) -> Result<KeyRecord, StoreError> {
        let records = self.load().await?;
        let found: Vec<&KeyRecord> = match records.iter().find(|r| r.id == id_or_name) {
            Some(record) => vec![record],
            None => records.iter().filter(|r| r.name == id_or_name).collect(),
        };
        let mut record = match found.as_slice() {
            [] => return Err(StoreError::NotFound(id_or_name.to_string())),
            [one] => (*one).clone(),
            _ => return Err(StoreError::Ambiguous(id_or_name.to_string())),
        };
        if record.revoked_at.is_some() {
            return Ok(record);
        }
        record.revoked_at = Some(crate::dlq::now_rfc3339());
        match self {
            KeyStore::File(path) => {
                let updated: Vec<KeyRecord> = records
                    .into_iter()
                    .map(|r| if r.id == record.id { record.clone() } else { r })
                    .collect();
                write_file(path, &updated)?;
            }
            KeyStore::OpenSearch { client, index } => {
                let path = format!("{index}/_update/{}?refresh=wait_for", record.id);
                let body = json!({"doc": {"revoked_at": record.revoked_at}});
                client
                    .json(Method::POST, &path, Some(&body))
                    .await
                    .map_err(|cause| cluster(index, cause))?;
            }
        }
        Ok(record)
    }
}

fn cluster(index: &str, cause: OpenSearchError) -> StoreError {
    StoreError::Cluster {
        index: index.to_string(),
        cause,
    }
}

/// The key index holds no text to analyze: keywords only, one shard, replicated with the data.
async fn ensure_index(client: &Client, index: &str) -> Result<(), StoreError> {
    let body = json!({
        "settings": {"number_of_shards": 1},
        "mappings": {"dynamic": false, "properties": {
            "id": {"type": "keyword"},
            "name": {"type": "keyword"},
        }},
    });
    match client.json(Method::PUT, index, Some(&body)).await {
        Ok(_) => Ok(()),
        Err(OpenSearchError::Status { reason, .. })
            if reason.starts_with("resource_already_exists_exception") =>
        {
            Ok(())
        }
        Err(cause) => Err(cluster(index, cause)),
    }
}

fn read_file(path: &Path) -> Result<Vec<KeyRecord>, StoreError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|cause| StoreError::Corrupt {
            path: path.to_path_buf(),
            cause,
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(cause) => Err(StoreError::File {
            path: path.to_path_buf(),
            cause,
        }),
    }
}

/// Writes a temporary file readable by its owner only, then renames it over the store, so a
/// reader never sees half a file.
fn write_file(path: &Path, records: &[KeyRecord]) -> Result<(), StoreError> {
    let err = |cause| StoreError::File {
        path: path.to_path_buf(),
        cause,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let temporary = path.with_extension("json.tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&temporary).map_err(err)?;
    let bytes = serde_json::to_vec_pretty(records).unwrap_or_default();
    file.write_all(&bytes)
        .and_then(|_| file.sync_all())
        .map_err(err)?;
    std::fs::rename(&temporary, path).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{issue, NewKey, Scope};

    #[tokio::test]
    async fn file_store_adds_lists_and_revokes_by_id_or_name() {
        let dir = tempfile::tempdir().unwrap();
        let store = KeyStore::File(dir.path().join(FILE_NAME));
        assert!(store.load().await.unwrap().is_empty());
        let make = |name: &str| {
            issue(NewKey {
                name: name.into(),
                scopes: vec![Scope::Search],
                rate_per_second: Some(5),
                records_per_second: None,
                tenant: None,
            })
        };
        let (a, b, c) = (make("app"), make("etl"), make("etl"));
        for key in [&a, &b, &c] {
            store.add(&key.record).await.unwrap();
        }
        assert_eq!(store.load().await.unwrap().len(), 3);
        assert!(matches!(
            store.revoke("etl").await,
            Err(StoreError::Ambiguous(_))
        ));
        assert!(matches!(
            store.revoke("nobody").await,
            Err(StoreError::NotFound(_))
        ));
        let revoked = store.revoke("app").await.unwrap();
        assert_eq!(revoked.id, a.record.id);
        let loaded = store.load().await.unwrap();
        assert!(loaded
            .iter()
            .find(|r| r.id == a.record.id)
            .unwrap()
            .revoked_at
            .is_some());
        assert!(store.revoke(&b.record.id).await.is_ok());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(FILE_NAME))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(
                mode & 0o077,
                0,
                "the key store must not be readable by others"
            );
        }
    }
}
