//! Word evidence for close languages: how often each language of a close group uses the words
//! of the text, from wordfreq's frequency lists (`data/close-words.tsv.gz`, made by
//! `scripts/make-close-words.py`; CC BY-SA 4.0, credited in data/README.md).
//!
//! Why: lingua's character n-grams are trained on web corpora in which neighbours bleed into
//! each other (much of its "Malay" is Indonesian), so a short text in one of two close
//! languages is often a coin toss for it. Whole words are what a reader goes by: "karena",
//! "bisa", "uang" are Indonesian, "kerana", "boleh", "wang" Malay. When the best candidate is
//! in a group the table covers (id/ms, nb/da, cs/sk, es/ca/pt), each member's confidence is
//! multiplied by the likelihood of the text's words under that language's frequencies
//! (tempered by [`WORD_WEIGHT`]), and the group's share of the total is kept: words move
//! confidence between close languages, never in or out of the group.

use std::collections::HashMap;
use std::io::Read;
use std::sync::OnceLock;

/// The table, gzip-compressed (about 1.4 MB; 248k words).
const DATA: &[u8] = include_bytes!("data/close-words.tsv.gz");

/// Exponent on the word likelihood against lingua's confidence. Tuned on lingua's own test
/// sentences and word pairs of the covered languages (0.1-1.0 tried; 0.3 best on both); the
/// UDHR close-language set, held out, agreed (docs/benchmarks/detection.md).
pub(crate) const WORD_WEIGHT: f64 = 0.3;

/// lingua's near-zero confidences (1e-25 is common on short texts) count as this, so strong
/// word evidence can still overturn a confident but wrong close call.
const CONFIDENCE_FLOOR: f64 = 1e-9;

/// At most this many words of a text are looked up (a sample is a few hundred characters; a
/// query a few words): a bound on the cost, not a limit anyone meets.
const MAX_WORDS: usize = 256;

/// Every group, parsed once per process.
pub(crate) struct CloseWords {
    groups: Vec<Group>,
}

/// One group of close languages and their word frequencies.
pub(crate) struct Group {
    /// Glossa codes, in the order of each word's frequencies.
    pub(crate) langs: Vec<&'static str>,
    /// Word -> index of its first frequency in `centibels`.
    words: HashMap<&'static str, u32>,
    /// `langs.len()` frequencies per word, in centibels below 1 (250 = 10^-2.5).
    centibels: Vec<u16>,
}

impl CloseWords {
    /// The process-wide table (parsed on first use, about 0.1 s; `Detector::new` calls this so
    /// no request pays for it). Empty if the compiled-in data cannot be read, which the unit
    /// tests rule out.
    pub(crate) fn get() -> &'static CloseWords {
        static TABLE: OnceLock<CloseWords> = OnceLock::new();
        TABLE.get_or_init(|| match parse(DATA) {
            Some(table) => table,
            None => {
                tracing::error!(
                    "the close-language word table is unreadable; word evidence is off"
                );
                CloseWords { groups: Vec::new() }
            }
        })
    }

    /// The group `lang` belongs to, if the table covers it.
    pub(crate) fn group_of(&self, lang: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.langs.contains(&lang))
    }
}

impl Group {
    /// Natural-log likelihood of the text's words under each language of the group (in
    /// `langs` order), counting only words the table lists; `None` if it lists none of them.
    pub(crate) fn log_likelihoods(&self, text: &str) -> Option<Vec<f64>> {
        let n = self.langs.len();
        let mut sums = vec![0.0f64; n];
        let mut found = false;
        let mut word = String::new();
        let mut seen = 0usize;
        let mut add = |word: &str| {
            if let Some(&at) = self.words.get(word) {
                found = true;
                let at = at as usize;
                for (sum, cb) in sums.iter_mut().zip(&self.centibels[at..at + n]) {
                    *sum -= f64::from(*cb) / 100.0 * std::f64::consts::LN_10;
                }
            }
        };
        for c in text.chars() {
            if c.is_alphabetic() {
                word.extend(c.to_lowercase());
            } else if !word.is_empty() {
                add(&word);
                word.clear();
                seen += 1;
                if seen >= MAX_WORDS {
                    break;
                }
            }
        }
        if !word.is_empty() && seen < MAX_WORDS {
            add(&word);
        }
        found.then_some(sums)
    }
}

