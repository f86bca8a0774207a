//! Unicode script classification of letters, and the per-text script histogram that decides
//! which detection path a text takes.
//!
//! Hand-written ranges instead of a Unicode-data crate: the scripts that matter for routing are
//! a fixed, small set, and a `match` on ranges is cheaper than a table lookup per character.

/// The scripts the detector routes on. `Other` is any letter outside them (e.g. Mongolian
/// script, Cherokee): counted, but never decides a language.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Script {
    Latin,
    Cyrillic,
    Arabic,
    Devanagari,
    Han,
    Kana,
    Hangul,
    Thai,
    Greek,
    Hebrew,
    Armenian,
    Georgian,
    Gujarati,
    Gurmukhi,
    Tamil,
    Telugu,
    Bengali,
    Khmer,
    Lao,
    Myanmar,
    Ethiopic,
    Sinhala,
    Malayalam,
    Kannada,
    Tibetan,
    Oriya,
    Thaana,
    Other,
}

/// Number of `Script` variants, for the fixed-size histogram.
pub(crate) const SCRIPT_COUNT: usize = Script::Other as usize + 1;

impl Script {
    /// The language a script alone identifies (among lingua's languages plus the script-only
    /// ones), or `None` when several languages share it (Latin, Cyrillic, Arabic, Devanagari)
    /// or it needs special handling (Han, Kana).
    pub(crate) fn unique_language(self) -> Option<&'static str> {
        Some(match self {
            Script::Hangul => "ko",
            Script::Thai => "th",
            Script::Greek => "el",
            Script::Hebrew => "he",
            Script::Armenian => "hy",
            Script::Georgian => "ka",
            Script::Gujarati => "gu",
            Script::Gurmukhi => "pa",
            Script::Tamil => "ta",
            Script::Telugu => "te",
            Script::Bengali => "bn",
            Script::Khmer => "km",
            Script::Lao => "lo",
            Script::Myanmar => "my",
            Script::Ethiopic => "am",
            Script::Sinhala => "si",
            Script::Malayalam => "ml",
            Script::Kannada => "kn",
            Script::Tibetan => "bo",
            Script::Oriya => "or",
            Script::Thaana => "dv",
            _ => return None,
        })
    }
}

/// Classifies one character; `None` for anything that is not a letter (digits, punctuation,
/// symbols, emoji, whitespace, combining marks outside the listed blocks).
///
/// Every character of every record is classified, so the Basic Multilingual Plane's answers
/// are looked up in a table built once from `classify_by_ranges` (64 KiB) rather than matched
/// against the ranges each time.
#[inline]
pub(crate) fn classify(c: char) -> Option<Script> {
    let cp = c as u32;
    if cp < 0x80 {
        return c.is_ascii_alphabetic().then_some(Script::Latin);
    }
    let table = BMP_SCRIPTS.get_or_init(|| {
        crate::letters::bmp_table(
            |c| classify_by_ranges(c).map_or(NOT_A_LETTER, |s| s as u8),
            NOT_A_LETTER,
        )
    });
    match table.get(cp as usize) {
        Some(&NOT_A_LETTER) => None,
        Some(&i) => ALL.get(usize::from(i)).copied(),
        None => classify_by_ranges(c),
    }
}

/// `BMP_SCRIPTS` value of a character that is not a letter.
const NOT_A_LETTER: u8 = u8::MAX;
static BMP_SCRIPTS: std::sync::OnceLock<Box<[u8]>> = std::sync::OnceLock::new();

/// `classify`, from the Unicode block ranges of each script.
fn classify_by_ranges(c: char) -> Option<Script> {
    let cp = c as u32;
    if cp < 0x80 {
        return c.is_ascii_alphabetic().then_some(Script::Latin);
    }
    if !crate::letters::is_alphabetic(c) {
        return None;
    }
    Some(match cp {
        0x00C0..=0x024F | 0x0250..=0x02AF | 0x1E00..=0x1EFF | 0x2C60..=0x2C7F | 0xA720..=0xA7FF => {
            Script::Latin
        }
        0xFF21..=0xFF3A | 0xFF41..=0xFF5A => Script::Latin,
        0x0370..=0x03FF | 0x1F00..=0x1FFF => Script::Greek,
        0x0400..=0x052F | 0x1C80..=0x1C8F | 0x2DE0..=0x2DFF | 0xA640..=0xA69F => Script::Cyrillic,
        0x0530..=0x058F | 0xFB13..=0xFB17 => Script::Armenian,
        0x0590..=0x05FF | 0xFB1D..=0xFB4F => Script::Hebrew,
        0x0600..=0x06FF | 0x0750..=0x077F | 0x08A0..=0x08FF | 0xFB50..=0xFDFF | 0xFE70..=0xFEFF => {
            Script::Arabic
        }
        0x0780..=0x07BF => Script::Thaana,
        0x0900..=0x097F | 0xA8E0..=0xA8FF => Script::Devanagari,
        0x0980..=0x09FF => Script::Bengali,
        0x0A00..=0x0A7F => Script::Gurmukhi,
        0x0A80..=0x0AFF => Script::Gujarati,
        0x0B00..=0x0B7F => Script::Oriya,
        0x0B80..=0x0BFF => Script::Tamil,
        0x0C00..=0x0C7F => Script::Telugu,
        0x0C80..=0x0CFF => Script::Kannada,
        0x0D00..=0x0D7F => Script::Malayalam,
        0x0D80..=0x0DFF => Script::Sinhala,
        0x0E00..=0x0E7F => Script::Thai,
        0x0E80..=0x0EFF => Script::Lao,
        0x0F00..=0x0FFF => Script::Tibetan,
        0x1000..=0x109F | 0xA9E0..=0xA9FF | 0xAA60..=0xAA7F => Script::Myanmar,
        0x10A0..=0x10FF | 0x1C90..=0x1CBF | 0x2D00..=0x2D2F => Script::Georgian,
        0x1100..=0x11FF | 0x3130..=0x318F | 0xA960..=0xA97F | 0xAC00..=0xD7FF | 0xFFA0..=0xFFDC => {
            Script::Hangul
        }
        0x1200..=0x139F | 0x2D80..=0x2DDF | 0xAB00..=0xAB2F => Script::Ethiopic,
        0x1780..=0x17FF | 0x19E0..=0x19FF => Script::Khmer,
        0x3040..=0x309F | 0x30A0..=0x30FF | 0x31F0..=0x31FF | 0xFF66..=0xFF9D => Script::Kana,
        0x3005..=0x3007
        | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xF900..=0xFAFF
        | 0x20000..=0x3134F => Script::Han,
        _ => Script::Other,
    })
}

