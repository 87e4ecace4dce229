//! Concurrent public bookings with one new e-mail make one lead, on SQLite and on
//! PostgreSQL (where the look-up takes a transaction lock on the organization and e-mail).

use aura::domain::ScopeSet;
use entities::{call, lead};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

use super::{BOOK, anonymous, open_link, slot};
use crate::factory::{org_with_key, seed};
use crate::helpers::TestApp;

#[tokio::test]
async fn twenty_concurrent_bookings_with_one_new_email_make_one_lead() {
    let app = TestApp::builder().sqlite_file().build().await;
    let org = org_with_key(&app.db, "acme", ScopeSet::all()).await;
    let seeded = seed(&app.db, org.id, "acme", 0).await;
    open_link(&app, org.id, &seeded.team_member, "acme-open").await;

    // Twenty free slots, one booking each, all from the same new booker.
    let bookings = (0..20).map(|n| {
        let app = &app;
        async move {
            anonymous(
                app,
                BOOK,
                json!({"slug": "acme-open", "start": slot(n), "name": "Racer", "email": "Racer@Example.com"}),
            )
            .await
        }
    });
    let results = futures_util::future::join_all(bookings).await;
    for (status, body) in &results {
        assert_eq!(*status, 200, "{body}");
        assert_eq!(
            body["data"]["bookCall"]["status"],
            json!("SCHEDULED"),
            "{body}"
        );
    }

    let leads = lead::Entity::find()
        .filter(lead::Column::OrganizationId.eq(org.id))
        .filter(lead::Column::Email.eq("racer@example.com"))
        .all(&app.db)
        .await
        .expect("the booker's leads");
    assert_eq!(leads.len(), 1, "one lead per e-mail: {leads:?}");
    let calls = call::Entity::find()
        .filter(call::Column::OrganizationId.eq(org.id))
        .all(&app.db)
        .await
        .expect("the calls");
    assert_eq!(calls.len(), 20);
    assert!(
        calls.iter().all(|c| c.lead_id == leads[0].id),
        "every call belongs to that lead"
    );
    let created_events = entities::event::Entity::find()
        .filter(entities::event::Column::OrganizationId.eq(org.id))
        .filter(entities::event::Column::EventType.eq("lead.created"))
        .all(&app.db)
        .await
        .expect("the events");
    assert_eq!(created_events.len(), 1, "one lead.created");
}
