//! Pagination: `?page=&per_page=` in, `"pagination": {...}` out.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub const DEFAULT_PER_PAGE: u32 = 20;
pub const MAX_PER_PAGE: u32 = 1000;

#[derive(Debug, Clone, Copy, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// 1-based page number (default 1).
    pub page: Option<u32>,
    /// Rows per page (default 20, at most 1000).
    pub per_page: Option<u32>,
}

impl PageQuery {
    pub fn page(&self) -> u32 {
        self.page.unwrap_or(1).max(1)
    }

    pub fn per_page(&self) -> u32 {
        self.per_page
            .unwrap_or(DEFAULT_PER_PAGE)
            .clamp(1, MAX_PER_PAGE)
    }

    pub fn offset(&self) -> u64 {
        u64::from(self.page() - 1) * u64::from(self.per_page())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Pagination {
    pub current_page: u32,
    pub per_page: u32,
    pub total: u64,
    pub last_page: u32,
}

impl Pagination {
    pub fn new(query: &PageQuery, total: u64) -> Self {
        let per_page = query.per_page();
        let last_page = total.div_ceil(u64::from(per_page)).max(1);
        Self {
            current_page: query.page(),
            per_page,
            total,
            last_page: u32::try_from(last_page).unwrap_or(u32::MAX),
        }
    }
}

/// A page of a list endpoint: `{"message", "data": [...], "pagination": {...}}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Paged<T> {
    pub message: String,
    pub data: Vec<T>,
    pub pagination: Pagination,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_page_rounds_up_and_is_at_least_one() {
        let q = PageQuery {
            page: Some(2),
            per_page: Some(10),
        };
        assert_eq!(Pagination::new(&q, 21).last_page, 3);
        assert_eq!(Pagination::new(&q, 0).last_page, 1);
        assert_eq!(q.offset(), 10);
        let huge = PageQuery {
            page: None,
            per_page: Some(50_000),
        };
        assert_eq!(huge.per_page(), MAX_PER_PAGE);
    }
}
