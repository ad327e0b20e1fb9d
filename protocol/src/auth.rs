//! Sign-in, sign-out and token refresh.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::entities::Currency;
use crate::time::rfc3339;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Cashier,
    Manager,
    Owner,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Cashier => "cashier",
            Role::Manager => "manager",
            Role::Owner => "owner",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "cashier" => Some(Role::Cashier),
            "manager" => Some(Role::Manager),
            "owner" => Some(Role::Owner),
            _ => None,
        }
    }

    /// Roles are ordered: an owner may do what a manager may, a manager what a cashier may.
    pub fn at_least(self, needed: Role) -> bool {
        self >= needed
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct SignInRequest {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UserSummary {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub business_id: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SignInData {
    pub token: String,
    /// The business has finished its setup.
    pub is_setup: bool,
    pub currency: Currency,
    pub user: UserSummary,
    #[serde(with = "rfc3339")]
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SignInResponse {
    pub message: String,
    pub data: SignInData,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RefreshData {
    pub token: String,
    #[serde(with = "rfc3339")]
    pub expires_at: DateTime<Utc>,
}

/// The original client reads `token` at the top level; newer ones read `data`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RefreshResponse {
    pub message: String,
    pub token: String,
    pub data: RefreshData,
}
