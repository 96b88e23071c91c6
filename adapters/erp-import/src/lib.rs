//! Reader of the daily arrears export of a housing company's ERP: one early notice per row.
//!
//! Shared by the two ways a file reaches the hub, so both read it the same way: `hubctl arrears import`
//! on the company's machine, and the upload on the hub's housing-company portal. It reads the file
//! ([`csv`]: `;`, quotes, UTF-8 with or without BOM or Windows-1252, rows numbered as a spreadsheet
//! numbers them), translates an export's own column names and values ([`profile`]), parses German
//! notations ([`german`]) and turns each row into the API's `ArrearsNotice` or the reasons it cannot be
//! one ([`arrears`]). Every reason comes in English (hubctl's report) and German (the portal's), see
//! [`msg::Msg`]. The hub checks every notice again with the domain's rules; this crate only reads files.

pub mod arrears;
pub mod csv;
pub mod german;
pub mod msg;
pub mod profile;
pub mod report;
