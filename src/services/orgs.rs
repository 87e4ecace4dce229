//! Organizations: the tenants. Created by operators (CLI, seeder) and looked up by slug.

use entities::organization;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use crate::domain::Slug;
use crate::domain::text::required_text;
use crate::error::{AppError, AppResult};
use crate::time::now;

#[tracing::instrument(name = "service.orgs.create", skip_all)]
pub async fn create<C: ConnectionTrait>(
    db: &C,
    name: &str,
    slug: &Slug,
    clerk_org_id: Option<&str>,
) -> AppResult<organization::Model> {
    let name = required_text("name", name, 200)?;
    if let Some(clerk) = clerk_org_id
        && (!clerk.starts_with("org_")
            || clerk.len() > 128
            || !clerk
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_'))
    {
        return Err(AppError::validation(
            "clerk_org_id",
            "must be a Clerk organization id (`org_…`)",
        ));
    }
    if find_by_slug(db, slug.as_str()).await?.is_some() {
        return Err(AppError::Conflict(format!(
            "an organization with slug `{}` already exists",
            slug.as_str()
        )));
    }
    let at = now();
    Ok(organization::ActiveModel {
        id: Set(crate::ids::new_uuid()),
        name: Set(name),
        slug: Set(slug.as_str().to_owned()),
        clerk_org_id: Set(clerk_org_id.map(str::to_owned)),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(db)
    .await?)
}

#[tracing::instrument(name = "service.orgs.find_by_slug", skip_all)]
pub async fn find_by_slug<C: ConnectionTrait>(
    db: &C,
    slug: &str,
) -> AppResult<Option<organization::Model>> {
    Ok(organization::Entity::find()
        .filter(organization::Column::Slug.eq(slug))
        .one(db)
        .await?)
}
