//! The dispatcher: claims due mail jobs from the outbox, renders them (no personal data), sends
//! them through the adapter's SMTP sink and records the result. Transient failures come back with
//! exponential backoff; permanent ones and exhausted retries become dead letters, which raise
//! DELIVERY_FAILED to the Fachstelle. Every attempt of one job carries the same Message-ID, and a
//! job is only marked sent after the SMTP server accepted it, so a restart mid-send repeats the
//! send (the receiver sees the same Message-ID) but never loses it.
//!
//! The results of a round are recorded in one transaction after its sends, so a round of `batch`
//! mails costs one durable commit, not one per mail. A crash (or a failed commit) between the sends
//! and that commit repeats the round's sends once the leases run out: more repeats than one mail,
//! still with the same Message-IDs, still nothing lost.

use std::sync::Arc;
use std::time::Duration;

use email_adapter::receipt::ReceiptClaims;
use email_adapter::render::{self, MailContent};
use email_adapter::retry::{self, Retry};
use email_adapter::sink::{OutgoingMail, SmtpSink};
use email_adapter::token::{LinkClaims, LinkKey, Purpose};
use tokio::sync::watch;

use super::{EmailConfig, reference};
use crate::domain::mail::{LinkReceipt, MailJob, MailKind};
use crate::domain::referral::Move;
use crate::domain::time::Instant;
use crate::labels;
use crate::service::{DeliveryResult, Hub, HubResult, MailFacts};

/// What one round of the dispatcher did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Round {
    /// Accepted by the SMTP server.
    pub sent: usize,
    /// Failed and scheduled for another attempt.
    pub retrying: usize,
    /// Given up (dead letters).
    pub dead: usize,
}

/// Drains the outbox through one SMTP sink.
#[derive(Clone)]
pub struct Dispatcher {
    hub: Hub,
    sink: Arc<SmtpSink>,
    key: Arc<LinkKey>,
    config: Arc<EmailConfig>,
    /// Lease owner name: unique per dispatcher, so replicas never mistake each other's claims.
    owner: String,
    /// Told when the relay accepts a mail, so health sees a recovered relay at once.
    health: Option<crate::server::health::Health>,
}

