//! Shared helpers of the email tests: a hub with the email channel pointed at a real SMTP sink
//! (aiosmtpd, see `mailsink`), partners switched to the EMAIL channel, a real HTTPS client for the
//! partner page, and the forms of the page read out of its HTML.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use email_adapter::config::{Security, SmtpConfig};
use hub::email::EmailConfig;

use crate::common::*;
use crate::mailsink::{MailSink, ReceivedMail};

/// The sender address of the test hub; Message-IDs end in `@hub.example`.
pub const FROM: &str = "Wohnungserhalt Hub <hub@hub.example>";
/// The debt counselling office's mailbox once it is an email partner.
pub const BERATUNG_MAIL: &str = "postfach@schuldnerberatung.example";
/// How long a test waits for mail to arrive before it fails.
pub const MAIL_TIMEOUT: Duration = Duration::from_secs(10);

/// Email settings for a hub sending to `sink` over plain SMTP (a local relay), driven by the test.
pub fn email_config(sink_port: u16) -> EmailConfig {
    EmailConfig {
        enabled: true,
        smtp: SmtpConfig {
            host: "127.0.0.1".into(),
            port: Some(sink_port),
            security: Security::Plain,
            from: FROM.into(),
            timeout_secs: 5,
            ..SmtpConfig::default()
        },
        dispatch_in_background: false,
        ..EmailConfig::default()
    }
}

/// A hub whose email channel sends to `sink`.
pub async fn email_hub(sink: &MailSink) -> TestHub {
    TestHub::start_with_email(email_config(sink.port())).await.expect("the test hub starts with email")
}

/// Switches `org` of the standard network to the EMAIL channel at `address` (operator).
pub async fn make_email_partner(hub: &TestHub, org: &str, address: &str) {
    let mut spec = hub::network::standard_network()
        .into_iter()
        .find(|s| s.id == org)
        .unwrap_or_else(|| panic!("{org} is not in the standard network"));
    spec.channel = hub_proto::v1::Channel::Email as i32;
    spec.channel_address = address.to_owned();
    operator_directory(hub)
        .await
        .update_organisation(UpdateOrganisationRequest { idempotency_key: idem(), organisation: Some(spec) })
        .await
        .unwrap_or_else(|s| panic!("UpdateOrganisation {org}: {s:?}"));
}

/// An HTTPS client that trusts the hub's CA and reaches `localhost` at the partner page.
pub fn http(hub: &TestHub) -> reqwest::Client {
    let web: SocketAddr = hub.web_addr().expect("the partner page runs");
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(hub.ca_pem().as_bytes()).expect("CA certificate"))
        .resolve("localhost", web)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("HTTP client")
}

/// The partner page link in a mail's text.
pub fn link_in(mail: &ReceivedMail) -> String {
    let start = mail.text.find("https://").unwrap_or_else(|| panic!("no link in mail:\n{}", mail.text));
    mail.text[start..].split_whitespace().next().unwrap_or_default().trim_end_matches(['>', ')', '.']).to_owned()
}

/// One form of the partner page.
#[derive(Debug, Clone)]
pub struct Form {
    /// Where it posts to (relative to the page).
    pub action: String,
    /// Its action token.
    pub t: String,
    /// The view token for the back link.
    pub v: String,
    /// The submit button's text.
    pub button: String,
}

fn attr(tag_text: &str, name: &str) -> Option<String> {
    let needle = format!("name=\"{name}\" value=\"");
    let start = tag_text.find(&needle)? + needle.len();
    Some(tag_text[start..].split('"').next()?.to_owned())
}

/// The forms of a page, in order.
pub fn forms(html: &str) -> Vec<Form> {
    html.split("<form ")
        .skip(1)
        .filter_map(|chunk| {
            let body = chunk.split("</form>").next()?;
            let action = body.split("action=\"").nth(1)?.split('"').next()?.to_owned();
            let button = body.split("<button").nth(1)?.split('>').nth(1)?.split('<').next()?.trim().to_owned();
            Some(Form { action, t: attr(body, "t")?, v: attr(body, "v").unwrap_or_default(), button })
        })
        .collect()
}

/// The form whose button reads `button`.
pub fn form<'a>(forms: &'a [Form], button: &str) -> &'a Form {
    forms.iter().find(|f| f.button == button).unwrap_or_else(|| {
        panic!("no form '{button}' on the page; forms: {:?}", forms.iter().map(|f| &f.button).collect::<Vec<_>>())
    })
}

/// GETs a page: (status, body).
pub async fn get(client: &reqwest::Client, url: &str) -> (u16, String) {
    let resp = client.get(url).send().await.unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap_or_default())
}

/// POSTs a form of the page at `page_url` with extra fields: (status, body).
pub async fn post(client: &reqwest::Client, page_url: &str, f: &Form, extra: &[(&str, &str)]) -> (u16, String) {
    let url = reqwest::Url::parse(page_url)
        .and_then(|base| base.join(&f.action))
        .unwrap_or_else(|e| panic!("form action '{}' on {page_url}: {e}", f.action))
        .to_string();
    let mut fields: Vec<(&str, &str)> = vec![("t", &f.t), ("v", &f.v)];
    fields.extend_from_slice(extra);
    let resp = client.post(&url).form(&fields).send().await.unwrap_or_else(|e| panic!("POST {url}: {e}"));
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap_or_default())
}

/// The receipt (`Q1.…`) shown on a page.
pub fn receipt_in(html: &str) -> String {
    let start = html.find("Q1.").unwrap_or_else(|| panic!("no receipt on the page:\n{html}"));
    html[start..]
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_'))
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// Every piece of the Frau K. case's personal data that must never appear in a mail.
pub fn personal_data() -> Vec<String> {
    let d = hub::network::frau_k_details();
    let mut out: Vec<String> = Vec::new();
    for p in &d.persons {
        out.push(p.given_name.clone());
        out.push(p.family_name.clone());
    }
    if let Some(a) = &d.address {
        out.extend([a.street.clone(), a.postal_code.clone()]);
    }
    if let Some(c) = &d.contact {
        out.extend([c.phone.clone(), c.email.clone()]);
    }
    if let Some(t) = &d.tenancy {
        out.push(t.tenancy_reference.clone());
    }
    out.extend([d.income_benefits_note.clone(), d.health_note.clone(), d.counselling_note.clone()]);
    out.extend(["1560".to_owned(), "1.560".to_owned()]);
    out.retain(|s| !s.is_empty());
    out
}

/// Whether `needle` occurs in `hay` as a word of its own (not inside an id, a token or a longer word:
/// "Ben" must not match "Benachrichtigung", "1560" not a UUID segment).
pub fn contains_word(hay: &str, needle: &str) -> bool {
    let is_word = |c: char| c.is_alphanumeric() || c == '_' || c == '-';
    hay.match_indices(needle).any(|(i, _)| {
        let before = hay[..i].chars().next_back();
        let after = hay[i + needle.len()..].chars().next();
        !before.is_some_and(is_word) && !after.is_some_and(is_word)
    })
}

/// Asserts that no mail carries any of the case's personal data, in any part.
pub fn assert_no_personal_data(mails: &[ReceivedMail]) {
    assert!(!mails.is_empty(), "no mails to check");
    for m in mails {
        for needle in personal_data() {
            for (part, text) in [("subject", &m.subject), ("text", &m.text), ("html", &m.html), ("raw", &m.raw)] {
                assert!(
                    !contains_word(text, &needle),
                    "personal data '{needle}' in the {part} of mail '{}'",
                    m.subject
                );
            }
        }
    }
}
