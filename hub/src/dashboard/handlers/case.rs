//! The case page and its actions: each form of the page, parsed and handed to its use case; a rule
//! that refuses it brings the page back with the input kept and the message at the field.

use super::*;

fn case_id(raw: &str) -> Result<CaseId, HubError> {
    CaseId::parse(raw).map_err(|e| HubError::Invalid(e.within("Fall")))
}

/// The consent form filled in from `consent` for its new version (amended or renewed): persons,
/// recipients, data, form and the explicit declarations taken over; evidence and validity left for the
/// new version, which names the old one it replaces.
fn new_version_of(consent: &crate::domain::consent::Consent) -> views::case_page::FormEcho {
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("ersetzt", consent.id.as_str());
    for p in &consent.persons {
        q.append_pair("personen", p.as_str());
    }
    for r in &consent.recipients {
        q.append_pair("empfaenger", r.as_str());
    }
    for c in &consent.categories {
        q.append_pair("daten", c.as_str());
    }
    q.append_pair("form", consent.form.as_str());
    if consent.art9_explicit {
        q.append_pair("ausdruecklich", "on");
    }
    if consent.secrecy_release {
        q.append_pair("schweigepflicht", "on");
    }
    views::case_page::FormEcho {
        form: CONSENT.id,
        values: FormData::parse(q.finish().as_bytes()),
        field: None,
        label: None,
        message: String::new(),
    }
}

/// GET /faelle/{id}/druck : the case for the paper file (audited as a read of the case, like the page).
pub async fn case_print(State(state): State<DashState>, staff: Staff, Path(id): Path<String>) -> Response {
    let model = match case_id(&id) {
        Ok(id) => state.hub.dash_case(&staff.user.caller, &id).await,
        Err(e) => Err(e),
    };
    match model {
        Ok(m) => {
            let title = format!("Druckansicht – {}", views::case_page::title(&m));
            ok_page(&staff, Nav::Cases, &title, &views::case_page::render_print(&m, &staff.ctx(&state)))
        }
        Err(e) => error_page(e, Some(&staff.frame(Nav::Cases))),
    }
}

/// GET /faelle/{id} : the case page.
pub async fn case_page(
    State(state): State<DashState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Response {
    let model = match case_id(&id) {
        Ok(id) => state.hub.dash_case(&staff.user.caller, &id).await,
        Err(e) => Err(e),
    };
    match model {
        Ok(m) => {
            let title = views::case_page::title(&m);
            let old = q.neue_fassung.as_deref().and_then(|id| m.consents.iter().find(|c| c.id.as_str() == id));
            let body = match old {
                Some(consent) => views::case_page::render_with(&m, &staff.ctx(&state), Some(&new_version_of(consent))),
                None => views::case_page::render_done(&m, &staff.ctx(&state), q.erledigt.as_deref()),
            };
            ok_page(&staff, Nav::Cases, &title, &body)
        }
        Err(e) => error_page(e, Some(&staff.frame(Nav::Cases))),
    }
}

/// A form of the case page: its id, and which of its fields shows a rule's message, by the field path the
/// rule names (proto names from the domain, or the form's own names from parsing above), with the field's
/// label for the summary at the top of the page.
struct CaseForm {
    id: &'static str,
    fields: &'static [(&'static str, &'static str, &'static str)],
}

const REFER: CaseForm = CaseForm {
    id: "ueberweisen",
    fields: &[
        ("recipient_organisation_id", "empfaenger", "Empfänger"),
        ("category", "kategorie", "Anliegen"),
        ("data_categories", "daten", "Daten"),
        ("reply_by", "antwort_bis", "Antwort bis"),
        ("message", "nachricht", "Nachricht"),
        ("confirm_duplicate", "zweite_bestaetigt", "Zweite Vermittlung"),
        ("confirm_closed_capacity", "trotz_aufnahmestopp", "Trotzdem senden"),
    ],
};

