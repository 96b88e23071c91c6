//! The one German label catalogue: every vocabulary of the domain as the dashboard, the mails, the
//! partner web page, the Art. 15 report and the key figures write it, so one term reads the same
//! everywhere. Labels address caseworkers and households, so they use the terms of the trade
//! (`Mietschuldenübernahme`, `KSD`), never the stored names.
//!
//! Every function is an exhaustive `match` without a wildcard: a new variant does not compile until
//! it has its label here.

use crate::domain::audit::AuditAction;
use crate::domain::data_request::{DataRequestAsk, DataRequestCause};
use crate::domain::mail::MailKind;
use crate::domain::referral::{Move, ReferralState};
use crate::domain::time::{Day, Instant};
use crate::domain::vocab::{
    CaseOutcome, Channel, CompletionResult, ConsentForm, ConsentStatus, DataCategory, Gender, HouseholdType, OrgKind,
    PersonRole, ReasonCode, ReferralCategory, RescueMeans, RouteIn, Stadtbezirk, ThreatStage,
};

/// What a referral asks for, e.g. "Mietschuldenübernahme (SGB II)".
pub fn category(c: ReferralCategory) -> &'static str {
    match c {
        ReferralCategory::RentDebtTakeoverSgb2 => "Mietschuldenübernahme (SGB II)",
        ReferralCategory::RentDebtTakeoverSgb12 => "Mietschuldenübernahme (SGB XII)",
        ReferralCategory::DirectRentPayment => "Direktzahlung der Miete an den Vermieter (SGB II)",
        ReferralCategory::BenefitApplication => "Leistungsantrag",
        ReferralCategory::DebtCounselling => "Schuldnerberatung",
        ReferralCategory::SocialPedagogicalSupport => "Sozialpädagogische Unterstützung",
        ReferralCategory::Spd => "Sozialpädagogischer Dienst (SpD)",
        ReferralCategory::Ksd => "Kommunaler Sozialdienst (KSD)",
        ReferralCategory::FlatClearing => "Entrümpelung und Grundreinigung",
        ReferralCategory::WomensCounselling => "Frauenberatung / Gewaltschutz",
        ReferralCategory::LegalAdvice => "Rechtsberatung",
        ReferralCategory::ReplacementHousing => "Ersatzwohnraum",
        ReferralCategory::EmergencyAccommodation => "Notunterbringung",
        ReferralCategory::LandlordAgreement => "Vereinbarung mit dem Vermieter",
    }
}

/// The state of a referral in lower case, to follow "Status:" or stand in a sentence, e.g.
/// "angenommen".
pub fn state(s: ReferralState) -> &'static str {
    match s {
        ReferralState::Requested => "angefragt",
        ReferralState::Received => "eingegangen",
        ReferralState::Accepted => "angenommen",
        ReferralState::Declined => "abgelehnt",
        ReferralState::InProgress => "in Bearbeitung",
        ReferralState::OnHold => "pausiert",
        ReferralState::Completed => "abgeschlossen",
        ReferralState::Failed => "gescheitert",
        ReferralState::Cancelled => "zurückgezogen",
    }
}

/// Button text of a move, in the imperative, e.g. "Annehmen".
pub fn move_label(m: Move) -> &'static str {
    match m {
        Move::Acknowledge => "Eingang bestätigen",
        Move::Accept => "Annehmen",
        Move::Decline => "Ablehnen",
        Move::Start => "Beginnen",
        Move::Hold => "Pausieren",
        Move::Complete => "Abschließen",
        Move::Fail => "Als gescheitert melden",
        Move::Cancel => "Zurückziehen",
        Move::Reopen => "Wieder öffnen",
    }
}

