//! Language-detection benchmark: Glossa's `Detector` against plain lingua (high accuracy, all
//! languages) on the same texts, same thread, same run.
//!
//! `cargo bench --bench detect`. Environment:
//! - `GLOSSA_BENCH_LONG`, `GLOSSA_BENCH_SHORT`: ndjson files (`{"lang":"de","text":"..."}` per
//!   line); default `benches/data/langid-long.ndjson` and `benches/data/langid-short.ndjson`.
//! - `GLOSSA_BENCH_LIMIT`: keep at most this many texts per set (evenly spaced, so every
//!   language stays represented), for a quick run.
//! - `GLOSSA_BENCH_VARIANTS=1`: also time the design alternatives (the previous lingua-scoring
//!   pipeline, whatlang narrowing, other sample sizes, rescoring choices, whole-text scoring,
//!   lingua's low-accuracy mode) that the docs compare.
//! - `GLOSSA_BENCH_ERRORS=1`: print the confusions (label -> answer) of each detector.
//! - `GLOSSA_BENCH_QUERIES`: search queries with their language (`lang<TAB>target<TAB>text`,
//!   the relevance suite's `queries.tsv`); default the committed slice
//!   `tests/fixtures/relevance/queries.tsv`. Queries are detected without and with the
//!   index's language prior (`Detector::detect_query`), the prior being the suite's own
//!   distribution (one document per query).
//!
//! - `GLOSSA_BENCH_CLOSE`: the close-language set (ndjson with `lang`, `text`, `source`);
//!   default `benches/data/langid-close.ndjson` (scripts/make-close-set.py: UDHR paragraphs,
//!   held out, and lingua's test sentences). Reported per source and per close cluster, with
//!   the errors inside each cluster, for lingua and for Glossa with and without the word
//!   evidence of `detect/words.rs` (frequencies and marker words); every set also has a
//!   "no markers" row, the same-run baseline of the marker words; with
//!   `GLOSSA_BENCH_VARIANTS=1`, other marker weights.
//!
//! Accuracy counts "und" (or lingua's `None`) as wrong. Only texts whose label is a lingua
//! language are compared (the others are counted as skipped); long documents under 300 bytes
//! are skipped too, since the target is stated for documents of 300 bytes or more.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::time::Instant;

use glossa::detect::{Detector, DetectorConfig, Tuning};
use lingua::{Language, LanguageDetector, LanguageDetectorBuilder};
use rayon::prelude::*;

struct Sample {
    lang: String,
    text: String,
}

struct Row {
    name: String,
    docs: usize,
    correct: usize,
    /// Wall-clock seconds.
    secs: f64,
    /// On-CPU seconds of the timing thread (`None` for the multi-thread line); the speed ratio
    /// uses it when available, because wall time on a shared machine depends on the neighbours.
    cpu: Option<f64>,
}

impl Row {
    fn accuracy(&self) -> f64 {
        100.0 * self.correct as f64 / self.docs.max(1) as f64
    }
    fn rate(&self) -> f64 {
        self.docs as f64 / self.secs.max(1e-9)
    }
    fn cpu_rate(&self) -> Option<f64> {
        self.cpu.map(|c| self.docs as f64 / c.max(1e-9))
    }
}

/// On-CPU time of the calling thread in seconds (Linux schedstat; `None` elsewhere).
fn thread_cpu() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = s.split_whitespace().next()?.parse().ok()?;
    Some(ns as f64 / 1e9)
}

/// A detector with `tuning`, or exit with its error.
fn tuned(tuning: Tuning) -> Detector {
    Detector::with_tuning(&DetectorConfig::default(), tuning).unwrap_or_else(|e| {
        eprintln!("detector: {e}");
        std::process::exit(2);
    })
}

fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

