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
//!
//! Bosnian, Croatian and Serbian, and Bokmål and Nynorsk, have no such lists (wordfreq merges
//! the first three, and has no Nynorsk): for them a hand-written table of marker words
//! (`data/close-markers.txt`: ekavian and ijekavian forms, "tko"/"ko", "ikkje"/"ikke"...) costs
//! each language a fixed amount per marker of the text it does not write.

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
        let mut add = |word: &str| {
            if let Some(&at) = self.words.get(word) {
                found = true;
                let at = at as usize;
                for (sum, cb) in sums.iter_mut().zip(&self.centibels[at..at + n]) {
                    *sum -= f64::from(*cb) / 100.0 * std::f64::consts::LN_10;
                }
            }
        };
        for_each_word(text, &mut add);
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

/// Marker words of the close languages no openly licensed word list separates (bs/hr/sr,
/// nb/nn), written by hand from their written norms (`data/close-markers.txt`).
const MARKERS: &str = include_str!("data/close-markers.txt");

/// Nats a language's score loses for each marker word in the text that its written norm does
/// not use (see [`reweigh_markers`]). On lingua's test sentences, where it was chosen, 1 lost 4
/// texts against 2, and 3 or 4 gained 3 (of 4,200: what a few wrong labels move); 2 is the
/// more cautious. The UDHR paragraphs, held out, give the same for 1 to 4
/// (docs/benchmarks/detection.md).
pub(crate) const MARKER_WEIGHT: f64 = 2.0;

/// Endings match words at least this many letters longer than the ending.
const MIN_STEM_LETTERS: usize = 2;

/// Every marker group, parsed once per process.
pub(crate) struct Markers {
    groups: Vec<MarkerGroup>,
}

/// One group of close languages and the words (and word endings) only some of them write.
pub(crate) struct MarkerGroup {
    /// Glossa codes; bit `i` of a marker's mask is `langs[i]`.
    pub(crate) langs: Vec<&'static str>,
    words: HashMap<&'static str, u8>,
    /// Longest first, so a word matches its most specific ending.
    endings: Vec<(&'static str, u8)>,
}

impl Markers {
    /// The process-wide marker table (parsed on first use, microseconds).
    pub(crate) fn get() -> &'static Markers {
        static TABLE: OnceLock<Markers> = OnceLock::new();
        TABLE.get_or_init(|| match parse_markers(MARKERS) {
            Some(table) => table,
            None => {
                tracing::error!("the close-language marker table is unreadable; markers are off");
                Markers { groups: Vec::new() }
            }
        })
    }

    /// The marker group `lang` belongs to, if any.
    pub(crate) fn group_of(&self, lang: &str) -> Option<&MarkerGroup> {
        self.groups.iter().find(|g| g.langs.contains(&lang))
    }
}

impl MarkerGroup {
    /// Per language of the group (in `langs` order), how many of the text's words are markers
    /// that language does not write; `None` if the text holds no marker.
    pub(crate) fn misses(&self, text: &str) -> Option<Vec<u32>> {
        let mut misses = vec![0u32; self.langs.len()];
        let mut found = false;
        let mut count = |word: &str| {
            let mask = self.words.get(word).copied().or_else(|| {
                let letters = word.chars().count();
                self.endings
                    .iter()
                    .find(|(ending, _)| {
                        word.ends_with(ending)
                            && letters >= ending.chars().count() + MIN_STEM_LETTERS
                    })
                    .map(|(_, mask)| *mask)
            });
            if let Some(mask) = mask {
                found = true;
                for (i, miss) in misses.iter_mut().enumerate() {
                    if mask & (1 << i) == 0 {
                        *miss += 1;
                    }
                }
            }
        };
        for_each_word(text, &mut count);
        found.then_some(misses)
    }
}

