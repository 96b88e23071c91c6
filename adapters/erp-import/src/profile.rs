//! Column-mapping profiles: how one ERP's export names what an import reads, so a housing company
//! imports its export as it comes (headers like `Vertragsnummer` or `Offener Betrag`, stage codes of
//! its own, its own spelling of yes and no) without editing the file. A profile is a TOML file:
//!
//! ```toml
//! [columns]                       # header in the export = column of the import
//! "Vertragsnummer" = "mietverhaeltnis_ref"
//! "Offener Betrag" = "rueckstand_gesamt"
//!
//! [values.stufe]                  # a value in that column = the value the import reads
//! "MA1" = "Mahnung"
//!
//! [values.einwilligung]
//! "liegt vor" = "ja"
//! ```
//!
//! It is checked as a whole before any row is read or sent: every target must be a column of the
//! import, no two headers may name the same column, and every value target must be one the column
//! accepts.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::csv::Column;

/// A checked profile; headers and values are matched without regard to case or surrounding space.
#[derive(Debug, Clone, Default)]
pub struct Profile {
    columns: BTreeMap<String, &'static str>,
    values: BTreeMap<&'static str, BTreeMap<String, String>>,
}

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    columns: BTreeMap<String, String>,
    #[serde(default)]
    values: BTreeMap<String, BTreeMap<String, String>>,
}

fn key(text: &str) -> String {
    text.trim().to_lowercase()
}

impl Profile {
    /// Reads and checks the profile at `path` against the import's `columns`; `accepts` says whether
    /// a column takes a value (its error in words otherwise).
    pub fn load(
        path: &Path,
        columns: &[Column],
        accepts: impl Fn(&str, &str) -> Result<(), String>,
    ) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read the profile: {e}"))?;
        Self::parse(&text, columns, accepts)
    }

    /// Parses and checks a profile's text (see [`Profile::load`]).
    pub fn parse(
        text: &str,
        columns: &[Column],
        accepts: impl Fn(&str, &str) -> Result<(), String>,
    ) -> Result<Self, String> {
        let file: File = toml::from_str(text).map_err(|e| format!("the profile is not valid: {}", e.message()))?;
        let column = |name: &str, place: &str| {
            columns.iter().map(|c| c.name).find(|c| *c == key(name)).ok_or_else(|| {
                let valid: Vec<&str> = columns.iter().map(|c| c.name).collect();
                format!("{place}: '{name}' is not a column of this import; valid columns: {}", valid.join(";"))
            })
        };
        let mut profile = Profile::default();
        let mut named: BTreeMap<&'static str, String> = BTreeMap::new();
        for (header, target) in &file.columns {
            let target = column(target, &format!("[columns] \"{header}\""))?;
            if let Some(other) = named.insert(target, header.clone()) {
                return Err(format!("[columns]: \"{other}\" and \"{header}\" both name the column '{target}'"));
            }
            if profile.columns.insert(key(header), target).is_some() {
                return Err(format!("[columns]: the header \"{header}\" is listed twice"));
            }
        }
        for (name, map) in &file.values {
            let target = column(name, &format!("[values.{name}]"))?;
            let mut values = BTreeMap::new();
            for (from, to) in map {
                accepts(target, to).map_err(|reason| format!("[values.{name}] \"{from}\" = \"{to}\": {reason}"))?;
                values.insert(key(from), to.clone());
            }
            profile.values.insert(target, values);
        }
        Ok(profile)
    }

    /// The import's column a header of the export stands for, when the profile renames it.
    pub fn column(&self, header: &str) -> Option<&'static str> {
        self.columns.get(&key(header)).copied()
    }

    /// The value the import reads for `value` in `column`, when the profile maps it.
    pub fn value(&self, column: &str, value: &str) -> Option<&str> {
        self.values.get(column)?.get(&key(value)).map(String::as_str)
    }

    /// Whether the profile maps any value of `column`.
    pub fn maps_values_of(&self, column: &str) -> bool {
        self.values.contains_key(column)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLUMNS: &[Column] = &[Column { name: "ref", required: true }, Column { name: "stufe", required: true }];

    fn accepts(column: &str, value: &str) -> Result<(), String> {
        if column == "stufe" && value != "Mahnung" { Err(format!("'{value}' is not a stage")) } else { Ok(()) }
    }

    #[test]
    fn a_profile_renames_headers_and_maps_values() {
        let p = Profile::parse(
            "[columns]\n\"Vertragsnummer\" = \"ref\"\n[values.stufe]\n\"MA1\" = \"Mahnung\"\n",
            COLUMNS,
            accepts,
        )
        .expect("valid");
        assert_eq!(p.column(" vertragsnummer "), Some("ref"));
        assert_eq!(p.column("Stufe"), None);
        assert_eq!(p.value("stufe", "ma1"), Some("Mahnung"));
        assert!(p.maps_values_of("stufe") && !p.maps_values_of("ref"));
    }

    #[test]
    fn a_profile_is_checked_as_a_whole() {
        let bad = |text: &str| Profile::parse(text, COLUMNS, accepts).expect_err(text);
        assert!(bad("[columns]\n\"X\" = \"farbe\"\n").contains("'farbe' is not a column"));
        assert!(bad("[columns]\n\"A\" = \"ref\"\n\"B\" = \"ref\"\n").contains("both name the column 'ref'"));
        assert!(bad("[values.stufe]\n\"MA9\" = \"Mahnstufe 9\"\n").contains("is not a stage"));
        assert!(bad("[spalten]\n").contains("not valid"));
    }
}