/// Letter counts per script over a text.
#[derive(Clone, Debug)]
pub(crate) struct ScriptStats {
    counts: [u32; SCRIPT_COUNT],
    /// Total letters counted.
    pub(crate) letters: u32,
}

impl ScriptStats {
    /// Counts the letters of `text` by script.
    pub(crate) fn of(text: &str) -> Self {
        let mut counts = [0u32; SCRIPT_COUNT];
        let mut letters = 0;
        for c in text.chars() {
            if let Some(s) = classify(c) {
                counts[s as usize] += 1;
                letters += 1;
            }
        }
        ScriptStats { counts, letters }
    }

    /// Letters of one script.
    pub(crate) fn count(&self, s: Script) -> u32 {
        self.counts[s as usize]
    }

    /// The script with the most letters, treating Han and kana together as one "CJK" block
    /// (Japanese mixes them; the caller splits them again). `None` when there are no letters.
    pub(crate) fn dominant(&self) -> Option<Script> {
        if self.letters == 0 {
            return None;
        }
        let mut best = Script::Other;
        let mut best_count = 0u32;
        for (i, &n) in self.counts.iter().enumerate() {
            let s = ALL[i];
            let n = match s {
                Script::Kana => continue,
                Script::Han => n + self.count(Script::Kana),
                _ => n,
            };
            if n > best_count {
                best_count = n;
                best = s;
            }
        }
        Some(best)
    }
}

/// All scripts in discriminant order (index = `Script as usize`).
pub(crate) const ALL: [Script; SCRIPT_COUNT] = [
    Script::Latin,
    Script::Cyrillic,
    Script::Arabic,
    Script::Devanagari,
    Script::Han,
    Script::Kana,
    Script::Hangul,
    Script::Thai,
    Script::Greek,
    Script::Hebrew,
    Script::Armenian,
    Script::Georgian,
    Script::Gujarati,
    Script::Gurmukhi,
    Script::Tamil,
    Script::Telugu,
    Script::Bengali,
    Script::Khmer,
    Script::Lao,
    Script::Myanmar,
    Script::Ethiopic,
    Script::Sinhala,
    Script::Malayalam,
    Script::Kannada,
    Script::Tibetan,
    Script::Oriya,
    Script::Thaana,
    Script::Other,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_table_matches_discriminants() {
        for (i, s) in ALL.iter().enumerate() {
            assert_eq!(*s as usize, i);
        }
    }

    #[test]
    fn classifies_letters_not_symbols() {
        assert_eq!(classify('a'), Some(Script::Latin));
        assert_eq!(classify('ß'), Some(Script::Latin));
        assert_eq!(classify('ж'), Some(Script::Cyrillic));
        assert_eq!(classify('ក'), Some(Script::Khmer));
        assert_eq!(classify('の'), Some(Script::Kana));
        assert_eq!(classify('漢'), Some(Script::Han));
        assert_eq!(classify('한'), Some(Script::Hangul));
        assert_eq!(classify('7'), None);
        assert_eq!(classify('!'), None);
        assert_eq!(classify('😀'), None);
        assert_eq!(classify('٣'), None); // Arabic-Indic digit
        for cp in 0..=0x10_FFFFu32 {
            if let Some(c) = char::from_u32(cp) {
                assert_eq!(classify(c), classify_by_ranges(c), "U+{cp:04X}");
            }
        }
    }

    #[test]
    fn dominant_counts_letters_and_merges_cjk() {
        let s = ScriptStats::of("Новый iPhone 15 уже в продаже");
        assert_eq!(s.dominant(), Some(Script::Cyrillic));
        let s = ScriptStats::of("東京都の天気");
        assert_eq!(s.dominant(), Some(Script::Han));
        assert!(s.count(Script::Kana) > 0);
        assert_eq!(ScriptStats::of("12:30 — 😀 !!").dominant(), None);
    }
}
