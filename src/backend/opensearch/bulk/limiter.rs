//! Adaptive concurrency of bulk requests (AIMD): a pure state machine, `AdaptiveLimit`, and the
//! async `Limiter` that hands out its slots as `Permit`s, each released with what its request
//! showed about the cluster's load.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;
use tracing::{debug, info};

/// An `AdaptiveLimit` behind a mutex, with a `Notify` to wake the callers waiting for a slot.
pub(super) struct Limiter {
    pub(super) state: Mutex<AdaptiveLimit>,
    pub(super) notify: Notify,
}

impl Limiter {
    pub(super) fn lock(&self) -> MutexGuard<'_, AdaptiveLimit> {
        crate::lock(&self.state)
    }

    /// Waits for a free slot under the current limit. Cancel-safe: a slot is only taken by the
    /// poll that returns it.
    pub(super) async fn acquire(self: &Arc<Self>) -> Permit {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(ticket) = self.lock().try_acquire() {
                return Permit {
                    limiter: self.clone(),
                    ticket,
                    outcome: LoadSignal::Neutral,
                };
            }
            notified.await;
        }
    }
}

/// One slot of the limit; released (with its outcome) when dropped, also on cancellation.
pub(super) struct Permit {
    limiter: Arc<Limiter>,
    ticket: Ticket,
    /// What the request showed; set before the permit is dropped.
    pub(super) outcome: LoadSignal,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let decision = self.limiter.lock().release(self.ticket, self.outcome);
        match decision {
            Decision::Unchanged => {}
            Decision::Increased { limit } => debug!(limit, "bulk concurrency limit raised"),
            Decision::Decreased { limit, reason } => {
                info!(limit, ?reason, "bulk concurrency limit lowered")
            }
        }
        self.limiter.notify.notify_waiters();
    }
}

/// Latency above this multiple of the baseline lowers the limit.
const LATENCY_DECREASE_RATIO: f64 = 2.0;
/// Latency up to this multiple of the baseline allows raising the limit.
const LATENCY_INCREASE_RATIO: f64 = 1.5;
/// Latency differences below this (seconds) are noise, never a reason to lower the limit.
const LATENCY_SLACK_SECS: f64 = 0.05;
/// Weight of a new window in the latency baseline (EWMA).
const BASELINE_ALPHA: f64 = 0.2;
/// Fewest successful requests in a window.
const MIN_WINDOW: usize = 3;

/// AIMD concurrency limit (like Vector's adaptive request concurrency), as a pure state machine
/// so its decisions can be unit tested: +1 after a window of fast successful requests that used
/// the whole limit, ×0.5 (at least 1) on overload (429) or when latency rises well above the
/// baseline.
#[derive(Debug, Clone)]
pub struct AdaptiveLimit {
    limit: usize,
    max: usize,
    in_flight: usize,
    /// Bumped on every decrease: outcomes of requests started before it are not acted on
    /// again (one burst of 429s halves the limit once, not once per request).
    epoch: u64,
    /// EWMA of the windows' mean latency, in seconds.
    baseline: Option<f64>,
    win_count: usize,
    win_sum: f64,
    win_saturated: bool,
    decreases: u64,
    increases: u64,
}

/// Handed out with a slot; given back with the request's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket {
    epoch: u64,
    /// The limit was fully used when this slot was taken.
    saturated: bool,
}

/// What a request says about the cluster's load.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LoadSignal {
    /// Answered (items processed without 429) in this time.
    Success(Duration),
    /// 429 (request or item), 503/504 or a timeout: the cluster is overloaded.
    Overload,
    /// Says nothing about load (400s, connection refused, ...).
    Neutral,
}

/// Why the limit was lowered, for logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecreaseReason {
    /// A 429 or similar overload signal.
    Overload,
    /// Mean latency of a window rose above `LATENCY_DECREASE_RATIO` × baseline.
    Latency,
}

/// A change of the limit made by `AdaptiveLimit::release`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// No change.
    Unchanged,
    /// Raised by one to `limit`.
    Increased {
        /// The new limit.
        limit: usize,
    },
    /// Halved to `limit`.
    Decreased {
        /// The new limit.
        limit: usize,
        /// Why.
        reason: DecreaseReason,
    },
}

