//! The hub's vocabularies. Each enum has one text mapping (`as_str`/`parse`), used for storage and
//! messages, so no state is ever compared as a string literal elsewhere.

use serde::{Deserialize, Serialize};

macro_rules! text_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $s:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name { $($(#[$vm])* $v),* }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$v),*];

            /// The stored and displayed name.
            pub const fn as_str(self) -> &'static str {
                match self { $(Self::$v => $s),* }
            }

            /// Parses the stored name.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($s => Some(Self::$v),)* _ => None }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use text_enum;

text_enum!(
    /// Kind of a partner organisation.
    OrgKind {
        /// Fachstelle Wohnungserhalt: owns cases.
        Fachstelle = "FACHSTELLE",
        /// Jobcenter (SGB II).
        Jobcenter = "JOBCENTER",
        /// City social services (SGB XII, KSD, SpD).
        SocialServices = "SOCIAL_SERVICES",
        /// Charity-run debt counselling.
        DebtCounselling = "DEBT_COUNSELLING",
        /// Housing company or landlord.
        HousingCompany = "HOUSING_COMPANY",
        /// Social-work provider (Träger).
        SocialWorkProvider = "SOCIAL_WORK_PROVIDER",
        /// Women's counselling.
        WomensCounselling = "WOMENS_COUNSELLING",
    }
);

impl OrgKind {
    /// Social benefit bodies (§35 SGB I) may exchange social data under §69(1) Nr.1 SGB X for their
    /// statutory tasks. Every other kind is a private recipient and needs consent.
    pub fn is_social_benefit_body(self) -> bool {
        matches!(self, OrgKind::Fachstelle | OrgKind::Jobcenter | OrgKind::SocialServices)
    }

    /// Charity-run counselling and social work, whose staff are bound by professional secrecy
    /// (§203 StGB): what they report back to the Fachstelle about a household needs the household's
    /// release from that secrecy (DOMAIN.md rule 2).
    pub fn bound_by_professional_secrecy(self) -> bool {
        matches!(self, OrgKind::DebtCounselling | OrgKind::SocialWorkProvider | OrgKind::WomensCounselling)
    }
}

text_enum!(
    /// Delivery channel of an organisation.
    Channel {
        /// Calls the hub over gRPC.
        Grpc = "GRPC",
        /// Reached by email notices.
        Email = "EMAIL",
    }
);

text_enum!(
    /// What a referral asks the recipient to do.
    ReferralCategory {
        /// §22(8) SGB II.
        RentDebtTakeoverSgb2 = "RENT_DEBT_TAKEOVER_SGB2",
        /// §36 SGB XII.
        RentDebtTakeoverSgb12 = "RENT_DEBT_TAKEOVER_SGB12",
        /// §22(7) SGB II.
        DirectRentPayment = "DIRECT_RENT_PAYMENT",
        /// Benefit application.
        BenefitApplication = "BENEFIT_APPLICATION",
        /// Debt counselling.
        DebtCounselling = "DEBT_COUNSELLING",
        /// Social-pedagogical support.
        SocialPedagogicalSupport = "SOCIAL_PEDAGOGICAL_SUPPORT",
        /// Sozialpädagogischer Dienst.
        Spd = "SPD",
        /// Kommunaler Sozialdienst.
        Ksd = "KSD",
        /// Clearing and cleaning of the flat.
        FlatClearing = "FLAT_CLEARING",
        /// Women's counselling / violence protection.
        WomensCounselling = "WOMENS_COUNSELLING",
        /// Legal advice.
        LegalAdvice = "LEGAL_ADVICE",
        /// Replacement housing.
        ReplacementHousing = "REPLACEMENT_HOUSING",
        /// Emergency accommodation.
        EmergencyAccommodation = "EMERGENCY_ACCOMMODATION",
        /// Landlord agreement.
        LandlordAgreement = "LANDLORD_AGREEMENT",
    }
);

impl ReferralCategory {
    /// The data a referral of this category cannot do without: who the household is, and for a rent-debt
    /// takeover the arrears, for direct rent payment the tenancy. When a consent ends and one of these
    /// loses its last basis, the referral cannot serve its purpose any more (see
    /// [`super::referral::Referral::survives_basis_loss`]).
    pub fn essential_data(self) -> &'static [DataCategory] {
        match self {
            ReferralCategory::RentDebtTakeoverSgb2 | ReferralCategory::RentDebtTakeoverSgb12 => {
                &[DataCategory::Identity, DataCategory::Arrears]
            }
            ReferralCategory::DirectRentPayment => &[DataCategory::Identity, DataCategory::Tenancy],
            _ => &[DataCategory::Identity],
        }
    }

    /// The topic under which a result of this category may be shared as OUTCOME, or `None` when
    /// the result itself is sensitive (that someone is in debt counselling, women's counselling or
    /// social work says more about causes than a landlord or an authority may learn). The topic
    /// hides which benefit law paid, since that would reveal benefit status.
    pub fn outcome_topic(self) -> Option<&'static str> {
        match self {
            ReferralCategory::RentDebtTakeoverSgb2 | ReferralCategory::RentDebtTakeoverSgb12 => {
                Some("RENT_DEBT_TAKEOVER")
            }
            ReferralCategory::DirectRentPayment => Some("DIRECT_RENT_PAYMENT"),
            ReferralCategory::LandlordAgreement => Some("LANDLORD_AGREEMENT"),
            _ => None,
        }
    }
}

