//! Joining what several products report about the same entity, so each appears once.
//!
//! - Users: Jira (the site's view) and the Org Admin directory (the organisation's view) know
//!   the same people by the same account id, in unrelated orders. When both run, [`Stitcher`]
//!   holds whichever side arrives first and emits one merged `user` record when the other side
//!   has seen the account; accounts only one side knows are emitted at the end. A held record
//!   waits in an unlinked temporary file (mode 0600), so memory keeps only account ids and
//!   offsets however many accounts are waiting.
//! - Groups: Jira and Confluence list the same site groups with the same ids, and a site's
//!   groups are also the organisation's. [`SeenGroups`] records which group records were
//!   emitted and which groups a site product listed (and so lists the members of). The products
//!   run concurrently; a fixed precedence keeps the output the same on every run: Confluence's
//!   group listing waits until Jira's listing is done ([`Shared::jira_groups_listed`]) and takes
//!   only the groups Jira did not list; the Admin directory's groups and memberships wait until
//!   both listings are done ([`Shared::confluence_groups_listed`]) and take only the groups
//!   neither listed. Only the listings are waited for, never the member lists, so the
//!   directory's long cursor walk starts within seconds.
//! - JSM customers: Jira's users/search lists customer accounts too. [`SiteUsers`] keeps the
//!   account ids Jira emitted; JSM waits until Jira's users are done ([`Shared::jira_users`])
//!   and emits a `user` record only for a customer not among them, once.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
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
    held: Mutex<Held>,
}

/// The accounts waiting for their other side: ids in memory, records in the spill file.
#[derive(Debug, Default)]
struct Held {
    index: HashMap<String, (Side, Slot)>,
    /// Created on first use; `None` also when it could not be created (records stay in memory).
    spill: Option<File>,
    spill_failed: bool,
    end: u64,
}

/// Where a held record is.
#[derive(Debug)]
enum Slot {
    Spilled {
        offset: u64,
        len: usize,
    },
    /// The spill file could not be written: the record is kept in memory instead.
    Kept(Box<User>),
}

impl Stitcher {
    /// A user one side saw. Returns the record to emit now: merged when the other side has
    /// already seen the account; `None` while it waits for the other side.
    pub fn offer(&self, side: Side, user: User) -> Option<User> {
        let mut held = lock(&self.held);
        match held.index.remove(&user.account_id) {
            Some((other_side, slot)) if other_side != side => {
                let Some(other) = held.load(slot) else {
                    // The other side's record is unreadable: keep what this side knows.
                    return Some(user);
                };
                Some(match side {
                    Side::Jira => merge(user, other),
                    Side::Admin => merge(other, user),
                })
            }
            // The same side twice (a listing repeated an account): keep the first.
            Some(first) => {
                held.index.insert(user.account_id.clone(), first);
                None
            }
            None => {
                let account_id = user.account_id.clone();
                let slot = held.store(user);
                held.index.insert(account_id, (side, slot));
                None
            }
        }
    }

    /// Takes the accounts only one side saw, to be read one at a time in id order, so the
    /// output is stable and the leftovers never all sit in memory at once.
    pub fn leftovers(&self) -> Leftovers {
        let mut held = std::mem::take(&mut *lock(&self.held));
        let mut slots: Vec<(String, Slot)> = held
            .index
            .drain()
            .map(|(account_id, (_, slot))| (account_id, slot))
            .collect();
        slots.sort_by(|a, b| a.0.cmp(&b.0));
        Leftovers {
            held,
            slots: slots.into_iter(),
        }
    }
}

impl Held {
    fn store(&mut self, user: User) -> Slot {
        if let Some(slot) = self.spill(&user) {
            return slot;
        }
        Slot::Kept(Box::new(user))
    }

    fn spill(&mut self, user: &User) -> Option<Slot> {
        if self.spill_failed {
            return None;
        }
        let written = (|| -> std::io::Result<Slot> {
            let bytes = serde_json::to_vec(user)?;
            if self.spill.is_none() {
                self.spill = Some(tempfile::tempfile()?);
            }
            let file = self.spill.as_mut().expect("spill file just created");
            file.seek(SeekFrom::Start(self.end))?;
            file.write_all(&bytes)?;
            let slot = Slot::Spilled {
                offset: self.end,
                len: bytes.len(),
            };
            self.end += bytes.len() as u64;
            Ok(slot)
        })();
        match written {
            Ok(slot) => Some(slot),
            Err(error) => {
                tracing::warn!(
                    "cannot use a temporary file for accounts waiting to be joined ({error});                      keeping them in memory"
                );
                self.spill_failed = true;
                None
            }
        }
    }

    fn load(&mut self, slot: Slot) -> Option<User> {
        let (offset, len) = match slot {
            Slot::Kept(user) => return Some(*user),
            Slot::Spilled { offset, len } => (offset, len),
        };
        let read = (|| -> std::io::Result<User> {
            let file = self
                .spill
                .as_mut()
                .ok_or_else(|| std::io::Error::other("no spill file"))?;
            file.seek(SeekFrom::Start(offset))?;
            let mut bytes = vec![0; len];
            file.read_exact(&mut bytes)?;
            Ok(serde_json::from_slice(&bytes)?)
        })();
        match read {
            Ok(user) => Some(user),
            Err(error) => {
                tracing::error!("cannot read back a held account record: {error}");
                None
            }
        }
    }
}

