//! The annual key figures (`hub report key-figures`) over a synthetic year played through
//! the real gRPC API: 30 cases opened in 2026 (one of them closed and erased afterwards) and one in
//! 2027, with rent-debt takeovers decided by the Jobcenter and the social services, and two
//! women's-counselling referrals. The totals are chosen so that some cells are 5 or more and some
//! are 1-4. The report, from the library and from the `hub` binary (JSON, CSV, HTML), must show
//! exactly those totals, "<5" for every cell from 1 to 4, the complementary cells the rule picks,
//! and no total that gives a suppressed cell back. On SQLite by default, on PostgreSQL with
//! `HUB_TEST_POSTGRES_URL`.

use crate::common;
use crate::process;

use common::*;
use hub::reports::key_figures::{Cell, Format, KeyFigures};
use hub::store::AuditQuery;
use process::{hub_binary, run_hub};

/// A rent-debt takeover decided in the case: (category, result, amount in cents, days to decision).
type Takeover = (ReferralCategory, CompletionResult, i64, i64);

/// One synthetic case of the year.
struct Spec {
    route: RouteIn,
    stage: ThreatStage,
    household: HouseholdType,
    bezirk: Stadtbezirk,
    gender: Gender,
    birth_year: i32,
    schutzsperre: bool,
    /// `None`: still open.
    outcome: Option<(CaseOutcome, RescueMeans)>,
    takeover: Option<Takeover>,
    /// Days to the women's counselling's decision, when referred there.
    womens_counselling: Option<i64>,
}

fn expand<T: Copy>(runs: &[(T, usize)]) -> Vec<T> {
    runs.iter().flat_map(|(v, n)| std::iter::repeat_n(*v, *n)).collect()
}