fn load(path: &PathBuf, limit: Option<usize>, min_bytes: usize) -> (Vec<Sample>, usize, usize) {
    let lingua_codes: HashSet<String> = Language::all()
        .iter()
        .map(|l| l.iso_code_639_1().to_string())
        .collect();
    let content = match std::fs::read_to_string(path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cannot read {}: {e}", path.display());
            std::process::exit(2);
        }
    };
    let mut out = Vec::new();
    let (mut unsupported, mut too_short) = (0, 0);
    for (n, line) in content.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => {
                eprintln!("{}:{}: bad json: {e}", path.display(), n + 1);
                continue;
            }
        };
        let (Some(lang), Some(text)) = (v["lang"].as_str(), v["text"].as_str()) else {
            eprintln!("{}:{}: missing lang/text", path.display(), n + 1);
            continue;
        };
        if !lingua_codes.contains(lang) {
            unsupported += 1;
            continue;
        }
        if text.len() < min_bytes {
            too_short += 1;
            continue;
        }
        out.push(Sample {
            lang: lang.to_string(),
            text: text.to_string(),
        });
    }
    if let Some(limit) = limit {
        if out.len() > limit {
            let step = out.len() as f64 / limit as f64;
            out = (0..limit)
                .filter_map(|i| out.get((i as f64 * step) as usize))
                .map(|s| Sample {
                    lang: s.lang.clone(),
                    text: s.text.clone(),
                })
                .collect();
        }
    }
    (out, unsupported, too_short)
}

/// Times `f` over all samples after a warm-up pass over a prefix; returns the row and errors.
fn run<F: Fn(&str) -> String>(
    name: &str,
    samples: &[Sample],
    f: F,
) -> (Row, BTreeMap<(String, String), usize>) {
    for s in samples.iter().take(200) {
        std::hint::black_box(f(&s.text));
    }
    let cpu0 = thread_cpu();
    let start = Instant::now();
    let answers: Vec<String> = samples.iter().map(|s| f(&s.text)).collect();
    let secs = start.elapsed().as_secs_f64();
    let cpu = thread_cpu().zip(cpu0).map(|(b, a)| b - a);
    let mut errors = BTreeMap::new();
    let mut correct = 0;
    for (s, a) in samples.iter().zip(&answers) {
        if *a == s.lang {
            correct += 1;
        } else {
            *errors.entry((s.lang.clone(), a.clone())).or_insert(0) += 1;
        }
    }
    (
        Row {
            name: name.to_string(),
            docs: samples.len(),
            correct,
            secs,
            cpu,
        },
        errors,
    )
}

fn lingua_answer(d: &LanguageDetector, text: &str) -> String {
    d.detect_language_of(text)
        .map(|l| l.iso_code_639_1().to_string())
        .unwrap_or_else(|| "und".to_string())
}

fn print_table(title: &str, rows: &[Row], skipped: &str) {
    println!("\n## {title}  ({skipped})\n");
    println!(
        "| {:<44} | {:>6} | {:>10} | {:>11} | {:>11} | {:>7} | {:>9} |",
        "detector", "docs", "accuracy %", "docs/s wall", "docs/s cpu", "speed x", "acc delta"
    );
    println!(
        "|{:-<46}|{:->8}|{:->12}|{:->13}|{:->13}|{:->9}|{:->11}|",
        "", "", "", "", "", "", ""
    );
    let base = &rows[0];
    for r in rows {
        // CPU-time ratio when both sides have it; wall-clock ratio for the multi-thread line.
        let ratio = match (r.cpu_rate(), base.cpu_rate()) {
            (Some(a), Some(b)) => a / b,
            _ => r.rate() / base.rate(),
        };
        println!(
            "| {:<44} | {:>6} | {:>10.2} | {:>11.0} | {:>11} | {:>7.1} | {:>+9.2} |",
            r.name,
            r.docs,
            r.accuracy(),
            r.rate(),
            r.cpu_rate().map_or("-".to_string(), |c| format!("{c:.0}")),
            ratio,
            r.accuracy() - base.accuracy()
        );
    }
}

