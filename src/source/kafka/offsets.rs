//! Which offsets a worker may commit: per assigned partition, the parts submitted to the
//! pipeline in read order and which of them are acknowledged; only the acknowledged prefix is
//! committable, and an assignment's epoch keeps a revoked partition's late acknowledgements
//! from advancing its next assignment.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use rdkafka::{Offset, TopicPartitionList};

use super::Batch;
use crate::source::lock;

/// Acknowledgement bookkeeping for one assigned partition.
#[derive(Debug)]
pub(super) struct PartitionState {
    /// Distinguishes this assignment from an earlier one of the same partition.
    epoch: u64,
    /// Last offset of each submitted part, in read order, and whether it is acknowledged.
    in_flight: BTreeMap<i64, bool>,
    /// Next offset to commit: everything before it is acknowledged.
    committable: Option<i64>,
    /// Offset last committed by this worker.
    committed: Option<i64>,
}

/// Per assigned partition, what was submitted, what is acknowledged and what is committed.
#[derive(Debug, Default)]
pub(super) struct Tracker {
    next_epoch: u64,
    pub(super) partitions: HashMap<(String, i32), PartitionState>,
}

impl Tracker {
    pub(super) fn assign(&mut self, topic: &str, partition: i32) {
        self.next_epoch += 1;
        self.partitions.insert(
            (topic.to_string(), partition),
            PartitionState {
                epoch: self.next_epoch,
                in_flight: BTreeMap::new(),
                committable: None,
                committed: None,
            },
        );
    }

    /// Notes that records up to `last_offset` were submitted; `None` when the partition is no
    /// longer assigned here (its records are then never committed by this worker).
    pub(super) fn submitted(
        &mut self,
        topic: &str,
        partition: i32,
        last_offset: i64,
    ) -> Option<u64> {
        let state = self.partitions.get_mut(&(topic.to_string(), partition))?;
        state.in_flight.insert(last_offset, false);
        Some(state.epoch)
    }

    pub(super) fn acknowledged(&mut self, mark: &Mark) {
        let Some(state) = self
            .partitions
            .get_mut(&(mark.topic.clone(), mark.partition))
        else {
            return;
        };
        if state.epoch != mark.epoch {
            return;
        }
        if let Some(done) = state.in_flight.get_mut(&mark.last_offset) {
            *done = true;
        }
        while let Some(entry) = state.in_flight.first_entry() {
            if !*entry.get() {
                break;
            }
            let (offset, _) = entry.remove_entry();
            state.committable = Some(offset + 1);
        }
    }

    /// Offsets acknowledged since the last commit, for `partitions` (all when `None`).
    pub(super) fn to_commit(&self, only: Option<&TopicPartitionList>) -> TopicPartitionList {
        let mut list = TopicPartitionList::new();
        for ((topic, partition), state) in &self.partitions {
            if let Some(only) = only {
                if only.find_partition(topic, *partition).is_none() {
                    continue;
                }
            }
            if let Some(next) = state.committable {
                if state.committed != Some(next) {
                    let _ = list.add_partition_offset(topic, *partition, Offset::Offset(next));
                }
            }
        }
        list
    }

    pub(super) fn committed(&mut self, list: &TopicPartitionList) {
        for elem in list.elements() {
            if let (Some(state), Offset::Offset(offset)) = (
                self.partitions
                    .get_mut(&(elem.topic().to_string(), elem.partition())),
                elem.offset(),
            ) {
                state.committed = Some(offset);
            }
        }
    }

    pub(super) fn idle(&self) -> bool {
        self.partitions.values().all(|s| s.in_flight.is_empty())
    }
}

/// What an acknowledged part of a submission lets this worker commit.
#[derive(Clone, Debug)]
pub(super) struct Mark {
    topic: String,
    partition: i32,
    last_offset: i64,
    epoch: u64,
}

/// Notes a batch's last offset per partition as submitted; the marks its acknowledgement clears.
pub(super) fn register(tracker: &Mutex<Tracker>, batch: &Batch) -> Vec<Mark> {
    let mut tracker = lock(tracker);
    batch
        .last
        .iter()
        .filter_map(|((topic, partition), last)| {
            let epoch = tracker.submitted(topic, *partition, *last)?;
            Some(Mark {
                topic: topic.clone(),
                partition: *partition,
                last_offset: *last,
                epoch,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(tracker: &mut Tracker, partition: i32, last: i64) -> Mark {
        let epoch = tracker.submitted("t", partition, last).expect("assigned");
        Mark {
            topic: "t".into(),
            partition,
            last_offset: last,
            epoch,
        }
    }

    #[test]
    fn commits_only_the_acknowledged_prefix_of_each_partition() {
        let mut tracker = Tracker::default();
        tracker.assign("t", 0);
        let first = mark(&mut tracker, 0, 9);
        let second = mark(&mut tracker, 0, 19);
        // Out-of-order acknowledgement: nothing is committable until the first part is in.
        tracker.acknowledged(&second);
        assert_eq!(tracker.to_commit(None).count(), 0);
        tracker.acknowledged(&first);
        let list = tracker.to_commit(None);
        let elem = list.find_partition("t", 0).expect("partition listed");
        assert_eq!(elem.offset(), Offset::Offset(20));
        tracker.committed(&list);
        assert_eq!(tracker.to_commit(None).count(), 0);
        assert!(tracker.idle());
    }

    #[test]
    fn acknowledgements_from_an_earlier_assignment_commit_nothing() {
        let mut tracker = Tracker::default();
        tracker.assign("t", 0);
        let stale = mark(&mut tracker, 0, 9);
        // Revoked and assigned again: the old in-flight part must not advance the new one.
        tracker.partitions.clear();
        tracker.assign("t", 0);
        let fresh = mark(&mut tracker, 0, 4);
        tracker.acknowledged(&stale);
        assert_eq!(tracker.to_commit(None).count(), 0);
        tracker.acknowledged(&fresh);
        let list = tracker.to_commit(None);
        assert_eq!(
            list.find_partition("t", 0).map(|e| e.offset()),
            Some(Offset::Offset(5))
        );
        // A partition not assigned here takes no submissions.
        assert!(tracker.submitted("t", 7, 1).is_none());
    }
}
