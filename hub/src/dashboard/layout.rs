//! The page frame every dashboard page shares: German, no JavaScript, one stylesheet, the main
//! menu, who is signed in and the sign-out button. Views render only the body.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::views::esc;

/// The main menu entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    /// Today.
    Today,
    /// Handoffs.
    Handoffs,
    /// Cases.
    Cases,
    /// Partners.
    Partners,
    /// Key figures.
    Figures,
    /// No menu entry (sign-in, errors).
    None,
}

const MENU: &[(Nav, &str, &str)] = &[
    (Nav::Today, "/", "Heute"),
    (Nav::Handoffs, "/uebergaben", "Vermittlungen"),
    (Nav::Cases, "/faelle", "Fälle"),
    (Nav::Partners, "/partner", "Partner"),
    (Nav::Figures, "/kennzahlen", "Kennzahlen"),
];

/// The one stylesheet, inline (the CSP allows inline styles, never scripts).
const CSS: &str = "
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#1b1f24;background:#f6f7f9}
header{background:#0b4f6c;color:#fff;padding:.6rem 1.5rem;display:flex;align-items:center;gap:2rem;flex-wrap:wrap}
header .marke{font-weight:700;font-size:1.05rem}
header nav a{color:#fff;text-decoration:none;margin-right:1.2rem;padding:.2rem 0}
header nav a.aktiv{border-bottom:3px solid #ffd166}
header .wer{margin-left:auto;display:flex;gap:.8rem;align-items:center}
header .wer button{background:transparent;color:#fff;border:1px solid #fff;border-radius:4px;padding:.2rem .6rem;cursor:pointer}
main{padding:1rem 1.5rem 3rem;max-width:1250px}
h1{font-size:1.5rem;margin:.6rem 0 1rem}
h2{font-size:1.15rem;margin:1.6rem 0 .6rem}
table{border-collapse:collapse;width:100%;background:#fff;margin-bottom:1rem}
th,td{text-align:left;padding:.35rem .6rem;border-bottom:1px solid #dde1e6;vertical-align:top}
th{background:#eef1f4;font-weight:600}
.ueberfaellig,.fehler,.warnung{color:#b00020;font-weight:600}
.hinweis{color:#555}
.unsichtbar{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
.erfolg{border-left:6px solid #1e7b34;background:#e9f6ec;padding:.6rem 1rem;margin:0 0 1rem;font-weight:600}
dl.angaben{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem;background:#fff;padding:.8rem 1rem;border:1px solid #dde1e6;border-radius:6px}
dl.angaben dt{font-weight:600}dl.angaben dd{margin:0}
@media (max-width:600px){dl.angaben{grid-template-columns:1fr}dl.angaben dd{margin-bottom:.4rem}}
.fehlerliste{border:3px solid #b00020;background:#fff;padding:.4rem 1rem;margin:0 0 1rem}
.fehlerliste a{color:#b00020;font-weight:600}
[aria-invalid=true]{outline:2px solid #b00020}
.leer{color:#666;font-style:italic}
section{margin-bottom:1.4rem}
form.aktion{background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:.8rem 1rem;margin:.6rem 0}
form label{display:block;margin:.3rem 0}
input,select,textarea{font:inherit;padding:.25rem .4rem}
button{font:inherit}
.anmelden{max-width:24rem;margin:4rem auto;background:#fff;padding:1.5rem 2rem;border-radius:8px;border:1px solid #dde1e6}
.anmelden label{display:block;margin:.8rem 0 .2rem}
.anmelden input{width:100%;box-sizing:border-box}
.anmelden button{margin-top:1rem;padding:.4rem 1.2rem}
li.ereignis{margin:.25rem 0}
body{overflow-wrap:break-word}
.tabelle{overflow-x:auto;max-width:100%;margin-bottom:1rem;position:relative}
.tabelle table{margin-bottom:0}
.tabelle:focus{outline:2px solid #0b4f6c}
input,select,textarea{max-width:100%;box-sizing:border-box}
textarea{width:40rem}
fieldset{min-width:0}
form#filter{display:flex;flex-wrap:wrap;gap:.5rem 1.2rem;align-items:flex-end;margin-bottom:1rem}
form#filter label{margin:0;display:flex;flex-direction:column;max-width:100%}
form#filter label.haken{flex-direction:row;align-items:center;gap:.4rem}
form.aktion input:not([type=checkbox]):not([type=radio]):not([type=date]):not([type=hidden]){width:24rem}
form.aktion button[type=submit]{display:block;margin-top:.6rem}
p.text{white-space:pre-wrap;background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:.6rem 1rem}
svg,img{max-width:100%;height:auto}
@media (max-width:600px){header{padding:.5rem .8rem;gap:.5rem 1rem}header .wer{margin-left:0}main{padding:.8rem .8rem 2rem}header nav a{display:inline-block;margin:.1rem .9rem .1rem 0}}
nav.abschnitte{display:flex;flex-wrap:wrap;gap:.3rem 1rem;margin:.4rem 0 1rem}
.druckkopf{border-bottom:2px solid #1b1f24;padding-bottom:.4rem;font-weight:600}
@media print{header,form,nav,#druckansicht{display:none}main{max-width:none;padding:0}body{background:#fff}}
";

/// Who is signed in, as the frame shows it.
pub struct Frame<'a> {
    /// The staff member's name.
    pub staff_name: &'a str,
    /// The form token for the sign-out button.
    pub csrf: &'a str,
    /// Active menu entry.
    pub nav: Nav,
}

/// A whole page: head, menu (when signed in), `body`.
pub fn page(title: &str, frame: Option<&Frame<'_>>, body: &str) -> String {
    let mut header = String::from("<header><span class=\"marke\">Wohnungserhalt Hub</span>");
    if let Some(f) = frame {
        header.push_str("<nav id=\"hauptmenue\">");
        for (nav, href, label) in MENU {
            let class = if *nav == f.nav { " class=\"aktiv\"" } else { "" };
            header.push_str(&format!("<a href=\"{href}\"{class}>{label}</a>"));
        }
        header.push_str("</nav>");
        header.push_str(&format!(
            "<div class=\"wer\"><span id=\"angemeldet\">{}</span>\
             <form id=\"abmelden\" method=\"post\" action=\"/abmelden\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\"><button type=\"submit\">Abmelden</button></form></div>",
            esc(f.staff_name),
            esc(f.csrf)
        ));
    }
    header.push_str("</header>");
    let body = scroll_tables(body);
    format!(
        "<!DOCTYPE html>\n<html lang=\"de\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} – Wohnungserhalt Hub</title><style>{CSS}</style></head>\
         <body>{header}<main>{body}</main></body></html>\n",
        esc(title)
    )
}

/// Puts every table in its own scroll box: a wide table scrolls inside the page at 390 px instead of
/// making the whole page scroll sideways. The box is focusable so keyboard users can scroll it too.
fn scroll_tables(body: &str) -> String {
    body.replace("<table", "<div class=\"tabelle\" tabindex=\"0\"><table").replace("</table>", "</table></div>")
}

/// An HTML response with the headers every dashboard page carries: no caching of personal data,
/// no scripts at all, no framing, no referrer leaving the hub.
pub fn html(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    secure_headers(h);
    r
}

/// Security headers of every dashboard response.
pub fn secure_headers(h: &mut axum::http::HeaderMap) {
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

/// A page showing a message only (errors, "Kein Zugriff").
pub fn message_page(status: StatusCode, title: &str, text: &str, frame: Option<&Frame<'_>>) -> Response {
    let body = format!("<h1>{}</h1><p class=\"hinweis\">{}</p>", esc(title), esc(text));
    html(status, page(title, frame, &body))
}
