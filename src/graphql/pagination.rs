//! Relay connections over keyset pages (`db::page`): edges with opaque cursors, and
//! `pageInfo`.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{OutputType, SimpleObject};

use crate::db::page::{Cursor, Page};
use crate::db::tenant::TenantEntity;

/// Extra connection fields beyond Relay's.
#[derive(SimpleObject, Default)]
pub struct ConnectionInfo {
    /// How many items this page holds.
    pub count: usize,
}

pub type PageConnection<N> = Connection<String, N, ConnectionInfo>;

/// A keyset page as a connection of `N`s.
pub fn into_connection<E, N>(
    page: Page<E::Model>,
    wrap: impl Fn(E::Model) -> N,
) -> PageConnection<N>
where
    E: TenantEntity,
    N: OutputType,
{
    let mut connection = Connection::with_additional_fields(
        false,
        page.has_next_page,
        ConnectionInfo {
            count: page.rows.len(),
        },
    );
    connection.edges = page
        .rows
        .into_iter()
        .map(|row| Edge::new(Cursor::of::<E>(&row).encode(), wrap(row)))
        .collect();
    connection
}
