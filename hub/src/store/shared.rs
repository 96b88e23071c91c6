//! What both backends do alike, written once: `impl_tx!` implements [`super::Tx`] for a backend's
//! transaction type from the methods whose SQL is the same on SQLite and PostgreSQL (`$N` placeholders
//! work on both) plus the backend's own methods, passed in. The shared bodies name `map_err`,
//! `to_json`, `from_json`, `expect_one_row`, `self.one`, `self.many` and the row readers; each backend
//! module defines them for its driver, and the macro uses the ones where it is invoked.

/// Implements `Tx` for `$tx`: the backend's own methods, then the shared ones.
macro_rules! impl_tx {
    ($tx:ty { $($own:tt)* }) => {
        #[async_trait]
        impl Tx for $tx {
            $($own)*

            async fn org(&mut self, id: &OrgId) -> Result<Option<Organisation>, StoreError> {
                self.one("SELECT body FROM organisations WHERE id = $1", id.as_str()).await
            }

            async fn insert_org(&mut self, org: &Organisation) -> Result<(), StoreError> {
                sqlx::query("INSERT INTO organisations (id, kind, active, body) VALUES ($1, $2, $3, $4)")
                    .bind(org.id.as_str())
                    .bind(org.kind.as_str())
                    .bind(org.active)
                    .bind(to_json(org)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }

            async fn update_org(&mut self, org: &Organisation) -> Result<(), StoreError> {
                let r = sqlx::query("UPDATE organisations SET kind = $1, active = $2, body = $3 WHERE id = $4")
                    .bind(org.kind.as_str())
                    .bind(org.active)
                    .bind(to_json(org)?)
                    .bind(org.id.as_str())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                expect_one_row(r)
            }

            async fn case(&mut self, id: &CaseId) -> Result<Option<Case>, StoreError> {
                self.one("SELECT body FROM cases WHERE id = $1", id.as_str()).await
            }

            async fn update_case(&mut self, case: &Case) -> Result<(), StoreError> {
                let body = sealed::seal(self, case.id.as_str(), case).await?;
                let r = sqlx::query("UPDATE cases SET status = $1, erase_on = $2, body = $3 WHERE id = $4")
                    .bind(case.status().as_str())
                    .bind(case.erase_on.map(|d| d.to_string()))
                    .bind(body)
                    .bind(case.id.as_str())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                expect_one_row(r)
            }

            async fn consent(&mut self, id: &ConsentId) -> Result<Option<Consent>, StoreError> {
                self.one("SELECT body FROM consents WHERE id = $1", id.as_str()).await
            }

            async fn insert_consent(&mut self, c: &Consent) -> Result<(), StoreError> {
                let body = sealed::seal(self, c.case_id.as_str(), c).await?;
                sqlx::query("INSERT INTO consents (id, case_id, status, valid_until, body) VALUES ($1, $2, $3, $4, $5)")
                    .bind(c.id.as_str())
                    .bind(c.case_id.as_str())
                    .bind(c.status.as_str())
                    .bind(c.valid_until.to_string())
                    .bind(body)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }

            async fn insert_document(&mut self, meta: &DocumentMeta, content: &[u8]) -> Result<(), StoreError> {
                let case = meta.case_id.as_str();
                let sealed_meta = sealed::seal(self, case, meta).await?;
                let sealed_content = sealed::seal(self, case, &hex::encode(content)).await?;
                sqlx::query("INSERT INTO documents (id, case_id, uploaded_at, meta, content) VALUES ($1, $2, $3, $4, $5)")
                    .bind(&meta.id)
                    .bind(case)
                    .bind(meta.uploaded_at.millis())
                    .bind(sealed_meta)
                    .bind(sealed_content)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }

            async fn documents_of_case(&mut self, case: &CaseId) -> Result<Vec<DocumentMeta>, StoreError> {
                self.many("SELECT meta FROM documents WHERE case_id = $1 ORDER BY uploaded_at, id", Some(case.as_str())).await
            }

            async fn document(&mut self, case: &CaseId, id: &str) -> Result<Option<(DocumentMeta, Vec<u8>)>, StoreError> {
                let row = sqlx::query("SELECT meta, content FROM documents WHERE case_id = $1 AND id = $2")
                    .bind(case.as_str())
                    .bind(id)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                let Some(row) = row else { return Ok(None) };
                let meta: String = row.try_get("meta").map_err(map_err)?;
                let content: String = row.try_get("content").map_err(map_err)?;
                let meta: DocumentMeta = sealed::open(self, &meta).await?;
                let content: String = sealed::open(self, &content).await?;
                let content = hex::decode(content).map_err(|e| StoreError::Other(format!("document content: {e}")))?;
                Ok(Some((meta, content)))
            }

            async fn insert_data_request(&mut self, r: &DataRequest) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO data_requests (id, owner_id, recipient_id, case_id, requested_at, confirmed_at, body) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(r.id.as_str())
                .bind(r.owner.as_str())
                .bind(r.recipient.as_str())
                .bind(r.case_id.as_str())
                .bind(r.requested_at.millis())
                .bind(r.confirmation.as_ref().map(|c| c.at.millis()))
                .bind(to_json(r)?)
                .execute(&mut *self.tx)
                .await
                .map_err(map_err)?;
                Ok(())
            }

            async fn update_data_request(&mut self, r: &DataRequest) -> Result<(), StoreError> {
                let done = sqlx::query("UPDATE data_requests SET confirmed_at = $1, body = $2 WHERE id = $3")
                    .bind(r.confirmation.as_ref().map(|c| c.at.millis()))
                    .bind(to_json(r)?)
                    .bind(r.id.as_str())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::Other(format!("data request {} does not exist", r.id)));
                }
                Ok(())
            }

            async fn data_request(&mut self, id: &DataRequestId) -> Result<Option<DataRequest>, StoreError> {
                self.one("SELECT body FROM data_requests WHERE id = $1", id.as_str()).await
            }

            async fn update_consent(&mut self, c: &Consent) -> Result<(), StoreError> {
                let body = sealed::seal(self, c.case_id.as_str(), c).await?;
                let r = sqlx::query("UPDATE consents SET status = $1, valid_until = $2, body = $3 WHERE id = $4")
                    .bind(c.status.as_str())
                    .bind(c.valid_until.to_string())
                    .bind(body)
                    .bind(c.id.as_str())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                expect_one_row(r)
            }

            async fn referral(&mut self, id: &ReferralId) -> Result<Option<Referral>, StoreError> {
                self.one("SELECT body FROM referrals WHERE id = $1", id.as_str()).await
            }

            async fn referrals_of_case(&mut self, case: &CaseId) -> Result<Vec<Referral>, StoreError> {
                self.many("SELECT body FROM referrals WHERE case_id = $1 ORDER BY seq", Some(case.as_str())).await
            }

            async fn insert_referral(&mut self, r: &Referral) -> Result<(), StoreError> {
                let body = sealed::seal(self, r.case_id.as_str(), r).await?;
                sqlx::query(
                    "INSERT INTO referrals (id, case_id, sender_id, recipient_id, state, reply_by, created_at, updated_at, body)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(r.id.as_str())
                .bind(r.case_id.as_str())
                .bind(r.sender.as_str())
                .bind(r.recipient.as_str())
                .bind(r.state.as_str())
                .bind(r.reply_by.to_string())
                .bind(r.created_at.millis())
                .bind(r.updated_at.millis())
                .bind(body)
                .execute(&mut *self.tx)
                .await
                .map_err(map_err)?;
                Ok(())
            }

            async fn update_referral(&mut self, r: &Referral) -> Result<(), StoreError> {
                let body = sealed::seal(self, r.case_id.as_str(), r).await?;
                let res =
                    sqlx::query("UPDATE referrals SET state = $1, reply_by = $2, updated_at = $3, body = $4 WHERE id = $5")
                        .bind(r.state.as_str())
                        .bind(r.reply_by.to_string())
                        .bind(r.updated_at.millis())
                        .bind(body)
                        .bind(r.id.as_str())
                        .execute(&mut *self.tx)
                        .await
                        .map_err(map_err)?;
                expect_one_row(res)
            }

            async fn notice(&mut self, id: &NoticeId) -> Result<Option<Notice>, StoreError> {
                self.one("SELECT body FROM notices WHERE id = $1", id.as_str()).await
            }

            async fn notice_by_key(&mut self, key: &str) -> Result<Option<Notice>, StoreError> {
                let hashed = self.sealing.vault.index_hash(key);
                self.one("SELECT body FROM notices WHERE notice_key = $1", &hashed).await
            }

            async fn open_notices(&mut self) -> Result<Vec<Notice>, StoreError> {
                self.many("SELECT body FROM notices WHERE case_id IS NULL ORDER BY received_at, seq", None).await
            }

            async fn notices_of_reporter(&mut self, org: &OrgId) -> Result<Vec<Notice>, StoreError> {
                // The key column holds keyed hashes: order by the keys themselves after opening.
                let mut notices: Vec<Notice> =
                    self.many("SELECT body FROM notices WHERE reporter_id = $1", Some(org.as_str())).await?;
                notices.sort_by_key(Notice::key);
                Ok(notices)
            }

            async fn update_notice(&mut self, n: &Notice) -> Result<(), StoreError> {
                let body = sealed::seal(self, &notice_scope(n), n).await?;
                let r = sqlx::query("UPDATE notices SET case_id = $1, updated_at = $2, body = $3 WHERE id = $4")
                    .bind(n.case_id.as_ref().map(CaseId::as_str))
                    .bind(n.updated_at.millis())
                    .bind(body)
                    .bind(n.id.as_str())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                expect_one_row(r)?;
                if n.case_id.is_some() {
                    // Taken up: sealed under the case's key now; the notice's own key has nothing left.
                    sealed::destroy_key(self, n.id.as_str()).await?;
                }
                Ok(())
            }

            async fn notes(&mut self, referral: &ReferralId) -> Result<Vec<Note>, StoreError> {
                self.many("SELECT body FROM notes WHERE referral_id = $1 ORDER BY seq", Some(referral.as_str())).await
            }

            async fn insert_note(&mut self, n: &Note) -> Result<(), StoreError> {
                let scope = self.case_of_referral(&n.referral_id).await?;
                let body = sealed::seal(self, &scope, n).await?;
                sqlx::query("INSERT INTO notes (id, referral_id, created_at, body) VALUES ($1, $2, $3, $4)")
                    .bind(n.id.as_str())
                    .bind(n.referral_id.as_str())
                    .bind(n.created_at.millis())
                    .bind(body)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }

            async fn append_event(&mut self, e: &Event) -> Result<u64, StoreError> {
                let row = sqlx::query(
                    "INSERT INTO events (audience_id, occurred_at, case_id, body) VALUES ($1, $2, $3, $4) RETURNING cursor",
                )
                .bind(e.audience.as_str())
                .bind(e.at.millis())
                .bind(e.case_id.as_str())
                .bind(to_json(e)?)
                .fetch_one(&mut *self.tx)
                .await
                .map_err(map_err)?;
                let c: i64 = row.try_get("cursor").map_err(map_err)?;
                Ok(u64::try_from(c).unwrap_or(0))
            }

            async fn audit_head(&mut self) -> Result<Option<AuditHead>, StoreError> {
                let row = sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                row.map(|r| {
                    Ok(AuditHead { seq: r.try_get("seq").map_err(map_err)?, hash: r.try_get("hash").map_err(map_err)? })
                })
                .transpose()
            }

            async fn audit_seals(&mut self, after_seq: i64, limit: u32) -> Result<Vec<AuditSeal>, StoreError> {
                let rows =
                    sqlx::query("SELECT seq, hash, sealed_at, signature FROM audit_seals WHERE seq > $1 ORDER BY seq LIMIT $2")
                        .bind(after_seq)
                        .bind(i64::from(limit))
                        .fetch_all(&mut *self.tx)
                        .await
                        .map_err(map_err)?;
                rows.iter().map(audit_seal).collect()
            }

            async fn last_audit_seal(&mut self) -> Result<Option<AuditSeal>, StoreError> {
                let row = sqlx::query("SELECT seq, hash, sealed_at, signature FROM audit_seals ORDER BY seq DESC LIMIT 1")
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                row.as_ref().map(audit_seal).transpose()
            }

            async fn insert_audit_seal(&mut self, seal: &AuditSeal) -> Result<(), StoreError> {
                sqlx::query("INSERT INTO audit_seals (seq, hash, sealed_at, signature) VALUES ($1, $2, $3, $4)")
                    .bind(seal.seq)
                    .bind(&seal.hash)
                    .bind(seal.sealed_at.millis())
                    .bind(&seal.signature)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }

            async fn insert_mail(&mut self, job: &MailJob) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO outbox (id, org_id, case_id, referral_id, status, next_attempt_at, created_at, updated_at, body)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(&job.id)
                .bind(job.org.as_str())
                .bind(job.case_id.as_str())
                .bind(job.referral_id.as_ref().map(|r| r.as_str().to_owned()))
                .bind(job.status.as_str())
                .bind(job.next_attempt_at.millis())
                .bind(job.created_at.millis())
                .bind(job.updated_at.millis())
                .bind(to_json(job)?)
                .execute(&mut *self.tx)
                .await
                .map_err(map_err)?;
                Ok(())
            }

            async fn mail(&mut self, id: &str) -> Result<Option<MailJob>, StoreError> {
                self.one("SELECT body FROM outbox WHERE id = $1", id).await
            }

            async fn update_mail(&mut self, job: &MailJob) -> Result<(), StoreError> {
                let r = sqlx::query(
                    "UPDATE outbox SET status = $1, next_attempt_at = $2, updated_at = $3, body = $4,
                                       lease_owner = NULL, lease_until = NULL
                     WHERE id = $5",
                )
                .bind(job.status.as_str())
                .bind(job.next_attempt_at.millis())
                .bind(job.updated_at.millis())
                .bind(to_json(job)?)
                .bind(&job.id)
                .execute(&mut *self.tx)
                .await
                .map_err(map_err)?;
                expect_one_row(r)
            }

            async fn certificate(&mut self, serial: &Serial) -> Result<Option<IssuedCertificate>, StoreError> {
                let sql = "SELECT serial, org_id, issued_at, not_after, revoked_at FROM certificates WHERE serial = $1";
                let row = sqlx::query(sql).bind(serial.as_str()).fetch_optional(&mut *self.tx).await.map_err(map_err)?;
                row.as_ref().map(certificate_of).transpose()
            }

            async fn save_certificate(&mut self, c: &IssuedCertificate) -> Result<(), StoreError> {
                let sql =
                    "INSERT INTO certificates (serial, org_id, issued_at, not_after, revoked_at) VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (serial) DO UPDATE SET org_id = excluded.org_id, issued_at = excluded.issued_at,
                     not_after = excluded.not_after, revoked_at = excluded.revoked_at";
                sqlx::query(sql)
                    .bind(c.serial.as_str())
                    .bind(c.org.as_ref().map(|o| o.as_str().to_owned()))
                    .bind(c.issued_at.map(Instant::millis))
                    .bind(c.not_after.map(Instant::millis))
                    .bind(c.revoked_at.map(Instant::millis))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }

            async fn outbox_counts(&mut self) -> Result<OutboxCounts, StoreError> {
                let row = sqlx::query(OUTBOX_COUNTS).fetch_one(&mut *self.tx).await.map_err(map_err)?;
                let n = |col: &str| row.try_get::<i64, _>(col).map(|n| u64::try_from(n).unwrap_or(0)).map_err(map_err);
                Ok(OutboxCounts { pending: n("pending")?, dead: n("dead")? })
            }

            async fn idempotent(&mut self, scope: &str, key: &str) -> Result<Option<IdempotentResponse>, StoreError> {
                let row = sqlx::query("SELECT fingerprint, response FROM idempotency WHERE scope = $1 AND key = $2")
                    .bind(scope)
                    .bind(key)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                row.map(|r| {
                    Ok(IdempotentResponse {
                        fingerprint: r.try_get("fingerprint").map_err(map_err)?,
                        response: r.try_get("response").map_err(map_err)?,
                    })
                })
                .transpose()
            }

            async fn erase_case(&mut self, erasure: &Erasure) -> Result<u64, StoreError> {
                let case = erasure.case_id.as_str();
                let notice_ids: Vec<String> = sqlx::query_scalar("SELECT id FROM notices WHERE case_id = $1")
                    .bind(case)
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                // Children first (foreign keys), the case last.
                let mut deleted = 0;
                for sql in [
                    "DELETE FROM notes WHERE referral_id IN (SELECT id FROM referrals WHERE case_id = $1)",
                    "DELETE FROM outbox WHERE case_id = $1",
                    "DELETE FROM events WHERE case_id = $1",
                    "DELETE FROM documents WHERE case_id = $1",
                    "DELETE FROM consents WHERE case_id = $1",
                    "DELETE FROM referrals WHERE case_id = $1",
                    "DELETE FROM notices WHERE case_id = $1",
                    "DELETE FROM cases WHERE id = $1",
                ] {
                    deleted += sqlx::query(sql).bind(case).execute(&mut *self.tx).await.map_err(map_err)?.rows_affected();
                }
                sealed::destroy_key(self, case).await?;
                for n in &notice_ids {
                    sealed::destroy_key(self, n).await?;
                }
                sqlx::query("INSERT INTO erasures (case_id, owner_id, erased_at, reason, body) VALUES ($1, $2, $3, $4, $5)")
                    .bind(case)
                    .bind(erasure.owner.as_str())
                    .bind(erasure.erased_at.millis())
                    .bind(erasure.reason.as_str())
                    .bind(to_json(erasure)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                Ok(deleted)
            }

            async fn erasure(&mut self, case: &CaseId) -> Result<Option<Erasure>, StoreError> {
                self.one("SELECT body FROM erasures WHERE case_id = $1", case.as_str()).await
            }

            async fn cures(&mut self, subject: &str) -> Result<Vec<Day>, StoreError> {
                let subject = self.sealing.vault.index_hash(subject);
                let days: Vec<String> =
                    sqlx::query_scalar("SELECT cured_on FROM schonfrist_cures WHERE subject = $1 ORDER BY cured_on")
                        .bind(subject)
                        .fetch_all(&mut *self.tx)
                        .await
                        .map_err(map_err)?;
                days.iter().map(|d| Day::parse(d).map_err(|e| StoreError::Other(format!("bad cure day: {e}")))).collect()
            }

            async fn purge_cures(&mut self, today: Day) -> Result<u64, StoreError> {
                let r = sqlx::query("DELETE FROM schonfrist_cures WHERE keep_until < $1")
                    .bind(today.to_string())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                Ok(r.rows_affected())
            }

            async fn rewrap_data_keys(&mut self, limit: u32) -> Result<usize, StoreError> {
                sealed::rewrap(self, limit).await
            }

            async fn staff_account(&mut self, username: &Username) -> Result<Option<StaffAccount>, StoreError> {
                self.one("SELECT body FROM staff_accounts WHERE username = $1", username.as_str()).await
            }

            async fn staff_accounts(&mut self) -> Result<Vec<StaffAccount>, StoreError> {
                self.many("SELECT body FROM staff_accounts ORDER BY username", None).await
            }

            async fn save_staff_account(&mut self, account: &StaffAccount) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO staff_accounts (username, org_id, body) VALUES ($1, $2, $3) ON CONFLICT (username) DO UPDATE SET org_id = excluded.org_id, body = excluded.body",
                )
                .bind(account.username.as_str())
                .bind(account.org.as_str())
                .bind(to_json(account)?)
                .execute(&mut *self.tx)
                .await
                .map_err(map_err)?;
                Ok(())
            }

            async fn insert_session(&mut self, session: &StaffSession) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO staff_sessions (token_hash, username, csrf, created_at, last_seen) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&session.token_hash)
                .bind(session.username.as_str())
                .bind(&session.csrf)
                .bind(session.created_at.millis())
                .bind(session.last_seen.millis())
                .execute(&mut *self.tx)
                .await
                .map_err(map_err)?;
                Ok(())
            }

            async fn session(&mut self, token_hash: &str) -> Result<Option<StaffSession>, StoreError> {
                let row = sqlx::query("SELECT username, csrf, created_at, last_seen FROM staff_sessions WHERE token_hash = $1")
                    .bind(token_hash)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                let Some(r) = row else { return Ok(None) };
                let username: String = r.try_get("username").map_err(map_err)?;
                Ok(Some(StaffSession {
                    token_hash: token_hash.to_owned(),
                    username: Username::parse(&username).map_err(|e| StoreError::Other(format!("stored username: {e}")))?,
                    csrf: r.try_get("csrf").map_err(map_err)?,
                    created_at: Instant::from_millis(r.try_get("created_at").map_err(map_err)?),
                    last_seen: Instant::from_millis(r.try_get("last_seen").map_err(map_err)?),
                }))
            }

            async fn touch_session(&mut self, token_hash: &str, at: Instant) -> Result<(), StoreError> {
                sqlx::query("UPDATE staff_sessions SET last_seen = $1 WHERE token_hash = $2")
                    .bind(at.millis())
                    .bind(token_hash)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }

            async fn delete_session(&mut self, token_hash: &str) -> Result<(), StoreError> {
                sqlx::query("DELETE FROM staff_sessions WHERE token_hash = $1")
                    .bind(token_hash)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }

            async fn delete_sessions_of(&mut self, username: &Username) -> Result<u64, StoreError> {
                let r = sqlx::query("DELETE FROM staff_sessions WHERE username = $1")
                    .bind(username.as_str())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                Ok(r.rows_affected())
            }

            async fn purge_sessions(&mut self, idle_before: Instant, created_before: Instant) -> Result<u64, StoreError> {
                let r = sqlx::query("DELETE FROM staff_sessions WHERE last_seen < $1 OR created_at < $2")
                    .bind(idle_before.millis())
                    .bind(created_before.millis())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                Ok(r.rows_affected())
            }

            async fn orgs(&mut self) -> Result<Vec<Organisation>, StoreError> {
                self.many("SELECT body FROM organisations ORDER BY id", None).await
            }

            async fn cases(&mut self) -> Result<Vec<Case>, StoreError> {
                self.many("SELECT body FROM cases ORDER BY opened_at DESC, id", None).await
            }

            async fn insert_case(&mut self, case: &Case) -> Result<(), StoreError> {
                let body = sealed::seal(self, case.id.as_str(), case).await?;
                sqlx::query(
                    "INSERT INTO cases (id, owner_id, status, opened_at, erase_on, body) VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(case.id.as_str())
                .bind(case.owner.as_str())
                .bind(case.status().as_str())
                .bind(case.opened_at.millis())
                .bind(case.erase_on.map(|d| d.to_string()))
                .bind(body)
                .execute(&mut *self.tx)
                .await
                .map_err(map_err)?;
                Ok(())
            }

            async fn data_requests(&mut self, q: &DataRequestQuery) -> Result<Vec<DataRequest>, StoreError> {
                let bodies: Vec<String> = sqlx::query_scalar(
                    "SELECT body FROM data_requests
                      WHERE (CAST($1 AS TEXT) IS NULL OR recipient_id = $1) AND (CAST($2 AS TEXT) IS NULL OR owner_id = $2)
                        AND (CAST($3 AS TEXT) IS NULL OR case_id = $3) AND ($4 = 0 OR confirmed_at IS NULL)
                      ORDER BY requested_at, id",
                )
                .bind(q.recipient.as_ref().map(OrgId::as_str))
                .bind(q.owner.as_ref().map(OrgId::as_str))
                .bind(q.case_id.as_ref().map(CaseId::as_str))
                .bind(i64::from(q.open_only))
                .fetch_all(&mut *self.tx)
                .await
                .map_err(map_err)?;
                bodies.iter().map(|b| from_json(b)).collect()
            }

            async fn audit_records(&mut self, q: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
                let rows = sqlx::query(
                    "SELECT seq, occurred_at, actor_id, staff_member, action, case_id, referral_id, legal_basis, detail,
                            prev_hash, hash
                     FROM audit_log WHERE seq > $1
                       AND (CAST($2 AS TEXT) IS NULL OR case_id = $2) AND (CAST($3 AS TEXT) IS NULL OR actor_id = $3)
                       AND (CAST($4 AS BIGINT) IS NULL OR occurred_at >= $4) AND (CAST($5 AS BIGINT) IS NULL OR occurred_at < $5)
                     ORDER BY seq LIMIT $6",
                )
                .bind(q.after_seq)
                .bind(q.case_id.as_ref().map(CaseId::as_str))
                .bind(q.actor.as_deref())
                .bind(q.from.map(Instant::millis))
                .bind(q.before.map(Instant::millis))
                .bind(i64::from(q.limit))
                .fetch_all(&mut *self.tx)
                .await
                .map_err(map_err)?;
                rows.iter().map(audit_record).collect()
            }

            async fn mails(&mut self, q: &MailQuery) -> Result<Vec<MailJob>, StoreError> {
                let rows = sqlx::query(
                    "SELECT body FROM outbox
                     WHERE (CAST($1 AS TEXT) IS NULL OR org_id = $1) AND (CAST($2 AS TEXT) IS NULL OR status = $2)
                       AND (CAST($3 AS TEXT) IS NULL OR referral_id = $3)
                     ORDER BY seq DESC LIMIT $4",
                )
                .bind(q.org.as_ref().map(|o| o.as_str().to_owned()))
                .bind(q.status.map(|s| s.as_str()))
                .bind(q.referral.as_ref().map(|r| r.as_str().to_owned()))
                .bind(i64::from(q.limit))
                .fetch_all(&mut *self.tx)
                .await
                .map_err(map_err)?;
                rows.iter().map(|r| from_json(r.try_get::<&str, _>("body").map_err(map_err)?)).collect()
            }

            async fn certificates(&mut self) -> Result<Vec<IssuedCertificate>, StoreError> {
                let sql = "SELECT serial, org_id, issued_at, not_after, revoked_at FROM certificates ORDER BY COALESCE(issued_at, revoked_at), serial";
                let rows = sqlx::query(sql).fetch_all(&mut *self.tx).await.map_err(map_err)?;
                rows.iter().map(certificate_of).collect()
            }

            async fn remember(
                &mut self,
                scope: &str,
                key: &str,
                r: &IdempotentResponse,
                at: Instant,
            ) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO idempotency (scope, key, fingerprint, response, created_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(scope)
                .bind(key)
                .bind(&r.fingerprint)
                .bind(&r.response)
                .bind(at.millis())
                .execute(&mut *self.tx)
                .await
                .map_err(map_err)?;
                Ok(())
            }

            async fn cases_due_for_erasure(&mut self, today: Day, limit: u32) -> Result<Vec<CaseId>, StoreError> {
                let ids: Vec<String> = sqlx::query_scalar(
                    "SELECT id FROM cases WHERE erase_on IS NOT NULL AND erase_on <= $1
                     ORDER BY erase_on, id LIMIT $2",
                )
                .bind(today.to_string())
                .bind(i64::from(limit))
                .fetch_all(&mut *self.tx)
                .await
                .map_err(map_err)?;
                ids.iter().map(|i| CaseId::parse(i).map_err(|e| StoreError::Other(format!("bad case id: {e}")))).collect()
            }

            async fn erasures(&mut self) -> Result<Vec<Erasure>, StoreError> {
                self.many("SELECT body FROM erasures ORDER BY erased_at, case_id", None).await
            }

            async fn erase_untaken_notices(&mut self, before: Instant, limit: u32) -> Result<u64, StoreError> {
                let ids: Vec<String> = sqlx::query_scalar(
                    "SELECT id FROM notices WHERE case_id IS NULL AND updated_at < $1 ORDER BY seq LIMIT $2",
                )
                .bind(before.millis())
                .bind(i64::from(limit))
                .fetch_all(&mut *self.tx)
                .await
                .map_err(map_err)?;
                for id in &ids {
                    sealed::destroy_key(self, id).await?;
                    sqlx::query("DELETE FROM notices WHERE id = $1").bind(id).execute(&mut *self.tx).await.map_err(map_err)?;
                }
                Ok(ids.len() as u64)
            }

            async fn keep_cure(&mut self, subject: &str, cured_on: Day, keep_until: Day) -> Result<(), StoreError> {
                let subject = self.sealing.vault.index_hash(subject);
                sqlx::query(
                    "INSERT INTO schonfrist_cures (subject, cured_on, keep_until) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                )
                .bind(subject)
                .bind(cured_on.to_string())
                .bind(keep_until.to_string())
                .execute(&mut *self.tx)
                .await
                .map_err(map_err)?;
                Ok(())
            }

            async fn data_key_census(&mut self) -> Result<Vec<(String, u64)>, StoreError> {
                let rows = sqlx::query(
                    "SELECT master_id, COUNT(*) AS n FROM data_keys GROUP BY master_id ORDER BY master_id",
                )
                .fetch_all(&mut *self.tx)
                .await
                .map_err(map_err)?;
                rows.iter()
                    .map(|r| {
                        let n: i64 = r.try_get("n").map_err(map_err)?;
                        Ok((r.try_get("master_id").map_err(map_err)?, u64::try_from(n).unwrap_or(0)))
                    })
                    .collect()
            }

            async fn append_audit(&mut self, a: &AuditEntry) -> Result<(), StoreError> {
                let prev = self.audit_chain_prev().await?;
                let hash = crate::audit::record_hash(&prev, &crate::audit::Fields::from(a));
                sqlx::query(
                    "INSERT INTO audit_log (occurred_at, actor_id, staff_member, action, case_id, referral_id, legal_basis, detail,
                                            prev_hash, hash)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(a.at.millis())
                .bind(&a.actor)
                .bind(a.staff.as_deref())
                .bind(a.action.as_str())
                .bind(a.case_id.as_ref().map(CaseId::as_str))
                .bind(a.referral_id.as_ref().map(ReferralId::as_str))
                .bind(&a.legal_basis)
                .bind(a.detail.stored())
                .bind(&prev)
                .bind(&hash)
                .execute(&mut *self.tx)
                .await
                .map_err(map_err)?;
                self.audit_prev = Some(hash);
                Ok(())
            }

            async fn referrals(&mut self, q: &ReferralQuery) -> Result<Vec<(i64, Referral)>, StoreError> {
                // Optional filters are written as `(CAST($n AS TEXT) IS NULL OR col = $n)` so the statement
                // stays static and PostgreSQL never has to guess a parameter's type; the states are one
                // comma-separated parameter (state names contain no comma; LIKE's `_` only ever meets
                // another state name).
                let states: Option<String> = if q.states.is_empty() {
                    None
                } else {
                    Some(q.states.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(","))
                };
                let rows = sqlx::query(
                    "SELECT seq, body FROM referrals WHERE seq > $1
                       AND (CAST($2 AS TEXT) IS NULL OR sender_id = $2) AND (CAST($3 AS TEXT) IS NULL OR recipient_id = $3)
                       AND (CAST($4 AS TEXT) IS NULL OR sender_id = $4 OR recipient_id = $4)
                       AND (CAST($5 AS TEXT) IS NULL OR (',' || $5 || ',') LIKE ('%,' || state || ',%'))
                       AND (CAST($6 AS TEXT) IS NULL OR case_id = $6)
                       AND (CAST($7 AS TEXT) IS NULL OR (state IN ('REQUESTED', 'RECEIVED') AND reply_by < $7))
                       AND (CAST($8 AS BIGINT) IS NULL OR created_at <= $8)
                     ORDER BY seq LIMIT $9",
                )
                .bind(q.after_seq)
                .bind(q.sender.as_ref().map(OrgId::as_str))
                .bind(q.recipient.as_ref().map(OrgId::as_str))
                .bind(q.partner.as_ref().map(OrgId::as_str))
                .bind(states)
                .bind(q.case_id.as_ref().map(CaseId::as_str))
                .bind(q.overdue_on.map(|d| d.to_string()))
                .bind(q.created_before.map(Instant::millis))
                .bind(i64::from(q.limit))
                .fetch_all(&mut *self.tx)
                .await
                .map_err(map_err)?;
                let mut out = Vec::with_capacity(rows.len());
                for r in &rows {
                    let seq: i64 = r.try_get("seq").map_err(map_err)?;
                    let body: String = r.try_get("body").map_err(map_err)?;
                    out.push((seq, sealed::open(self, &body).await?));
                }
                Ok(out)
            }
        }
    };
}

