//! The Art. 15 GDPR access report (`hub report access`): a case is played through a real
//! hub over mTLS gRPC (consents, one revoked; a referral on consent and one on statute; reads by the
//! recipients; a note), then the built `hub` binary reads the hub's database as the data protection
//! officer would and writes the report as JSON and as German HTML. On SQLite by default, on
//! PostgreSQL with `HUB_TEST_POSTGRES_URL` (the binary gets the hub's `--database-url` either way).

use crate::common;
use crate::process;

use std::path::Path;

use common::*;
use hub::audit::export::rfc3339;
use hub::clock::Clock as _;
use hub::domain::ids::{CaseId, OrgId};
use process::{hub_binary, hub_command};
use serde_json::Value;

/// A referral message and a note with markup in them: the HTML must show them as text.
const MESSAGE: &str = "Bitte <b>dringend</b> prüfen & melden";
const NOTE: &str = "Termin am 20.01. <vormittags>";

/// Runs `hub report access --case CASE ARGS` against the hub's database; returns success, stdout, stderr.
fn report(bin: &Path, th: &TestHub, case_id: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let data_dir = th.data_dir().display().to_string();
    let url = th.database_url();
    let mut all = vec!["report", "access", "--case", case_id, "--data-dir", &data_dir, "--database-url", &url];
    all.extend_from_slice(args);
    let out = hub_command(bin, &all).output().expect("run hub report access");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The report as the binary writes it to `--out`.
fn report_to_file(bin: &Path, th: &TestHub, case_id: &str, format: &str, extra: &[&str]) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join(format!("report.{format}"));
    let out_arg = out.display().to_string();
    let mut args = vec!["--format", format, "--out", &out_arg];
    args.extend_from_slice(extra);
    let (code, _, stderr) = report(bin, th, case_id, &args);
    assert_eq!(code, Some(0), "hub report access {args:?}: {stderr}");
    std::fs::read_to_string(&out).expect("report written")
}

async fn org_name(th: &TestHub, id: &str) -> String {
    let id = OrgId::parse(id).expect("org id");
    th.store().org_by_id(&id).await.expect("directory").expect("registered").name
}

fn strs(v: &Value) -> Vec<&str> {
    v.as_array().expect("an array").iter().map(|x| x.as_str().expect("a string")).collect()
}

fn find<'a>(items: &'a Value, key: &str, value: &str) -> &'a Value {
    items
        .as_array()
        .expect("an array")
        .iter()
        .find(|x| x[key] == value)
        .unwrap_or_else(|| panic!("no item with {key} = {value} in {items:#}"))
}

