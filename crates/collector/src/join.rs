//! Joining what several products report about the same entity, so each appears once. Two types,
//! each the only place its rule lives:
//!
//! - [`Users`], the join stage beside the writer: Jira's users/search (the site's view), JSM's
//!   customers and the Org Admin directory (the organisation's view) know the same people by
//!   the same account id, in unrelated orders. Products send what they see, tagged with a
//!   [`Side`]; the writer asks [`Users::offer`] what to write. One `user` record per account:
//!   the site's (Jira's, else JSM's) merged with the directory's. A record that may still be
//!   joined waits in an unlinked temporary file (mode 0600), so memory keeps only account ids
//!   and offsets however many wait; what is left at the end is written in account-id order.
//!   Products never wait for each other's users.
//! - [`GroupClaims`], the precedence of group listings: Jira and Confluence list the same site
//!   groups with the same ids, and a site's groups are also the organisation's. The product
//!   that writes a group also writes its members, so which one it is must not depend on timing:
//!   Jira first, then Confluence (for the groups Jira did not list), then the Admin directory
//!   (for the groups neither listed). A listing takes its [`Turn`], which waits until the
//!   listings before it are done, and claims each group it would write. Only the listings are
//!   waited for, never the member lists, so the directory's long cursor walk starts early. A
//!   listing the run does not make is never waited for.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::sync::Mutex;

use futures_util::{stream, Stream, StreamExt};
use tokio::sync::watch;

use crate::record::User;

/// Which product saw an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// Jira's users/search: the site's accounts.
    Jira,
    /// A JSM customer or organisation member: a site account Jira may list too.
    Jsm,
    /// The Org Admin directory.
    Admin,
}

/// Which products report users in this run.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sides {
    pub jira: bool,
    pub jsm: bool,
    pub admin: bool,
}

/// The user join: one record per account, whichever products saw it, in whatever order.
#[derive(Debug)]
pub struct Users {
    sides: Sides,
    /// Every account seen, by the fingerprint of its id.
    accounts: HashMap<u128, Account>,
    held: Held,
}

/// An account id's fingerprint: two SipHashes of it, 128 bits, so the join keeps 16 bytes per
/// account rather than its id. Two ids of one tenant colliding in both halves is about as likely
/// as 1 in 10^27 for a million accounts; the hashers' keys are fixed, so the order of the
/// accounts written last is the same from run to run.
fn fingerprint(account_id: &str) -> u128 {
    use std::hash::{Hash, Hasher};
    let half = |salt: u8| {
        let mut hasher = std::hash::DefaultHasher::new();
        salt.hash(&mut hasher);
        account_id.hash(&mut hasher);
        hasher.finish()
    };
    (u128::from(half(1)) << 64) | u128::from(half(2))
}

/// Where an account stands.
#[derive(Debug)]
enum Account {
    /// Its record is written; anything more about it is a repeat.
    Written,
    /// Jira's record, waiting for the directory's.
    Jira(Slot),
    /// The directory's record, waiting for the site's.
    Admin(Slot),
    /// JSM's record (and the directory's, when it came), waiting for the end of the run: Jira's
    /// record of the account, if Jira lists it, takes precedence.
    Jsm(Slot, Option<Slot>),
}

impl Users {
    pub fn new(sides: Sides) -> Self {
        Users {
            sides,
            accounts: HashMap::new(),
            held: Held::default(),
        }
    }