text_enum!(
    /// A category of personal data.
    DataCategory {
        /// Names, roles, gender, birth year.
        Identity = "IDENTITY",
        /// Address, phone, email.
        Contact = "CONTACT",
        /// Tenancy, rent, threat stages, district.
        Tenancy = "TENANCY",
        /// Arrears.
        Arrears = "ARREARS",
        /// Income and benefit status.
        IncomeBenefits = "INCOME_BENEFITS",
        /// Health (Art. 9 GDPR).
        Health = "HEALTH",
        /// Counselling notes.
        CounsellingNotes = "COUNSELLING_NOTES",
        /// Results of referrals.
        Outcome = "OUTCOME",
    }
);

impl DataCategory {
    /// Categories a housing company never receives, whatever the consent says (DOMAIN.md rule 4).
    pub fn forbidden_for_housing_company(self) -> bool {
        matches!(self, DataCategory::IncomeBenefits | DataCategory::Health | DataCategory::CounsellingNotes)
    }

    /// A special category of personal data (Art. 9(1) GDPR): disclosed only under the person's
    /// separate explicit consent (`Consent::art9_explicit`, Art. 9(2)(a) GDPR) and shown apart from
    /// the other categories wherever consents, disclosures or reads are listed. Of the hub's
    /// categories only HEALTH is one. Counselling notes need consent because of professional
    /// secrecy (§203 StGB), not because of Art. 9.
    pub fn is_special(self) -> bool {
        matches!(self, DataCategory::Health)
    }
}

text_enum!(
    /// Reason code for a decline, failure or cancellation.
    ReasonCode {
        /// Not responsible.
        NotResponsible = "NOT_RESPONSIBLE",
        /// No capacity.
        NoCapacity = "NO_CAPACITY",
        /// No entitlement.
        NoEntitlement = "NO_ENTITLEMENT",
        /// Household unreachable.
        HouseholdUnreachable = "HOUSEHOLD_UNREACHABLE",
        /// Help refused.
        HelpRefused = "HELP_REFUSED",
        /// Duplicate.
        Duplicate = "DUPLICATE",
        /// Consent revoked (hub only).
        ConsentRevoked = "CONSENT_REVOKED",
        /// Consent expired (hub only).
        ConsentExpired = "CONSENT_EXPIRED",
        /// Case closed (hub only).
        CaseClosed = "CASE_CLOSED",
        /// Other, see text.
        Other = "OTHER",
    }
);

impl ReasonCode {
    /// Codes only the hub itself sets; a client may not use them.
    pub fn is_hub_only(self) -> bool {
        matches!(self, ReasonCode::ConsentRevoked | ReasonCode::ConsentExpired | ReasonCode::CaseClosed)
    }
}

text_enum!(
    /// Result of a completed referral.
    CompletionResult {
        /// Approved as a loan.
        ApprovedLoan = "APPROVED_LOAN",
        /// Approved as a grant.
        ApprovedGrant = "APPROVED_GRANT",
        /// Agreement reached.
        AgreementReached = "AGREEMENT_REACHED",
        /// Service provided.
        ServiceProvided = "SERVICE_PROVIDED",
        /// Rejected after examination.
        Rejected = "REJECTED",
    }
);

