/// An e-mail address as people type it, trimmed and lower-cased, so that one address has
/// one spelling (booking reuses a lead by its e-mail). Deliberately loose: a local part,
/// `@`, and a domain with a dot; no whitespace; at most 320 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(text: &str) -> Result<Self, String> {
        let email = text.trim().to_lowercase();
        let valid = email.len() <= 320
            && email.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            })
            && !email.contains(|c: char| c.is_whitespace() || c.is_control());
        if valid {
            Ok(Email(email))
        } else {
            Err("is not an e-mail address".to_owned())
        }
    }

    /// [`Email::parse`], as a validation error naming `field`.
    pub fn parse_field(field: &str, text: &str) -> crate::error::AppResult<Self> {
        Self::parse(text).map_err(|message| crate::error::AppError::validation(field, message))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// A phone number as written: digits and `+ - ( ) .` and spaces, at most 40 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    /// `Ok(None)` for a blank value.
    pub fn parse_optional(text: &str) -> Result<Option<Self>, String> {
        let phone = text.trim();
        if phone.is_empty() {
            return Ok(None);
        }
        if phone.len() > 40
            || !phone
                .chars()
                .all(|c| c.is_ascii_digit() || " +-().".contains(c))
            || !phone.chars().any(|c| c.is_ascii_digit())
        {
            return Err("is not a phone number".to_owned());
        }
        Ok(Some(Phone(phone.to_owned())))
    }

    /// [`Phone::parse_optional`], as a validation error naming `field`.
    pub fn parse_field(field: &str, text: &str) -> crate::error::AppResult<Option<Self>> {
        Self::parse_optional(text)
            .map_err(|message| crate::error::AppError::validation(field, message))
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalized_and_checked() {
        assert_eq!(
            Email::parse(" Ava@Example.COM ").unwrap().as_str(),
            "ava@example.com"
        );
        for bad in [
            "",
            "ava",
            "ava@example",
            "@example.com",
            "a b@example.com",
            "a@.com",
            "a\0b@example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn phones() {
        assert!(Phone::parse_optional(" ").unwrap().is_none());
        assert_eq!(
            Phone::parse_optional("+44 (20) 7946-0000")
                .unwrap()
                .unwrap()
                .into_string(),
            "+44 (20) 7946-0000"
        );
        for bad in ["call me", "+", &"1".repeat(41)] {
            assert!(Phone::parse_optional(bad).is_err(), "{bad}");
        }
    }
}
