//! Org Admin API response types and their conversion into records. The v1 organisation
//! endpoints follow the official spec (snake_case users); the v2 directory, api-access and
//! events-stream shapes are not in a published spec copy and follow REFERENCE §5 (jira.js models
//! and the docs). Everything Atlassian may omit is optional; unknown fields are ignored.

use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use serde_json::Value;

use crate::record::{self, Namespace, ProductAccess};

/// `OrgModel` of `GET /admin/v1/orgs`.
#[derive(Debug, Deserialize)]
pub(super) struct Org {
    pub id: String,
    #[serde(default)]
    pub attributes: Value,
}

impl Org {
    pub(super) fn name(&self) -> Option<String> {
        self.attributes["name"].as_str().map(String::from)
    }
}

/// `DomainModel`: the spec leaves `attributes` open; the docs show `name` and `claim.status`.
#[derive(Debug, Deserialize)]
pub(super) struct Domain {
    #[serde(default)]
    pub attributes: Value,
}

impl Domain {
    /// The domain name, when it is verified (or when its claim status is not given).
    pub(super) fn verified_name(&self) -> Option<String> {
        let name = self.attributes["name"].as_str()?;
        match self.attributes["claim"]["status"].as_str() {
            Some(status) if !status.eq_ignore_ascii_case("verified") => None,
            _ => Some(name.to_string()),
        }
    }
}

/// `MultiDirectoryUser` of the v2 directory, with `productAccess`, `groups` and `platformRoles`
/// expanded.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DirectoryUser {
    pub account_id: Option<String>,
    pub account_type: Option<String>,
    pub status: Option<String>,
    pub account_status: Option<String>,
    pub added_to_org: Option<String>,
    pub name: Option<String>,
    pub nickname: Option<String>,
    pub email: Option<String>,
    pub claim_status: Option<String>,
    #[serde(default)]
    pub platform_roles: Vec<Value>,
    pub mfa_enabled: Option<bool>,
    pub time_zone: Option<String>,
    #[serde(default)]
    pub product_access: Vec<DirectoryProductAccess>,
    #[serde(default)]
    pub groups: Vec<DirectoryGroup>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DirectoryProductAccess {
    pub key: Option<String>,
    /// The product instance's ARI.
    pub id: Option<String>,
    pub last_active_timestamp: Option<String>,
}

/// `MultiDirectoryGroup`, and the groups expanded on a user.
#[derive(Debug, Deserialize)]
pub(super) struct DirectoryGroup {
    pub id: Option<String>,
    pub name: Option<String>,
}

impl DirectoryUser {
    pub(super) fn record(&self, ns: &Namespace, org_id: &str, account_id: &str) -> record::User {
        let product_access: Vec<ProductAccess> = self
            .product_access
            .iter()
            .filter_map(|access| {
                Some(ProductAccess {
                    product: access.key.clone()?,
                    resource: access.id.clone(),
                    last_active: access.last_active_timestamp.clone(),
                })
            })
            .collect();
        admin_user(
            ns,
            org_id,
            account_id,
            AdminFacts {
                account_type: self.account_type.clone(),
                name: self.name.clone().or_else(|| self.nickname.clone()),
                email: self.email.clone(),
                account_status: self.account_status.clone(),
                org_status: self.status.clone(),
                claim_status: self.claim_status.clone(),
                mfa_enabled: self.mfa_enabled,
                platform_roles: self.platform_roles.iter().filter_map(role_name).collect(),
                time_zone: self.time_zone.clone(),
                added_to_org: self.added_to_org.clone(),
                product_access,
            },
        )
    }
}

/// Platform roles come as ids (`atlassian/org-admin`); tolerate an object carrying one.
fn role_name(role: &Value) -> Option<String> {
    match role {
        Value::String(id) => Some(id.clone()),
        Value::Object(fields) => ["id", "roleId", "name"]
            .iter()
            .find_map(|k| fields.get(*k).and_then(Value::as_str))
            .map(String::from),
        _ => None,
    }
}

/// `User` of the retired v1 `GET /admin/v1/orgs/{orgId}/users` (snake_case), used only where
/// the v2 directory answers 404.
#[derive(Debug, Deserialize)]
pub(super) struct V1User {
    pub account_id: Option<String>,
    pub account_type: Option<String>,
    pub account_status: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub last_active: Option<String>,
    #[serde(default)]
    pub product_access: Vec<V1ProductAccess>,
}

