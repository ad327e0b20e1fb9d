//! What the server keeps for a manager to resolve (sync conflicts, stock discrepancies) is
//! listed the same way: open, resolved or all, one page at a time, oldest first.

use pos_protocol::page::{PageQuery, Paged, Pagination};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiError, ApiResult};
use crate::store::{Column, StoreResult, TxExec, Value};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `open` (default), `resolved` or `all`.
    pub status: Option<String>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

/// How one kind of kept record is stored and read.
pub(crate) struct Queue<T> {
    pub table: &'static str,
    /// The SELECT list; `decode` reads its values in this order as `columns`.
    pub select: &'static str,
    pub columns: &'static [Column],
    /// The conditions that make a row open, or resolved.
    pub open: &'static str,
    pub resolved: &'static str,
    pub decode: fn(Vec<Value>) -> StoreResult<T>,
    /// The message of a listed page.
    pub message: &'static str,
}

impl<T> Queue<T> {
    /// One page of the business's records in the status `query` asks for.
    pub(crate) async fn list(
        &self,
        exec: &mut dyn TxExec,
        business_id: i64,
        query: &ListQuery,
    ) -> ApiResult<Paged<T>> {
        let filter = match query.status.as_deref().unwrap_or("open") {
            "open" => format!(" AND {}", self.open),
            "resolved" => format!(" AND {}", self.resolved),
            "all" => String::new(),
            _ => {
                return Err(ApiError::invalid_field(
                    "status",
                    "must be open, resolved or all",
                ))
            }
        };
        let page = PageQuery {
            page: query.page,
            per_page: query.per_page,
        };
        let business = Value::Int(Some(business_id));
        let total = crate::trade::count(
            exec,
            &format!(
                "SELECT COUNT(*) FROM {} WHERE business_id = $1{filter}",
                self.table
            ),
            std::slice::from_ref(&business),
        )
        .await?;
        let total = u64::try_from(total).unwrap_or(0);
        let rows = exec
            .fetch_all(
                &format!(
                    "SELECT {} FROM {} WHERE business_id = $1{filter} ORDER BY id LIMIT $2 OFFSET $3",
                    self.select, self.table
                ),
                &[
                    business,
                    Value::Int(Some(i64::from(page.per_page()))),
                    Value::Int(Some(i64::try_from(page.offset()).unwrap_or(i64::MAX))),
                ],
                self.columns,
            )
            .await?;
        let data = rows
            .into_iter()
            .map(self.decode)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Paged {
            message: self.message.into(),
            data,
            pagination: Pagination::new(&page, total),
        })
    }

    /// The business's record `id`, locked for its resolution.
    pub(crate) async fn fetch_for_update(
        &self,
        exec: &mut dyn TxExec,
        business_id: i64,
        id: i64,
    ) -> StoreResult<Option<T>> {
        exec.fetch_all(
            &format!(
                "SELECT {} FROM {} WHERE business_id = $1 AND id = $2 FOR UPDATE",
                self.select, self.table
            ),
            &[Value::Int(Some(business_id)), Value::Int(Some(id))],
            self.columns,
        )
        .await?
        .into_iter()
        .next()
        .map(self.decode)
        .transpose()
    }
}
