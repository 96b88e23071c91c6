//! Short names of the API's enums, both ways.
//!
//! Users type `not-responsible` or `NOT_RESPONSIBLE`; the hub's own error messages say `REQUESTED`
//! and `ACKNOWLEDGE`. Every enum gets an exhaustive `match` from value to short name, so a new
//! proto value breaks the build here instead of printing a number, and an explicit list of the
//! values a user may type, so hub-only values (e.g. `CONSENT_REVOKED`) are not offered as input.

use hub_proto::v1::{
    Channel, CompletionResult, DataCategory, DeliveryStatus, EventKind, Gender, LegalBasisKind, MailKind,
    NoticeOutcome, NoticeProgress, NoticeSource, OrganisationKind, PersonRole, ReasonCode, ReferralCategory,
    ReferralMove, ReferralState, Stadtbezirk, ThreatStage,
};

/// An API enum with short names.
pub trait Named: Copy + TryFrom<i32> + 'static {
    /// What the value is, for error messages ("reason code").
    const WHAT: &'static str;
    /// The proto prefix of every value name ("REASON_CODE_"); accepted but not required on input.
    const PREFIX: &'static str;
    /// The values a user may type, in the order they are listed in error messages.
    const CHOICES: &'static [Self];
    /// The short name, e.g. `NOT_RESPONSIBLE`.
    fn short(self) -> &'static str;
}

/// Parses a user-typed short name, case-insensitively, with `-` or `_` between words.
///
/// Used as a clap value parser, so an unknown value is a usage error that lists the valid ones.
pub fn parse<T: Named>(input: &str) -> Result<T, String> {
    let normalised = input.trim().to_ascii_uppercase().replace(['-', ' '], "_");
    let bare = normalised.strip_prefix(T::PREFIX).unwrap_or(&normalised);
    T::CHOICES
        .iter()
        .copied()
        .find(|choice| choice.short() == bare)
        .ok_or_else(|| format!("unknown {} '{}'; valid values: {}", T::WHAT, input, choices::<T>()))
}

/// The values a user may type, as `a, b, c` in the kebab-case form shown in help texts.
pub fn choices<T: Named>() -> String {
    T::CHOICES.iter().map(|choice| kebab(choice.short())).collect::<Vec<_>>().join(", ")
}

/// `NOT_RESPONSIBLE` -> `not-responsible`, the form the CLI prefers on input.
pub fn kebab(short: &str) -> String {
    short.to_ascii_lowercase().replace('_', "-")
}

/// The short name of a raw wire value; a value this build does not know shows as `UNKNOWN(n)`
/// rather than failing, because a newer hub may send values an older hubctl has never seen.
pub fn name_of<T: Named>(raw: i32) -> String {
    match T::try_from(raw) {
        Ok(value) => value.short().to_owned(),
        Err(_) => format!("UNKNOWN({raw})"),
    }
}

/// Short names of a repeated enum field.
pub fn names_of<T: Named>(raw: &[i32]) -> Vec<String> {
    raw.iter().map(|value| name_of::<T>(*value)).collect()
}

impl Named for ReferralState {
    const WHAT: &'static str = "referral state";
    const PREFIX: &'static str = "REFERRAL_STATE_";
    const CHOICES: &'static [Self] = &[
        Self::Requested,
        Self::Received,
        Self::Accepted,
        Self::Declined,
        Self::InProgress,
        Self::OnHold,
        Self::Completed,
        Self::Failed,
        Self::Cancelled,
    ];
    fn short(self) -> &'static str {
        match self {
            Self::Unspecified => "UNSPECIFIED",
            Self::Requested => "REQUESTED",
            Self::Received => "RECEIVED",
            Self::Accepted => "ACCEPTED",
            Self::Declined => "DECLINED",
            Self::InProgress => "IN_PROGRESS",
            Self::OnHold => "ON_HOLD",
            Self::Completed => "COMPLETED",
            Self::Failed => "FAILED",
            Self::Cancelled => "CANCELLED",
        }
    }
}

