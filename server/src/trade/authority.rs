//! Who may do what with money, as the server enforces it on every path.
//!
//! A return, a pay-out, opening the drawer without a sale and a discount above the business's
//! `max_cashier_discount_percent` need a manager: either the person working the till is a
//! manager or owner, or the operation names one in `authorised_by`. Every user id a client
//! sends (`cashier_id`, `authorised_by`) must be an active member of the caller's business.
//!
//! What happens when a rule is broken depends on whether anything has happened yet:
//! - online (the back office) nothing has: the request is refused with the field named;
//! - synced, the till already completed it (the customer has the goods or the cash), so the
//!   operation is kept and a review entry (`sync_conflicts`, reason `AUTHORISATION: …`,
//!   `IMPLAUSIBLE: …` or `UNDERPRICED: …`) is filed for a manager in the same transaction. A foreign or unknown user id
//!   is never stored: the caller stands in for it, the operation as sent stays in the entry.

use std::collections::HashMap;

use pos_protocol::auth::Role;
use pos_protocol::sync::{BatchErrorCode, Operation};

use crate::store::tx::SyncTx;
use crate::store::{Column, StoreError, Value};
use crate::sync::batch::{Context, OpFailure, OpResult};

/// The kind of a review entry: what a manager is asked to look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Concern {
    /// Money moved without the authority it needs, or by a user who is not of the business.
    Authorisation,
    /// A fact that cannot be right (a sale dated days ahead of the server).
    Implausible,
    /// A line sold under the catalog's price: worth a look, breaks no rule, never refused.
    Underpriced,
}

impl Concern {
    fn label(self) -> &'static str {
        match self {
            Concern::Authorisation => "AUTHORISATION",
            Concern::Implausible => "IMPLAUSIBLE",
            Concern::Underpriced => "UNDERPRICED",
        }
    }
}

/// Roles of the business's staff, read once per user per transaction. `None`: not an active
/// user of this business (another business's, deactivated, deleted or no one).
#[derive(Default)]
pub(crate) struct Staff(HashMap<i64, Option<Role>>);

impl Staff {
    pub(crate) async fn role(
        &mut self,
        tx: &mut SyncTx,
        business_id: i64,
        user_id: i64,
    ) -> Result<Option<Role>, StoreError> {
        if let Some(role) = self.0.get(&user_id) {
            return Ok(*role);
        }
        let rows = tx
            .exec()
            .fetch_all(
                "SELECT role, is_active FROM users \
                 WHERE business_id = $1 AND id = $2 AND deleted_at IS NULL",
                &[Value::Int(Some(business_id)), Value::Int(Some(user_id))],
                &[Column::Text, Column::Bool],
            )
            .await?;
        let role = match rows.first().map(Vec::as_slice) {
            Some([Value::Text(Some(role)), Value::Bool(Some(true))]) => Role::parse(role),
            _ => None,
        };
        self.0.insert(user_id, role);
        Ok(role)
    }
}

/// What one operation leaves for a manager, gathered while it is checked and filed once it
/// has applied (an operation that fails files nothing).
#[derive(Default)]
pub(crate) struct Concerns(Vec<String>);

impl Concerns {
    /// Notes a concern. Online (nothing has happened yet) any but an underpriced line refuses
    /// the request, naming `field`; synced it is kept for review.
    pub(crate) fn raise(
        &mut self,
        ctx: &Context<'_>,
        concern: Concern,
        field: &str,
        problem: impl Into<String>,
    ) -> OpResult<()> {
        let problem = problem.into();
        if ctx.online && concern != Concern::Underpriced {
            return Err(OpFailure::error(
                BatchErrorCode::ValidationFailed,
                format!("{field}: {problem}"),
            ));
        }
        self.0
            .push(format!("{}: {field}: {problem}", concern.label()));
        Ok(())
    }

    /// One review entry per concern, for the record `entity` `id` the operation made.
    pub(crate) async fn file(
        self,
        ctx: &Context<'_>,
        tx: &mut SyncTx,
        op: &Operation,
        entity: &str,
        id: i64,
    ) -> Result<(), StoreError> {
        for reason in self.0 {
            tx.insert_conflict(
                ctx.user.business_id,
                &ctx.device_id,
                entity,
                id,
                &op.idempotency_key,
                &reason,
                op.data.to_string(),
                ctx.now,
            )
            .await?;
        }
        Ok(())
    }
}

/// The user an operation was made by: `claimed` when it is an active member of the business,
/// else the caller (and a concern names the stranger).
pub(crate) async fn acting_user(
    ctx: &Context<'_>,
    tx: &mut SyncTx,
    staff: &mut Staff,
    concerns: &mut Concerns,
    (field, claimed): (&str, Option<i64>),
) -> OpResult<(i64, Role)> {
    if let Some(id) = claimed.filter(|id| *id != ctx.user.user_id) {
        if let Some(role) = staff.role(tx, ctx.user.business_id, id).await? {
            return Ok((id, role));
        }
        concerns.raise(
            ctx,
            Concern::Authorisation,
            field,
            format!("user {id} is not an active member of this business"),
        )?;
    }
    Ok((ctx.user.user_id, ctx.user.role))
}

/// Checks `authorised_by`, which must be an active manager or owner of the business, and,
/// when the operation needs a manager (`needed`: what it is, e.g. "a return"), that the
/// person at the till is one or a valid `authorised_by` was given. Answers the
/// `authorised_by` to store: only a valid one.
pub(crate) async fn manager_authority(
    ctx: &Context<'_>,
    tx: &mut SyncTx,
    staff: &mut Staff,
    concerns: &mut Concerns,
    acting_role: Role,
    authorised_by: Option<i64>,
    needed: Option<&str>,
) -> OpResult<Option<i64>> {
    let authoriser = match authorised_by {
        Some(id) => match staff.role(tx, ctx.user.business_id, id).await? {
            Some(role) if role.at_least(Role::Manager) => Some(id),
            _ => {
                concerns.raise(
                    ctx,
                    Concern::Authorisation,
                    "authorised_by",
                    format!("user {id} is not an active manager or owner of this business"),
                )?;
                return Ok(None);
            }
        },
        None => None,
    };
    if let (Some(what), None, false) = (needed, authoriser, acting_role.at_least(Role::Manager)) {
        concerns.raise(
            ctx,
            Concern::Authorisation,
            "authorised_by",
            format!("{what} needs a manager's authorisation and none was given"),
        )?;
    }
    Ok(authoriser)
}
