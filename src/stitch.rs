//! Joining what several products report about the same entity, so each appears once.
//!
//! - Users: Jira (the site's view) and the Org Admin directory (the organisation's view) know
//!   the same people by the same account id. When both run, [`Stitcher`] holds whichever side
//!   arrives first and emits one merged `user` record when the other side has seen the account;
//!   accounts only one side knows are emitted at the end. Only unmatched accounts are held.
//! - Groups: Jira and Confluence list the same site groups with the same ids, and a site's
//!   groups are also the organisation's. [`SeenGroups`] records which group records and which
//!   complete member lists were emitted; the site's products run one after the other, and the
//!   Admin directory waits for them ([`SiteDone`]) before adding what they did not report. The
//!   result is the same on every run, whatever order responses arrive in.
//! - JSM customers: Jira's users/search lists customer accounts too. [`SiteUsers`] keeps the
//!   account ids Jira emitted; JSM, which runs after Jira, emits a `user` record only for a
//!   customer not among them (portal-only accounts users/search did not return), once.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use tokio::sync::watch;

use crate::record::User;

/// Which product saw an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Jira,
    Admin,
}

/// Holds one side's user records until the other side sees the same account.
#[derive(Debug, Default)]
pub struct Stitcher {
    pending: Mutex<HashMap<String, (Side, User)>>,
}

impl Stitcher {
    /// A user one side saw. Returns the record to emit now: merged when the other side has
    /// already seen the account; `None` while it waits for the other side.
    pub fn offer(&self, side: Side, user: User) -> Option<User> {
        let mut pending = self.lock();
        match pending.remove(&user.account_id) {
            Some((other_side, other)) if other_side != side => Some(match side {
                Side::Jira => merge(user, other),
                Side::Admin => merge(other, user),
            }),
            // The same side twice (a listing repeated an account): keep the first.
            Some(first) => {
                pending.insert(user.account_id.clone(), first);
                None
            }
            None => {
                pending.insert(user.account_id.clone(), (side, user));
                None
            }
        }
    }

    /// The accounts only one side saw, in id order so the output is stable.
    pub fn drain(&self) -> Vec<User> {
        let mut users: Vec<User> = self.lock().drain().map(|(_, (_, user))| user).collect();
        users.sort_by(|a, b| a.id.cmp(&b.id));
        users
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Side, User)>> {
        lock(&self.pending)
    }
}

/// One record from the site's and the organisation's view of an account: the site's facts
/// (active on the site, time zone) with the organisation's added, and the email filled in from
/// the directory where the site's privacy settings hide it.
pub fn merge(jira: User, admin: User) -> User {
    let (email, email_source) = match (jira.email, admin.email) {
        (Some(email), _) => (Some(email), jira.email_source),
        (None, Some(email)) => (Some(email), Some("admin".to_string())),
        (None, None) => (None, None),
    };
    User {
        id: jira.id,
        site: jira.site,
        account_id: jira.account_id,
        account_type: jira.account_type.or(admin.account_type),
        display_name: jira.display_name.or(admin.display_name),
        email,
        active: jira.active,
        time_zone: jira.time_zone.or(admin.time_zone),
        locale: jira.locale.or(admin.locale),
        source: "jira+admin".to_string(),
        email_source,
        ..admin
    }
}

/// Which groups were emitted, and whose members were all emitted, by an earlier product of the
/// run. Holds group record ids only.
#[derive(Debug, Default)]
pub struct SeenGroups {
    emitted: Mutex<HashSet<String>>,
    members_listed: Mutex<HashSet<String>>,
}

impl SeenGroups {
    /// True the first time `id` (a group record id) is offered: emit it then, and only then.
    pub fn first_sight(&self, id: &str) -> bool {
        lock(&self.emitted).insert(id.to_string())
    }

    /// True when another product already emitted every member of the group.
    pub fn members_listed(&self, id: &str) -> bool {
        lock(&self.members_listed).contains(id)
    }

