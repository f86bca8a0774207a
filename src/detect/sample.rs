//! Bounded sampling of long texts.
//!
//! lingua's cost grows linearly with the number of characters it scores, while its accuracy
//! saturates after a few hundred characters. Detecting on a bounded sample taken from several
//! places (so a boilerplate header or a quoted foreign passage cannot decide alone) keeps the
//! per-record cost flat whatever the record size.

use std::borrow::Cow;

/// How far (bytes) a window edge may move to reach a whitespace boundary, so words are not cut.
const SNAP_BYTES: usize = 24;

/// Returns `text` itself when it has at most `max_chars` characters, otherwise `windows`
/// whitespace-snapped windows of about `max_chars / windows` characters each, spread evenly
/// over the text (first at the start, last at the end), joined by spaces.
pub(crate) fn sample(text: &str, max_chars: usize, windows: usize) -> Cow<'_, str> {
    // Cheap exit without counting characters: every char is at least one byte.
    if text.len() <= max_chars {
        return Cow::Borrowed(text);
    }
    let windows = windows.max(1);
    let per = (max_chars / windows).max(1);
    // Average bytes per char, estimated from a bounded prefix so huge texts are not scanned.
    let probe_end = floor_boundary(text, 4096.min(text.len()));
    let probe = &text[..probe_end];
    let probe_chars = probe.chars().count().max(1);
    let est_chars = text.len() * probe_chars / probe.len().max(1);
    if est_chars <= max_chars + max_chars / 4 && text.chars().count() <= max_chars + max_chars / 4 {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(per * windows * 3 + windows);
    let len = text.len();
    for w in 0..windows {
        // Byte start of window w, spread so the last window ends at the text end.
        let approx_bytes_per_window = per * probe.len() / probe_chars;
        let span = len.saturating_sub(approx_bytes_per_window);
        let start = if windows == 1 {
            0
        } else {
            span * w / (windows - 1)
        };
        let start = snap_start(text, floor_boundary(text, start));
        let end = take_chars(text, start, per);
        let end = snap_end(text, start, end);
        let piece = text[start..end].trim();
        if piece.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(piece);
    }
    Cow::Owned(out)
}

/// Largest char boundary `<= i`.
fn floor_boundary(text: &str, mut i: usize) -> usize {
    if i >= text.len() {
        return text.len();
    }
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Byte index after `n` chars from `start` (or the text end).
fn take_chars(text: &str, start: usize, n: usize) -> usize {
    match text[start..].char_indices().nth(n) {
        Some((i, _)) => start + i,
        None => text.len(),
    }
}

/// Moves a window start forward to just after the next whitespace, unless that is far away
/// (unsegmented scripts such as Chinese or Thai have no spaces).
fn snap_start(text: &str, start: usize) -> usize {
    if start == 0 {
        return 0;
    }
    let limit = floor_boundary(text, (start + SNAP_BYTES).min(text.len()));
    match text[start..limit]
        .char_indices()
        .find(|(_, c)| c.is_whitespace())
    {
        Some((i, c)) => start + i + c.len_utf8(),
        None => start,
    }
}

/// Moves a window end back to the last whitespace, unless that is far away.
fn snap_end(text: &str, start: usize, end: usize) -> usize {
    if end >= text.len() {
        return text.len();
    }
    let lower = floor_boundary(text, end.saturating_sub(SNAP_BYTES).max(start));
    match text[lower..end].rfind(char::is_whitespace) {
        Some(i) if lower + i > start => lower + i,
        _ => end,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_borrowed_whole() {
        assert!(matches!(
            sample("hello world", 300, 3),
            Cow::Borrowed("hello world")
        ));
    }

    #[test]
    fn long_text_is_bounded_and_covers_start_and_end() {
        let text = format!("{} {}", "alpha ".repeat(500), "omega ".repeat(500));
        let s = sample(&text, 300, 3);
        assert!(s.chars().count() <= 320, "{}", s.chars().count());
        assert!(s.starts_with("alpha"));
        assert!(s.trim_end().ends_with("omega"));
        // no cut words
        assert!(s.split_whitespace().all(|w| w == "alpha" || w == "omega"));
    }

    #[test]
    fn multibyte_and_unsegmented_text_is_safe() {
        let text = "東京都の天気は晴れです。".repeat(200);
        let s = sample(&text, 300, 3);
        assert!(s.chars().count() <= 310);
        let text = "Привет\u{a0}мир ".repeat(300);
        let s = sample(&text, 200, 4);
        assert!(s.split_whitespace().all(|w| w == "Привет" || w == "мир"));
    }
}
