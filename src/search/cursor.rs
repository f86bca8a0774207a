//! Search cursors: where the previous page ended, which snapshot the pages are read from, and a
//! digest of every hit served so far.
//!
//! Why the digest: a first page pins nothing on a cluster (a point in time per search would
//! exhaust the cluster's open-context limit), and an embedded snapshot may have been dropped.
//! When a later page needs a snapshot the earlier pages did not pin, the backend re-runs the
//! query on the new snapshot from the top and compares the digest of its first `served` hits
//! with this one. Equal: the new snapshot orders everything already shown exactly as it was
//! shown, so paging on from it is consistent. Different: the answer is 410 "search again",
//! never a page that repeats or skips hits.

use base64::Engine;

/// Where a cursor's pages are read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Snapshot {
    /// An embedded index generation (kept in memory while cursors use it).
    Generation(u64),
    /// Nothing pinned yet: the first page was read from the live cluster index.
    Live,
    /// An OpenSearch point in time.
    Pit(String),
}

/// Where the previous page ended: hits sort by score, then by id hash, both descending.
#[derive(Clone, Debug, PartialEq)]
pub struct Cursor {
    pub score: f32,
    pub id_hash: u64,
    /// Hits served by the pages before this cursor's page.
    pub served: u32,
    /// [`digest`] of the id hashes of those hits, in order.
    pub digest: u64,
    pub snapshot: Snapshot,
}

/// Why a cursor string was refused.
#[derive(Debug, thiserror::Error)]
#[error("invalid cursor: pass back the `next_cursor` value of a previous answer unchanged")]
pub struct BadCursor;

/// First byte of an encoded cursor: its format version (older cursors are refused, not misread).
const FORMAT: u8 = 2;
const TAG_GENERATION: u8 = 0;
const TAG_LIVE: u8 = 1;
const TAG_PIT: u8 = 2;
/// Longest point-in-time id accepted back from a client.
const MAX_PIT_BYTES: usize = 4096;

/// Deepest `served + size` a re-check may re-run a query to (also OpenSearch's default
/// `index.max_result_window`); a deeper cursor whose snapshot is gone has expired.
pub const MAX_RECHECK_HITS: usize = 10_000;

/// The answer to a cursor issued by the other backend (or forged).
pub const FOREIGN_CURSOR: &str =
    "invalid cursor: it was not issued by this index; search again without it";