const CONSENT: CaseForm = CaseForm {
    id: "einwilligung",
    fields: &[
        ("person_ids", "personen", "Einwilligende Personen"),
        ("recipient_organisation_ids", "empfaenger", "Empfänger"),
        ("categories", "daten", "Daten"),
        ("evidence_reference", "nachweis", "Nachweis"),
        ("valid_until", "gueltig_bis", "Gültig bis"),
        ("art9_explicit", "ausdruecklich", "Ausdrückliche Einwilligung"),
        ("secrecy_release", "schweigepflicht", "Schweigepflichtentbindung"),
        ("replaces_consent_id", "ersetzt", "Bisherige Fassung"),
    ],
};

const REVOKE: CaseForm = CaseForm {
    id: "widerruf",
    fields: &[("consent_id", "einwilligung", "Einwilligung"), ("note", "notiz", "Wie und wann widerrufen")],
};

const STAGE: CaseForm = CaseForm {
    id: "stufe",
    fields: &[
        ("stage", "stufe", "Stufe"),
        ("date", "datum", "Erreicht am"),
        ("end_date", "ende", "Endet am"),
        ("source", "quelle", "Woher bekannt"),
    ],
};

const ASSIGN: CaseForm = CaseForm { id: "zustaendig", fields: &[("assignee", "zustaendig", "Zuständig")] };

const CONTACT: CaseForm = CaseForm {
    id: "kontakt",
    fields: &[("kind", "wie", "Wie"), ("day", "datum", "Datum"), ("note", "notiz", "Notiz")],
};

const FOLLOW_UP: CaseForm = CaseForm { id: "wiedervorlage", fields: &[("months", "monate", "Wiedervorlage")] };

const UPLOAD: CaseForm =
    CaseForm { id: "dokument", fields: &[("name", "datei", "Datei"), ("content", "datei", "Datei")] };

const CLOSE: CaseForm = CaseForm {
    id: "abschliessen",
    fields: &[("outcome", "ergebnis", "Ergebnis"), ("rescue_means", "mittel", "Mittel"), ("note", "notiz", "Notiz")],
};

impl CaseForm {
    /// The form field (name and label) a rule's field path belongs to (`person_ids[1]` to `personen`).
    fn field_of(&self, path: &str) -> Option<(&'static str, &'static str)> {
        // `entry.date` of a stage names its field last; `person_ids[1]` first.
        let head = path.split(['[', '.']).next().unwrap_or(path);
        let last = path.rsplit('.').next().unwrap_or(path);
        [head, last]
            .into_iter()
            .find_map(|part| self.fields.iter().find(|(proto, name, _)| *proto == part || *name == part))
            .map(|(_, name, label)| (*name, *label))
    }
}

/// Runs an action on a case and redirects back to its page. When a rule refuses it, the case page comes
/// back with everything the caseworker entered in `form`, the message at the field it concerns and a
/// summary at the top; other failures get an error page.
async fn case_action<F, Fut>(
    state: &DashState,
    staff: Staff,
    id: String,
    which: CaseForm,
    form: FormData,
    act: F,
) -> Response
where
    F: FnOnce(CaseId, FormData) -> Fut,
    Fut: Future<Output = Result<(), HubError>>,
{
    if let Err(r) = staff.check_csrf(&form) {
        return *r;
    }
    let case = match case_id(&id) {
        Ok(case) => case,
        Err(e) => return error_page(e, Some(&staff.frame(Nav::Cases))),
    };
    let error = match act(case.clone(), form.clone()).await {
        Ok(()) => {
            let to = format!("/faelle/{case}?erledigt={}#{}", which.id, views::case_page::section_of(which.id));
            let mut r = Redirect::to(&to).into_response();
            secure_headers(r.headers_mut());
            return r;
        }
        Err(e) => e,
    };
    let field = match &error {
        HubError::Invalid(f) => which.field_of(&f.field),
        HubError::FailedPrecondition(_) => None,
        _ => return error_page(error, Some(&staff.frame(Nav::Cases))),
    };
    let (status, _, message) = error_parts(error);
    match state.hub.dash_case(&staff.user.caller, &case).await {
        Ok(model) => {
            let echo = views::case_page::FormEcho {
                form: which.id,
                values: form,
                field: field.map(|(name, _)| name),
                label: field.map(|(_, label)| label),
                message,
            };
            let title = format!("Nicht gespeichert – {}", views::case_page::title(&model));
            let body = views::case_page::render_with(&model, &staff.ctx(state), Some(&echo));
            let body = if body.contains("<h1") { body } else { format!("<h1>{}</h1>\n{body}", views::esc(&title)) };
            html(status, page(&title, Some(&staff.frame(Nav::Cases)), &body))
        }
        Err(e) => error_page(e, Some(&staff.frame(Nav::Cases))),
    }
}

