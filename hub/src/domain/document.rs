//! Documents of a case: the signed consent slip, the court's letter, a landlord's notice. Only PDF,
//! JPEG and PNG, recognised by their first bytes (not by the name a browser sends), up to
//! [`MAX_DOCUMENT_BYTES`]; the name is kept as the person chose it, without any path.

use serde::{Deserialize, Serialize};

use super::FieldError;
use super::ids::CaseId;
use super::time::Instant;
use super::vocab::text_enum;

/// The largest document accepted: a scanned letter of a few pages fits several times.
pub const MAX_DOCUMENT_BYTES: usize = 5 * 1024 * 1024;

text_enum!(
    /// What kind of file a document is.
    DocumentType {
        /// A PDF.
        Pdf = "application/pdf",
        /// A JPEG picture (a photographed letter).
        Jpeg = "image/jpeg",
        /// A PNG picture (a screenshot).
        Png = "image/png",
    }
);

impl DocumentType {
    /// The type of `bytes` by their signature.
    fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(b"%PDF-") {
            Some(Self::Pdf)
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Self::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Self::Png)
        } else {
            None
        }
    }
}

/// What is known of a document besides its content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentMeta {
    /// Id.
    pub id: String,
    /// The case it belongs to.
    pub case_id: CaseId,
    /// The name as uploaded (without a path).
    pub name: String,
    /// The kind of file.
    pub kind: DocumentType,
    /// Size in bytes.
    pub size: usize,
    /// When it was uploaded.
    pub uploaded_at: Instant,
    /// Who uploaded it.
    pub uploaded_by: String,
}

impl DocumentMeta {
    /// A document for `case` named `name` with `content`: a PDF, JPEG or PNG of 1 byte to
    /// [`MAX_DOCUMENT_BYTES`], with a name of 1-200 printable characters (a path in it is dropped).
    pub fn accept(
        case_id: &CaseId,
        name: &str,
        content: &[u8],
        uploaded_by: &str,
        at: Instant,
    ) -> Result<Self, FieldError> {
        let base = name.rsplit(['/', '\\']).next().unwrap_or(name).trim();
        if base.is_empty() || base.chars().any(char::is_control) || base.chars().count() > 200 {
            return Err(FieldError::new("name", "must be 1-200 printable characters")
                .de("Der Dateiname fehlt oder ist ungültig (höchstens 200 Zeichen)."));
        }
        if content.is_empty() {
            return Err(FieldError::new("content", "is empty").de("Die Datei ist leer."));
        }
        if content.len() > MAX_DOCUMENT_BYTES {
            return Err(FieldError::new("content", "is larger than 5 MiB").de("Die Datei ist größer als 5 MB."));
        }
        let kind = DocumentType::sniff(content).ok_or_else(|| {
            FieldError::new("content", "must be a PDF, JPEG or PNG").de("Nur PDF-, JPEG- oder PNG-Dateien.")
        })?;
        Ok(Self {
            id: uuid::Uuid::new_v4().to_string(),
            case_id: case_id.clone(),
            name: base.to_owned(),
            kind,
            size: content.len(),
            uploaded_at: at,
            uploaded_by: uploaded_by.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_pdf_jpeg_and_png_by_their_bytes_named_without_a_path() {
        let case = CaseId::new();
        let at = Instant::from_millis(0);
        let ok = DocumentMeta::accept(&case, "C:\\Scans\\Einwilligung.pdf", b"%PDF-1.4 x", "K.", at).unwrap();
        assert_eq!((ok.name.as_str(), ok.kind, ok.size), ("Einwilligung.pdf", DocumentType::Pdf, 10));
        let field = |name: &str, bytes: &[u8]| DocumentMeta::accept(&case, name, bytes, "K.", at).unwrap_err().field;
        assert_eq!(field("brief.pdf", b"hello"), "content", "a text file named .pdf");
        assert_eq!(field("leer.pdf", b""), "content");
        assert_eq!(field("", b"%PDF-"), "name");
        assert_eq!(field("a\nb.pdf", b"%PDF-"), "name");
        let big = [b"%PDF-".as_slice(), &vec![0u8; MAX_DOCUMENT_BYTES]].concat();
        assert_eq!(field("gross.pdf", &big), "content");
        assert_eq!(
            DocumentMeta::accept(&case, "foto.jpg", &[0xFF, 0xD8, 0xFF, 0xE0], "K.", at).unwrap().kind,
            DocumentType::Jpeg
        );
    }
}
