//! Typed warnings of a [`crate::Deadline`], with an English ([`Warning::en`], also `Display`) and a German
//! ([`Warning::de`]) wording.
//!
//! The warnings carry the values they mention (dates, amounts) rather than finished text, so each language
//! formats them its own way: English with ISO dates (`2026-03-01`) and `1234.56 EUR`, German with `01.03.2026`
//! and `1.234,56 €`. The German text is for the Fachstelle's caseworkers (social workers, not lawyers).

use std::fmt;

use serde::{Deserialize, Serialize};
use time::Date;

/// Something the caseworker must check or tell the tenant about a deadline.
///
/// Stored and sent by serde as the variant name in `SCREAMING_SNAKE_CASE` (like [`crate::DeadlineKind`]) with
/// the fields alongside.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Warning {
    /// Ordinary notice without a known tenancy start: the period of a fresh tenancy (3 months) is assumed,
    /// which gives the earliest end; a longer tenancy ends later (§573c Abs. 1 S. 2 BGB).
    TenancyStartUnknown,
    /// Service of the eviction claim unknown: the claim-based deadlines are computed from the day the claim
    /// reached the court. Service always follows filing, so the real deadlines can only be later.
    ServiceDateUnknown {
        /// The day the claim reached the court.
        filed: Date,
    },
    /// An earlier cure is recorded but the date of the termination without notice is not, so whether the cure
    /// blocks a new one (§569 Abs. 3 Nr. 2 S. 2 BGB) was checked against the claim date instead.
    TerminationDateUnknown {
        /// The day of the earlier cure.
        earlier_cure: Date,
    },
    /// An ordinary notice is recorded but no termination without notice: the Schonfrist voids only the latter.
    NoTerminationWithoutNotice,
    /// A rent due date within the Schonfrist: rent falling due by then must be paid as well for the cure to
    /// work (§569 Abs. 3 Nr. 2 BGB).
    RentDueWithinSchonfrist {
        /// The last day of the Schonfrist.
        schonfrist_end: Date,
    },
    /// The cure is blocked: an earlier termination was voided by a cure within two years before this
    /// termination (§569 Abs. 3 Nr. 2 S. 2 BGB), so paying now does not void it. The Schonfrist is still
    /// reported because the court may see the earlier cure differently.
    CureBlocked {
        /// The day of the earlier cure.
        earlier_cure: Date,
        /// The day of the termination the cure would void.
        termination: Date,
    },
    /// A parallel ordinary termination is not voided by the cure (BGH 19.9.2018, VIII ZR 231/17): the landlord
    /// must withdraw it, or the tenancy still ends with the notice period.
    ParallelOrdinaryTermination,
    /// The day the eviction date was announced is unknown, so whether the three weeks of §128 Abs. 2 GVGA Nds
    /// were kept cannot be checked.
    EvictionAnnouncementUnknown {
        /// The eviction day.
        eviction_date: Date,
    },
    /// The eviction date was announced less than three full weeks ahead (§128 Abs. 2 GVGA Nds): the tenant can
    /// ask for a postponement or object (§766 ZPO).
    EvictionAnnouncedLate {
        /// The eviction day.
        eviction_date: Date,
        /// The day the eviction date was served on the tenant.
        announced: Date,
    },
    /// The eviction date was announced after the last day of the hardship application: the application is
    /// still admissible because the tenant was hindered without fault (§765a Abs. 3 ZPO).
    AnnouncedAfterHardshipDay {
        /// The ordinary last day of the hardship application (two weeks before the eviction).
        hardship_day: Date,
    },
    /// The BGH counts Saturday as a working day for §573c BGB (VIII ZR 206/04); the hub does not (the earlier
    /// end), and on the BGH's reading the tenancy ends later.
    SaturdayWorkingDay {
        /// The end of the tenancy when Saturday counts as a working day.
        end_counting_saturday: Date,
    },
    /// The tenancy start lies after the day the notice was received: the dates are probably wrong.
    TenancyStartAfterNotice {
        /// The recorded tenancy start.
        tenancy_start: Date,
        /// The recorded day the notice was received.
        notice_received: Date,
    },
    /// Rent arrears give the landlord the right to terminate without notice: paying all of it before a
    /// termination is received excludes it (§543 Abs. 2 S. 2 BGB), afterwards only the Schonfrist helps.
    RentArrears {
        /// The open rent arrears, in cents.
        arrears_cents: i64,
    },
}