/// Confirmation after a move was made, e.g. "Vermittlung angenommen".
pub fn move_done(m: Move) -> &'static str {
    match m {
        Move::Acknowledge => "Eingang bestätigt",
        Move::Accept => "Vermittlung angenommen",
        Move::Decline => "Vermittlung abgelehnt",
        Move::Start => "Bearbeitung begonnen",
        Move::Hold => "Vermittlung pausiert",
        Move::Complete => "Vermittlung abgeschlossen",
        Move::Fail => "Als gescheitert gemeldet",
        Move::Cancel => "Vermittlung zurückgezogen",
        Move::Reopen => "Vermittlung wieder geöffnet",
    }
}

/// The first step of a referral's history, before any move: the Fachstelle sent it.
pub const REFERRAL_SENT: &str = "Vermittlung gesendet";

/// Who acted when no organisation did: the hub on its own (reminders, expiry).
pub const HUB: &str = "Hub (automatisch)";

/// Who acted when no organisation did: the people who run the hub.
pub const OPERATOR: &str = "Betrieb des Hubs";

/// Why a referral was declined, failed or cancelled, e.g. "Nicht zuständig".
pub fn reason(r: ReasonCode) -> &'static str {
    match r {
        ReasonCode::NotResponsible => "Nicht zuständig",
        ReasonCode::NoCapacity => "Keine Kapazität",
        ReasonCode::NoEntitlement => "Kein Anspruch",
        ReasonCode::HouseholdUnreachable => "Haushalt nicht erreichbar",
        ReasonCode::HelpRefused => "Hilfe abgelehnt",
        ReasonCode::Duplicate => "Doppelte Vermittlung",
        ReasonCode::ConsentRevoked => "Einwilligung widerrufen",
        ReasonCode::ConsentExpired => "Einwilligung abgelaufen",
        ReasonCode::CaseClosed => "Fall abgeschlossen",
        ReasonCode::Other => "Sonstiger Grund",
    }
}

/// The result of a completed referral, e.g. "Bewilligt als Darlehen".
pub fn result(r: CompletionResult) -> &'static str {
    match r {
        CompletionResult::ApprovedLoan => "Bewilligt als Darlehen",
        CompletionResult::ApprovedGrant => "Bewilligt als Zuschuss",
        CompletionResult::AgreementReached => "Vereinbarung erzielt",
        CompletionResult::ServiceProvided => "Leistung erbracht",
        CompletionResult::Rejected => "Nach Prüfung abgelehnt",
    }
}

/// A category of personal data, e.g. "Mietrückstände".
pub fn data_category(d: DataCategory) -> &'static str {
    match d {
        DataCategory::Identity => "Personalien",
        DataCategory::Contact => "Kontaktdaten",
        DataCategory::Tenancy => "Mietverhältnis",
        DataCategory::Arrears => "Mietrückstände",
        DataCategory::IncomeBenefits => "Einkommen und Sozialleistungen",
        DataCategory::Health => "Gesundheitsdaten",
        DataCategory::CounsellingNotes => "Beratungsnotizen",
        DataCategory::Outcome => "Ergebnisse von Vermittlungen",
    }
}

/// Why a recipient is asked to act on data it received (Art. 19 GDPR), as a reason.
pub fn data_request_cause(c: DataRequestCause) -> &'static str {
    match c {
        DataRequestCause::ConsentRevoked => "Die Einwilligung wurde widerrufen.",
        DataRequestCause::ConsentExpired => "Die Einwilligung ist abgelaufen.",
        DataRequestCause::CaseErased => "Der Fall wurde gelöscht.",
        DataRequestCause::ProcessingRestricted => "Die Verarbeitung wurde eingeschränkt (Art. 18 DSGVO).",
        DataRequestCause::DataRectified => "Übermittelte Daten wurden berichtigt.",
    }
}

/// What a recipient is asked to do, as a request ("Bitte löschen").
pub fn data_request_ask(a: DataRequestAsk) -> &'static str {
    match a {
        DataRequestAsk::Erase => "Bitte löschen",
        DataRequestAsk::Restrict => "Bitte nicht mehr verwenden und nicht weitergeben (einschränken)",
        DataRequestAsk::Rectify => "Bitte berichtigen",
    }
}

