//! `glossa keys`: create, list and revoke API keys.

use anyhow::{Context, Result};
use glossa::config::Config;

use crate::args::*;

pub(crate) async fn keys(config: &Config, command: KeysCommand) -> Result<()> {
    use glossa::auth::{issue, KeyStore, NewKey, Scope};
    let store = KeyStore::for_config(config)?;
    match command {
        KeysCommand::Create {
            scope,
            name,
            rate,
            records_rate,
            tenant,
        } => {
            let scopes = scope
                .iter()
                .map(|s| {
                    Scope::parse(s).with_context(|| {
                        format!("unknown scope `{s}`; use ingest, search, metrics or admin")
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            if let Some(tenant) = &tenant {
                glossa::auth::check_tenant_name(tenant)?;
                if scopes.contains(&Scope::Admin) {
                    anyhow::bail!("a tenant key cannot have the admin scope, which reaches every tenant; give it ingest, search or metrics");
                }
            }
            let issued = issue(NewKey {
                name: name.unwrap_or_default(),
                scopes,
                rate_per_second: rate,
                records_per_second: records_rate,
                tenant,
            });
            let mut record = issued.record;
            if record.name.is_empty() {
                record.name = format!("key-{}", record.id);
            }
            store.add(&record).await?;
            let scopes: Vec<&str> = record.scopes.iter().map(|s| s.as_str()).collect();
            let confined = record
                .tenant
                .as_ref()
                .map(|t| format!(", confined to {} = {t}", config.auth.tenant_field))
                .unwrap_or_default();
            eprintln!(
                "Created key `{}` (id {}) with scopes {}{confined}. It is shown once, below; store it now.",
                record.name,
                record.id,
                scopes.join(",")
            );
            println!("{}", issued.secret);
        }
        KeysCommand::List => {
            for record in store.load().await? {
                let scopes: Vec<&str> = record.scopes.iter().map(|s| s.as_str()).collect();
                let limit = |v: Option<u32>| v.map_or("default".to_string(), |n| n.to_string());
                println!(
                    "{}  {:<20} scopes={:<24} tenant={:<12} rate={:<8} records_rate={:<8} created={} {}",
                    record.id,
                    record.name,
                    scopes.join(","),
                    record.tenant.as_deref().unwrap_or("-"),
                    limit(record.rate_per_second),
                    limit(record.records_per_second),
                    record.created_at,
                    record
                        .revoked_at
                        .map(|at| format!("REVOKED {at}"))
                        .unwrap_or_default()
                );
            }
        }
        KeysCommand::Revoke { id_or_name } => {
            let record = store.revoke(&id_or_name).await?;
            println!(
                "Revoked key `{}` (id {}); running servers refuse it within auth.refresh_seconds = {} s.",
                record.name, record.id, config.auth.refresh_seconds
            );
        }
    }
    Ok(())
}
