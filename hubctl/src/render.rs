//! Output: compact aligned tables for people, JSON for scripts.
//!
//! The JSON is a contract with the partners' scripts (README, "hubctl"), not the proto3 JSON mapping
//! that generated serde (pbjson) would emit: enums are written as their short names (`REQUESTED`),
//! amounts as integer cents, timestamps as RFC 3339 UTC strings, so scripts never need the proto
//! numbering. Each message's shape is therefore written here, once, with `serde_json`.
//!
//! Special categories of personal data (Art. 9 GDPR: HEALTH) are never listed among the other data
//! categories: disclosures, case views and events show them in a block, column or JSON key of their
//! own ([`SPECIAL_CATEGORIES`], `special_categories`, `special_category_disclosures`), with whether
//! the separate explicit consent they need covers the recipient.

use hub_proto::v1::{
    CapacityState, CaseView, CategoryCapacity, Channel, CompletionOutcome, CompletionResult, DataCategory, Disclosure,
    Event, EventKind, Gender, LegalBasisKind, Note, Organisation, OrganisationKind, OutcomeSummary, PersonRole,
    ReasonCode, Referral, ReferralCategory, ReferralMove, ReferralState, ReferralSummary, Stadtbezirk, ThreatStage,
    Transition,
};
use prost_types::Timestamp;
use serde_json::{Value, json};

use crate::input::format_cents;
use crate::names::{Named, move_command, name_of, names_of};

/// A table printed with columns padded to their widest cell.
pub struct Table {
    header: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headings.
    pub fn new(header: &[&'static str]) -> Self {
        Self { header: header.to_vec(), rows: Vec::new() }
    }

    /// Adds a row; line breaks are flattened so one record stays on one line.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells.into_iter().map(|cell| cell.replace(['\r', '\n'], " ")).collect());
    }