/// The helpers the shared methods use: reading sealed bodies and a referral's case.
macro_rules! impl_tx_helpers {
    ($tx:ty) => {
        impl $tx {
            /// The row's `body`, opened (sealed bodies with their scope's key; plain ones as they are).
            async fn one<T: DeserializeOwned>(&mut self, sql: &'static str, id: &str) -> Result<Option<T>, StoreError> {
                let body: Option<String> =
                    sqlx::query_scalar(sql).bind(id).fetch_optional(&mut *self.tx).await.map_err(map_err)?;
                match body {
                    Some(b) => Ok(Some(sealed::open(self, &b).await?)),
                    None => Ok(None),
                }
            }

            async fn many<T: DeserializeOwned>(
                &mut self,
                sql: &'static str,
                arg: Option<&str>,
            ) -> Result<Vec<T>, StoreError> {
                let mut q = sqlx::query_scalar(sql);
                if let Some(a) = arg {
                    q = q.bind(a);
                }
                let bodies: Vec<String> = q.fetch_all(&mut *self.tx).await.map_err(map_err)?;
                sealed::open_all(self, bodies).await
            }

            /// The case a referral belongs to (the scope its notes are sealed under).
            async fn case_of_referral(&mut self, referral: &ReferralId) -> Result<String, StoreError> {
                sqlx::query_scalar("SELECT case_id FROM referrals WHERE id = $1")
                    .bind(referral.as_str())
                    .fetch_one(&mut *self.tx)
                    .await
                    .map_err(map_err)
            }

            /// The hash the next audit record chains to: the one this transaction appended last, else the
            /// log's head (read once: the writer lock keeps other writers out until commit).
            async fn audit_chain_prev(&mut self) -> Result<String, StoreError> {
                Ok(match &self.audit_prev {
                    Some(h) => h.clone(),
                    None => match self.audit_head().await? {
                        Some(AuditHead { hash: Some(h), .. }) => h,
                        // Empty log, or only records from before the chain began.
                        _ => crate::audit::GENESIS.to_owned(),
                    },
                })
            }
        }
    };
}

