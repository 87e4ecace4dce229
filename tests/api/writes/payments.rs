//! `recordPayment`, `updatePayment`, `refundPayment`: commission rates snapshotted as of
//! the payment time, refunds, and the states a payment moves through.

use chrono::{Duration, Utc};
use serde_json::{Value, json};

use super::support::{code, field, world};

const RECORD: &str = "mutation($input: RecordPaymentInput!) { recordPayment(input: $input) { id status amount currency paidAt processor externalId productId closerId setterId commissions { teamMemberId role rate amount } } }";
const UPDATE: &str = "mutation($id: ID!, $input: UpdatePaymentInput!) { updatePayment(id: $id, input: $input) { id status paidAt externalId commissions { role rate amount } } }";
const REFUND: &str =
    "mutation($id: ID!) { refundPayment(id: $id) { id status commissions { amount } } }";

fn ago(days: i64) -> String {
    aura::time::format_rfc3339(aura::time::truncate_to_micros(
        Utc::now() - Duration::days(days),
    ))
}

fn commission<'a>(payment: &'a Value, role: &str) -> &'a Value {
    payment["commissions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["role"] == json!(role))
        .unwrap_or_else(|| panic!("a {role} commission in {payment}"))
}

#[tokio::test]
async fn payments_earn_the_rates_in_force_when_paid() {
    let w = world().await;
    // The seeded closer has earned 0.125 for five days; from now on, 0.2.
    w.ok(
        &w.admin,
        "mutation($id: ID!) { updateTeamMember(id: $id, input: {commissionRate: \"0.2\"}) { commissionRate } }",
        json!({"id": w.own.team_member}),
    )
    .await;
    let data = w
        .ok(
            &w.admin,
            "mutation { createTeamMember(input: {name: \"Sam Setter\", email: \"sam@acme.test\", role: SETTER, commissionRate: \"0.05\"}) { id } }",
            json!({}),
        )
        .await;
    let setter = data["createTeamMember"]["id"].as_str().unwrap().to_owned();

    // Paid two days ago: the old rate. A member may record payments.
    let two_days_ago = ago(2);
    let data = w
        .ok(
            &w.member,
            RECORD,
            json!({"input": {"leadId": w.own.leads[0], "productId": w.own.product, "closerId": w.own.team_member, "amount": 100_000, "currency": "USD", "processor": "stripe", "externalId": "pi_1", "paidAt": two_days_ago}}),
        )
        .await;
    let old = &data["recordPayment"];
    assert_eq!(old["status"], json!("SUCCEEDED"));
    assert_eq!(old["paidAt"], json!(two_days_ago));
    assert_eq!(old["productId"], json!(w.own.product));
    assert_eq!(commission(old, "CLOSER")["rate"], json!("0.125"));
    assert_eq!(commission(old, "CLOSER")["amount"], json!(12500));
    let events = w.events(w.org).await;
    let (kind, event) = events.last().unwrap();
    assert_eq!(kind, "payment.created");
    assert_eq!(event["id"], old["id"]);
    assert_eq!(event["commissions"][0]["rate"], json!("0.125"));

    // Paid now (no paidAt): the new rates, closer and setter.
    let data = w
        .ok(
            &w.member,
            RECORD,
            json!({"input": {"leadId": w.own.leads[0], "closerId": w.own.team_member, "setterId": setter, "amount": 99_700, "currency": "EUR"}}),
        )
        .await;
    let now = &data["recordPayment"];
    assert!(now["paidAt"].is_string());
    assert_eq!(now["processor"], json!("manual"));
    assert_eq!(commission(now, "CLOSER")["rate"], json!("0.2"));
    assert_eq!(commission(now, "CLOSER")["amount"], json!(19940));
    assert_eq!(commission(now, "SETTER")["rate"], json!("0.05"));
    assert_eq!(commission(now, "SETTER")["amount"], json!(4985));

    // Pending earns nothing; once it succeeded (paid three days ago) it earns the rate of
    // then, not of when it was recorded.
    let data = w
        .ok(
            &w.member,
            RECORD,
            json!({"input": {"leadId": w.own.leads[1], "closerId": w.own.team_member, "amount": 50_000, "currency": "USD", "status": "PENDING"}}),
        )
        .await;
    let pending = &data["recordPayment"];
    let pending_id = pending["id"].as_str().unwrap().to_owned();
    assert_eq!(pending["paidAt"], json!(null));
    assert_eq!(commission(pending, "CLOSER")["amount"], json!(0));
    let data = w
        .ok(
            &w.member,
            UPDATE,
            json!({"id": pending_id, "input": {"status": "SUCCEEDED", "paidAt": ago(3), "externalId": "wire-7"}}),
        )
        .await;
    let paid = &data["updatePayment"];
    assert_eq!(paid["status"], json!("SUCCEEDED"));
    assert_eq!(paid["externalId"], json!("wire-7"));
    assert_eq!(commission(paid, "CLOSER")["rate"], json!("0.125"));
    assert_eq!(commission(paid, "CLOSER")["amount"], json!(6250));
    let events = w.events(w.org).await;
    let (kind, event) = events.last().unwrap();
    assert_eq!(kind, "payment.updated");
    assert_eq!(event["status"], json!("succeeded"));
    assert_eq!(event["commissions"][0]["amount"], json!(6250));

    // Earned totals follow: 12,500 + 6,250 cents in USD.
    let data = w
        .ok(
            &w.admin,
            "query($id: ID!) { teamMember(id: $id) { commissionTotals(paidAfter: \"2000-01-01T00:00:00Z\") { currency amount } } }",
            json!({"id": w.own.team_member}),
        )
        .await;
    let totals = data["teamMember"]["commissionTotals"]
        .as_array()
        .unwrap()
        .clone();
    let usd = totals
        .iter()
        .find(|t| t["currency"] == json!("USD"))
        .unwrap();
    // The two seeded payments (150,000 at 0.125 each) count too.
    assert_eq!(usd["amount"], json!(56250));

    // A succeeded payment goes back to nothing but a refund.
    let body = w
        .fails(
            &w.member,
            UPDATE,
            json!({"id": pending_id, "input": {"status": "PENDING"}}),
        )
        .await;
    assert_eq!(code(&body), "CONFLICT", "{body}");
}

