//! The engine the products are written against. A product module says what it reads; the engine
//! owns the control flow around it:
//!
//! - [`Ctx::family`] starts one endpoint family: a [`FamilyRun`] that counts every record as it
//!   is emitted and every request as it answers or fails, and becomes the family's coverage
//!   record at [`FamilyRun::finish`].
//! - [`FamilyRun::answer`] is "one request → records": the answer, or `None` when it failed for
//!   good (counted; a 401 stops the run instead).
//! - [`FamilyRun::list`] (items) and [`FamilyRun::pages`] turn any [`Pager`] into a lazy stream;
//!   a page that fails ends the stream and is counted.
//! - [`FamilyRun::each`] runs per-item work for a listing, `workers` items at a time, in the
//!   same task and borrowing the context: no spawn, no `Arc` per item; the listing reads ahead
//!   of the work. A panic in one item's work fails that family (its coverage says so, the run
//!   exits 3); it is never swallowed and never takes the rest of the run with it.
//!
//! Records go to the writer over a bounded channel ([`Emitter`]); users go through the join
//! stage there ([`crate::join`]), tagged with the product that saw them.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::pin;
use std::sync::Arc;

use futures_util::future::LocalBoxFuture;
use futures_util::stream::FuturesUnordered;
use futures_util::{stream, FutureExt, Stream, StreamExt, TryStreamExt};
use jiff::Timestamp;
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;

use crate::coverage::{Family, Tally};
use crate::http::page::Pager;
use crate::http::{ApiError, Client};
use crate::join::{GroupClaims, Side};
use crate::record::{Coverage, Namespace, Record, User};

/// Items a listing reads ahead of the work done on them ([`FamilyRun::each`]).
pub(crate) const READ_AHEAD: usize = 64;

/// What a product needs: the authenticated client, the id namespace, the record channel, and
/// the group precedence shared with the run's other products.
#[derive(Clone)]
pub struct Ctx {
    pub client: Client,
    pub ns: Namespace,
    pub out: Emitter,
    /// How many items (groups, projects) are worked on at once.
    pub workers: usize,
    /// Audit logs are read from this moment on.
    pub since: Timestamp,
    /// Which product writes a group several of them list.
    pub groups: Arc<GroupClaims>,
}

impl Ctx {
    /// Starts one endpoint family.
    pub fn family(&self, family: &'static Family) -> FamilyRun<'_> {
        FamilyRun {
            ctx: self,
            tally: Tally::new(family),
        }
    }
}

/// What goes to the writer: a record, or a user record the join stage merges with what other
/// products say about the same account.
#[derive(Debug)]
// Records are moved, not boxed: one allocation per record would cost more than the bytes.
#[allow(clippy::large_enum_variant)]
pub enum Item {
    Record(Record),
    User(Side, User),
}

/// The producers' end of the record channel.
#[derive(Clone)]
pub struct Emitter {
    tx: mpsc::Sender<Item>,
}

impl Emitter {
    pub fn new(tx: mpsc::Sender<Item>) -> Self {
        Emitter { tx }
    }

    pub async fn send(&self, item: Item) -> Result<(), Abort> {
        self.tx.send(item).await.map_err(|_| Abort::OutputClosed)
    }
}

/// Why the whole run stops early.
#[derive(Debug)]
pub enum Abort {
    /// The site rejected the credentials: every other request would fail the same way.
    Unauthorized(ApiError),
    /// The writer stopped (broken pipe, full disk); there is nowhere to put records.
    OutputClosed,
}

/// A failed request either stops the run (401: the credentials are wrong, every other request
/// would fail too) or is counted against its family.
pub(crate) fn failed(tally: &Tally, error: ApiError) -> Result<(), Abort> {
    if error.is_unauthorized() {
        return Err(Abort::Unauthorized(error));
    }
    tally.fail(&error);
    Ok(())
}

/// One endpoint family at work: its counts, and the way its records go out.
pub struct FamilyRun<'a> {
    ctx: &'a Ctx,
    tally: Tally,
}

impl<'a> FamilyRun<'a> {
    /// The family's counts, for what the helpers do not cover (an alternative endpoint that
    /// served it, a failure found in an answer).
    pub fn tally(&self) -> &Tally {
        &self.tally
    }

    /// Emits one record of the family, counted.
    pub async fn emit(&self, record: Record) -> Result<(), Abort> {
        self.ctx.out.send(Item::Record(record)).await?;
        self.tally.records(1);
        Ok(())
    }

    /// Emits one user record of the family through the join stage, counted.
    pub async fn emit_user(&self, side: Side, user: User) -> Result<(), Abort> {
        self.ctx.out.send(Item::User(side, user)).await?;
        self.tally.records(1);
        Ok(())
    }

    /// One request's answer, counted: `None` when it failed for good.
    pub async fn answer<T>(
        &self,
        request: impl Future<Output = Result<T, ApiError>>,
    ) -> Result<Option<T>, Abort> {
        match request.await {
            Ok(answer) => {
                self.tally.ok();
                Ok(Some(answer))
            }
            Err(error) => failed(&self.tally, error).map(|()| None),
        }
    }

