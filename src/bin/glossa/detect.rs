//! `glossa detect`: the language of a text, with confidence values.

use anyhow::Result;
use glossa::config::Config;
use glossa::detect::{Detector, DetectorConfig};

pub(crate) fn detect(config: &Config, text: &str, fast: bool) -> Result<()> {
    let detector = Detector::new(&DetectorConfig::from_settings(&config.detect))?;
    let detection = if fast {
        detector.detect(text)
    } else {
        detector.detect_accurate(text)
    };
    println!(
        "{} (confidence {:.3}, by {:?})",
        detection.lang, detection.confidence, detection.method
    );
    for (lang, confidence) in &detection.alternatives {
        println!("  {lang}\t{confidence:.3}");
    }
    Ok(())
}