/// The year. Case 0 is erased after closing. Marginals (of the 30):
/// - route: housing company 15, court 9, self-referral 3, Jobcenter 3
/// - stage at first contact: MAHNUNG 12, KUENDIGUNG_FRISTLOS 6, RECHTSHAENGIG 8, RAEUMUNGSTERMIN 4
/// - household: single 12, single parent 10, couple with children 8
/// - district: Mitte 8, Linden-Limmer 10, Nord 7, Ricklingen 4, Vahrenwald-List 1
/// - outcome: kept 15 (own means 5 incl. the erased case, SGB II loan 5, SGB XII loan 3, SGB XII
///   grant 2), help refused 5 (women), no contact 5 (men), open 5 (women)
/// - of the 29 stored: women 17 (open 5, kept 7, help refused 5), men 12; age (2026 minus year of
///   birth) under 25: 3, 25-39: 10, 40-59: 11, 60+: 5
/// - takeovers: SGB II loans 6 (one in an open case) after 1, 2, 3, 5, 8, 13 days; SGB XII loans 3
///   and grants 2 after 1, 3, 7, 9, 12 days; women's counselling decides 2 after 1 and 2 days
/// - violence protection: case 26 (Schutzsperre and referral), 27 (Schutzsperre), 16 (referral)
fn year() -> Vec<Spec> {
    use CaseOutcome as O;
    use RescueMeans as M;
    let routes = expand(&[
        (RouteIn::HousingCompanyNotice, 15),
        (RouteIn::CourtNotice, 9),
        (RouteIn::SelfReferral, 3),
        (RouteIn::Jobcenter, 3),
    ]);
    let stages = expand(&[
        (ThreatStage::Mahnung, 12),
        (ThreatStage::KuendigungFristlos, 6),
        (ThreatStage::Rechtshaengig, 8),
        (ThreatStage::Raeumungstermin, 4),
    ]);
    let households = expand(&[
        (HouseholdType::Single, 12),
        (HouseholdType::SingleParent, 10),
        (HouseholdType::CoupleWithChildren, 8),
    ]);
    let bezirke = expand(&[
        (Stadtbezirk::Mitte, 8),
        (Stadtbezirk::LindenLimmer, 10),
        (Stadtbezirk::Nord, 7),
        (Stadtbezirk::Ricklingen, 4),
        (Stadtbezirk::VahrenwaldList, 1),
    ]);
    // Case 0 (erased) keeps no age; the 29 others: 3 + 10 + 11 + 5.
    let births = expand(&[(1985, 1), (2005, 3), (1990, 10), (1975, 11), (1955, 5)]);
    let sgb2 =
        |amount, days| Some((ReferralCategory::RentDebtTakeoverSgb2, CompletionResult::ApprovedLoan, amount, days));
    let sgb12 = |result, amount, days| Some((ReferralCategory::RentDebtTakeoverSgb12, result, amount, days));
    let loan12 = CompletionResult::ApprovedLoan;
    let grant12 = CompletionResult::ApprovedGrant;
    (0..30)
        .map(|i| {
            let (outcome, takeover, gender) = match i {
                0..=4 => {
                    (Some((O::WohnungErhalten, M::OwnMeans)), None, if i == 0 { Gender::Female } else { Gender::Male })
                }
                5 => (Some((O::WohnungErhalten, M::Sgb2Loan)), sgb2(156_000, 1), Gender::Female),
                6 => (Some((O::WohnungErhalten, M::Sgb2Loan)), sgb2(120_000, 2), Gender::Female),
                7 => (Some((O::WohnungErhalten, M::Sgb2Loan)), sgb2(98_000, 3), Gender::Female),
                8 => (Some((O::WohnungErhalten, M::Sgb2Loan)), sgb2(210_000, 5), Gender::Female),
                9 => (Some((O::WohnungErhalten, M::Sgb2Loan)), sgb2(75_000, 8), Gender::Female),
                10 => (Some((O::WohnungErhalten, M::Sgb12Loan)), sgb12(loan12, 88_000, 1), Gender::Male),
                11 => (Some((O::WohnungErhalten, M::Sgb12Loan)), sgb12(loan12, 64_000, 3), Gender::Male),
                12 => (Some((O::WohnungErhalten, M::Sgb12Loan)), sgb12(loan12, 150_000, 7), Gender::Male),
                13 => (Some((O::WohnungErhalten, M::Sgb12Grant)), sgb12(grant12, 45_000, 9), Gender::Female),
                14 => (Some((O::WohnungErhalten, M::Sgb12Grant)), sgb12(grant12, 52_000, 12), Gender::Female),
                15..=19 => (Some((O::HilfeAbgelehnt, M::Unspecified)), None, Gender::Female),
                20..=24 => (Some((O::KeinKontakt, M::Unspecified)), None, Gender::Male),
                25 => (None, sgb2(134_000, 13), Gender::Female),
                _ => (None, None, Gender::Female),
            };
            Spec {
                route: routes[i],
                stage: stages[i],
                household: households[i],
                bezirk: bezirke[i],
                gender,
                birth_year: births[i],
                schutzsperre: matches!(i, 26 | 27),
                outcome,
                takeover,
                womens_counselling: match i {
                    26 => Some(1),
                    16 => Some(2),
                    _ => None,
                },
            }
        })
        .collect()
}

fn details_of(i: usize, s: &Spec) -> CaseDetails {
    let mut d = frau_k_details();
    d.persons = vec![Person {
        person_id: String::new(),
        role: PersonRole::MainTenant as i32,
        given_name: format!("Synth{i}"),
        family_name: "Jahresfall".to_owned(),
        gender: s.gender as i32,
        birth_year: s.birth_year,
    }];
    d.route_in = s.route as i32;
    d.stadtbezirk = s.bezirk as i32;
    d.household_type = s.household as i32;
    d.schutzsperre = s.schutzsperre;
    if let Some(t) = d.tenancy.as_mut() {
        t.tenancy_reference = format!("KZ-2026-{i:02}");
    }
    d
}

