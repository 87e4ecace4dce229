//! Keyset pagination, newest first: `ORDER BY created_at DESC, id DESC`, continuing with
//! `(created_at, id) < (cursor)`, and fetching `first + 1` rows to learn `hasNextPage`.
//! Never OFFSET: page 40,000 costs what page 1 costs.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, QueryFilter, QueryOrder, QuerySelect, Select};
use uuid::Uuid;

use super::tenant::TenantEntity;
use crate::error::{AppError, AppResult};

pub const DEFAULT_PAGE_SIZE: i32 = 25;
pub const MAX_PAGE_SIZE: i32 = 100;

/// A position in a list: the sort key of the last row seen. Opaque to callers (48 hex
/// digits). Any well-formed cursor names a position, so decoding only checks the shape;
/// a position that was never a row still pages correctly from there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: DateTime<Utc>,
    pub id: Uuid,
}

/// The regular expression a cursor matches, published in the OpenAPI document.
pub const CURSOR_PATTERN: &str = "^[0-9a-f]{48}$";

/// 9999-12-31T23:59:59.999999Z: later positions are clamped here, so every cursor maps to a
/// timestamp both databases compare correctly.
const MAX_CURSOR_MICROS: i64 = 253_402_300_799_999_999;

impl Cursor {
    /// The position of a row.
    pub fn of<E: TenantEntity>(row: &E::Model) -> Self {
        Cursor {
            created_at: E::created_at_of(row),
            id: E::id_of(row),
        }
    }

    pub fn encode(&self) -> String {
        let micros = self
            .created_at
            .timestamp_micros()
            .clamp(0, MAX_CURSOR_MICROS) as u64;
        format!("{micros:016x}{:032x}", self.id.as_u128())
    }

    pub fn decode(text: &str) -> Option<Cursor> {
        if text.len() != 48
            || !text
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return None;
        }
        let micros = u64::from_str_radix(&text[..16], 16).ok()?;
        let micros = std::cmp::min(i64::try_from(micros).unwrap_or(i64::MAX), MAX_CURSOR_MICROS);
        let created_at = DateTime::from_timestamp_micros(micros)?;
        let id = Uuid::from_u128(u128::from_str_radix(&text[16..], 16).ok()?);
        Some(Cursor { created_at, id })
    }
}

#[derive(Debug, Clone, Copy)]
pub struct PageArgs {
    pub first: u64,
    pub after: Option<Cursor>,
}

impl PageArgs {
    pub fn parse(first: i32, after: Option<&str>) -> AppResult<Self> {
        if !(1..=MAX_PAGE_SIZE).contains(&first) {
            return Err(AppError::validation(
                "first",
                format!("must be between 1 and {MAX_PAGE_SIZE}"),
            ));
        }
        let after = match after {
            None => None,
            Some(text) => Some(Cursor::decode(text).ok_or_else(|| {
                AppError::validation("after", "is not a cursor returned by this list")
            })?),
        };
        Ok(PageArgs {
            first: first as u64,
            after,
        })
    }
}

pub struct Page<M> {
    pub rows: Vec<M>,
    pub has_next_page: bool,
}

/// Runs one keyset page of `select` inside the organization.
pub async fn fetch_page<E, C>(
    db: &C,
    organization_id: Uuid,
    select: Select<E>,
    page: PageArgs,
) -> AppResult<Page<E::Model>>
where
    E: TenantEntity,
    C: ConnectionTrait,
{
    let mut select = select.filter(E::organization_column().eq(organization_id));
    if let Some(cursor) = page.after {
        select = select.filter(
            Expr::tuple([
                Expr::col((E::default(), E::created_at_column())),
                Expr::col((E::default(), E::id_column())),
            ])
            .lt(Expr::tuple([
                Expr::value(cursor.created_at),
                Expr::value(cursor.id),
            ])),
        );
    }
    let mut rows = select
        .order_by_desc(E::created_at_column())
        .order_by_desc(E::id_column())
        .limit(page.first + 1)
        .all(db)
        .await?;
    let has_next_page = rows.len() as u64 > page.first;
    rows.truncate(page.first as usize);
    Ok(Page {
        rows,
        has_next_page,
    })
}

/// Query-side narrowing that every list shares.
pub fn apply_time_range<E: TenantEntity>(
    mut select: Select<E>,
    created_after: Option<DateTime<Utc>>,
    created_before: Option<DateTime<Utc>>,
    updated_after: Option<DateTime<Utc>>,
) -> Select<E> {
    if let Some(at) = created_after {
        select = select.filter(E::created_at_column().gt(at));
    }
    if let Some(at) = created_before {
        select = select.filter(E::created_at_column().lt(at));
    }
    if let Some(at) = updated_after {
        select = select.filter(E::updated_at_column().gt(at));
    }
    select
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let cursor = Cursor {
            created_at: crate::time::now(),
            id: Uuid::now_v7(),
        };
        assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        assert_eq!(Cursor::decode("not-a-cursor"), None);
        assert_eq!(Cursor::decode(&"A".repeat(48)), None);
        let far = Cursor::decode(&"f".repeat(48)).unwrap();
        assert_eq!(far.created_at.timestamp_micros(), MAX_CURSOR_MICROS);
        assert_eq!(Cursor::decode(""), None);
        assert!(PageArgs::parse(0, None).is_err());
        assert!(PageArgs::parse(101, None).is_err());
        assert!(PageArgs::parse(25, Some("%%%")).is_err());
        assert_eq!(PageArgs::parse(100, None).unwrap().first, 100);
    }
}
