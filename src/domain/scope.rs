use std::fmt;

/// What a credential may do. API keys carry a set; Clerk users get theirs from their role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    LeadsRead,
    CallsRead,
    TeamRead,
    BookingLinksRead,
    ProductsRead,
    PaymentsRead,
    WebhooksRead,
    WebhooksWrite,
}

impl Scope {
    pub const ALL: [Scope; 8] = [
        Scope::LeadsRead,
        Scope::CallsRead,
        Scope::TeamRead,
        Scope::BookingLinksRead,
        Scope::ProductsRead,
        Scope::PaymentsRead,
        Scope::WebhooksRead,
        Scope::WebhooksWrite,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Scope::LeadsRead => "leads:read",
            Scope::CallsRead => "calls:read",
            Scope::TeamRead => "team:read",
            Scope::BookingLinksRead => "booking_links:read",
            Scope::ProductsRead => "products:read",
            Scope::PaymentsRead => "payments:read",
            Scope::WebhooksRead => "webhooks:read",
            Scope::WebhooksWrite => "webhooks:write",
        }
    }

    pub fn parse(text: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|s| s.as_str() == text)
    }

    const fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScopeSet(u16);

impl ScopeSet {
    pub fn all() -> Self {
        Scope::ALL.into_iter().collect()
    }

    pub fn read_only() -> Self {
        Scope::ALL
            .into_iter()
            .filter(|s| *s != Scope::WebhooksWrite)
            .collect()
    }

    pub fn contains(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL.into_iter().filter(move |s| self.contains(*s))
    }

    /// Parses `leads:read,payments:read`. Unknown scopes are an error naming them.
    pub fn parse_list(text: &str) -> Result<Self, String> {
        let mut set = ScopeSet::default();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let scope = Scope::parse(part).ok_or_else(|| {
                format!(
                    "unknown scope `{part}`; known scopes: {}",
                    ScopeSet::all().to_string().replace(',', ", ")
                )
            })?;
            set.0 |= scope.bit();
        }
        Ok(set)
    }
}

impl FromIterator<Scope> for ScopeSet {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        ScopeSet(iter.into_iter().fold(0, |acc, s| acc | s.bit()))
    }
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.iter().map(Scope::as_str).collect();
        f.write_str(&names.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_lists() {
        let set = ScopeSet::parse_list("payments:read, leads:read").unwrap();
        assert!(set.contains(Scope::LeadsRead));
        assert!(set.contains(Scope::PaymentsRead));
        assert!(!set.contains(Scope::CallsRead));
        assert_eq!(set.to_string(), "leads:read,payments:read");
        assert_eq!(
            ScopeSet::parse_list(&ScopeSet::all().to_string()),
            Ok(ScopeSet::all())
        );
        assert!(ScopeSet::parse_list("leads:write").is_err());
        assert!(!ScopeSet::read_only().contains(Scope::WebhooksWrite));
    }
}
