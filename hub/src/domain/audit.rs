//! What the audit trail records: the actions as one closed vocabulary (a new kind of access does not
//! compile until it is named here) and the detail of a read that showed case data, written and read in
//! one place. The trail itself stores them as text (see `crate::audit`: the hash chain covers the text).

use serde::{Deserialize, Serialize};

use super::vocab::{DataCategory, text_enum};

text_enum!(
    /// An audited action.
    AuditAction {
        /// A case was opened.
        CaseOpen = "case.open",
        /// A case's data was shown.
        CaseRead = "case.read",
        /// A case's details were replaced.
        CaseUpdate = "case.update",
        /// A case's data was corrected (Art. 16 GDPR).
        CaseRectify = "case.rectify",
        /// A threat stage was recorded.
        CaseStage = "case.stage",
        /// A case was closed.
        CaseClose = "case.close",
        /// A case's processing was restricted (Art. 18 GDPR).
        CaseRestrict = "case.restrict",
        /// A restriction was lifted.
        CaseLiftRestriction = "case.lift_restriction",
        /// A case was erased.
        CaseErase = "case.erase",
        /// A consent was recorded.
        ConsentRecord = "consent.record",
        /// A consent was revoked.
        ConsentRevoke = "consent.revoke",
        /// A consent expired.
        ConsentExpire = "consent.expire",
        /// Data was disclosed with a new referral.
        ReferralDisclose = "referral.disclose",
        /// A referral moved.
        ReferralMove = "referral.move",
        /// A referral was read, with its case view.
        ReferralRead = "referral.read",
        /// A note was written.
        NoteWrite = "note.write",
        /// Notes were read.
        NoteRead = "note.read",
        /// A notice was submitted or recorded.
        NoticeWrite = "notice.write",
        /// Open notices were listed.
        NoticeList = "notice.list",
        /// A notice was taken up into a case.
        NoticeTakeUp = "notice.take_up",
        /// A notice was erased.
        NoticeErase = "notice.erase",
        /// An organisation was registered.
        OrgRegister = "org.register",
        /// An organisation was changed.
        OrgUpdate = "org.update",
        /// An organisation was deactivated.
        OrgDeactivate = "org.deactivate",
        /// An organisation was reactivated.
        OrgReactivate = "org.reactivate",
        /// A staff account was added.
        StaffAdd = "staff.add",
        /// A staff account was disabled.
        StaffDisable = "staff.disable",
        /// A staff account was enabled.
        StaffEnable = "staff.enable",
        /// A staff password was set.
        StaffPassword = "staff.password",
        /// A staff member signed in.
        StaffSignIn = "staff.sign_in",
        /// A sign-in failed.
        StaffSignInFailed = "staff.sign_in_failed",
        /// A staff member signed out.
        StaffSignOut = "staff.sign_out",
        /// A dead mail was queued again.
        DeliveryRequeue = "delivery.requeue",
        /// A dashboard list showed cases.
        DashboardView = "dashboard.view",
        /// Key figures were read.
        KeyFigures = "report.key_figures",
        /// An access report (Art. 15 GDPR) was made.
        AccessReport = "access_report",
    }
);

impl AuditAction {
    /// A read that showed personal data to whoever made it (what the Art. 15 report lists as a partner's
    /// access).
    pub fn is_read(self) -> bool {
        matches!(self, AuditAction::CaseRead | AuditAction::ReferralRead | AuditAction::NoteRead)
    }
}

/// The detail of a read that showed case data: which categories it showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseDataShown(pub Vec<DataCategory>);

impl CaseDataShown {
    const PREFIX: &'static str = "case data: ";

    /// The detail as the trail stores it (`case data: IDENTITY,ARREARS`).
    pub fn detail(&self) -> String {
        let names: Vec<&str> = self.0.iter().map(|c| c.as_str()).collect();
        format!("{}{}", Self::PREFIX, names.join(","))
    }

    /// The categories of a stored detail, when it is one of these.
    pub fn parse(detail: &str) -> Option<Self> {
        let list = detail.strip_prefix(Self::PREFIX.trim_end())?;
        Some(Self(list.split(',').filter_map(|c| DataCategory::parse(c.trim())).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_categories_round_trip_and_read_older_records() {
        let shown = CaseDataShown(vec![DataCategory::Identity, DataCategory::Arrears]);
        assert_eq!(CaseDataShown::parse(&shown.detail()), Some(shown));
        assert_eq!(
            CaseDataShown::parse("case data: IDENTITY,ARREARS").map(|s| s.0),
            Some(vec![DataCategory::Identity, DataCategory::Arrears])
        );
        assert_eq!(CaseDataShown::parse("dashboard case page"), None);
    }

    #[test]
    fn every_action_parses_back() {
        for a in AuditAction::ALL {
            assert_eq!(AuditAction::parse(a.as_str()), Some(*a));
        }
    }
}
