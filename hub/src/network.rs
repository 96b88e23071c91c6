//! The standard partner network of the demo and the tests: one organisation of each kind, with
//! synthetic names (no real organisation is meant).

use hub_proto::v1 as pb;
use pb::ReferralCategory as C;

/// Organisation ids of the standard network.
pub mod orgs {
    /// Fachstelle Wohnungserhalt.
    pub const FACHSTELLE: &str = "fachstelle-hannover";
    /// Jobcenter.
    pub const JOBCENTER: &str = "jobcenter-hannover";
    /// City social services.
    pub const SOZIALAMT: &str = "sozialamt-hannover";
    /// Debt counselling (charity).
    pub const SCHULDNERBERATUNG: &str = "schuldnerberatung-nord";
    /// Housing company.
    pub const WOHNBAU: &str = "wohnbau-nord";
    /// Social-work provider.
    pub const TRAEGER: &str = "traeger-wohnhilfe";
    /// Women's counselling.
    pub const FRAUENBERATUNG: &str = "frauenberatung-hannover";
}

fn spec(id: &str, name: &str, kind: pb::OrganisationKind, cats: &[C], hours: &str) -> pb::OrganisationSpec {
    pb::OrganisationSpec {
        id: id.to_owned(),
        name: name.to_owned(),
        kind: kind as i32,
        accepted_categories: cats.iter().map(|c| *c as i32).collect(),
        channel: pb::Channel::Grpc as i32,
        channel_address: String::new(),
        office_hours: hours.to_owned(),
    }
}

/// The seven organisations.
pub fn standard_network() -> Vec<pb::OrganisationSpec> {
    use pb::OrganisationKind as K;
    let all: Vec<C> = (1..=14).filter_map(|n| C::try_from(n).ok()).collect();
    vec![
        spec(orgs::FACHSTELLE, "Fachstelle Wohnungserhalt (Demo)", K::Fachstelle, &all, "Mo, Di, Do 08:30-11:00"),
        spec(
            orgs::JOBCENTER,
            "Jobcenter (Demo)",
            K::Jobcenter,
            &[C::RentDebtTakeoverSgb2, C::DirectRentPayment, C::BenefitApplication],
            "Mo-Fr 08:00-12:00",
        ),
        spec(
            orgs::SOZIALAMT,
            "Fachbereich Soziales (Demo)",
            K::SocialServices,
            &[C::RentDebtTakeoverSgb12, C::BenefitApplication, C::Spd, C::Ksd],
            "Mo-Fr 08:00-12:00",
        ),
        spec(
            orgs::SCHULDNERBERATUNG,
            "Schuldnerberatung Nord (Demo)",
            K::DebtCounselling,
            &[C::DebtCounselling],
            "Di, Do 09:00-15:00",
        ),
        spec(orgs::WOHNBAU, "Wohnbau Nord eG (Demo)", K::HousingCompany, &[C::LandlordAgreement], "Mo-Fr 09:00-16:00"),
        spec(
            orgs::TRAEGER,
            "Träger Wohnhilfe (Demo)",
            K::SocialWorkProvider,
            &[C::SocialPedagogicalSupport, C::FlatClearing],
            "Mo-Fr 09:00-17:00",
        ),
        spec(
            orgs::FRAUENBERATUNG,
            "Frauenberatung (Demo)",
            K::WomensCounselling,
            &[C::WomensCounselling],
            "Mo-Fr 10:00-16:00",
        ),
    ]
}

/// Frau K. of DOMAIN.md, with synthetic names: 41, single mother of two, warm rent 780 EUR,
/// arrears 1,560 EUR, tenant of the demo housing company.
pub fn frau_k_details() -> pb::CaseDetails {
    let person = |role: pb::PersonRole, given: &str, gender: pb::Gender, year: i32| pb::Person {
        person_id: String::new(),
        role: role as i32,
        given_name: given.to_owned(),
        family_name: "Kaiser".to_owned(),
        gender: gender as i32,
        birth_year: year,
    };
    pb::CaseDetails {
        persons: vec![
            person(pb::PersonRole::MainTenant, "Katrin", pb::Gender::Female, 1985),
            person(pb::PersonRole::Child, "Mia", pb::Gender::Female, 2015),
            person(pb::PersonRole::Child, "Ben", pb::Gender::Male, 2018),
        ],
        address: Some(pb::Address {
            street: "Musterweg".into(),
            house_number: "7".into(),
            postal_code: "30449".into(),
            city: "Hannover".into(),
        }),
        contact: Some(pb::Contact { phone: "0511 000000".into(), email: "k.kaiser@example.org".into() }),
        stadtbezirk: pb::Stadtbezirk::LindenLimmer as i32,
        tenancy: Some(pb::Tenancy {
            landlord_organisation_id: orgs::WOHNBAU.into(),
            tenancy_reference: "WN-4711-03".into(),
            start_date: "2017-04-01".into(),
            rent: Some(pb::RentComponents {
                base_rent_cents: 58_000,
                service_charge_advance_cents: 12_000,
                heating_advance_cents: 8_000,
            }),
        }),
        arrears_cents: 156_000,
        route_in: pb::RouteIn::HousingCompanyNotice as i32,
        schutzsperre: false,
        household_type: pb::HouseholdType::SingleParent as i32,
        income_benefits_note: "Teilzeitstelle im Oktober verloren; Bürgergeld ab 1. Januar beantragt.".into(),
        health_note: String::new(),
        counselling_note: "Weitere Schulden ca. 4.200 EUR (Versand, Energie).".into(),
    }
}