/// What a recipient confirms, as a past participle ("gelöscht").
pub fn data_request_done(a: DataRequestAsk) -> &'static str {
    match a {
        DataRequestAsk::Erase => "gelöscht",
        DataRequestAsk::Restrict => "eingeschränkt",
        DataRequestAsk::Rectify => "berichtigt",
    }
}

/// The kinds of data a request concerns, in words; none listed means all received with the referral.
pub fn data_request_categories(categories: &[DataCategory]) -> String {
    if categories.is_empty() {
        "alle mit der Vermittlung erhaltenen Daten".to_owned()
    } else {
        categories.iter().map(|c| data_category(*c)).collect::<Vec<_>>().join(", ")
    }
}

/// A read that showed a partner personal data ([`AuditAction::is_read`]), as the Art. 15 report lists
/// it, e.g. "Fall abgerufen"; `None` for every other action.
pub fn read_action(a: AuditAction) -> Option<&'static str> {
    match a {
        AuditAction::ReferralRead => Some("Vermittlung mit Falldaten abgerufen"),
        AuditAction::NoteRead => Some("Notizen abgerufen"),
        AuditAction::CaseRead => Some("Fall abgerufen"),
        AuditAction::CaseOpen => None,
        AuditAction::CaseUpdate => None,
        AuditAction::CaseRectify => None,
        AuditAction::CaseStage => None,
        AuditAction::CaseClose => None,
        AuditAction::CaseAssign => None,
        AuditAction::DocumentAdd => None,
        AuditAction::DocumentRead => None,
        AuditAction::CaseContact => None,
        AuditAction::CaseFollowUp => None,
        AuditAction::CaseRestrict => None,
        AuditAction::CaseLiftRestriction => None,
        AuditAction::CaseErase => None,
        AuditAction::ConsentRecord => None,
        AuditAction::ConsentRevoke => None,
        AuditAction::ConsentExpire => None,
        AuditAction::ReferralDisclose => None,
        AuditAction::ReferralMove => None,
        AuditAction::ReferralReplyBy => None,
        AuditAction::NoteWrite => None,
        AuditAction::NoticeWrite => None,
        AuditAction::NoticeList => None,
        AuditAction::NoticeRead => None,
        AuditAction::NoticeTakeUp => None,
        AuditAction::NoticeErase => None,
        AuditAction::NoticeWithdraw => None,
        AuditAction::OrgRegister => None,
        AuditAction::OrgUpdate => None,
        AuditAction::OrgDeactivate => None,
        AuditAction::OrgReactivate => None,
        AuditAction::OrgCapacity => None,
        AuditAction::CertificateSign => None,
        AuditAction::CertificateRevoke => None,
        AuditAction::StaffAdd => None,
        AuditAction::StaffDisable => None,
        AuditAction::StaffEnable => None,
        AuditAction::StaffPassword => None,
        AuditAction::StaffSignIn => None,
        AuditAction::StaffSignInFailed => None,
        AuditAction::StaffSignOut => None,
        AuditAction::DeliveryRequeue => None,
        AuditAction::DashboardView => None,
        AuditAction::Search => None,
        AuditAction::KeyFigures => None,
        AuditAction::AccessReport => None,
        AuditAction::DataRequestConfirm => None,
    }
}

/// A housing company's early notice of rent arrears.
pub const ARREARS_NOTICE: &str = "Frühmeldung des Wohnungsunternehmens";

/// A court's notice (MiZi) with its file number, e.g. "Mitteilung des Gerichts (Az. 12 C 34/26)".
pub fn court_notice(file_number: &str) -> String {
    format!("Mitteilung des Gerichts (Az. {file_number})")
}

/// Heading of the part of a document that shows the special categories of personal data (Art. 9 GDPR,
/// [`DataCategory::is_special`]) apart from all other data, with the explicit consent they need; the
/// partner page uses the same heading.
pub use email_adapter::web::SPECIAL_CATEGORIES_HEADING as SPECIAL_CATEGORIES;