/// Reason codes the hub sets itself (consent revoked or expired, case closed) are not offered.
impl Named for ReasonCode {
    const WHAT: &'static str = "reason code";
    const PREFIX: &'static str = "REASON_CODE_";
    const CHOICES: &'static [Self] = &[
        Self::NotResponsible,
        Self::NoCapacity,
        Self::NoEntitlement,
        Self::HouseholdUnreachable,
        Self::HelpRefused,
        Self::Duplicate,
        Self::Other,
    ];
    fn short(self) -> &'static str {
        match self {
            Self::Unspecified => "UNSPECIFIED",
            Self::NotResponsible => "NOT_RESPONSIBLE",
            Self::NoCapacity => "NO_CAPACITY",
            Self::NoEntitlement => "NO_ENTITLEMENT",
            Self::HouseholdUnreachable => "HOUSEHOLD_UNREACHABLE",
            Self::HelpRefused => "HELP_REFUSED",
            Self::Duplicate => "DUPLICATE",
            Self::ConsentRevoked => "CONSENT_REVOKED",
            Self::ConsentExpired => "CONSENT_EXPIRED",
            Self::CaseClosed => "CASE_CLOSED",
            Self::Other => "OTHER",
        }
    }
}

impl Named for CompletionResult {
    const WHAT: &'static str = "completion result";
    const PREFIX: &'static str = "COMPLETION_RESULT_";
    const CHOICES: &'static [Self] =
        &[Self::ApprovedLoan, Self::ApprovedGrant, Self::AgreementReached, Self::ServiceProvided, Self::Rejected];
    fn short(self) -> &'static str {
        match self {
            Self::Unspecified => "UNSPECIFIED",
            Self::ApprovedLoan => "APPROVED_LOAN",
            Self::ApprovedGrant => "APPROVED_GRANT",
            Self::AgreementReached => "AGREEMENT_REACHED",
            Self::ServiceProvided => "SERVICE_PROVIDED",
            Self::Rejected => "REJECTED",
        }
    }
}

impl Named for ReferralCategory {
    const WHAT: &'static str = "referral category";
    const PREFIX: &'static str = "REFERRAL_CATEGORY_";
    const CHOICES: &'static [Self] = &[
        Self::RentDebtTakeoverSgb2,
        Self::RentDebtTakeoverSgb12,
        Self::DirectRentPayment,
        Self::BenefitApplication,
        Self::DebtCounselling,
        Self::SocialPedagogicalSupport,
        Self::Spd,
        Self::Ksd,
        Self::FlatClearing,
        Self::WomensCounselling,
        Self::LegalAdvice,
        Self::ReplacementHousing,
        Self::EmergencyAccommodation,
        Self::LandlordAgreement,
    ];
    fn short(self) -> &'static str {
        match self {
            Self::Unspecified => "UNSPECIFIED",
            Self::RentDebtTakeoverSgb2 => "RENT_DEBT_TAKEOVER_SGB2",
            Self::RentDebtTakeoverSgb12 => "RENT_DEBT_TAKEOVER_SGB12",
            Self::DirectRentPayment => "DIRECT_RENT_PAYMENT",
            Self::BenefitApplication => "BENEFIT_APPLICATION",
            Self::DebtCounselling => "DEBT_COUNSELLING",
            Self::SocialPedagogicalSupport => "SOCIAL_PEDAGOGICAL_SUPPORT",
            Self::Spd => "SPD",
            Self::Ksd => "KSD",
            Self::FlatClearing => "FLAT_CLEARING",
            Self::WomensCounselling => "WOMENS_COUNSELLING",
            Self::LegalAdvice => "LEGAL_ADVICE",
            Self::ReplacementHousing => "REPLACEMENT_HOUSING",
            Self::EmergencyAccommodation => "EMERGENCY_ACCOMMODATION",
            Self::LandlordAgreement => "LANDLORD_AGREEMENT",
        }
    }
}

impl Named for DataCategory {
    const WHAT: &'static str = "data category";
    const PREFIX: &'static str = "DATA_CATEGORY_";
    const CHOICES: &'static [Self] = &[
        Self::Identity,
        Self::Contact,
        Self::Tenancy,
        Self::Arrears,
        Self::IncomeBenefits,
        Self::Health,
        Self::CounsellingNotes,
        Self::Outcome,
    ];
    fn short(self) -> &'static str {
        match self {
            Self::Unspecified => "UNSPECIFIED",
            Self::Identity => "IDENTITY",
            Self::Contact => "CONTACT",
            Self::Tenancy => "TENANCY",
            Self::Arrears => "ARREARS",
            Self::IncomeBenefits => "INCOME_BENEFITS",
            Self::Health => "HEALTH",
            Self::CounsellingNotes => "COUNSELLING_NOTES",
            Self::Outcome => "OUTCOME",
        }
    }
}

