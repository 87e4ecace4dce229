//! `createProduct`, `updateProduct` (admins only; the matrix is in `roles`).

use serde_json::json;

use super::support::{code, field, world};

const CREATE: &str = "mutation($input: CreateProductInput!) { createProduct(input: $input) { id name description priceAmount currency billing active } }";
const UPDATE: &str = "mutation($id: ID!, $input: UpdateProductInput!) { updateProduct(id: $id, input: $input) { id name description priceAmount currency billing active updatedAt } }";

#[tokio::test]
async fn admins_create_change_and_retire_products() {
    let w = world().await;
    let data = w
        .ok(
            &w.admin,
            CREATE,
            json!({"input": {"name": "Mastermind", "description": "Twelve weeks", "priceAmount": 499_900, "currency": "USD", "billing": "PAYMENT_PLAN"}}),
        )
        .await;
    let product = &data["createProduct"];
    let id = product["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("prod_"));
    assert_eq!(product["billing"], json!("PAYMENT_PLAN"));
    assert_eq!(product["active"], json!(true));
    let events = w.events(w.org).await;
    let (kind, event) = events.last().unwrap();
    assert_eq!(kind, "product.created");
    assert_eq!(
        (&event["id"], &event["billing"]),
        (&json!(id), &json!("payment_plan"))
    );

    let data = w
        .ok(
            &w.admin,
            UPDATE,
            json!({"id": id, "input": {"priceAmount": 450_000, "description": null, "active": false}}),
        )
        .await;
    let updated = &data["updateProduct"];
    assert_eq!(updated["priceAmount"], json!(450_000));
    assert_eq!(updated["description"], json!(null));
    assert_eq!(updated["active"], json!(false));
    assert_eq!(updated["name"], json!("Mastermind"));
    let events = w.events(w.org).await;
    let (kind, event) = events.last().unwrap();
    assert_eq!(kind, "product.updated");
    assert_eq!(
        (&event["active"], &event["price_amount"]),
        (&json!(false), &json!(450_000))
    );
    // Retired products are listed as such.
    let data = w
        .ok(
            &w.key,
            "{ products(filter: {active: false}) { nodes { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(data["products"]["nodes"], json!([{"id": id}]));

    // Nothing changes: nothing is written.
    let count = events.len();
    let again = w
        .ok(
            &w.admin,
            UPDATE,
            json!({"id": id, "input": {"priceAmount": 450_000, "active": false}}),
        )
        .await;
    assert_eq!(again["updateProduct"]["updatedAt"], updated["updatedAt"]);
    assert_eq!(w.events(w.org).await.len(), count);
}

#[tokio::test]
async fn product_validation_names_the_field() {
    let w = world().await;
    let base = json!({"name": "P", "priceAmount": 100, "currency": "USD", "billing": "ONE_TIME"});
    let with = |key: &str, value: serde_json::Value| {
        let mut input = base.clone();
        input[key] = value;
        input
    };
    for (input, expected) in [
        (with("name", json!(" ")), "name"),
        (with("priceAmount", json!(-1)), "priceAmount"),
        (with("currency", json!("dollars")), "currency"),
        (with("description", json!("d".repeat(5001))), "description"),
    ] {
        let body = w.fails(&w.admin, CREATE, json!({"input": input})).await;
        assert_eq!(
            (code(&body), field(&body)),
            ("VALIDATION_ERROR", expected),
            "{body}"
        );
    }
    let body = w
        .fails(
            &w.admin,
            UPDATE,
            json!({"id": w.own.product, "input": {"currency": "US"}}),
        )
        .await;
    assert_eq!(
        (code(&body), field(&body)),
        ("VALIDATION_ERROR", "currency"),
        "{body}"
    );
    assert!(w.events(w.org).await.is_empty(), "nothing was written");
}