    /// Every member of the group was emitted, without a failed page.
    pub fn mark_members_listed(&self, id: &str) {
        lock(&self.members_listed).insert(id.to_string());
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Account ids already emitted as `user` records by a site product (Jira first, then JSM).
#[derive(Debug, Default)]
pub struct SiteUsers {
    emitted: Mutex<HashSet<String>>,
}

impl SiteUsers {
    /// True the first time `account_id` is offered: emit its record then, and only then.
    pub fn first_sight(&self, account_id: &str) -> bool {
        lock(&self.emitted).insert(account_id.to_string())
    }
}

/// Signals that the site's products are done, so [`SeenGroups`] is final for the site.
#[derive(Debug)]
pub struct SiteDone {
    done: watch::Sender<bool>,
}

impl Default for SiteDone {
    fn default() -> Self {
        SiteDone {
            done: watch::Sender::new(false),
        }
    }
}

impl SiteDone {
    pub fn finish(&self) {
        self.done.send_replace(true);
    }

    /// Waits until the site's products are done (at once if they already are).
    pub async fn wait(&self) {
        let mut receiver = self.done.subscribe();
        // An error means the sender is gone: nothing will ever finish, so do not wait.
        let _ = receiver.wait_for(|done| *done).await;
    }
}

/// Join state shared by the products of one run.
#[derive(Debug, Default)]
pub struct Shared {
    /// Present when both the site and the Admin directory report users.
    pub stitcher: Option<Stitcher>,
    pub site_done: SiteDone,
    /// Accounts the site's products emitted, so JSM does not repeat Jira's.
    pub site_users: SiteUsers,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn jira(account_id: &str, email: Option<&str>) -> User {
        User {
            id: format!("acme/user/{account_id}"),
            account_id: account_id.into(),
            email: email.map(String::from),
            email_source: email.map(|_| "jira".to_string()),
            active: Some(true),
            time_zone: Some("Europe/Berlin".into()),
            source: "jira".into(),
            ..User::default()
        }
    }

    fn admin(account_id: &str, email: Option<&str>) -> User {
        User {
            id: format!("acme/user/{account_id}"),
            account_id: account_id.into(),
            email: email.map(String::from),
            email_source: email.map(|_| "admin".to_string()),
            claim_status: Some("managed".into()),
            platform_roles: vec!["atlassian/org-admin".into()],
            source: "admin".into(),
            ..User::default()
        }
    }

    #[test]
    fn the_hidden_email_is_filled_from_the_directory() {
        let merged = merge(jira("a1", None), admin("a1", Some("mia@acme.com")));
        assert_eq!(merged.email.as_deref(), Some("mia@acme.com"));
        assert_eq!(merged.email_source.as_deref(), Some("admin"));
        assert_eq!(merged.source, "jira+admin");
        assert_eq!(merged.time_zone.as_deref(), Some("Europe/Berlin"));
        assert_eq!(merged.claim_status.as_deref(), Some("managed"));
        assert_eq!(merged.platform_roles, ["atlassian/org-admin"]);
    }

    #[test]
    fn a_visible_email_stays_jiras() {
        let merged = merge(
            jira("a1", Some("j@acme.com")),
            admin("a1", Some("a@acme.com")),
        );
        assert_eq!(merged.email.as_deref(), Some("j@acme.com"));
        assert_eq!(merged.email_source.as_deref(), Some("jira"));
        let merged = merge(jira("a1", None), admin("a1", None));
        assert_eq!((merged.email, merged.email_source), (None, None));
    }

    #[test]
    fn each_account_comes_out_once_whichever_side_is_first() {
        let stitcher = Stitcher::default();
        assert!(stitcher.offer(Side::Jira, jira("a1", None)).is_none());
        assert!(stitcher.offer(Side::Admin, admin("a2", None)).is_none());
        let merged = stitcher.offer(Side::Admin, admin("a1", Some("x@acme.com")));
        assert_eq!(merged.unwrap().source, "jira+admin");
        let merged = stitcher.offer(Side::Jira, jira("a2", None)).unwrap();
        assert_eq!(merged.source, "jira+admin");
        assert!(stitcher.offer(Side::Jira, jira("a3", None)).is_none());
        assert!(
            stitcher.offer(Side::Jira, jira("a3", None)).is_none(),
            "a repeat is held once"
        );
        let left: Vec<String> = stitcher.drain().into_iter().map(|u| u.account_id).collect();
        assert_eq!(left, ["a3"]);
        assert!(stitcher.drain().is_empty());
    }

    #[tokio::test]
    async fn admin_waits_until_the_site_is_done() {
        let done = Arc::new(SiteDone::default());
        let waiter = tokio::spawn({
            let done = Arc::clone(&done);
            async move { done.wait().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        done.finish();
        waiter.await.unwrap();
        done.wait().await;
    }

    #[test]
    fn seen_groups_let_one_product_emit_each_group() {
        let seen = SeenGroups::default();
        assert!(seen.first_sight("g1"));
        assert!(!seen.first_sight("g1"));
        assert!(!seen.members_listed("g1"));
        seen.mark_members_listed("g1");
        assert!(seen.members_listed("g1"));
    }
}