#[tokio::test]
async fn access_report_lists_data_disclosures_and_reads_in_json_and_german_html_and_is_audited() {
    let bin = hub_binary();
    let th = start().await;
    let case = open_case(&th).await;
    let persons = person_ids(&case);
    let data = [DataCategory::Identity, DataCategory::Arrears];
    let consent = record_consent(&th, &case, &[orgs::SCHULDNERBERATUNG], &data).await;
    // A second consent, revoked: the report says when.
    let revoked = record_consent(&th, &case, &[orgs::WOHNBAU], &[DataCategory::Identity]).await;
    consents(&th, orgs::FACHSTELLE)
        .await
        .revoke_consent(RevokeConsentRequest {
            idempotency_key: idem(),
            consent_id: revoked.id.clone(),
            note: "telefonisch widerrufen".into(),
        })
        .await
        .expect("RevokeConsent");

    // A referral on consent (private recipient), with markup in its message, read by the recipient,
    // who adds a note; and a referral on statute to the Jobcenter, read there.
    let mut req = referral_request(&th, &case.id, orgs::SCHULDNERBERATUNG, ReferralCategory::DebtCounselling, &data);
    req.message = MESSAGE.to_owned();
    let debt = try_create_referral(&th, req).await.expect("CreateReferral to debt counselling");
    referral(&th, orgs::SCHULDNERBERATUNG, &debt.id).await;
    referrals(&th, orgs::SCHULDNERBERATUNG)
        .await
        .add_note(AddNoteRequest { idempotency_key: idem(), referral_id: debt.id.clone(), text: NOTE.to_owned() })
        .await
        .expect("AddNote");
    let jc_data = [DataCategory::Identity, DataCategory::Tenancy, DataCategory::Arrears];
    let jc = create_referral(&th, &case.id, orgs::JOBCENTER, ReferralCategory::RentDebtTakeoverSgb2, &jc_data).await;
    referral(&th, orgs::JOBCENTER, &jc.id).await;

    let case_id = CaseId::parse(&case.id).expect("case id");
    let audit = th.store().audit_of_case(&case_id).await.expect("audit of case");
    let read_by = |org: &str| {
        audit
            .iter()
            .find(|e| e.action.as_str() == "referral.read" && e.actor == org)
            .unwrap_or_else(|| panic!("no referral.read by {org}: {audit:#?}"))
            .clone()
    };
    let (debt_read, jc_read) = (read_by(orgs::SCHULDNERBERATUNG), read_by(orgs::JOBCENTER));
    let debt_name = org_name(&th, orgs::SCHULDNERBERATUNG).await;
    let jc_name = org_name(&th, orgs::JOBCENTER).await;
    let today = hub::clock::SystemClock.now().day().to_string();

    // JSON, for the main tenant (the default).
    let text = report_to_file(&bin, &th, &case.id, "json", &[]);
    let json: Value = serde_json::from_str(&text).expect("valid JSON");
    assert_eq!(json["case_id"], case.id.as_str());
    assert_eq!(json["controller"]["id"], orgs::FACHSTELLE);
    assert_eq!(json["controller"]["name"], org_name(&th, orgs::FACHSTELLE).await.as_str());
    let bases: Vec<&str> =
        json["purposes_and_legal_bases"].as_array().unwrap().iter().map(|b| b["basis"].as_str().unwrap()).collect();
    for b in ["§35 SGB I", "§§67-85a SGB X", "Art. 9(2)(a) GDPR"] {
        assert!(bases.iter().any(|x| x.contains(b)), "{b} missing in {bases:?}");
    }
    assert_eq!(json["subject"]["person_id"], persons[0].as_str());
    assert_eq!(json["subject"]["given_name"], "Katrin");
    assert_eq!(json["subject"]["role"], "MAIN_TENANT");
    assert_eq!(json["subject"]["birth_year"], 1985);
    let members = json["household_members"].as_array().unwrap();
    assert_eq!(members.len(), persons.len(), "{members:?}");
    for (m, id) in members.iter().zip(&persons) {
        assert_eq!(m["person_id"], id.as_str());
        assert!(m.get("given_name").is_none(), "members are listed without names: {m}");
    }
    assert_eq!(json["household"]["phone"], PHONE);
    assert_eq!(json["household"]["arrears_cents"], 156_000);
    assert_eq!(json["household"]["health_note"], HEALTH_NOTE);

    // Consents: categories, recipients, form, validity, status; the revoked one with its time.
    let c = find(&json["consents"], "consent_id", &consent.id);
    assert_eq!(strs(&c["categories"]), ["IDENTITY", "ARREARS"]);
    assert_eq!(c["recipients"][0]["id"], orgs::SCHULDNERBERATUNG);
    assert_eq!(c["recipients"][0]["name"], debt_name.as_str());
    assert_eq!(c["purpose"], "WOHNUNGSSICHERUNG");
    assert_eq!(c["form"], "WRITTEN");
    assert_eq!(c["valid_until"], th.date_in_days(170).as_str());
    let expected = if today.as_str() <= c["valid_until"].as_str().unwrap() { "ACTIVE" } else { "EXPIRED" };
    assert_eq!(c["status"], expected, "status on the report's day {today}");
    assert!(c["revoked_at"].is_null());
    let r = find(&json["consents"], "consent_id", &revoked.id);
    assert_eq!(r["status"], "REVOKED");
    assert!(r["revoked_at"].as_str().is_some_and(|t| t.starts_with(&th.today())), "{r}");

    // Disclosures: each referral's recipient, time, categories and bases, handoffs and notes.
    let d = find(&json["referrals"], "referral_id", &debt.id);
    assert_eq!(d["recipient"]["id"], orgs::SCHULDNERBERATUNG);
    assert_eq!(d["recipient"]["name"], debt_name.as_str());
    assert!(d["created_at"].as_str().is_some_and(|t| t.starts_with(&th.today())), "{d}");
    assert_eq!(d["message"], MESSAGE);
    let disclosed: Vec<&str> =
        d["disclosures"].as_array().unwrap().iter().map(|x| x["category"].as_str().unwrap()).collect();
    assert_eq!(disclosed, ["IDENTITY", "ARREARS"]);
    for x in d["disclosures"].as_array().unwrap() {
        assert_eq!(x["bases"], serde_json::json!([{ "kind": "consent", "reference": consent.id }]), "{x}");
    }
    assert_eq!(d["history"][0]["to"], "REQUESTED");
    assert_eq!(d["history"][0]["by"]["id"], orgs::FACHSTELLE);
    assert_eq!(d["notes"][0]["text"], NOTE);
    assert_eq!(d["notes"][0]["author"]["id"], orgs::SCHULDNERBERATUNG);
    let j = find(&json["referrals"], "referral_id", &jc.id);
    assert_eq!(j["recipient"]["name"], jc_name.as_str());
    let tenancy = find(&j["disclosures"], "category", "TENANCY");
    assert_eq!(tenancy["bases"], serde_json::json!([{ "kind": "statute", "reference": "§69 Abs. 1 Nr. 1 SGB X" }]));

    // Reads by partners, as the audit trail recorded them.
    let reads = json["partner_reads"].as_array().unwrap();
    for (org, e, cats) in [(orgs::SCHULDNERBERATUNG, &debt_read, &data[..]), (orgs::JOBCENTER, &jc_read, &jc_data[..])]
    {
        let read = reads
            .iter()
            .find(|x| x["org"]["id"] == org && x["action"] == "referral.read")
            .unwrap_or_else(|| panic!("no read by {org} in {reads:#?}"));
        assert_eq!(read["at"], rfc3339(e.at).as_str());
        assert_eq!(read["legal_basis"], e.legal_basis.as_str());
        let names: Vec<String> = cats.iter().map(|c| category_name(*c).to_owned()).collect();
        assert_eq!(strs(&read["categories"]), names, "{read}");
    }
    assert!(reads.iter().all(|x| x["org"]["id"] != orgs::FACHSTELLE), "the controller's own reads are no disclosure");

    let debt_basis = find(&json["partner_reads"], "referral_id", &debt.id)["legal_basis"].as_str().unwrap().to_owned();
    assert!(debt_basis.contains(&format!("IDENTITY=consent:{}", consent.id)), "{debt_basis}");

    // HTML: German, the person's name, the recipients, the bases; markup in values escaped.
    let html = report_to_file(&bin, &th, &case.id, "html", &[]);
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("<html lang=\"de\">"), "{html}");
    for needle in [
        "Auskunft nach Art. 15 DSGVO",
        "Verantwortliche Stelle",
        "Übermittlungen an andere Stellen",
        "Abrufe durch andere Stellen",
        "Ihre Rechte",
        "Katrin Kaiser",
        "§ 35 SGB I",
        "Art. 77 DSGVO",
        &format!("Einwilligung {}", consent.id),
        "§69 Abs. 1 Nr. 1 SGB X",
        "Schuldnerberatung",
        "widerrufen",
        "&lt;b&gt;dringend&lt;/b&gt; prüfen &amp; melden",
        "Termin am 20.01. &lt;vormittags&gt;",
    ] {
        assert!(html.contains(needle), "HTML lacks {needle:?}:\n{html}");
    }
    for name in [&debt_name, &jc_name] {
        assert!(html.contains(&hub::reports::html::escape(name)), "HTML lacks recipient {name}");
    }
    assert!(!html.contains("<b>dringend") && !html.contains("<vormittags>"), "unescaped markup:\n{html}");

    // Another household member's report names neither the main tenant nor her contact data.
    let child = report_to_file(&bin, &th, &case.id, "json", &["--person", &persons[1]]);
    let cj: Value = serde_json::from_str(&child).expect("valid JSON");
    assert_eq!(cj["subject"]["person_id"], persons[1].as_str());
    assert_eq!(cj["subject"]["role"], "CHILD");
    assert!(cj["household"]["phone"].is_null() && cj["household"]["email"].is_null(), "{cj:#}");
    assert_eq!(cj["consents"], serde_json::json!([]), "the child gave no consent");
    assert!(!child.contains("Katrin"), "{child}");

    // Unknown case or person: a clear error, exit code 1, nothing recorded.
    let unknown = uuid::Uuid::new_v4().to_string();
    let (code, stdout, stderr) = report(&bin, &th, &unknown, &["--format", "json"]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(stderr.contains(&format!("no case {unknown}")), "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    let (code, _, stderr) = report(&bin, &th, &case.id, &["--person", &unknown]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains(&format!("has no person {unknown}")) && stderr.contains(&persons[0]), "{stderr}");
    let (code, _, stderr) = report(&bin, &th, "not-a-case", &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("--case: is not a valid id"), "{stderr}");

    // Each generated report is itself recorded as an access: three reports, three records.
    let audit = th.store().audit_of_case(&case_id).await.expect("audit of case");
    let own: Vec<_> = audit.iter().filter(|e| e.action.as_str() == hub::reports::access::ACTION).collect();
    assert_eq!(own.len(), 3, "{audit:#?}");
    for e in &own {
        assert_eq!(e.actor, "operator");
        assert_eq!(e.legal_basis, "Art. 15 GDPR");
        assert_eq!(e.case_id.as_ref(), Some(&case_id));
    }
    assert!(
        own[0].detail.stored().contains("json") && own[0].detail.stored().contains(&persons[0]),
        "{}",
        own[0].detail.stored()
    );
    assert!(own[2].detail.stored().contains(&persons[1]), "{}", own[2].detail.stored());
    // The chain stays intact with the report's records in it.
    let key = hub::audit::SealPublicKey::load(&hub::audit::seal::public_key_file(th.data_dir())).expect("seal key");
    let report = hub::audit::verify(th.store().as_ref(), Some(&key)).await.expect("verification runs");
    assert!(report.is_intact(), "{} {:?}", report.summary(), report.problems);
    assert!(
        !audit
            .iter()
            .any(|e| e.action.as_str() == hub::reports::access::ACTION && e.case_id.as_ref() != Some(&case_id))
    );
}

#[tokio::test]
async fn access_report_to_standard_output_without_disclosures() {
    let bin = hub_binary();
    let th = start().await;
    let case = open_case(&th).await;
    let (code, stdout, stderr) = report(&bin, &th, &case.id, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("<html lang=\"de\">") && stdout.contains("Katrin Kaiser"), "{stdout}");
    assert!(stdout.contains("Übermittlungen an andere Stellen</h2>\n<p>Keine.</p>"), "{stdout}");
    let (code, stdout, stderr) = report(&bin, &th, &case.id, &["--format", "json"]);
    assert_eq!(code, Some(0), "{stderr}");
    let json: Value = serde_json::from_str(&stdout).expect("valid JSON");
    assert_eq!(json["referrals"], serde_json::json!([]));
    assert_eq!(json["partner_reads"], serde_json::json!([]));
}