    /// The table as text, or `empty` when there are no rows (a bare header helps nobody).
    pub fn render(&self, empty: &str) -> String {
        if self.rows.is_empty() {
            return format!("{empty}\n");
        }
        let mut widths: Vec<usize> = self.header.iter().map(|cell| cell.chars().count()).collect();
        for row in &self.rows {
            for (index, cell) in row.iter().enumerate() {
                if let Some(width) = widths.get_mut(index) {
                    *width = (*width).max(cell.chars().count());
                }
            }
        }
        let header: Vec<String> = self.header.iter().map(|cell| (*cell).to_owned()).collect();
        let mut out = String::new();
        for row in std::iter::once(&header).chain(&self.rows) {
            let mut line = String::new();
            for (index, cell) in row.iter().enumerate() {
                if index > 0 {
                    line.push_str("  ");
                }
                line.push_str(cell);
                let width = widths.get(index).copied().unwrap_or(0);
                let pad = width.saturating_sub(cell.chars().count());
                line.extend(std::iter::repeat_n(' ', pad));
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// A timestamp for people: RFC 3339 UTC to the second, `-` when absent.
pub fn when(timestamp: Option<&Timestamp>) -> String {
    match timestamp {
        Some(timestamp) => Timestamp { seconds: timestamp.seconds, nanos: 0 }.to_string(),
        None => "-".to_owned(),
    }
}

/// A timestamp for scripts: full RFC 3339 UTC, or null.
pub fn when_json(timestamp: Option<&Timestamp>) -> Value {
    match timestamp {
        Some(timestamp) => Value::String(timestamp.to_string()),
        None => Value::Null,
    }
}

/// `-` for an empty string, so columns never collapse.
fn or_dash(text: &str) -> String {
    if text.is_empty() { "-".to_owned() } else { text.to_owned() }
}

/// The short name, or `-` for the UNSPECIFIED (zero) value.
fn unset_as_dash<T: Named>(raw: i32) -> String {
    if raw == 0 { "-".to_owned() } else { name_of::<T>(raw) }
}

/// Empty strings become null in JSON, so scripts can test for presence.
fn opt_str(text: &str) -> Value {
    if text.is_empty() { Value::Null } else { Value::String(text.to_owned()) }
}

/// Heading of the block that shows the special categories of personal data (Art. 9 GDPR) apart from
/// the other data.
pub const SPECIAL_CATEGORIES: &str = "Special categories (Art. 9 GDPR): explicit consent";

/// Whether a data category is a special category of personal data (Art. 9(1) GDPR), which the hub
/// discloses only under the person's separate explicit consent (`art9_explicit`). Mirrors the hub's
/// `DataCategory::is_special`: HEALTH.
pub fn is_special(raw: i32) -> bool {
    raw == DataCategory::Health as i32
}

/// Splits raw data categories into (other, special) short names.
fn split_categories(raw: &[i32]) -> (Vec<String>, Vec<String>) {
    let (special, other): (Vec<i32>, Vec<i32>) = raw.iter().partition(|c| is_special(**c));
    (names_of::<DataCategory>(&other), names_of::<DataCategory>(&special))
}

/// Whether the basis of a disclosed special category is the separate explicit consent. The hub records a
/// special category only on a consent given with `art9_explicit` (no statute covers one, and a consent
/// covering HEALTH without it is refused), so a consent basis is an explicit one.
fn explicit_consent(disclosure: &Disclosure) -> bool {
    disclosure.basis_kind == LegalBasisKind::Consent as i32 && !disclosure.consent_id.is_empty()
}

/// A reason code is only meaningful when set.
fn reason_json(raw: i32) -> Value {
    if raw == ReasonCode::Unspecified as i32 { Value::Null } else { Value::String(name_of::<ReasonCode>(raw)) }
}

// ---------------------------------------------------------------------------------------------
// Directory

/// The directory as a table.
pub fn organisations_table(organisations: &[Organisation]) -> String {
    let mut table = Table::new(&["ID", "KIND", "CHANNEL", "ACTIVE", "NAME", "CATEGORIES", "CAPACITY"]);
    for organisation in organisations {
        let channel = if organisation.channel_address.is_empty() {
            name_of::<Channel>(organisation.channel)
        } else {
            format!("{} {}", name_of::<Channel>(organisation.channel), organisation.channel_address)
        };
        table.row(vec![
            organisation.id.clone(),
            name_of::<OrganisationKind>(organisation.kind),
            channel,
            if organisation.active { "yes" } else { "no" }.to_owned(),
            organisation.name.clone(),
            or_dash(&names_of::<ReferralCategory>(&organisation.accepted_categories).join(",")),
            if organisation.capacities.is_empty() {
                "open".to_owned()
            } else {
                organisation.capacities.iter().map(capacity_text).collect::<Vec<_>>().join(",")
            },
        ]);
    }
    table.render("no organisations")
}

/// `DEBT_COUNSELLING closed`, `SPD waitlist 6w`: one category's stated capacity.
fn capacity_text(c: &CategoryCapacity) -> String {
    let state = match CapacityState::try_from(c.state) {
        Ok(CapacityState::Open) => "open".to_owned(),
        Ok(CapacityState::Waitlist) => format!("waitlist {}w", c.waitlist_weeks),
        Ok(CapacityState::Closed) => "closed".to_owned(),
        Ok(CapacityState::Unspecified) | Err(_) => format!("UNKNOWN({})", c.state),
    };
    format!("{} {state}", name_of::<ReferralCategory>(c.category))
}

/// One organisation as JSON.
pub fn organisation_json(organisation: &Organisation) -> Value {
    json!({
        "id": organisation.id,
        "name": organisation.name,
        "kind": name_of::<OrganisationKind>(organisation.kind),
        "accepted_categories": names_of::<ReferralCategory>(&organisation.accepted_categories),
        "channel": name_of::<Channel>(organisation.channel),
        "channel_address": opt_str(&organisation.channel_address),
        "office_hours": opt_str(&organisation.office_hours),
        "capacity": organisation.capacities.iter().map(capacity_text).collect::<Vec<_>>(),
        "active": organisation.active,
        "created_at": when_json(organisation.created_at.as_ref()),
        "updated_at": when_json(organisation.updated_at.as_ref()),
    })
}

// ---------------------------------------------------------------------------------------------
// Referral lists

/// Which party columns a referral list shows: the inbox needs only the sender, and so on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parties {
    /// Show the sender.
    From,
    /// Show the recipient.
    To,
    /// Show both.
    Both,
}

/// A referral list as a table.
pub fn summaries_table(referrals: &[ReferralSummary], parties: Parties) -> String {
    let mut header = vec!["ID", "CASE"];
    if parties != Parties::To {
        header.push("FROM");
    }
    if parties != Parties::From {
        header.push("TO");
    }
    header.extend(["CATEGORY", "STATE", "REPLY-BY", "OVERDUE", "UPDATED"]);
    let mut table = Table::new(&header);
    for referral in referrals {
        let mut row = vec![referral.id.clone(), referral.case_id.clone()];
        if parties != Parties::To {
            row.push(referral.sender_organisation_id.clone());
        }
        if parties != Parties::From {
            row.push(referral.recipient_organisation_id.clone());
        }
        row.extend([
            name_of::<ReferralCategory>(referral.category),
            name_of::<ReferralState>(referral.state),
            or_dash(&referral.reply_by),
            if referral.overdue { "yes" } else { "" }.to_owned(),
            when(referral.updated_at.as_ref()),
        ]);
        table.row(row);
    }
    table.render("no referrals")
}

/// One referral summary as JSON.
pub fn summary_json(referral: &ReferralSummary) -> Value {
    json!({
        "id": referral.id,
        "case_id": referral.case_id,
        "sender": referral.sender_organisation_id,
        "recipient": referral.recipient_organisation_id,
        "category": name_of::<ReferralCategory>(referral.category),
        "state": name_of::<ReferralState>(referral.state),
        "reply_by": opt_str(&referral.reply_by),
        "overdue": referral.overdue,
        "created_at": when_json(referral.created_at.as_ref()),
        "updated_at": when_json(referral.updated_at.as_ref()),
    })
}

// ---------------------------------------------------------------------------------------------
// One referral

/// One referral as JSON, every field.
pub fn referral_json(referral: &Referral) -> Value {
    json!({
        "id": referral.id,
        "case_id": referral.case_id,
        "sender": referral.sender_organisation_id,
        "recipient": referral.recipient_organisation_id,
        "category": name_of::<ReferralCategory>(referral.category),
        "disclosures": referral
            .disclosures
            .iter()
            .filter(|d| !is_special(d.category))
            .map(disclosure_json)
            .collect::<Vec<_>>(),
        "special_category_disclosures": referral
            .disclosures
            .iter()
            .filter(|d| is_special(d.category))
            .map(|d| {
                let mut value = disclosure_json(d);
                value["explicit_consent"] = Value::Bool(explicit_consent(d));
                value
            })
            .collect::<Vec<_>>(),
        "message": opt_str(&referral.message),
        "reply_by": opt_str(&referral.reply_by),
        "state": name_of::<ReferralState>(referral.state),
        "overdue": referral.overdue,
        "outcome": referral.outcome.as_ref().map(outcome_json),
        "history": referral.history.iter().map(transition_json).collect::<Vec<_>>(),
        "allowed_moves": names_of::<ReferralMove>(&referral.allowed_moves),
        "case_view": referral.case_view.as_ref().map(case_view_json),
        "created_at": when_json(referral.created_at.as_ref()),
        "updated_at": when_json(referral.updated_at.as_ref()),
    })
}

fn disclosure_json(disclosure: &Disclosure) -> Value {
    json!({
        "category": name_of::<DataCategory>(disclosure.category),
        "basis": name_of::<LegalBasisKind>(disclosure.basis_kind),
        "consent_id": opt_str(&disclosure.consent_id),
        "statute": opt_str(&disclosure.statute),
        "in_force": disclosure.in_force,
    })
}

fn outcome_json(outcome: &CompletionOutcome) -> Value {
    json!({
        "result": name_of::<CompletionResult>(outcome.result),
        "amount_cents": outcome.amount_cents,
        "effective_date": opt_str(&outcome.effective_date),
        "summary": opt_str(&outcome.summary),
    })
}

fn transition_json(transition: &Transition) -> Value {
    json!({
        "at": when_json(transition.at.as_ref()),
        "move": name_of::<ReferralMove>(transition.r#move),
        "from": name_of::<ReferralState>(transition.from_state),
        "to": name_of::<ReferralState>(transition.to_state),
        "actor": transition.actor_organisation_id,
        "staff_member": opt_str(&transition.staff_member),
        "reason_code": reason_json(transition.reason_code),
        "reason_text": opt_str(&transition.reason_text),
    })
}

fn outcome_summary_json(outcome: &OutcomeSummary) -> Value {
    json!({
        "topic": outcome.topic,
        "result": name_of::<CompletionResult>(outcome.result),
        "amount_cents": outcome.amount_cents,
        "effective_date": opt_str(&outcome.effective_date),
    })
}

/// The case view as JSON; absent sections are null or empty, as the hub sent them.
fn case_view_json(view: &CaseView) -> Value {
    let (readable, special_readable) = split_categories(&view.readable_categories);
    let (withheld, special_withheld) = split_categories(&view.withheld_categories);
    json!({
        "readable_categories": readable,
        "withheld_categories": withheld,
        "persons_withheld": view.persons_withheld,
        "persons": view.persons.iter().map(|person| json!({
            "person_id": person.person_id,
            "role": name_of::<PersonRole>(person.role),
            "given_name": person.given_name,
            "family_name": person.family_name,
            "gender": name_of::<Gender>(person.gender),
            "birth_year": person.birth_year,
        })).collect::<Vec<_>>(),
        "address": view.address.as_ref().map(|address| json!({
            "street": address.street,
            "house_number": address.house_number,
            "postal_code": address.postal_code,
            "city": address.city,
        })),
        "address_withheld": view.address_withheld,
        "contact": view.contact.as_ref().map(|contact| json!({
            "phone": opt_str(&contact.phone),
            "email": opt_str(&contact.email),
        })),
        "stadtbezirk": if view.stadtbezirk == Stadtbezirk::Unspecified as i32 {
            Value::Null
        } else {
            Value::String(name_of::<Stadtbezirk>(view.stadtbezirk))
        },
        "tenancy": view.tenancy.as_ref().map(|tenancy| json!({
            "landlord": opt_str(&tenancy.landlord_organisation_id),
            "tenancy_reference": opt_str(&tenancy.tenancy_reference),
            "start_date": opt_str(&tenancy.start_date),
            "rent": tenancy.rent.as_ref().map(|rent| json!({
                "base_rent_cents": rent.base_rent_cents,
                "service_charge_advance_cents": rent.service_charge_advance_cents,
                "heating_advance_cents": rent.heating_advance_cents,
            })),
        })),
        "stages": view.stages.iter().map(|stage| json!({
            "stage": name_of::<ThreatStage>(stage.stage),
            "date": stage.date,
            "end_date": opt_str(&stage.end_date),
            "source": opt_str(&stage.source),
            "recorded_by": opt_str(&stage.recorded_by_organisation_id),
        })).collect::<Vec<_>>(),
        "arrears_cents": view.arrears_cents,
        "income_benefits_note": opt_str(&view.income_benefits_note),
        "counselling_note": opt_str(&view.counselling_note),
        "special_categories": {
            "readable_categories": special_readable,
            "withheld_categories": special_withheld,
            "health_note": opt_str(&view.health_note),
        },
        "outcomes": view.outcomes.iter().map(outcome_summary_json).collect::<Vec<_>>(),
    })
}

/// Key-value lines with the keys padded to one width.
struct Fields(Vec<(&'static str, String)>);

impl Fields {
    fn new() -> Self {
        Self(Vec::new())
    }

    fn add(&mut self, key: &'static str, value: impl Into<String>) {
        self.0.push((key, value.into()));
    }

    fn render(&self, indent: &str) -> String {
        let width = self.0.iter().map(|(key, _)| key.len()).max().unwrap_or(0);
        let mut out = String::new();
        for (key, value) in &self.0 {
            // Continuation lines of multi-line values line up under the first.
            let continuation = format!("\n{indent}{:width$}  ", "");
            out.push_str(&format!("{indent}{key:width$}  {}\n", value.replace('\n', &continuation)));
        }
        out
    }
}

/// `show` for people: the referral, its history, what the caller may do, the case data it may
/// read, and the note thread.
pub fn referral_text(referral: &Referral, notes: &[Note]) -> String {
    let mut out = String::new();

    let mut head = Fields::new();
    head.add("Referral", referral.id.clone());
    head.add("Case", referral.case_id.clone());
    head.add("From", referral.sender_organisation_id.clone());
    head.add("To", referral.recipient_organisation_id.clone());
    head.add("Category", name_of::<ReferralCategory>(referral.category));
    let mut state = name_of::<ReferralState>(referral.state);
    if referral.overdue {
        state.push_str(" (overdue)");
    }
    head.add("State", state);
    head.add("Reply by", or_dash(&referral.reply_by));
    head.add("Created", when(referral.created_at.as_ref()));
    head.add("Updated", when(referral.updated_at.as_ref()));
    let moves: Vec<String> = referral
        .allowed_moves
        .iter()
        .map(|raw| format!("{} ({})", name_of::<ReferralMove>(*raw), move_command(*raw)))
        .collect();
    head.add("Your moves", if moves.is_empty() { "none".to_owned() } else { moves.join(", ") });
    if !referral.message.is_empty() {
        head.add("Message", referral.message.clone());
    }
    out.push_str(&head.render(""));

    if let Some(outcome) = &referral.outcome {
        out.push_str("\nOutcome\n");
        let mut fields = Fields::new();
        fields.add("Result", name_of::<CompletionResult>(outcome.result));
        if let Some(cents) = outcome.amount_cents {
            fields.add("Amount", format_cents(cents));
        }
        if !outcome.effective_date.is_empty() {
            fields.add("Date", outcome.effective_date.clone());
        }
        if !outcome.summary.is_empty() {
            fields.add("Summary", outcome.summary.clone());
        }
        out.push_str(&fields.render("  "));
    }

    if !referral.disclosures.is_empty() {
        let reference = |disclosure: &Disclosure| {
            or_dash(if disclosure.statute.is_empty() { &disclosure.consent_id } else { &disclosure.statute })
        };
        let yes_no = |yes: bool| if yes { "yes" } else { "no" }.to_owned();
        out.push_str("\nDisclosures\n");
        let mut table = Table::new(&["CATEGORY", "BASIS", "REFERENCE", "IN FORCE"]);
        for disclosure in referral.disclosures.iter().filter(|d| !is_special(d.category)) {
            table.row(vec![
                name_of::<DataCategory>(disclosure.category),
                name_of::<LegalBasisKind>(disclosure.basis_kind),
                reference(disclosure),
                yes_no(disclosure.in_force),
            ]);
        }
        out.push_str(&indent(&table.render("(none)")));
        out.push_str(&format!("\n{SPECIAL_CATEGORIES}\n"));
        let mut table = Table::new(&["CATEGORY", "BASIS", "REFERENCE", "EXPLICIT CONSENT", "IN FORCE"]);
        for disclosure in referral.disclosures.iter().filter(|d| is_special(d.category)) {
            table.row(vec![
                name_of::<DataCategory>(disclosure.category),
                name_of::<LegalBasisKind>(disclosure.basis_kind),
                reference(disclosure),
                yes_no(explicit_consent(disclosure)),
                yes_no(disclosure.in_force),
            ]);
        }
        out.push_str(&indent(&table.render("(none disclosed)")));
    }

    out.push_str("\nHistory\n");
    let mut table = Table::new(&["AT", "MOVE", "FROM", "TO", "BY", "STAFF", "REASON"]);
    for transition in &referral.history {
        let reason = match (transition.reason_code == ReasonCode::Unspecified as i32, transition.reason_text.is_empty())
        {
            (true, true) => String::new(),
            (true, false) => transition.reason_text.clone(),
            (false, true) => name_of::<ReasonCode>(transition.reason_code),
            (false, false) => format!("{}: {}", name_of::<ReasonCode>(transition.reason_code), transition.reason_text),
        };
        table.row(vec![
            when(transition.at.as_ref()),
            // The creating handoff has no move and no state before it.
            unset_as_dash::<ReferralMove>(transition.r#move),
            unset_as_dash::<ReferralState>(transition.from_state),
            name_of::<ReferralState>(transition.to_state),
            transition.actor_organisation_id.clone(),
            or_dash(&transition.staff_member),
            reason,
        ]);
    }
    out.push_str(&indent(&table.render("(no handoffs yet)")));

    if let Some(view) = &referral.case_view {
        out.push_str(&case_view_text(view));
    }

    out.push_str(&format!("\nNotes ({})\n", notes.len()));
    out.push_str(&indent(&notes_text(notes)));
    out
}

/// The sections of the case view the hub sent; absent sections are skipped, withheld
/// categories are named so staff know data was removed rather than never given.
fn case_view_text(view: &CaseView) -> String {
    let mut out = String::from("\nCase data\n");
    let mut fields = Fields::new();
    let (readable, special_readable) = split_categories(&view.readable_categories);
    let (withheld, special_withheld) = split_categories(&view.withheld_categories);
    fields.add("Readable", or_dash(&readable.join(", ")));
    if !withheld.is_empty() {
        fields.add(
            "Withheld",
            format!("{} (legal basis no longer in force: stop using and delete this data)", withheld.join(", ")),
        );
    }
    if let Some(address) = &view.address {
        fields.add(
            "Address",
            format!("{} {}, {} {}", address.street, address.house_number, address.postal_code, address.city),
        );
    }
    if view.address_withheld {
        fields.add("Address", "withheld (Schutzsperre)");
    }
    if let Some(contact) = &view.contact {
        if !contact.phone.is_empty() {
            fields.add("Phone", contact.phone.clone());
        }
        if !contact.email.is_empty() {
            fields.add("Email", contact.email.clone());
        }
    }
    if view.stadtbezirk != Stadtbezirk::Unspecified as i32 {
        fields.add("Stadtbezirk", name_of::<Stadtbezirk>(view.stadtbezirk));
    }
    if let Some(tenancy) = &view.tenancy {
        if !tenancy.landlord_organisation_id.is_empty() {
            fields.add("Landlord", tenancy.landlord_organisation_id.clone());
        }
        if !tenancy.tenancy_reference.is_empty() {
            fields.add("Tenancy ref", tenancy.tenancy_reference.clone());
        }
        if !tenancy.start_date.is_empty() {
            fields.add("Tenancy since", tenancy.start_date.clone());
        }
        if let Some(rent) = &tenancy.rent {
            let total = rent
                .base_rent_cents
                .saturating_add(rent.service_charge_advance_cents)
                .saturating_add(rent.heating_advance_cents);
            fields.add(
                "Rent",
                format!(
                    "{} (base {}, service charges {}, heating {})",
                    format_cents(total),
                    format_cents(rent.base_rent_cents),
                    format_cents(rent.service_charge_advance_cents),
                    format_cents(rent.heating_advance_cents)
                ),
            );
        }
    }
    if let Some(cents) = view.arrears_cents {
        fields.add("Arrears", format_cents(cents));
    }
    if !view.income_benefits_note.is_empty() {
        fields.add("Income/benefits", view.income_benefits_note.clone());
    }
    if !view.counselling_note.is_empty() {
        fields.add("Counselling", view.counselling_note.clone());
    }
    out.push_str(&fields.render("  "));

    out.push_str(&format!("\n  {SPECIAL_CATEGORIES}\n"));
    let mut special = Fields::new();
    special.add(
        "Readable",
        if special_readable.is_empty() {
            "none".to_owned()
        } else {
            format!("{} (explicit consent in force)", special_readable.join(", "))
        },
    );
    if !special_withheld.is_empty() {
        special.add(
            "Withheld",
            format!(
                "{} (explicit consent revoked or expired: stop using and delete this data)",
                special_withheld.join(", ")
            ),
        );
    }
    if !view.health_note.is_empty() {
        special.add("Health", view.health_note.clone());
    }
    out.push_str(&special.render("    "));

    if !view.persons.is_empty() {
        out.push_str("\n  Household\n");
        let mut table = Table::new(&["ROLE", "GIVEN NAME", "FAMILY NAME", "GENDER", "BORN"]);
        for person in &view.persons {
            table.row(vec![
                name_of::<PersonRole>(person.role),
                person.given_name.clone(),
                person.family_name.clone(),
                name_of::<Gender>(person.gender),
                if person.birth_year == 0 { "-".to_owned() } else { person.birth_year.to_string() },
            ]);
        }
        out.push_str(&indent(&indent(&table.render(""))));
    }
    if view.persons_withheld > 0 {
        out.push_str(&format!(
            "  {} more household member(s) withheld: no consent of theirs covers you, and no statute applies\n",
            view.persons_withheld
        ));
    }
    if !view.stages.is_empty() {
        out.push_str("\n  Threat stages\n");
        let mut table = Table::new(&["DATE", "STAGE", "END", "SOURCE", "RECORDED BY"]);
        for stage in &view.stages {
            table.row(vec![
                stage.date.clone(),
                name_of::<ThreatStage>(stage.stage),
                or_dash(&stage.end_date),
                or_dash(&stage.source),
                or_dash(&stage.recorded_by_organisation_id),
            ]);
        }
        out.push_str(&indent(&indent(&table.render(""))));
    }
    if !view.outcomes.is_empty() {
        out.push_str("\n  Outcomes of other referrals\n");
        let mut table = Table::new(&["TOPIC", "RESULT", "AMOUNT", "DATE"]);
        for outcome in &view.outcomes {
            table.row(vec![
                outcome.topic.clone(),
                name_of::<CompletionResult>(outcome.result),
                outcome.amount_cents.map_or_else(|| "-".to_owned(), format_cents),
                or_dash(&outcome.effective_date),
            ]);
        }
        out.push_str(&indent(&indent(&table.render(""))));
    }
    out
}

fn indent(text: &str) -> String {
    text.lines().map(|line| format!("  {line}\n")).collect()
}

// ---------------------------------------------------------------------------------------------
// Notes

/// Notes as blocks (header line, then the text indented), since notes are free text that a
/// table would mangle.
pub fn notes_text(notes: &[Note]) -> String {
    if notes.is_empty() {
        return "no notes\n".to_owned();
    }
    let mut out = String::new();
    for note in notes {
        let staff = if note.staff_member.is_empty() { String::new() } else { format!(" ({})", note.staff_member) };
        out.push_str(&format!(
            "{}  {}{}  [{}]\n",
            when(note.created_at.as_ref()),
            note.author_organisation_id,
            staff,
            note.id
        ));
        for line in note.text.lines() {
            out.push_str(&format!("    {line}\n"));
        }
    }
    out
}

/// One note as JSON.
pub fn note_json(note: &Note) -> Value {
    json!({
        "id": note.id,
        "referral_id": note.referral_id,
        "author": note.author_organisation_id,
        "staff_member": opt_str(&note.staff_member),
        "text": note.text,
        "created_at": when_json(note.created_at.as_ref()),
    })
}

// ---------------------------------------------------------------------------------------------
// Events

/// One event as a line: cursor, time, kind, then only the fields that are set.
pub fn event_line(event: &Event) -> String {
    let mut line =
        format!("{}  {}  {}", event.cursor, when(event.occurred_at.as_ref()), name_of::<EventKind>(event.kind));
    let mut field = |key: &str, value: String| {
        if !value.is_empty() {
            line.push_str(&format!("  {key}={value}"));
        }
    };
    field("case", event.case_id.clone());
    field("referral", event.referral_id.clone());
    field("consent", event.consent_id.clone());
    if event.state != ReferralState::Unspecified as i32 {
        field("state", name_of::<ReferralState>(event.state));
    }
    if event.reason_code != ReasonCode::Unspecified as i32 {
        field("reason", name_of::<ReasonCode>(event.reason_code));
    }
    field("actor", event.actor_organisation_id.clone());
    let (categories, special) = split_categories(&event.categories);
    field("categories", categories.join(","));
    field("art9_categories", special.join(","));
    line
}

/// One event as JSON (one line per event with --json).
pub fn event_json(event: &Event) -> Value {
    json!({
        "cursor": event.cursor,
        "kind": name_of::<EventKind>(event.kind),
        "case_id": opt_str(&event.case_id),
        "referral_id": opt_str(&event.referral_id),
        "consent_id": opt_str(&event.consent_id),
        "state": if event.state == ReferralState::Unspecified as i32 {
            Value::Null
        } else {
            Value::String(name_of::<ReferralState>(event.state))
        },
        "reason_code": reason_json(event.reason_code),
        "actor": opt_str(&event.actor_organisation_id),
        "occurred_at": when_json(event.occurred_at.as_ref()),
        "categories": split_categories(&event.categories).0,
        "special_categories": split_categories(&event.categories).1,
    })
}

/// After a move: the new state and what the caller may do next, in one line.
pub fn moved_line(referral: &Referral) -> String {
    format!("{}: {}", referral.id, state_and_next(referral))
}

/// `REQUESTED (next: cancel)`: the state and the subcommands the caller may run now.
pub fn state_and_next(referral: &Referral) -> String {
    let next: Vec<String> = referral.allowed_moves.iter().map(|raw| move_command(*raw)).collect();
    format!(
        "{} (next: {})",
        name_of::<ReferralState>(referral.state),
        if next.is_empty() { "none".to_owned() } else { next.join(", ") }
    )
}

/// Mail deliveries as a table.
pub fn deliveries_table(deliveries: &[hub_proto::v1::Delivery]) -> String {
    use crate::names::name_of;
    use hub_proto::v1::{DeliveryStatus, MailKind};
    let mut table = Table::new(&["DELIVERY", "TO", "KIND", "STATUS", "ATTEMPTS", "CREATED", "LAST ERROR"]);
    for d in deliveries {
        table.row(vec![
            d.id.clone(),
            d.organisation_id.clone(),
            name_of::<MailKind>(d.kind),
            name_of::<DeliveryStatus>(d.status),
            d.attempts.to_string(),
            when(d.created_at.as_ref()),
            or_dash(&d.last_error),
        ]);
    }
    table.render("no deliveries")
}

/// One delivery as JSON.
pub fn delivery_json(d: &hub_proto::v1::Delivery) -> Value {
    use crate::names::name_of;
    use hub_proto::v1::{DeliveryStatus, MailKind};
    serde_json::json!({
        "id": d.id,
        "organisation_id": d.organisation_id,
        "kind": name_of::<MailKind>(d.kind),
        "case_id": d.case_id,
        "referral_id": if d.referral_id.is_empty() { Value::Null } else { Value::String(d.referral_id.clone()) },
        "status": name_of::<DeliveryStatus>(d.status),
        "attempts": d.attempts,
        "next_attempt_at": when_json(d.next_attempt_at.as_ref()),
        "last_error": if d.last_error.is_empty() { Value::Null } else { Value::String(d.last_error.clone()) },
        "created_at": when_json(d.created_at.as_ref()),
        "sent_at": when_json(d.sent_at.as_ref()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns_and_trims_trailing_space() {
        let mut table = Table::new(&["ID", "STATE"]);
        table.row(vec!["r-1".into(), "REQUESTED".into()]);
        table.row(vec!["r-10000".into(), "ON_HOLD".into()]);
        assert_eq!(table.render("empty"), "ID       STATE\nr-1      REQUESTED\nr-10000  ON_HOLD\n");
        assert_eq!(Table::new(&["ID"]).render("empty"), "empty\n");
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        let at = Timestamp { seconds: 1_767_949_200, nanos: 500 };
        assert_eq!(when(Some(&at)), "2026-01-09T09:00:00Z");
        assert_eq!(when(None), "-");
    }

    fn disclosure(category: DataCategory, in_force: bool) -> Disclosure {
        Disclosure {
            category: category as i32,
            basis_kind: LegalBasisKind::Consent as i32,
            consent_id: "c-1".into(),
            statute: String::new(),
            in_force,
        }
    }

    #[test]
    fn special_categories_are_shown_apart_in_text_and_json() {
        let referral = Referral {
            id: "r-1".into(),
            disclosures: vec![disclosure(DataCategory::Identity, true), disclosure(DataCategory::Health, true)],
            case_view: Some(CaseView {
                readable_categories: vec![DataCategory::Identity as i32, DataCategory::Health as i32],
                health_note: "SYNTH-HEALTH".into(),
                ..CaseView::default()
            }),
            ..Referral::default()
        };
        let text = referral_text(&referral, &[]);
        let (before, after) = text.split_once(&format!("\n{SPECIAL_CATEGORIES}\n")).expect("own block");
        let disclosures = before.split_once("\nDisclosures\n").expect("disclosures").1;
        assert!(disclosures.contains("IDENTITY") && !disclosures.contains("HEALTH"), "{text}");
        assert!(after.lines().any(|l| l.split_whitespace().eq(["HEALTH", "CONSENT", "c-1", "yes", "yes"])), "{text}");
        let (data, special) = after.split_once(&format!("  {SPECIAL_CATEGORIES}\n")).expect("case view block");
        assert!(data.contains("Readable  IDENTITY\n") && !data.contains("SYNTH-HEALTH"), "{text}");
        assert!(special.contains("HEALTH (explicit consent in force)") && special.contains("SYNTH-HEALTH"), "{text}");

        let json = referral_json(&referral);
        assert_eq!(json["disclosures"].as_array().map(Vec::len), Some(1));
        assert_eq!(json["special_category_disclosures"][0]["category"], "HEALTH");
        assert_eq!(json["special_category_disclosures"][0]["explicit_consent"], true);
        assert_eq!(json["case_view"]["readable_categories"], json!(["IDENTITY"]));
        assert_eq!(json["case_view"]["special_categories"]["readable_categories"], json!(["HEALTH"]));
        assert_eq!(json["case_view"]["special_categories"]["health_note"], "SYNTH-HEALTH");
        assert!(json["case_view"].get("health_note").is_none());

        let revoked = Referral {
            disclosures: vec![disclosure(DataCategory::Health, false)],
            case_view: Some(CaseView { withheld_categories: vec![DataCategory::Health as i32], ..CaseView::default() }),
            ..Referral::default()
        };
        let text = referral_text(&revoked, &[]);
        assert!(text.contains("HEALTH (explicit consent revoked or expired"), "{text}");
        assert!(text.contains("Readable  none"), "{text}");
        let none =
            referral_text(&Referral { disclosures: vec![disclosure(DataCategory::Arrears, true)], ..revoked }, &[]);
        assert!(none.contains(&format!("{SPECIAL_CATEGORIES}\n  (none disclosed)")), "{none}");
    }

    #[test]
    fn events_name_special_categories_apart() {
        let event = Event {
            cursor: 3,
            kind: EventKind::ConsentRevoked as i32,
            categories: vec![DataCategory::Identity as i32, DataCategory::Health as i32],
            ..Event::default()
        };
        assert!(event_line(&event).ends_with("categories=IDENTITY  art9_categories=HEALTH"), "{}", event_line(&event));
        let json = event_json(&event);
        assert_eq!(json["categories"], json!(["IDENTITY"]));
        assert_eq!(json["special_categories"], json!(["HEALTH"]));
    }

    #[test]
    fn event_line_skips_unset_fields() {
        let event = Event {
            cursor: 7,
            kind: EventKind::ReferralStateChanged as i32,
            referral_id: "r-1".into(),
            state: ReferralState::Received as i32,
            actor_organisation_id: "jobcenter-hannover".into(),
            ..Event::default()
        };
        assert_eq!(
            event_line(&event),
            "7  -  REFERRAL_STATE_CHANGED  referral=r-1  state=RECEIVED  actor=jobcenter-hannover"
        );
    }
}