#[tokio::test]
async fn admins_refund_payments_once() {
    let w = world().await;
    let payment = &w.own.payments[0];
    let before = w.events(w.org).await.len();
    let data = w.ok(&w.admin, REFUND, json!({"id": payment})).await;
    assert_eq!(data["refundPayment"]["status"], json!("REFUNDED"));
    assert_eq!(data["refundPayment"]["commissions"][0]["amount"], json!(0));
    let events = w.events(w.org).await;
    assert_eq!(events.len(), before + 1);
    let (kind, event) = events.last().unwrap();
    assert_eq!(kind, "payment.refunded");
    assert_eq!(
        (&event["id"], &event["status"]),
        (&json!(payment), &json!("refunded"))
    );

    // Twice is harmless and records nothing more.
    let data = w.ok(&w.admin, REFUND, json!({"id": payment})).await;
    assert_eq!(data["refundPayment"]["status"], json!("REFUNDED"));
    assert_eq!(w.events(w.org).await.len(), before + 1);
    // A refunded payment is final.
    let body = w
        .fails(
            &w.admin,
            UPDATE,
            json!({"id": payment, "input": {"externalId": "x"}}),
        )
        .await;
    assert_eq!(code(&body), "CONFLICT", "{body}");
    // Only money received can be refunded.
    let data = w
        .ok(
            &w.member,
            RECORD,
            json!({"input": {"leadId": w.own.leads[0], "amount": 100, "currency": "USD", "status": "FAILED"}}),
        )
        .await;
    let failed = data["recordPayment"]["id"].as_str().unwrap().to_owned();
    let body = w.fails(&w.admin, REFUND, json!({"id": failed})).await;
    assert_eq!(code(&body), "CONFLICT", "{body}");
}

