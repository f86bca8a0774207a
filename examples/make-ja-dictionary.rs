//! Compiles MeCab dictionary sources (lex.csv, matrix.def, char.def, unk.def in one folder) into
//! the zstd-compressed vibrato dictionary that `src/analysis/japanese.rs` embeds. Run through
//! `scripts/make-ja-dictionary.sh`, which prepares the sources from Debian's `mecab-ipadic`.

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use vibrato::SystemDictionaryBuilder;

fn main() -> Result<()> {
    let mut args = std::env::args_os().skip(1);
    let (Some(source), Some(out)) = (args.next(), args.next()) else {
        anyhow::bail!("usage: make-ja-dictionary SOURCE_DIR OUT_FILE");
    };
    let source = PathBuf::from(source);
    let open = |name: &str| -> Result<File> {
        let path: &Path = &source.join(name);
        File::open(path).with_context(|| format!("cannot open {}", path.display()))
    };
    let dictionary = SystemDictionaryBuilder::from_readers(
        open("lex.csv")?,
        open("matrix.def")?,
        open("char.def")?,
        open("unk.def")?,
    )
    .context("vibrato could not compile the dictionary")?;
    let mut compiled = Vec::new();
    dictionary.write(&mut compiled)?;
    let compressed = zstd::encode_all(compiled.as_slice(), 19)?;
    std::fs::write(&out, &compressed)
        .with_context(|| format!("cannot write {}", PathBuf::from(&out).display()))?;
    eprintln!(
        "make-ja-dictionary: {} bytes compiled, {} compressed",
        compiled.len(),
        compressed.len()
    );
    Ok(())
}