text_enum!(
    /// Threat stage of a tenancy, earliest first.
    ThreatStage {
        /// Arrears.
        Rueckstand = "RUECKSTAND",
        /// Reminder.
        Mahnung = "MAHNUNG",
        /// Termination threatened.
        KuendigungAngedroht = "KUENDIGUNG_ANGEDROHT",
        /// Termination without notice.
        KuendigungFristlos = "KUENDIGUNG_FRISTLOS",
        /// Ordinary termination.
        KuendigungOrdentlich = "KUENDIGUNG_ORDENTLICH",
        /// Lawsuit filed.
        KlageEingereicht = "KLAGE_EINGEREICHT",
        /// Claim served.
        Rechtshaengig = "RECHTSHAENGIG",
        /// Judgment.
        Urteil = "URTEIL",
        /// Default judgment.
        Versaeumnisurteil = "VERSAEUMNISURTEIL",
        /// Settlement.
        Vergleich = "VERGLEICH",
        /// Period to vacate.
        Raeumungsfrist = "RAEUMUNGSFRIST",
        /// Eviction date set.
        Raeumungstermin = "RAEUMUNGSTERMIN",
        /// Evicted.
        Geraeumt = "GERAEUMT",
    }
);

text_enum!(
    /// Role in the household.
    PersonRole {
        /// Main tenant.
        MainTenant = "MAIN_TENANT",
        /// Co-tenant.
        CoTenant = "CO_TENANT",
        /// Partner.
        Partner = "PARTNER",
        /// Child.
        Child = "CHILD",
        /// Other.
        Other = "OTHER",
    }
);

text_enum!(
    /// Gender for the statistics.
    Gender {
        /// Female.
        Female = "FEMALE",
        /// Male.
        Male = "MALE",
        /// Diverse.
        Diverse = "DIVERSE",
        /// Not disclosed.
        Undisclosed = "UNDISCLOSED",
    }
);

text_enum!(
    /// Route in (Zugangsweg).
    RouteIn {
        /// Housing company notice.
        HousingCompanyNotice = "HOUSING_COMPANY_NOTICE",
        /// Court notice (MiZi).
        CourtNotice = "COURT_NOTICE",
        /// Self-referral.
        SelfReferral = "SELF_REFERRAL",
        /// District consultation.
        DistrictConsultation = "DISTRICT_CONSULTATION",
        /// Jobcenter.
        Jobcenter = "JOBCENTER",
        /// Counselling centre.
        CounsellingCentre = "COUNSELLING_CENTRE",
        /// Bürgeramt.
        Buergeramt = "BUERGERAMT",
        /// Bailiff.
        Bailiff = "BAILIFF",
        /// Other.
        Other = "OTHER",
    }
);

text_enum!(
    /// Hannover's 13 Stadtbezirke.
    Stadtbezirk {
        /// Mitte.
        Mitte = "MITTE",
        /// Vahrenwald-List.
        VahrenwaldList = "VAHRENWALD_LIST",
        /// Bothfeld-Vahrenheide.
        BothfeldVahrenheide = "BOTHFELD_VAHRENHEIDE",
        /// Buchholz-Kleefeld.
        BuchholzKleefeld = "BUCHHOLZ_KLEEFELD",
        /// Misburg-Anderten.
        MisburgAnderten = "MISBURG_ANDERTEN",
        /// Kirchrode-Bemerode-Wülferode.
        KirchrodeBemerodeWuelferode = "KIRCHRODE_BEMERODE_WUELFERODE",
        /// Südstadt-Bult.
        SuedstadtBult = "SUEDSTADT_BULT",
        /// Döhren-Wülfel.
        DoehrenWuelfel = "DOEHREN_WUELFEL",
        /// Ricklingen.
        Ricklingen = "RICKLINGEN",
        /// Linden-Limmer.
        LindenLimmer = "LINDEN_LIMMER",
        /// Ahlem-Badenstedt-Davenstedt.
        AhlemBadenstedtDavenstedt = "AHLEM_BADENSTEDT_DAVENSTEDT",
        /// Herrenhausen-Stöcken.
        HerrenhausenStoecken = "HERRENHAUSEN_STOECKEN",
        /// Nord.
        Nord = "NORD",
    }
);

text_enum!(
    /// Household type.
    HouseholdType {
        /// Single.
        Single = "SINGLE",
        /// Single parent.
        SingleParent = "SINGLE_PARENT",
        /// Couple.
        Couple = "COUPLE",
        /// Couple with children.
        CoupleWithChildren = "COUPLE_WITH_CHILDREN",
        /// Other.
        Other = "OTHER",
    }
);

