//! Free text as the API accepts it: trimmed, bounded, and never holding a NUL character
//! (PostgreSQL refuses NUL in text and JSON; SQLite would store it and hand it back), so
//! both databases see the same valid input. Every text input of every service goes
//! through these, each error naming the field.

use crate::error::{AppError, AppResult};

fn refuse_nul(field: &str, value: &str) -> AppResult<()> {
    if value.contains('\0') {
        return Err(AppError::validation(
            field,
            "must not contain NUL characters",
        ));
    }
    Ok(())
}

/// Trimmed text of 1 to `max` characters.
pub fn required_text(field: &str, value: &str, max: usize) -> AppResult<String> {
    refuse_nul(field, value)?;
    let value = value.trim();
    if value.is_empty() || value.chars().count() > max {
        return Err(AppError::validation(
            field,
            format!("must be 1 to {max} characters"),
        ));
    }
    Ok(value.to_owned())
}

/// Trimmed text of at most `max` characters; blank is none.
pub fn optional_text(field: &str, value: Option<&str>, max: usize) -> AppResult<Option<String>> {
    let Some(value) = value else {
        return Ok(None);
    };
    refuse_nul(field, value)?;
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    if value.chars().count() > max {
        return Err(AppError::validation(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(Some(value.to_owned()))
}

/// The most keys and bytes a free-form JSON object (`customFields`, booking answers) may
/// hold.
pub const JSON_OBJECT_MAX_KEYS: usize = 50;
pub const JSON_OBJECT_MAX_BYTES: usize = 10_000;

/// A JSON object of free-form fields: at most 50 keys and 10 kB, no NUL anywhere in it.
/// `null` is the empty object.
pub fn json_object(
    field: &str,
    value: serde_json::Value,
) -> AppResult<serde_json::Map<String, serde_json::Value>> {
    match value {
        serde_json::Value::Null => Ok(serde_json::Map::new()),
        serde_json::Value::Object(map) => {
            let size = serde_json::to_string(&map).map_or(usize::MAX, |s| s.len());
            if map.len() > JSON_OBJECT_MAX_KEYS || size > JSON_OBJECT_MAX_BYTES {
                return Err(AppError::validation(
                    field,
                    format!(
                        "is too large (at most {JSON_OBJECT_MAX_KEYS} keys, {} kB)",
                        JSON_OBJECT_MAX_BYTES / 1000
                    ),
                ));
            }
            if holds_nul(&serde_json::Value::Object(map.clone())) {
                return Err(AppError::validation(
                    field,
                    "must not contain NUL characters",
                ));
            }
            Ok(map)
        }
        _ => Err(AppError::validation(field, "must be a JSON object")),
    }
}

fn holds_nul(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::String(text) => text.contains('\0'),
        serde_json::Value::Array(items) => items.iter().any(holds_nul),
        serde_json::Value::Object(map) => map
            .iter()
            .any(|(key, value)| key.contains('\0') || holds_nul(value)),
        _ => false,
    }
}

/// An IANA time zone name (`America/New_York`), as its canonical name.
pub fn timezone(field: &str, value: &str) -> AppResult<chrono_tz::Tz> {
    let value = value.trim();
    value.parse::<chrono_tz::Tz>().map_err(|_| {
        AppError::validation(
            field,
            format!(
                "`{}` is not an IANA time zone (e.g. America/New_York)",
                value.replace('\0', "")
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field<T>(result: AppResult<T>) -> Option<String> {
        result.err().and_then(|e| e.field().map(str::to_owned))
    }

    #[test]
    fn text_is_trimmed_bounded_and_free_of_nul() {
        assert_eq!(required_text("name", "  Ada ", 200).unwrap(), "Ada");
        assert_eq!(field(required_text("name", "  ", 200)), Some("name".into()));
        assert_eq!(
            field(required_text("name", &"x".repeat(201), 200)),
            Some("name".into())
        );
        assert_eq!(
            field(required_text("name", "Ada\0Lovelace", 200)),
            Some("name".into())
        );
        assert_eq!(optional_text("notes", Some("  "), 10).unwrap(), None);
        assert_eq!(optional_text("notes", None, 10).unwrap(), None);
        assert_eq!(
            field(optional_text("notes", Some("12345678901"), 10)),
            Some("notes".into())
        );
        assert_eq!(
            field(optional_text("notes", Some("a\0"), 10)),
            Some("notes".into())
        );
    }

    #[test]
    fn json_objects_are_bounded_and_free_of_nul() {
        assert!(
            json_object("customFields", serde_json::Value::Null)
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            field(json_object("customFields", serde_json::json!([1]))),
            Some("customFields".into())
        );
        assert_eq!(
            field(json_object(
                "answers",
                serde_json::json!({"a": ["ok", "x\u{0}"]})
            )),
            Some("answers".into())
        );
        assert_eq!(
            field(json_object("answers", serde_json::json!({"k\u{0}": 1}))),
            Some("answers".into())
        );
        let many: serde_json::Map<String, serde_json::Value> = (0..51)
            .map(|i| (i.to_string(), serde_json::json!(i)))
            .collect();
        assert!(json_object("answers", serde_json::Value::Object(many)).is_err());
    }

    #[test]
    fn time_zones() {
        assert_eq!(
            timezone("timezone", " Europe/Paris").unwrap().name(),
            "Europe/Paris"
        );
        assert_eq!(
            field(timezone("timezone", "Mars/Olympus")),
            Some("timezone".into())
        );
    }
}