async fn open(hub: &TestHub, details: CaseDetails, stage: ThreatStage) -> Case {
    cases(hub, orgs::FACHSTELLE)
        .await
        .open_case(OpenCaseRequest {
            idempotency_key: idem(),
            details: Some(details),
            initial_stage: Some(ThreatStageEntry {
                stage: stage as i32,
                date: hub.today(),
                end_date: String::new(),
                source: "synthetischer Jahresfall".to_owned(),
                recorded_by_organisation_id: String::new(),
            }),
        })
        .await
        .expect("OpenCase")
        .into_inner()
        .case
        .expect("case")
}

/// A referral to `to`, acknowledged and accepted `days` days after it was made.
async fn accepted_after(hub: &TestHub, case_id: &str, to: &str, category: ReferralCategory, days: i64) -> String {
    let r = create_referral(hub, case_id, to, category, &[DataCategory::Identity]).await;
    hub.advance_days(days);
    do_move(hub, to, &r.id, ReferralMove::Acknowledge).await;
    do_move(hub, to, &r.id, ReferralMove::Accept).await;
    r.id
}

async fn close(hub: &TestHub, case_id: &str, outcome: CaseOutcome, means: RescueMeans) {
    cases(hub, orgs::FACHSTELLE)
        .await
        .close_case(CloseCaseRequest {
            idempotency_key: idem(),
            case_id: case_id.to_owned(),
            outcome: outcome as i32,
            rescue_means: means as i32,
            note: String::new(),
            confirm_open_items: true,
        })
        .await
        .expect("CloseCase");
}

/// Plays the year; returns the id of the erased case.
async fn play_year(hub: &TestHub) -> String {
    let mut erased = String::new();
    for (i, s) in year().iter().enumerate() {
        hub.advance_days(1);
        let case = open(hub, details_of(i, s), s.stage).await;
        if let Some((category, result, amount, days)) = s.takeover {
            let to = if category == ReferralCategory::RentDebtTakeoverSgb2 { orgs::JOBCENTER } else { orgs::SOZIALAMT };
            let id = accepted_after(hub, &case.id, to, category, days).await;
            do_move(hub, to, &id, ReferralMove::Start).await;
            let mut req = move_request(&id, ReferralMove::Complete);
            req.outcome = Some(CompletionOutcome {
                result: result as i32,
                amount_cents: Some(amount),
                effective_date: hub.today(),
                summary: "bewilligt (synthetisch)".to_owned(),
            });
            send_move(hub, to, req).await.expect("Complete with amount");
        }
        if let Some(days) = s.womens_counselling {
            record_consent(hub, &case, &[orgs::FRAUENBERATUNG], &[DataCategory::Identity]).await;
            accepted_after(hub, &case.id, orgs::FRAUENBERATUNG, ReferralCategory::WomensCounselling, days).await;
        }
        if let Some((outcome, means)) = s.outcome {
            close(hub, &case.id, outcome, means).await;
        }
        if i == 0 {
            erased = case.id.clone();
        }
    }
    // Erased on the household's request: its anonymous statistics stay.
    cases(hub, orgs::FACHSTELLE)
        .await
        .erase_case(EraseCaseRequest { idempotency_key: idem(), case_id: erased.clone() })
        .await
        .expect("EraseCase");
    // A case of the next year: not in the 2026 figures.
    hub.advance_to(hub::domain::time::Day::parse("2027-01-05").expect("day"));
    open(hub, details_of(99, &year()[1]), ThreatStage::Mahnung).await;
    erased
}