impl Warning {
    /// The English text (the same as `Display`).
    pub fn en(&self) -> String {
        self.to_string()
    }

    /// The German text, for the caseworkers: dates as `TT.MM.JJJJ`, amounts as `1.234,56 €`.
    pub fn de(&self) -> String {
        match self {
            Self::TenancyStartUnknown => "Mietbeginn unbekannt: mit der kürzesten Kündigungsfrist (3 Monate) \
                                          berechnet; nach 5 oder 8 Jahren endet das Mietverhältnis 3 oder 6 \
                                          Monate später."
                .to_owned(),
            Self::ServiceDateUnknown { filed } => format!(
                "Zustellung der Klage unbekannt: ab dem Eingang bei Gericht am {}, also so früh wie möglich, \
                 berechnet; die Frist verschiebt sich nach hinten, sobald das Zustellungsdatum bekannt ist.",
                date_de(*filed)
            ),
            Self::TerminationDateUnknown { earlier_cure } => format!(
                "Datum der fristlosen Kündigung unbekannt: Bitte prüfen, ob die frühere Nachzahlung in der \
                 Schonfrist am {} höchstens zwei Jahre vor dieser Kündigung liegt (§ 569 Abs. 3 Nr. 2 S. 2 BGB).",
                date_de(*earlier_cure)
            ),
            Self::NoTerminationWithoutNotice => "Keine fristlose Kündigung eingetragen: Die Zahlung in der \
                                                 Schonfrist macht nur eine fristlose Kündigung wegen \
                                                 Mietrückständen unwirksam."
                .to_owned(),
            Self::RentDueWithinSchonfrist { schonfrist_end } => format!(
                "Wird vor Ende der Schonfrist am {} fällig: Auch diese Miete muss gezahlt werden, damit die \
                 Zahlung die Kündigung unwirksam macht (§ 569 Abs. 3 Nr. 2 BGB).",
                date_de(*schonfrist_end)
            ),
            Self::CureBlocked { earlier_cure, termination } => format!(
                "Schonfrist nicht nutzbar: Eine frühere Nachzahlung in der Schonfrist am {} liegt höchstens zwei \
                 Jahre vor der Kündigung vom {} (§ 569 Abs. 3 Nr. 2 S. 2 BGB); eine Zahlung jetzt macht die \
                 Kündigung nicht unwirksam.",
                date_de(*earlier_cure),
                date_de(*termination)
            ),
            Self::ParallelOrdinaryTermination => {
                "Die zusätzlich ausgesprochene ordentliche Kündigung wird durch die Zahlung in der \
                                                  Schonfrist nicht unwirksam (BGH VIII ZR 231/17): Den Vermieter \
                                                  bitten, sie zurückzunehmen."
                    .to_owned()
            }
            Self::EvictionAnnouncementUnknown { eviction_date } => format!(
                "Tag der Mitteilung des Räumungstermins unbekannt: Zwischen der Zustellung und dem {} müssen \
                 mindestens drei Wochen liegen (§ 128 Abs. 2 GVGA Nds.); bitte das Schreiben des \
                 Gerichtsvollziehers prüfen.",
                date_de(*eviction_date)
            ),
            Self::EvictionAnnouncedLate { eviction_date, announced } => format!(
                "Der Räumungstermin am {} wurde am {} mitgeteilt, also weniger als drei Wochen vorher \
                 (§ 128 Abs. 2 GVGA Nds.): Den Gerichtsvollzieher um Verschiebung bitten oder Erinnerung \
                 einlegen (§ 766 ZPO).",
                date_de(*eviction_date),
                date_de(*announced)
            ),
            Self::AnnouncedAfterHardshipDay { hardship_day } => format!(
                "Räumungstermin erst nach dem regulär letzten Antragstag ({}) mitgeteilt: Ein \
                 Vollstreckungsschutzantrag wegen Härte ist trotzdem zulässig, weil die Mieterin oder der \
                 Mieter ohne eigenes Verschulden verhindert war (§ 765a Abs. 3 ZPO); den Antrag sofort stellen.",
                date_de(*hardship_day)
            ),
            Self::SaturdayWorkingDay { end_counting_saturday } => format!(
                "Der BGH zählt bei § 573c BGB den Samstag als Werktag (VIII ZR 206/04); nach dieser Auffassung \
                 kam die Kündigung für ihren Monat zu spät, und das Mietverhältnis endet erst am {}.",
                date_de(*end_counting_saturday)
            ),
            Self::TenancyStartAfterNotice { tenancy_start, notice_received } => format!(
                "Mietbeginn am {} liegt nach dem Zugang der Kündigung am {}: Bitte beide Datumsangaben prüfen.",
                date_de(*tenancy_start),
                date_de(*notice_received)
            ),
            Self::RentArrears { arrears_cents } => format!(
                "Mietrückstand von {}: Wird er vollständig bezahlt, bevor eine Kündigung zugeht, ist die \
                 Kündigung ausgeschlossen (§ 543 Abs. 2 S. 2 BGB); danach hilft die Zahlung nur noch innerhalb \
                 der Schonfrist (§ 569 Abs. 3 Nr. 2 BGB).",
                euros_de(*arrears_cents)
            ),
        }
    }
}