impl AdaptiveLimit {
    /// A limit starting at `initial` (clamped to 1..=max) that never exceeds `max`.
    pub fn new(initial: usize, max: usize) -> Self {
        let max = max.max(1);
        AdaptiveLimit {
            limit: initial.clamp(1, max),
            max,
            in_flight: 0,
            epoch: 0,
            baseline: None,
            win_count: 0,
            win_sum: 0.0,
            win_saturated: false,
            decreases: 0,
            increases: 0,
        }
    }

    /// Current limit.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Slots in use.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Times the limit went down.
    pub fn decreases(&self) -> u64 {
        self.decreases
    }

    /// Times the limit went up.
    pub fn increases(&self) -> u64 {
        self.increases
    }

    /// Takes a slot if one is free under the limit.
    pub fn try_acquire(&mut self) -> Option<Ticket> {
        if self.in_flight >= self.limit {
            self.win_saturated = true;
            return None;
        }
        self.in_flight += 1;
        Some(Ticket {
            epoch: self.epoch,
            saturated: self.in_flight >= self.limit,
        })
    }

    /// Gives a slot back with what its request showed, and adapts the limit.
    pub fn release(&mut self, ticket: Ticket, outcome: LoadSignal) -> Decision {
        self.in_flight = self.in_flight.saturating_sub(1);
        if ticket.epoch != self.epoch {
            // started before the last decrease: already reacted to
            return Decision::Unchanged;
        }
        match outcome {
            LoadSignal::Neutral => Decision::Unchanged,
            LoadSignal::Overload => self.decrease(DecreaseReason::Overload),
            LoadSignal::Success(latency) => {
                self.win_count += 1;
                self.win_sum += latency.as_secs_f64();
                self.win_saturated |= ticket.saturated;
                if self.win_count < self.limit.max(MIN_WINDOW) {
                    return Decision::Unchanged;
                }
                let mean = self.win_sum / self.win_count as f64;
                let saturated = self.win_saturated;
                self.reset_window();
                let decision = match self.baseline {
                    Some(b)
                        if mean > b * LATENCY_DECREASE_RATIO && mean > b + LATENCY_SLACK_SECS =>
                    {
                        self.decrease(DecreaseReason::Latency)
                    }
                    Some(b) if mean > (b * LATENCY_INCREASE_RATIO).max(b + LATENCY_SLACK_SECS) => {
                        Decision::Unchanged
                    }
                    _ if saturated && self.limit < self.max => {
                        self.limit += 1;
                        self.increases += 1;
                        Decision::Increased { limit: self.limit }
                    }
                    _ => Decision::Unchanged,
                };
                self.baseline = Some(match self.baseline {
                    None => mean,
                    Some(b) => b + BASELINE_ALPHA * (mean - b),
                });
                decision
            }
        }
    }

    fn decrease(&mut self, reason: DecreaseReason) -> Decision {
        self.epoch += 1;
        self.reset_window();
        let new = (self.limit / 2).max(1);
        if new == self.limit {
            return Decision::Unchanged;
        }
        self.limit = new;
        self.decreases += 1;
        Decision::Decreased { limit: new, reason }
    }

