//! Glossa: multilingual search ingestion and indexing.
//!
//! The pipeline is the architecture: `source -> decode -> detect -> route -> batch -> sink ->
//! acknowledge`. Each stage has its own module so later backends and sources plug into the same seams.

pub(crate) mod analysis;
pub mod api;
pub mod auth;
pub mod backend;
mod batch;
pub mod config;
pub mod decode;
pub mod delete;
pub mod detect;
pub(crate) mod disk;
pub mod dlq;
pub(crate) mod kafka;
pub(crate) mod languages;
pub(crate) mod letters;
pub mod metrics;
pub mod pipeline;
pub mod plan;
pub(crate) mod query_language;
pub mod record;
pub mod reindex;
pub mod route;
pub mod search;
pub mod service;
pub(crate) mod sink;

pub mod source;

/// Locks shared state; a panicked holder leaves a plain value behind, and it stays usable.
pub(crate) fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// [`lock`] for readers of an `RwLock`.
pub(crate) fn read_lock<T>(lock: &std::sync::RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// [`lock`] for the writer of an `RwLock`.
pub(crate) fn write_lock<T>(lock: &std::sync::RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