/// POST /faelle/{id}/ueberweisen : a referral.
pub async fn refer(State(state): State<DashState>, staff: Staff, Path(id): Path<String>, form: FormData) -> Response {
    let caller = staff.user.caller.clone();
    let hub = state.hub.clone();
    case_action(&state, staff, id, REFER, form, |case_id, form| async move {
        let idem = form_idem("refer", &form)?;
        let recipient = OrgId::parse(&required(form.non_empty("empfaenger"), "empfaenger")?)
            .map_err(|e| HubError::Invalid(e.within("empfaenger")))?;
        let category = required(parse_one(&form, "kategorie", ReferralCategory::parse)?, "kategorie")?;
        let data = parse_all(&form, "daten", DataCategory::parse)?;
        let new = NewReferral {
            case_id,
            recipient,
            category,
            data,
            message: form.one("nachricht").unwrap_or_default(),
            reply_by: form_day(&form, "antwort_bis")?,
            confirm_duplicate: form.one("zweite_bestaetigt").is_some(),
            confirm_closed: form.one("trotz_aufnahmestopp").is_some(),
        };
        hub.create_referral(&caller, &idem, new).await.map(|_| ())
    })
    .await
}

/// POST /faelle/{id}/einwilligung : a consent.
pub async fn consent(State(state): State<DashState>, staff: Staff, Path(id): Path<String>, form: FormData) -> Response {
    let caller = staff.user.caller.clone();
    let hub = state.hub.clone();
    case_action(&state, staff, id, CONSENT, form, |case_id, form| async move {
        let idem = form_idem("consent", &form)?;
        let recipients = form
            .all("empfaenger")
            .iter()
            .map(|v| OrgId::parse(v).map_err(|e| HubError::Invalid(e.within("empfaenger"))))
            .collect::<Result<Vec<_>, _>>()?;
        let categories = parse_all(&form, "daten", DataCategory::parse)?;
        let persons = form
            .all("personen")
            .iter()
            .map(|v| PersonId::parse(v).map_err(|e| HubError::Invalid(e.within("personen"))))
            .collect::<Result<Vec<_>, _>>()?;
        let new = NewConsent {
            case_id,
            draft: ConsentDraft {
                persons,
                recipients,
                art9_explicit: categories.iter().any(|c| c.is_special()) && form.one("ausdruecklich").is_some(),
                categories,
                form: required(parse_one(&form, "form", ConsentForm::parse)?, "form")?,
                evidence: form.one("nachweis").unwrap_or_default(),
                valid_until: required(form_day(&form, "gueltig_bis")?, "gueltig_bis")?,
                secrecy_release: form.one("schweigepflicht").is_some(),
            },
            replaces: form
                .non_empty("ersetzt")
                .map(|v| ConsentId::parse(&v).map_err(|e| HubError::Invalid(e.within("ersetzt"))))
                .transpose()?,
        };
        hub.record_consent(&caller, &idem, new).await.map(|_| ())
    })
    .await
}

