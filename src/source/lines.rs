//! NDJSON framing shared by the byte-stream sources (files, stdin, S3 objects): one record per
//! line, blank lines skipped, over-long lines cut (the decoder then rejects them as too large)
//! so one absurd line cannot exhaust memory.

use std::io::BufRead;

use crate::record::{RawRecord, SourcePosition};

/// Records read from one stream, with where the stream stands after the last of them.
pub struct LineChunk {
    pub records: Vec<RawRecord>,
    /// 1-based number of the last line consumed (records or blank lines).
    pub last_line: u64,
    /// Bytes of the (decompressed) stream consumed so far, counted from its start.
    pub end_offset: u64,
}

/// Splits a byte stream into chunks of raw records, numbering lines from a given start so a
/// resumed read keeps the same positions (and so the same position-derived ids).
pub struct NdjsonReader<R> {
    reader: R,
    source: String,
    line: u64,
    offset: u64,
    keep_bytes: usize,
    id_from_position: bool,
}

impl<R: BufRead> NdjsonReader<R> {
    /// `reader` starts right after line `start_line` (0 for the beginning), at byte
    /// `start_offset` of the stream.
    pub fn new(
        reader: R,
        source: String,
        start_line: u64,
        start_offset: u64,
        max_record_bytes: usize,
        id_from_position: bool,
    ) -> Self {
        NdjsonReader {
            reader,
            source,
            line: start_line,
            offset: start_offset,
            // Keep enough of an over-long line for its dead letter to be replayable when it fits.
            keep_bytes: max_record_bytes.max(crate::record::MAX_RAW_BYTES),
            id_from_position,
        }
    }

    /// Reads up to `max_records` records; `None` once the stream is exhausted.
    pub fn next_chunk(&mut self, max_records: usize) -> std::io::Result<Option<LineChunk>> {
        let mut records = Vec::with_capacity(max_records);
        while records.len() < max_records {
            let mut line = Vec::new();
            let read = read_line_bounded(&mut self.reader, self.keep_bytes, &mut line)?;
            if read == 0 {
                break;
            }
            self.line += 1;
            self.offset += read as u64;
            while line.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                line.pop();
            }
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            records.push(RawRecord {
                position: SourcePosition {
                    source: self.source.clone(),
                    line: self.line,
                },
                bytes: line,
                id_from_position: self.id_from_position,
                delete: false,
            });
        }
        if records.is_empty() {
            return Ok(None);
        }
        Ok(Some(LineChunk {
            records,
            last_line: self.line,
            end_offset: self.offset,
        }))
    }

    /// Consumes lines up to and including line `line` without keeping them: resuming inside a
    /// stream that cannot be read from a byte offset (a compressed object).
    pub fn skip_to_line(&mut self, line: u64) -> std::io::Result<()> {
        let mut scratch = Vec::new();
        while self.line < line {
            scratch.clear();
            let read = read_line_bounded(&mut self.reader, 0, &mut scratch)?;
            if read == 0 {
                break;
            }
            self.line += 1;
            self.offset += read as u64;
        }
        Ok(())
    }
}

/// Reads one line into `line`, keeping at most `limit + 1` bytes of it. Returns bytes consumed.
fn read_line_bounded(
    reader: &mut dyn BufRead,
    limit: usize,
    line: &mut Vec<u8>,
) -> std::io::Result<usize> {
    let mut consumed = 0;
    loop {
        let available = reader.fill_buf()?;
        if available.is_empty() {
            return Ok(consumed);
        }
        let (part, done) = match available.iter().position(|b| *b == b'\n') {
            Some(i) => (&available[..=i], true),
            None => (available, false),
        };
        let room = (limit + 1).saturating_sub(line.len());
        line.extend_from_slice(&part[..part.len().min(room)]);
        let n = part.len();
        reader.consume(n);
        consumed += n;
        if done {
            return Ok(consumed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_cut_but_fully_consumed() {
        let data = format!("{}\nnext\n", "x".repeat(100));
        let mut reader = std::io::Cursor::new(data.into_bytes());
        let mut line = Vec::new();
        let n = read_line_bounded(&mut reader, 10, &mut line).expect("in-memory read");
        assert_eq!(n, 101);
        assert_eq!(line.len(), 11);
        line.clear();
        read_line_bounded(&mut reader, 10, &mut line).expect("in-memory read");
        assert_eq!(line, b"next\n");
    }

    #[test]
    fn chunks_number_lines_and_offsets_and_resume_where_they_stopped() {
        let data = b"{\"a\":1}\n\n{\"a\":2}\r\n{\"a\":3}".to_vec();
        let mut reader = NdjsonReader::new(&data[..], "s".into(), 0, 0, 100, true);
        let first = reader.next_chunk(2).expect("read").expect("a chunk");
        let lines: Vec<u64> = first.records.iter().map(|r| r.position.line).collect();
        assert_eq!(lines, [1, 3]);
        assert_eq!(first.last_line, 3);
        assert_eq!(first.end_offset, 18);
        assert_eq!(first.records[1].bytes, b"{\"a\":2}");
        // A read resumed from the chunk's end offset continues with the same numbering.
        let rest = &data[first.end_offset as usize..];
        let mut resumed = NdjsonReader::new(rest, "s".into(), first.last_line, 18, 100, true);
        let second = resumed.next_chunk(10).expect("read").expect("a chunk");
        assert_eq!(second.records[0].position.line, 4);
        assert_eq!(second.end_offset, data.len() as u64);
        assert!(resumed.next_chunk(10).expect("read").is_none());
        // Skipping lines lands on the same record.
        let mut skipping = NdjsonReader::new(&data[..], "s".into(), 0, 0, 100, true);
        skipping.skip_to_line(3).expect("skip");
        let after_skip = skipping.next_chunk(10).expect("read").expect("a chunk");
        assert_eq!(after_skip.records[0].bytes, b"{\"a\":3}");
        assert_eq!(after_skip.records[0].position.line, 4);
    }
}
