//! `hubctl arrears import` end to end: the built binary against a real in-process hub over mutual
//! TLS, with a 10,000-row ERP export of which about 2 % is broken in the ways real exports are.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::process;
use std::sync::OnceLock;

use hub::domain::ids::OrgId;
use hub::pki::{self, PkiDir};
use hub_proto::v1::notice_service_client::NoticeServiceClient;
use hub_proto::v1::{ListNoticeStatusesRequest, NoticeStatus};
use hub_testkit::{TestHub, orgs};

/// Builds hubctl once per test binary and returns its path.
fn hubctl() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(process::hubctl_binary)
}

/// The hub plus the files hubctl needs to reach it as wohnbau-nord.
struct Setup {
    hub: TestHub,
    dir: tempfile::TempDir,
}

impl Setup {
    async fn start() -> Self {
        let hub = TestHub::start().await.expect("the test hub starts");
        let dir = tempfile::tempdir().expect("temp dir");
        let ca = pki::load_ca(&PkiDir::in_data_dir(hub.data_dir())).expect("CA");
        let pair = pki::org_cert(&ca, &OrgId::parse(orgs::WOHNBAU).expect("org id")).expect("org certificate");
        std::fs::write(dir.path().join("ca.pem"), hub.ca_pem()).expect("write CA");
        std::fs::write(dir.path().join("wohnbau.pem"), pair.cert).expect("write cert");
        std::fs::write(dir.path().join("wohnbau.key"), pair.key).expect("write key");
        Self { hub, dir }
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("write CSV");
        path
    }

    /// Runs hubctl as wohnbau-nord (off the async runtime: it blocks until hubctl exits).
    async fn hubctl(&self, args: &[&str]) -> Output {
        let mut command = Command::new(hubctl());
        let file = |name: &str| self.dir.path().join(name);
        command
            .arg("--hub")
            .arg(format!("https://127.0.0.1:{}", self.hub.addr().port()))
            .args(["--tls-name", "localhost", "--ca"])
            .arg(file("ca.pem"))
            .arg("--cert")
            .arg(file("wohnbau.pem"))
            .arg("--key")
            .arg(file("wohnbau.key"))
            .args(args)
            .env_remove("HUBCTL_HUB")
            .env_remove("HUBCTL_CA")
            .env_remove("HUBCTL_CERT")
            .env_remove("HUBCTL_KEY")
            .env_remove("HUBCTL_TLS_NAME");
        tokio::task::spawn_blocking(move || command.output().expect("hubctl runs")).await.expect("join")
    }

    /// The arrears notices as stored (read through the store, opened with the case keys).
    async fn stored_notices(&self) -> Vec<hub::domain::notice::ArrearsData> {
        let mut tx = self.hub.store().begin_read().await.expect("read transaction");
        let org = OrgId::parse(orgs::WOHNBAU).expect("org id");
        tx.notices_of_reporter(&org)
            .await
            .expect("notices")
            .into_iter()
            .filter_map(|n| match n.data {
                hub::domain::notice::NoticeData::Arrears(a) => Some(a),
                hub::domain::notice::NoticeData::Court(_) => None,
            })
            .collect()
    }

    async fn statuses(&self) -> Vec<NoticeStatus> {
        let channel = self.hub.channel(orgs::WOHNBAU).await.expect("channel");
        NoticeServiceClient::new(channel)
            .list_notice_statuses(ListNoticeStatusesRequest::default())
            .await
            .expect("ListNoticeStatuses")
            .into_inner()
            .statuses
    }
}

/// The columns, deliberately not in the documented order (headers may come in any order).
const HEADER: [&str; 22] = [
    "stufe",
    "mietverhaeltnis_ref",
    "einwilligung",
    "einwilligung_nachweis",
    "stadtbezirk",
    "name",
    "vorname",
    "strasse",
    "hausnummer",
    "plz",
    "ort",
    "telefon",
    "email",
    "grundmiete",
    "nebenkosten_vz",
    "heizkosten_vz",
    "rueckstand_gesamt",
    "aeltester_offener_monat",
    "kuendigung_datum",
    "klage_zugestellt_am",
    "raeumungstermin",
    "bemerkung",
];

