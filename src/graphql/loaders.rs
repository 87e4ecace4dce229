//! DataLoaders, made per request and scoped to the caller's organization. One loader per
//! relation kind: `ById` resolves a foreign key to its row; `ByParent` resolves the newest
//! children of many parents; `ByParentWith` does the same and joins the row each child
//! points at (a call's closer), so a list and its to-one relation cost one statement.
//! Each batch is one `IN (…)` statement, so the number of statements a nested query runs
//! depends on its depth, never on its page size.
//!
//! Batches are cut by rounds, not by a timer: the loaders' fetch tasks run inside the
//! request's own task ([`drive`]), after the resolvers of a round have all been polled
//! and queued their keys. A timer window (async-graphql's default) splits a batch
//! whenever resolving one level of a large page takes longer than the window.

use std::collections::HashMap;
use std::future::{Future, poll_fn};
use std::marker::PhantomData;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use futures_util::stream::FuturesUnordered;

use async_graphql::dataloader::{DataLoader, Loader};
use sea_orm::sea_query::{
    Alias, Asterisk, Condition, Expr, ExprTrait, Func, JoinType, Order, Query, SelectStatement,
    WindowStatement,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, FromQueryResult, IdenStatic, Iterable,
    ModelTrait, QueryFilter, Value,
};
use uuid::Uuid;

use crate::db::tenant::TenantEntity;
use crate::error::AppError;
use entities::{booking_link, call, lead, payment, product, team_member, webhook_attempt};

type LoadError = async_graphql::Error;

/// Loads rows of `E` by primary key.
pub struct ById<E> {
    db: DatabaseConnection,
    organization_id: Uuid,
    _entity: PhantomData<fn() -> E>,
}

impl<E: TenantEntity> Loader<Uuid> for ById<E>
where
    E::Model: Clone + Send + Sync,
{
    type Value = E::Model;
    type Error = LoadError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, E::Model>, LoadError> {
        let rows = E::find()
            .filter(E::organization_column().eq(self.organization_id))
            .filter(E::id_column().is_in(keys.iter().copied()))
            .all(&self.db)
            .await
            .map_err(db_error)?;
        Ok(rows.into_iter().map(|row| (E::id_of(&row), row)).collect())
    }
}

/// A parent's children, newest first, at most `limit` of them, continuing strictly after
/// the position `after` (`created_at`, `id`) when it is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChildrenOf {
    pub parent: Uuid,
    pub limit: u16,
    pub after: Option<(chrono::DateTime<chrono::Utc>, Uuid)>,
}

/// The statements a batch needs: one per distinct (limit, after). Callers almost always
/// ask one limit and no cursor per batch (`leads { calls(first: 5) }`); a cursor is for
/// paging one parent's children.
type Slice = (u16, Option<(chrono::DateTime<chrono::Utc>, Uuid)>);

/// Loads the children of `E` whose `parent_column` points at the key.
pub struct ByParent<E: TenantEntity> {
    db: DatabaseConnection,
    organization_id: Uuid,
    parent_column: E::Column,
}

impl<E: TenantEntity> Loader<ChildrenOf> for ByParent<E>
where
    E::Model: Clone + Send + Sync,
    E::Column: Send + Sync,
{
    type Value = Vec<E::Model>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[ChildrenOf],
    ) -> Result<HashMap<ChildrenOf, Vec<E::Model>>, LoadError> {
        let mut out = empty_lists(keys);
        for (slice, parents) in by_slice(keys) {
            let statement = self.newest_children(&parents, slice);
            let backend = self.db.get_database_backend();
            let rows = E::find()
                .from_raw_sql(backend.build(&statement))
                .all(&self.db)
                .await
                .map_err(db_error)?;
            for row in rows {
                let parent = uuid_of(row.get(self.parent_column));
                push_child(&mut out, parent, slice, row);
            }
        }
        Ok(out)
    }
}

/// The keys of a batch grouped by what their statement needs.
fn by_slice(keys: &[ChildrenOf]) -> HashMap<Slice, Vec<Uuid>> {
    let mut by_slice: HashMap<Slice, Vec<Uuid>> = HashMap::new();
    for key in keys {
        by_slice
            .entry((key.limit, key.after))
            .or_default()
            .push(key.parent);
    }
    by_slice
}

fn empty_lists<T>(keys: &[ChildrenOf]) -> HashMap<ChildrenOf, Vec<T>> {
    keys.iter().map(|key| (*key, Vec::new())).collect()
}

fn push_child<T>(
    out: &mut HashMap<ChildrenOf, Vec<T>>,
    parent: Option<Uuid>,
    (limit, after): Slice,
    row: T,
) {
    if let Some(parent) = parent
        && let Some(children) = out.get_mut(&ChildrenOf {
            parent,
            limit,
            after,
        })
    {
        children.push(row);
    }
}