impl Named for OrganisationKind {
    const WHAT: &'static str = "organisation kind";
    const PREFIX: &'static str = "ORGANISATION_KIND_";
    const CHOICES: &'static [Self] = &[
        Self::Fachstelle,
        Self::Jobcenter,
        Self::SocialServices,
        Self::DebtCounselling,
        Self::HousingCompany,
        Self::SocialWorkProvider,
        Self::WomensCounselling,
    ];
    fn short(self) -> &'static str {
        match self {
            Self::Unspecified => "UNSPECIFIED",
            Self::Fachstelle => "FACHSTELLE",
            Self::Jobcenter => "JOBCENTER",
            Self::SocialServices => "SOCIAL_SERVICES",
            Self::DebtCounselling => "DEBT_COUNSELLING",
            Self::HousingCompany => "HOUSING_COMPANY",
            Self::SocialWorkProvider => "SOCIAL_WORK_PROVIDER",
            Self::WomensCounselling => "WOMENS_COUNSELLING",
        }
    }
}

/// Moves are never typed (each has its own subcommand), so there are no choices.
impl Named for ReferralMove {
    const WHAT: &'static str = "referral move";
    const PREFIX: &'static str = "REFERRAL_MOVE_";
    const CHOICES: &'static [Self] = &[];
    fn short(self) -> &'static str {
        match self {
            Self::Unspecified => "UNSPECIFIED",
            Self::Acknowledge => "ACKNOWLEDGE",
            Self::Accept => "ACCEPT",
            Self::Decline => "DECLINE",
            Self::Start => "START",
            Self::Hold => "HOLD",
            Self::Complete => "COMPLETE",
            Self::Fail => "FAIL",
            Self::Cancel => "CANCEL",
            Self::Reopen => "REOPEN",
        }
    }
}

/// The hubctl subcommand that makes a move, so `show` can say what to type next.
pub fn move_command(raw: i32) -> String {
    match ReferralMove::try_from(raw) {
        Ok(ReferralMove::Acknowledge) => "ack".to_owned(),
        Ok(ReferralMove::Accept) => "accept".to_owned(),
        Ok(ReferralMove::Decline) => "decline".to_owned(),
        Ok(ReferralMove::Start) => "start".to_owned(),
        Ok(ReferralMove::Hold) => "hold".to_owned(),
        Ok(ReferralMove::Complete) => "complete".to_owned(),
        Ok(ReferralMove::Fail) => "fail".to_owned(),
        Ok(ReferralMove::Cancel) => "cancel".to_owned(),
        Ok(ReferralMove::Reopen) => "reopen".to_owned(),
        Ok(ReferralMove::Unspecified) | Err(_) => name_of::<ReferralMove>(raw),
    }
}

impl Named for Channel {
    const WHAT: &'static str = "channel";
    const PREFIX: &'static str = "CHANNEL_";
    const CHOICES: &'static [Self] = &[Self::Grpc, Self::Email];
    fn short(self) -> &'static str {
        match self {
            Self::Unspecified => "UNSPECIFIED",
            Self::Grpc => "GRPC",
            Self::Email => "EMAIL",
        }
    }
}

impl Named for EventKind {
    const WHAT: &'static str = "event kind";
    const PREFIX: &'static str = "EVENT_KIND_";
    const CHOICES: &'static [Self] = &[];
    fn short(self) -> &'static str {
        match self {
            Self::Unspecified => "UNSPECIFIED",
            Self::ReferralCreated => "REFERRAL_CREATED",
            Self::ReferralStateChanged => "REFERRAL_STATE_CHANGED",
            Self::NoteAdded => "NOTE_ADDED",
            Self::ConsentRevoked => "CONSENT_REVOKED",
            Self::ConsentExpired => "CONSENT_EXPIRED",
            Self::CaseClosed => "CASE_CLOSED",
            Self::CaseOpened => "CASE_OPENED",
            Self::ConsentRecorded => "CONSENT_RECORDED",
            Self::ThreatStageRecorded => "THREAT_STAGE_RECORDED",
            Self::ReferralOverdue => "REFERRAL_OVERDUE",
            Self::ReferralEscalated => "REFERRAL_ESCALATED",
            Self::DeadlineApproaching => "DEADLINE_APPROACHING",
            Self::NoticeReceived => "NOTICE_RECEIVED",
            Self::DeliveryFailed => "DELIVERY_FAILED",
            Self::ProcessingRestricted => "PROCESSING_RESTRICTED",
            Self::RestrictionLifted => "RESTRICTION_LIFTED",
            Self::CaseErased => "CASE_ERASED",
            Self::CaseDataRectified => "CASE_DATA_RECTIFIED",
        }
    }
}

