//! `glossa dlq replay`.

use anyhow::Result;
use glossa::config::Config;
use glossa::record::RawRecord;
use glossa::service::Service;

pub(crate) async fn replay(config: Config, include_deleted: bool) -> Result<()> {
    let replay = glossa::dlq::Replay::take(&config)?;
    let (mut replayable, stale) = glossa::dlq::without_deleted(replay.letters().iter().collect());
    if include_deleted {
        replayable.extend(stale.iter().copied());
    } else {
        for letter in &stale {
            tracing::info!(position = %letter.rejection.position, time = %letter.time, "dead letter dropped: its document was deleted after it was written");
        }
    }
    let dropped = if include_deleted { 0 } else { stale.len() };
    // Truncated letters cannot be replayed from the queue: put them back as they were.
    let (truncated, replayable): (Vec<_>, Vec<_>) =
        replayable.into_iter().partition(|l| l.rejection.truncated);
    if !truncated.is_empty() {
        let mut queue = glossa::dlq::DeadLetterQueue::open(&config)?;
        for letter in &truncated {
            queue.push(&letter.rejection)?;
        }
        queue.sync()?;
    }
    let kept_back = truncated.len();
    let records: Vec<RawRecord> = replayable
        .iter()
        .map(|letter| RawRecord {
            position: letter.rejection.position.clone(),
            bytes: letter.rejection.raw.clone().into_bytes(),
            id_from_position: letter.rejection.position.ids_from_position(),
            delete: false,
        })
        .collect();
    let total = records.len();
    let service = tokio::task::spawn_blocking(move || Service::start(config)).await??;
    let outcome = service.state.pipeline.submit_all(records, |_| {}).await?;
    service.stop().await?;
    replay.finish()?;
    println!(
        "replayed {total} dead letters: {} indexed, {} still failing (back in the queue)",
        outcome.indexed,
        outcome.rejected.len()
    );
    if dropped > 0 {
        println!(
            "{dropped} dead letters were dropped: their documents were deleted after the letters were written (--include-deleted replays them)"
        );
    }
    if kept_back > 0 {
        println!(
            "{kept_back} dead letters were kept without replay: their records were over {} bytes and only their start is stored; re-ingest them from their source positions (`glossa dlq list`)",
            glossa::record::MAX_RAW_BYTES
        );
    }
    Ok(())
}
