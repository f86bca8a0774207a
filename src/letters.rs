//! Constant-time character properties for the Basic Multilingual Plane: "is this a letter",
//! "does lowercasing change it", "can NFC change it".
//!
//! Why: detection (script classification, n-gram extraction) and the word tokenizer ask this of
//! every non-ASCII character, and std's `char::is_alphabetic` is a search over a compressed table:
//! it showed up at ~6% of all ingest CPU. Lowercasing is the same story: `char::to_lowercase`
//! searches a table even for the (most common) characters it leaves unchanged, and the NFC quick
//! check of every record's text made two lookups per character. A 64 Ki-bit map of the BMP per
//! property (8 KiB, built once from the slow answer, so the answers are exactly the same) makes
//! each one load; characters beyond the BMP are rare in running text and keep the slow lookup.

use std::sync::OnceLock;

const BMP: usize = 0x1_0000;

struct Bitmap([u64; BMP / 64]);

impl Bitmap {
    fn build(property: fn(char) -> bool) -> Bitmap {
        let mut bits = [0u64; BMP / 64];
        for cp in 0..BMP as u32 {
            if char::from_u32(cp).is_some_and(property) {
                bits[cp as usize / 64] |= 1 << (cp % 64);
            }
        }
        Bitmap(bits)
    }

    #[inline]
    fn contains(&self, cp: u32) -> bool {
        self.0[cp as usize / 64] & (1 << (cp % 64)) != 0
    }
}

static ALPHABETIC: OnceLock<Bitmap> = OnceLock::new();
static ALPHANUMERIC: OnceLock<Bitmap> = OnceLock::new();
static CHANGES_WHEN_LOWERCASED: OnceLock<Bitmap> = OnceLock::new();
static NFC_INERT: OnceLock<Bitmap> = OnceLock::new();

/// Same answer as `char::is_alphabetic`, in constant time for the BMP.
#[inline]
pub fn is_alphabetic(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphabetic();
    }
    lookup(c, &ALPHABETIC, char::is_alphabetic)
}

/// Same answer as `char::is_alphanumeric`, in constant time for the BMP.
#[inline]
pub fn is_alphanumeric(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric();
    }
    lookup(c, &ALPHANUMERIC, char::is_alphanumeric)
}

/// Whether `char::to_lowercase` gives anything but `c` itself, in constant time for the BMP.
#[inline]
pub fn changes_when_lowercased(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_uppercase();
    }
    lookup(c, &CHANGES_WHEN_LOWERCASED, |c| {
        c.to_lowercase().ne(std::iter::once(c))
    })
}

/// Appends `word` to `out` lowercased character by character, like Tantivy's `LowerCaser` (no
/// context rules such as Greek final sigma), so indexed terms are the same as with it.
pub fn push_lowercase(word: &str, out: &mut String) {
    if word.is_ascii() {
        let start = out.len();
        out.push_str(word);
        out[start..].make_ascii_lowercase();
        return;
    }
    for c in word.chars() {
        if changes_when_lowercased(c) {
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
}

/// Whether `c` is left alone by NFC whatever surrounds it (combining class 0 and NFC quick check
/// "yes"): a text of only such characters is already NFC, which saves decoding the general
/// quick check's per-character lookups.
#[inline]
pub fn is_nfc_inert(c: char) -> bool {
    if c.is_ascii() {
        return true;
    }
    lookup(c, &NFC_INERT, |c| {
        use unicode_normalization::{char::canonical_combining_class, is_nfc_quick, IsNormalized};
        canonical_combining_class(c) == 0 && is_nfc_quick(std::iter::once(c)) == IsNormalized::Yes
    })
}

/// One value per code point of the BMP, `f(c)` (or `unassigned` for the surrogates): the
/// constant-time lookup tables of properties that are not yes/no (scripts, segmentation classes).
pub(crate) fn bmp_table<T>(f: impl Fn(char) -> T, unassigned: T) -> Box<[T]>
where
    T: Copy,
{
    (0..BMP as u32)
        .map(|cp| char::from_u32(cp).map_or(unassigned, &f))
        .collect()
}

/// `property(c)`, from `map` (built from `property` on first use) when `c` is in the BMP.
#[inline]
fn lookup(c: char, map: &OnceLock<Bitmap>, property: fn(char) -> bool) -> bool {
    let cp = c as u32;
    if cp as usize >= BMP {
        return property(c);
    }
    map.get_or_init(|| Bitmap::build(property)).contains(cp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_std_on_every_character() {
        for cp in 0..=0x10_FFFFu32 {
            let Some(c) = char::from_u32(cp) else {
                continue;
            };
            assert_eq!(is_alphabetic(c), c.is_alphabetic(), "U+{cp:04X}");
            assert_eq!(is_alphanumeric(c), c.is_alphanumeric(), "U+{cp:04X}");
            assert_eq!(
                is_nfc_inert(c),
                unicode_normalization::char::canonical_combining_class(c) == 0
                    && unicode_normalization::is_nfc_quick(std::iter::once(c))
                        == unicode_normalization::IsNormalized::Yes,
                "U+{cp:04X}"
            );
            let mut lowered = String::new();
            push_lowercase(c.encode_utf8(&mut [0; 4]), &mut lowered);
            assert_eq!(lowered, c.to_lowercase().collect::<String>(), "U+{cp:04X}");
            assert_eq!(
                changes_when_lowercased(c),
                lowered != c.to_string(),
                "U+{cp:04X}"
            );
        }
        let mut lowered = String::from("x");
        push_lowercase("ÄÖÜ Straße ΣΟΦΙΑ İ", &mut lowered);
        assert_eq!(lowered, "xäöü straße σοφια i\u{307}");
    }
}