    /// A user one product saw. Returns the record to write now, if any.
    pub fn offer(&mut self, side: Side, user: User) -> Option<User> {
        // Without Jira in the run, JSM's accounts are the site's.
        let side = match side {
            Side::Jsm if !self.sides.jira => Side::Jira,
            side => side,
        };
        let id = fingerprint(&user.account_id);
        let account = self.accounts.remove(&id);
        let (account, ready) = match (side, account) {
            (_, Some(Account::Written)) => (Account::Written, None),
            (Side::Jira, None | Some(Account::Jsm(_, None))) if !self.sides.admin => {
                (Account::Written, Some(user))
            }
            (Side::Jira, None | Some(Account::Jsm(_, None))) => {
                (Account::Jira(self.held.store(user)), None)
            }
            (Side::Jira, Some(Account::Admin(admin) | Account::Jsm(_, Some(admin)))) => {
                let admin = self.held.load(admin);
                (Account::Written, merge_or_keep(user, admin))
            }
            (Side::Jira | Side::Jsm, Some(held @ (Account::Jira(_) | Account::Jsm(..)))) => {
                (held, None)
            }
            (Side::Jsm, None) => (Account::Jsm(self.held.store(user), None), None),
            (Side::Jsm, Some(Account::Admin(admin))) => {
                (Account::Jsm(self.held.store(user), Some(admin)), None)
            }
            (Side::Admin, None) if !(self.sides.jira || self.sides.jsm) => {
                (Account::Written, Some(user))
            }
            (Side::Admin, None) => (Account::Admin(self.held.store(user)), None),
            (Side::Admin, Some(Account::Jira(site))) => match self.held.load(site) {
                Some(site) => (Account::Written, Some(merge(site, user))),
                // The site's record is unreadable: keep what the directory knows.
                None => (Account::Written, Some(user)),
            },
            (Side::Admin, Some(Account::Jsm(site, None))) => {
                (Account::Jsm(site, Some(self.held.store(user))), None)
            }
            // The directory repeated an account: the first is kept.
            (Side::Admin, Some(held @ (Account::Admin(_) | Account::Jsm(_, Some(_))))) => {
                (held, None)
            }
        };
        self.accounts.insert(id, account);
        ready
    }

    /// The accounts still waiting, joined as far as they can be, one at a time in fingerprint
    /// order, so the output is stable and they never all sit in memory at once.
    pub fn leftovers(self) -> impl Iterator<Item = User> {
        let Users {
            accounts, mut held, ..
        } = self;
        let mut waiting: Vec<(u128, Account)> = accounts
            .into_iter()
            .filter(|(_, account)| !matches!(account, Account::Written))
            .collect();
        waiting.sort_by_key(|(key, _)| *key);
        waiting
            .into_iter()
            .filter_map(move |(_, account)| match account {
                Account::Written => None,
                Account::Jira(slot) | Account::Admin(slot) | Account::Jsm(slot, None) => {
                    held.load(slot)
                }
                Account::Jsm(site, Some(admin)) => {
                    let admin = held.load(admin);
                    match held.load(site) {
                        Some(site) => merge_or_keep(site, admin),
                        None => admin,
                    }
                }
            })
    }
}

/// The site's record, merged with the directory's when that one could be read back.
fn merge_or_keep(site: User, admin: Option<User>) -> Option<User> {
    Some(match admin {
        Some(admin) => merge(site, admin),
        None => site,
    })
}

/// One record from the site's and the organisation's view of an account: the site's facts
/// (active on the site, time zone) with the organisation's added, and the email filled in from
/// the directory where the site's privacy settings hide it.
pub(crate) fn merge(site: User, admin: User) -> User {
    let (email, email_source) = match (site.email, admin.email) {
        (Some(email), _) => (Some(email), site.email_source),
        (None, Some(email)) => (Some(email), Some("admin".to_string())),
        (None, None) => (None, None),
    };
    User {
        id: site.id,
        site: site.site,
        account_id: site.account_id,
        account_type: site.account_type.or(admin.account_type),
        display_name: site.display_name.or(admin.display_name),
        email,
        active: site.active,
        time_zone: site.time_zone.or(admin.time_zone),
        locale: site.locale.or(admin.locale),
        source: "jira+admin".to_string(),
        email_source,
        ..admin
    }
}

/// Records waiting to be joined: in the spill file, or in memory if it cannot be written.
#[derive(Debug, Default)]
struct Held {
    /// Created on first use.
    spill: Option<File>,
    spill_failed: bool,
    end: u64,
}