/// POST /faelle/{id}/widerruf : records that the household revoked a consent.
pub async fn revoke(State(state): State<DashState>, staff: Staff, Path(id): Path<String>, form: FormData) -> Response {
    let caller = staff.user.caller.clone();
    let hub = state.hub.clone();
    case_action(&state, staff, id, REVOKE, form, |_, form| async move {
        let idem = form_idem("revoke", &form)?;
        let consent = ConsentId::parse(&required(form.non_empty("einwilligung"), "einwilligung")?)
            .map_err(|e| HubError::Invalid(e.within("einwilligung")))?;
        hub.revoke_consent(&caller, &idem, &consent, form.one("notiz").unwrap_or_default()).await.map(|_| ())
    })
    .await
}

/// POST /faelle/{id}/stufe : records a threat stage with its date and source.
pub async fn stage(State(state): State<DashState>, staff: Staff, Path(id): Path<String>, form: FormData) -> Response {
    let caller = staff.user.caller.clone();
    let hub = state.hub.clone();
    case_action(&state, staff, id, STAGE, form, |case_id, form| async move {
        let idem = form_idem("stage", &form)?;
        let new = NewStage {
            stage: required(parse_one(&form, "stufe", ThreatStage::parse)?, "stufe")?,
            date: required(form_day(&form, "datum")?, "datum")?,
            end_date: form_day(&form, "ende")?,
            source: form.one("quelle").unwrap_or_default(),
        };
        hub.record_stage(&caller, &idem, &case_id, new).await.map(|_| ())
    })
    .await
}

/// POST /faelle/{id}/zustaendig : gives the case to a colleague (or to nobody).
pub async fn assign(State(state): State<DashState>, staff: Staff, Path(id): Path<String>, form: FormData) -> Response {
    let caller = staff.user.caller.clone();
    let hub = state.hub.clone();
    case_action(&state, staff, id, ASSIGN, form, |case_id, form| async move {
        let idem = form_idem("assign", &form)?;
        let to = form
            .non_empty("zustaendig")
            .map(|u| Username::parse(&u).map_err(|e| HubError::Invalid(e.within("zustaendig"))))
            .transpose()?;
        hub.assign_case(&caller, &idem, &case_id, to).await.map(|_| ())
    })
    .await
}

/// POST /faelle/{id}/kontakt : a try to reach the household.
pub async fn contact(State(state): State<DashState>, staff: Staff, Path(id): Path<String>, form: FormData) -> Response {
    let caller = staff.user.caller.clone();
    let hub = state.hub.clone();
    case_action(&state, staff, id, CONTACT, form, |case_id, form| async move {
        let idem = form_idem("contact", &form)?;
        let new = NewContact {
            kind: required(parse_one(&form, "wie", ContactKind::parse)?, "wie")?,
            day: required(form_day(&form, "datum")?, "datum")?,
            reached: form.one("erreicht").is_some(),
            note: form.one("notiz").unwrap_or_default(),
        };
        hub.record_contact(&caller, &idem, &case_id, new).await.map(|_| ())
    })
    .await
}

/// POST /faelle/{id}/wiedervorlage : whether a kept tenancy still held at a follow-up.
pub async fn follow_up(
    State(state): State<DashState>,
    staff: Staff,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    let caller = staff.user.caller.clone();
    let hub = state.hub.clone();
    case_action(&state, staff, id, FOLLOW_UP, form, |case_id, form| async move {
        let idem = form_idem("follow_up", &form)?;
        let months = form.one("monate").and_then(|m| m.parse::<u8>().ok());
        let months = required(months, "monate")?;
        let held = match form.one("gehalten").as_deref() {
            Some("ja") => true,
            Some("nein") => false,
            _ => return Err(FieldError::new("gehalten", "missing").de("Bitte wählen: gehalten oder nicht.").into()),
        };
        hub.record_follow_up(&caller, &idem, &case_id, months, held).await.map(|_| ())
    })
    .await
}

