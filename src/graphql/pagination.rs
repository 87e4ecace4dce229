//! Relay connections over keyset pages (`db::page`): edges with opaque cursors, `nodes`,
//! `pageInfo` and `count`. Written here rather than taken from async-graphql, whose
//! connection types carry no description; the shape is the same (`<Node>Connection`,
//! `<Node>Edge`, the shared `PageInfo`).

use std::borrow::Cow;

use async_graphql::connection::PageInfo;
use async_graphql::{Object, OutputType, TypeName};

use crate::db::page::{Cursor, Page};
use crate::db::tenant::TenantEntity;

/// A page of a list, newest first, as a Relay connection.
pub struct PageConnection<N> {
    edges: Vec<Edge<N>>,
    has_next_page: bool,
}

/// One item of a page, with its cursor.
pub struct Edge<N> {
    cursor: String,
    node: N,
}

impl<N> PageConnection<N> {
    /// A page of `items`, each with the cursor of its position.
    pub fn new(items: impl IntoIterator<Item = (Cursor, N)>, has_next_page: bool) -> Self {
        PageConnection {
            edges: items
                .into_iter()
                .map(|(cursor, node)| Edge {
                    cursor: cursor.encode(),
                    node,
                })
                .collect(),
            has_next_page,
        }
    }
}

/// A page of a list, newest first, in the Relay connection shape: `edges` (each item with
/// its cursor) or `nodes` (the items alone), `pageInfo` to ask for the next page (pass
/// `endCursor` as `after` while `hasNextPage`), and `count`.
#[Object(name_type)]
impl<N: OutputType> PageConnection<N> {
    /// Where this page stands: `hasNextPage`, and `endCursor` to pass as `after` for the
    /// next page. Lists run newest first and never page backwards.
    async fn page_info(&self) -> PageInfo {
        PageInfo {
            has_previous_page: false,
            has_next_page: self.has_next_page,
            start_cursor: self.edges.first().map(|e| e.cursor.clone()),
            end_cursor: self.edges.last().map(|e| e.cursor.clone()),
        }
    }

    /// The items of this page with their cursors, newest first.
    async fn edges(&self) -> &[Edge<N>] {
        &self.edges
    }

    /// The items of this page without their cursors, newest first.
    async fn nodes(&self) -> Vec<&N> {
        self.edges.iter().map(|e| &e.node).collect()
    }

    /// How many items this page holds.
    async fn count(&self) -> usize {
        self.edges.len()
    }
}

impl<N: OutputType> TypeName for PageConnection<N> {
    fn type_name() -> Cow<'static, str> {
        format!("{}Connection", N::type_name()).into()
    }
}

/// An item of a page with its cursor.
#[Object(name_type)]
impl<N: OutputType> Edge<N> {
    /// The item.
    async fn node(&self) -> &N {
        &self.node
    }

    /// The item's position: pass it as `after` to continue after it.
    async fn cursor(&self) -> &str {
        &self.cursor
    }
}

impl<N: OutputType> TypeName for Edge<N> {
    fn type_name() -> Cow<'static, str> {
        format!("{}Edge", N::type_name()).into()
    }
}

/// A keyset page as a connection of `N`s.
pub fn into_connection<E, N>(
    page: Page<E::Model>,
    wrap: impl Fn(E::Model) -> N,
) -> PageConnection<N>
where
    E: TenantEntity,
    N: OutputType,
{
    PageConnection::new(
        page.rows
            .into_iter()
            .map(|row| (Cursor::of::<E>(&row), wrap(row))),
        page.has_next_page,
    )
}