impl Dispatcher {
    /// A dispatcher for `hub` sending through `sink`.
    pub fn new(hub: Hub, sink: Arc<SmtpSink>, key: Arc<LinkKey>, config: EmailConfig) -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let owner = format!("dispatcher-{}-{}", std::process::id(), &id[..8]);
        Self { hub, sink, key, config: Arc::new(config), owner, health: None }
    }

    /// Reports accepted mails to `health`.
    pub fn with_health(mut self, health: crate::server::health::Health) -> Self {
        self.health = Some(health);
        self
    }

    /// Sends every mail that is due now, round after round until none is left; tests drive the
    /// outbox to completion with it (no sleeps).
    pub async fn run_until_idle(&self) -> HubResult<Round> {
        let mut total = Round::default();
        loop {
            let round = self.run_once().await?;
            if round == Round::default() {
                return Ok(total);
            }
            total.sent += round.sent;
            total.retrying += round.retrying;
            total.dead += round.dead;
        }
    }

    /// Claims one batch of due mails and sends them, `pool_size` at a time. While the round runs its
    /// leases are renewed every third of `lease_secs`, so a short lease (how long a dead replica's mail
    /// waits) never runs out under a slow relay and no other replica sends the same mail meanwhile.
    pub async fn run_once(&self) -> HubResult<Round> {
        let lease_secs = self.config.lease_secs;
        let jobs = self.hub.claim_mails(&self.owner, lease_secs, self.config.batch).await?;
        let mut round = Round::default();
        if jobs.is_empty() {
            return Ok(round);
        }
        let parallel = self.config.smtp.pool_size.max(1) as usize;
        let deliveries = async {
            let mut set = tokio::task::JoinSet::new();
            let mut done = Vec::new();
            for job in jobs {
                if set.len() >= parallel
                    && let Some(r) = set.join_next().await
                {
                    done.push(r);
                }
                let me = self.clone();
                set.spawn(async move { me.deliver(job).await });
            }
            while let Some(r) = set.join_next().await {
                done.push(r);
            }
            done
        };
        tokio::pin!(deliveries);
        let mut renew = tokio::time::interval(Duration::from_millis((lease_secs * 1000 / 3).max(100)));
        renew.tick().await;
        let done = loop {
            tokio::select! {
                done = &mut deliveries => break done,
                _ = renew.tick() => {
                    if let Err(e) = self.hub.renew_mail_leases(&self.owner, lease_secs).await {
                        tracing::warn!(error = %e, "mail leases not renewed");
                    }
                }
            }
        };
        let mut results = Vec::with_capacity(done.len());
        let mut failure = None;
        for r in done {
            match r {
                Ok(Ok((id, result))) => {
                    match &result {
                        DeliveryResult::Sent { .. } => round.sent += 1,
                        DeliveryResult::Failed { retry_at: Some(_), .. } => round.retrying += 1,
                        DeliveryResult::Failed { retry_at: None, .. } => round.dead += 1,
                    }
                    results.push((id, result));
                }
                // Its lease runs out and another round tries again.
                Ok(Err(e)) => failure = Some(e),
                Err(e) => tracing::error!(error = %e, "mail delivery task failed"),
            }
        }
        // Record what was sent even when another job of the round failed.
        self.hub.record_deliveries(results).await?;
        match failure {
            Some(e) => Err(e),
            None => Ok(round),
        }
    }

    /// Runs until `shutdown` turns true: a round whenever a commit wrote mail jobs, and every
    /// `poll_secs` for retries and jobs committed through other replicas.
    pub async fn run(self, mut commits: watch::Receiver<u64>, mut shutdown: watch::Receiver<bool>) {
        let every = Duration::from_secs(self.config.poll_secs.max(1));
        tracing::info!(owner = %self.owner, "mail dispatcher started");
        loop {
            if let Err(e) = self.run_until_idle().await {
                tracing::warn!(error = %e, "mail dispatch failed; will retry");
            }
            tokio::select! {
                _ = commits.changed() => {}
                _ = tokio::time::sleep(every) => {}
                _ = shutdown.wait_for(|s| *s) => break,
            }
        }
        // A round in progress has finished and recorded its results; whatever this dispatcher still
        // holds (a round that failed to record) is freed for the other replicas now, not after the lease.
        match self.hub.release_mail_leases(&self.owner).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(owner = %self.owner, released = n, "mail leases released"),
            Err(e) => tracing::warn!(error = %e, "mail leases not released; they run out by themselves"),
        }
        tracing::info!(owner = %self.owner, "mail dispatcher stopped");
    }

    /// Sends `job`; what happened, to be recorded with the round's other results.
    async fn deliver(&self, job: MailJob) -> HubResult<(String, DeliveryResult)> {
        let result = match self.hub.mail_facts(&job).await? {
            Err(reason) => DeliveryResult::Failed { error: reason, retry_at: None },
            Ok(facts) => match self.sink.send(&self.compose(&job, &facts)).await {
                Ok(()) => {
                    if let Some(h) = &self.health {
                        h.relay_accepted_mail();
                    }
                    let age = self.hub.clock_now().millis().saturating_sub(job.created_at.millis()).max(0);
                    crate::telemetry::metrics::mail_sent(std::time::Duration::from_millis(age.unsigned_abs()));
                    DeliveryResult::Sent { by: self.owner.clone() }
                }
                Err(e) => {
                    let attempt = job.attempts + 1;
                    let retry_at =
                        (e.retry == Retry::Transient && attempt < self.config.delivery.max_attempts).then(|| {
                            let wait = retry::backoff(&self.config.delivery, attempt, seed(&job.id));
                            let ms = i64::try_from(wait.as_millis()).unwrap_or(i64::MAX / 2);
                            Instant::from_millis(self.hub.clock_now().millis().saturating_add(ms))
                        });
                    tracing::info!(delivery = %job.id, attempt, error = %e.message, retry = retry_at.is_some(), "mail not delivered");
                    DeliveryResult::Failed { error: e.message, retry_at }
                }
            },
        };
        Ok((job.id, result))
    }

    /// The mail of `job`: only references, codes, dates, organisation names and a link. A
    /// CASE_ERASED mail has no link (the page is gone with the case), state or date.
    fn compose(&self, job: &MailJob, facts: &MailFacts) -> OutgoingMail {
        let now = self.hub.clock_now();
        let ttl_ms = i64::from(self.config.link_ttl_days) * 86_400_000;
        let expires = Instant::from_millis(now.millis() + ttl_ms);
        let erased = job.kind == MailKind::CaseErased;
        let link = match (&job.data_request, &job.referral_id) {
            (Some(request), _) => {
                let claims = LinkClaims {
                    referral: facts.referral.as_ref().map(ToString::to_string).unwrap_or_default(),
                    org: job.org.to_string(),
                    issued_at_ms: now.millis(),
                    expires_at_ms: expires.millis(),
                    purpose: Purpose::Confirm { request: request.to_string() },
                };
                email_adapter::web::confirm_url(&self.config.public_url(), &self.key, &claims, request.as_str())
            }
            (None, Some(r)) if !erased => {
                let claims = LinkClaims {
                    referral: r.to_string(),
                    org: job.org.to_string(),
                    issued_at_ms: now.millis(),
                    expires_at_ms: expires.millis(),
                    purpose: Purpose::View,
                };
                email_adapter::web::view_url(&self.config.public_url(), &self.key, &claims)
            }
            _ => String::new(),
        };
        let reference = match job.referral_id.as_ref().or(facts.referral.as_ref()) {
            Some(r) => reference(r.as_str()),
            None => reference(job.case_id.as_str()),
        };
        let content = MailContent {
            kind: kind(job.kind),
            reference,
            category: facts.category.map(|c| labels::category(c).to_owned()).unwrap_or_default(),
            state: job.state.filter(|_| !erased).map(|s| labels::state(s).to_owned()),
            reply_by: job.reply_by.filter(|_| !erased).map(labels::day),
            sender_org: facts.sender_name.clone(),
            recipient_org: facts.recipient_name.clone(),
            link_valid_until: if link.is_empty() { String::new() } else { labels::day(expires.day()) },
            link,
            action: job.receipt.as_ref().map(action_label),
            receipt: job.receipt.as_ref().map(|r| self.key.sign_receipt(&receipt_claims(r))),
        };
        let mail = render::render(&content);
        OutgoingMail {
            message_id: format!("<{}@{}>", job.id, self.sink.message_id_domain()),
            to: facts.to.as_str().to_owned(),
            mail,
        }
    }
}

