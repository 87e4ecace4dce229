//! `createProduct`, `updateProduct`: what the team sells. Products are never deleted (past
//! payments point at them); `active: false` retires one.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result};

use super::patch;
use crate::graphql::context::{actor, core};
use crate::graphql::resources::product::{Billing, Product};
use crate::services::products::{self, NewProduct, ProductChanges};

#[derive(InputObject)]
pub struct CreateProductInput {
    /// 1 to 200 characters.
    pub name: String,
    /// At most 5,000 characters.
    pub description: Option<String>,
    /// Minor units of `currency` (cents for USD), zero or more.
    pub price_amount: i64,
    /// ISO 4217, e.g. `USD`.
    pub currency: String,
    pub billing: Billing,
    /// `true` when omitted.
    pub active: Option<bool>,
}

/// Omitted fields keep their value; `null` clears the description.
#[derive(InputObject)]
pub struct UpdateProductInput {
    pub name: Option<String>,
    pub description: MaybeUndefined<String>,
    pub price_amount: Option<i64>,
    pub currency: Option<String>,
    pub billing: Option<Billing>,
    /// `false` retires the product; its payments keep pointing at it.
    pub active: Option<bool>,
}

#[derive(Default)]
pub struct ProductMutation;

#[Object]
impl ProductMutation {
    /// Creates a product. Records `product.created`. Organization admins (Clerk) only.
    async fn create_product(
        &self,
        ctx: &Context<'_>,
        input: CreateProductInput,
    ) -> Result<Product> {
        let input = NewProduct {
            name: input.name,
            description: input.description,
            price_amount: input.price_amount,
            currency: input.currency,
            billing: input.billing.get(),
            active: input.active,
        };
        Ok(Product(
            products::create(&core(ctx).db, actor(ctx)?, input).await?,
        ))
    }

    /// Changes a product, or retires it (`active: false`). Records `product.updated` when
    /// something changed. Organization admins (Clerk) only.
    async fn update_product(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateProductInput,
    ) -> Result<Product> {
        let changes = ProductChanges {
            name: input.name,
            description: patch(input.description),
            price_amount: input.price_amount,
            currency: input.currency,
            billing: input.billing.map(|b| b.get()),
            active: input.active,
        };
        Ok(Product(
            products::update(&core(ctx).db, actor(ctx)?, id.as_str(), changes).await?,
        ))
    }
}
