/// A URL-safe identifier chosen by people: lower-case letters, digits and single hyphens,
/// 2 to 64 characters, starting with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slug(String);

impl Slug {
    pub fn parse(text: &str) -> Result<Self, String> {
        let ok_chars = text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        let ok_shape = (2..=64).contains(&text.len())
            && !text.starts_with('-')
            && !text.ends_with('-')
            && !text.contains("--");
        if ok_chars && ok_shape {
            Ok(Slug(text.to_owned()))
        } else {
            Err(format!(
                "`{text}` is not a valid slug (2-64 lower-case letters, digits and single hyphens)"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slug_shapes() {
        assert!(Slug::parse("demo").is_ok());
        assert!(Slug::parse("acme-sales-2").is_ok());
        for bad in ["", "a", "-a", "a-", "a--b", "Acme", "a b", "ä"] {
            assert!(Slug::parse(bad).is_err(), "{bad}");
        }
    }
}