#[tokio::test]
async fn payment_validation_names_the_field() {
    let w = world().await;
    let lead = &w.own.leads[0];
    let future = aura::time::format_rfc3339(Utc::now() + Duration::hours(2));
    let records = [
        (
            json!({"leadId": lead, "amount": 0, "currency": "USD"}),
            "amount",
        ),
        (
            json!({"leadId": lead, "amount": -5, "currency": "USD"}),
            "amount",
        ),
        (
            json!({"leadId": lead, "amount": 100, "currency": "usd"}),
            "currency",
        ),
        (
            json!({"leadId": lead, "amount": 100, "currency": "USD", "status": "REFUNDED"}),
            "status",
        ),
        (
            json!({"leadId": lead, "amount": 100, "currency": "USD", "status": "PENDING", "paidAt": ago(1)}),
            "paidAt",
        ),
        (
            json!({"leadId": lead, "amount": 100, "currency": "USD", "paidAt": future}),
            "paidAt",
        ),
        (
            json!({"leadId": lead, "amount": 100, "currency": "USD", "processor": "p".repeat(33)}),
            "processor",
        ),
        (
            json!({"leadId": lead, "amount": 100, "currency": "USD", "externalId": "e".repeat(201)}),
            "externalId",
        ),
    ];
    let before = w.event_count().await;
    for (input, expected) in records {
        let body = w.fails(&w.member, RECORD, json!({"input": input})).await;
        assert_eq!(code(&body), "VALIDATION_ERROR", "{input}: {body}");
        assert_eq!(field(&body), expected, "{input}: {body}");
    }
    let body = w
        .fails(
            &w.member,
            UPDATE,
            json!({"id": w.own.payments[0], "input": {"status": "REFUNDED"}}),
        )
        .await;
    assert_eq!(
        (code(&body), field(&body)),
        ("VALIDATION_ERROR", "status"),
        "{body}"
    );
    assert_eq!(w.event_count().await, before, "nothing was written");
}

/// Money is integer minor units on every path: a commission's `amount` is rounded half to
/// even, `amountDecimal` is exact, and REST and the event carry the same.
#[tokio::test]
async fn commission_amounts_are_whole_minor_units_rounded_half_to_even() {
    let w = world().await;
    let exact = "mutation($input: RecordPaymentInput!) { recordPayment(input: $input) { id commissions { amount amountDecimal } } }";
    // The seeded closer earns 0.125: 99,700 × 0.125 = 12,462.5 and 99,740 × 0.125 =
    // 12,467.5, a half each, rounded to the even neighbour.
    for (amount, whole, decimal) in [(99_700, 12_462, "12462.5"), (99_740, 12_468, "12467.5")] {
        let data = w
            .ok(
                &w.member,
                exact,
                json!({"input": {"leadId": w.own.leads[0], "closerId": w.own.team_member, "amount": amount, "currency": "USD"}}),
            )
            .await;
        let payment = &data["recordPayment"];
        assert_eq!(
            payment["commissions"][0]["amount"],
            json!(whole),
            "{payment}"
        );
        assert_eq!(payment["commissions"][0]["amountDecimal"], json!(decimal));
        let id = payment["id"].as_str().unwrap();
        let rest: Value = w
            .app
            .get(&format!("/v1/payments/{id}"), Some(&w.key))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(rest["data"]["commissions"][0]["amount"], json!(whole));
        assert_eq!(
            rest["data"]["commissions"][0]["amount_decimal"],
            json!(decimal)
        );
        let events = w.events(w.org).await;
        let (_, event) = events.last().unwrap();
        assert_eq!(event["commissions"][0]["amount"], json!(whole));
        assert_eq!(event["commissions"][0]["amount_decimal"], json!(decimal));
    }
}