/// Implements `Store` for `$store`: its own methods, then the shared ones, which reach the database
/// through `self.read_pool()` and `self.write_pool()` (the same pool on PostgreSQL).
macro_rules! impl_store {
    ($store:ty { $($own:tt)* }) => {
        #[async_trait]
        impl Store for $store {
            $($own)*

            fn condition(&self) -> tokio::sync::watch::Receiver<Condition> {
                self.health.subscribe()
            }

            async fn events_after(&self, audience: &OrgId, cursor: u64, limit: u32) -> Result<Vec<Event>, StoreError> {
                let cursor = i64::try_from(cursor).unwrap_or(i64::MAX);
                let rows =
                    sqlx::query("SELECT cursor, body FROM events WHERE audience_id = $1 AND cursor > $2 ORDER BY cursor LIMIT $3")
                        .bind(audience.as_str())
                        .bind(cursor)
                        .bind(i64::from(limit))
                        .fetch_all(self.read_pool())
                        .await
                        .map_err(map_err)?;
                rows.iter()
                    .map(|r| {
                        let mut e: Event = from_json(r.try_get::<&str, _>("body").map_err(map_err)?)?;
                        e.cursor = u64::try_from(r.try_get::<i64, _>("cursor").map_err(map_err)?).unwrap_or(0);
                        Ok(e)
                    })
                    .collect()
            }

            async fn org_by_id(&self, id: &OrgId) -> Result<Option<Organisation>, StoreError> {
                let row = sqlx::query("SELECT body FROM organisations WHERE id = $1")
                    .bind(id.as_str())
                    .fetch_optional(self.read_pool())
                    .await
                    .map_err(map_err)?;
                row.map(|r| from_json(r.try_get::<&str, _>("body").map_err(map_err)?)).transpose()
            }

            async fn audit_of_case(&self, case: &CaseId) -> Result<Vec<AuditEntry>, StoreError> {
                let rows = sqlx::query(
                    "SELECT occurred_at, actor_id, staff_member, action, case_id, referral_id, legal_basis, detail
                     FROM audit_log WHERE case_id = $1 ORDER BY seq",
                )
                .bind(case.as_str())
                .fetch_all(self.read_pool())
                .await
                .map_err(map_err)?;
                rows.iter()
                    .map(|r| {
                        let id = |col: &str| -> Result<Option<String>, StoreError> { r.try_get(col).map_err(map_err) };
                        Ok(AuditEntry {
                            at: Instant::from_millis(r.try_get("occurred_at").map_err(map_err)?),
                            actor: r.try_get("actor_id").map_err(map_err)?,
                            staff: r.try_get("staff_member").map_err(map_err)?,
                            action: AuditAction::parse(&r.try_get::<String, _>("action").map_err(map_err)?)
                                .ok_or_else(|| StoreError::Other("unknown audit action".into()))?,
                            case_id: id("case_id")?
                                .map(|s| CaseId::parse(&s))
                                .transpose()
                                .map_err(|e| StoreError::Other(e.to_string()))?,
                            referral_id: id("referral_id")?
                                .map(|s| ReferralId::parse(&s))
                                .transpose()
                                .map_err(|e| StoreError::Other(e.to_string()))?,
                            legal_basis: r.try_get("legal_basis").map_err(map_err)?,
                            detail: AuditDetail::read(&r.try_get::<String, _>("detail").map_err(map_err)?),
                        })
                    })
                    .collect()
            }

            async fn release_mail_leases(&self, owner: &str) -> Result<u64, StoreError> {
                let done = sqlx::query("UPDATE outbox SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = $1")
                    .bind(owner)
                    .execute(self.write_pool())
                    .await
                    .map_err(map_err)?;
                Ok(done.rows_affected())
            }

            async fn renew_mail_leases(&self, owner: &str, until: Instant) -> Result<u64, StoreError> {
                let done = sqlx::query("UPDATE outbox SET lease_until = $1 WHERE lease_owner = $2")
                    .bind(until.millis())
                    .bind(owner)
                    .execute(self.write_pool())
                    .await
                    .map_err(map_err)?;
                Ok(done.rows_affected())
            }
        }
    };
}