fn print_errors(name: &str, errors: &BTreeMap<(String, String), usize>) {
    let mut v: Vec<_> = errors.iter().collect();
    v.sort_by(|a, b| b.1.cmp(a.1));
    let list: Vec<String> = v
        .iter()
        .take(40)
        .map(|((l, a), n)| format!("{l}->{a}:{n}"))
        .collect();
    println!("  errors {name}: {}", list.join(" "));
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let long_path = std::env::var("GLOSSA_BENCH_LONG")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("benches/data/langid-long.ndjson"));
    let short_path = std::env::var("GLOSSA_BENCH_SHORT")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("benches/data/langid-short.ndjson"));
    let limit = std::env::var("GLOSSA_BENCH_LIMIT")
        .ok()
        .and_then(|v| v.parse::<usize>().ok());
    let variants = env_flag("GLOSSA_BENCH_VARIANTS");
    let show_errors = env_flag("GLOSSA_BENCH_ERRORS");

    let t = Instant::now();
    let lingua = LanguageDetectorBuilder::from_all_languages()
        .with_preloaded_language_models()
        .build();
    let glossa = Detector::new(&DetectorConfig::default()).unwrap_or_else(|e| {
        eprintln!("detector: {e}");
        std::process::exit(2);
    });
    println!(
        "models loaded in {:.1}s; {} rayon threads; limit {:?}",
        t.elapsed().as_secs_f64(),
        rayon::current_num_threads(),
        limit
    );
    let no_shortlist = tuned(Tuning {
        shortlist: 0,
        ..Tuning::default()
    });
    // The same-run baseline of the marker words (`detect/words.rs`).
    let no_markers = tuned(Tuning {
        marker_weight: 0.0,
        ..Tuning::default()
    });
    let mut alt: Vec<(String, Detector)> = Vec::new();
    if variants {
        let base = Tuning::default();
        let mk = |name: &str, t: Tuning| {
            (
                name.to_string(),
                Detector::with_tuning(&DetectorConfig::default(), t).unwrap_or_else(|e| {
                    eprintln!("detector: {e}");
                    std::process::exit(2);
                }),
            )
        };
        let variants: Vec<(String, Tuning)> = vec![
            (
                "variant: previous (lingua scoring)".into(),
                Tuning {
                    fast_scorer: false,
                    narrow: true,
                    ..base.clone()
                },
            ),
            (
                "variant: fast + whatlang narrowing".into(),
                Tuning {
                    narrow: true,
                    ..base.clone()
                },
            ),
            (
                "variant: fast, rescore with lingua".into(),
                Tuning {
                    rescore_lingua: true,
                    ..base.clone()
                },
            ),
            (
                "variant: fast, no rescoring".into(),
                Tuning {
                    rescore_chars: 0,
                    ..base.clone()
                },
            ),
            (
                "variant: fast, whole text".into(),
                Tuning {
                    sample_chars: usize::MAX / 2,
                    ..base.clone()
                },
            ),
        ];
        for (name, t) in variants {
            alt.push(mk(&name, t));
        }
        for n in [150, 200, 300, 600, 1000] {
            alt.push(mk(
                &format!("variant: fast, sample {n} (rescore {})", n * 5 / 2),
                Tuning {
                    sample_chars: n,
                    rescore_chars: n * 5 / 2,
                    ..base.clone()
                },
            ));
        }
    }

    // Long documents.
    let (long, unsupported, short_docs) = load(&long_path, limit, 300);
    let bytes: usize = long.iter().map(|s| s.text.len()).sum();
    let mut rows = Vec::new();
    let mut errs = Vec::new();
    let (r, e) = run("lingua high accuracy, all languages", &long, |t| {
        lingua_answer(&lingua, t)
    });
    rows.push(r);
    errs.push(("lingua".to_string(), e));
    if variants {
        // Reference for the "low accuracy mode" idea: on 120+ characters lingua's high-accuracy
        // mode already scores trigrams only, so this should cost about the same.
        let low = LanguageDetectorBuilder::from_all_languages()
            .with_low_accuracy_mode()
            .with_preloaded_language_models()
            .build();
        let (r, _) = run("variant: lingua low accuracy, all languages", &long, |t| {
            lingua_answer(&low, t)
        });
        rows.push(r);
    }
    let (r, e) = run("glossa detect()", &long, |t| {
        glossa.detect(t).lang.to_string()
    });
    rows.push(r);
    errs.push(("glossa detect".to_string(), e));
    let (r, _) = run("glossa detect_accurate()", &long, |t| {
        glossa.detect_accurate(t).lang.to_string()
    });
    rows.push(r);
    let (r, e) = run("glossa detect(), no markers", &long, |t| {
        no_markers.detect(t).lang.to_string()
    });
    rows.push(r);
    errs.push(("glossa detect, no markers".to_string(), e));
    for (name, d) in &alt {
        let (r, e) = run(name, &long, |t| d.detect(t).lang.to_string());
        rows.push(r);
        errs.push((name.clone(), e));
    }
    // Multi-thread: rayon over all cores.
    let start = Instant::now();
    let correct = long
        .par_iter()
        .filter(|s| glossa.detect(&s.text).lang == s.lang)
        .count();
    rows.push(Row {
        name: format!("glossa detect(), rayon x{}", rayon::current_num_threads()),
        docs: long.len(),
        correct,
        secs: start.elapsed().as_secs_f64(),
        cpu: None,
    });
    print_table(
        &format!(
            "Documents >= 300 bytes: {} (avg {} bytes)",
            long_path.display(),
            bytes / long.len().max(1)
        ),
        &rows,
        &format!("skipped: {unsupported} label not in lingua, {short_docs} under 300 bytes"),
    );
    if show_errors {
        for (n, e) in &errs {
            print_errors(n, e);
        }
    }

    // Short texts.
    let (short, unsupported, _) = load(&short_path, limit, 0);
    let mut rows = Vec::new();
    let mut errs = Vec::new();
    let (r, e) = run("lingua high accuracy, all languages", &short, |t| {
        lingua_answer(&lingua, t)
    });
    rows.push(r);
    errs.push(("lingua".to_string(), e));
    let (r, e) = run("glossa detect_accurate()", &short, |t| {
        glossa.detect_accurate(t).lang.to_string()
    });
    rows.push(r);
    errs.push(("glossa detect_accurate".to_string(), e));
    let (r, e) = run("glossa detect()", &short, |t| {
        glossa.detect(t).lang.to_string()
    });
    rows.push(r);
    errs.push(("glossa detect".to_string(), e));
    let (r, e) = run("glossa detect_accurate(), no markers", &short, |t| {
        no_markers.detect_accurate(t).lang.to_string()
    });
    rows.push(r);
    errs.push(("glossa detect_accurate, no markers".to_string(), e));
    // The same-run baseline of the shortlist: lingua over every language on the same path.
    let (r, e) = run(
        "glossa detect_accurate(), no shortlist (lingua over all)",
        &short,
        |t| no_shortlist.detect_accurate(t).lang.to_string(),
    );
    rows.push(r);
    errs.push(("glossa detect_accurate, no shortlist".to_string(), e));
    if variants {
        for (n, min) in [(4, 40), (6, 40), (12, 40), (8, 20), (8, 0)] {
            let d = tuned(Tuning {
                shortlist: n,
                shortlist_min_letters: min,
                ..Tuning::default()
            });
            let name = format!("variant: detect_accurate(), shortlist {n} from {min} letters");
            let (r, e) = run(&name, &short, |t| d.detect_accurate(t).lang.to_string());
            rows.push(r);
            errs.push((name, e));
        }
    }
    // What a stream's learned prior does: the set's own distribution, as the stream's long
    // documents would have taught it.
    if let Some(prior) = glossa.stream_prior(&distribution(&short)) {
        let (r, e) = run("glossa detect(), the set's prior", &short, |t| {
            glossa.detect_with_prior(t, Some(&prior)).lang.to_string()
        });
        rows.push(r);
        errs.push(("glossa detect with prior".to_string(), e));
    }
    let start = Instant::now();
    let correct = short
        .par_iter()
        .filter(|s| glossa.detect_accurate(&s.text).lang == s.lang)
        .count();
    rows.push(Row {
        name: format!(
            "glossa detect_accurate(), rayon x{}",
            rayon::current_num_threads()
        ),
        docs: short.len(),
        correct,
        secs: start.elapsed().as_secs_f64(),
        cpu: None,
    });
    print_table(
        &format!("Short texts: {}", short_path.display()),
        &rows,
        &format!("skipped: {unsupported} label not in lingua"),
    );
    if show_errors {
        for (n, e) in &errs {
            print_errors(n, e);
        }
    }
    let without_words = tuned(Tuning {
        close_words: false,
        marker_weight: 0.0,
        ..Tuning::default()
    });
    queries(&lingua, &glossa, &without_words, &root, show_errors);
    close(
        &lingua,
        &glossa,
        &without_words,
        &no_shortlist,
        &no_markers,
        &root,
    );
}

