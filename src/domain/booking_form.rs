//! A booking link's form: the questions a booker answers beside name, e-mail and phone,
//! and the check of a booker's answers against them. The widget mirrors these checks;
//! this is the judge.

use serde::{Deserialize, Serialize};

use super::text::{optional_text, required_text};
use crate::error::{AppError, AppResult};

/// The most questions one link may ask.
pub const MAX_QUESTIONS: usize = 20;
/// The longest answer, in characters.
pub const MAX_ANSWER_CHARS: usize = 2_000;

/// One question, as stored (validated when written).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingQuestion {
    /// The answer's key in `answers`: 1 to 40 lower-case letters, digits and `_`, starting
    /// with a letter.
    pub key: String,
    /// What the booker sees, 1 to 200 characters.
    pub label: String,
    pub required: bool,
    /// A text area instead of one line.
    pub multiline: bool,
}

/// A question as given, before validation.
pub struct QuestionInput {
    pub key: String,
    pub label: String,
    pub required: Option<bool>,
    pub multiline: Option<bool>,
}

/// A link's questions: unique valid keys, at most [`MAX_QUESTIONS`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BookingForm(Vec<BookingQuestion>);

fn valid_key(key: &str) -> bool {
    (1..=40).contains(&key.len())
        && key.starts_with(|c: char| c.is_ascii_lowercase())
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl BookingForm {
    pub fn parse(items: Vec<QuestionInput>) -> AppResult<Self> {
        if items.len() > MAX_QUESTIONS {
            return Err(AppError::validation(
                "questions",
                format!("at most {MAX_QUESTIONS} questions"),
            ));
        }
        let mut questions: Vec<BookingQuestion> = Vec::with_capacity(items.len());
        for (index, item) in items.into_iter().enumerate() {
            let field = |name: &str| format!("questions[{index}].{name}");
            let key = required_text(&field("key"), &item.key, 40)?;
            if !valid_key(&key) {
                return Err(AppError::validation(
                    field("key"),
                    "must be 1 to 40 lower-case letters, digits and underscores, starting with a letter",
                ));
            }
            if questions.iter().any(|q| q.key == key) {
                return Err(AppError::validation(
                    field("key"),
                    format!("`{key}` is asked twice"),
                ));
            }
            questions.push(BookingQuestion {
                key,
                label: required_text(&field("label"), &item.label, 200)?,
                required: item.required.unwrap_or(false),
                multiline: item.multiline.unwrap_or(false),
            });
        }
        Ok(BookingForm(questions))
    }

    /// The questions as stored; what is not a list of questions reads as none (it was
    /// validated when written).
    pub fn from_json(stored: &serde_json::Value) -> Self {
        BookingForm(serde_json::from_value(stored.clone()).unwrap_or_default())
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.0).unwrap_or_else(|_| serde_json::Value::Array(Vec::new()))
    }

    pub fn questions(&self) -> &[BookingQuestion] {
        &self.0
    }

    /// Checks a booker's answers: every required question answered with non-blank text,
    /// every answer to a question text of at most [`MAX_ANSWER_CHARS`] (trimmed in place;
    /// a blank optional answer is dropped). Keys the form does not ask are kept as they
    /// are: a widget may send context of its own.
    pub fn check_answers(
        &self,
        answers: &mut serde_json::Map<String, serde_json::Value>,
    ) -> AppResult<()> {
        for question in &self.0 {
            let field = format!("answers.{}", question.key);
            let given = match answers.get(&question.key) {
                None | Some(serde_json::Value::Null) => None,
                Some(serde_json::Value::String(text)) => {
                    optional_text(&field, Some(text), MAX_ANSWER_CHARS)?
                }
                Some(_) => return Err(AppError::validation(field, "must be text")),
            };
            match given {
                Some(text) => {
                    answers.insert(question.key.clone(), serde_json::Value::String(text));
                }
                None if question.required => {
                    return Err(AppError::validation(
                        field,
                        format!("`{}` needs an answer", question.label),
                    ));
                }
                None => {
                    answers.remove(&question.key);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn question(key: &str, required: bool) -> QuestionInput {
        QuestionInput {
            key: key.to_owned(),
            label: format!("About {key}"),
            required: Some(required),
            multiline: None,
        }
    }

    fn field_of(err: AppError) -> Option<String> {
        match err {
            AppError::Validation { field, .. } => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn keys_are_valid_and_unique() {
        let form = BookingForm::parse(vec![question("goal", true), question("budget_2", false)])
            .expect("valid");
        assert_eq!(BookingForm::from_json(&form.to_json()), form);
        for bad in ["Goal", "2goal", "go-al", "", &"a".repeat(41)] {
            let err = BookingForm::parse(vec![question(bad, false)]).unwrap_err();
            assert_eq!(field_of(err).as_deref(), Some("questions[0].key"), "{bad}");
        }
        let err =
            BookingForm::parse(vec![question("goal", true), question("goal", false)]).unwrap_err();
        assert_eq!(field_of(err).as_deref(), Some("questions[1].key"));
        let many = (0..=MAX_QUESTIONS)
            .map(|i| question(&format!("q{i}"), false))
            .collect();
        assert!(BookingForm::parse(many).is_err());
    }

    #[test]
    fn answers_are_checked_against_the_form() {
        let form =
            BookingForm::parse(vec![question("goal", true), question("notes", false)]).unwrap();
        let check = |answers: serde_json::Value| {
            let mut map = answers.as_object().cloned().unwrap_or_default();
            form.check_answers(&mut map)
                .map(|()| serde_json::Value::Object(map))
        };
        assert_eq!(
            check(json!({"goal": "  grow  ", "notes": " ", "ref": 7})).unwrap(),
            json!({"goal": "grow", "ref": 7})
        );
        for missing in [json!({}), json!({"goal": "   "}), json!({"goal": null})] {
            let err = check(missing).unwrap_err();
            assert_eq!(field_of(err).as_deref(), Some("answers.goal"));
        }
        let err = check(json!({"goal": 5})).unwrap_err();
        assert_eq!(field_of(err).as_deref(), Some("answers.goal"));
        let err = check(json!({"goal": "x".repeat(MAX_ANSWER_CHARS + 1)})).unwrap_err();
        assert_eq!(field_of(err).as_deref(), Some("answers.goal"));
        // A form without questions takes any object, as before.
        let mut free = json!({"anything": [1, 2]}).as_object().cloned().unwrap();
        BookingForm::default().check_answers(&mut free).unwrap();
        assert_eq!(free.len(), 1);
    }
}
