//! What the team sells. Products are never deleted (past payments point at them);
//! `active: false` retires one.

use entities::product::{self, Billing};
use sea_orm::{ActiveModelTrait, ActiveValue::Set};

use super::Patch;
use crate::db::Database;
use crate::db::lookup::target;
use crate::domain::text::{optional_text, required_text};
use crate::domain::{Action, Actor, Currency};
use crate::error::{AppError, AppResult};
use crate::events::{self, EventType};
use crate::views;

pub struct NewProduct {
    pub name: String,
    pub description: Option<String>,
    /// Minor units of `currency`, zero or more.
    pub price_amount: i64,
    pub currency: String,
    pub billing: Billing,
    /// `true` when omitted.
    pub active: Option<bool>,
}

#[derive(Default)]
pub struct ProductChanges {
    pub name: Option<String>,
    pub description: Patch<String>,
    pub price_amount: Option<i64>,
    pub currency: Option<String>,
    pub billing: Option<Billing>,
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

/// Adds a product to the catalog. Records `product.created`.
#[tracing::instrument(name = "service.products.create", skip_all)]
pub async fn create(db: &Database, actor: &Actor, input: NewProduct) -> AppResult<product::Model> {
    actor.require_action(Action::ManageProducts)?;
    let org = actor.organization_id;
    let name = required_text("name", &input.name, 200)?;
    let description = description(input.description.as_deref())?;
    let price_amount = price(input.price_amount)?;
    let currency = Currency::parse_field("currency", &input.currency)?;

    let txn = db.begin_write().await?;
    let at = crate::time::now();
    let created = product::ActiveModel {
        id: Set(crate::ids::new_uuid()),
        organization_id: Set(org),
        name: Set(name),
        description: Set(description),
        price_amount: Set(price_amount),
        currency: Set(currency.into_string()),
        billing: Set(input.billing),
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
        &views::Product::from(&created),
    )
    .await?;
    db.commit(txn).await?;
    Ok(created)
}

/// Changes a product or retires it. Records `product.updated` when something changed.
#[tracing::instrument(name = "service.products.update", skip_all)]
pub async fn update(
    db: &Database,
    actor: &Actor,
    id: &str,
    input: ProductChanges,
) -> AppResult<product::Model> {
    actor.require_action(Action::ManageProducts)?;
    let org = actor.organization_id;
    let name = input
        .name
        .map(|n| required_text("name", &n, 200))
        .transpose()?;
    let description = input.description.parse(|d| description(Some(&d)))?;
    let price_amount = input.price_amount.map(price).transpose()?;
    let currency = input
        .currency
        .map(|c| Currency::parse_field("currency", &c))
        .transpose()?;

    let txn = db.begin_write().await?;
    let current = target::<product::Entity, _>(&txn, org, id).await?;
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
        active.currency.set_ne(currency.into_string());
    }
    if let Some(billing) = input.billing {
        active.billing.set_ne(billing);
    }
    if let Some(is_active) = input.active {
        active.active.set_ne(is_active);
    }
    if !active.is_changed() {
        return Ok(current);
    }
    active.updated_at = Set(crate::time::now());
    let updated = active.update(&txn).await?;
    events::record(
        &txn,
        org,
        EventType::ProductUpdated,
        &views::Product::from(&updated),
    )
    .await?;
    db.commit(txn).await?;
    Ok(updated)
}