/// Every figure of the synthetic year as the report must show it: `table`, `row`, value.
const EXPECTED: &[(&str, &str, &str)] = &[
    // 30 cases; the one erased case is 1 (<5), so the stored 29 must hide too (30 - 29 = 1).
    ("cases", "total", "30"),
    ("cases", "stored", "<5"),
    ("cases", "erased", "<5"),
    // Two small cells: no further suppression needed. The erased case counts (14 + 1).
    ("route_in", "total", "30"),
    ("route_in", "HOUSING_COMPANY_NOTICE", "15"),
    ("route_in", "COURT_NOTICE", "9"),
    ("route_in", "SELF_REFERRAL", "<5"),
    ("route_in", "JOBCENTER", "<5"),
    ("route_in", "BAILIFF", "0"),
    // Opened 10 in January, 4 in February, 12 in March, 4 in April: two small months, whose sum
    // (8) the total gives, but not each.
    ("cases_by_month", "total", "30"),
    ("cases_by_month", "01", "10"),
    ("cases_by_month", "02", "<5"),
    ("cases_by_month", "03", "12"),
    ("cases_by_month", "04", "<5"),
    ("cases_by_month", "05", "0"),
    ("cases_by_month", "12", "0"),
    // One small cell (4): the next smallest (KUENDIGUNG_FRISTLOS, 6) hides with it. MAHNUNG (12)
    // hides through the cross table below: its 12 successes must hide (see there), and then the
    // stage's row (12 = 12 + 0 + 0 + 0) would give them back.
    ("first_stage", "total", "30"),
    ("first_stage", "MAHNUNG", "<5"),
    ("first_stage", "KUENDIGUNG_FRISTLOS", "<5"),
    ("first_stage", "RECHTSHAENGIG", "8"),
    ("first_stage", "RAEUMUNGSTERMIN", "<5"),
    ("first_stage", "none", "0"),
    ("outcomes", "total", "30"),
    ("outcomes", "open", "5"),
    ("outcomes", "closed", "25"),
    ("outcomes", "contact", "20"),
    ("outcomes", "success", "15"),
    ("outcomes", "contact_other", "5"),
    ("outcomes", "no_contact", "5"),
    ("outcomes", "WOHNUNG_ERHALTEN", "15"),
    ("outcomes", "HILFE_ABGELEHNT", "5"),
    ("outcomes", "KEIN_KONTAKT", "5"),
    ("outcomes", "ERSATZWOHNRAUM", "0"),
    // Outcome groups by stage: MAHNUNG 12 successes; KUENDIGUNG_FRISTLOS 3 successes, 3 others;
    // RECHTSHAENGIG 2 others, 5 without contact, 1 open; RAEUMUNGSTERMIN 4 open. The success
    // column (15 = 12 + 3) would give the hidden 3 back, so the 12 hides too.
    ("outcome_by_stage", "MAHNUNG.success", "<5"),
    ("outcome_by_stage", "MAHNUNG.no_contact", "0"),
    ("outcome_by_stage", "KUENDIGUNG_FRISTLOS.success", "<5"),
    ("outcome_by_stage", "KUENDIGUNG_FRISTLOS.contact_other", "<5"),
    ("outcome_by_stage", "RECHTSHAENGIG.contact_other", "<5"),
    ("outcome_by_stage", "RECHTSHAENGIG.no_contact", "5"),
    ("outcome_by_stage", "RECHTSHAENGIG.open", "<5"),
    ("outcome_by_stage", "RAEUMUNGSTERMIN.open", "<5"),
    ("outcome_by_stage", "RAEUMUNGSTERMIN.success", "0"),
    ("outcome_by_stage", "none.open", "0"),
    ("rescue_means", "WOHNUNG_ERHALTEN", "15"),
    ("rescue_means", "OWN_MEANS", "5"),
    ("rescue_means", "SGB2_LOAN", "5"),
    ("rescue_means", "SGB12_LOAN", "<5"),
    ("rescue_means", "SGB12_GRANT", "<5"),
    ("rescue_means", "INSTALMENT_PLAN", "0"),
    ("takeovers", "completed", "11"),
    ("takeovers", "approved", "11"),
    ("takeovers", "SGB2_LOAN", "6"),
    ("takeovers", "SGB2_GRANT", "0"),
    ("takeovers", "SGB12_LOAN", "<5"),
    ("takeovers", "SGB12_GRANT", "<5"),
    ("takeovers", "REJECTED", "0"),
    ("takeovers.amount_eur", "approved", "11920.00"),
    ("takeovers.amount_eur", "SGB2_LOAN", "7930.00"),
    ("takeovers.amount_eur", "SGB12_LOAN", "<5"),
    ("takeovers.amount_eur", "SGB12_GRANT", "<5"),
    // 13 decisions: Jobcenter 6, social services 5, women's counselling 2 (<5), so the social
    // services' count hides too; its median (over 5) is still shown.
    ("decision_days", "total", "13"),
    ("decision_days", "jobcenter-hannover", "6"),
    ("decision_days", "sozialamt-hannover", "<5"),
    ("decision_days", "frauenberatung-hannover", "<5"),
    ("decision_days.median_days", "total", "3.0"),
    ("decision_days.median_days", "jobcenter-hannover", "4.0"),
    ("decision_days.median_days", "sozialamt-hannover", "7.0"),
    ("decision_days.median_days", "frauenberatung-hannover", "<5"),
    ("household_type", "total", "30"),
    ("household_type", "SINGLE", "12"),
    ("household_type", "SINGLE_PARENT", "10"),
    ("household_type", "COUPLE_WITH_CHILDREN", "8"),
    ("household_type", "COUPLE", "0"),
    // The erased case (1) cannot say its gender: the smallest other (men, 12) hides with it.
    ("gender", "total", "30"),
    ("gender", "FEMALE", "17"),
    ("gender", "MALE", "<5"),
    ("gender", "DIVERSE", "0"),
    ("gender", "erased", "<5"),
    ("age_group", "total", "30"),
    ("age_group", "under_25", "<5"),
    ("age_group", "25_39", "10"),
    ("age_group", "40_59", "11"),
    ("age_group", "60_plus", "5"),
    ("age_group", "unknown", "0"),
    ("age_group", "erased", "<5"),
    ("stadtbezirk", "total", "30"),
    ("stadtbezirk", "MITTE", "8"),
    ("stadtbezirk", "LINDEN_LIMMER", "10"),
    ("stadtbezirk", "NORD", "7"),
    ("stadtbezirk", "RICKLINGEN", "<5"),
    ("stadtbezirk", "VAHRENWALD_LIST", "<5"),
    ("stadtbezirk", "SUEDSTADT_BULT", "0"),
    ("women", "total", "17"),
    ("women", "open", "5"),
    ("women", "closed", "12"),
    ("women", "contact", "12"),
    ("women", "success", "7"),
    ("women", "contact_other", "5"),
    ("women", "no_contact", "0"),
    // Three violence-protection cases: everything is small, the total too.
    ("violence_protection", "total", "<5"),
    ("violence_protection", "open", "<5"),
    ("violence_protection", "closed", "<5"),
    ("violence_protection", "success", "0"),
    ("violence_protection", "schutzsperre_and_referral", "<5"),
    ("violence_protection", "schutzsperre_only", "<5"),
    ("violence_protection", "referral_only", "<5"),
    ("violence_protection", "referral_erased", "0"),
    ("rates", "all.contact_rate", "80.0"),
    ("rates", "all.success_rate_closed", "60.0"),
    ("rates", "all.success_rate_contact", "75.0"),
    ("rates", "women.contact_rate", "100.0"),
    ("rates", "women.success_rate_closed", "58.3"),
    ("rates", "violence_protection.contact_rate", "<5"),
    ("rates", "violence_protection.success_rate_contact", "<5"),
];