const DISTRICTS: [&str; 13] = [
    "Mitte",
    "Vahrenwald-List",
    "bothfeld-vahrenheide",
    "Buchholz Kleefeld",
    "MISBURG_ANDERTEN",
    "Kirchrode-Bemerode-Wuelferode",
    "Südstadt-Bult",
    "Döhren-Wülfel",
    "Ricklingen",
    "Linden-Limmer",
    "Ahlem-Badenstedt-Davenstedt",
    "Herrenhausen-Stöcken",
    "Nord",
];

const STAGES: [&str; 8] = [
    "Rückstand",
    "Mahnung",
    "Kündigung angedroht",
    "KUENDIGUNG_FRISTLOS",
    "kuendigung-ordentlich",
    "Klage eingereicht",
    "rechtshängig",
    "Räumungstermin",
];

/// The ways a row is broken, and the column the report must name. The first five are caught by
/// hubctl, the last two only by the hub (their field paths must come back as columns).
const BAD_KINDS: [(&str, &str); 7] = [
    ("consent evidence without consent", "einwilligung_nachweis"),
    ("bad decimal", "grundmiete"),
    ("bad date", "kuendigung_datum"),
    ("unknown district", "stadtbezirk"),
    ("missing reference", "mietverhaeltnis_ref"),
    ("invalid email (hub)", "email"),
    ("claim served in the future (hub)", "klage_zugestellt_am"),
];

/// One good row: every variety a real export has (consent or not, umlauts or not, thousands dots).
fn good_row(i: usize) -> BTreeMap<&'static str, String> {
    let mut row = BTreeMap::new();
    row.insert("mietverhaeltnis_ref", format!("WN-{i:05}"));
    row.insert("stadtbezirk", DISTRICTS[i % DISTRICTS.len()].to_owned());
    row.insert("stufe", STAGES[i % STAGES.len()].to_owned());
    row.insert("grundmiete", ["1.234,56", "780", "780,5", "512,00"][i % 4].to_owned());
    row.insert("nebenkosten_vz", if i.is_multiple_of(5) { String::new() } else { "120,00".to_owned() });
    row.insert("heizkosten_vz", "60".to_owned());
    row.insert("rueckstand_gesamt", ["1.560,00", "780", "2.340,5"][i % 3].to_owned());
    row.insert(
        "aeltester_offener_monat",
        if i.is_multiple_of(2) { "11.2025".to_owned() } else { "04.11.2025".to_owned() },
    );
    if i % 8 == 3 {
        row.insert("kuendigung_datum", "15.12.2025".to_owned());
    }
    if i % 8 == 6 {
        row.insert("klage_zugestellt_am", "02.01.2026".to_owned());
    }
    if i.is_multiple_of(3) {
        row.insert("einwilligung", ["ja", "J", "x", "1"][i % 4].to_owned());
        row.insert("einwilligung_nachweis", format!("Antwortabschnitt {i} vom 08.12.2025"));
        row.insert("name", "Beispiel".to_owned());
        row.insert("vorname", "Berta".to_owned());
        row.insert("strasse", "Testallee".to_owned());
        row.insert("hausnummer", format!("{}", i % 90 + 1));
        row.insert("plz", "30159".to_owned());
        row.insert("ort", "Hannover".to_owned());
        row.insert("email", format!("mieter{i}@example.org"));
        row.insert("bemerkung", "Bitte anrufen; \"dringend\"\nzweite Zeile".to_owned());
    } else {
        row.insert("einwilligung", ["nein", "", "0", "N"][i % 4].to_owned());
        // A quarter of the rows without consent carry a remark, as real exports do: the notice still
        // goes, the remark never leaves the machine.
        if i % 4 == 1 {
            row.insert("bemerkung", "Zahlt seit dem Auszug des Partners nicht (synthetisch)".to_owned());
        }
    }
    row
}

/// Whether a good row without consent carries a remark (reported as a dropped cell).
fn remark_dropped(row: &BTreeMap<&'static str, String>) -> bool {
    row.contains_key("bemerkung") && !row.contains_key("einwilligung_nachweis")
}

