//! Form bodies (`application/x-www-form-urlencoded`) with repeatable fields: a checkbox list such
//! as `daten=IDENTITY&daten=TENANCY` arrives as one field per ticked box, which a map cannot hold.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::Response;

use super::layout::message_page;

/// Largest form accepted (the router's body limit): a referral message and a few dozen
/// checkboxes fit many times over.
pub const MAX_FORM_BYTES: usize = 64 * 1024;

/// A parsed form: its fields in order, repeated names kept.
#[derive(Debug, Clone, Default)]
pub struct FormData(Vec<(String, String)>);

impl FormData {
    /// Parses a form body.
    pub fn parse(body: &[u8]) -> Self {
        Self(form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
    }

    /// The first value of `name`, trimmed.
    pub fn one(&self, name: &str) -> Option<String> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim().to_owned())
    }

    /// The first non-empty value of `name`, trimmed.
    pub fn non_empty(&self, name: &str) -> Option<String> {
        self.one(name).filter(|v| !v.is_empty())
    }

    /// Every non-empty value of `name`, trimmed.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0.iter().filter(|(k, v)| k == name && !v.trim().is_empty()).map(|(_, v)| v.trim().to_owned()).collect()
    }
}

impl<S: Send + Sync> FromRequest<S> for FormData {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bad = |text: &str| message_page(StatusCode::BAD_REQUEST, "Ungültige Anfrage", text, None);
        let is_form = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !is_form {
            return Err(bad("Erwartet wurde ein Formular."));
        }
        match Bytes::from_request(req, state).await {
            Ok(bytes) => Ok(Self::parse(&bytes)),
            Err(_) => Err(bad("Das Formular ist zu groß oder unvollständig.")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_fields_are_kept_and_values_decoded() {
        let f = FormData::parse(b"daten=IDENTITY&daten=TENANCY&nachricht=Hallo+Welt%21&leer=");
        assert_eq!(f.all("daten"), vec!["IDENTITY", "TENANCY"]);
        assert_eq!(f.one("nachricht").as_deref(), Some("Hallo Welt!"));
        assert_eq!(f.non_empty("leer"), None);
        assert_eq!(f.one("fehlt"), None);
    }
}
