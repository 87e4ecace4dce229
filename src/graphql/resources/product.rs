use async_graphql::{Context, ID, InputObject, Object, Result};
use entities::product;
use sea_orm::{ColumnTrait, QueryFilter, Select};

use super::payment::Payment;
use super::{TimeRange, public_id};
use crate::domain::Scope;
use crate::graphql::enums::Gql;
use crate::graphql::scalars::DateTime;
use crate::ids::IdKind;

pub type Billing = Gql<product::Billing>;

/// Something the team sells.
pub struct Product(pub product::Model);

#[Object(serial)]
impl Product {
    pub async fn id(&self) -> ID {
        public_id(IdKind::Product, self.0.id)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// Price in minor units of `currency` (cents for USD).
    async fn price_amount(&self) -> i64 {
        self.0.price_amount
    }
    /// ISO 4217 code, e.g. `USD`.
    async fn currency(&self) -> &str {
        &self.0.currency
    }
    async fn billing(&self) -> Billing {
        Gql(self.0.billing)
    }
    async fn active(&self) -> bool {
        self.0.active
    }
    /// Newest payments for this product. Needs `payments:read`.
    #[graphql(complexity = "crate::graphql::limits::list_cost(first, child_complexity)")]
    async fn payments(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 25)] first: i32,
    ) -> Result<Vec<Payment>> {
        super::children(
            ctx,
            Scope::PaymentsRead,
            |l| &l.payments_by_product,
            self.0.id,
            first,
            Payment::from,
        )
        .await
    }
    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }
    async fn updated_at(&self) -> DateTime {
        self.0.updated_at.into()
    }
}

#[derive(InputObject, Default)]
pub struct ProductFilter {
    #[graphql(flatten)]
    pub time: TimeRange,
    pub active: Option<bool>,
    pub billing: Option<Billing>,
}

impl ProductFilter {
    pub fn apply(
        self,
        mut select: Select<product::Entity>,
    ) -> crate::error::AppResult<Select<product::Entity>> {
        select = self.time.apply(select);
        if let Some(active) = self.active {
            select = select.filter(product::Column::Active.eq(active));
        }
        if let Some(billing) = self.billing {
            select = select.filter(product::Column::Billing.eq(billing.get()));
        }
        Ok(select)
    }
}