/// A bad row of the given kind.
fn bad_row(i: usize, kind: usize) -> BTreeMap<&'static str, String> {
    let mut row = good_row(i);
    match kind {
        0 => {
            for column in ["name", "vorname", "strasse", "hausnummer", "plz", "ort", "email", "bemerkung"] {
                row.remove(column);
            }
            row.insert("einwilligung", "nein".to_owned());
            row.insert("einwilligung_nachweis", "Antwortabschnitt".to_owned());
        }
        1 => {
            row.insert("grundmiete", "12,345".to_owned());
        }
        2 => {
            row.insert("kuendigung_datum", "31.02.2025".to_owned());
        }
        3 => {
            row.insert("stadtbezirk", "Langenhagen".to_owned());
        }
        4 => {
            row.insert("mietverhaeltnis_ref", String::new());
        }
        5 => {
            row.insert("einwilligung", "ja".to_owned());
            row.insert("einwilligung_nachweis", "Antwortabschnitt".to_owned());
            row.insert("name", "Beispiel".to_owned());
            row.insert("email", "keine-adresse".to_owned());
        }
        _ => {
            row.insert("klage_zugestellt_am", "01.06.2026".to_owned());
        }
    }
    row
}

/// A cell as an ERP writes it: quoted when it holds `;`, `"` or a line break.
fn cell(text: &str) -> String {
    if text.contains([';', '"', '\n', '\r']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text.to_owned() }
}

/// The export: its text (BOM, CRLF), the good references, the bad rows with the column each must be
/// reported under, and the good rows whose remark is dropped.
struct Export {
    text: String,
    good: BTreeSet<String>,
    bad: BTreeMap<usize, &'static str>,
    dropped: BTreeSet<usize>,
}

fn export(rows: usize) -> Export {
    let mut text = format!("\u{FEFF}{}\r\n", HEADER.join(";"));
    let mut good = BTreeSet::new();
    let mut bad = BTreeMap::new();
    let mut dropped = BTreeSet::new();
    for i in 0..rows {
        let row_number = i + 2;
        let row = if i % 50 == 7 {
            let kind = (i / 50) % BAD_KINDS.len();
            bad.insert(row_number, BAD_KINDS[kind].1);
            let row = bad_row(i, kind);
            // A row only the hub refuses got through hubctl's own reading: its remark was dropped too.
            if BAD_KINDS[kind].0.ends_with("(hub)") && remark_dropped(&row) {
                dropped.insert(row_number);
            }
            row
        } else {
            let row = good_row(i);
            good.insert(row["mietverhaeltnis_ref"].clone());
            if remark_dropped(&row) {
                dropped.insert(row_number);
            }
            row
        };
        let cells: Vec<String> = HEADER.iter().map(|column| cell(row.get(column).map_or("", String::as_str))).collect();
        text.push_str(&cells.join(";"));
        text.push_str("\r\n");
    }
    Export { text, good, bad, dropped }
}