/// Whether the separate explicit consent for special categories (Art. 9(2)(a) GDPR) was given.
pub fn explicit_consent(given: bool) -> &'static str {
    if given { "ausdrückliche Einwilligung erteilt" } else { "keine ausdrückliche Einwilligung" }
}

/// A calendar day as `dd.mm.yyyy`, e.g. "09.01.2026".
pub fn day(d: Day) -> String {
    let d = d.date();
    format!("{:02}.{:02}.{:04}", d.day(), u8::from(d.month()), d.year())
}

/// An instant as `dd.mm.yyyy HH:MM` in Hannover's local time (CET, or CEST in summer), the time
/// caseworkers read on their own clocks; seconds cut off, e.g. "09.01.2026 10:05". An instant beyond
/// the calendar's range (year ±9999) shows as the Unix epoch, as in [`Instant::day`].
pub fn instant(i: Instant) -> String {
    let utc = ::time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(i.millis()) * 1_000_000)
        .unwrap_or(::time::OffsetDateTime::UNIX_EPOCH);
    let local = utc.saturating_add(::time::Duration::hours(berlin_offset_hours(utc)));
    format!("{} {:02}:{:02}", day(Day::from_date(local.date())), local.hour(), local.minute())
}

/// Germany's offset from UTC at `utc`: +2 during EU summer time (from the last Sunday of March,
/// 01:00 UTC, to the last Sunday of October, 01:00 UTC), +1 otherwise. The EU rule is applied to
/// every year; the hub never shows instants from before it took effect (1996).
fn berlin_offset_hours(utc: ::time::OffsetDateTime) -> i64 {
    let last_sunday = |month: ::time::Month| {
        let mut d = ::time::Date::from_calendar_date(utc.year(), month, 31).unwrap_or(utc.date());
        while d.weekday() != ::time::Weekday::Sunday {
            d = d.previous_day().unwrap_or(d);
        }
        d.with_hms(1, 0, 0).map(|t| t.assume_utc()).unwrap_or(utc)
    };
    let (start, end) = (last_sunday(::time::Month::March), last_sunday(::time::Month::October));
    if utc >= start && utc < end { 2 } else { 1 }
}

pub fn gender(g: Gender) -> &'static str {
    match g {
        Gender::Female => "weiblich",
        Gender::Male => "männlich",
        Gender::Diverse => "divers",
        Gender::Undisclosed => "keine Angabe",
    }
}

pub fn stage(s: ThreatStage) -> &'static str {
    match s {
        ThreatStage::Rueckstand => "Mietrückstand",
        ThreatStage::Mahnung => "Mahnung",
        ThreatStage::KuendigungAngedroht => "Kündigung angedroht",
        ThreatStage::KuendigungFristlos => "Fristlose Kündigung",
        ThreatStage::KuendigungOrdentlich => "Ordentliche Kündigung",
        ThreatStage::KlageEingereicht => "Räumungsklage eingereicht",
        ThreatStage::Rechtshaengig => "Räumungsklage zugestellt (rechtshängig)",
        ThreatStage::Urteil => "Urteil",
        ThreatStage::Versaeumnisurteil => "Versäumnisurteil",
        ThreatStage::Vergleich => "Vergleich",
        ThreatStage::Raeumungsfrist => "Räumungsfrist",
        ThreatStage::Raeumungstermin => "Räumungstermin",
        ThreatStage::Geraeumt => "Geräumt",
    }
}

pub fn route_in(r: RouteIn) -> &'static str {
    match r {
        RouteIn::HousingCompanyNotice => "Meldung des Wohnungsunternehmens",
        RouteIn::CourtNotice => "Mitteilung des Amtsgerichts (MiZi)",
        RouteIn::SelfReferral => "Eigene Vorsprache",
        RouteIn::DistrictConsultation => "Sprechstunde im Stadtbezirk",
        RouteIn::Jobcenter => "Jobcenter",
        RouteIn::CounsellingCentre => "Beratungsstelle",
        RouteIn::Buergeramt => "Bürgeramt",
        RouteIn::Bailiff => "Gerichtsvollzieher",
        RouteIn::Other => "Sonstiger Zugang",
    }
}

