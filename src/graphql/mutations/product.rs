//! `createProduct`, `updateProduct`: what the team sells. Products are never deleted (past
//! payments point at them); `active: false` retires one.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result};
use entities::product;
use sea_orm::{ActiveModelTrait, ActiveValue::Set};

use super::{clearable, currency, optional_text, required_text, target, writer};
use crate::auth::Action;
use crate::error::{AppError, AppResult};
use crate::events::{self, EventType};
use crate::graphql::resources::product::{Billing, Product};
use crate::rest::representation::Resource;

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

fn price(value: i64) -> AppResult<i64> {
    if value < 0 {
        return Err(AppError::validation(
            "priceAmount",
            "must be zero or more (minor units)",
        ));
    }
    Ok(value)
}

fn description(value: Option<&str>) -> AppResult<Option<String>> {
    optional_text("description", value, 5_000)
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
        Ok(create_product(ctx, input).await?)
    }

    /// Changes a product, or retires it (`active: false`). Records `product.updated` when
    /// something changed. Organization admins (Clerk) only.
    async fn update_product(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateProductInput,
    ) -> Result<Product> {
        Ok(update_product(ctx, id, input).await?)
    }
}

async fn create_product(ctx: &Context<'_>, input: CreateProductInput) -> AppResult<Product> {
    let (state, org) = writer(ctx, Action::ManageProducts)?;
    let name = required_text("name", &input.name, 200)?;
    let description = description(input.description.as_deref())?;
    let price_amount = price(input.price_amount)?;
    let currency = currency("currency", &input.currency)?;

    let txn = crate::db::begin_write(&state.db).await?;
    let at = crate::time::now();
    let created = product::ActiveModel {
        id: Set(crate::ids::new_uuid()),
        organization_id: Set(org),
        name: Set(name),
        description: Set(description),
        price_amount: Set(price_amount),
        currency: Set(currency),
        billing: Set(input.billing.into()),
        active: Set(input.active.unwrap_or(true)),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(&txn)
    .await?;
    events::record(
        &txn,
        org,
        EventType::ProductCreated,
        Resource::Product(created.clone()),
    )
    .await?;
    txn.commit().await?;
    Ok(Product(created))
}

async fn update_product(
    ctx: &Context<'_>,
    id: ID,
    input: UpdateProductInput,
) -> AppResult<Product> {
    let (state, org) = writer(ctx, Action::ManageProducts)?;
    let name = input
        .name
        .map(|n| required_text("name", &n, 200))
        .transpose()?;
    let description = clearable(input.description, |d| description(Some(&d)))?;
    let price_amount = input.price_amount.map(price).transpose()?;
    let currency = input
        .currency
        .map(|c| currency("currency", &c))
        .transpose()?;

    let txn = crate::db::begin_write(&state.db).await?;
    let current = target::<product::Entity, _>(&txn, org, &id).await?;
    let mut active: product::ActiveModel = current.clone().into();
    if let Some(name) = name {
        active.name.set_ne(name);
    }
    if let Some(description) = description {
        active.description.set_ne(description);
    }
    if let Some(price_amount) = price_amount {
        active.price_amount.set_ne(price_amount);
    }
    if let Some(currency) = currency {
        active.currency.set_ne(currency);
    }
    if let Some(billing) = input.billing {
        active.billing.set_ne(billing.into());
    }
    if let Some(is_active) = input.active {
        active.active.set_ne(is_active);
    }
    if !active.is_changed() {
        return Ok(Product(current));
    }
    active.updated_at = Set(crate::time::now());
    let updated = active.update(&txn).await?;
    events::record(
        &txn,
        org,
        EventType::ProductUpdated,
        Resource::Product(updated.clone()),
    )
    .await?;
    txn.commit().await?;
    Ok(Product(updated))
}