    fn reset_window(&mut self) {
        self.win_count = 0;
        self.win_sum = 0.0;
        self.win_saturated = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAST: Duration = Duration::from_millis(20);

    fn run_window(l: &mut AdaptiveLimit, latency: Duration) -> Vec<Decision> {
        // fill the limit (saturated), then release all
        let tickets: Vec<Ticket> = std::iter::from_fn(|| l.try_acquire()).collect();
        tickets
            .into_iter()
            .map(|t| l.release(t, LoadSignal::Success(latency)))
            .collect()
    }

    fn run_until_decision(l: &mut AdaptiveLimit, latency: Duration) -> Decision {
        for _ in 0..10 {
            if let Some(d) = run_window(l, latency)
                .into_iter()
                .find(|d| *d != Decision::Unchanged)
            {
                return d;
            }
        }
        Decision::Unchanged
    }

    #[test]
    fn starts_clamped_and_respects_the_limit() {
        assert_eq!(AdaptiveLimit::new(0, 8).limit(), 1);
        assert_eq!(AdaptiveLimit::new(20, 8).limit(), 8);
        assert_eq!(AdaptiveLimit::new(3, 0).limit(), 1);
        let mut l = AdaptiveLimit::new(2, 8);
        assert!(l.try_acquire().is_some());
        assert!(l.try_acquire().is_some());
        assert!(l.try_acquire().is_none());
        assert_eq!(l.in_flight(), 2);
    }

    #[test]
    fn fast_saturated_windows_raise_the_limit_by_one_up_to_max() {
        let mut l = AdaptiveLimit::new(1, 4);
        assert_eq!(
            run_until_decision(&mut l, FAST),
            Decision::Increased { limit: 2 }
        );
        assert_eq!(
            run_until_decision(&mut l, FAST),
            Decision::Increased { limit: 3 }
        );
        assert_eq!(
            run_until_decision(&mut l, FAST),
            Decision::Increased { limit: 4 }
        );
        assert_eq!(run_until_decision(&mut l, FAST), Decision::Unchanged);
        assert_eq!(l.limit(), 4);
        assert_eq!(l.increases(), 3);
    }

    #[test]
    fn unsaturated_use_does_not_raise_the_limit() {
        let mut l = AdaptiveLimit::new(4, 8);
        for _ in 0..20 {
            let t = l.try_acquire().unwrap();
            assert_eq!(l.release(t, LoadSignal::Success(FAST)), Decision::Unchanged);
        }
        assert_eq!(l.limit(), 4);
    }

    #[test]
    fn overload_halves_once_per_burst_and_never_below_one() {
        let mut l = AdaptiveLimit::new(8, 8);
        let tickets: Vec<Ticket> = std::iter::from_fn(|| l.try_acquire()).collect();
        assert_eq!(tickets.len(), 8);
        let decisions: Vec<Decision> = tickets
            .into_iter()
            .map(|t| l.release(t, LoadSignal::Overload))
            .collect();
        // the 8 requests of one burst halve the limit once
        assert_eq!(
            decisions[0],
            Decision::Decreased {
                limit: 4,
                reason: DecreaseReason::Overload
            }
        );
        assert!(decisions[1..].iter().all(|d| *d == Decision::Unchanged));
        assert_eq!(l.limit(), 4);
        for expected in [2, 1] {
            let t = l.try_acquire().unwrap();
            assert_eq!(
                l.release(t, LoadSignal::Overload),
                Decision::Decreased {
                    limit: expected,
                    reason: DecreaseReason::Overload
                }
            );
        }
        let t = l.try_acquire().unwrap();
        assert_eq!(l.release(t, LoadSignal::Overload), Decision::Unchanged);
        assert_eq!(l.limit(), 1);
        assert_eq!(l.decreases(), 3);
        assert_eq!(l.in_flight(), 0);
    }

    #[test]
    fn latency_well_above_baseline_halves_the_limit() {
        let mut l = AdaptiveLimit::new(4, 4);
        // establish the baseline at 20 ms
        for _ in 0..3 {
            run_window(&mut l, FAST);
        }
        assert_eq!(l.limit(), 4);
        let d = run_until_decision(&mut l, Duration::from_millis(400));
        assert_eq!(
            d,
            Decision::Decreased {
                limit: 2,
                reason: DecreaseReason::Latency
            }
        );
    }

    #[test]
    fn moderate_latency_rise_holds_the_limit() {
        let mut l = AdaptiveLimit::new(2, 8);
        for _ in 0..3 {
            run_window(&mut l, Duration::from_millis(200));
        }
        let before = l.limit();
        // 1.8x the baseline: neither raise nor lower
        let ds = run_window(&mut l, Duration::from_millis(360));
        assert!(ds.iter().all(|d| *d == Decision::Unchanged), "{ds:?}");
        assert_eq!(l.limit(), before);
    }

    #[test]
    fn neutral_outcomes_change_nothing() {
        let mut l = AdaptiveLimit::new(2, 8);
        for _ in 0..10 {
            let t = l.try_acquire().unwrap();
            assert_eq!(l.release(t, LoadSignal::Neutral), Decision::Unchanged);
        }
        assert_eq!(l.limit(), 2);
    }
}
