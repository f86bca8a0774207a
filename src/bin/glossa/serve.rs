//! `glossa serve` and `glossa demo`.

use std::net::SocketAddr;

use anyhow::{Context, Result};
use glossa::config::Config;
use glossa::service::Service;

use crate::ingest::ingest;

/// The bundled multilingual sample the demo loads (see data/sample/README.md).
pub(crate) const SAMPLE: &[u8] = include_bytes!("../../../data/sample/udhr.ndjson");

pub(crate) async fn serve(
    config: Config,
    before_serving: Option<Box<dyn FnOnce(SocketAddr) + Send>>,
) -> Result<()> {
    let listen = config.listen;
    let data_dir = config.data_dir.clone();
    let scheme = if config.server.tls_cert.is_some() {
        "https"
    } else {
        "http"
    };
    let service = tokio::task::spawn_blocking(move || Service::start(config)).await??;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    let documents = service.state.index.num_docs().await.unwrap_or(0);
    tracing::info!(%addr, data_dir = %data_dir.display(), documents, "serving");
    println!(
        "Glossa is serving {scheme}://{addr} (data in {})",
        data_dir.display()
    );
    if let Some(hook) = before_serving {
        hook(addr);
    }
    glossa::api::serve(service, listener, shutdown_signal()).await?;
    tracing::info!("stopped cleanly");
    Ok(())
}

pub(crate) async fn demo(config: Config) -> Result<()> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create {}", config.data_dir.display()))?;
    let sample = config.data_dir.join("sample-udhr.ndjson");
    std::fs::write(&sample, SAMPLE)
        .with_context(|| format!("cannot write {}", sample.display()))?;
    println!(
        "Loading the bundled sample (Universal Declaration of Human Rights, many languages)..."
    );
    ingest(config.clone(), vec![sample.display().to_string()], false).await?;
    let hook = Box::new(|addr: SocketAddr| {
        println!("Open the search page: http://{addr}/");
        println!("Or try:");
        println!("  curl 'http://{addr}/v1/search?q=Menschenrechte'                  # German, finds inflected forms");
        println!("  curl 'http://{addr}/v1/search?q=%E4%BA%BA%E6%9D%83'              # Chinese 人权, segmented words");
        println!("  curl 'http://{addr}/v1/search?q=%D1%81%D0%B2%D0%BE%D0%B1%D0%BE%D0%B4%D0%B0&filter.article.gte=3'  # Russian свобода, articles 3+");
        println!("Stop with Ctrl-C.");
    });
    serve(config, Some(hook)).await
}

/// Resolves on SIGINT or SIGTERM: every long-running command stops gracefully on either.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests, committing");
}
