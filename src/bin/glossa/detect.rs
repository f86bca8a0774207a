//! `glossa detect`: the language of a text, with confidence values, and how it was decided.

use anyhow::{bail, Context, Result};
use glossa::config::Config;
use glossa::detect::{Detector, DetectorConfig};

pub(crate) fn detect(
    config: &Config,
    text: &str,
    fast: bool,
    explain: bool,
    prior: Option<&str>,
) -> Result<()> {
    let detector = Detector::new(&DetectorConfig::from_settings(&config.detect))?;
    if fast {
        return emit(&shown(&detector.detect(text)));
    }
    let prior = match prior {
        // As a search weighs a query against the index's languages.
        Some(list) => {
            let counts = parse_prior(list)?;
            if let Some((code, _)) = counts.iter().find(|(code, _)| !detector.supports(code)) {
                bail!("--prior names `{code}`, not a language the detector returns");
            }
            Some(detector.corpus_prior(&counts).with_context(|| {
                "the prior is too small: give at least 100 documents in all (e.g. en=700,de=300)"
            })?)
        }
        // As ingest weighs a short record against the configured distribution.
        None if !config.detect.prior.is_empty() => {
            let counts: Vec<(String, u64)> = config.detect.prior.clone().into_iter().collect();
            glossa::detect::configured_prior(&detector, &counts)
        }
        None => None,
    };
    if !explain {
        return emit(&shown(
            &detector.detect_accurate_with_prior(text, prior.as_ref()),
        ));
    }
    let why = detector.explain(text, prior.as_ref());
    let mut out = format!(
        "script {} ({} letters): {}\n",
        why.script.as_deref().unwrap_or("none"),
        why.letters,
        why.path
    );
    if !why.prior_languages.is_empty() {
        out += &format!("prior languages: {}\n", why.prior_languages.join(" "));
    }
    if !why.scores.is_empty() {
        out += "  lang\tlingua\tweight\tposterior\n";
        for s in &why.scores {
            out += &format!(
                "  {}\t{:.3}\t{:.3}\t{:.3}\n",
                s.lang, s.lingua, s.weight, s.posterior
            );
        }
    }
    if !why.word_evidence.is_empty() {
        out += "  words\tlog-likelihood\n";
        for w in &why.word_evidence {
            out += &format!("  {}\t{:.1}\n", w.lang, w.log_likelihood);
        }
    }
    if !why.marker_evidence.is_empty() {
        out += "  markers\tnot written\n";
        for m in &why.marker_evidence {
            out += &format!("  {}\t{}\n", m.lang, m.misses);
        }
    }
    out += &shown(&why.detection);
    emit(&out)
}

/// A detection as printed: the language, then each candidate's confidence.
fn shown(detection: &glossa::detect::Detection) -> String {
    let mut out = format!(
        "{} (confidence {:.3}, by {:?})\n",
        detection.lang, detection.confidence, detection.method
    );
    for (lang, confidence) in &detection.alternatives {
        out += &format!("  {lang}\t{confidence:.3}\n");
    }
    out
}

/// Writes `output` to stdout; a reader that stopped reading (`glossa detect ... | head -1`)
/// is not an error, where `println!` would panic.
fn emit(output: &str) -> Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(output.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        written => written.context("cannot write to stdout"),
    }
}

/// `en=700,de=300` as documents per language.
fn parse_prior(list: &str) -> Result<Vec<(String, u64)>> {
    list.split(',')
        .filter(|part| !part.trim().is_empty())
        .map(|part| {
            let (code, n) = part
                .split_once('=')
                .with_context(|| format!("--prior part `{part}` is not LANG=N"))?;
            let n = n
                .trim()
                .parse()
                .with_context(|| format!("--prior `{part}`: N must be a whole number"))?;
            Ok((code.trim().to_ascii_lowercase(), n))
        })
        .collect()
}
