//! Short names of the API's enums, both ways.
//!
//! Users type `not-responsible` or `NOT_RESPONSIBLE`; the hub's own error messages say `REQUESTED`
//! and `ACKNOWLEDGE`. The short name is the proto's own value name (prost's `as_str_name`) without
//! the enum's prefix, so a new proto value prints by its name without a change here; each enum keeps
//! an explicit list of the values a user may type, so hub-only values (e.g. `CONSENT_REVOKED`) are
//! not offered as input.

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
    /// The value's name in the proto, e.g. `REASON_CODE_NOT_RESPONSIBLE` (prost's `as_str_name`).
    fn proto_name(self) -> &'static str;
    /// The short name, e.g. `NOT_RESPONSIBLE`: the proto name without its prefix.
    fn short(self) -> &'static str {
        let name = self.proto_name();
        name.strip_prefix(Self::PREFIX).unwrap_or(name)
    }
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
    fn proto_name(self) -> &'static str {
        self.as_str_name()
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
    fn proto_name(self) -> &'static str {
        self.as_str_name()
    }
}

impl Named for CompletionResult {
    const WHAT: &'static str = "completion result";
    const PREFIX: &'static str = "COMPLETION_RESULT_";
    const CHOICES: &'static [Self] =
        &[Self::ApprovedLoan, Self::ApprovedGrant, Self::AgreementReached, Self::ServiceProvided, Self::Rejected];
    fn proto_name(self) -> &'static str {
        self.as_str_name()
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
    fn proto_name(self) -> &'static str {
        self.as_str_name()
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
    fn proto_name(self) -> &'static str {
        self.as_str_name()
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
    fn proto_name(self) -> &'static str {
        self.as_str_name()
    }
}

/// Moves are never typed (each has its own subcommand), so there are no choices.
impl Named for ReferralMove {
    const WHAT: &'static str = "referral move";
    const PREFIX: &'static str = "REFERRAL_MOVE_";
    const CHOICES: &'static [Self] = &[];
    fn proto_name(self) -> &'static str {
        self.as_str_name()
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
    fn proto_name(self) -> &'static str {
        self.as_str_name()
    }
}

impl Named for EventKind {
    const WHAT: &'static str = "event kind";
    const PREFIX: &'static str = "EVENT_KIND_";
    const CHOICES: &'static [Self] = &[];
    fn proto_name(self) -> &'static str {
        self.as_str_name()
    }
}

impl Named for DeliveryStatus {
    const WHAT: &'static str = "delivery status";
    const PREFIX: &'static str = "DELIVERY_STATUS_";
    const CHOICES: &'static [Self] = &[Self::Pending, Self::Sent, Self::Dead];
    fn proto_name(self) -> &'static str {
        self.as_str_name()
    }
}

impl Named for MailKind {
    const WHAT: &'static str = "mail kind";
    const PREFIX: &'static str = "MAIL_KIND_";
    const CHOICES: &'static [Self] = &[];
    fn proto_name(self) -> &'static str {
        self.as_str_name()
    }
}

impl Named for LegalBasisKind {
    const WHAT: &'static str = "legal basis kind";
    const PREFIX: &'static str = "LEGAL_BASIS_KIND_";
    const CHOICES: &'static [Self] = &[];
    fn proto_name(self) -> &'static str {
        self.as_str_name()
    }
}

impl Named for PersonRole {
    const WHAT: &'static str = "person role";
    const PREFIX: &'static str = "PERSON_ROLE_";
    const CHOICES: &'static [Self] = &[];
    fn proto_name(self) -> &'static str {
        self.as_str_name()
    }
}

impl Named for Gender {
    const WHAT: &'static str = "gender";
    const PREFIX: &'static str = "GENDER_";
    const CHOICES: &'static [Self] = &[];
    fn proto_name(self) -> &'static str {
        self.as_str_name()
    }
}

impl Named for Stadtbezirk {
    const WHAT: &'static str = "Stadtbezirk";
    const PREFIX: &'static str = "STADTBEZIRK_";
    const CHOICES: &'static [Self] = &[];
    fn proto_name(self) -> &'static str {
        self.as_str_name()
    }
}

impl Named for ThreatStage {
    const WHAT: &'static str = "threat stage";
    const PREFIX: &'static str = "THREAT_STAGE_";
    const CHOICES: &'static [Self] = &[];
    fn proto_name(self) -> &'static str {
        self.as_str_name()
    }
}

impl Named for NoticeOutcome {
    const WHAT: &'static str = "notice outcome";
    const PREFIX: &'static str = "NOTICE_OUTCOME_";
    const CHOICES: &'static [Self] = &[];
    fn proto_name(self) -> &'static str {
        self.as_str_name()
    }
}

impl Named for NoticeProgress {
    const WHAT: &'static str = "notice progress";
    const PREFIX: &'static str = "NOTICE_PROGRESS_";
    const CHOICES: &'static [Self] = &[];
    fn proto_name(self) -> &'static str {
        self.as_str_name()
    }
}

impl Named for NoticeSource {
    const WHAT: &'static str = "notice source";
    const PREFIX: &'static str = "NOTICE_SOURCE_";
    const CHOICES: &'static [Self] = &[];
    fn proto_name(self) -> &'static str {
        self.as_str_name()
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