text_enum!(
    /// Case outcome.
    CaseOutcome {
        /// Tenancy kept.
        WohnungErhalten = "WOHNUNG_ERHALTEN",
        /// Replacement flat.
        Ersatzwohnraum = "ERSATZWOHNRAUM",
        /// Lost, emergency accommodation.
        VerlustUnterbringung = "VERLUST_UNTERBRINGUNG",
        /// Lost, staying with others.
        VerlustPrivat = "VERLUST_PRIVAT",
        /// No contact.
        KeinKontakt = "KEIN_KONTAKT",
        /// Contact broke off.
        KontaktAbgebrochen = "KONTAKT_ABGEBROCHEN",
        /// Help refused.
        HilfeAbgelehnt = "HILFE_ABGELEHNT",
        /// Moved, unknown.
        VerzogenUnbekannt = "VERZOGEN_UNBEKANNT",
        /// No need for action.
        KeinHandlungsbedarf = "KEIN_HANDLUNGSBEDARF",
    }
);

text_enum!(
    /// How a kept tenancy was secured.
    RescueMeans {
        /// SGB II loan.
        Sgb2Loan = "SGB2_LOAN",
        /// SGB XII loan.
        Sgb12Loan = "SGB12_LOAN",
        /// SGB XII grant.
        Sgb12Grant = "SGB12_GRANT",
        /// Instalment plan.
        InstalmentPlan = "INSTALMENT_PLAN",
        /// Own means.
        OwnMeans = "OWN_MEANS",
        /// Settlement.
        Settlement = "SETTLEMENT",
    }
);

text_enum!(
    /// Form of a consent.
    ConsentForm {
        /// Written.
        Written = "WRITTEN",
        /// Electronic.
        Electronic = "ELECTRONIC",
    }
);

text_enum!(
    /// Status of a consent as stored; expiry by date is also checked at read time.
    ConsentStatus {
        /// In force.
        Active = "ACTIVE",
        /// Revoked.
        Revoked = "REVOKED",
        /// Expired (the sweep processed it).
        Expired = "EXPIRED",
        /// Ended with the closure of its case (a consent runs until the case closes at the latest).
        Ended = "ENDED",
        /// Replaced by a new version (amended or renewed).
        Superseded = "SUPERSEDED",
    }
);

text_enum!(
    /// What an event reports.
    EventKind {
        /// Referral created.
        ReferralCreated = "REFERRAL_CREATED",
        /// Referral state changed.
        ReferralStateChanged = "REFERRAL_STATE_CHANGED",
        /// Note added.
        NoteAdded = "NOTE_ADDED",
        /// Consent revoked.
        ConsentRevoked = "CONSENT_REVOKED",
        /// Consent expired.
        ConsentExpired = "CONSENT_EXPIRED",
        /// Case closed.
        CaseClosed = "CASE_CLOSED",
        /// Case opened.
        CaseOpened = "CASE_OPENED",
        /// Consent recorded.
        ConsentRecorded = "CONSENT_RECORDED",
        /// Threat stage recorded.
        ThreatStageRecorded = "THREAT_STAGE_RECORDED",
        /// Referral overdue.
        ReferralOverdue = "REFERRAL_OVERDUE",
        /// Referral escalated.
        ReferralEscalated = "REFERRAL_ESCALATED",
        /// Deadline approaching.
        DeadlineApproaching = "DEADLINE_APPROACHING",
        /// Notice received.
        NoticeReceived = "NOTICE_RECEIVED",
        /// A mail to an email partner could not be delivered (Fachstelle).
        DeliveryFailed = "DELIVERY_FAILED",
        /// Processing of a case's data was restricted (Art. 18 GDPR).
        ProcessingRestricted = "PROCESSING_RESTRICTED",
        /// A restriction of processing was lifted.
        RestrictionLifted = "RESTRICTION_LIFTED",
        /// The case was erased (Art. 17, §84 SGB X); recipients of its referrals are told (Art. 19).
        CaseErased = "CASE_ERASED",
        /// Data of the case was corrected (Art. 16 GDPR); every recipient that received a corrected
        /// category is told, per referral, with the categories it received (Art. 19 GDPR).
        CaseDataRectified = "CASE_DATA_RECTIFIED",
    }
);

text_enum!(
    /// Status of a case.
    CaseStatus {
        /// Open.
        Open = "OPEN",
        /// Closed.
        Closed = "CLOSED",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_mapping_round_trips() {
        for k in DataCategory::ALL {
            assert_eq!(DataCategory::parse(k.as_str()), Some(*k));
        }
        for k in ThreatStage::ALL {
            assert_eq!(ThreatStage::parse(k.as_str()), Some(*k));
        }
        assert_eq!(OrgKind::parse("nope"), None);
    }
}
