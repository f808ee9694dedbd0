//! `GET /v1/employees/{id}`: one record, masked per role.

use super::plaintext::masked_view;
use super::{EmployeeView, RecordRef};
use crate::audit::{Action, Outcome};
use crate::service::access::Read;
use crate::service::{Principal, RequestCtx, ServiceError, Vault};

impl Vault {
    /// Reads one record as the caller's role may see it; a honeytoken reads like any other.
    pub async fn get_employee(
        &self,
        who: &Principal,
        ctx: &RequestCtx,
        id: RecordRef,
    ) -> Result<EmployeeView, ServiceError> {
        let action = Action::EmployeeRead;
        let grant = self.authorize::<Read>(who, ctx, id.id(), None).await?;
        let Some((_, rec)) = self.find(id)? else {
            return Err(self
                .fail(who, ctx, action, id.id(), ServiceError::NotFound)
                .await);
        };
        let grant = self.bind(who, ctx, grant, &rec, action).await?;
        let mut e = self.entry(who, ctx, action, Outcome::Success);
        e.employee_id = Some(rec.id);
        let recorded = self.record(e).await?;
        masked_view(self, &grant, &recorded, &rec)
    }
}