/// The close clusters the close-language set is reported by.
const CLUSTERS: [&[&str]; 5] = [
    &["id", "ms"],
    &["bs", "hr", "sr", "sl"],
    &["nb", "nn", "da"],
    &["cs", "sk"],
    &["es", "ca", "pt"],
];

/// Close languages: lingua, and Glossa's short-text and document paths with and without the
/// word evidence, per source (UDHR, held out; lingua's sentences, tuned on) and per cluster:
/// accuracy, and the errors that stay inside the cluster (the confusions the words address).
fn close(
    lingua: &LanguageDetector,
    glossa: &Detector,
    without_words: &Detector,
    no_shortlist: &Detector,
    no_markers: &Detector,
    root: &std::path::Path,
) {
    let path = std::env::var("GLOSSA_BENCH_CLOSE")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("benches/data/langid-close.ndjson"));
    let content = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        eprintln!("cannot read {}: {e}", path.display());
        std::process::exit(2);
    });
    let mut sources: BTreeMap<String, Vec<Sample>> = BTreeMap::new();
    for line in content.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let (Some(lang), Some(text), Some(source)) =
            (v["lang"].as_str(), v["text"].as_str(), v["source"].as_str())
        else {
            continue;
        };
        let kind = source.split(':').next().unwrap_or(source).to_string();
        sources.entry(kind).or_default().push(Sample {
            lang: lang.to_string(),
            text: text.to_string(),
        });
    }
    let weights: &[f64] = if env_flag("GLOSSA_BENCH_VARIANTS") {
        &[1.0, 3.0, 4.0]
    } else {
        &[]
    };
    let reweighted: Vec<(String, Detector)> = weights
        .iter()
        .map(|&w| {
            let tuning = Tuning {
                marker_weight: w,
                ..Tuning::default()
            };
            (
                format!("variant: detect_accurate(), marker weight {w}"),
                tuned(tuning),
            )
        })
        .collect();
    for (kind, samples) in &sources {
        let mut runs = vec![
            run("lingua high accuracy, all languages", samples, |t| {
                lingua_answer(lingua, t)
            }),
            run("glossa detect_accurate(), no word evidence", samples, |t| {
                without_words.detect_accurate(t).lang.to_string()
            }),
            run("glossa detect_accurate()", samples, |t| {
                glossa.detect_accurate(t).lang.to_string()
            }),
            run("glossa detect_accurate(), no shortlist", samples, |t| {
                no_shortlist.detect_accurate(t).lang.to_string()
            }),
            run("glossa detect(), no word evidence", samples, |t| {
                without_words.detect(t).lang.to_string()
            }),
            run("glossa detect()", samples, |t| {
                glossa.detect(t).lang.to_string()
            }),
            run("glossa detect_accurate(), no markers", samples, |t| {
                no_markers.detect_accurate(t).lang.to_string()
            }),
            run("glossa detect(), no markers", samples, |t| {
                no_markers.detect(t).lang.to_string()
            }),
        ];
        for (name, d) in &reweighted {
            runs.push(run(name, samples, |t| {
                d.detect_accurate(t).lang.to_string()
            }));
        }
        let rows = rows_of(&runs);
        print_table(
            &format!("Close languages, {kind}: {}", path.display()),
            &rows,
            "errors inside each cluster below",
        );
        let names: Vec<&str> = runs.iter().map(|(r, _)| r.name.as_str()).collect();
        println!(
            "\nErrors inside the cluster (label and answer both in it), per detector above:\n"
        );
        println!("| cluster | texts | {} |", names.join(" | "));
        println!("|---|---:|{}", "---:|".repeat(names.len()));
        for cluster in CLUSTERS {
            let texts = samples
                .iter()
                .filter(|s| cluster.contains(&s.lang.as_str()))
                .count();
            let inside = |errors: &BTreeMap<(String, String), usize>| -> usize {
                errors
                    .iter()
                    .filter(|((l, a), _)| {
                        cluster.contains(&l.as_str()) && cluster.contains(&a.as_str())
                    })
                    .map(|(_, n)| *n)
                    .sum()
            };
            let counts: Vec<String> = runs.iter().map(|(_, e)| inside(e).to_string()).collect();
            println!(
                "| {} | {texts} | {} |",
                cluster.join("/"),
                counts.join(" | ")
            );
        }
        for (r, e) in [&runs[0], &runs[2], &runs[5]] {
            let inside: BTreeMap<(String, String), usize> = e
                .iter()
                .filter(|((l, a), _)| {
                    CLUSTERS
                        .iter()
                        .any(|c| c.contains(&l.as_str()) && c.contains(&a.as_str()))
                })
                .map(|(k, n)| (k.clone(), *n))
                .collect();
            print_errors(&format!("{} (inside clusters)", r.name), &inside);
        }
    }
}

