//! `Payment`: money received, with its commissions, relations and filter.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use entities::{payment, product};
use sea_orm::{ColumnTrait, Condition, QueryFilter, Select};

use super::lead::Lead;
use super::product::Product;
use super::team_member::TeamMember;
use super::{TimeRange, optional_public_id, parse_id, public_id};
use crate::domain::Scope;
use crate::domain::commission;
use crate::graphql::context::authorize;
use crate::graphql::enums::Gql;
use crate::graphql::scalars::{DateTime, Decimal, Money};
use crate::ids::IdKind;
use crate::views::enums::Participation;

pub type PaymentStatus = Gql<payment::PaymentStatus>;

/// Money received from a lead.
pub struct Payment {
    pub row: payment::Model,
    /// The product, when it was loaded with the payment (`lead.payments { product }`);
    /// `Some(None)` when the payment has none.
    product: Option<Option<product::Model>>,
}

impl From<payment::Model> for Payment {
    fn from(row: payment::Model) -> Self {
        Payment { row, product: None }
    }
}

impl From<(payment::Model, Option<product::Model>)> for Payment {
    fn from((row, product): (payment::Model, Option<product::Model>)) -> Self {
        Payment {
            row,
            product: Some(product),
        }
    }
}

/// What a payment earns one team member.
#[derive(SimpleObject)]
pub struct Commission {
    /// The member who earns it (`tm_…`).
    pub team_member_id: ID,
    /// Whether the member closed or set the sale.
    pub role: Gql<Participation>,
    /// The member's rate when the payment was paid, e.g. `"0.1"`.
    pub rate: Decimal,
    /// `amount × rate` in whole minor units of `currency`, rounded half to even (banker's
    /// rounding); 0 unless the payment succeeded.
    pub amount: Money,
    /// The same amount exactly, in minor units (e.g. `"12462.5"` cents).
    pub amount_decimal: Decimal,
    /// ISO 4217 code of the payment.
    pub currency: String,
}

/// Money received from a lead.
#[Object(serial)]
impl Payment {
    /// `pay_…`
    pub async fn id(&self) -> ID {
        public_id(IdKind::Payment, self.row.id)
    }
    /// The lead who paid (`lead_…`).
    async fn lead_id(&self) -> ID {
        public_id(IdKind::Lead, self.row.lead_id)
    }
    /// The lead who paid. Needs `leads:read`.
    async fn lead(&self, ctx: &Context<'_>) -> Result<Option<Lead>> {
        let request = authorize(ctx, Scope::LeadsRead)?;
        Ok(request
            .loaders
            .lead
            .load_one(self.row.lead_id)
            .await?
            .map(Lead))
    }
    /// The product paid for (`prod_…`).
    async fn product_id(&self) -> Option<ID> {
        optional_public_id(IdKind::Product, self.row.product_id)
    }
    /// The product paid for. Needs `products:read`.
    async fn product(&self, ctx: &Context<'_>) -> Result<Option<Product>> {
        let request = authorize(ctx, Scope::ProductsRead)?;
        if let Some(product) = &self.product {
            return Ok(product.clone().map(Product));
        }
        let Some(id) = self.row.product_id else {
            return Ok(None);
        };
        Ok(request.loaders.product.load_one(id).await?.map(Product))
    }
    /// Who closed the sale (`tm_…`).
    async fn closer_id(&self) -> Option<ID> {
        optional_public_id(IdKind::TeamMember, self.row.closer_id)
    }
    /// Who closed the sale. Needs `team:read`.
    async fn closer(&self, ctx: &Context<'_>) -> Result<Option<TeamMember>> {
        super::member(ctx, self.row.closer_id).await
    }
    /// Who set the sale up (`tm_…`).
    async fn setter_id(&self) -> Option<ID> {
        optional_public_id(IdKind::TeamMember, self.row.setter_id)
    }
    /// Who set the sale up. Needs `team:read`.
    async fn setter(&self, ctx: &Context<'_>) -> Result<Option<TeamMember>> {
        super::member(ctx, self.row.setter_id).await
    }
    /// Minor units of `currency` (cents for USD).
    async fn amount(&self) -> Money {
        Money(self.row.amount)
    }
    /// ISO 4217 code, e.g. `USD`.
    async fn currency(&self) -> &str {
        &self.row.currency
    }
    /// Where the payment stands.
    async fn status(&self) -> PaymentStatus {
        Gql(self.row.status)
    }
    /// Who processed the payment (`stripe`, `paypal`, `wire`, …).
    async fn processor(&self) -> &str {
        &self.row.processor
    }
    /// The processor's own id for the payment.
    async fn external_id(&self) -> Option<&str> {
        self.row.external_id.as_deref()
    }
    /// When the money arrived; null unless it succeeded.
    async fn paid_at(&self) -> Option<DateTime> {
        self.row.paid_at.map(DateTime)
    }
    /// What this payment earns its closer and setter, from the rates in force when it was
    /// paid. Amounts are exact decimals in minor units, zero unless the payment succeeded.
    async fn commissions(&self) -> Vec<Commission> {
        commission::of_payment(&self.row)
            .into_iter()
            .map(|c| Commission {
                team_member_id: public_id(IdKind::TeamMember, c.team_member_id),
                role: Gql(match c.side {
                    commission::Side::Closer => Participation::Closer,
                    commission::Side::Setter => Participation::Setter,
                }),
                rate: Decimal(c.rate.to_decimal()),
                amount: Money(c.whole_amount()),
                amount_decimal: Decimal(c.amount),
                currency: c.currency,
            })
            .collect()
    }
    /// When the payment was recorded.
    async fn created_at(&self) -> DateTime {
        self.row.created_at.into()
    }
    /// When the payment last changed.
    async fn updated_at(&self) -> DateTime {
        self.row.updated_at.into()
    }
}

/// Narrows `payments`: every field given must match.
#[derive(InputObject, Default)]
pub struct PaymentFilter {
    #[graphql(flatten)]
    pub time: TimeRange,
    /// Only payments with this status.
    pub status: Option<PaymentStatus>,
    /// Only payments by this lead (`lead_…`).
    pub lead_id: Option<ID>,
    /// Only payments for this product (`prod_…`).
    pub product_id: Option<ID>,
    /// Only payments this team member closed or set (`tm_…`).
    pub team_member_id: Option<ID>,
}

impl PaymentFilter {
    pub fn apply(
        self,
        mut select: Select<payment::Entity>,
    ) -> crate::error::AppResult<Select<payment::Entity>> {
        select = self.time.apply(select);
        if let Some(status) = self.status {
            select = select.filter(payment::Column::Status.eq(status.get()));
        }
        if let Some(id) = &self.lead_id {
            select =
                select.filter(payment::Column::LeadId.eq(parse_id(IdKind::Lead, "leadId", id)?));
        }
        if let Some(id) = &self.product_id {
            let id = parse_id(IdKind::Product, "productId", id)?;
            select = select.filter(payment::Column::ProductId.eq(id));
        }
        if let Some(id) = &self.team_member_id {
            let id = parse_id(IdKind::TeamMember, "teamMemberId", id)?;
            select = select.filter(
                Condition::any()
                    .add(payment::Column::CloserId.eq(id))
                    .add(payment::Column::SetterId.eq(id)),
            );
        }
        Ok(select)
    }
}