impl Named for DeliveryStatus {
    const WHAT: &'static str = "delivery status";
    const PREFIX: &'static str = "DELIVERY_STATUS_";
    const CHOICES: &'static [Self] = &[Self::Pending, Self::Sent, Self::Dead];
    fn short(self) -> &'static str {
        match self {
            Self::Unspecified => "UNSPECIFIED",
            Self::Pending => "PENDING",
            Self::Sent => "SENT",
            Self::Dead => "DEAD",
        }
    }
}

impl Named for MailKind {
    const WHAT: &'static str = "mail kind";
    const PREFIX: &'static str = "MAIL_KIND_";
    const CHOICES: &'static [Self] = &[];
    fn short(self) -> &'static str {
        match self {
            Self::Unspecified => "UNSPECIFIED",
            Self::NewReferral => "NEW_REFERRAL",
            Self::StateChanged => "STATE_CHANGED",
            Self::NoteAdded => "NOTE_ADDED",
            Self::Reminder => "REMINDER",
            Self::Overdue => "OVERDUE",
            Self::ConsentEnded => "CONSENT_ENDED",
            Self::CaseClosed => "CASE_CLOSED",
            Self::ActionConfirmed => "ACTION_CONFIRMED",
            Self::ProcessingRestricted => "PROCESSING_RESTRICTED",
            Self::RestrictionLifted => "RESTRICTION_LIFTED",
            Self::CaseErased => "CASE_ERASED",
            Self::CaseDataRectified => "CASE_DATA_RECTIFIED",
            Self::DataRequest => "DATA_REQUEST",
        }
    }
}

impl Named for LegalBasisKind {
    const WHAT: &'static str = "legal basis kind";
    const PREFIX: &'static str = "LEGAL_BASIS_KIND_";
    const CHOICES: &'static [Self] = &[];
    fn short(self) -> &'static str {
        match self {
            Self::Unspecified => "UNSPECIFIED",
            Self::Consent => "CONSENT",
            Self::Statute => "STATUTE",
        }
    }
}

impl Named for PersonRole {
    const WHAT: &'static str = "person role";
    const PREFIX: &'static str = "PERSON_ROLE_";
    const CHOICES: &'static [Self] = &[];
    fn short(self) -> &'static str {
        match self {
            Self::Unspecified => "UNSPECIFIED",
            Self::MainTenant => "MAIN_TENANT",
            Self::CoTenant => "CO_TENANT",
            Self::Partner => "PARTNER",
            Self::Child => "CHILD",
            Self::Other => "OTHER",
        }
    }
}

impl Named for Gender {
    const WHAT: &'static str = "gender";
    const PREFIX: &'static str = "GENDER_";
    const CHOICES: &'static [Self] = &[];
    fn short(self) -> &'static str {
        match self {
            Self::Unspecified => "UNSPECIFIED",
            Self::Female => "FEMALE",
            Self::Male => "MALE",
            Self::Diverse => "DIVERSE",
            Self::Undisclosed => "UNDISCLOSED",
        }
    }
}

impl Named for Stadtbezirk {
    const WHAT: &'static str = "Stadtbezirk";
    const PREFIX: &'static str = "STADTBEZIRK_";
    const CHOICES: &'static [Self] = &[];
    fn short(self) -> &'static str {
        match self {
            Self::Unspecified => "UNSPECIFIED",
            Self::Mitte => "MITTE",
            Self::VahrenwaldList => "VAHRENWALD_LIST",
            Self::BothfeldVahrenheide => "BOTHFELD_VAHRENHEIDE",
            Self::BuchholzKleefeld => "BUCHHOLZ_KLEEFELD",
            Self::MisburgAnderten => "MISBURG_ANDERTEN",
            Self::KirchrodeBemerodeWuelferode => "KIRCHRODE_BEMERODE_WUELFERODE",
            Self::SuedstadtBult => "SUEDSTADT_BULT",
            Self::DoehrenWuelfel => "DOEHREN_WUELFEL",
            Self::Ricklingen => "RICKLINGEN",
            Self::LindenLimmer => "LINDEN_LIMMER",
            Self::AhlemBadenstedtDavenstedt => "AHLEM_BADENSTEDT_DAVENSTEDT",
            Self::HerrenhausenStoecken => "HERRENHAUSEN_STOECKEN",
            Self::Nord => "NORD",
        }
    }
}

