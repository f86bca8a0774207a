//! `glossa delete`: delete by query, counted first.

use anyhow::{Context, Result};
use glossa::config::Config;
use glossa::service::Service;
use indicatif::{ProgressBar, ProgressStyle};

/// The `glossa delete` flags as a selection, checked as the search API checks its parameters.
pub(crate) fn selection(
    query: Option<String>,
    filters: &[String],
    lang: Option<String>,
    syntax: &str,
) -> Result<glossa::delete::Selection> {
    let syntax = glossa::search::Syntax::from_param(syntax)
        .with_context(|| format!("--syntax {syntax}: use natural or advanced"))?;
    let mut parsed = serde_json::Map::new();
    for filter in filters {
        let (field, value) = filter
            .split_once('=')
            .with_context(|| format!("--filter {filter}: give FIELD=VALUE or FIELD.gte=VALUE"))?;
        glossa::search::filter::add_text_filter(&mut parsed, field.trim(), value.to_string())?;
    }
    Ok(glossa::delete::Selection {
        text: query.unwrap_or_default(),
        syntax,
        lang,
        filters: glossa::search::parse_filters(parsed)?,
    })
}

pub(crate) async fn delete_by_query(
    config: Config,
    selection: glossa::delete::Selection,
    dry_run: bool,
    yes: bool,
) -> Result<()> {
    use glossa::delete::{delete_ids, Plan};
    let described = format!("{selection:?}");
    let service = tokio::task::spawn_blocking(move || Service::start(config)).await??;
    let result = async {
        let index = &service.state.index;
        let plan = Plan::new(index, &service.state.query_languages, selection).await?;
        let language = &plan.query_language;
        println!(
            "{} documents match (query language {}, {}; searched {:?})",
            plan.total, language.lang, language.chosen_by, language.searched
        );
        if dry_run {
            let sample = plan.sample(index, 10).await?;
            if !sample.is_empty() {
                println!("for example: {}", sample.join(", "));
            }
            println!("dry run: nothing deleted");
            return Ok(());
        }
        if plan.total == 0 {
            return Ok(());
        }
        if !yes && !confirmed(plan.total)? {
            anyhow::bail!("nothing deleted: confirm with --yes (or look first with --dry-run)");
        }
        let bar = ProgressBar::new(plan.total);
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} {elapsed_precise} [{wide_bar}] {pos}/{len} {msg} {per_sec} eta {eta}",
        ) {
            bar.set_style(style);
        }
        bar.set_message("matches read");
        let ids = plan
            .ids(index, |read| bar.set_position(read as u64))
            .await?;
        bar.set_length(ids.len() as u64);
        bar.set_position(0);
        bar.set_message("deleted");
        let ticker = bar.clone();
        let outcome = delete_ids(
            &service.state.pipeline,
            "delete-by-query",
            ids,
            move |deleted| ticker.inc(deleted),
        )
        .await?;
        bar.finish_and_clear();
        tracing::info!(
            by = %std::env::var("USER").unwrap_or_else(|_| "-".into()),
            deleted = outcome.deleted,
            selection = %described,
            "documents deleted by query"
        );
        println!("deleted {} documents", outcome.deleted);
        Ok(())
    }
    .await;
    service.stop().await?;
    result
}

/// Asks on a terminal whether to delete `total` documents; refuses when nobody can answer.
pub(crate) fn confirmed(total: u64) -> Result<bool> {
    use std::io::{BufRead, IsTerminal, Write};
    if !std::io::stdin().is_terminal() {
        return Ok(false);
    }
    print!("Delete {total} documents? [y/N] ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}