impl<E: TenantEntity> ByParent<E> {
    fn new(db: &DatabaseConnection, organization_id: Uuid, parent_column: E::Column) -> Self {
        ByParent {
            db: db.clone(),
            organization_id,
            parent_column,
        }
    }

    /// Each parent's newest `limit` children (after the cursor, if any), in one
    /// statement, read as `ranked`, newest first. Per backend, what its planner does best
    /// (measured in BENCHMARKS.md): PostgreSQL walks the `(organization_id, parent,
    /// created_at, id)` index once per parent and stops after `limit` rows (`LATERAL …
    /// LIMIT`); SQLite numbers the rows with `ROW_NUMBER() OVER (PARTITION BY parent
    /// ORDER BY created_at DESC, id DESC)` and keeps the first `limit`.
    fn newest_children(&self, parents: &[Uuid], (limit, after): Slice) -> SelectStatement {
        let table = E::default();
        let mut children = Query::select()
            .column((table, Asterisk))
            .from(table)
            .and_where(Expr::col((table, E::organization_column())).eq(self.organization_id))
            .to_owned();
        if let Some((created_at, id)) = after {
            children.and_where(
                Expr::tuple([
                    Expr::col((table, E::created_at_column())),
                    Expr::col((table, E::id_column())),
                ])
                .lt(Expr::tuple([Expr::value(created_at), Expr::value(id)])),
            );
        }
        let mut outer = Query::select();
        outer.column((ranked(), Asterisk));
        if self.db.get_database_backend() == sea_orm::DbBackend::Postgres && !parents.is_empty() {
            let parent_ids = Alias::new("parent_ids");
            children
                .and_where(
                    Expr::col((table, self.parent_column))
                        .equals((parent_ids.clone(), Alias::new("column1"))),
                )
                .order_by((table, E::created_at_column()), Order::Desc)
                .order_by((table, E::id_column()), Order::Desc)
                .limit(u64::from(limit));
            outer
                .from_values(parents.iter().copied(), parent_ids)
                .join_lateral(JoinType::InnerJoin, children, ranked(), Expr::cust("TRUE"));
        } else {
            let rank = Alias::new("aura_rank");
            let mut window = WindowStatement::partition_by((table, self.parent_column));
            window
                .order_by((table, E::created_at_column()), Order::Desc)
                .order_by((table, E::id_column()), Order::Desc);
            children
                .expr_window_as(Func::cust("ROW_NUMBER"), window, rank.clone())
                .and_where(Expr::col((table, self.parent_column)).is_in(parents.iter().copied()));
            outer
                .from_subquery(children, ranked())
                .and_where(Expr::col((ranked(), rank)).lte(i64::from(limit)));
        }
        outer
            .order_by((ranked(), E::created_at_column()), Order::Desc)
            .order_by((ranked(), E::id_column()), Order::Desc)
            .to_owned()
    }
}

/// The alias of [`ByParent::newest_children`]'s subquery.
fn ranked() -> Alias {
    Alias::new("ranked")
}

/// Loads the children of `E` together with the row of `R` each one points at through
/// `join_column` (a call with its closer, a payment with its product), in one statement,
/// so `lead.calls { closer }` needs no second batch. The joined row is narrowed to the
/// organization like every other; one that is missing or in another organization comes
/// back as `None`, as the `ById` loader would answer.
pub struct ByParentWith<E: TenantEntity, R> {
    children: ByParent<E>,
    join_column: E::Column,
    _joined: PhantomData<fn() -> R>,
}

/// The prefix of the joined row's columns in [`ByParentWith`]'s statement.
const JOINED_PREFIX: &str = "joined_";

