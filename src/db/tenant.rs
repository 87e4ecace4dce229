//! What every tenant table has in common, so pagination and loaders are written once.

use chrono::{DateTime, Utc};
use sea_orm::EntityTrait;
use uuid::Uuid;

use crate::ids::IdKind;

pub trait TenantEntity: EntityTrait + Default {
    const KIND: IdKind;
    fn id_column() -> Self::Column;
    fn organization_column() -> Self::Column;
    fn created_at_column() -> Self::Column;
    fn updated_at_column() -> Self::Column;
    fn id_of(model: &Self::Model) -> Uuid;
    fn created_at_of(model: &Self::Model) -> DateTime<Utc>;
}

macro_rules! tenant_entity {
    ($module:ident, $kind:expr) => {
        impl TenantEntity for entities::$module::Entity {
            const KIND: IdKind = $kind;
            fn id_column() -> Self::Column {
                entities::$module::Column::Id
            }
            fn organization_column() -> Self::Column {
                entities::$module::Column::OrganizationId
            }
            fn created_at_column() -> Self::Column {
                entities::$module::Column::CreatedAt
            }
            fn updated_at_column() -> Self::Column {
                entities::$module::Column::UpdatedAt
            }
            fn id_of(model: &Self::Model) -> Uuid {
                model.id
            }
            fn created_at_of(model: &Self::Model) -> DateTime<Utc> {
                model.created_at
            }
        }
    };
}

tenant_entity!(lead, IdKind::Lead);
tenant_entity!(call, IdKind::Call);
tenant_entity!(team_member, IdKind::TeamMember);
tenant_entity!(booking_link, IdKind::BookingLink);
tenant_entity!(product, IdKind::Product);
tenant_entity!(payment, IdKind::Payment);
tenant_entity!(api_key, IdKind::ApiKey);
tenant_entity!(webhook_subscription, IdKind::Webhook);
tenant_entity!(webhook_delivery, IdKind::Delivery);

/// Events never change, so "updated" is "created".
impl TenantEntity for entities::event::Entity {
    const KIND: IdKind = IdKind::Event;
    fn id_column() -> Self::Column {
        entities::event::Column::Id
    }
    fn organization_column() -> Self::Column {
        entities::event::Column::OrganizationId
    }
    fn created_at_column() -> Self::Column {
        entities::event::Column::CreatedAt
    }
    fn updated_at_column() -> Self::Column {
        entities::event::Column::CreatedAt
    }
    fn id_of(model: &Self::Model) -> Uuid {
        model.id
    }
    fn created_at_of(model: &Self::Model) -> DateTime<Utc> {
        model.created_at
    }
}
