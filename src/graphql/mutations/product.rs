//! `createProduct`, `updateProduct`: what the team sells. Products are never deleted (past
//! payments point at them); `active: false` retires one.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result};

use super::patch;
use crate::graphql::context::{actor, core};
use crate::graphql::resources::product::{Billing, Product};
use crate::graphql::scalars::Money;
use crate::services::products::{self, NewProduct, ProductChanges};

/// A new product.
#[derive(InputObject)]
pub struct CreateProductInput {
    /// 1 to 200 characters.
    pub name: String,
    /// At most 5,000 characters.
    pub description: Option<String>,
    /// Minor units of `currency` (cents for USD), zero or more.
    pub price_amount: Money,
    /// ISO 4217, e.g. `USD`.
    pub currency: String,
    /// How it is billed.
    pub billing: Billing,
    /// `true` when omitted.
    pub active: Option<bool>,
}

/// Changes to a product. Omitted fields keep their value; `null` clears the description.
#[derive(InputObject)]
pub struct UpdateProductInput {
    /// A new name, 1 to 200 characters.
    pub name: Option<String>,
    /// A new description, at most 5,000 characters; `null` clears it.
    pub description: MaybeUndefined<String>,
    /// A new price in minor units of `currency`, zero or more; past payments keep theirs.
    pub price_amount: Option<Money>,
    /// ISO 4217, e.g. `USD`.
    pub currency: Option<String>,
    /// How it is billed.
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
        #[graphql(desc = "The product to create.")] input: CreateProductInput,
    ) -> Result<Product> {
        let input = NewProduct {
            name: input.name,
            description: input.description,
            price_amount: input.price_amount.0,
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
        #[graphql(desc = "The product's id (`prod_…`).")] id: ID,
        #[graphql(desc = "What to change; omitted fields keep their value.")]
        input: UpdateProductInput,
    ) -> Result<Product> {
        let changes = ProductChanges {
            name: input.name,
            description: patch(input.description),
            price_amount: input.price_amount.map(|m| m.0),
            currency: input.currency,
            billing: input.billing.map(|b| b.get()),
            active: input.active,
        };
        Ok(Product(
            products::update(&core(ctx).db, actor(ctx)?, id.as_str(), changes).await?,
        ))
    }
}