/// Moves confidence between the members of a marker group by the marker words of the text:
/// each member loses `weight` nats per marker it does not write, and the group keeps its share
/// of the total. A member lingua left out (it has no model of Serbian in Latin script, so
/// Latin Serbian is always Bosnian or Croatian to it) enters at the best member's confidence
/// when it is `allowed` (configured; for a query, held by the index) and misses fewer of the
/// text's markers than every member present.
pub(crate) fn reweigh_markers(
    values: &mut Vec<(&'static str, f64)>,
    text: &str,
    allowed: &dyn Fn(&str) -> bool,
    weight: f64,
) {
    let Some(&(best, _)) = values.first() else {
        return;
    };
    let Some(group) = Markers::get().group_of(best) else {
        return;
    };
    let Some(misses) = group.misses(text) else {
        return;
    };
    let mut members: Vec<(usize, usize)> = values
        .iter()
        .enumerate()
        .filter_map(|(i, (code, _))| Some((i, group.langs.iter().position(|l| l == code)?)))
        .collect();
    let mass: f64 = members.iter().map(|(i, _)| values[*i].1).sum();
    let fewest = members.iter().map(|(_, g)| misses[*g]).min().unwrap_or(0);
    let leader = values[0].1;
    for (g, lang) in group.langs.iter().enumerate() {
        let present = members.iter().any(|(_, m)| *m == g);
        if !present && misses[g] < fewest && allowed(lang) {
            values.push((lang, leader));
            members.push((values.len() - 1, g));
        }
    }
    if members.len() < 2 || mass <= 0.0 {
        return;
    }
    let scores: Vec<f64> = members
        .iter()
        .map(|(i, g)| values[*i].1.max(CONFIDENCE_FLOOR).ln() - weight * f64::from(misses[*g]))
        .collect();
    let top = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let total: f64 = scores.iter().map(|s| (s - top).exp()).sum();
    for ((i, _), score) in members.iter().zip(&scores) {
        values[*i].1 = mass * (score - top).exp() / total;
    }
    values.sort_by(|a, b| b.1.total_cmp(&a.1));
}

/// Calls `each` with every word of `text` (letters only, lowercased), at most [`MAX_WORDS`].
fn for_each_word(text: &str, each: &mut dyn FnMut(&str)) {
    let mut word = String::new();
    let mut seen = 0usize;
    for c in text.chars() {
        if c.is_alphabetic() {
            word.extend(c.to_lowercase());
        } else if !word.is_empty() {
            each(&word);
            word.clear();
            seen += 1;
            if seen >= MAX_WORDS {
                return;
            }
        }
    }
    if !word.is_empty() {
        each(&word);
    }
}

/// Reads the marker table: "#group a b" lines, then "word lang..." or "-ending lang..." lines;
/// other lines starting with "#" and empty lines are comments.
fn parse_markers(text: &'static str) -> Option<Markers> {
    let mut groups: Vec<MarkerGroup> = Vec::new();
    for line in text.lines().map(str::trim) {
        if let Some(header) = line.strip_prefix("#group ") {
            let langs = group_langs(header)?;
            groups.push(MarkerGroup {
                langs,
                words: HashMap::new(),
                endings: Vec::new(),
            });
            continue;
        }
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let group = groups.last_mut()?;
        let mut fields = line.split(' ');
        let word = fields.next()?;
        let mut mask = 0u8;
        for code in fields {
            mask |= 1 << group.langs.iter().position(|l| *l == code)?;
        }
        match word.strip_prefix('-') {
            Some(ending) => group.endings.push((ending, mask)),
            None => {
                group.words.insert(word, mask);
            }
        }
    }
    for group in &mut groups {
        group
            .endings
            .sort_by_key(|(ending, _)| std::cmp::Reverse(ending.len()));
    }
    Some(Markers { groups })
}

/// The languages of a "#group a b" header, as Glossa codes; `None` if one is not a lingua code.
fn group_langs(header: &str) -> Option<Vec<&'static str>> {
    header
        .split(' ')
        .map(|code| {
            super::tables::LINGUA_CODES
                .iter()
                .find(|c| **c == code)
                .copied()
        })
        .collect()
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
            let langs = group_langs(header)?;
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

    #[test]
    fn markers_count_the_words_each_close_language_does_not_write() {
        let markers = Markers::get();
        let norwegian = markers.group_of("nn").expect("nb/nn group");
        assert_eq!(norwegian.langs, vec!["nb", "nn"]);
        // "ikkje", "eg", "kva" are Nynorsk only: Bokmål misses three.
        assert_eq!(
            norwegian.misses("Eg veit ikkje kva han meiner"),
            Some(vec![4, 0])
        );
        assert_eq!(
            norwegian.misses("Jeg vet ikke hva han mener"),
            Some(vec![0, 4])
        );
        // Endings: "-lig" on a long enough word only.
        assert_eq!(norwegian.misses("vanlig"), Some(vec![0, 1]));
        assert_eq!(norwegian.misses("vanleg"), Some(vec![1, 0]));
        assert_eq!(norwegian.misses("lig"), None);
        let serbo_croatian = markers.group_of("sr").expect("bs/hr/sr group");
        assert_eq!(serbo_croatian.langs, vec!["bs", "hr", "sr"]);
        // Ekavian "posle", "bezbednost" are Serbian; "tko", "tjedan" Croatian.
        assert_eq!(
            serbo_croatian.misses("Posle toga je bezbednost"),
            Some(vec![2, 2, 0])
        );
        assert_eq!(
            serbo_croatian.misses("Tko zna što će biti sljedeći tjedan"),
            Some(vec![2, 0, 3])
        );
        assert_eq!(serbo_croatian.misses("Dobar dan, kako ste"), None);
        assert!(markers.group_of("de").is_none());
    }

    #[test]
    fn markers_move_confidence_inside_the_group_and_let_latin_serbian_in() {
        let every = |_: &str| true;
        // lingua's call on a Bokmål sentence it gives to Nynorsk.
        let mut values = vec![("nn", 0.6), ("nb", 0.3), ("da", 0.1)];
        reweigh_markers(
            &mut values,
            "Jeg vet ikke hva det er",
            &every,
            MARKER_WEIGHT,
        );
        assert_eq!(values[0].0, "nb", "{values:?}");
        let group: f64 = values
            .iter()
            .filter(|(c, _)| *c != "da")
            .map(|(_, p)| p)
            .sum();
        assert!(
            (group - 0.9).abs() < 1e-9,
            "the group keeps its share: {values:?}"
        );
        // Serbian in Latin script, which lingua never answers: Serbian enters when its
        // markers favour it, and only when the detector may answer it.
        let latin_serbian = "Posle toga je rekao da je bezbednost dece važna";
        let mut values = vec![("bs", 0.6), ("hr", 0.35), ("sl", 0.05)];
        reweigh_markers(&mut values, latin_serbian, &every, MARKER_WEIGHT);
        assert_eq!(values[0].0, "sr", "{values:?}");
        let mut values = vec![("bs", 0.6), ("hr", 0.35), ("sl", 0.05)];
        reweigh_markers(&mut values, latin_serbian, &|c| c != "sr", MARKER_WEIGHT);
        assert!(values.iter().all(|(c, _)| *c != "sr"), "{values:?}");
        // No marker, or a best candidate outside every group: untouched.
        let mut values = vec![("bs", 0.6), ("hr", 0.4)];
        reweigh_markers(&mut values, "Dobar dan", &every, MARKER_WEIGHT);
        assert_eq!(values, vec![("bs", 0.6), ("hr", 0.4)]);
        let mut other = vec![("de", 0.5), ("nl", 0.5)];
        reweigh_markers(&mut other, "ikkje eg kva", &every, MARKER_WEIGHT);
        assert_eq!(other, vec![("de", 0.5), ("nl", 0.5)]);
    }
}