/// The English text. Dates are ISO (`2026-03-01`, `Display` of [`Date`]), amounts `1234.56 EUR`.
impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TenancyStartUnknown => f.write_str(
                "tenancy start unknown: computed with the shortest period (3 months); after 5 or 8 years the \
                 tenancy ends 3 or 6 months later",
            ),
            Self::ServiceDateUnknown { filed } => write!(
                f,
                "service date unknown: computed from the filing date {filed}, the earliest possible; the deadline \
                 moves later once service is known"
            ),
            Self::TerminationDateUnknown { earlier_cure } => write!(
                f,
                "date of the termination without notice unknown: check whether the earlier cure on \
                 {earlier_cure} lies within two years before it (§569 Abs. 3 Nr. 2 S. 2 BGB)"
            ),
            Self::NoTerminationWithoutNotice => f.write_str(
                "no termination without notice recorded: the Schonfrist only voids a termination without notice \
                 for arrears",
            ),
            Self::RentDueWithinSchonfrist { schonfrist_end } => write!(
                f,
                "falls due before the Schonfrist ends on {schonfrist_end}: it must be paid too for the cure \
                 (§569 Abs. 3 Nr. 2 BGB)"
            ),
            Self::CureBlocked { earlier_cure, termination } => write!(
                f,
                "Schonfrist not available: a cure on {earlier_cure} lies within two years before the termination \
                 of {termination} (§569 Abs. 3 Nr. 2 S. 2 BGB); paying now does not void the termination"
            ),
            Self::ParallelOrdinaryTermination => f.write_str(
                "a parallel ordinary termination is not voided by paying within the Schonfrist (BGH VIII ZR \
                 231/17): ask the landlord to withdraw it",
            ),
            Self::EvictionAnnouncementUnknown { eviction_date } => write!(
                f,
                "the day the eviction date was announced is unknown: it must have been served so that at least \
                 three weeks lie before {eviction_date} (§128 Abs. 2 GVGA Nds); check the bailiff's notice"
            ),
            Self::EvictionAnnouncedLate { eviction_date, announced } => write!(
                f,
                "the eviction date {eviction_date} was announced on {announced}, less than three weeks ahead \
                 (§128 Abs. 2 GVGA Nds): ask the bailiff to postpone, or object (Erinnerung, §766 ZPO)"
            ),
            Self::AnnouncedAfterHardshipDay { hardship_day } => write!(
                f,
                "announced after the two-week day {hardship_day}: a hardship application is still admissible \
                 because the tenant was hindered without fault (§765a Abs. 3 ZPO); file at once"
            ),
            Self::SaturdayWorkingDay { end_counting_saturday } => write!(
                f,
                "the BGH counts Saturday as a working day under §573c BGB (VIII ZR 206/04); on that reading the \
                 notice came too late for its month and the tenancy ends on {end_counting_saturday}"
            ),
            Self::TenancyStartAfterNotice { tenancy_start, notice_received } => {
                write!(f, "tenancy start {tenancy_start} lies after the notice date {notice_received}: check the dates")
            }
            Self::RentArrears { arrears_cents } => write!(
                f,
                "rent arrears of {} EUR: paying all of it before a termination is received excludes the \
                 termination (§543 Abs. 2 S. 2 BGB); afterwards only within the Schonfrist (§569 Abs. 3 Nr. 2 BGB)",
                format_euros(*arrears_cents)
            ),
        }
    }
}

