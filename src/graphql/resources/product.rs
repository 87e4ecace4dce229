//! `Product`: an item of the catalog, its payments as a connection, and its filter.

use async_graphql::{Context, ID, InputObject, Object, Result};
use entities::{payment, product};
use sea_orm::{ColumnTrait, QueryFilter, Select};

use super::payment::Payment;
use super::{TimeRange, public_id};
use crate::db::page::Cursor;
use crate::domain::Scope;
use crate::graphql::enums::Gql;
use crate::graphql::pagination::PageConnection;
use crate::graphql::scalars::{DateTime, Money};
use crate::ids::IdKind;

pub type Billing = Gql<product::Billing>;

/// Something the team sells.
pub struct Product(pub product::Model);

/// Something the team sells.
#[Object(serial)]
impl Product {
    /// `prod_…`
    pub async fn id(&self) -> ID {
        public_id(IdKind::Product, self.0.id)
    }
    /// The product's name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// What the product is.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// Price in minor units of `currency` (cents for USD).
    async fn price_amount(&self) -> Money {
        Money(self.0.price_amount)
    }
    /// ISO 4217 code, e.g. `USD`.
    async fn currency(&self) -> &str {
        &self.0.currency
    }
    /// How the product is billed.
    async fn billing(&self) -> Billing {
        Gql(self.0.billing)
    }
    /// Whether it is still sold.
    async fn active(&self) -> bool {
        self.0.active
    }
    /// Payments for this product, newest first. Needs `payments:read`.
    #[graphql(complexity = "crate::graphql::limits::list_cost(first, child_complexity)")]
    async fn payments(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 25, desc = "Page size, 1 to 100.")] first: i32,
        #[graphql(desc = "`endCursor` of the previous page.")] after: Option<String>,
    ) -> Result<PageConnection<Payment>> {
        super::children(
            ctx,
            Scope::PaymentsRead,
            |l| &l.payments_by_product,
            self.0.id,
            first,
            after,
            Cursor::of::<payment::Entity>,
            Payment::from,
        )
        .await
    }
    /// When the product was added.
    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }
    /// When the product last changed.
    async fn updated_at(&self) -> DateTime {
        self.0.updated_at.into()
    }
}

/// Narrows `products`: every field given must match.
#[derive(InputObject, Default)]
pub struct ProductFilter {
    #[graphql(flatten)]
    pub time: TimeRange,
    /// Only products still sold (`true`) or no longer sold (`false`).
    pub active: Option<bool>,
    /// Only products billed this way.
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