pub fn district(b: Stadtbezirk) -> &'static str {
    match b {
        Stadtbezirk::Mitte => "Mitte",
        Stadtbezirk::VahrenwaldList => "Vahrenwald-List",
        Stadtbezirk::BothfeldVahrenheide => "Bothfeld-Vahrenheide",
        Stadtbezirk::BuchholzKleefeld => "Buchholz-Kleefeld",
        Stadtbezirk::MisburgAnderten => "Misburg-Anderten",
        Stadtbezirk::KirchrodeBemerodeWuelferode => "Kirchrode-Bemerode-Wülferode",
        Stadtbezirk::SuedstadtBult => "Südstadt-Bult",
        Stadtbezirk::DoehrenWuelfel => "Döhren-Wülfel",
        Stadtbezirk::Ricklingen => "Ricklingen",
        Stadtbezirk::LindenLimmer => "Linden-Limmer",
        Stadtbezirk::AhlemBadenstedtDavenstedt => "Ahlem-Badenstedt-Davenstedt",
        Stadtbezirk::HerrenhausenStoecken => "Herrenhausen-Stöcken",
        Stadtbezirk::Nord => "Nord",
    }
}

pub fn household(h: HouseholdType) -> &'static str {
    match h {
        HouseholdType::Single => "Alleinstehend",
        HouseholdType::SingleParent => "Alleinerziehend",
        HouseholdType::Couple => "Paar ohne Kinder",
        HouseholdType::CoupleWithChildren => "Paar mit Kindern",
        HouseholdType::Other => "Sonstiger Haushalt",
    }
}

pub fn outcome(o: CaseOutcome) -> &'static str {
    match o {
        CaseOutcome::WohnungErhalten => "Wohnung erhalten",
        CaseOutcome::Ersatzwohnraum => "Ersatzwohnraum gefunden",
        CaseOutcome::VerlustUnterbringung => "Wohnung verloren, Notunterbringung",
        CaseOutcome::VerlustPrivat => "Wohnung verloren, Unterkunft bei anderen",
        CaseOutcome::KeinKontakt => "Kein Kontakt zustande gekommen",
        CaseOutcome::KontaktAbgebrochen => "Kontakt abgebrochen",
        CaseOutcome::HilfeAbgelehnt => "Hilfe abgelehnt",
        CaseOutcome::VerzogenUnbekannt => "Unbekannt verzogen",
        CaseOutcome::KeinHandlungsbedarf => "Kein Handlungsbedarf",
    }
}

pub fn rescue_means(m: RescueMeans) -> &'static str {
    match m {
        RescueMeans::Sgb2Loan => "Darlehen nach SGB II",
        RescueMeans::Sgb12Loan => "Darlehen nach SGB XII",
        RescueMeans::Sgb12Grant => "Beihilfe nach SGB XII",
        RescueMeans::InstalmentPlan => "Ratenzahlungsvereinbarung",
        RescueMeans::OwnMeans => "Eigene Mittel",
        RescueMeans::Settlement => "Vergleich",
    }
}

/// A computed deadline's kind (as stored, e.g. `SCHONFRIST`); an unknown kind shows as stored.
pub fn deadline_kind(kind: &str) -> String {
    use deadlines::DeadlineKind as K;
    match K::parse(kind) {
        Some(K::RentDue) => "Miete fällig".into(),
        Some(K::TerminationWithoutNoticePossible) => "Fristlose Kündigung möglich ab".into(),
        Some(K::OrdinaryNoticeEnd) => "Ende der ordentlichen Kündigungsfrist".into(),
        Some(K::Schonfrist) => "Ende der Schonfrist (§ 569 Abs. 3 Nr. 2 BGB)".into(),
        Some(K::DefenceNotice) => "Verteidigungsanzeige (§ 276 ZPO)".into(),
        Some(K::RaeumungsfristExtensionRequest) => "Antrag auf Verlängerung der Räumungsfrist (§ 721 ZPO)".into(),
        Some(K::HardshipApplication) => "Vollstreckungsschutzantrag (§ 765a ZPO)".into(),
        Some(K::EvictionDate) => "Räumungstermin".into(),
        None => kind.to_owned(),
    }
}