/// The accounts only one side saw, read back one at a time.
pub struct Leftovers {
    held: Held,
    slots: std::vec::IntoIter<(String, Slot)>,
}

impl Iterator for Leftovers {
    type Item = User;

    fn next(&mut self) -> Option<User> {
        loop {
            let (_, slot) = self.slots.next()?;
            if let Some(user) = self.held.load(slot) {
                return Some(user);
            }
        }
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

/// Which groups were emitted, and which a site product listed (and so lists the members of).
/// Holds group record ids only.
#[derive(Debug, Default)]
pub struct SeenGroups {
    emitted: Mutex<HashSet<String>>,
    site_listed: Mutex<HashSet<String>>,
}

impl SeenGroups {
    /// True the first time `id` (a group record id) is offered: emit it then, and only then.
    pub fn first_sight(&self, id: &str) -> bool {
        lock(&self.emitted).insert(id.to_string())
    }

    /// A site product listed the group: its members come from that product. True when
    /// this call is the first to say so.
    pub fn mark_site_listed(&self, id: &str) -> bool {
        lock(&self.site_listed).insert(id.to_string())
    }

    /// Whether a site product listed the group (and so lists its members).
    pub fn site_listed(&self, id: &str) -> bool {
        lock(&self.site_listed).contains(id)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Account ids already emitted as `user` records by a site product (Jira; JSM waits for Jira's users, then adds the rest).
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

/// A point in the run other products wait for (a family finished). Reached once, for good.
#[derive(Debug)]
pub struct Milestone {
    reached: watch::Sender<bool>,
}

impl Default for Milestone {
    fn default() -> Self {
        Milestone {
            reached: watch::Sender::new(false),
        }
    }
}

impl Milestone {
    pub fn reach(&self) {
        self.reached.send_replace(true);
    }

    /// Reaches the milestone when the returned guard is dropped: at the end of the family's
    /// work however it ends, so no waiter is left waiting.
    pub fn reached_on_drop(&self) -> ReachOnDrop<'_> {
        ReachOnDrop(self)
    }

    /// Waits until the milestone is reached (at once if it already is).
    pub async fn wait(&self) {
        let mut receiver = self.reached.subscribe();
        // An error means the sender is gone: nothing will ever reach it, so do not wait.
        let _ = receiver.wait_for(|reached| *reached).await;
    }
}

/// See [`Milestone::reached_on_drop`].
pub struct ReachOnDrop<'a>(&'a Milestone);

impl Drop for ReachOnDrop<'_> {
    fn drop(&mut self) {
        self.0.reach();
    }
}

/// Join state shared by the products of one run.
#[derive(Debug, Default)]
pub struct Shared {
    /// Present when both the site and the Admin directory report users.
    pub stitcher: Option<Stitcher>,
    /// Accounts the site's products emitted, so JSM does not repeat Jira's.
    pub site_users: SiteUsers,
    /// Jira's users are all emitted (or Jira is not collected): JSM's customers may follow.
    pub jira_users: Milestone,
    /// Jira's group listing is done (or Jira is not collected): Confluence's may follow.
    pub jira_groups_listed: Milestone,
    /// Confluence's group listing is done (or Confluence is not collected): with
    /// [`Shared::jira_groups_listed`], the site's groups are final for the Admin directory.
    pub confluence_groups_listed: Milestone,
}

impl Shared {
    /// Waits until the site's products have listed every group they will.
    pub async fn site_groups_listed(&self) {
        self.jira_groups_listed.wait().await;
        self.confluence_groups_listed.wait().await;
    }
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
        let left: Vec<String> = stitcher.leftovers().map(|u| u.account_id).collect();
        assert_eq!(left, ["a3"]);
        assert_eq!(stitcher.leftovers().count(), 0);
    }

    #[test]
    fn a_held_account_comes_back_whole_from_the_spill_file() {
        let stitcher = Stitcher::default();
        let mut held = admin("a1", Some("mia@acme.com"));
        held.product_access = vec![crate::record::ProductAccess {
            product: "jira-software".into(),
            resource: Some("ari:cloud:jira-software::site/1".into()),
            last_active: Some("2026-11-01T10:00:00Z".into()),
        }];
        held.mfa_enabled = Some(false);
        assert!(stitcher.offer(Side::Admin, held.clone()).is_none());
        assert!(stitcher.offer(Side::Admin, admin("a2", None)).is_none());
        let merged = stitcher.offer(Side::Jira, jira("a1", None)).unwrap();
        assert_eq!(merged, merge(jira("a1", None), held));
        let left: Vec<User> = stitcher.leftovers().collect();
        assert_eq!(left, [admin("a2", None)]);
    }

    #[tokio::test]
    async fn a_milestone_releases_its_waiters_once_reached() {
        let done = Arc::new(Milestone::default());
        let waiter = tokio::spawn({
            let done = Arc::clone(&done);
            async move { done.wait().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        drop(done.reached_on_drop());
        waiter.await.unwrap();
        done.wait().await;
    }

    #[test]
    fn seen_groups_let_one_product_emit_each_group() {
        let seen = SeenGroups::default();
        assert!(seen.first_sight("g1"));
        assert!(!seen.first_sight("g1"));
        assert!(!seen.site_listed("g1"));
        assert!(seen.mark_site_listed("g1"));
        assert!(!seen.mark_site_listed("g1"));
        assert!(seen.site_listed("g1"));
    }
}