    /// The listing's pages, fetched when asked for. A page that fails for good is counted and
    /// ends the stream; a 401 is the stream's error.
    pub fn pages<T, P>(
        &self,
        pager: P,
    ) -> impl Stream<Item = Result<Vec<T>, Abort>> + use<'_, 'a, T, P>
    where
        T: DeserializeOwned + Send,
        P: Pager,
    {
        stream::unfold(Some(pager), move |pager| async move {
            let mut pager = pager?;
            match pager.next::<T>(&self.ctx.client).await {
                Ok(Some(page)) => {
                    self.tally.ok();
                    Some((Ok(page), Some(pager)))
                }
                // The end: the last page said so, no request was made.
                Ok(None) => None,
                Err(error) => match failed(&self.tally, error) {
                    Ok(()) => None,
                    Err(abort) => Some((Err(abort), None)),
                },
            }
        })
    }

    /// The listing's items, one page fetched at a time as they are used.
    pub fn list<T, P>(&self, pager: P) -> impl Stream<Item = Result<T, Abort>> + use<'_, 'a, T, P>
    where
        T: DeserializeOwned + Send,
        P: Pager,
    {
        self.pages(pager)
            .map_ok(|page| stream::iter(page.into_iter().map(Ok)))
            .try_flatten()
    }

    /// Runs `work` on every item of `items`, `workers` at a time, until the items end or the run
    /// must stop. The listing reads ahead of the work (up to [`READ_AHEAD`] items), so its next
    /// pages come while the items already listed are worked on, and it ends (a group listing's
    /// turn with it) without waiting for their work. A panic in one item's work is a bug: it
    /// fails this family, the other items go on.
    pub async fn each<T, S, F, Fut>(&self, items: S, mut work: F) -> Result<(), Abort>
    where
        S: Stream<Item = Result<T, Abort>>,
        F: FnMut(T) -> Fut,
        Fut: Future<Output = Result<(), Abort>>,
    {
        let (tx, mut rx) = mpsc::channel(READ_AHEAD);
        let listing = async move {
            let mut items = pin!(items);
            while let Some(item) = items.try_next().await? {
                // Closed only when the work stopped, whose error ends the run.
                if tx.send(item).await.is_err() {
                    break;
                }
            }
            Ok(())
        };
        let listed = stream::poll_fn(|cx| rx.poll_recv(cx)).map(Ok);
        let workers = listed.try_for_each_concurrent(self.ctx.workers.max(1), |item| {
            let job = AssertUnwindSafe(work(item)).catch_unwind();
            async move {
                match job.await {
                    Ok(done) => done,
                    Err(panic) => {
                        self.tally.panicked(panic_message(panic.as_ref()));
                        Ok(())
                    }
                }
            }
        });
        tokio::try_join!(listing, workers)?;
        Ok(())
    }

    /// Emits the family's coverage record.
    pub async fn finish(self) -> Result<(), Abort> {
        self.finish_with(|coverage| coverage).await
    }

    /// Emits the family's coverage record, as `adjust` changes it (a message saying which
    /// endpoint served the family, a product the site does not have).
    pub async fn finish_with(self, adjust: impl FnOnce(Coverage) -> Coverage) -> Result<(), Abort> {
        let coverage = adjust(self.tally.coverage(&self.ctx.ns));
        self.ctx
            .out
            .send(Item::Record(Record::Coverage(coverage)))
            .await
    }
}

/// Runs `work` (a product's families, or the products) at once, until every one is done or one
/// says the run must stop. Unlike `try_join!`, a wake-up polls only the future it is for: a
/// request finishing deep in one family does not poll every other family of the run.
pub(crate) async fn all(work: Vec<LocalBoxFuture<'_, Result<(), Abort>>>) -> Result<(), Abort> {
    let mut running: FuturesUnordered<_> = work.into_iter().collect();
    while let Some(done) = running.next().await {
        done?;
    }
    Ok(())
}

/// Runs one product's collection. A panic outside per-item work (which [`FamilyRun::each`]
/// contains) is a bug too: the product's families that had not finished are missing, so the
/// product gets a `failed` coverage record saying why, and the other products go on.
pub(crate) async fn product(
    ctx: &Ctx,
    name: &str,
    collect: impl Future<Output = Result<(), Abort>>,
) -> Result<(), Abort> {
    match AssertUnwindSafe(collect).catch_unwind().await {
        Ok(done) => done,
        Err(panic) => {
            let message = panic_message(panic.as_ref());
            tracing::error!("{name}: the collector failed (a bug): {message}");
            let coverage = crate::coverage::failed_product(&ctx.ns, name, message);
            ctx.out.send(Item::Record(Record::Coverage(coverage))).await
        }
    }
}

