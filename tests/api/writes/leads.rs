//! `createLead` and `updateLead`.

use serde_json::json;

use super::support::{code, field, world};

const CREATE: &str = "mutation($input: CreateLeadInput!) { createLead(input: $input) { id name email phone source status assignedTeamMemberId assignedTo { id } utm { source campaign } customFields createdAt updatedAt } }";
const UPDATE: &str = "mutation($id: ID!, $input: UpdateLeadInput!) { updateLead(id: $id, input: $input) { id name email phone status assignedTeamMemberId utm { source campaign } customFields updatedAt } }";

#[tokio::test]
async fn admins_and_members_create_and_update_leads_with_their_events() {
    let w = world().await;
    for (who, bearer) in [("admin", &w.admin), ("member", &w.member)] {
        let data = w
            .ok(
                bearer,
                CREATE,
                json!({"input": {
                    "name": format!("  Ada {who} "),
                    "email": "Ada@Example.COM",
                    "phone": "+44 20 7946 0000",
                    "source": "referral",
                    "assignedTeamMemberId": w.own.team_member,
                    "utm": {"source": "newsletter", "campaign": "spring"},
                    "customFields": {"budget": 5000}
                }}),
            )
            .await;
        let lead = &data["createLead"];
        let id = lead["id"].as_str().unwrap().to_owned();
        assert!(id.starts_with("lead_"), "{who}");
        assert_eq!(lead["name"], json!(format!("Ada {who}")));
        assert_eq!(lead["email"], json!("ada@example.com"));
        assert_eq!(lead["status"], json!("NEW"));
        assert_eq!(lead["assignedTo"]["id"], json!(w.own.team_member));
        assert_eq!(lead["utm"]["campaign"], json!("spring"));
        assert_eq!(lead["customFields"], json!({"budget": 5000}));

        // The event carries the lead's REST object, written with the lead.
        let events = w.events(w.org).await;
        let (kind, data) = events.last().unwrap();
        assert_eq!(kind, "lead.created");
        assert_eq!(data["id"], json!(id));
        assert_eq!(data["email"], json!("ada@example.com"));
        assert_eq!(data["assigned_team_member_id"], json!(w.own.team_member));

        // Status, unassignment, a cleared phone, new attribution.
        let data = w
            .ok(
                bearer,
                UPDATE,
                json!({"id": id, "input": {"status": "QUALIFIED", "assignedTeamMemberId": null, "phone": null, "utm": {"source": "ads"}}}),
            )
            .await;
        let updated = &data["updateLead"];
        assert_eq!(updated["status"], json!("QUALIFIED"));
        assert_eq!(updated["assignedTeamMemberId"], json!(null));
        assert_eq!(updated["phone"], json!(null));
        assert_eq!(updated["utm"], json!({"source": "ads", "campaign": null}));
        assert_eq!(updated["email"], json!("ada@example.com"), "untouched");
        assert_ne!(updated["updatedAt"], lead["updatedAt"]);
        let events = w.events(w.org).await;
        let (kind, data) = events.last().unwrap();
        assert_eq!(kind, "lead.updated");
        assert_eq!(data["status"], json!("qualified"));
        assert_eq!(data["assigned_team_member_id"], json!(null));

        // Reassigned, then an update that changes nothing: no write, no event.
        w.ok(
            bearer,
            UPDATE,
            json!({"id": id, "input": {"assignedTeamMemberId": w.own.team_member}}),
        )
        .await;
        let before = w.events(w.org).await.len();
        let data = w
            .ok(
                bearer,
                UPDATE,
                json!({"id": id, "input": {"status": "QUALIFIED", "name": format!("Ada {who}"), "assignedTeamMemberId": w.own.team_member}}),
            )
            .await;
        assert_eq!(
            w.events(w.org).await.len(),
            before,
            "{who}: nothing changed"
        );
        assert_eq!(
            data["updateLead"]["assignedTeamMemberId"],
            json!(w.own.team_member)
        );
    }
}

#[tokio::test]
async fn lead_validation_names_the_field() {
    let w = world().await;
    let long = "x".repeat(201);
    let creates = [
        (json!({"name": "  "}), "name"),
        (json!({"name": long}), "name"),
        (json!({"name": "A", "email": "not-an-email"}), "email"),
        (json!({"name": "A", "phone": "call me maybe"}), "phone"),
        (json!({"name": "A", "source": "s".repeat(101)}), "source"),
        (
            json!({"name": "A", "utm": {"campaign": "c".repeat(201)}}),
            "utm.campaign",
        ),
        (json!({"name": "A", "customFields": [1, 2]}), "customFields"),
    ];
    for (input, expected) in creates {
        let body = w.fails(&w.admin, CREATE, json!({"input": input})).await;
        assert_eq!(code(&body), "VALIDATION_ERROR", "{input}: {body}");
        assert_eq!(field(&body), expected, "{input}: {body}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .starts_with(expected),
            "the message names the field: {body}"
        );
    }
    let updates = [
        (json!({"name": ""}), "name"),
        (json!({"email": "@nowhere"}), "email"),
        (json!({"customFields": "text"}), "customFields"),
    ];
    for (input, expected) in updates {
        let body = w
            .fails(
                &w.admin,
                UPDATE,
                json!({"id": w.own.leads[0], "input": input}),
            )
            .await;
        assert_eq!(code(&body), "VALIDATION_ERROR", "{input}: {body}");
        assert_eq!(field(&body), expected, "{input}: {body}");
    }
    // Work goes to active team members only.
    let retired = w
        .ok(
            &w.admin,
            "mutation($id: ID!) { updateTeamMember(id: $id, input: {active: false}) { id } }",
            json!({"id": w.own.team_member}),
        )
        .await;
    assert_eq!(retired["updateTeamMember"]["id"], json!(w.own.team_member));
    let before = w.event_count().await;
    let body = w
        .fails(
            &w.admin,
            CREATE,
            json!({"input": {"name": "A", "assignedTeamMemberId": w.own.team_member}}),
        )
        .await;
    assert_eq!(code(&body), "VALIDATION_ERROR", "{body}");
    assert_eq!(field(&body), "assignedTeamMemberId");
    // A lead already assigned to them keeps them through other updates.
    w.ok(
        &w.admin,
        UPDATE,
        json!({"id": w.own.leads[0], "input": {"status": "WON", "assignedTeamMemberId": w.own.team_member}}),
    )
    .await;
    assert_eq!(
        w.event_count().await,
        before + 1,
        "only the successful update"
    );
}
