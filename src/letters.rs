//! Constant-time "is this character a letter" for the Basic Multilingual Plane.
//!
//! Why: detection (script classification, n-gram extraction) and the word tokenizer ask this of
//! every non-ASCII character, and std's `char::is_alphabetic` is a search over a compressed table:
//! it showed up at ~6% of all ingest CPU. A 64 Ki-bit map of the BMP (8 KiB, built once from std
//! so the answers are std's exactly) makes it one load; characters beyond the BMP are rare in
//! running text and keep std's lookup.

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
        }
    }
}