/// The value the library report shows for `table`/`row`, as CSV writes it.
fn value(k: &KeyFigures, table: &str, row: &str) -> String {
    if table == "rates" {
        let (group, key) = row.split_once('.').expect("GROUP.KEY");
        return k.rate(group, key).unwrap_or_else(|| panic!("rate {row}")).percent.plain();
    }
    let (name, measure) = table.split_once('.').unwrap_or((table, "count"));
    let t = k.table(name).unwrap_or_else(|| panic!("table {name}"));
    let r = t.row(row).unwrap_or_else(|| panic!("row {table}.{row}"));
    let cell = match measure {
        "count" => Some(r.count),
        "amount_eur" => r.amount_cents,
        "median_days" => r.median_days,
        other => panic!("measure {other}"),
    };
    cell.unwrap_or_else(|| panic!("{table}.{row} has no {measure}")).plain()
}

/// No published relation gives a suppressed cell back: in every table that splits the cohort,
/// with the total shown, never exactly one part is hidden; and no count from 1 to 4 is shown.
fn assert_no_cell_recomputable(k: &KeyFigures) {
    for name in ["cases_by_month", "route_in", "first_stage", "household_type", "gender", "age_group", "stadtbezirk"] {
        let t = k.table(name).expect("table");
        let total = t.row("total").expect("total").count;
        let hidden = t.rows.iter().filter(|r| r.key != "total" && r.count == Cell::Suppressed).count();
        assert!(total == Cell::Suppressed || hidden != 1, "{name}: exactly one hidden part under a shown total");
        if let Cell::Count(n) = total {
            let shown: i64 = t.rows.iter().filter(|r| r.key != "total").filter_map(|r| r.count.count()).sum();
            assert!(hidden == 0 && shown == n || n - shown >= 2, "{name}: the hidden parts sum to {}", n - shown);
        }
    }
    for t in &k.tables {
        for r in &t.rows {
            if let Cell::Count(n) = r.count {
                assert!(!(1..=4).contains(&n), "{}.{} shows {n}", t.key, r.key);
            }
        }
    }
    // The outcome relations (closed = contact + no contact; contact = success + other) likewise.
    for name in ["outcomes", "women", "violence_protection"] {
        let t = k.table(name).expect("table");
        let c = |row: &str| t.row(row).expect("row").count;
        for (total, parts) in [
            ("total", ["open", "closed"]),
            ("closed", ["contact", "no_contact"]),
            ("contact", ["success", "contact_other"]),
        ] {
            let hidden = parts.iter().filter(|p| c(p) == Cell::Suppressed).count();
            assert!(c(total) == Cell::Suppressed || hidden != 1, "{name}: {total} reveals one of {parts:?}");
        }
    }
    // The cross table: each stage's row adds up to the stage, each group's column to the group.
    let stages = k.table("first_stage").expect("stages");
    let outcomes = k.table("outcomes").expect("outcomes");
    let cross = k.table("outcome_by_stage").expect("cross table");
    let at = |stage: &str, group: &str| cross.row(&format!("{stage}.{group}")).expect("cell").count;
    let groups = ["success", "contact_other", "no_contact", "open"];
    for stage in stages.rows.iter().filter(|r| r.key != "total") {
        let hidden = groups.iter().filter(|g| at(&stage.key, g) == Cell::Suppressed).count();
        assert!(stage.count == Cell::Suppressed || hidden != 1, "stage {} reveals a group", stage.key);
    }
    for group in groups {
        let hidden = stages.rows.iter().filter(|r| r.key != "total" && at(&r.key, group) == Cell::Suppressed).count();
        let total = outcomes.row(group).expect("group").count;
        assert!(total == Cell::Suppressed || hidden != 1, "outcome group {group} reveals a stage");
    }
}