impl Named for ThreatStage {
    const WHAT: &'static str = "threat stage";
    const PREFIX: &'static str = "THREAT_STAGE_";
    const CHOICES: &'static [Self] = &[];
    fn short(self) -> &'static str {
        match self {
            Self::Unspecified => "UNSPECIFIED",
            Self::Rueckstand => "RUECKSTAND",
            Self::Mahnung => "MAHNUNG",
            Self::KuendigungAngedroht => "KUENDIGUNG_ANGEDROHT",
            Self::KuendigungFristlos => "KUENDIGUNG_FRISTLOS",
            Self::KuendigungOrdentlich => "KUENDIGUNG_ORDENTLICH",
            Self::KlageEingereicht => "KLAGE_EINGEREICHT",
            Self::Rechtshaengig => "RECHTSHAENGIG",
            Self::Urteil => "URTEIL",
            Self::Versaeumnisurteil => "VERSAEUMNISURTEIL",
            Self::Vergleich => "VERGLEICH",
            Self::Raeumungsfrist => "RAEUMUNGSFRIST",
            Self::Raeumungstermin => "RAEUMUNGSTERMIN",
            Self::Geraeumt => "GERAEUMT",
        }
    }
}

impl Named for NoticeOutcome {
    const WHAT: &'static str = "notice outcome";
    const PREFIX: &'static str = "NOTICE_OUTCOME_";
    const CHOICES: &'static [Self] = &[];
    fn short(self) -> &'static str {
        match self {
            Self::Unspecified => "UNSPECIFIED",
            Self::Accepted => "ACCEPTED",
            Self::Updated => "UPDATED",
            Self::Unchanged => "UNCHANGED",
            Self::Rejected => "REJECTED",
        }
    }
}

impl Named for NoticeProgress {
    const WHAT: &'static str = "notice progress";
    const PREFIX: &'static str = "NOTICE_PROGRESS_";
    const CHOICES: &'static [Self] = &[];
    fn short(self) -> &'static str {
        match self {
            Self::Unspecified => "UNSPECIFIED",
            Self::Received => "RECEIVED",
            Self::ContactEstablished => "CONTACT_ESTABLISHED",
            Self::SupportInProgress => "SUPPORT_IN_PROGRESS",
            Self::TakeoverApproved => "TAKEOVER_APPROVED",
            Self::Closed => "CLOSED",
        }
    }
}

impl Named for NoticeSource {
    const WHAT: &'static str = "notice source";
    const PREFIX: &'static str = "NOTICE_SOURCE_";
    const CHOICES: &'static [Self] = &[];
    fn short(self) -> &'static str {
        match self {
            Self::Unspecified => "UNSPECIFIED",
            Self::HousingCompany => "HOUSING_COMPANY",
            Self::Court => "COURT",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kebab_upper_and_prefixed_forms() {
        for input in ["not-responsible", "NOT_RESPONSIBLE", "Not-Responsible", "reason-code-not-responsible"] {
            assert_eq!(parse::<ReasonCode>(input), Ok(ReasonCode::NotResponsible), "{input}");
        }
        assert_eq!(parse::<ReferralCategory>("rent-debt-takeover-sgb2"), Ok(ReferralCategory::RentDebtTakeoverSgb2));
        assert_eq!(parse::<CompletionResult>("approved-loan"), Ok(CompletionResult::ApprovedLoan));
        assert_eq!(parse::<ReferralState>("in-progress"), Ok(ReferralState::InProgress));
    }

    #[test]
    fn unknown_value_lists_the_valid_ones() {
        let Err(message) = parse::<ReasonCode>("bored") else {
            panic!("'bored' must not parse");
        };
        assert!(message.contains("unknown reason code 'bored'"), "{message}");
        assert!(message.contains("not-responsible"), "{message}");
        assert!(!message.contains("consent-revoked"), "{message}");
    }

    #[test]
    fn hub_only_and_unspecified_values_are_refused() {
        assert!(parse::<ReasonCode>("consent-revoked").is_err());
        assert!(parse::<ReferralState>("unspecified").is_err());
    }

    #[test]
    fn every_choice_round_trips() {
        fn check<T: Named + PartialEq + std::fmt::Debug>() {
            for choice in T::CHOICES {
                assert_eq!(parse::<T>(&kebab(choice.short())), Ok(*choice));
            }
        }
        check::<ReferralState>();
        check::<ReasonCode>();
        check::<CompletionResult>();
        check::<ReferralCategory>();
        check::<DataCategory>();
        check::<OrganisationKind>();
        check::<Channel>();
    }

    #[test]
    fn unknown_wire_values_do_not_fail() {
        assert_eq!(name_of::<ReferralState>(1), "REQUESTED");
        assert_eq!(name_of::<ReferralState>(99), "UNKNOWN(99)");
    }
}