/// (label, answer) -> texts, for the wrong answers of one detector.
type Confusions = BTreeMap<(String, String), usize>;

/// The table rows of `run` results (the errors stay with the runs).
fn rows_of(runs: &[(Row, Confusions)]) -> Vec<Row> {
    runs.iter()
        .map(|(r, _)| Row {
            name: r.name.clone(),
            ..*r
        })
        .collect()
}

/// Texts per language label: a set's own distribution, as a prior.
fn distribution(samples: &[Sample]) -> Vec<(String, u64)> {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for s in samples {
        *counts.entry(s.lang.clone()).or_insert(0) += 1;
    }
    counts.into_iter().collect()
}

/// Search queries: lingua, the accurate path, and the accurate path weighed by the index's
/// languages (what the search API does), overall and per language.
fn queries(
    lingua: &LanguageDetector,
    glossa: &Detector,
    without_words: &Detector,
    root: &std::path::Path,
    show_errors: bool,
) {
    let path = std::env::var("GLOSSA_BENCH_QUERIES")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("tests/fixtures/relevance/queries.tsv"));
    let content = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        eprintln!("cannot read {}: {e}", path.display());
        std::process::exit(2);
    });
    let samples: Vec<Sample> = content
        .lines()
        .filter_map(|line| {
            let mut fields = line.splitn(3, '\t');
            let lang = fields.next()?.to_string();
            let _target = fields.next()?;
            Some(Sample {
                lang,
                text: fields.next()?.to_string(),
            })
        })
        .collect();
    let counts = distribution(&samples);
    let (Some(prior), Some(prior_without_words)) = (
        glossa.corpus_prior(&counts),
        without_words.corpus_prior(&counts),
    ) else {
        eprintln!("{}: too few queries for a prior", path.display());
        return;
    };
    let runs = [
        run("lingua high accuracy, all languages", &samples, |t| {
            lingua_answer(lingua, t)
        }),
        run("glossa detect_accurate()", &samples, |t| {
            glossa.detect_accurate(t).lang.to_string()
        }),
        run(
            "glossa detect_accurate_with_prior(), no word evidence",
            &samples,
            |t| {
                without_words
                    .detect_accurate_with_prior(t, Some(&prior_without_words))
                    .lang
                    .to_string()
            },
        ),
        run(
            "glossa detect_accurate_with_prior(), index prior",
            &samples,
            |t| {
                glossa
                    .detect_accurate_with_prior(t, Some(&prior))
                    .lang
                    .to_string()
            },
        ),
    ];
    let rows = rows_of(&runs);
    print_table(
        &format!("Search queries: {}", path.display()),
        &rows,
        &format!(
            "prior: {} languages, as many documents as queries",
            counts.len()
        ),
    );
    println!(
        "\n| lang | queries | lingua % | accurate % | prior, no words % | with prior % |\n|---|---:|---:|---:|---:|---:|"
    );
    for (lang, n) in &counts {
        let wrong = |i: usize| -> u64 {
            runs[i]
                .1
                .iter()
                .filter(|((label, _), _)| label == lang)
                .map(|(_, k)| *k as u64)
                .sum()
        };
        let pct = |i: usize| 100.0 * (*n - wrong(i)) as f64 / *n as f64;
        println!(
            "| {lang} | {n} | {:.1} | {:.1} | {:.1} | {:.1} |",
            pct(0),
            pct(1),
            pct(2),
            pct(3)
        );
    }
    if show_errors {
        for (r, e) in &runs {
            print_errors(&r.name, e);
        }
    }
}
