//! First contact with the cluster: check that it has the analysis plugins the enabled languages
//! need, and create the first index version behind its read and write aliases when there is none.
//!
//! Layout: physical indices `<name>-v1`, `<name>-v2`, ... created from [`super::mappings`]; the read
//! alias `<name>` and the write alias `<name>-write` point at the live version, so a reindex job
//! can build the next version and move both aliases in one atomic `_aliases` call. Several
//! workers may start at once: creating an index that another worker just created, or adding an
//! alias that exists, is not an error. A start also restores the settings of a bulk load that
//! was killed before it could (see [`super::bulk_load`]); a bulk load still running in another
//! process then goes on with normal refresh and replicas (slower, nothing lost).

use std::collections::{BTreeMap, BTreeSet};

use reqwest::Method;
use serde_json::{json, Value};

use super::client::{Client, OpenSearchError};
use super::mappings::{self, MappingOptions};

/// Why the cluster is not usable as configured; each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error("cannot use the OpenSearch cluster: {0}{hint}", hint = .0.hint().map(|h| format!(" ({h})")).unwrap_or_default())]
    Unreachable(#[source] OpenSearchError),
    #[error("{0}")]
    MissingPlugins(String),
    #[error("cannot create the index {index}: {source}")]
    Create {
        index: String,
        #[source]
        source: OpenSearchError,
    },
    #[error("cannot point the aliases {read} and {write} at {index}: {source}")]
    Aliases {
        read: String,
        write: String,
        index: String,
        #[source]
        source: OpenSearchError,
    },
    #[error("the write alias {write} exists but the read alias {read} does not; restore it (POST _aliases) or remove the write alias")]
    HalfAliased { read: String, write: String },
}

/// The names the sink writes to and the search reads from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexNames {
    /// What searches use (`<name>`).
    pub read_alias: String,
    /// What bulk requests use (`<name>-write`).
    pub write_alias: String,
    /// Where deletes go as well (`<name>-deletes`): during a reindex job, the version the
    /// write alias does not point at; absent before the first job.
    pub deletes_alias: String,
}

impl IndexNames {
    /// The aliases of the base name `name`.
    pub fn new(name: &str) -> IndexNames {
        IndexNames {
            read_alias: name.to_string(),
            write_alias: format!("{name}-write"),
            deletes_alias: format!("{name}-deletes"),
        }
    }

    /// Every version's physical index (`<name>-v*`), for alias actions.
    pub fn version_pattern(&self) -> String {
        format!("{}-v*", self.read_alias)
    }

    /// Physical index of version `version` (`<name>-v<version>`).
    pub fn version(&self, version: u32) -> String {
        format!("{}-v{version}", self.read_alias)
    }
}