/// The (row, column) pairs of the text report's problem table.
fn reported(stdout: &str) -> BTreeSet<(usize, String)> {
    stdout
        .lines()
        .filter(|line| !line.contains(" rows: "))
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let row = words.next()?.parse().ok()?;
            Some((row, words.next()?.to_owned()))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_thousand_rows_with_bad_ones_reported_by_column_and_reimport_changes_nothing() {
    let setup = Setup::start().await;
    let Export { text, good, bad, dropped } = export(10_000);
    assert_eq!(good.len() + bad.len(), 10_000);
    assert!((1_000..=2_000).contains(&dropped.len()), "a quarter of the rows without consent: {}", dropped.len());
    assert!((150..=250).contains(&bad.len()), "about 2 % bad rows, got {}", bad.len());
    let file = setup.write("export.csv", &text);
    let file = file.to_str().expect("UTF-8 path");

    let first = setup.hubctl(&["arrears", "import", file]).await;
    let stdout = String::from_utf8_lossy(&first.stdout);
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert_eq!(first.status.code(), Some(1), "stdout:\n{stdout}\nstderr:\n{stderr}");
    let problems = reported(&stdout);
    for (row, column) in &bad {
        assert!(
            problems.contains(&(*row, (*column).to_owned())),
            "row {row} must be reported under {column}:\n{stdout}"
        );
    }
    for row in &dropped {
        assert!(problems.contains(&(*row, "bemerkung".to_owned())), "row {row}: the dropped remark is named");
    }
    let rows_reported: BTreeSet<usize> = problems.iter().map(|(row, _)| *row).collect();
    let expected: BTreeSet<usize> = bad.keys().copied().chain(dropped.iter().copied()).collect();
    assert_eq!(rows_reported, expected, "only the bad rows and the rows with a dropped cell are reported");
    let summary = format!(
        "10000 rows: {} accepted, 0 updated, 0 unchanged, {} rejected; {} rows with cells not sent",
        good.len(),
        bad.len(),
        dropped.len()
    );
    assert!(stdout.contains(&summary), "{summary}\n{stdout}");
    assert!(stderr.contains(&format!("{} of 10000 rows rejected", bad.len())), "{stderr}");
    assert!(!stderr.contains('\r'), "no progress bar when stderr is not a terminal");

    let stored: BTreeSet<String> = setup.statuses().await.into_iter().map(|status| status.tenancy_reference).collect();
    assert_eq!(stored, good, "exactly the good rows are stored");
    // In the database: no notice without consent holds a remark or a name.
    let notices = setup.stored_notices().await;
    let pseudonymous: Vec<_> = notices.iter().filter(|a| a.consent_evidence.is_none()).collect();
    assert!(pseudonymous.len() > dropped.len(), "{} notices without consent", pseudonymous.len());
    for a in &pseudonymous {
        assert!(a.remark.is_empty() && a.tenant.is_none(), "{}: {:?} {:?}", a.tenancy_reference, a.remark, a.tenant);
    }
    assert!(notices.iter().any(|a| a.consent_evidence.is_some() && !a.remark.is_empty()), "consented remarks are kept");

    // The same file again: every good row unchanged, the bad ones rejected again.
    let second = setup.hubctl(&["--json", "arrears", "import", file]).await;
    assert_eq!(second.status.code(), Some(1), "{}", String::from_utf8_lossy(&second.stderr));
    let report: serde_json::Value = serde_json::from_slice(&second.stdout).expect("JSON report");
    assert_eq!(report["summary"]["unchanged"], good.len());
    assert_eq!(report["summary"]["accepted"], 0);
    assert_eq!(report["summary"]["updated"], 0);
    assert_eq!(report["summary"]["rejected"], bad.len());
    for result in report["results"].as_array().expect("results") {
        let row = usize::try_from(result["row"].as_u64().expect("row")).expect("row");
        let expected = if bad.contains_key(&row) { "rejected" } else { "unchanged" };
        assert_eq!(result["outcome"], expected, "row {row}: {result}");
    }
    assert_eq!(setup.statuses().await.len(), good.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cells_without_consent_are_dropped_and_named_and_windows_1252_and_mapped_exports_import_alike() {
    let setup = Setup::start().await;
    let text = "mietverhaeltnis_ref;stadtbezirk;einwilligung;name;grundmiete;rueckstand_gesamt;stufe;bemerkung\n\
                WN-OK;Südstadt-Bult;nein;;780,00;1.560,00;Kündigung angedroht;\n\
                WN-NAMED;Döhren-Wülfel;nein;Müßig;780,00;1.560,00;Mahnung;Rückruf erbeten (synthetisch)\n";
    let file = setup.write("small.csv", text);

    let output = setup.hubctl(&["arrears", "import", file.to_str().expect("UTF-8 path")]).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "a dropped cell is no rejection: {stdout}\n{stderr}");
    let problems = reported(&stdout);
    assert_eq!(problems, BTreeSet::from([(3, "name".to_owned()), (3, "bemerkung".to_owned())]), "{stdout}");
    assert!(stdout.contains("WARNING not sent") && stdout.contains("consent"), "{stdout}");
    assert!(
        stdout.contains("2 rows: 2 accepted, 0 updated, 0 unchanged, 0 rejected; 1 row with cells not sent"),
        "{stdout}"
    );
    assert!(!stderr.contains("Windows-1252"), "a UTF-8 file is read as UTF-8: {stderr}");
    let notices = setup.stored_notices().await;
    let named = notices.iter().find(|a| a.tenancy_reference == "WN-NAMED").expect("the notice is stored");
    assert!(named.tenant.is_none() && named.remark.is_empty(), "nothing identifying is stored: {named:?}");

    // The same export from an older ERP, in Windows-1252: read as such (and said so), the same notices.
    let ansi = setup.dir.path().join("small-ansi.csv");
    std::fs::write(&ansi, windows_1252(text)).expect("write CSV");
    let again = setup.hubctl(&["--json", "arrears", "import", ansi.to_str().expect("UTF-8 path")]).await;
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert_eq!(again.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("read as Windows-1252"), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&again.stdout).expect("JSON report");
    assert_eq!(report["summary"]["unchanged"], 2, "identical to the UTF-8 import: {report}");
    assert_eq!(report["summary"]["with_warnings"], 1);
    // Chosen as UTF-8, the same bytes are refused with the line named, never mis-read.
    let strict = setup.hubctl(&["arrears", "import", "--encoding", "utf-8", ansi.to_str().expect("UTF-8 path")]).await;
    let stderr = String::from_utf8_lossy(&strict.stderr);
    assert_ne!(strict.status.code(), Some(0));
    assert!(stderr.contains("not UTF-8 (line 2"), "{stderr}");
    assert_eq!(setup.stored_notices().await.len(), 2);

    // Another ERP names the columns and the stages its own way: a profile maps them, the same notices.
    let mapped = "Vertragsnummer;Bezirk;Einverständnis;Mieter;Kaltmiete;Offener Betrag;Mahnstufe;Notiz\n\
                  WN-OK;Südstadt-Bult;liegt nicht vor;;780,00;1.560,00;KA;\n\
                  WN-NAMED;Döhren-Wülfel;liegt nicht vor;Müßig;780,00;1.560,00;MA1;Rückruf erbeten (synthetisch)\n";
    let mapped_file = setup.write("erp.csv", mapped);
    let profile = setup.write(
        "erp.toml",
        "[columns]\n\"Vertragsnummer\" = \"mietverhaeltnis_ref\"\n\"Bezirk\" = \"stadtbezirk\"\n\
         \"Einverständnis\" = \"einwilligung\"\n\"Mieter\" = \"name\"\n\"Kaltmiete\" = \"grundmiete\"\n\
         \"Offener Betrag\" = \"rueckstand_gesamt\"\n\"Mahnstufe\" = \"stufe\"\n\"Notiz\" = \"bemerkung\"\n\
         [values.stufe]\n\"MA1\" = \"Mahnung\"\n\"KA\" = \"Kündigung angedroht\"\n\
         [values.einwilligung]\n\"liegt vor\" = \"ja\"\n\"liegt nicht vor\" = \"nein\"\n",
    );
    let (mapped_file, profile) = (mapped_file.to_str().expect("UTF-8 path"), profile.to_str().expect("UTF-8 path"));
    let third = setup.hubctl(&["--json", "arrears", "import", "--profile", profile, mapped_file]).await;
    assert_eq!(third.status.code(), Some(0), "{}", String::from_utf8_lossy(&third.stderr));
    let report: serde_json::Value = serde_json::from_slice(&third.stdout).expect("JSON report");
    assert_eq!(report["summary"]["unchanged"], 2, "identical to the first import: {report}");
    assert_eq!(report["results"][1]["warnings"][0]["column"], "name", "reported under the import's column");
    // A profile naming a column the import does not have is refused before anything is read.
    let wrong = setup.write("wrong.toml", "[columns]\n\"Vertragsnummer\" = \"vertrag\"\n");
    let refused =
        setup.hubctl(&["arrears", "import", "--profile", wrong.to_str().expect("UTF-8 path"), mapped_file]).await;
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_ne!(refused.status.code(), Some(0));
    assert!(stderr.contains("'vertrag' is not a column of this import"), "{stderr}");
}

/// `text` in Windows-1252 (the German letters of the test files only).
fn windows_1252(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            'ä' => 0xE4,
            'ö' => 0xF6,
            'ü' => 0xFC,
            'Ä' => 0xC4,
            'Ö' => 0xD6,
            'Ü' => 0xDC,
            'ß' => 0xDF,
            '€' => 0x80,
            c if c.is_ascii() => c as u8,
            c => panic!("{c} is not in the test's Windows-1252 table"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_import_cut_off_by_a_dying_hub_says_so_in_words_and_running_it_again_completes_it() {
    const ROWS: usize = 12_000;
    let bin = process::hub_binary();
    let root = tempfile::tempdir().expect("temp dir");
    let data = root.path().join("hub-data");
    let data_arg = data.to_str().expect("UTF-8 temp path");
    process::run_hub(&bin, &["pki", "init", "--data-dir", data_arg], &[]);
    process::run_hub(&bin, &["migrate", "--data-dir", data_arg], &[]);
    let database_url = format!("sqlite://{}", data.join("hub.db").display());
    let mut hub = process::Replica::start("the hub", &bin, &data, &database_url);
    let ca = pki::load_ca(&PkiDir::in_data_dir(&data)).expect("CA");
    let operator = pki::operator_cert(&ca).expect("operator certificate");
    process::register_network(hub.channel(&ca, &operator).await, |_| {}).await;
    let pair = pki::org_cert(&ca, &OrgId::parse(orgs::WOHNBAU).expect("org id")).expect("org certificate");
    let files = root.path();
    std::fs::write(files.join("ca.pem"), &ca.cert).expect("write CA");
    std::fs::write(files.join("wohnbau.pem"), &pair.cert).expect("write cert");
    std::fs::write(files.join("wohnbau.key"), &pair.key).expect("write key");
    // Good rows only: this hub runs on the system clock, on which some of export()'s bad dates are valid.
    let mut text = format!("\u{FEFF}{}\r\n", HEADER.join(";"));
    let mut good = BTreeSet::new();
    for i in 0..ROWS {
        let row = good_row(i);
        good.insert(row["mietverhaeltnis_ref"].clone());
        let cells: Vec<String> = HEADER.iter().map(|column| cell(row.get(column).map_or("", String::as_str))).collect();
        text.push_str(&cells.join(";"));
        text.push_str("\r\n");
    }
    std::fs::write(files.join("export.csv"), text).expect("write CSV");
    let import = |port: u16, json: bool| {
        let mut command = Command::new(hubctl());
        command
            .arg("--hub")
            .arg(format!("https://127.0.0.1:{port}"))
            .args(["--tls-name", "localhost", "--ca"])
            .arg(files.join("ca.pem"))
            .arg("--cert")
            .arg(files.join("wohnbau.pem"))
            .arg("--key")
            .arg(files.join("wohnbau.key"));
        if json {
            command.arg("--json");
        }
        command.args(["arrears", "import"]).arg(files.join("export.csv"));
        command.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
        command.spawn().expect("hubctl starts")
    };

    // The hub dies (SIGKILL) while hubctl streams the rows.
    // Killed as soon as the first rows are stored, so the cut falls in the middle of the stream.
    let mut running = import(hub.port, false);
    let db = sqlx::SqlitePool::connect(&format!("{database_url}?mode=ro")).await.expect("open the database");
    let started = std::time::Instant::now();
    loop {
        let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM notices").fetch_one(&db).await.unwrap_or(0);
        if stored > 0 {
            break;
        }
        assert!(running.try_wait().expect("hubctl status").is_none(), "hubctl ended before the hub stored a row");
        assert!(started.elapsed() < process::CALL_TIMEOUT, "no row stored within {:?}", process::CALL_TIMEOUT);
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    db.close().await;
    hub.kill();
    assert!(running.try_wait().expect("hubctl status").is_none(), "the import was still running when the hub died");
    let cut =
        tokio::task::spawn_blocking(move || running.wait_with_output().expect("hubctl ends")).await.expect("join");
    let stderr = String::from_utf8_lossy(&cut.stderr);
    assert_eq!(cut.status.code(), Some(1), "stderr:\n{stderr}");
    assert!(stderr.contains("the connection to the hub was lost"), "said in words:\n{stderr}");
    assert!(stderr.contains("again is safe"), "and that running it again is safe:\n{stderr}");
    assert!(!stderr.contains("rustls"), "no raw TLS library error:\n{stderr}");

    // Again, on the restarted hub: every good row once, accepted now or unchanged from the first run.
    let hub = process::Replica::start("the hub again", &bin, &data, &database_url);
    let again = import(hub.port, true);
    let again =
        tokio::task::spawn_blocking(move || again.wait_with_output().expect("hubctl ends")).await.expect("join");
    assert_eq!(again.status.code(), Some(0), "the second run completes: {}", String::from_utf8_lossy(&again.stderr));
    let report: serde_json::Value = serde_json::from_slice(&again.stdout).expect("JSON report");
    let (accepted, unchanged) = (
        report["summary"]["accepted"].as_u64().expect("accepted"),
        report["summary"]["unchanged"].as_u64().expect("n"),
    );
    println!("after the cut: {unchanged} rows were in already, {accepted} accepted by the second run");
    assert!(unchanged > 0, "the first run stored rows before the hub died");
    assert_eq!(usize::try_from(accepted + unchanged).expect("count"), good.len(), "every good row once");
    assert_eq!(report["summary"]["updated"], 0);
    assert_eq!(report["summary"]["rejected"], 0);
    let channel = hub.channel(&ca, &pair).await;
    let stored = NoticeServiceClient::new(channel)
        .list_notice_statuses(ListNoticeStatusesRequest::default())
        .await
        .expect("ListNoticeStatuses")
        .into_inner()
        .statuses;
    let stored: BTreeSet<String> = stored.into_iter().map(|s| s.tenancy_reference).collect();
    assert_eq!(stored, good, "exactly the good rows are stored, each once");
}