impl<E, R> Loader<ChildrenOf> for ByParentWith<E, R>
where
    E: TenantEntity,
    E::Model: Clone + Send + Sync,
    E::Column: Send + Sync,
    R: TenantEntity,
    R::Model: Clone + Send + Sync,
{
    type Value = Vec<(E::Model, Option<R::Model>)>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[ChildrenOf],
    ) -> Result<HashMap<ChildrenOf, Self::Value>, LoadError> {
        let joined = Alias::new("joined");
        let joined_id = format!("{JOINED_PREFIX}{}", R::id_column().as_str());
        let mut out = empty_lists(keys);
        for (slice, parents) in by_slice(keys) {
            let mut statement = self.children.newest_children(&parents, slice);
            statement.join_as(
                JoinType::LeftJoin,
                R::default(),
                joined.clone(),
                Condition::all()
                    .add(
                        Expr::col((joined.clone(), R::id_column()))
                            .equals((ranked(), self.join_column)),
                    )
                    .add(
                        Expr::col((joined.clone(), R::organization_column()))
                            .eq(self.children.organization_id),
                    ),
            );
            for column in R::Column::iter() {
                statement.expr_as(
                    Expr::col((joined.clone(), column)),
                    Alias::new(format!("{JOINED_PREFIX}{}", column.as_str())),
                );
            }
            let backend = self.children.db.get_database_backend();
            let rows = self
                .children
                .db
                .query_all_raw(backend.build(&statement))
                .await
                .map_err(db_error)?;
            for row in rows {
                let child = E::Model::from_query_result(&row, "").map_err(db_error)?;
                let target = match row
                    .try_get::<Option<Uuid>>("", &joined_id)
                    .map_err(db_error)?
                {
                    Some(_) => {
                        Some(R::Model::from_query_result(&row, JOINED_PREFIX).map_err(db_error)?)
                    }
                    None => None,
                };
                let parent = uuid_of(child.get(self.children.parent_column));
                push_child(&mut out, parent, slice, (child, target));
            }
        }
        Ok(out)
    }
}

fn db_error(error: sea_orm::DbErr) -> LoadError {
    LoadError::from(AppError::from(error))
}

fn uuid_of(value: Value) -> Option<Uuid> {
    match value {
        Value::Uuid(Some(id)) => Some(id),
        _ => None,
    }
}

/// Fetch tasks queued by a request's loaders, run by [`drive`] in the request's task.
#[derive(Clone, Default)]
pub struct BatchQueue(Arc<Mutex<Vec<BoxFuture<'static, ()>>>>);

impl BatchQueue {
    fn loader<L>(&self, loader: L) -> DataLoader<L>
    where
        L: Send + Sync + 'static,
    {
        let queue = self.clone();
        DataLoader::new(loader, move |task: BoxFuture<'static, ()>| {
            if let Ok(mut pending) = queue.0.lock() {
                pending.push(task);
            }
        })
        .delay(Duration::ZERO)
    }

    fn take(&self) -> Vec<BoxFuture<'static, ()>> {
        self.0
            .lock()
            .map(|mut q| std::mem::take(&mut *q))
            .unwrap_or_default()
    }
}

/// Runs `work` (a GraphQL execution) and the batches its loaders queue, in this task:
/// resolvers first, until every one that can make progress has queued its keys, then
/// the batches.
pub async fn drive<F: Future>(queue: BatchQueue, work: F) -> F::Output {
    let mut work = pin!(work);
    let mut batches = FuturesUnordered::new();
    poll_fn(move |cx| {
        // A large list yields part-way (futures' `FuturesUnordered` polls 32 children at a
        // time and wakes itself); keep polling until the resolvers are truly waiting.
        for _ in 0..MAX_RESOLVER_PASSES {
            let probe = Arc::new(WakeProbe {
                woken: AtomicBool::new(false),
                inner: cx.waker().clone(),
            });
            let waker = Waker::from(probe.clone());
            let mut probe_cx = Context::from_waker(&waker);
            if let Poll::Ready(output) = work.as_mut().poll(&mut probe_cx) {
                return Poll::Ready(output);
            }
            if !probe.woken.load(Ordering::SeqCst) {
                break;
            }
        }
        batches.extend(queue.take());
        while let Poll::Ready(Some(())) = batches.poll_next_unpin(cx) {}
        Poll::Pending
    })
    .await
}

const MAX_RESOLVER_PASSES: usize = 10_000;

/// Forwards wake-ups and remembers that one happened.
struct WakeProbe {
    woken: AtomicBool,
    inner: Waker,
}

impl Wake for WakeProbe {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        self.inner.wake_by_ref();
    }
}

fn by_id<E: TenantEntity>(
    queue: &BatchQueue,
    db: &DatabaseConnection,
    org: Uuid,
) -> DataLoader<ById<E>>
where
    E::Model: Clone + Send + Sync,
{
    queue.loader(ById {
        db: db.clone(),
        organization_id: org,
        _entity: PhantomData,
    })
}

fn by_parent<E: TenantEntity>(
    queue: &BatchQueue,
    db: &DatabaseConnection,
    org: Uuid,
    parent_column: E::Column,
) -> DataLoader<ByParent<E>>
where
    E::Model: Clone + Send + Sync,
    E::Column: Send + Sync,
{
    queue.loader(ByParent::new(db, org, parent_column))
}

