//! Escaping text for HTML, shared by everything in the hub that writes HTML by hand: the reports,
//! their charts and the few pieces of markup the dashboard's views build outside the templates.

/// Escapes text for HTML element content and quoted attribute values: the one escape of the mails, the
/// partner page and the hub's own markup.
pub use email_adapter::render::escape;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape("<script>alert('x') & \"y\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"
        );
        assert_eq!(escape("Straße 7"), "Straße 7");
    }
}