/// Implements `KeyTable` (the data keys of the encryption at rest) for `$tx`: its own methods (the
/// batch paths PostgreSQL has), then the shared ones.
macro_rules! impl_key_table {
    ($tx:ty { $($own:tt)* }) => {
        #[async_trait]
        impl KeyTable for $tx {
            $($own)*

            fn sealing(&mut self) -> &mut Sealing {
                &mut self.sealing
            }

            async fn load_key(&mut self, scope: &str) -> Result<Option<WrappedKey>, StoreError> {
                let row = sqlx::query("SELECT master_id, wrapped FROM data_keys WHERE scope = $1")
                    .bind(scope)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                row.map(|r| {
                    Ok(WrappedKey {
                        master_id: r.try_get("master_id").map_err(map_err)?,
                        wrapped: r.try_get("wrapped").map_err(map_err)?,
                    })
                })
                .transpose()
            }

            async fn insert_key(&mut self, scope: &str, key: &WrappedKey) -> Result<(), StoreError> {
                sqlx::query("INSERT INTO data_keys (scope, master_id, wrapped, created_at) VALUES ($1, $2, $3, $4)")
                    .bind(scope)
                    .bind(&key.master_id)
                    .bind(&key.wrapped)
                    .bind(sealed::now_millis())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }

            async fn replace_key(&mut self, scope: &str, key: &WrappedKey) -> Result<(), StoreError> {
                let r = sqlx::query("UPDATE data_keys SET master_id = $1, wrapped = $2 WHERE scope = $3")
                    .bind(&key.master_id)
                    .bind(&key.wrapped)
                    .bind(scope)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                expect_one_row(r)
            }

            async fn keys_not_wrapped_by(
                &mut self,
                master_id: &str,
                limit: u32,
            ) -> Result<Vec<(String, WrappedKey)>, StoreError> {
                let rows = sqlx::query(
                    "SELECT scope, master_id, wrapped FROM data_keys WHERE master_id <> $1 ORDER BY scope LIMIT $2",
                )
                .bind(master_id)
                .bind(i64::from(limit))
                .fetch_all(&mut *self.tx)
                .await
                .map_err(map_err)?;
                rows.iter().map(sealed::scoped_key).collect()
            }

            async fn delete_key(&mut self, scope: &str) -> Result<bool, StoreError> {
                let r = sqlx::query("DELETE FROM data_keys WHERE scope = $1")
                    .bind(scope)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                Ok(r.rows_affected() > 0)
            }
        }
    };
}

pub(super) use {impl_key_table, impl_store, impl_tx, impl_tx_helpers};
