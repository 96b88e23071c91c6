//! The dashboard's page models read through the service, without a browser: only the Fachstelle and
//! only its own cases, one audit record per case and page, no name shown while a case is restricted,
//! search by any spelling of a name, and the partner figures.

use hub::domain::audit::{AuditAction, AuditDetail};
use hub::domain::case::{Address, CaseDetails, Contact, Person, Rent, Tenancy};
use hub::domain::ids::{CaseId, Cents, IdempotencyKey, OrgId, PersonId, StaffMember};
use hub::domain::matching::Search;
use hub::domain::referral::{Move, ReferralState};
use hub::domain::vocab::{
    DataCategory, Gender, HouseholdType, PersonRole, ReferralCategory, RouteIn, Stadtbezirk, ThreatStage,
};
use hub::service::dashboard::{CaseFilter, CaseStatus, HandoffFilter, TimelineEvent};
use hub::service::{HubError, Idem, NewReferral, NewStage, Principal};
use hub_testkit::{TestHub, orgs};

fn idem() -> Idem {
    Idem { key: IdempotencyKey::parse(&uuid::Uuid::new_v4().to_string()).unwrap(), fingerprint: "t".into() }
}

fn details(family: &str) -> CaseDetails {
    CaseDetails {
        persons: vec![Person {
            id: PersonId::new(),
            role: PersonRole::MainTenant,
            given_name: "Anna".into(),
            family_name: family.into(),
            gender: Gender::Female,
            birth_year: Some(1985),
        }],
        address: Address {
            street: "Musterweg".into(),
            house_number: "1".into(),
            postal_code: "30159".into(),
            city: "Hannover".into(),
        },
        contact: Contact::default(),
        stadtbezirk: Stadtbezirk::Mitte,
        tenancy: Tenancy {
            landlord: None,
            reference: format!("SYNTH-{family}"),
            start: None,
            rent: Rent { base: Cents::parse(78_000).unwrap(), ..Rent::default() },
        },
        arrears: Cents::parse(156_000).unwrap(),
        route_in: RouteIn::HousingCompanyNotice,
        schutzsperre: false,
        household_type: HouseholdType::SingleParent,
        income_benefits_note: String::new(),
        health_note: String::new(),
        counselling_note: String::new(),
    }
}

