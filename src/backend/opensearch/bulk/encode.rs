//! The `_bulk` body: exact byte sizes per operation, action and source lines, and grouping
//! operations into requests under a byte limit.

use super::{BulkOp, WriteCondition};

/// Groups ops, in order, into requests of at most `max` bytes each.
pub(super) fn chunk_ops(pending: &[usize], sizes: &[usize], max: usize) -> Vec<Vec<usize>> {
    let mut chunks = Vec::new();
    let mut cur = Vec::new();
    let mut cur_bytes = 0usize;
    for &i in pending {
        let size = sizes.get(i).copied().unwrap_or(0);
        if !cur.is_empty() && cur_bytes + size > max {
            chunks.push(std::mem::take(&mut cur));
            cur_bytes = 0;
        }
        cur.push(i);
        cur_bytes += size;
    }
    if !cur.is_empty() {
        chunks.push(cur);
    }
    chunks
}

/// Exact bytes of an op in a bulk body: action line, source line, both newlines.
pub(super) fn op_size(op: &BulkOp) -> usize {
    match op.delete {
        true => action_line(op).len(),
        false => action_line(op).len() + op.source.len() + 1,
    }
}

/// The action line of `op`: index, create (absent) or delete, with the expected version.
pub(super) fn action_line(op: &BulkOp) -> Vec<u8> {
    let mut out = Vec::with_capacity(op.index.len() + op.id.len() + 80);
    match (op.delete, op.condition) {
        (true, _) => out.extend_from_slice(br#"{"delete":{"_index":"#),
        (false, Some(WriteCondition::Absent)) => out.extend_from_slice(br#"{"create":{"_index":"#),
        (false, _) => out.extend_from_slice(br#"{"index":{"_index":"#),
    }
    push_json_str(&mut out, &op.index);
    out.extend_from_slice(br#","_id":"#);
    push_json_str(&mut out, &op.id);
    if let Some(WriteCondition::Unchanged {
        seq_no,
        primary_term,
    }) = op.condition
    {
        out.extend_from_slice(
            format!(r#","if_seq_no":{seq_no},"if_primary_term":{primary_term}"#).as_bytes(),
        );
    }
    out.extend_from_slice(b"}}\n");
    out
}

/// Appends the action and source lines of `op` to a bulk body.
pub(super) fn write_op(out: &mut Vec<u8>, op: &BulkOp) {
    out.extend_from_slice(&action_line(op));
    if op.delete {
        return;
    }
    let start = out.len();
    out.extend_from_slice(&op.source);
    for b in &mut out[start..] {
        if *b == b'\n' || *b == b'\r' {
            *b = b' ';
        }
    }
    out.push(b'\n');
}

fn push_json_str(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for &b in s.as_bytes() {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0..=0x1f => {
                out.extend_from_slice(b"\\u00");
                out.push(HEX[(b >> 4) as usize]);
                out.push(HEX[(b & 0xf) as usize]);
            }
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn conditional_writes_say_create_or_carry_the_expected_version() {
        let mut op = BulkOp {
            index: "idx".into(),
            id: "d1".into(),
            source: Bytes::from_static(b"{}"),
            condition: Some(WriteCondition::Absent),
            delete: false,
        };
        let line: serde_json::Value = serde_json::from_slice(&action_line(&op)).unwrap();
        assert_eq!(
            line,
            serde_json::json!({"create": {"_index": "idx", "_id": "d1"}})
        );
        op.condition = Some(WriteCondition::Unchanged {
            seq_no: 7,
            primary_term: 2,
        });
        let line: serde_json::Value = serde_json::from_slice(&action_line(&op)).unwrap();
        assert_eq!(
            line,
            serde_json::json!({"index": {"_index": "idx", "_id": "d1", "if_seq_no": 7, "if_primary_term": 2}})
        );
    }

    #[test]
    fn deletes_are_one_action_line() {
        let op = BulkOp {
            index: "idx".into(),
            id: "d1".into(),
            source: Bytes::new(),
            condition: None,
            delete: true,
        };
        let mut body = Vec::new();
        write_op(&mut body, &op);
        assert_eq!(op_size(&op), body.len());
        let text = String::from_utf8(body).unwrap();
        assert_eq!(text.lines().count(), 1, "{text:?}");
        let action: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(
            action,
            serde_json::json!({"delete": {"_index": "idx", "_id": "d1"}})
        );
    }

    #[test]
    fn body_lines_are_exact_and_escaped() {
        let op = BulkOp {
            index: "idx".into(),
            id: "a\"b\\c\nd\u{1}é".into(),
            source: Bytes::from_static(b"{\"t\":\n1}\r\n"),
            condition: None,
            delete: false,
        };
        let mut body = Vec::new();
        write_op(&mut body, &op);
        assert_eq!(op_size(&op), body.len());
        let text = String::from_utf8(body).unwrap();
        let lines: Vec<&str> = text.split_terminator('\n').collect();
        assert_eq!(lines.len(), 2, "{text:?}");
        let action: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(action["index"]["_id"], "a\"b\\c\nd\u{1}é");
        let source: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(source["t"], 1);
    }

    #[test]
    fn chunks_never_exceed_the_byte_limit() {
        let sizes = vec![40, 40, 30, 100, 1, 60, 60];
        let pending: Vec<usize> = (0..sizes.len()).collect();
        let chunks = chunk_ops(&pending, &sizes, 100);
        assert_eq!(
            chunks,
            vec![vec![0, 1], vec![2], vec![3], vec![4, 5], vec![6]]
        );
        for c in &chunks {
            assert!(c.iter().map(|&i| sizes[i]).sum::<usize>() <= 100);
        }
    }
}
