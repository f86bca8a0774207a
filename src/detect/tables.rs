//! Static language tables: ISO codes, script-only languages, and the whatlang confusion sets
//! used to narrow lingua's candidates.

/// ISO 639-1 codes of the 75 lingua languages (lingua 1.8, all features). Kept as `&'static
/// str` so `Detection::lang` needs no allocation; a unit test checks it matches lingua.
pub(crate) const LINGUA_CODES: [&str; 75] = [
    "af", "ar", "az", "be", "bg", "bn", "bs", "ca", "cs", "cy", "da", "de", "el", "en", "eo", "es",
    "et", "eu", "fa", "fi", "fr", "ga", "gu", "he", "hi", "hr", "hu", "hy", "id", "is", "it", "ja",
    "ka", "kk", "ko", "la", "lg", "lt", "lv", "mi", "mk", "mn", "mr", "ms", "nb", "nl", "nn", "pa",
    "pl", "pt", "ro", "ru", "sk", "sl", "sn", "so", "sq", "sr", "st", "sv", "sw", "ta", "te", "th",
    "tl", "tn", "tr", "ts", "uk", "ur", "vi", "xh", "yo", "zh", "zu",
];

/// Languages lingua lacks that are identified by their script alone (Khmer, Lao, Burmese,
/// Amharic/Ethiopic, Sinhala, Malayalam, Kannada, Tibetan, Odia, Dhivehi/Thaana).
pub(crate) const SCRIPT_ONLY_CODES: [&str; 10] =
    ["km", "lo", "my", "am", "si", "ml", "kn", "bo", "or", "dv"];

/// For a whatlang answer (ISO 639-3) on a text of at least `NARROW_MIN_LETTERS` letters, the
/// lingua languages the true language was found among. Measured on 300/220/150-character
/// samples of a tuning corpus (confusions observed there, mostly languages whatlang does not
/// know, such as Welsh, Irish, Basque, Albanian, Yoruba, Sotho-Tswana), plus linguistic
/// neighbours (Scandinavian, BCMS, Czech/Slovak, Malay/Indonesian, Nguni/Sotho ...). A whatlang
/// answer not listed here (e.g. Javanese, Uzbek) falls back to the whole script group.
///
/// Used only by the `Tuning::narrow` variant (the previous design); the default fast path scores
/// the whole script group, which measured both faster and at least as accurate.
pub(crate) const NARROW: &[(&str, &[&str])] = &[
    ("afr", &["af", "cy", "eu", "ga", "is", "nl", "sq", "yo"]),
    ("aze", &["az", "tr"]),
    ("bel", &["be", "bg", "kk", "mn", "ru", "uk"]),
    ("bul", &["be", "bg", "kk", "mk", "mn", "ru", "sr", "uk"]),
    ("cat", &["ca", "cy", "es", "eu", "ga", "is", "pt", "yo"]),
    ("ces", &["cs", "is", "sk"]),
    ("dan", &["cy", "da", "is", "nb", "nn", "sv"]),
    ("deu", &["cy", "de", "ga"]),
    ("eng", &["cy", "en", "eu", "ga", "la", "nl", "sv", "yo"]),
    ("epo", &["eo", "eu"]),
    ("est", &["et", "fi", "so"]),
    ("fin", &["cy", "et", "fi"]),
    ("fra", &["ca", "cy", "eo", "fr", "ga", "pt", "sq"]),
    ("hrv", &["bs", "hr", "sl", "sq", "sr"]),
    ("hun", &["hu", "is"]),
    ("ind", &["cy", "eu", "id", "mi", "ms", "so", "st", "sw"]),
    (
        "ita",
        &["cy", "eu", "it", "mi", "ro", "sq", "st", "tn", "yo"],
    ),
    ("lat", &["cy", "eu", "la", "sr"]),
    ("lav", &["lt", "lv", "mi"]),
    ("lit", &["lt", "lv"]),
    ("mkd", &["bg", "mk", "ru", "sr"]),
    ("nld", &["af", "eu", "nl", "sq", "yo"]),
    ("nob", &["da", "is", "nb", "nn", "sv"]),
    ("pol", &["cs", "pl"]),
    (
        "por",
        &[
            "ca", "cy", "es", "eu", "ga", "hu", "is", "pt", "sq", "sw", "xh", "yo",
        ],
    ),
    ("ron", &["cy", "eu", "ro"]),
    ("rus", &["be", "bg", "kk", "mk", "mn", "ru", "sr", "uk"]),
    ("slk", &["cs", "sk"]),
    ("slv", &["bs", "cs", "hr", "sl", "sr"]),
    (
        "sna",
        &["eu", "lg", "mi", "sn", "st", "sw", "tn", "ts", "xh", "zu"],
    ),
    (
        "spa",
        &[
            "ca", "cy", "eo", "es", "eu", "ga", "is", "pt", "ro", "so", "sq", "tn",
        ],
    ),
    ("srp", &["bg", "bs", "hr", "mk", "ru", "sl", "sr"]),
    ("swe", &["cy", "da", "eu", "is", "nb", "nn", "sv"]),
    (
        "tgl",
        &[
            "eu", "ga", "is", "lg", "mi", "so", "st", "sw", "tl", "tn", "ts", "yo",
        ],
    ),
    ("tur", &["az", "eu", "so", "st", "tn", "tr"]),
    ("ukr", &["be", "bg", "kk", "mn", "ru", "uk"]),
    ("vie", &["vi", "yo"]),
    (
        "zul",
        &["lg", "mi", "sn", "st", "sw", "tn", "ts", "xh", "zu"],
    ),
];

/// Clusters of closely related languages that a few hundred characters often do not separate
/// (measured: most sampling errors on the benchmark corpus were inside these). When the fast
/// path answers one of them on a text longer than its sample, the cluster alone is rescored on
/// a larger sample: few languages, so the extra text is cheap.
pub(crate) const CLOSE: &[&[&str]] = &[
    &["id", "ms"],
    &["nb", "nn", "da"],
    &["hr", "bs", "sl", "sr"],
    &["cs", "sk"],
    &["uk", "kk", "ru", "be"],
];
