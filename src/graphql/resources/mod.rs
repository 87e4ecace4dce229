//! One module per resource: its GraphQL object (a DTO over the entity model, never the
//! model itself), enums, filter input and list/get resolvers.
//!
//! The objects are `#[Object(serial)]`: their fields resolve one after another, so a
//! response keeps the selection's field order (concurrent fields land in the order they
//! finish) and no per-object `FuturesUnordered` is built. Relations still batch, because
//! the items of a list resolve concurrently: every lead of a page queues its `calls` key
//! before the batch runs.

pub mod booking_link;
pub mod call;
pub mod lead;
pub mod payment;
pub mod product;
pub mod team_member;

use async_graphql::{Context, ID, InputObject};
use sea_orm::Select;
use uuid::Uuid;

use async_graphql::dataloader::{DataLoader, Loader};

use super::context::{authorize, core};
use super::loaders::{ChildrenOf, Loaders};
use super::pagination::{PageConnection, into_connection};
use super::scalars::DateTime;
use crate::db::page::{Cursor, PageArgs, apply_time_range, fetch_page};
use crate::db::tenant::TenantEntity;
use crate::domain::Scope;
use crate::error::{AppError, AppResult};
use crate::ids::{self, IdKind};

/// Time bounds every list accepts.
#[derive(InputObject, Default, Clone)]
pub struct TimeRange {
    /// Only items created strictly after this instant.
    pub created_after: Option<DateTime>,
    /// Only items created strictly before this instant.
    pub created_before: Option<DateTime>,
    /// Only items changed strictly after this instant (for incremental syncs).
    pub updated_after: Option<DateTime>,
}

impl TimeRange {
    pub fn apply<E: TenantEntity>(&self, select: Select<E>) -> Select<E> {
        apply_time_range(
            select,
            self.created_after.map(|d| d.0),
            self.created_before.map(|d| d.0),
            self.updated_after.map(|d| d.0),
        )
    }
}

/// A team member by id through the request's loader (`call.closer`, `payment.setter`, …).
/// The scope is checked first, so an empty relation answers like a filled one.
pub async fn member(
    ctx: &Context<'_>,
    id: Option<Uuid>,
) -> async_graphql::Result<Option<team_member::TeamMember>> {
    let request = authorize(ctx, Scope::TeamRead)?;
    let Some(id) = id else { return Ok(None) };
    Ok(request
        .loaders
        .team_member
        .load_one(id)
        .await?
        .map(team_member::TeamMember))
}

/// A page of a parent's newest children through one of the request's loaders
/// (`lead.calls`, …), each child alone or with a related row loaded in the same statement.
/// The loader fetches one child more than the page holds, to know whether another page
/// follows; every parent of a list queues its key in the same round, so the children of
/// a whole page of parents cost one statement.
#[allow(clippy::too_many_arguments)]
pub async fn children<L, T, N>(
    ctx: &Context<'_>,
    scope: Scope,
    loader: fn(&Loaders) -> &DataLoader<L>,
    parent: Uuid,
    first: i32,
    after: Option<String>,
    cursor: fn(&T) -> Cursor,
    wrap: fn(T) -> N,
) -> async_graphql::Result<PageConnection<N>>
where
    L: Loader<ChildrenOf, Value = Vec<T>, Error = async_graphql::Error>,
    T: Send + Sync + Clone + 'static,
{
    let request = authorize(ctx, scope)?;
    let page = PageArgs::parse(first, after.as_deref())?;
    let key = ChildrenOf {
        parent,
        // At most 101: the page size is at most 100.
        limit: page.first as u16 + 1,
        after: page.after.map(|c| (c.created_at, c.id)),
    };
    let mut rows = loader(&request.loaders)
        .load_one(key)
        .await?
        .unwrap_or_default();
    let has_next_page = rows.len() as u64 > page.first;
    rows.truncate(page.first as usize);
    Ok(PageConnection::new(
        rows.into_iter().map(|row| (cursor(&row), wrap(row))),
        has_next_page,
    ))
}

/// Whether the page being resolved asks for `field` of its items (through `edges.node` or
/// `nodes`) and the caller may see it: then the items are loaded with that row in one
/// statement (`lead.calls { nodes { closer } }`) instead of in a second batch.
pub fn selects(ctx: &Context<'_>, field: &str, scope: Scope) -> bool {
    let page = ctx.look_ahead();
    (page.field("edges").field("node").field(field).exists()
        || page.field("nodes").field(field).exists())
        && authorize(ctx, scope).is_ok()
}

/// Parses an id given as a filter or argument, naming the field when it is malformed.
pub fn parse_id(kind: IdKind, field: &str, id: &ID) -> AppResult<Uuid> {
    ids::decode(kind, id.as_str()).map_err(|err| AppError::validation(field, err.to_string()))
}

pub fn public_id(kind: IdKind, id: Uuid) -> ID {
    ID(ids::encode(kind, id))
}

pub fn optional_public_id(kind: IdKind, id: Option<Uuid>) -> Option<ID> {
    id.map(|id| public_id(kind, id))
}

/// The list resolver every resource shares: scope check, page, organization, keyset.
pub async fn list<E, N>(
    ctx: &Context<'_>,
    scope: Scope,
    first: i32,
    after: Option<String>,
    select: impl FnOnce(Select<E>) -> AppResult<Select<E>>,
    wrap: impl Fn(E::Model) -> N,
) -> AppResult<PageConnection<N>>
where
    E: TenantEntity,
    N: async_graphql::OutputType,
{
    let request = authorize(ctx, scope)?;
    let page = PageArgs::parse(first, after.as_deref())?;
    let select = select(E::find())?;
    let rows = fetch_page(
        core(ctx).db.conn(),
        request.actor.organization_id,
        select,
        page,
    )
    .await?;
    Ok(into_connection::<E, N>(rows, wrap))
}

/// The get-by-id resolver every resource shares. Another organization's id, a malformed
/// id and a missing row all answer the same NOT_FOUND.
pub async fn get<E>(ctx: &Context<'_>, scope: Scope, id: &ID) -> AppResult<E::Model>
where
    E: TenantEntity,
    E::Model: Clone + Send + Sync,
{
    let request = authorize(ctx, scope)?;
    let not_found =
        || AppError::NotFound(format!("{} `{}` not found", E::KIND.noun(), id.as_str()));
    let uuid = ids::decode(E::KIND, id.as_str()).map_err(|_| not_found())?;
    find_in_org::<E>(ctx, request.actor.organization_id, uuid)
        .await?
        .ok_or_else(not_found)
}

pub async fn find_in_org<E>(
    ctx: &Context<'_>,
    organization_id: Uuid,
    id: Uuid,
) -> AppResult<Option<E::Model>>
where
    E: TenantEntity,
{
    use sea_orm::{ColumnTrait, QueryFilter};
    Ok(E::find()
        .filter(E::organization_column().eq(organization_id))
        .filter(E::id_column().eq(id))
        .one(core(ctx).db.conn())
        .await?)
}