/// Moves confidence between the members of a close group by the likelihood of the text's
/// words (see the module comment); `values` are (code, confidence) pairs best first, and stay
/// so. Only the group of the best candidate is touched, and only its members present in
/// `values`.
pub(crate) fn reweigh(values: &mut [(&'static str, f64)], text: &str) {
    let Some(&(best, _)) = values.first() else {
        return;
    };
    let Some(group) = CloseWords::get().group_of(best) else {
        return;
    };
    let members: Vec<(usize, usize)> = values
        .iter()
        .enumerate()
        .filter_map(|(i, (code, _))| Some((i, group.langs.iter().position(|l| l == code)?)))
        .collect();
    if members.len() < 2 {
        return;
    }
    let Some(likelihoods) = group.log_likelihoods(text) else {
        return;
    };
    let mass: f64 = members.iter().map(|(i, _)| values[*i].1).sum();
    if mass <= 0.0 {
        return;
    }
    let scores: Vec<f64> = members
        .iter()
        .map(|(i, g)| values[*i].1.max(CONFIDENCE_FLOOR).ln() + WORD_WEIGHT * likelihoods[*g])
        .collect();
    let top = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let total: f64 = scores.iter().map(|s| (s - top).exp()).sum();
    for ((i, _), score) in members.iter().zip(&scores) {
        values[*i].1 = mass * (score - top).exp() / total;
    }
    values.sort_by(|a, b| b.1.total_cmp(&a.1));
}

/// Reads the table: gzip text, "#group a b" lines, then "word<TAB>cB<TAB>cB..." lines.
fn parse(data: &[u8]) -> Option<CloseWords> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(data)
        .read_to_string(&mut text)
        .ok()?;
    // The words are borrowed for the life of the process: the table is built once.
    let text: &'static str = Box::leak(text.into_boxed_str());
    let mut groups: Vec<Group> = Vec::new();
    for line in text.lines() {
        if let Some(header) = line.strip_prefix("#group ") {
            let langs = header
                .split(' ')
                .map(|code| {
                    super::tables::LINGUA_CODES
                        .iter()
                        .find(|c| **c == code)
                        .copied()
                })
                .collect::<Option<Vec<&'static str>>>()?;
            groups.push(Group {
                langs,
                words: HashMap::new(),
                centibels: Vec::new(),
            });
            continue;
        }
        let group = groups.last_mut()?;
        let mut fields = line.split('\t');
        let word = fields.next()?;
        let at = u32::try_from(group.centibels.len()).ok()?;
        let before = group.centibels.len();
        for field in fields {
            group.centibels.push(field.parse().ok()?);
        }
        if group.centibels.len() - before != group.langs.len() {
            return None;
        }
        group.words.insert(word, at);
    }
    Some(CloseWords { groups })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_covers_its_four_groups() {
        let table = CloseWords::get();
        let groups: Vec<Vec<&str>> = table.groups.iter().map(|g| g.langs.clone()).collect();
        assert_eq!(
            groups,
            vec![
                vec!["id", "ms"],
                vec!["nb", "da"],
                vec!["cs", "sk"],
                vec!["es", "ca", "pt"]
            ]
        );
        assert!(table.groups.iter().all(|g| g.words.len() > 20_000));
    }

    #[test]
    fn words_tell_indonesian_from_malay() {
        let group = CloseWords::get().group_of("id").expect("id/ms group");
        let id = group
            .log_likelihoods("Karena dia bisa membayar dengan uang")
            .expect("listed words");
        let ms = group
            .log_likelihoods("Kerana dia boleh membayar dengan wang")
            .expect("listed words");
        assert!(id[0] > id[1], "Indonesian words favour id: {id:?}");
        assert!(ms[1] > ms[0], "Malay words favour ms: {ms:?}");
        assert!(group.log_likelihoods("xyzzy 12345").is_none());
    }

    #[test]
    fn reweighing_moves_confidence_inside_the_group_only() {
        // lingua's call on an Indonesian sentence it gives to Malay.
        let mut values = vec![("ms", 0.6), ("id", 0.3), ("tl", 0.1)];
        reweigh(
            &mut values,
            "Setiap orang berhak atas pendidikan karena pendidikan harus gratis",
        );
        assert_eq!(values[0].0, "id", "{values:?}");
        let group: f64 = values
            .iter()
            .filter(|(c, _)| *c != "tl")
            .map(|(_, p)| p)
            .sum();
        assert!(
            (group - 0.9).abs() < 1e-9,
            "the group keeps its share: {values:?}"
        );
        assert!(values
            .iter()
            .any(|(c, p)| *c == "tl" && (*p - 0.1).abs() < 1e-12));
        // A best candidate outside every group is left alone.
        let mut other = vec![("de", 0.5), ("nl", 0.5)];
        reweigh(&mut other, "karena bisa uang");
        assert_eq!(other, vec![("de", 0.5), ("nl", 0.5)]);
    }
}
