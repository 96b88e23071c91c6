//! The reports read straight from the store, for the people who check the hub: the access report of
//! a person (Art. 15 GDPR) for the data protection officer, and the annual key figures (with their
//! charts) for the council. Each is built from the store in one read, then rendered as HTML, CSV or
//! JSON; both are audited as reads.

pub mod access;
pub mod charts;
pub mod html;
pub mod key_figures;