/// The adapter's claims of a receipt (signed when shown or mailed; deterministic).
pub fn receipt_claims(r: &LinkReceipt) -> ReceiptClaims {
    ReceiptClaims {
        id: r.id.clone(),
        referral: r.referral.to_string(),
        org: r.org.to_string(),
        action: r.action.clone(),
        state: r.state.as_str().to_owned(),
        at_ms: r.at.millis(),
    }
}

/// What was done, in German, for a receipt.
pub fn action_label(r: &LinkReceipt) -> String {
    match Move::parse(&r.action) {
        Some(m) => labels::move_done(m).to_owned(),
        None => "Notiz hinzugefügt".to_owned(),
    }
}

fn kind(k: MailKind) -> render::MailKind {
    match k {
        MailKind::NewReferral => render::MailKind::NewReferral,
        MailKind::StateChanged => render::MailKind::StateChanged,
        MailKind::NoteAdded => render::MailKind::NoteAdded,
        MailKind::Reminder => render::MailKind::Reminder,
        MailKind::Overdue => render::MailKind::Overdue,
        MailKind::ConsentEnded => render::MailKind::ConsentEnded,
        MailKind::CaseClosed => render::MailKind::CaseClosed,
        MailKind::ActionConfirmed => render::MailKind::ActionConfirmed,
        MailKind::ProcessingRestricted => render::MailKind::ProcessingRestricted,
        MailKind::RestrictionLifted => render::MailKind::RestrictionLifted,
        MailKind::CaseErased => render::MailKind::CaseErased,
        MailKind::CaseDataRectified => render::MailKind::CaseDataRectified,
        MailKind::DataRequest => render::MailKind::DataRequest,
    }
}

/// A per-job seed for the backoff jitter, so replicas retrying different jobs spread out.
fn seed(id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}