fn json_value(v: &serde_json::Value, table: &str, row: &str) -> String {
    let show = |x: &serde_json::Value| match x {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) if n.is_f64() => format!("{:.1}", n.as_f64().expect("f64")),
        other => other.to_string(),
    };
    if table == "rates" {
        let (group, key) = row.split_once('.').expect("GROUP.KEY");
        let r = v["rates"].as_array().expect("rates").iter().find(|r| r["group"] == group && r["key"] == key);
        return show(&r.unwrap_or_else(|| panic!("rate {row}"))["percent"]);
    }
    let (name, measure) = table.split_once('.').unwrap_or((table, "count"));
    let t = v["tables"].as_array().expect("tables").iter().find(|t| t["key"] == name).expect("table");
    let r = t["rows"].as_array().expect("rows").iter().find(|r| r["key"] == row).expect("row");
    match measure {
        "count" => show(&r["count"]),
        "amount_eur" => match &r["amount_cents"] {
            serde_json::Value::Number(n) => {
                let c = n.as_i64().expect("cents");
                format!("{}.{:02}", c / 100, c % 100)
            }
            other => show(other),
        },
        _ => show(&r["median_days"]),
    }
}

#[tokio::test]
async fn key_figures_of_a_synthetic_year_show_the_known_totals_suppressed_where_due() {
    let th = start().await;
    let erased = play_year(&th).await;
    {
        let mut tx = th.store().begin_read().await.expect("read");
        assert_eq!(tx.cases().await.expect("cases").len(), 30, "29 of 2026 and one of 2027 stored");
        let e = tx.erasures().await.expect("erasures");
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].case_id.to_string(), erased);
    }

    // The library, on the test hub's store.
    let now = th.hub().clock_now();
    let k = hub::reports::key_figures::generate(th.store().as_ref(), 2026, None, Format::Json, now)
        .await
        .expect("key figures");
    let wrong: Vec<String> = EXPECTED
        .iter()
        .filter(|(table, row, want)| value(&k, table, row) != *want)
        .map(|(table, row, want)| format!("{table} / {row}: {} (want {want})", value(&k, table, row)))
        .collect();
    assert!(wrong.is_empty(), "figures differ:\n{}", wrong.join("\n"));
    assert_no_cell_recomputable(&k);
    assert!(k.table("gender").is_some_and(|t| !t.includes_erased));
    assert!(k.table("route_in").is_some_and(|t| t.includes_erased));
    assert!(k.not_recorded.iter().any(|n| n.key == "erased_person_data"));

    // The 2027 case is the only one of that year: everything under 5.
    let next = hub::reports::key_figures::generate(th.store().as_ref(), 2027, None, Format::Json, now)
        .await
        .expect("key figures 2027");
    assert_eq!(value(&next, "cases", "total"), "<5");
    assert_eq!(value(&next, "route_in", "HOUSING_COMPANY_NOTICE"), "<5");

    // The binary, on the same database.
    let bin = hub_binary();
    let data_dir = th.data_dir().display().to_string();
    let url = th.database_url();
    let run = |format: &str, extra: &[&str]| {
        let mut args = vec![
            "report",
            "key-figures",
            "--year",
            "2026",
            "--format",
            format,
            "--data-dir",
            &data_dir,
            "--database-url",
            &url,
        ];
        args.extend_from_slice(extra);
        run_hub(&bin, &args, &[])
    };

    let json: serde_json::Value =
        serde_json::from_str(&run("json", &["--org", orgs::FACHSTELLE])).expect("the report is JSON");
    assert_eq!(json["year"], 2026);
    assert_eq!(json["organisation"]["id"], orgs::FACHSTELLE);
    assert_eq!(json["suppression"]["marker"], "<5");
    for (table, row, want) in EXPECTED {
        assert_eq!(&json_value(&json, table, row), want, "JSON {table} / {row}");
    }

    let csv = run("csv", &[]);
    assert!(csv.starts_with("table;row;value\n"), "{csv}");
    let lines: Vec<&str> = csv.lines().collect();
    for (table, row, want) in EXPECTED {
        let line = format!("{table};{row};{want}");
        assert!(lines.contains(&line.as_str()), "CSV lacks {line}");
    }
    assert!(lines.contains(&"meta;organisation;all"));
    assert!(lines.contains(&"not_recorded;erased_person_data;not recorded"));

    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("kennzahlen.html");
    let out_arg = out.display().to_string();
    assert_eq!(run("html", &["--out", &out_arg]), "", "with --out nothing goes to standard output");
    let html = std::fs::read_to_string(&out).expect("HTML written");
    for heading in [
        "<title>Kennzahlen 2026</title>",
        "<h1>Kennzahlen 2026</h1>",
        "<h2>Zugangswege</h2>",
        "<h2>Ergebnisse</h2>",
        "<h2>Mietschuldenübernahmen</h2>",
        "<h2>Frauen (Hauptmieterin)</h2>",
        "<h2>Nicht erfasst</h2>",
    ] {
        assert!(html.contains(heading), "HTML lacks {heading}");
    }
    assert!(html.contains("<td class=\"n\">&lt;5</td>"), "suppressed cells");
    // The charts, inline SVG in figures, drawn from the suppressed cells only; and the print
    // stylesheet that makes the browser's "save as PDF" the PDF export.
    assert_eq!(html.matches("<figure class=\"diagramm\"").count(), 2, "two charts");
    assert_eq!(html.matches("<svg ").count(), 2);
    assert!(html.contains("<title>Ergebnisse nach Stufe beim Erstkontakt (2026)</title>"));
    assert!(html.contains("<title>Eröffnete Fälle je Monat (2026)</title>"));
    assert!(html.contains("@media print"));
    assert!(html.contains("<h2>Fälle je Monat der Eröffnung</h2>"));
    assert!(html.contains("<h2>Ergebnisse nach Stufe beim Erstkontakt</h2>"));
    let figure = |id: &str| {
        let start = html.find(&format!("<figure class=\"diagramm\" id=\"{id}\">")).expect("figure");
        let end = start + html[start..].find("</figure>").expect("end of figure");
        &html[start..end]
    };
    // The value at a bar's end is drawn in #1A1A1A, the axis labels in black.
    let label = |svg: &str, text: &str| svg.matches(&format!("fill=\"#1A1A1A\">\n{text}\n</text>")).count();
    let months = figure("diagramm-monate");
    assert_eq!(label(months, "&lt;5"), 2, "February and April hatched, not drawn as 4");
    assert_eq!(label(months, "10") + label(months, "12"), 2, "January and March labelled");
    let stages = figure("diagramm-ergebnisse");
    assert_eq!(label(stages, "&lt;5"), 6, "every hidden cell of the cross table");
    assert_eq!(label(stages, "5"), 1, "RECHTSHAENGIG without contact");
    assert!(stages.contains("Räumungstermin") && !stages.contains("Geräumt"), "stages with cases only");
    assert!(!html.contains("<5"), "the marker is escaped in HTML");
    assert!(html.contains("<td class=\"n\">11.920 €</td>"), "total amount in German notation");
    assert!(html.contains("<td class=\"n\">80,0 %</td>"), "contact rate");
    assert!(html.contains("Mitteilung des Amtsgerichts (MiZi)</td><td class=\"n\">9</td>"));
    assert!(!html.contains("Synth") && !html.contains("Jahresfall") && !html.contains("KZ-2026"), "no personal data");

    // Each report was recorded in the audit trail, as aggregated data without a case.
    let mut tx = th.store().begin_read().await.expect("read");
    let records = tx.audit_records(&AuditQuery { limit: 10_000, ..AuditQuery::default() }).await.expect("audit");
    let reports: Vec<_> = records.iter().filter(|r| r.action == hub::reports::key_figures::ACTION).collect();
    assert_eq!(reports.len(), 5, "2026 and 2027 from the library, json, csv and html from the binary");
    assert!(reports.iter().all(|r| r.actor == "operator"
        && r.legal_basis == hub::reports::key_figures::LEGAL_BASIS
        && r.case_id.is_none()));
    assert!(reports.iter().any(|r| r.detail.contains(orgs::FACHSTELLE)));
}