/// What a panic said, when it said it with a string.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic without a message")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coverage::status;
    use crate::http::retry::SystemClock;
    use crate::http::{Auth, HttpSettings};

    static ITEMS: Family = Family {
        product: "test",
        name: "test.items",
        endpoints: &["GET /items/{id}"],
        needs: "nothing",
    };

    /// A context whose client is never used, and the receiving end of its records.
    fn ctx(workers: usize) -> (Ctx, mpsc::Receiver<Item>) {
        let client = Client::new(
            "https://example.invalid/".parse().unwrap(),
            Auth::None,
            &HttpSettings::default(),
            Arc::new(SystemClock),
        )
        .unwrap();
        let (tx, rx) = mpsc::channel(64);
        let ctx = Ctx {
            client,
            ns: Namespace::new("example.invalid"),
            out: Emitter::new(tx),
            workers,
            since: Timestamp::UNIX_EPOCH,
            groups: Arc::new(GroupClaims::new(false, false)),
        };
        (ctx, rx)
    }

    fn coverage(rx: &mut mpsc::Receiver<Item>) -> (Vec<Record>, Coverage) {
        let mut records = Vec::new();
        while let Ok(item) = rx.try_recv() {
            match item {
                Item::Record(Record::Coverage(coverage)) => return (records, coverage),
                Item::Record(record) => records.push(record),
                Item::User(..) => panic!("no users here"),
            }
        }
        panic!("no coverage record");
    }

    fn setting(ctx: &Ctx, key: u32) -> Record {
        Record::Setting(crate::record::Setting {
            id: format!("{}/setting/{key}", ctx.ns.site()),
            key: key.to_string(),
            ..crate::record::Setting::default()
        })
    }

    #[tokio::test]
    async fn a_panic_in_one_items_work_fails_the_family_and_the_rest_goes_on() {
        let (ctx, mut rx) = ctx(3);
        let family = ctx.family(&ITEMS);
        let items = stream::iter((0..10).map(Ok));
        let done = family
            .each(items, |i| {
                let (ctx, family) = (&ctx, &family);
                async move {
                    tokio::task::yield_now().await;
                    if i == 4 {
                        panic!("item {i} is broken");
                    }
                    family.emit(setting(ctx, i)).await
                }
            })
            .await;
        assert!(done.is_ok(), "the run goes on");
        family.finish().await.unwrap();
        let (records, coverage) = coverage(&mut rx);
        assert_eq!(records.len(), 9, "every other item was collected");
        assert_eq!(coverage.records, 9);
        assert_eq!(coverage.failures, 1);
        // Nothing answered (no request was made), so the family failed; with answers it is
        // partial. Either makes the run partial: exit 3.
        assert_eq!(coverage.status, status::FAILED);
        assert!(status::is_problem(&coverage.status));
        let message = coverage.message.unwrap();
        assert!(
            message.contains("a bug") && message.contains("item 4 is broken"),
            "{message}"
        );
    }

    #[tokio::test]
    async fn a_panic_in_a_product_fails_that_product_only() {
        let (ctx, mut rx) = ctx(2);
        let broken = product(&ctx, "test", async {
            let family = ctx.family(&ITEMS);
            family.emit(setting(&ctx, 1)).await?;
            panic!("the product is broken");
        });
        assert!(broken.await.is_ok(), "the run goes on");
        let (records, coverage) = coverage(&mut rx);
        assert_eq!(records.len(), 1, "what was emitted stays");
        assert_eq!(
            (coverage.family.as_str(), coverage.status.as_str()),
            ("test", status::FAILED)
        );
        assert!(coverage.message.unwrap().contains("the product is broken"));
        let fine = product(&ctx, "test", async { Ok(()) }).await;
        assert!(fine.is_ok());
        assert!(
            rx.try_recv().is_err(),
            "a product that ends well adds nothing"
        );
    }

    #[tokio::test]
    async fn a_family_whose_requests_answered_is_partial_after_a_panic() {
        let (ctx, mut rx) = ctx(2);
        let family = ctx.family(&ITEMS);
        family
            .answer(async { Ok::<_, ApiError>(()) })
            .await
            .unwrap();
        let items = stream::iter([Ok(1), Ok(2)]);
        family
            .each(items, |i| async move {
                assert!(i != 2, "broken");
                Ok(())
            })
            .await
            .unwrap();
        family.finish().await.unwrap();
        let (_, coverage) = coverage(&mut rx);
        assert_eq!(coverage.status, status::PARTIAL);
    }

    #[tokio::test]
    async fn each_keeps_to_the_workers_and_stops_at_the_first_abort() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let (ctx, _rx) = ctx(3);
        let family = ctx.family(&ITEMS);
        let (running, peak, done) = (
            AtomicUsize::new(0),
            AtomicUsize::new(0),
            AtomicUsize::new(0),
        );
        family
            .each(stream::iter((0..50).map(Ok)), |_| {
                let (running, peak, done) = (&running, &peak, &done);
                async move {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    tokio::task::yield_now().await;
                    running.fetch_sub(1, Ordering::SeqCst);
                    done.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                }
            })
            .await
            .unwrap();
        assert_eq!(done.load(Ordering::SeqCst), 50);
        assert!(peak.load(Ordering::SeqCst) <= 3);
        let aborted = family
            .each(stream::iter((0..10).map(Ok)), |i| async move {
                if i == 3 {
                    Err(Abort::OutputClosed)
                } else {
                    Ok(())
                }
            })
            .await;
        assert!(matches!(aborted, Err(Abort::OutputClosed)));
    }
}