/// How the household was contacted.
pub fn contact_kind(k: crate::domain::casework::ContactKind) -> &'static str {
    use crate::domain::casework::ContactKind as K;
    match k {
        K::Letter => "Anschreiben",
        K::Call => "Anruf",
        K::HomeVisit => "Hausbesuch",
        K::OfficeHours => "Sprechstunde",
        K::DistrictOfficeHours => "Stadtteilsprechstunde",
    }
}

/// Form of a consent.
pub fn consent_form(f: ConsentForm) -> &'static str {
    match f {
        ConsentForm::Written => "schriftlich",
        ConsentForm::Electronic => "elektronisch",
    }
}

/// Status of a consent.
pub fn consent_status(s: ConsentStatus) -> &'static str {
    match s {
        ConsentStatus::Active => "wirksam",
        ConsentStatus::Revoked => "widerrufen",
        ConsentStatus::Expired => "abgelaufen",
        ConsentStatus::Ended => "mit dem Fall beendet",
        ConsentStatus::Superseded => "durch eine neue Fassung ersetzt",
    }
}

/// Kind of an organisation.
pub fn org_kind(k: OrgKind) -> &'static str {
    match k {
        OrgKind::Fachstelle => "Fachstelle Wohnungserhalt",
        OrgKind::Jobcenter => "Jobcenter",
        OrgKind::SocialServices => "Soziale Dienste",
        OrgKind::DebtCounselling => "Schuldnerberatung",
        OrgKind::HousingCompany => "Wohnungsunternehmen",
        OrgKind::SocialWorkProvider => "Träger sozialer Arbeit",
        OrgKind::WomensCounselling => "Frauenberatung",
    }
}

/// How an organisation is reached.
pub fn channel(c: Channel) -> &'static str {
    match c {
        Channel::Grpc => "Schnittstelle (gRPC)",
        Channel::Email => "E-Mail",
    }
}

/// What a mail announced.
pub fn mail_kind(k: MailKind) -> &'static str {
    match k {
        MailKind::NewReferral => "Neue Vermittlung",
        MailKind::StateChanged => "Statusänderung",
        MailKind::NoteAdded => "Neue Notiz",
        MailKind::Reminder => "Erinnerung an die Antwortfrist",
        MailKind::Overdue => "Antwortfrist überschritten",
        MailKind::ConsentEnded => "Einwilligung beendet",
        MailKind::CaseClosed => "Fall abgeschlossen",
        MailKind::ActionConfirmed => "Bestätigung einer Aktion",
        MailKind::ProcessingRestricted => "Verarbeitung eingeschränkt",
        MailKind::RestrictionLifted => "Einschränkung aufgehoben",
        MailKind::CaseErased => "Fall gelöscht",
        MailKind::CaseDataRectified => "Daten berichtigt",
        MailKind::DataRequest => "Bitte um Bestätigung (Löschen, Einschränken, Berichtigen)",
    }
}

/// Role in the household.
pub fn role(r: PersonRole) -> &'static str {
    match r {
        PersonRole::MainTenant => "Hauptmieter/in",
        PersonRole::CoTenant => "Mitmieter/in",
        PersonRole::Partner => "Partner/in",
        PersonRole::Child => "Kind",
        PersonRole::Other => "Weitere Person",
    }
}