#[tokio::test]
async fn models_show_only_own_cases_audit_each_case_and_hide_restricted_names() -> anyhow::Result<()> {
    let th = TestHub::start().await?;
    let hub = th.hub();
    let staff = StaffMember::parse("Frau Test")?;
    let fs = hub.authenticate(Principal::Org(OrgId::parse(orgs::FACHSTELLE)?), Some(staff)).await?;
    let jc = hub.authenticate(Principal::Org(OrgId::parse(orgs::JOBCENTER)?), None).await?;
    let today = th.today_day();
    // An eviction date in two weeks: its hardship application deadline falls in the horizon.
    let eviction = |src: &str| NewStage {
        stage: ThreatStage::Raeumungstermin,
        date: today.plus_days(-3),
        end_date: Some(today.plus_days(14)),
        source: src.into(),
    };
    let named = hub.open_case(&fs, &idem(), details("Kaiser"), Some(eviction("Gerichtsvollzieher"))).await?;
    let hidden = hub.open_case(&fs, &idem(), details("Verborgen"), Some(eviction("Gerichtsvollzieher"))).await?;
    hub.set_restriction(&fs, &idem(), &hidden.id, Some("Richtigkeit bestritten".into())).await?;
    let new = NewReferral {
        case_id: named.id.clone(),
        recipient: OrgId::parse(orgs::JOBCENTER)?,
        category: ReferralCategory::RentDebtTakeoverSgb2,
        data: vec![DataCategory::Identity, DataCategory::Arrears],
        message: "Bitte prüfen".into(),
        reply_by: Some(today.plus_days(2)),
        confirm_duplicate: false,
        confirm_closed: false,
    };
    let sent = hub.create_referral(&fs, &idem(), new).await?.referral;
    th.advance_days(1);
    hub.transition(&jc, &idem(), &sent.id, Move::Acknowledge, None, None).await?;
    th.advance_days(4);

    let t = hub.dash_today(&fs).await?;
    let named_rows: Vec<_> = t.deadlines.iter().filter(|d| d.case.id == named.id).collect();
    assert!(!named_rows.is_empty(), "{:?}", t.deadlines);
    assert_eq!(named_rows[0].case.name.as_deref(), Some("Kaiser, Anna"));
    let hidden_rows: Vec<_> = t.deadlines.iter().filter(|d| d.case.id == hidden.id).collect();
    assert!(!hidden_rows.is_empty() && hidden_rows.iter().all(|d| d.case.name.is_none()));
    assert_eq!(t.overdue.len(), 1);
    assert!(t.overdue[0].overdue && t.overdue[0].partner.name == "Jobcenter (Demo)");

    let audit_of = |id: CaseId| async move { hub.store().audit_of_case(&id).await };
    let views: Vec<_> =
        audit_of(named.id.clone()).await?.into_iter().filter(|a| a.action == AuditAction::DashboardView).collect();
    assert_eq!(views.len(), 1, "one entry per case and page");
    let listed = |shown: &[&str]| AuditDetail::Listed {
        page: "Heute".into(),
        shown: shown.iter().map(|s| (*s).to_owned()).collect(),
    };
    assert_eq!(views[0].detail, listed(&["name", "Fristen", "Vermittlungen"]));
    assert_eq!(views[0].staff.as_deref(), Some("Frau Test"));
    assert_eq!(views[0].legal_basis, "owner");
    let hidden_views: Vec<_> =
        audit_of(hidden.id.clone()).await?.into_iter().filter(|a| a.action == AuditAction::DashboardView).collect();
    assert_eq!(hidden_views.len(), 1);
    assert_eq!(hidden_views[0].detail, listed(&["Fristen"]), "no name shown while restricted");

    let h = hub.dash_handoffs(&fs, HandoffFilter::default()).await?;
    assert_eq!(h.rows.len(), 1);
    assert_eq!(h.rows[0].state, ReferralState::Received);
    assert_eq!(h.partners.len(), 1);
    let other = HandoffFilter { partner: Some(OrgId::parse(orgs::SOZIALAMT)?), ..HandoffFilter::default() };
    assert!(hub.dash_handoffs(&fs, other).await?.rows.is_empty());
    let done = HandoffFilter { state: Some(ReferralState::Completed), ..HandoffFilter::default() };
    assert!(hub.dash_handoffs(&fs, done).await?.rows.is_empty());

    let cases = hub.dash_cases(&fs, &CaseFilter::default()).await?;
    assert_eq!((cases.total, cases.page, cases.pages), (2, 1, 1));
    let row = cases.rows.iter().find(|c| c.case.id == named.id).expect("named case listed");
    assert_eq!((row.open_referrals, row.overdue_referrals), (1, 1));
    // A search finds a name however it is spelled, and is audited without its words.
    for spelling in ["Kayser", "kaiser", "KAISER Anna"] {
        let search = CaseFilter { search: Search::parse(spelling), ..CaseFilter::default() };
        let found = hub.dash_cases(&fs, &search).await?;
        let ids: Vec<&CaseId> = found.rows.iter().map(|r| &r.case.id).collect();
        assert_eq!(ids, [&named.id], "{spelling}");
    }
    let none = CaseFilter { search: Search::parse("Zimmermann"), ..CaseFilter::default() };
    assert_eq!(hub.dash_cases(&fs, &none).await?.total, 0);
    let closed = CaseFilter { status: CaseStatus::Closed, ..CaseFilter::default() };
    assert_eq!(hub.dash_cases(&fs, &closed).await?.total, 0, "no case is closed yet");

    let p = hub.dash_partners(&fs).await?;
    let jc_row = p.iter().find(|r| r.partner.id.as_str() == orgs::JOBCENTER).expect("jobcenter");
    assert_eq!((jc_row.total, jc_row.open, jc_row.overdue), (1, 1, 1));
    assert!(jc_row.median_ack_days.is_some_and(|d| (d - 1.0).abs() < 0.01), "{:?}", jc_row.median_ack_days);
    assert_eq!(jc_row.median_decide_days, None);
    assert!(p.iter().all(|r| r.partner.id.as_str() != orgs::FACHSTELLE));

    let page = hub.dash_case(&fs, &named.id).await?;
    assert!(matches!(
        page.timeline.first().map(|e| &e.event),
        Some(TimelineEvent::CaseOpened | TimelineEvent::Stage(_))
    ));
    assert!(page.timeline.iter().any(|e| matches!(e.event, TimelineEvent::ReferralCreated { .. })));
    assert!(
        page.timeline
            .iter()
            .any(|e| matches!(e.event, TimelineEvent::ReferralMoved { mv: Some(Move::Acknowledge), .. }))
    );
    assert!(page.timeline.windows(2).all(|w| w[0].at <= w[1].at), "sorted by time");
    assert!(!page.deadlines.is_empty());
    assert!(page.partners.iter().all(|p| p.id.as_str() != orgs::FACHSTELLE));
    let reads: Vec<_> = audit_of(named.id.clone())
        .await?
        .into_iter()
        .filter(|a| {
            a.action == AuditAction::CaseRead && a.detail == AuditDetail::Owner { place: "dashboard case page".into() }
        })
        .collect();
    assert_eq!(reads.len(), 1);

    // Only the Fachstelle, and only its own cases.
    assert!(matches!(hub.dash_today(&jc).await, Err(HubError::PermissionDenied(_))));
    assert!(matches!(hub.dash_case(&jc, &named.id).await, Err(HubError::PermissionDenied(_))));
    assert!(matches!(hub.dash_case(&fs, &CaseId::new()).await, Err(HubError::NotFound(_))));
    th.shutdown().await;
    Ok(())
}