/// Where a held record is. Small: the join keeps one per waiting account.
#[derive(Debug)]
enum Slot {
    Spilled {
        offset: u64,
        len: u32,
    },
    /// The spill file could not be written: the record is kept in memory instead.
    Kept(Box<User>),
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
            let file = match &mut self.spill {
                Some(file) => file,
                None => self.spill.insert(tempfile::tempfile()?),
            };
            file.seek(SeekFrom::Start(self.end))?;
            file.write_all(&bytes)?;
            let slot = Slot::Spilled {
                offset: self.end,
                len: u32::try_from(bytes.len()).map_err(std::io::Error::other)?,
            };
            self.end += bytes.len() as u64;
            Ok(slot)
        })();
        match written {
            Ok(slot) => Some(slot),
            Err(error) => {
                tracing::warn!(
                    "cannot use a temporary file for accounts waiting to be joined ({error}); \
                     keeping them in memory"
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
            let mut bytes = vec![0; len as usize];
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

/// A listing of groups, in the order of precedence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lister {
    Jira,
    Confluence,
    /// The Org Admin directory: last, it takes what the site did not list.
    Directory,
}

/// Which listing writes each group (by record id), and when each site listing is done.
#[derive(Debug)]
pub struct GroupClaims {
    claimed: Mutex<HashMap<String, Lister>>,
    jira_done: watch::Sender<bool>,
    confluence_done: watch::Sender<bool>,
}

impl GroupClaims {
    /// `jira`, `confluence`: whether those products list groups in this run. A listing the run
    /// does not make counts as done from the start.
    pub fn new(jira: bool, confluence: bool) -> Self {
        GroupClaims {
            claimed: Mutex::new(HashMap::new()),
            jira_done: watch::Sender::new(!jira),
            confluence_done: watch::Sender::new(!confluence),
        }
    }

    /// `who`'s turn, once every listing before it is done. `who`'s own listing is done when the
    /// turn is dropped, or when [`GroupClaims::done`] says so, whichever comes first.
    pub async fn turn(&self, who: Lister) -> Turn<'_> {
        let before: &[&watch::Sender<bool>] = match who {
            Lister::Jira => &[],
            Lister::Confluence => &[&self.jira_done],
            Lister::Directory => &[&self.jira_done, &self.confluence_done],
        };
        for done in before {
            // The senders live as long as `self`: the wait ends only when the flag is set.
            let _ = done.subscribe().wait_for(|done| *done).await;
        }
        Turn { claims: self, who }
    }

    /// `who`'s listing is over (its product ended, however it ended).
    pub fn done(&self, who: Lister) {
        match who {
            Lister::Jira => self.jira_done.send_replace(true),
            Lister::Confluence => self.confluence_done.send_replace(true),
            Lister::Directory => false,
        };
    }

    fn claimed(&self) -> std::sync::MutexGuard<'_, HashMap<String, Lister>> {
        self.claimed
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// One listing's turn to claim groups.
#[derive(Debug)]
pub struct Turn<'a> {
    claims: &'a GroupClaims,
    who: Lister,
}

impl<'a> Turn<'a> {
    /// True when this listing writes the group (and, for a site listing, its members): no
    /// listing claimed it before.
    pub fn claim(&self, group: &str) -> bool {
        let mut claimed = self.claims.claimed();
        if claimed.contains_key(group) {
            return false;
        }
        claimed.insert(group.to_string(), self.who);
        true
    }

    /// Whether a site product (Jira or Confluence) listed the group, and so lists its members.
    pub fn listed_by_site(&self, group: &str) -> bool {
        matches!(
            self.claims.claimed().get(group),
            Some(Lister::Jira | Lister::Confluence)
        )
    }

    /// The items of `listing` this turn claims (`group` names each item's group record id); the
    /// turn ends with the listing, not with the work done on its items.
    pub fn claiming<T, E, S, G>(
        self,
        listing: S,
        group: G,
    ) -> impl Stream<Item = Result<T, E>> + use<'a, T, E, S, G>
    where
        S: Stream<Item = Result<T, E>>,
        G: Fn(&T) -> String,
    {
        let listing = Box::pin(listing);
        stream::unfold(
            (Some(self), listing, group),
            |(turn, mut listing, group)| async move {
                let turn = turn?;
                loop {
                    match listing.next().await {
                        Some(Ok(item)) if turn.claim(&group(&item)) => {
                            return Some((Ok(item), (Some(turn), listing, group)))
                        }
                        Some(Ok(_)) => continue,
                        Some(Err(error)) => return Some((Err(error), (None, listing, group))),
                        None => return None,
                    }
                }
            },
        )
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        self.claims.done(self.who);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn an_account_waiting_to_be_joined_takes_little_memory() {
        assert!(std::mem::size_of::<Account>() <= 40);
    }

    fn user(account_id: &str, source: &str, email: Option<&str>) -> User {
        User {
            id: format!("acme/user/{account_id}"),
            account_id: account_id.into(),
            email: email.map(String::from),
            email_source: email.map(|_| source.to_string()),
            active: (source != "admin").then_some(true),
            time_zone: (source == "jira").then(|| "Europe/Berlin".into()),
            claim_status: (source == "admin").then(|| "managed".into()),
            platform_roles: if source == "admin" {
                vec!["atlassian/org-admin".into()]
            } else {
                Vec::new()
            },
            source: source.into(),
            ..User::default()
        }
    }

    fn jira(account_id: &str, email: Option<&str>) -> User {
        user(account_id, "jira", email)
    }

    fn jsm(account_id: &str) -> User {
        user(account_id, "jsm", None)
    }

    fn admin(account_id: &str, email: Option<&str>) -> User {
        user(account_id, "admin", email)
    }

    const ALL: Sides = Sides {
        jira: true,
        jsm: true,
        admin: true,
    };

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
        let mut users = Users::new(ALL);
        assert!(users.offer(Side::Jira, jira("a1", None)).is_none());
        assert!(users.offer(Side::Admin, admin("a2", None)).is_none());
        let merged = users.offer(Side::Admin, admin("a1", Some("x@acme.com")));
        assert_eq!(merged.unwrap().source, "jira+admin");
        let merged = users.offer(Side::Jira, jira("a2", None)).unwrap();
        assert_eq!(merged.source, "jira+admin");
        assert!(
            users.offer(Side::Jira, jira("a2", None)).is_none(),
            "written"
        );
        assert!(users.offer(Side::Jira, jira("a3", None)).is_none());
        assert!(
            users.offer(Side::Jira, jira("a3", None)).is_none(),
            "a repeat is held once"
        );
        let left: Vec<String> = users.leftovers().map(|u| u.account_id).collect();
        assert_eq!(left, ["a3"]);
    }

    #[test]
    fn jiras_record_of_a_customer_wins_over_jsms_whenever_it_comes() {
        let mut users = Users::new(ALL);
        // JSM first, then Jira, then the directory.
        assert!(users.offer(Side::Jsm, jsm("c1")).is_none());
        assert!(users.offer(Side::Jira, jira("c1", None)).is_none());
        let merged = users.offer(Side::Admin, admin("c1", None)).unwrap();
        assert_eq!(merged.time_zone.as_deref(), Some("Europe/Berlin"));
        // The directory first, then JSM, then Jira.
        assert!(users.offer(Side::Admin, admin("c2", None)).is_none());
        assert!(users.offer(Side::Jsm, jsm("c2")).is_none());
        let merged = users.offer(Side::Jira, jira("c2", None)).unwrap();
        assert_eq!(merged.time_zone.as_deref(), Some("Europe/Berlin"));
        assert!(users.offer(Side::Jsm, jsm("c2")).is_none(), "written");
        // A portal-only customer: JSM's record at the end, with the directory's if any.
        assert!(users.offer(Side::Jsm, jsm("c3")).is_none());
        assert!(users.offer(Side::Jsm, jsm("c4")).is_none());
        assert!(users.offer(Side::Admin, admin("c4", None)).is_none());
        let mut left: Vec<User> = users.leftovers().collect();
        left.sort_by(|a, b| a.account_id.cmp(&b.account_id));
        assert_eq!(left.len(), 2);
        assert_eq!(left[0].source, "jsm");
        assert_eq!(left[1].source, "jira+admin");
        assert_eq!(left[1].claim_status.as_deref(), Some("managed"));
    }

    #[test]
    fn without_the_directory_site_records_are_written_at_once() {
        let mut users = Users::new(Sides {
            jira: true,
            jsm: true,
            admin: false,
        });
        assert_eq!(
            users.offer(Side::Jira, jira("a1", None)).unwrap().source,
            "jira"
        );
        assert!(users.offer(Side::Jsm, jsm("a1")).is_none());
        assert!(
            users.offer(Side::Jsm, jsm("c1")).is_none(),
            "Jira may list it later"
        );
        assert_eq!(users.leftovers().count(), 1);
        // Without Jira, JSM's accounts are the site's.
        let mut users = Users::new(Sides {
            jira: false,
            jsm: true,
            admin: false,
        });
        assert_eq!(users.offer(Side::Jsm, jsm("c1")).unwrap().source, "jsm");
        assert!(users.offer(Side::Jsm, jsm("c1")).is_none());
        assert_eq!(users.leftovers().count(), 0);
        // The directory alone.
        let mut users = Users::new(Sides {
            admin: true,
            ..Sides::default()
        });
        assert!(users.offer(Side::Admin, admin("a1", None)).is_some());
    }

    #[test]
    fn a_held_account_comes_back_whole_from_the_spill_file() {
        let mut users = Users::new(ALL);
        let mut held = admin("a1", Some("mia@acme.com"));
        held.product_access = vec![crate::record::ProductAccess {
            product: "jira-software".into(),
            resource: Some("ari:cloud:jira-software::site/1".into()),
            last_active: Some("2026-11-01T10:00:00Z".into()),
        }];
        held.mfa_enabled = Some(false);
        assert!(users.offer(Side::Admin, held.clone()).is_none());
        assert!(users.offer(Side::Admin, admin("a2", None)).is_none());
        let merged = users.offer(Side::Jira, jira("a1", None)).unwrap();
        assert_eq!(merged, merge(jira("a1", None), held));
        let left: Vec<User> = users.leftovers().collect();
        assert_eq!(left, [admin("a2", None)]);
        assert_ne!(fingerprint("a1"), fingerprint("a2"));
        assert_eq!(
            fingerprint("a1"),
            fingerprint("a1"),
            "the same on every call"
        );
    }

    #[tokio::test]
    async fn listings_claim_groups_in_order_of_precedence() {
        let claims = Arc::new(GroupClaims::new(true, true));
        let directory = tokio::spawn({
            let claims = Arc::clone(&claims);
            async move {
                let turn = claims.turn(Lister::Directory).await;
                (
                    turn.claim("g1"),
                    turn.claim("g9"),
                    turn.listed_by_site("g1"),
                )
            }
        });
        let confluence = tokio::spawn({
            let claims = Arc::clone(&claims);
            async move {
                let turn = claims.turn(Lister::Confluence).await;
                (turn.claim("g1"), turn.claim("g2"))
            }
        });
        tokio::task::yield_now().await;
        assert!(!confluence.is_finished() && !directory.is_finished());
        {
            let jira = claims.turn(Lister::Jira).await;
            assert!(jira.claim("g1"));
            assert!(
                !jira.claim("g1"),
                "a group a listing repeats is claimed once"
            );
        }
        assert_eq!(confluence.await.unwrap(), (false, true));
        assert_eq!(directory.await.unwrap(), (false, true, true));
        assert!(claims.turn(Lister::Directory).await.listed_by_site("g2"));
        assert!(!claims.turn(Lister::Directory).await.listed_by_site("g9"));
    }

    #[tokio::test]
    async fn a_listing_the_run_does_not_make_is_never_waited_for() {
        let claims = GroupClaims::new(false, false);
        let turn = claims.turn(Lister::Directory).await;
        assert!(turn.claim("g1"));
        let claims = GroupClaims::new(true, false);
        claims.done(Lister::Jira);
        assert!(claims.turn(Lister::Directory).await.claim("g1"));
    }

    #[tokio::test]
    async fn a_claiming_listing_ends_its_turn_when_the_listing_ends() {
        let claims = GroupClaims::new(true, true);
        let jira = claims.turn(Lister::Jira).await;
        let items = stream::iter(["g1", "g2", "g1"].map(Ok::<_, ()>));
        let claimed: Vec<_> = jira.claiming(items, |g| g.to_string()).collect().await;
        assert_eq!(claimed, [Ok("g1"), Ok("g2")]);
        // Jira's turn is over: Confluence's comes without waiting.
        assert!(!claims.turn(Lister::Confluence).await.claim("g2"));
    }
}