/// "1234.56" from cents, for the English text.
fn format_euros(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// "1.234,56 €" from cents, for the German text.
pub fn euros_de(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    let digits = (abs / 100).to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push('.');
        }
        grouped.push(c);
    }
    format!("{sign}{grouped},{:02} €", abs % 100)
}

/// "01.03.2026" (TT.MM.JJJJ), for the German text.
fn date_de(d: Date) -> String {
    format!("{:02}.{:02}.{:04}", d.day(), u8::from(d.month()), d.year())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    /// One value of every variant, with dates whose German form is listed alongside (day and month below 10
    /// where possible, to check the zero padding).
    fn samples() -> Vec<(Warning, Vec<&'static str>)> {
        vec![
            (Warning::TenancyStartUnknown, vec![]),
            (Warning::ServiceDateUnknown { filed: date!(2025 - 12 - 31) }, vec!["31.12.2025"]),
            (Warning::TerminationDateUnknown { earlier_cure: date!(2024 - 06 - 01) }, vec!["01.06.2024"]),
            (Warning::NoTerminationWithoutNotice, vec![]),
            (Warning::RentDueWithinSchonfrist { schonfrist_end: date!(2026 - 03 - 02) }, vec!["02.03.2026"]),
            (
                Warning::CureBlocked { earlier_cure: date!(2024 - 06 - 01), termination: date!(2025 - 12 - 31) },
                vec!["01.06.2024", "31.12.2025"],
            ),
            (Warning::ParallelOrdinaryTermination, vec![]),
            (Warning::EvictionAnnouncementUnknown { eviction_date: date!(2026 - 05 - 20) }, vec!["20.05.2026"]),
            (
                Warning::EvictionAnnouncedLate {
                    eviction_date: date!(2026 - 05 - 20),
                    announced: date!(2026 - 05 - 07),
                },
                vec!["20.05.2026", "07.05.2026"],
            ),
            (Warning::AnnouncedAfterHardshipDay { hardship_day: date!(2026 - 05 - 06) }, vec!["06.05.2026"]),
            (Warning::SaturdayWorkingDay { end_counting_saturday: date!(2026 - 11 - 30) }, vec!["30.11.2026"]),
            (
                Warning::TenancyStartAfterNotice {
                    tenancy_start: date!(2026 - 05 - 01),
                    notice_received: date!(2026 - 03 - 04),
                },
                vec!["01.05.2026", "04.03.2026"],
            ),
            (Warning::RentArrears { arrears_cents: 156_544 }, vec![]),
        ]
    }

    /// Position of each variant in [`samples`]; the match fails to compile when a variant is added, as a
    /// reminder to add a sample.
    fn index(w: &Warning) -> usize {
        match w {
            Warning::TenancyStartUnknown => 0,
            Warning::ServiceDateUnknown { .. } => 1,
            Warning::TerminationDateUnknown { .. } => 2,
            Warning::NoTerminationWithoutNotice => 3,
            Warning::RentDueWithinSchonfrist { .. } => 4,
            Warning::CureBlocked { .. } => 5,
            Warning::ParallelOrdinaryTermination => 6,
            Warning::EvictionAnnouncementUnknown { .. } => 7,
            Warning::EvictionAnnouncedLate { .. } => 8,
            Warning::AnnouncedAfterHardshipDay { .. } => 9,
            Warning::SaturdayWorkingDay { .. } => 10,
            Warning::TenancyStartAfterNotice { .. } => 11,
            Warning::RentArrears { .. } => 12,
        }
    }

    #[test]
    fn samples_cover_every_variant() {
        let s = samples();
        for (i, (w, _)) in s.iter().enumerate() {
            assert_eq!(index(w), i, "{w:?}");
        }
        assert_eq!(s.len(), 13);
    }

    #[test]
    fn german_text_is_german() {
        const ENGLISH: [&str; 14] = [
            " the ",
            " is ",
            "unknown",
            "check ",
            " of ",
            " and ",
            " to ",
            " eur",
            "termination",
            "notice",
            "deadline",
            "tenancy",
            "bailiff",
            "saturday",
        ];
        const GERMAN: [&str; 8] =
            ["Kündigung", "Schonfrist", "Miet", "Räumung", "Frist", "Gerichtsvollzieher", "unbekannt", "Antrag"];
        for (w, _) in samples() {
            let de = w.de();
            let lower = de.to_lowercase();
            for word in ENGLISH {
                assert!(!lower.contains(word), "{word:?} in {de}");
            }
            assert!(GERMAN.iter().any(|g| de.contains(g)), "no German word in {de}");
            assert!(de.ends_with('.'), "{de}");
            assert!(de.match_indices('§').all(|(i, _)| de[i..].starts_with("§ ")), "§ without space: {de}");
        }
    }

    #[test]
    fn german_dates_and_euros() {
        for (w, dates) in samples() {
            let de = w.de();
            for d in dates {
                assert!(de.contains(d), "{d} not in {de}");
            }
            // No ISO date (four digits, then a hyphen).
            let b = de.as_bytes();
            assert!(!b.windows(5).any(|x| x[..4].iter().all(u8::is_ascii_digit) && x[4] == b'-'), "ISO date: {de}");
            // Every number with a dot inside is a date (TT.MM.JJJJ) or has thousands separators (1.565).
            for token in de.split(|c: char| !c.is_ascii_digit() && c != '.') {
                let token = token.trim_end_matches('.');
                if !token.contains('.') {
                    continue;
                }
                assert!(is_date_de(token) || is_grouped(token), "{token:?} in {de}");
            }
        }
        assert_eq!(date_de(date!(2026 - 03 - 01)), "01.03.2026");
        assert_eq!(
            Warning::RentArrears { arrears_cents: 156_544 }.de().split(':').next(),
            Some("Mietrückstand von 1.565,44 €")
        );
        assert_eq!(euros_de(0), "0,00 €");
        assert_eq!(euros_de(5), "0,05 €");
        assert_eq!(euros_de(99_999), "999,99 €");
        assert_eq!(euros_de(123_456), "1.234,56 €");
        assert_eq!(euros_de(123_456_789), "1.234.567,89 €");
        assert_eq!(euros_de(-5), "-0,05 €");
        assert_eq!(format_euros(123_456), "1234.56");
        assert_eq!(format_euros(-5), "-0.05");
    }

    /// `TT.MM.JJJJ` with a plausible day and month.
    fn is_date_de(s: &str) -> bool {
        let parts: Vec<&str> = s.split('.').collect();
        let digits = |p: &str, n: usize| p.len() == n && p.bytes().all(|b| b.is_ascii_digit());
        parts.len() == 3
            && digits(parts[0], 2)
            && digits(parts[1], 2)
            && digits(parts[2], 4)
            && (1..=31).contains(&parts[0].parse::<u8>().unwrap_or(0))
            && (1..=12).contains(&parts[1].parse::<u8>().unwrap_or(0))
    }

    /// `1.234.567`: one to three digits, then groups of three.
    fn is_grouped(s: &str) -> bool {
        let mut parts = s.split('.');
        let first = parts.next().unwrap_or("");
        (1..=3).contains(&first.len())
            && first.bytes().all(|b| b.is_ascii_digit())
            && parts.all(|p| p.len() == 3 && p.bytes().all(|b| b.is_ascii_digit()))
    }

    /// `Display` is the English text as it was when warnings were strings (copied literally).
    #[test]
    fn english_text_unchanged() {
        let w = Warning::RentDueWithinSchonfrist { schonfrist_end: date!(2026 - 03 - 02) };
        assert_eq!(
            w.to_string(),
            "falls due before the Schonfrist ends on 2026-03-02: it must be paid too for the cure (§569 Abs. 3 Nr. 2 BGB)"
        );
        assert_eq!(w.en(), w.to_string());
        assert_eq!(
            Warning::EvictionAnnouncedLate { eviction_date: date!(2026 - 05 - 20), announced: date!(2026 - 05 - 07) }
                .to_string(),
            "the eviction date 2026-05-20 was announced on 2026-05-07, less than three weeks ahead (§128 Abs. 2 GVGA \
             Nds): ask the bailiff to postpone, or object (Erinnerung, §766 ZPO)"
        );
        assert_eq!(
            Warning::RentArrears { arrears_cents: 156_544 }.to_string(),
            "rent arrears of 1565.44 EUR: paying all of it before a termination is received excludes the termination \
             (§543 Abs. 2 S. 2 BGB); afterwards only within the Schonfrist (§569 Abs. 3 Nr. 2 BGB)"
        );
        assert_eq!(
            Warning::TenancyStartUnknown.to_string(),
            "tenancy start unknown: computed with the shortest period (3 months); after 5 or 8 years the tenancy ends \
             3 or 6 months later"
        );
    }
}
