//! The OAuth 2.0 scopes each product needs: one table, used by `auth login` (what to ask
//! consent for), `doctor` (what a 403 points to), `--help` and the README (a test keeps the
//! README in step).
//!
//! Taken from the specs' `x-atlassian-oauth2-scopes` of every endpoint the collector calls
//! (`tools/extract.py`, REFERENCE §6): the "Current" scopes are the classic ones `auth login`
//! asks for; the "Beta" ones are the granular alternative an app may be configured with
//! instead. Confluence's v2 spaces API has no classic scope: `read:space:confluence` is its
//! current one. The UPM, mail settings and GraphQL site permissions are undocumented and have
//! no scope: an OAuth run reports them as the site answers. The Org Admin API takes no OAuth
//! tokens at all ("Forge and OAuth2 apps cannot access this REST resource").

use crate::config::Product;

/// Asked for with every 3LO consent: without it Atlassian issues no refresh token.
pub const OFFLINE_ACCESS: &str = "offline_access";

/// One product's scopes.
#[derive(Debug)]
pub struct ProductScopes {
    pub product: Product,
    /// What `auth login` asks for.
    pub classic: &'static [&'static str],
    /// The granular equivalent.
    pub granular: &'static [&'static str],
}

pub static TABLE: [ProductScopes; 4] = [
    ProductScopes {
        product: Product::Jira,
        classic: &[
            "read:jira-user",
            "read:jira-work",
            "manage:jira-configuration",
        ],
        granular: &[
            "read:user:jira",
            "read:group:jira",
            "read:avatar:jira",
            "read:application-role:jira",
            "read:project:jira",
            "read:project.property:jira",
            "read:project-role:jira",
            "read:project-category:jira",
            "read:project-version:jira",
            "read:project.component:jira",
            "read:issue-type:jira",
            "read:issue-type-hierarchy:jira",
            "read:field:jira",
            "read:permission-scheme:jira",
            "read:permission:jira",
            "read:instance-configuration:jira",
        ],
    },
    ProductScopes {
        product: Product::Confluence,
        classic: &[
            "read:confluence-groups",
            "read:audit-log:confluence",
            "read:space:confluence",
        ],
        granular: &[
            "read:group:confluence",
            "read:user:confluence",
            "read:audit-log:confluence",
            "read:space:confluence",
        ],
    },
    // Workspace discovery is a JSM endpoint (`read:servicedesk-request`); the Assets API itself
    // has only the CMDB scopes (REFERENCE §3), which are its current ones.
    ProductScopes {
        product: Product::Assets,
        classic: &[
            "read:servicedesk-request",
            "read:cmdb-object:jira",
            "read:cmdb-schema:jira",
            "read:cmdb-type:jira",
            "read:cmdb-attribute:jira",
        ],
        granular: &[
            "read:servicedesk:jira-service-management",
            "read:cmdb-object:jira",
            "read:cmdb-schema:jira",
            "read:cmdb-type:jira",
            "read:cmdb-attribute:jira",
        ],
    },
    ProductScopes {
        product: Product::Jsm,
        classic: &["read:servicedesk-request", "manage:servicedesk-customer"],
        granular: &[
            "read:servicedesk:jira-service-management",
            "read:servicedesk.customer:jira-service-management",
            "read:organization:jira-service-management",
            "read:organization.user:jira-service-management",
            "read:user:jira",
        ],
    },
];

/// The classic scopes the selected products need, plus `offline_access`, for a consent URL.
pub fn for_login(products: &[Product]) -> Vec<&'static str> {
    let mut scopes: Vec<&'static str> = Vec::new();
    for scope in TABLE
        .iter()
        .filter(|row| products.contains(&row.product))
        .flat_map(|row| row.classic.iter().copied())
    {
        // Assets and JSM share `read:servicedesk-request`: ask once.
        if !scopes.contains(&scope) {
            scopes.push(scope);
        }
    }
    scopes.push(OFFLINE_ACCESS);
    scopes
}

/// The table as `--help` and the README show it: one line per product and kind.
pub fn describe() -> String {
    let mut text = String::new();
    for row in &TABLE {
        let name = row.product.name();
        text.push_str(&format!("  {name} (classic): {}\n", row.classic.join(" ")));
        text.push_str(&format!(
            "  {name} (granular): {}\n",
            row.granular.join(" ")
        ));
    }
    text.push_str(&format!(
        "  3LO (auth login) also asks for {OFFLINE_ACCESS}, for a refresh token."
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_asks_for_the_selected_products_and_offline_access() {
        let scopes = for_login(&[Product::Confluence]);
        assert!(scopes.contains(&"read:confluence-groups"));
        assert!(!scopes.contains(&"read:jira-user"));
        assert_eq!(scopes.last(), Some(&OFFLINE_ACCESS));
    }

    /// Users read the scopes in the README: every one in the table must be there.
    #[test]
    fn the_readme_lists_every_scope() {
        let readme = include_str!("../../../README.md");
        for row in &TABLE {
            for scope in row.classic.iter().chain(row.granular) {
                assert!(
                    readme.contains(&format!("`{scope}`")),
                    "README lacks {scope}"
                );
            }
        }
        assert!(readme.contains(&format!("`{OFFLINE_ACCESS}`")));
    }
}
