//! Reading, verifying and checkpointing the audit log (auditor and security).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Serialize;

use super::{Principal, RequestCtx, ServiceError, Vault};
use crate::audit::{AuditQuery, QueryPage, Verdict, checkpoint_message, verify_data_dir};
use crate::clock::rfc3339;

/// `GET /v1/audit/verify` body.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum VerifyReport {
    /// `{"ok":true,"entries":N,"head":{"seq","hash"}}`.
    Intact {
        /// `true`.
        ok: bool,
        entries: u64,
        head: crate::audit::HeadView,
    },
    /// `{"ok":false,"first_bad_seq":K,"reason"}`.
    Broken {
        /// `false`.
        ok: bool,
        first_bad_seq: u64,
        reason: String,
    },
}

/// `GET /v1/audit/head`: a signed checkpoint an auditor can keep outside the vault.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditCheckpoint {
    pub seq: u64,
    /// Hex SHA-256 of entry `seq` (lower case).
    pub hash: String,
    #[schema(format = DateTime)]
    pub ts: String,
    /// base64 Ed25519 signature over `checkpoint_message(seq, hash, ts)`.
    pub signature: String,
    /// base64 of the raw 32-byte Ed25519 public key.
    pub public_key: String,
}

impl Vault {
    /// `GET /v1/audit`: a page of entries up to the committed head. Reading the log is not itself
    /// audited (it would move the head on every look); denials are.
    pub async fn query_audit(
        &self,
        who: &Principal,
        ctx: &RequestCtx,
        q: Result<AuditQuery, ServiceError>,
    ) -> Result<QueryPage, ServiceError> {
        let _grant = self
            .authorize::<crate::service::access::ReadAudit>(who, ctx, None, None)
            .await?;
        let q = q?;
        let reader = self.inner.reader.clone();
        let head = self.inner.audit.head().seq;
        tokio::task::spawn_blocking(move || reader.query(&q, head))
            .await
            .map_err(|_| ServiceError::Internal)?
            .map_err(|e| {
                tracing::error!(error = %e, "audit read failed");
                ServiceError::Internal
            })
    }

    /// `GET /v1/audit/verify`: the whole chain up to the committed head.
    pub async fn verify_audit(
        &self,
        who: &Principal,
        ctx: &RequestCtx,
    ) -> Result<VerifyReport, ServiceError> {
        let _grant = self
            .authorize::<crate::service::access::ReadAudit>(who, ctx, None, None)
            .await?;
        let dir = self.inner.data_dir.join("audit");
        let head = self.inner.audit.head().seq;
        let verdict = tokio::task::spawn_blocking(move || verify_data_dir(&dir, Some(head)))
            .await
            .map_err(|_| ServiceError::Internal)?
            .map_err(|e| {
                tracing::error!(error = %e, "audit verify could not read the log");
                ServiceError::Internal
            })?;
        Ok(match verdict {
            Verdict::Intact { entries, head } => VerifyReport::Intact {
                ok: true,
                entries,
                head,
            },
            Verdict::Broken {
                first_bad_seq,
                reason,
            } => VerifyReport::Broken {
                ok: false,
                first_bad_seq,
                reason,
            },
        })
    }

    /// `GET /v1/audit/head`.
    pub async fn audit_checkpoint(
        &self,
        who: &Principal,
        ctx: &RequestCtx,
    ) -> Result<AuditCheckpoint, ServiceError> {
        let _grant = self
            .authorize::<crate::service::access::ReadAudit>(who, ctx, None, None)
            .await?;
        let head = self.inner.audit.head();
        let ts = rfc3339(self.now());
        let key = self.inner.keys.checkpoint_key();
        let signature = key.sign(&checkpoint_message(head.seq, &head.hash, &ts));
        Ok(AuditCheckpoint {
            seq: head.seq,
            hash: head.hash,
            ts,
            signature: B64.encode(signature),
            public_key: B64.encode(key.public_key()),
        })
    }
}