#[derive(Debug, Deserialize)]
pub(super) struct V1ProductAccess {
    pub key: Option<String>,
    pub url: Option<String>,
    pub last_active: Option<String>,
}

/// `GET …/directory/users/{accountId}/last-active-dates`: per product instance, the last day
/// of activity.
#[derive(Debug, Deserialize)]
pub(super) struct LastActiveDates {
    pub data: Option<LastActiveData>,
}

#[derive(Debug, Deserialize)]
pub(super) struct LastActiveData {
    #[serde(default)]
    pub product_access: Vec<LastActiveProduct>,
    pub added_to_org: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct LastActiveProduct {
    pub id: Option<String>,
    pub key: Option<String>,
    pub last_active: Option<String>,
    pub last_active_timestamp: Option<String>,
}

impl V1User {
    pub(super) fn record(
        &self,
        ns: &Namespace,
        org_id: &str,
        account_id: &str,
        dates: Option<&LastActiveData>,
    ) -> record::User {
        // last-active-dates names product instances by ARI and is the finer source; the v1
        // user itself only gives product URLs.
        let product_access = match dates {
            Some(dates) if !dates.product_access.is_empty() => dates
                .product_access
                .iter()
                .filter_map(|p| {
                    Some(ProductAccess {
                        product: p.key.clone()?,
                        resource: p.id.clone(),
                        last_active: p.last_active_timestamp.clone().or(p.last_active.clone()),
                    })
                })
                .collect(),
            _ => self
                .product_access
                .iter()
                .filter_map(|p| {
                    Some(ProductAccess {
                        product: p.key.clone()?,
                        resource: p.url.clone(),
                        last_active: p.last_active.clone(),
                    })
                })
                .collect(),
        };
        let mut user = admin_user(
            ns,
            org_id,
            account_id,
            AdminFacts {
                account_type: self.account_type.clone(),
                name: self.name.clone(),
                email: self.email.clone(),
                account_status: self.account_status.clone(),
                added_to_org: dates.and_then(|d| d.added_to_org.clone()),
                product_access,
                ..AdminFacts::default()
            },
        );
        user.last_active = user.last_active.or(self.last_active.clone());
        user
    }
}

#[derive(Default)]
struct AdminFacts {
    account_type: Option<String>,
    name: Option<String>,
    email: Option<String>,
    account_status: Option<String>,
    org_status: Option<String>,
    claim_status: Option<String>,
    mfa_enabled: Option<bool>,
    platform_roles: Vec<String>,
    time_zone: Option<String>,
    added_to_org: Option<String>,
    product_access: Vec<ProductAccess>,
}

fn admin_user(ns: &Namespace, org_id: &str, account_id: &str, facts: AdminFacts) -> record::User {
    let last_active = facts
        .product_access
        .iter()
        .filter_map(|p| p.last_active.as_deref())
        .filter_map(parse_time)
        .max()
        .map(|t| t.to_string());
    let email = facts.email.filter(|e| !e.is_empty());
    record::User {
        id: ns.user(account_id),
        site: ns.site().to_string(),
        account_id: account_id.to_string(),
        account_type: facts.account_type,
        display_name: facts.name,
        email_source: email.as_ref().map(|_| "admin".to_string()),
        email,
        active: facts.account_status.as_deref().map(|s| s == "active"),
        time_zone: facts.time_zone,
        locale: None,
        source: "admin".to_string(),
        org_id: Some(org_id.to_string()),
        account_status: facts.account_status,
        org_status: facts.org_status,
        claim_status: facts.claim_status,
        mfa_enabled: facts.mfa_enabled,
        platform_roles: facts.platform_roles,
        product_access: facts.product_access,
        last_active,
        added_to_org: facts.added_to_org,
    }
}

/// Admin timestamps are ISO 8601 date-times or, in last-active-dates, plain dates.
pub(super) fn parse_time(text: &str) -> Option<Timestamp> {
    if let Ok(at) = text.parse::<Timestamp>() {
        return Some(at);
    }
    let date = text.parse::<jiff::civil::Date>().ok()?;
    date.to_zoned(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp())
}

/// An API token (`GET …/api-tokens`, `…/service-accounts/{id}/api-tokens`) or an admin API key
/// (`GET …/api-keys`): the metadata the api-access API lists, never a value.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Credential {
    pub id: Option<String>,
    pub label: Option<String>,
    pub status: Option<String>,
    pub created_at: Option<String>,
    pub expires_at: Option<String>,
    pub last_active_at: Option<String>,
    /// Tokens: the owner.
    pub user: Option<Person>,
    /// Keys: who created it.
    pub created_by: Option<Person>,
    #[serde(default)]
    pub scopes: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Person {
    pub id: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
}

/// How a credential's age is judged.
#[derive(Clone, Copy, Debug)]
pub(super) struct Ageing {
    pub now: Timestamp,
    /// Unused this long is stale.
    pub stale_after: SignedDuration,
}

/// "Expiring soon" is within this many days.
const EXPIRING_SOON_DAYS: i64 = 14;

impl Credential {
    pub(super) fn record(
        &self,
        ns: &Namespace,
        org_id: &str,
        secret_type: &str,
        owner: Option<&Person>,
        ageing: Ageing,
    ) -> Option<record::Secret> {
        let secret_id = self.id.clone()?;
        let owner = owner.or(self.user.as_ref()).or(self.created_by.as_ref());
        let expires = self.expires_at.as_deref().and_then(parse_time);
        let last_used = self
            .last_active_at
            .as_deref()
            .and_then(parse_time)
            .or_else(|| self.created_at.as_deref().and_then(parse_time));
        let soon = ageing
            .now
            .checked_add(SignedDuration::from_hours(24 * EXPIRING_SOON_DAYS))
            .unwrap_or(Timestamp::MAX);
        Some(record::Secret {
            id: ns.secret(org_id, secret_type, &secret_id),
            site: ns.site().to_string(),
            org_id: org_id.to_string(),
            secret_type: secret_type.to_string(),
            secret_id,
            label: self.label.clone(),
            status: self.status.clone(),
            owner_account_id: owner.and_then(|o| o.id.clone()),
            owner_name: owner.and_then(|o| o.name.clone()),
            owner_email: owner.and_then(|o| o.email.clone()),
            created_at: self.created_at.clone(),
            expires_at: self.expires_at.clone(),
            last_active_at: self.last_active_at.clone(),
            scopes: self.scopes.clone(),
            never_expires: self.expires_at.is_none(),
            expiring_soon: expires.is_some_and(|at| at > ageing.now && at <= soon),
            expired: expires.is_some_and(|at| at <= ageing.now),
            stale: last_used.is_some_and(|at| ageing.now.duration_since(at) > ageing.stale_after),
        })
    }
}

/// `EventModel` of the events stream.
#[derive(Debug, Deserialize)]
pub(super) struct Event {
    pub id: Option<String>,
    #[serde(default)]
    pub attributes: EventAttributes,
    pub message: Option<EventMessage>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct EventAttributes {
    pub time: Option<String>,
    pub action: Option<String>,
    pub actor: Option<Person>,
    #[serde(default)]
    pub context: Vec<EventObject>,
    pub location: Option<Location>,
}

#[derive(Debug, Deserialize)]
pub(super) struct EventObject {
    pub id: Option<String>,
    #[serde(rename = "type")]
    pub object_type: Option<String>,
    #[serde(default)]
    pub attributes: Value,
}

#[derive(Debug, Deserialize)]
pub(super) struct Location {
    pub ip: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct EventMessage {
    pub content: Option<String>,
}

impl Event {
    pub(super) fn record(&self, ns: &Namespace) -> Option<record::Event> {
        const SOURCE: &str = "admin.events";
        let event_id = self.id.clone()?;
        let attributes = &self.attributes;
        let object = attributes.context.first();
        Some(record::Event {
            id: ns.event(SOURCE, &event_id),
            site: ns.site().to_string(),
            source: SOURCE.to_string(),
            event_id,
            time: attributes.time.clone().unwrap_or_default(),
            action: attributes.action.clone().unwrap_or_default(),
            category: None,
            actor_account_id: attributes.actor.as_ref().and_then(|a| a.id.clone()),
            actor_name: attributes.actor.as_ref().and_then(|a| a.name.clone()),
            ip: attributes.location.as_ref().and_then(|l| l.ip.clone()),
            object_type: object.and_then(|o| o.object_type.clone()),
            object_id: object.and_then(|o| o.id.clone()),
            object_name: object.and_then(|o| {
                ["name", "displayName", "email"]
                    .iter()
                    .find_map(|k| o.attributes[*k].as_str())
                    .map(String::from)
            }),
            summary: self.message.as_ref().and_then(|m| m.content.clone()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns() -> Namespace {
        Namespace::new("acme.atlassian.net")
    }

    fn fixture<T: serde::de::DeserializeOwned>(name: &str) -> T {
        let path = format!("{}/../../fixtures/admin/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn ageing() -> Ageing {
        Ageing {
            now: "2026-11-22T00:00:00Z".parse().unwrap(),
            stale_after: SignedDuration::from_hours(24 * 90),
        }
    }

    #[test]
    fn directory_users_carry_product_access_and_roles() {
        let page: crate::http::page::CursorPage<DirectoryUser> = fixture("directory-users.json");
        assert_eq!(page.next(), Some("kloHX1ZQVasDAkx_P48NYQ"));
        let user = page.data[0].record(&ns(), "org-1", "5b10a2844c20165700ede21g");
        assert_eq!(user.id, "acme.atlassian.net/user/5b10a2844c20165700ede21g");
        assert_eq!(user.email.as_deref(), Some("mia@acme.com"));
        assert_eq!(user.email_source.as_deref(), Some("admin"));
        assert_eq!(user.claim_status.as_deref(), Some("managed"));
        assert_eq!(user.platform_roles, ["atlassian/org-admin"]);
        assert_eq!(user.product_access.len(), 2);
        assert_eq!(user.product_access[1].product, "bitbucket");
        assert_eq!(user.last_active.as_deref(), Some("2026-11-20T09:30:00Z"));
        assert_eq!(user.active, Some(true));
        let unmanaged = page.data[1].record(&ns(), "org-1", "712020:aaaa");
        assert_eq!(unmanaged.email, None);
        assert_eq!(unmanaged.email_source, None);
        assert!(unmanaged.product_access.is_empty());
        assert_eq!(unmanaged.last_active, None);
    }

    #[test]
    fn tokens_are_judged_stale_expiring_or_never_expiring() {
        let page: crate::http::page::CursorPage<Credential> = fixture("api-tokens.json");
        let secrets: Vec<_> = page
            .data
            .iter()
            .filter_map(|t| t.record(&ns(), "org-1", "api_token", None, ageing()))
            .collect();
        assert_eq!(secrets.len(), 4, "the token without an id is skipped");
        let by_label = |label: &str| {
            secrets
                .iter()
                .find(|s| s.label.as_deref() == Some(label))
                .unwrap()
        };
        let stale = by_label("old ci");
        assert!(stale.stale && !stale.never_expires && !stale.expiring_soon);
        assert_eq!(stale.owner_email.as_deref(), Some("mia@acme.com"));
        let expiring = by_label("deploy");
        assert!(expiring.expiring_soon && !expiring.stale && !expiring.expired);
        let forever = by_label("forever");
        assert!(forever.never_expires && !forever.stale);
        let unused = by_label("never used");
        assert!(
            unused.stale,
            "never used for 200 days counts from its creation"
        );
        assert_eq!(unused.scopes, ["read:jira-work"]);
        assert!(!format!("{secrets:?}").contains("secretValue"));
    }

    #[test]
    fn events_become_event_records() {
        let page: crate::http::page::CursorPage<Event> = fixture("events-stream.json");
        assert_eq!(page.next(), Some("c2"));
        let event = page.data[0].record(&ns()).unwrap();
        assert_eq!(event.event_id, "ev-1");
        assert_eq!(event.action, "user_added_to_group");
        assert_eq!(
            event.actor_account_id.as_deref(),
            Some("5b10a2844c20165700ede21g")
        );
        assert_eq!(event.ip.as_deref(), Some("203.0.113.7"));
        assert_eq!(event.object_type.as_deref(), Some("groups"));
        assert_eq!(event.object_name.as_deref(), Some("site-admins"));
        assert_eq!(event.id, "acme.atlassian.net/event/admin.events/ev-1");
    }

    #[test]
    fn only_verified_domains_count() {
        let domains: Vec<Domain> = serde_json::from_str(
            r#"[{"attributes":{"name":"acme.com","claim":{"status":"VERIFIED"}}},
                {"attributes":{"name":"pending.com","claim":{"status":"UNVERIFIED"}}},
                {"attributes":{"name":"plain.com"}}]"#,
        )
        .unwrap();
        let names: Vec<_> = domains.iter().filter_map(Domain::verified_name).collect();
        assert_eq!(names, ["acme.com", "plain.com"]);
    }

    #[test]
    fn plain_dates_and_date_times_parse() {
        assert!(parse_time("2023-01-19").is_some());
        assert!(parse_time("2026-11-20T09:30:00Z").is_some());
        assert!(parse_time("2026-11-20T09:30:00.123+00:00").is_some());
        assert!(parse_time("yesterday").is_none());
    }
}