fn by_parent_with<E: TenantEntity, R: TenantEntity>(
    queue: &BatchQueue,
    db: &DatabaseConnection,
    org: Uuid,
    parent_column: E::Column,
    join_column: E::Column,
) -> DataLoader<ByParentWith<E, R>>
where
    E::Model: Clone + Send + Sync,
    E::Column: Send + Sync,
    R::Model: Clone + Send + Sync,
{
    queue.loader(ByParentWith {
        children: ByParent::new(db, org, parent_column),
        join_column,
        _joined: PhantomData,
    })
}

/// Every loader a request may use, created when the request starts.
pub struct Loaders {
    pub lead: DataLoader<ById<lead::Entity>>,
    pub team_member: DataLoader<ById<team_member::Entity>>,
    pub product: DataLoader<ById<product::Entity>>,
    pub booking_link: DataLoader<ById<booking_link::Entity>>,
    pub calls_by_lead: DataLoader<ByParent<call::Entity>>,
    pub calls_by_lead_with_closer: DataLoader<ByParentWith<call::Entity, team_member::Entity>>,
    pub calls_by_closer: DataLoader<ByParent<call::Entity>>,
    pub calls_by_setter: DataLoader<ByParent<call::Entity>>,
    pub calls_by_booking_link: DataLoader<ByParent<call::Entity>>,
    pub payments_by_lead: DataLoader<ByParent<payment::Entity>>,
    pub payments_by_lead_with_product: DataLoader<ByParentWith<payment::Entity, product::Entity>>,
    pub payments_by_product: DataLoader<ByParent<payment::Entity>>,
    pub payments_by_closer: DataLoader<ByParent<payment::Entity>>,
    pub payments_by_setter: DataLoader<ByParent<payment::Entity>>,
    pub leads_by_assignee: DataLoader<ByParent<lead::Entity>>,
    pub booking_links_by_owner: DataLoader<ByParent<booking_link::Entity>>,
    pub attempts_by_delivery: DataLoader<AttemptsByDelivery>,
}

impl Loaders {
    pub fn new(queue: &BatchQueue, db: &DatabaseConnection, org: Uuid) -> Self {
        Loaders {
            lead: by_id(queue, db, org),
            team_member: by_id(queue, db, org),
            product: by_id(queue, db, org),
            booking_link: by_id(queue, db, org),
            calls_by_lead: by_parent(queue, db, org, call::Column::LeadId),
            calls_by_lead_with_closer: by_parent_with(
                queue,
                db,
                org,
                call::Column::LeadId,
                call::Column::CloserId,
            ),
            calls_by_closer: by_parent(queue, db, org, call::Column::CloserId),
            calls_by_setter: by_parent(queue, db, org, call::Column::SetterId),
            calls_by_booking_link: by_parent(queue, db, org, call::Column::BookingLinkId),
            payments_by_lead: by_parent(queue, db, org, payment::Column::LeadId),
            payments_by_lead_with_product: by_parent_with(
                queue,
                db,
                org,
                payment::Column::LeadId,
                payment::Column::ProductId,
            ),
            payments_by_product: by_parent(queue, db, org, payment::Column::ProductId),
            payments_by_closer: by_parent(queue, db, org, payment::Column::CloserId),
            payments_by_setter: by_parent(queue, db, org, payment::Column::SetterId),
            leads_by_assignee: by_parent(queue, db, org, lead::Column::AssignedTeamMemberId),
            booking_links_by_owner: by_parent(queue, db, org, booking_link::Column::OwnerId),
            attempts_by_delivery: queue.loader(AttemptsByDelivery {
                db: db.clone(),
                organization_id: org,
            }),
        }
    }
}

/// Every attempt of many webhook deliveries (a delivery has a handful), oldest first.
pub struct AttemptsByDelivery {
    db: DatabaseConnection,
    organization_id: Uuid,
}

impl Loader<Uuid> for AttemptsByDelivery {
    type Value = Vec<webhook_attempt::Model>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[Uuid],
    ) -> Result<HashMap<Uuid, Vec<webhook_attempt::Model>>, LoadError> {
        use sea_orm::{EntityTrait, QueryOrder};
        let rows = webhook_attempt::Entity::find()
            .filter(webhook_attempt::Column::OrganizationId.eq(self.organization_id))
            .filter(webhook_attempt::Column::DeliveryId.is_in(keys.iter().copied()))
            .order_by_asc(webhook_attempt::Column::DeliveryId)
            .order_by_asc(webhook_attempt::Column::AttemptNumber)
            .all(&self.db)
            .await
            .map_err(db_error)?;
        let mut grouped: HashMap<Uuid, Vec<webhook_attempt::Model>> = HashMap::new();
        for row in rows {
            grouped.entry(row.delivery_id).or_default().push(row);
        }
        Ok(grouped)
    }
}