/// Plugins installed on every node, from `_cat/plugins` (a plugin on only some nodes would fail
/// shard allocation on the others, so it counts as missing).
pub async fn installed_plugins(client: &Client) -> Result<BTreeSet<String>, OpenSearchError> {
    let nodes = client
        .json(
            Method::GET,
            "_nodes/plugins?filter_path=nodes.*.plugins.name",
            None,
        )
        .await?;
    let mut per_node: Vec<BTreeSet<String>> = Vec::new();
    if let Some(nodes) = nodes.get("nodes").and_then(Value::as_object) {
        for node in nodes.values() {
            let names = node
                .get("plugins")
                .and_then(Value::as_array)
                .map(|plugins| {
                    plugins
                        .iter()
                        .filter_map(|p| p.get("name").and_then(Value::as_str))
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            per_node.push(names);
        }
    }
    let mut common = per_node.pop().unwrap_or_default();
    for names in per_node {
        common = common.intersection(&names).cloned().collect();
    }
    Ok(common)
}

/// Checks the plugins, then makes sure version 1 and both aliases exist (with `icu_fallback`,
/// languages whose plugin is missing are mapped to the ICU analyzer).
pub async fn prepare(
    client: &Client,
    names: &IndexNames,
    options: MappingOptions,
) -> Result<IndexNames, BootstrapError> {
    let body = checked_index_body(client, options).await?;
    let aliases = existing_aliases(client, names)
        .await
        .map_err(BootstrapError::Unreachable)?;
    match (
        aliases.contains_key(&names.read_alias),
        aliases.contains_key(&names.write_alias),
    ) {
        (_, true) if !aliases.contains_key(&names.read_alias) => {
            return Err(BootstrapError::HalfAliased {
                read: names.read_alias.clone(),
                write: names.write_alias.clone(),
            })
        }
        (true, true) => {
            super::bulk_load::restore_unfinished(client, &names.write_alias)
                .await
                .map_err(BootstrapError::Unreachable)?;
            return Ok(names.clone());
        }
        _ => {}
    }
    let first = names.version(1);
    match client
        .json(
            Method::PUT,
            &format!("{first}?wait_for_active_shards=1"),
            Some(&body),
        )
        .await
    {
        Ok(_) => tracing::info!(index = %first, "created the first index version"),
        Err(OpenSearchError::Status { reason, .. })
            if reason.starts_with("resource_already_exists_exception") =>
        {
            tracing::info!(index = %first, "index already created by another worker")
        }
        Err(source) => {
            return Err(BootstrapError::Create {
                index: first,
                source,
            })
        }
    }
    let actions = json!({ "actions": [
        { "add": { "index": first, "alias": names.read_alias } },
        { "add": { "index": first, "alias": names.write_alias, "is_write_index": true } },
    ]});
    client
        .json(Method::POST, "_aliases", Some(&actions))
        .await
        .map_err(|source| BootstrapError::Aliases {
            read: names.read_alias.clone(),
            write: names.write_alias.clone(),
            index: first,
            source,
        })?;
    Ok(names.clone())
}

/// The create-index body for `options`, once the cluster is known to have every analysis
/// plugin it needs (with `icu_fallback`, languages whose plugin is missing use ICU instead).
pub async fn checked_index_body(
    client: &Client,
    mut options: MappingOptions,
) -> Result<Value, BootstrapError> {
    let installed = installed_plugins(client)
        .await
        .map_err(BootstrapError::Unreachable)?;
    let installed: Vec<String> = installed.into_iter().collect();
    if options.icu_fallback {
        options = mappings::with_icu_fallback(options, &installed);
    }
    if let Some(message) = mappings::missing_plugins_message(&options, &installed) {
        return Err(BootstrapError::MissingPlugins(message));
    }
    Ok(mappings::index_body(&options))
}

/// Alias name -> indices it points at, for the two aliases of `names`.
async fn existing_aliases(
    client: &Client,
    names: &IndexNames,
) -> Result<BTreeMap<String, Vec<String>>, OpenSearchError> {
    let path = format!("_alias/{},{}", names.read_alias, names.write_alias);
    // 404 when either alias is missing, with the other one's entry still in the body.
    let response = client.send(Method::GET, &path, None).await?;
    if !(response.is_success() || response.status == 404) {
        return Err(OpenSearchError::Status {
            status: response.status,
            reason: response.error_reason(),
        });
    }
    let answer: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    if let Some(indices) = answer.as_object() {
        for (index, entry) in indices {
            if let Some(aliases) = entry.get("aliases").and_then(Value::as_object) {
                for alias in aliases.keys() {
                    out.entry(alias.clone()).or_default().push(index.clone());
                }
            }
        }
    }
    Ok(out)
}

/// The cluster's `http.max_content_length` (largest request body it accepts), if it says.
pub async fn max_content_length(client: &Client) -> Option<usize> {
    let answer = client
        .json(
            Method::GET,
            "_cluster/settings?include_defaults=true&filter_path=*.http.max_content_length",
            None,
        )
        .await
        .ok()?;
    ["transient", "persistent", "defaults"]
        .iter()
        .find_map(|scope| answer[scope]["http"]["max_content_length"].as_str())
        .and_then(parse_byte_size)
}

/// Parses OpenSearch byte sizes: `100mb`, `512kb`, `1gb`, `2048b`, `2048`.
fn parse_byte_size(text: &str) -> Option<usize> {
    let text = text.trim().to_ascii_lowercase();
    let digits_end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits_end);
    let number: f64 = number.parse().ok()?;
    let multiplier: f64 = match unit.trim() {
        "" | "b" => 1.0,
        "kb" | "k" => 1024.0,
        "mb" | "m" => 1024.0 * 1024.0,
        "gb" | "g" => 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    Some((number * multiplier) as usize)
}

#[cfg(test)]
mod tests {
    use super::parse_byte_size;

    #[test]
    fn byte_sizes_parse_like_opensearch_writes_them() {
        assert_eq!(parse_byte_size("100mb"), Some(100 * 1024 * 1024));
        assert_eq!(parse_byte_size("256kb"), Some(256 * 1024));
        assert_eq!(parse_byte_size("1gb"), Some(1 << 30));
        assert_eq!(parse_byte_size("2048"), Some(2048));
        assert_eq!(parse_byte_size("12parsecs"), None);
    }
}