/// A partner's capacity in one category, as it states it.
pub fn capacity(c: crate::domain::org::Capacity) -> String {
    use crate::domain::org::Capacity as C;
    match c {
        C::Open => "nimmt Vermittlungen an".to_owned(),
        C::Waitlist { weeks: 1 } => "Warteliste, etwa 1 Woche".to_owned(),
        C::Waitlist { weeks } => format!("Warteliste, etwa {weeks} Wochen"),
        C::Closed => "nimmt derzeit keine Vermittlungen an".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    /// Every value has a non-empty label and no two values of one enum share a label.
    fn check<T: Copy + std::fmt::Debug>(all: &[T], label: fn(T) -> &'static str) {
        let mut seen = HashSet::new();
        for v in all {
            let l = label(*v);
            assert!(!l.trim().is_empty(), "{v:?} has an empty label");
            assert_eq!(l, l.trim(), "{v:?}: label has surrounding white space");
            assert!(seen.insert(l), "{v:?}: label '{l}' is used twice");
        }
        assert_eq!(seen.len(), all.len());
    }

    #[test]
    fn every_value_has_its_own_label() {
        check(ReferralCategory::ALL, category);
        check(ReferralState::ALL, state);
        check(Move::ALL, move_label);
        check(Move::ALL, move_done);
        check(ReasonCode::ALL, reason);
        check(CompletionResult::ALL, result);
        check(DataCategory::ALL, data_category);
        let reads: Vec<AuditAction> = AuditAction::ALL.iter().copied().filter(|a| a.is_read()).collect();
        check(&reads, |a| read_action(a).unwrap_or_default());
        assert!(AuditAction::ALL.iter().all(|a| a.is_read() == read_action(*a).is_some()), "a label for each read");
    }

    #[test]
    fn examples() {
        assert_eq!(category(ReferralCategory::RentDebtTakeoverSgb2), "Mietschuldenübernahme (SGB II)");
        assert_eq!(category(ReferralCategory::Ksd), "Kommunaler Sozialdienst (KSD)");
        assert_eq!(state(ReferralState::InProgress), "in Bearbeitung");
        assert_eq!(move_label(Move::Fail), "Als gescheitert melden");
        assert_eq!(move_done(Move::Accept), "Vermittlung angenommen");
    }

    #[test]
    fn day_is_dd_mm_yyyy() {
        let d = |s: &str| day(Day::parse(s).expect("test day"));
        assert_eq!(d("2026-01-09"), "09.01.2026");
        assert_eq!(d("2026-12-31"), "31.12.2026");
        assert_eq!(d("0999-03-01"), "01.03.0999");
    }

    #[test]
    fn instant_is_dd_mm_yyyy_hh_mm_in_hannover_time() {
        let at = |dt: ::time::OffsetDateTime| {
            instant(Instant::from_millis(i64::try_from(dt.unix_timestamp_nanos() / 1_000_000).expect("in range")))
        };
        assert_eq!(at(::time::macros::datetime!(2026-01-09 09:05 UTC)), "09.01.2026 10:05");
        // Seconds are cut off, never rounded up; the local day may be the next one.
        assert_eq!(at(::time::macros::datetime!(2026-02-28 23:59:59.999 UTC)), "01.03.2026 00:59");
        assert_eq!(at(::time::macros::datetime!(2026-07-01 00:00 UTC)), "01.07.2026 02:00");
        // Summer time starts 2026-03-29 01:00 UTC and ends 2026-10-25 01:00 UTC.
        assert_eq!(at(::time::macros::datetime!(2026-03-29 00:59 UTC)), "29.03.2026 01:59");
        assert_eq!(at(::time::macros::datetime!(2026-03-29 01:00 UTC)), "29.03.2026 03:00");
        assert_eq!(at(::time::macros::datetime!(2026-10-25 00:59 UTC)), "25.10.2026 02:59");
        assert_eq!(at(::time::macros::datetime!(2026-10-25 01:00 UTC)), "25.10.2026 02:00");
        assert_eq!(instant(Instant::from_millis(0)), "01.01.1970 01:00");
    }
}