/// Folds one more hit into a running digest (order-sensitive; not cryptographic: it only tells
/// two orderings apart).
pub fn digest(previous: u64, id_hash: u64) -> u64 {
    (previous.rotate_left(23) ^ id_hash).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// The digest of a run of hits, starting from `start` (0 for the first page).
pub fn digest_all(start: u64, id_hashes: impl IntoIterator<Item = u64>) -> u64 {
    id_hashes.into_iter().fold(start, digest)
}

impl Cursor {
    /// True when `first`, the id hashes a newer snapshot ranks first (at least `served` of
    /// them), are exactly the hits this cursor has served, in the same order: paging on from
    /// that snapshot is then consistent with what the client saw.
    pub fn served_the_same(&self, first: impl IntoIterator<Item = u64>) -> bool {
        let served = self.served as usize;
        let (count, digest) = first
            .into_iter()
            .take(served)
            .fold((0, 0), |(count, d), id_hash| {
                (count + 1, digest(d, id_hash))
            });
        count == served && digest == self.digest
    }

    /// Whether the next `size` hits after this cursor are within reach of a re-check.
    pub fn recheckable(&self, size: usize) -> bool {
        (self.served as usize).saturating_add(size) <= MAX_RECHECK_HITS
    }

    /// Opaque, URL-safe form handed to clients.
    pub fn encode(&self) -> String {
        let mut bytes = Vec::with_capacity(32);
        bytes.push(FORMAT);
        bytes.extend_from_slice(&self.score.to_le_bytes());
        bytes.extend_from_slice(&self.id_hash.to_le_bytes());
        bytes.extend_from_slice(&self.served.to_le_bytes());
        bytes.extend_from_slice(&self.digest.to_le_bytes());
        match &self.snapshot {
            Snapshot::Generation(generation) => {
                bytes.push(TAG_GENERATION);
                bytes.extend_from_slice(&generation.to_le_bytes());
            }
            Snapshot::Live => bytes.push(TAG_LIVE),
            Snapshot::Pit(pit) => {
                bytes.push(TAG_PIT);
                bytes.extend_from_slice(pit.as_bytes());
            }
        }
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Parses what [`Cursor::encode`] produced.
    pub fn decode(text: &str) -> Result<Cursor, BadCursor> {
        if text.len() > (MAX_PIT_BYTES + 64) * 4 / 3 {
            return Err(BadCursor);
        }
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| BadCursor)?;
        let mut reader = Reader(&bytes);
        if reader.take::<1>()? != [FORMAT] {
            return Err(BadCursor);
        }
        let score = f32::from_le_bytes(reader.take()?);
        let id_hash = u64::from_le_bytes(reader.take()?);
        let served = u32::from_le_bytes(reader.take()?);
        let digest = u64::from_le_bytes(reader.take()?);
        let [tag] = reader.take::<1>()?;
        let snapshot = match tag {
            TAG_GENERATION => Snapshot::Generation(u64::from_le_bytes(reader.take()?)),
            TAG_LIVE => Snapshot::Live,
            TAG_PIT if !reader.0.is_empty() && reader.0.len() <= MAX_PIT_BYTES => {
                let pit = std::str::from_utf8(reader.0).map_err(|_| BadCursor)?;
                reader.0 = &[];
                Snapshot::Pit(pit.to_string())
            }
            _ => return Err(BadCursor),
        };
        if !reader.0.is_empty() || !score.is_finite() || served == 0 {
            return Err(BadCursor);
        }
        Ok(Cursor {
            score,
            id_hash,
            served,
            digest,
            snapshot,
        })
    }
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], BadCursor> {
        let (head, rest) = self.0.split_at_checked(N).ok_or(BadCursor)?;
        self.0 = rest;
        head.try_into().map_err(|_| BadCursor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// A cursor is caller input: any text decodes or is refused, never panics.
        #[test]
        fn any_text_decodes_or_is_refused(text in "\\PC{0,200}") {
            if let Ok(cursor) = Cursor::decode(&text) {
                proptest::prop_assert_eq!(Cursor::decode(&cursor.encode()).map(|c| c.encode()).ok(), Some(cursor.encode()));
            }
        }
    }

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let base = Cursor {
            score: 1.25,
            id_hash: u64::MAX - 3,
            served: 10,
            digest: digest_all(0, [1, 2, 3]),
            snapshot: Snapshot::Generation(7),
        };
        for snapshot in [
            Snapshot::Generation(7),
            Snapshot::Live,
            Snapshot::Pit("o463QQEPZ2xvc3NhLXYxFmZ6".to_string()),
        ] {
            let cursor = Cursor {
                snapshot,
                ..base.clone()
            };
            assert_eq!(Cursor::decode(&cursor.encode()).ok(), Some(cursor));
        }
        assert!(Cursor::decode("not a cursor!").is_err());
        assert!(Cursor::decode("AAAA").is_err());
        // Truncated, or with bytes appended, is refused rather than misread.
        let encoded = base.encode();
        assert!(Cursor::decode(&encoded[..encoded.len() - 2]).is_err());
        let mut raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&encoded)
            .expect("own encoding");
        raw.push(0);
        let longer = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
        assert!(Cursor::decode(&longer).is_err());
        assert!(Cursor::decode(&"A".repeat(100_000)).is_err());
    }

    #[test]
    fn a_recheck_accepts_only_the_served_hits_in_their_order() {
        let cursor = Cursor {
            score: 1.0,
            id_hash: 2,
            served: 2,
            digest: digest_all(0, [1, 2]),
            snapshot: Snapshot::Live,
        };
        assert!(cursor.served_the_same([1, 2]));
        assert!(cursor.served_the_same([1, 2, 7]));
        assert!(!cursor.served_the_same([2, 1]));
        assert!(!cursor.served_the_same([1]));
        assert!(!cursor.served_the_same([7, 1, 2]));
        assert!(cursor.recheckable(MAX_RECHECK_HITS - 2));
        assert!(!cursor.recheckable(MAX_RECHECK_HITS - 1));
    }

    #[test]
    fn digest_tells_orders_apart() {
        assert_ne!(digest_all(0, [1, 2]), digest_all(0, [2, 1]));
        assert_ne!(digest_all(0, [1, 2]), digest_all(0, [1, 2, 3]));
        assert_eq!(
            digest_all(digest_all(0, [1, 2]), [3]),
            digest_all(0, [1, 2, 3])
        );
    }
}
