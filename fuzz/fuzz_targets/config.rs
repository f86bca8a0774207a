//! A configuration file: any TOML text must load or be refused, and `validate` must answer
//! Ok or a named invalid setting for anything that loads, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(config) = toml::from_str::<glossa::config::Config>(s) {
        let _ = config.validate();
    }
});