/// POST /faelle/{id}/dokumente : a file for the case (multipart: the CSRF token and one file).
pub async fn upload(
    State(state): State<DashState>,
    staff: Staff,
    Path(id): Path<String>,
    mut multipart: axum::extract::Multipart,
) -> Response {
    let mut csrf = String::new();
    let mut upload: Option<Upload> = None;
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or_default().to_owned();
                let file = field.file_name().map(str::to_owned);
                let Ok(bytes) = field.bytes().await else { return too_large(&staff) };
                match (name.as_str(), file) {
                    ("csrf", _) => csrf = String::from_utf8_lossy(&bytes).into_owned(),
                    ("datei", Some(file)) => upload = Some(Upload { name: file, content: bytes.to_vec() }),
                    _ => {}
                }
            }
            Ok(None) => break,
            Err(_) => return too_large(&staff),
        }
    }
    let form = FormData::parse(
        format!("csrf={}", form_urlencoded::byte_serialize(csrf.as_bytes()).collect::<String>()).as_bytes(),
    );
    let caller = staff.user.caller.clone();
    let hub = state.hub.clone();
    case_action(&state, staff, id, UPLOAD, form, |case_id, _| async move {
        let upload = upload
            .ok_or_else(|| HubError::Invalid(FieldError::new("datei", "missing").de("Bitte eine Datei auswählen.")))?;
        hub.add_document(&caller, &case_id, upload).await.map(|_| ())
    })
    .await
}

/// The answer to an upload the page could not read (larger than the limit, or broken).
fn too_large(staff: &Staff) -> Response {
    message_page(
        StatusCode::PAYLOAD_TOO_LARGE,
        "Datei nicht angenommen",
        "Die Datei ist zu groß (höchstens 5 MB) oder kam nicht vollständig an. Nichts wurde gespeichert.",
        Some(&staff.frame(Nav::Cases)),
    )
}

/// GET /faelle/{id}/dokumente/{doc} : a document of the case, as a download. Audited.
pub async fn download(
    State(state): State<DashState>,
    staff: Staff,
    Path((id, doc)): Path<(String, String)>,
) -> Response {
    let found = match case_id(&id) {
        Ok(case) => state.hub.download_document(&staff.user.caller, &case, &doc).await,
        Err(e) => Err(e),
    };
    match found {
        Ok((meta, content)) => {
            let mut r = (StatusCode::OK, content).into_response();
            let h = r.headers_mut();
            if let Ok(v) = HeaderValue::from_str(meta.kind.as_str()) {
                h.insert(header::CONTENT_TYPE, v);
            }
            let ascii: String = meta
                .name
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() || ".-_".contains(c) { c } else { '_' })
                .collect();
            let utf8: String = form_urlencoded::byte_serialize(meta.name.as_bytes()).collect();
            if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{utf8}"))
            {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            secure_headers(h);
            r
        }
        Err(e) => error_page(e, Some(&staff.frame(Nav::Cases))),
    }
}

/// POST /faelle/{id}/abschliessen : closes the case.
pub async fn close(State(state): State<DashState>, staff: Staff, Path(id): Path<String>, form: FormData) -> Response {
    let caller = staff.user.caller.clone();
    let hub = state.hub.clone();
    case_action(&state, staff, id, CLOSE, form, |case_id, form| async move {
        let idem = form_idem("close", &form)?;
        let outcome = required(parse_one(&form, "ergebnis", CaseOutcome::parse)?, "ergebnis")?;
        let means = parse_one(&form, "mittel", RescueMeans::parse)?;
        let close = NewClosure {
            outcome,
            rescue_means: means,
            note: form.one("notiz").unwrap_or_default(),
            confirm_open_items: form.one("offenes_bestaetigt").is_some(),
        };
        hub.close_case(&caller, &idem, &case_id, close).await.map(|_| ())
    })
    .await
}
