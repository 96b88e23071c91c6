//! A message about a file or a cell, in both languages the readers need: English for hubctl's report
//! (partner IT, logs) and German for the portal's per-row report (rent accountants).

use std::fmt;

/// A message in English and German.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Msg {
    /// English.
    pub en: String,
    /// German.
    pub de: String,
}

impl Msg {
    /// A message in both languages.
    pub fn new(en: impl Into<String>, de: impl Into<String>) -> Self {
        Self { en: en.into(), de: de.into() }
    }

    /// Whether either language mentions `text` (for tests).
    pub fn contains(&self, text: &str) -> bool {
        self.en.contains(text) || self.de.contains(text)
    }
}

/// The English text: what hubctl prints, and what clap shows for a bad option value.
impl fmt::Display for Msg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.en)
    }
}

impl std::error::Error for Msg {}
