//! Pagination as types: each Atlassian page shape knows where the next page starts, and a pager
//! walks a listing one page at a time. A page that does not advance, or contradicts the request,
//! ends the listing with an error instead of looping (REFERENCE §0.2).
//!
//! - [`PageBean`]: Jira's `startAt`/`maxResults`/`isLast`/`total`/`values` envelope.
//! - [`OffsetPager`]: a bare JSON array with no metadata (`/rest/api/3/users/search`).
//! - [`V1Pager`]: Confluence REST v1's `start`/`limit`/`results`/`_links.next` envelope; the
//!   listing ends when `_links.next` is absent.
//! - [`CursorPager`]: the Admin APIs' `{"data": [...], "links": {"next": ...}}`, where `next` is
//!   a full URL on v1 endpoints and a bare cursor token on v2, search and api-access endpoints
//!   (REFERENCE §0.2, AX-241). A cursor seen twice ends the listing with an error.
//! - [`LinkPager`]: Confluence REST v2's opaque cursor, carried by a relative next link in
//!   `_links.next` or in the `Link` header; a cursor that repeats is an error.
//! - [`JsmPager`]: Jira Service Management's `PagedDTO*` (`start`/`limit`/`size`/`isLastPage`/
//!   `values`).
//! - [`AqlPager`]: the Assets AQL search, `POST …/object/aql?startAt=…&maxResults=…` with the
//!   query in the body; ends on `isLast` (`total` is optional, REFERENCE §3.1).
//! - [`ObjectListPager`]: the older Assets listings (`GET …/aql/objects` and the Data Center
//!   ones), 1-based `page` and `resultPerPage`, ending on `pageNumber >= pageSize` or
//!   `toIndex >= totalFilterCount` (REFERENCE §3.3).
//!
//! The offset pagers advance `startAt` by the number of items *received*, not requested: Jira clamps
//! `maxResults` to a per-endpoint limit (it echoes the clamped value, but a bare array cannot), and
//! users/search returns short pages before the end. Advancing by what was asked would skip items.
//! A page larger than asked is taken whole for the same reason. Offset listings compute every
//! next start themselves (`nextPage` only says more follows), and without `isLast` the largest
//! `total` of the listing decides, so a `total` that shrinks between pages cuts nothing short.
//! Cursor and link pagers refuse any next page already read. The properties at the bottom feed
//! every rule arbitrary pages and bytes: no panic, no page asked twice, an end within a bound.

use std::collections::HashSet;
use std::future::Future;

use reqwest::Url;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::{ApiError, Client};

/// Jira's `PageBean*` envelope.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageBean<T> {
    pub start_at: Option<i64>,
    pub max_results: Option<i64>,
    pub total: Option<i64>,
    pub is_last: Option<bool>,
    pub next_page: Option<String>,
    #[serde(default = "Vec::new")]
    pub values: Vec<T>,
}

impl<T> PageBean<T> {
    /// Where the page after this one starts, given where this one was asked to start; `None` at
    /// the end of the listing. `isLast` is not returned by every operation: without it, `total`
    /// decides, then `nextPage`.
    pub fn next_start(&self, requested: i64) -> Result<Option<i64>, String> {
        next_offset(self.offsets(requested))
    }

    /// `nextPage` is read as "more follows" only, never followed: the next start is always
    /// computed, so a `nextPage` pointing back cannot send the listing round again.
    fn offsets(&self, requested: i64) -> Offsets {
        Offsets {
            param: "startAt",
            requested,
            echoed: self.start_at,
            received: self.values.len(),
            is_last: self.is_last,
            total: self.total,
            more_unless_told: self.next_page.is_some(),
        }
    }
}

/// What an offset-paged page says about itself. One set of rules ([`next_offset`]) decides
/// where every offset listing goes next: Jira's PageBean, Confluence v1, JSM, Assets.
struct Offsets {
    /// The request parameter, for messages (`startAt`, `start`).
    param: &'static str,
    requested: i64,
    /// The start the server echoed, if it echoes one.
    echoed: Option<i64>,
    received: usize,
    /// The page's own end marker, when it has one.
    is_last: Option<bool>,
    total: Option<i64>,
    /// Without an end marker or a total: whether another page follows.
    more_unless_told: bool,
}

/// The next start, by the items received (servers clamp page sizes), or `None` at the end. A
/// page from elsewhere (a start the server did not honour) or an empty page that claims more is
/// an error: following either would loop.
fn next_offset(page: Offsets) -> Result<Option<i64>, String> {
    let Offsets {
        param, requested, ..
    } = page;
    if let Some(echoed) = page.echoed.filter(|echoed| *echoed != requested) {
        return Err(format!(
            "asked for {param}={requested}, the server answered {param}={echoed}"
        ));
    }
    let received = i64::try_from(page.received).unwrap_or(i64::MAX);
    let next = requested
        .checked_add(received)
        .ok_or_else(|| format!("{param}={requested} plus {received} items is out of range"))?;
    match page.is_last {
        Some(true) => Ok(None),
        Some(false) if received == 0 => Err(format!(
            "empty page at {param}={requested} that says it is not the last"
        )),
        Some(false) => Ok(Some(next)),
        None if received == 0 => Ok(None),
        None => match page.total {
            Some(total) => Ok((next < total).then_some(next)),
            None => Ok(page.more_unless_told.then_some(next)),
        },
    }
}

/// An offset-paged envelope: its items, and where the page after it starts.
pub trait Offset<T> {
    /// Where the page after this one starts. `total_seen` is the largest `total` of the
    /// listing's earlier pages, and is raised by this page's: a `total` that shrinks between
    /// pages never ends a listing early (a larger one only costs an empty last page).
    fn next_start(
        &self,
        requested: i64,
        total_seen: &mut Option<i64>,
    ) -> Result<Option<i64>, String>;
    fn into_items(self) -> Vec<T>;
}

/// `page` with the largest total of the listing so far.
fn with_total_seen(mut page: Offsets, total_seen: &mut Option<i64>) -> Offsets {
    *total_seen = (*total_seen).max(page.total);
    page.total = page.total.and(*total_seen);
    page
}

impl<T> Offset<T> for PageBean<T> {
    fn next_start(&self, requested: i64, seen: &mut Option<i64>) -> Result<Option<i64>, String> {
        next_offset(with_total_seen(self.offsets(requested), seen))
    }
    fn into_items(self) -> Vec<T> {
        self.values
    }
}

impl<T> Offset<T> for V1Page<T> {
    fn next_start(&self, requested: i64, _: &mut Option<i64>) -> Result<Option<i64>, String> {
        V1Page::next_start(self, requested)
    }
    fn into_items(self) -> Vec<T> {
        self.results
    }
}

impl<T> Offset<T> for PagedDto<T> {
    fn next_start(&self, requested: i64, _: &mut Option<i64>) -> Result<Option<i64>, String> {
        PagedDto::next_start(self, requested)
    }
    fn into_items(self) -> Vec<T> {
        self.values
    }
}

/// A family of offset-paged listings: what its start and size parameters are called, and the
/// envelope its pages come in.
pub trait OffsetKind: 'static {
    const START: &'static str;
    const SIZE: &'static str;
    type Page<T: DeserializeOwned + Send>: DeserializeOwned + Offset<T> + Send;
}

/// Jira's PageBean listings (`startAt`, `maxResults`).
#[derive(Debug)]
pub enum JiraPages {}

impl OffsetKind for JiraPages {
    const START: &'static str = "startAt";
    const SIZE: &'static str = "maxResults";
    type Page<T: DeserializeOwned + Send> = PageBean<T>;
}

/// Confluence REST v1 listings (`start`, `limit`, `_links.next`).
#[derive(Debug)]
pub enum ConfluenceV1Pages {}

impl OffsetKind for ConfluenceV1Pages {
    const START: &'static str = "start";
    const SIZE: &'static str = "limit";
    type Page<T: DeserializeOwned + Send> = V1Page<T>;
}

/// JSM's `PagedDTO` listings (`start`, `limit`, `isLastPage`).
#[derive(Debug)]
pub enum JsmPages {}

impl OffsetKind for JsmPages {
    const START: &'static str = "start";
    const SIZE: &'static str = "limit";
    type Page<T: DeserializeOwned + Send> = PagedDto<T>;
}

/// Pages of a listing with a `total` asked for at once, after its first page.
pub const PAGES_AT_ONCE: i64 = 4;

/// Walks an offset-paged listing of kind `K`, advancing by the items received. Once a page
/// has told the listing's `total` (Jira's PageBean) and the page size the server keeps to, the
/// next pages are asked for [`PAGES_AT_ONCE`] at a time, concurrently; they are checked in
/// order with the same rules, and a page that does not end where the next one starts (a short
/// page, a last page, a failure) ends the batch there: the pages after it are dropped unread
/// and the listing goes on from where that page says, so nothing is skipped or read twice.
#[derive(Debug)]
pub struct Paged<K> {
    path: String,
    query: Vec<(&'static str, String)>,
    page_size: u32,
    headers: &'static [(&'static str, &'static str)],
    next: Option<i64>,
    /// The largest `total` a page of this listing has reported.
    total_seen: Option<i64>,
    /// How many items a full page holds, as the first page showed (servers clamp the size).
    stride: Option<i64>,
    /// A page of the last batch that failed after good ones: the error the next call returns.
    failed: Option<ApiError>,
    kind: std::marker::PhantomData<fn() -> K>,
}

pub type PageBeanPager = Paged<JiraPages>;
pub type V1Pager = Paged<ConfluenceV1Pages>;
pub type JsmPager = Paged<JsmPages>;

impl<K: OffsetKind> Paged<K> {
    pub fn new(
        path: impl Into<String>,
        query: Vec<(&'static str, String)>,
        page_size: u32,
    ) -> Self {
        Paged {
            path: path.into(),
            query,
            page_size,
            headers: &[],
            next: Some(0),
            total_seen: None,
            stride: None,
            failed: None,
            kind: std::marker::PhantomData,
        }
    }

    /// Sends `headers` with every page (`X-ExperimentalApi: opt-in` for JSM's experimental
    /// operations).
    pub fn with_headers(mut self, headers: &'static [(&'static str, &'static str)]) -> Self {
        self.headers = headers;
        self
    }

    /// The starts of the pages to ask for now: `start`, and while the total and the page size
    /// are known, the pages after it, up to [`PAGES_AT_ONCE`] and the total.
    fn batch(&self, start: i64) -> Vec<i64> {
        let (Some(total), Some(stride)) = (self.total_seen, self.stride) else {
            return vec![start];
        };
        let mut starts = vec![start];
        for n in 1..PAGES_AT_ONCE {
            match stride
                .checked_mul(n)
                .and_then(|step| start.checked_add(step))
            {
                Some(at) if at < total => starts.push(at),
                _ => break,
            }
        }
        starts
    }

    async fn page<T: DeserializeOwned + Send>(
        &self,
        client: &Client,
        start: i64,
    ) -> Result<K::Page<T>, ApiError> {
        let query = offset_query(&self.query, (K::START, K::SIZE), start, self.page_size);
        client.get_with(&self.path, &query, self.headers).await
    }

    async fn fetch<T: DeserializeOwned + Send>(
        &mut self,
        client: &Client,
    ) -> Result<Option<Vec<T>>, ApiError> {
        if let Some(error) = self.failed.take() {
            return Err(error);
        }
        let Some(start) = self.next else {
            return Ok(None);
        };
        let starts = self.batch(start);
        let pages =
            futures_util::future::join_all(starts.iter().map(|&at| self.page::<T>(client, at)))
                .await;
        let mut items: Option<Vec<T>> = None;
        for (i, (&at, page)) in starts.iter().zip(pages).enumerate() {
            let checked = page.and_then(|page| {
                let next = page
                    .next_start(at, &mut self.total_seen)
                    .map_err(|reason| {
                        let query =
                            offset_query(&self.query, (K::START, K::SIZE), at, self.page_size);
                        ApiError::pagination("GET", client.url(&self.path, &query).as_str(), reason)
                    })?;
                Ok((next, page))
            });
            let (next, page) = match (checked, &items) {
                (Ok(checked), _) => checked,
                (Err(error), None) => return Err(error),
                // The pages before it are good: hand them out now, the error next time.
                (Err(error), Some(_)) => {
                    self.failed = Some(error);
                    self.next = None;
                    break;
                }
            };
            let page = page.into_items();
            if at == start && next.is_some() && self.stride.is_none() {
                self.stride = i64::try_from(page.len()).ok().filter(|n| *n > 0);
            }
            items.get_or_insert_with(Vec::new).extend(page);
            self.next = next;
            // The next page asked for starts where this one ends: go on with it. Otherwise
            // (a short, long or last page) the rest of the batch is not used.
            if next.is_none() || next != starts.get(i + 1).copied() {
                break;
            }
        }
        Ok(items)
    }
}

impl<K: OffsetKind> Pager for Paged<K> {
    fn next<T: DeserializeOwned + Send>(
        &mut self,
        client: &Client,
    ) -> impl Future<Output = Result<Option<Vec<T>>, ApiError>> + Send {
        self.fetch(client)
    }
}

/// Walks a bare-array listing: `startAt` advances by the items received and the listing ends on
/// an empty page, never on a short one.
#[derive(Debug)]
pub struct OffsetPager {
    path: String,
    query: Vec<(&'static str, String)>,
    page_size: u32,
    next: Option<i64>,
}

impl OffsetPager {
    pub fn new(
        path: impl Into<String>,
        query: Vec<(&'static str, String)>,
        page_size: u32,
    ) -> Self {
        OffsetPager {
            path: path.into(),
            query,
            page_size,
            next: Some(0),
        }
    }

    async fn fetch<T: DeserializeOwned + Send>(
        &mut self,
        client: &Client,
    ) -> Result<Option<Vec<T>>, ApiError> {
        let Some(start) = self.next else {
            return Ok(None);
        };
        let items: Vec<T> = client.get(&self.path, &self.page_query(start)).await?;
        self.next = bare_next(start, items.len());
        Ok(self.next.is_some().then_some(items))
    }

    fn page_query(&self, start: i64) -> Vec<(&str, String)> {
        offset_query(
            &self.query,
            ("startAt", "maxResults"),
            start,
            self.page_size,
        )
    }
}

/// Where a bare-array listing goes after `received` items at `start`: on by what came, to the
/// end at the first empty page (or an offset past any a server could hold).
fn bare_next(start: i64, received: usize) -> Option<i64> {
    let received = i64::try_from(received).ok().filter(|n| *n > 0)?;
    start.checked_add(received)
}

/// `_links` of Confluence pages: only `next` matters here; `base`, `context`, `self` are ignored.
#[derive(Debug, Default, Deserialize)]
pub struct Links {
    pub next: Option<String>,
}

/// Confluence REST v1's page envelope (`GroupArrayWithLinks`, `UserArray`, `AuditRecordArray`).
#[derive(Debug, Deserialize)]
pub struct V1Page<T> {
    #[serde(default = "Vec::new")]
    pub results: Vec<T>,
    pub start: Option<i64>,
    #[serde(default, rename = "_links")]
    pub links: Links,
}

impl<T> V1Page<T> {
    /// Where the page after this one starts, given where this one was asked to start; `None`
    /// when `_links.next` is absent (the only end marker v1 documents, REFERENCE §0.2). By the
    /// items received: Confluence caps `limit` by "fixed system limits".
    pub fn next_start(&self, requested: i64) -> Result<Option<i64>, String> {
        next_offset(Offsets {
            param: "start",
            requested,
            echoed: self.start,
            received: self.results.len(),
            is_last: Some(self.links.next.is_none()),
            total: None,
            more_unless_told: false,
        })
    }
}

/// Confluence REST v2's page envelope (`MultiEntityResult<…>`).
#[derive(Debug, Deserialize)]
pub struct LinkPage<T> {
    #[serde(default = "Vec::new")]
    pub results: Vec<T>,
    #[serde(default, rename = "_links")]
    pub links: Links,
}

/// The `rel="next"` target of a `Link` header: `</wiki/api/v2/spaces?cursor=…>; rel="next",
/// <https://site.atlassian.net/wiki>; rel="base"` (the v2 spec's example).
pub fn link_next(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let is_next = params
            .split(';')
            .any(|p| p.trim().trim_start_matches("rel=").trim_matches('"') == "next");
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        is_next.then(|| target.to_string())
    })
}

/// The `cursor` query parameter of a next link.
fn cursor_of(url: &Url) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == "cursor")
        .map(|(_, v)| v.into_owned())
}

/// Empty pages in a row a Confluence v2 listing may hand out with a next link (permission
/// filtering can empty a page) before the listing is taken for one that does not advance.
const MAX_EMPTY_LINKED_PAGES: u32 = 3;

/// Walks a Confluence v2 listing: each page names the next one by a relative URL holding an
/// opaque `cursor`, in the body's `_links.next` or the `Link` header. A cursor seen before, a
/// next link without a cursor or to a page already read, or too many empty pages in a row end
/// the listing with an error instead of a loop.
#[derive(Debug)]
pub struct LinkPager {
    next: Option<Url>,
    first: Option<(String, Vec<(&'static str, String)>)>,
    cursors: HashSet<String>,
    /// Every page read, so a link back to one (the first has no cursor) is refused.
    read: HashSet<Url>,
    empty_in_a_row: u32,
    /// A bad next link, reported on the call after the page that carried it, so that page's
    /// items are kept.
    stop: Option<ApiError>,
}

impl LinkPager {
    pub fn new(path: impl Into<String>, query: Vec<(&'static str, String)>) -> Self {
        LinkPager {
            next: None,
            first: Some((path.into(), query)),
            cursors: HashSet::new(),
            read: HashSet::new(),
            empty_in_a_row: 0,
            stop: None,
        }
    }

    async fn fetch<T: DeserializeOwned + Send>(
        &mut self,
        client: &Client,
    ) -> Result<Option<Vec<T>>, ApiError> {
        if let Some(error) = self.stop.take() {
            return Err(error);
        }
        let url = match (self.first.take(), self.next.take()) {
            (Some((path, query)), _) => {
                let query: Vec<(&str, String)> =
                    query.iter().map(|(k, v)| (*k, v.clone())).collect();
                client.url(&path, &query)
            }
            (None, Some(url)) => url,
            (None, None) => return Ok(None),
        };
        let (page, link): (LinkPage<T>, _) = client.get_linked(&url).await?;
        let next = page
            .links
            .next
            .clone()
            .or_else(|| link.as_deref().and_then(link_next));
        match self.after(client, &url, next.as_deref(), page.results.is_empty()) {
            Ok(next) => self.next = next,
            Err(reason) => self.stop = Some(ApiError::pagination("GET", url.as_str(), reason)),
        }
        Ok(Some(page.results))
    }

    /// What follows the page read from `url` that named `link` as its next: the next page's
    /// URL, `None` at the end, or why the listing cannot go on.
    fn after(
        &mut self,
        client: &Client,
        url: &Url,
        link: Option<&str>,
        empty: bool,
    ) -> Result<Option<Url>, String> {
        self.read.insert(url.clone());
        self.empty_in_a_row = if empty { self.empty_in_a_row + 1 } else { 0 };
        link.map(|link| self.advance(client, url, link)).transpose()
    }

    /// The next page's URL, unless following `link` from `current` would not advance.
    fn advance(&mut self, client: &Client, current: &Url, link: &str) -> Result<Url, String> {
        let next = client.resolve(link)?;
        if next == *current {
            return Err("the next link is the page just read".to_string());
        }
        if self.read.contains(&next) {
            return Err(format!("the next link {link:?} is a page already read"));
        }
        if self.empty_in_a_row >= MAX_EMPTY_LINKED_PAGES {
            return Err(format!(
                "{} empty pages in a row that each name a next page",
                self.empty_in_a_row
            ));
        }
        // Every v2 next link carries the cursor of the page it names; one without leads back
        // to the start of the listing.
        let Some(cursor) = cursor_of(&next) else {
            return Err(format!(
                "the next link {link:?} has no cursor: back to the first page"
            ));
        };
        if !self.cursors.insert(cursor.clone()) {
            return Err(format!("cursor {cursor:?} was already followed"));
        }
        Ok(next)
    }
}

/// The Admin APIs' cursor envelope. The events stream puts its cursor in `meta.next`.
#[derive(Debug, Deserialize)]
pub struct CursorPage<T> {
    #[serde(default = "Vec::new")]
    pub data: Vec<T>,
    pub links: Option<CursorLinks>,
    pub meta: Option<CursorLinks>,
}

#[derive(Debug, Deserialize)]
pub struct CursorLinks {
    pub next: Option<String>,
}

impl<T> CursorPage<T> {
    /// The next link or cursor, if any (empty strings count as none).
    pub fn next(&self) -> Option<&str> {
        let from_links = self.links.as_ref().and_then(|l| l.next.as_deref());
        let from_meta = self.meta.as_ref().and_then(|m| m.next.as_deref());
        from_links.or(from_meta).filter(|next| !next.is_empty())
    }
}

/// How a cursor listing is asked for: a GET with query parameters (`cursor=` is added), or a
/// POST search whose JSON body carries the filters (`cursor` is set in it).
#[derive(Debug, Clone)]
pub enum CursorRequest {
    Get {
        path: String,
        query: Vec<(&'static str, String)>,
    },
    Post {
        path: String,
        body: serde_json::Value,
    },
}

/// Walks a cursor listing.
#[derive(Debug)]
pub struct CursorPager {
    request: CursorRequest,
    next: Option<Next>,
    seen: HashSet<String>,
    until_empty: bool,
    /// A bad next cursor, reported on the call after the page that carried it, so that page's
    /// items are kept.
    stop: Option<ApiError>,
}

#[derive(Debug)]
enum Next {
    First,
    Url(Url),
    Cursor(String),
}

impl CursorPager {
    pub fn new(request: CursorRequest) -> Self {
        CursorPager {
            request,
            next: Some(Next::First),
            seen: HashSet::new(),
            until_empty: false,
            stop: None,
        }
    }

    /// For polling streams (the Admin events stream) that always hand out a cursor: the
    /// listing ends at the first empty page.
    pub fn until_empty(mut self) -> Self {
        self.until_empty = true;
        self
    }

    async fn fetch<T: DeserializeOwned + Send>(
        &mut self,
        client: &Client,
    ) -> Result<Option<Vec<T>>, ApiError> {
        if let Some(error) = self.stop.take() {
            return Err(error);
        }
        let Some(next) = self.next.take() else {
            return Ok(None);
        };
        let (method, url, page): (&'static str, String, CursorPage<T>) = match (&self.request, next)
        {
            (_, Next::Url(url)) => {
                let (page, _link) = client.get_linked(&url).await?;
                ("GET", url.to_string(), page)
            }
            (CursorRequest::Get { path, query }, next) => {
                let mut query: Vec<(&str, String)> =
                    query.iter().map(|(k, v)| (*k, v.clone())).collect();
                if let Next::Cursor(cursor) = next {
                    query.push(("cursor", cursor));
                }
                let url = client.url(path, &query).to_string();
                ("GET", url, client.get(path, &query).await?)
            }
            (CursorRequest::Post { path, body }, next) => {
                let mut body = body.clone();
                if let (Next::Cursor(cursor), Some(fields)) = (next, body.as_object_mut()) {
                    fields.insert("cursor".into(), cursor.into());
                }
                let url = client.url(path, &[]).to_string();
                ("POST", url, client.post_json(path, &body).await?)
            }
        };
        if page.data.is_empty() && self.until_empty {
            return Ok(None);
        }
        match self.after(client, &url, page.next(), page.data.is_empty()) {
            Ok(next) => self.next = next,
            Err(reason) => self.stop = Some(ApiError::pagination(method, &url, reason)),
        }
        Ok(Some(page.data))
    }

    /// What follows the page read from `url` that named `token` as its next: the next
    /// request, `None` at the end, or why the listing cannot go on (a cursor or link handed out
    /// before, or a link back to a page already read, or an empty page that names a next one).
    fn after(
        &mut self,
        client: &Client,
        url: &str,
        token: Option<&str>,
        empty: bool,
    ) -> Result<Option<Next>, String> {
        self.seen.insert(url.to_string());
        let Some(token) = token else {
            return Ok(None);
        };
        if self.seen.contains(token) {
            return Err(format!("the cursor {token:?} was handed out twice"));
        }
        if empty {
            return Err("an empty page that names a next page".to_string());
        }
        let next = next_step(client, token)?;
        // A bare cursor can name a page a link named before (`?cursor=a` then `a`).
        let fetches = match (&self.request, &next) {
            (_, Next::Url(url)) => Some(url.to_string()),
            (CursorRequest::Get { path, query }, Next::Cursor(cursor)) => {
                Some(cursor_url(client, path, query, cursor))
            }
            _ => None,
        };
        if fetches.is_some_and(|url| !self.seen.insert(url)) {
            return Err(format!("the next page {token:?} was already read"));
        }
        self.seen.insert(token.to_string());
        Ok(Some(next))
    }
}

/// The URL a GET cursor listing asks for `cursor`.
fn cursor_url(
    client: &Client,
    path: &str,
    query: &[(&'static str, String)],
    cursor: &str,
) -> String {
    let mut query: Vec<(&str, String)> = query.iter().map(|(k, v)| (*k, v.clone())).collect();
    query.push(("cursor", cursor.to_string()));
    client.url(path, &query).to_string()
}

/// A `next` that is a URL is followed as it is, but only on the API's own origin (the request
/// carries the organisation's key); anything else is a cursor token.
fn next_step(client: &Client, token: &str) -> Result<Next, String> {
    if token.starts_with("https://") || token.starts_with("http://") {
        client.resolve(token).map(Next::Url)
    } else {
        Ok(Next::Cursor(token.to_string()))
    }
}

/// Jira Service Management's `PagedDTO*` envelope (`_links` and `_expands` are ignored).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PagedDto<T> {
    pub start: Option<i64>,
    pub limit: Option<i64>,
    pub size: Option<i64>,
    pub is_last_page: Option<bool>,
    #[serde(default = "Vec::new")]
    pub values: Vec<T>,
}

impl<T> PagedDto<T> {
    /// Where the page after this one starts, given where this one was asked to start; `None`
    /// at the end. JSM caps `limit` per operation ("the first page shows `size` less than
    /// `limit` and `isLastPage` false"), so the next start is by the items received; without
    /// `isLastPage` the listing ends on its first empty page.
    pub fn next_start(&self, requested: i64) -> Result<Option<i64>, String> {
        next_offset(Offsets {
            param: "start",
            requested,
            echoed: self.start,
            received: self.values.len(),
            is_last: self.is_last_page,
            total: None,
            more_unless_told: true,
        })
    }
}

/// The Assets AQL search result (`ObjectListInclTypeAttributesEntryResult`, REFERENCE §3.1; no
/// spec copy exists). It carries both `isLast` and `last`; `total` is not always there, and
/// `objectTypeAttributes` is read from the attributes endpoint instead.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AqlPage<T> {
    pub start_at: Option<i64>,
    pub max_results: Option<i64>,
    pub total: Option<i64>,
    pub is_last: Option<bool>,
    pub last: Option<bool>,
    #[serde(default = "Vec::new")]
    pub values: Vec<T>,
}

impl<T> AqlPage<T> {
    /// The same rules as a PageBean: `isLast` (or `last`), then `total`.
    pub fn next_start(self, requested: i64) -> Result<(Option<i64>, Vec<T>), String> {
        let bean = PageBean {
            start_at: self.start_at,
            max_results: self.max_results,
            total: self.total,
            is_last: self.is_last.or(self.last),
            next_page: None,
            values: self.values,
        };
        Ok((bean.next_start(requested)?, bean.values))
    }
}

/// Walks an Assets AQL search: `POST path?startAt=…&maxResults=…&includeAttributes=true` with
/// `{"qlQuery": …}` as the body.
#[derive(Debug)]
pub struct AqlPager {
    path: String,
    aql: String,
    page_size: u32,
    next: Option<i64>,
}

impl AqlPager {
    pub fn new(path: impl Into<String>, aql: impl Into<String>, page_size: u32) -> Self {
        AqlPager {
            path: path.into(),
            aql: aql.into(),
            page_size,
            next: Some(0),
        }
    }

    async fn fetch<T: DeserializeOwned + Send>(
        &mut self,
        client: &Client,
    ) -> Result<Option<Vec<T>>, ApiError> {
        let Some(start) = self.next else {
            return Ok(None);
        };
        let query = [
            ("startAt", start.to_string()),
            ("maxResults", self.page_size.to_string()),
            ("includeAttributes", "true".to_string()),
        ];
        let body = serde_json::json!({ "qlQuery": self.aql });
        let page: AqlPage<T> = client.post_json_query(&self.path, &query, &body).await?;
        let (next, values) = page.next_start(start).map_err(|reason| {
            ApiError::pagination("POST", client.url(&self.path, &query).as_str(), reason)
        })?;
        self.next = next;
        Ok(Some(values))
    }
}

/// The older Assets object list (`ObjectListScheme` on Cloud, `ObjectListResult` on Data
/// Center; REFERENCE §3.3, from go-atlassian and jira.js, no spec copy).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectListPage<T> {
    #[serde(default = "Vec::new")]
    pub object_entries: Vec<T>,
    pub page_number: Option<i64>,
    /// Data Center only: the number of pages.
    pub page_size: Option<i64>,
    pub to_index: Option<i64>,
    pub total_filter_count: Option<i64>,
}

impl<T> ObjectListPage<T> {
    /// The next 1-based page, or `None` at the end: an empty page, `pageNumber >= pageSize`,
    /// or `toIndex >= totalFilterCount`.
    pub fn next_page(&self, requested: i64, last_to: Option<i64>) -> Result<Option<i64>, String> {
        if let Some(number) = self.page_number {
            if number != requested {
                return Err(format!(
                    "asked for page={requested}, the server answered pageNumber={number}"
                ));
            }
        }
        if let (Some(to), Some(before)) = (self.to_index, last_to) {
            if to <= before {
                return Err(format!(
                    "page {requested} ends at toIndex={to}, not after the previous page"
                ));
            }
        }
        if self.object_entries.is_empty() {
            return Ok(None);
        }
        if self.page_size.is_some_and(|pages| requested >= pages) {
            return Ok(None);
        }
        if let (Some(to), Some(total)) = (self.to_index, self.total_filter_count) {
            if to >= total {
                return Ok(None);
            }
        }
        requested
            .checked_add(1)
            .map(Some)
            .ok_or_else(|| format!("page={requested} is out of range"))
    }
}

/// Walks an older Assets object list: `GET path?<query>&page=N&resultPerPage=…`, pages from 1.
#[derive(Debug)]
pub struct ObjectListPager {
    path: String,
    query: Vec<(&'static str, String)>,
    page_size: u32,
    next: Option<i64>,
    last_to: Option<i64>,
}

impl ObjectListPager {
    pub fn new(
        path: impl Into<String>,
        query: Vec<(&'static str, String)>,
        page_size: u32,
    ) -> Self {
        ObjectListPager {
            path: path.into(),
            query,
            page_size,
            next: Some(1),
            last_to: None,
        }
    }

    async fn fetch<T: DeserializeOwned + Send>(
        &mut self,
        client: &Client,
    ) -> Result<Option<Vec<T>>, ApiError> {
        let Some(page_number) = self.next else {
            return Ok(None);
        };
        let mut query: Vec<(&str, String)> =
            self.query.iter().map(|(k, v)| (*k, v.clone())).collect();
        query.push(("page", page_number.to_string()));
        query.push(("resultPerPage", self.page_size.to_string()));
        query.push(("includeAttributes", "true".to_string()));
        let page: ObjectListPage<T> = client.get(&self.path, &query).await?;
        self.next = page
            .next_page(page_number, self.last_to)
            .map_err(|reason| {
                ApiError::pagination("GET", client.url(&self.path, &query).as_str(), reason)
            })?;
        self.last_to = page.to_index.or(self.last_to);
        Ok(Some(page.object_entries))
    }
}

/// A listing walked one page at a time: each page shape's pager implements it, so one helper
/// (the engine's `FamilyRun::pages`) serves them all.
pub trait Pager: Send {
    /// The next page's items, or `None` when the listing is done. A page that does not
    /// advance is an error, never a loop.
    fn next<T: DeserializeOwned + Send>(
        &mut self,
        client: &Client,
    ) -> impl Future<Output = Result<Option<Vec<T>>, ApiError>> + Send;
}

/// Every pager's `next` is its own `fetch`.
macro_rules! pagers {
    ($($pager:ty),+) => {$(
        impl Pager for $pager {
            fn next<T: DeserializeOwned + Send>(
                &mut self,
                client: &Client,
            ) -> impl Future<Output = Result<Option<Vec<T>>, ApiError>> + Send {
                self.fetch(client)
            }
        }
    )+};
}

pagers!(
    OffsetPager,
    LinkPager,
    CursorPager,
    AqlPager,
    ObjectListPager
);

/// The listing's own query plus its start and size parameters (`names`).
fn offset_query<'a>(
    query: &'a [(&'static str, String)],
    (start_name, size_name): (&'static str, &'static str),
    start: i64,
    page_size: u32,
) -> Vec<(&'a str, String)> {
    let mut query: Vec<(&str, String)> = query.iter().map(|(k, v)| (*k, v.clone())).collect();
    query.push((start_name, start.to_string()));
    query.push((size_name, page_size.to_string()));
    query
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(json: &str) -> PageBean<u32> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn is_last_ends_the_listing() {
        let p = page(r#"{"startAt":0,"maxResults":2,"total":2,"isLast":true,"values":[1,2]}"#);
        assert_eq!(p.next_start(0), Ok(None));
    }

    #[test]
    fn advances_by_items_received_not_by_requested_size() {
        // Asked for 1000, the server clamped to 50 and says so.
        let p = page(r#"{"startAt":100,"maxResults":50,"isLast":false,"values":[1,2,3]}"#);
        assert_eq!(p.next_start(100), Ok(Some(103)));
    }

    #[test]
    fn without_is_last_falls_back_to_total_then_next_page() {
        let p = page(r#"{"startAt":0,"total":5,"values":[1,2,3]}"#);
        assert_eq!(p.next_start(0), Ok(Some(3)));
        let p = page(r#"{"startAt":3,"total":5,"values":[4,5]}"#);
        assert_eq!(p.next_start(3), Ok(None));
        let p = page(r#"{"startAt":0,"nextPage":"https://x/next","values":[1]}"#);
        assert_eq!(p.next_start(0), Ok(Some(1)));
        let p = page(r#"{"startAt":1,"values":[2]}"#);
        assert_eq!(p.next_start(1), Ok(None));
    }

    #[test]
    fn an_empty_page_claiming_more_is_an_error() {
        let p = page(r#"{"startAt":10,"isLast":false,"values":[]}"#);
        assert!(p.next_start(10).unwrap_err().contains("empty page"));
    }

    #[test]
    fn a_page_from_elsewhere_is_an_error() {
        // A server that ignores startAt would otherwise serve page one forever.
        let p = page(r#"{"startAt":0,"isLast":false,"values":[1,2]}"#);
        assert!(p.next_start(2).unwrap_err().contains("startAt=0"));
    }

    #[test]
    fn missing_values_is_an_empty_page() {
        let p = page(r#"{"startAt":0,"isLast":true}"#);
        assert!(p.values.is_empty());
        assert_eq!(p.next_start(0), Ok(None));
    }

    #[test]
    fn v1_ends_without_a_next_link_and_advances_by_items_received() {
        let p: V1Page<u32> = serde_json::from_str(
            r#"{"results":[1,2,3],"start":0,"limit":200,"size":3,"_links":{"next":"/wiki/rest/api/group?start=3"}}"#,
        )
        .unwrap();
        assert_eq!(p.next_start(0), Ok(Some(3)));
        let p: V1Page<u32> =
            serde_json::from_str(r#"{"results":[4],"start":3,"limit":200,"size":1,"_links":{}}"#)
                .unwrap();
        assert_eq!(p.next_start(3), Ok(None));
    }

    #[test]
    fn v1_pages_that_do_not_advance_are_errors() {
        let p: V1Page<u32> =
            serde_json::from_str(r#"{"results":[],"start":6,"_links":{"next":"/x?start=6"}}"#)
                .unwrap();
        assert!(p.next_start(6).unwrap_err().contains("empty page"));
        let p: V1Page<u32> =
            serde_json::from_str(r#"{"results":[1],"start":0,"_links":{"next":"/x"}}"#).unwrap();
        assert!(p.next_start(5).unwrap_err().contains("start=0"));
    }

    #[test]
    fn link_header_next_is_found_among_other_relations() {
        let header = r#"</wiki/api/v2/spaces?cursor=abc&limit=2>; rel="next", <https://acme.atlassian.net/wiki>; rel="base""#;
        assert_eq!(
            link_next(header).as_deref(),
            Some("/wiki/api/v2/spaces?cursor=abc&limit=2")
        );
        assert_eq!(
            link_next(r#"<https://acme.atlassian.net/wiki>; rel="base""#),
            None
        );
    }

    pub(super) fn client() -> Client {
        let auth = super::super::Auth::ApiToken {
            email: "a@example.com".into(),
            token: secrecy::SecretString::from("t"),
        };
        Client::new(
            Url::parse("https://acme.atlassian.net").unwrap(),
            auth,
            &super::super::HttpSettings::default(),
            std::sync::Arc::new(super::super::retry::SystemClock),
        )
        .unwrap()
    }

    #[test]
    fn a_cursor_that_repeats_or_a_link_that_stays_put_is_refused() {
        let client = client();
        let mut pager = LinkPager::new("/wiki/api/v2/spaces", Vec::new());
        let first = client.url("/wiki/api/v2/spaces", &[]);
        let second = pager
            .advance(&client, &first, "/wiki/api/v2/spaces?cursor=a&limit=2")
            .unwrap();
        assert_eq!(
            second.as_str(),
            "https://acme.atlassian.net/wiki/api/v2/spaces?cursor=a&limit=2"
        );
        let third = pager
            .advance(&client, &second, "/wiki/api/v2/spaces?cursor=b&limit=2")
            .unwrap();
        // Back to a cursor already followed, from another URL: a loop in the making.
        let error = pager
            .advance(&client, &third, "/wiki/api/v2/spaces?cursor=a&limit=5")
            .unwrap_err();
        assert!(error.contains("already followed"), "{error}");
        let error = pager
            .advance(&client, &third, "/wiki/api/v2/spaces?cursor=b&limit=2")
            .unwrap_err();
        assert!(error.contains("page just read"), "{error}");
    }

    #[test]
    fn next_links_stay_on_the_site() {
        let client = client();
        let mut pager = LinkPager::new("/x", Vec::new());
        let first = client.url("/x", &[]);
        let error = pager
            .advance(
                &client,
                &first,
                "https://evil.example/wiki/api/v2/spaces?cursor=a",
            )
            .unwrap_err();
        assert!(error.contains("leaves the site"), "{error}");
    }

    #[test]
    fn cursor_pages_take_next_from_links_or_meta() {
        let page: CursorPage<u32> =
            serde_json::from_str(r#"{"data":[1],"links":{"self":"a","next":"b"}}"#).unwrap();
        assert_eq!(page.next(), Some("b"));
        let page: CursorPage<u32> =
            serde_json::from_str(r#"{"data":[1],"meta":{"next":"c","page_size":1}}"#).unwrap();
        assert_eq!(page.next(), Some("c"));
        let page: CursorPage<u32> =
            serde_json::from_str(r#"{"data":[],"links":{"next":""}}"#).unwrap();
        assert_eq!(page.next(), None);
    }
    #[test]
    fn jsm_pages_end_on_is_last_page_and_advance_by_items_received() {
        let p: PagedDto<u32> = serde_json::from_str(
            r#"{"_expands":[],"size":2,"start":0,"limit":50,"isLastPage":false,"values":[1,2]}"#,
        )
        .unwrap();
        assert_eq!(p.next_start(0), Ok(Some(2)));
        let p: PagedDto<u32> = serde_json::from_str(
            r#"{"size":1,"start":2,"limit":50,"isLastPage":true,"values":[3]}"#,
        )
        .unwrap();
        assert_eq!(p.next_start(2), Ok(None));
        let p: PagedDto<u32> =
            serde_json::from_str(r#"{"start":4,"isLastPage":false,"values":[]}"#).unwrap();
        assert!(p.next_start(4).unwrap_err().contains("empty page"));
        let p: PagedDto<u32> =
            serde_json::from_str(r#"{"start":0,"isLastPage":false,"values":[1]}"#).unwrap();
        assert!(p.next_start(3).unwrap_err().contains("start=0"));
    }

    #[test]
    fn aql_pages_end_on_is_last_or_last_and_total_is_optional() {
        let p: AqlPage<u32> = serde_json::from_str(
            r#"{"startAt":0,"maxResults":25,"isLast":false,"last":false,"values":[1,2],"objectTypeAttributes":[]}"#,
        )
        .unwrap();
        assert_eq!(p.next_start(0).unwrap().0, Some(2));
        let p: AqlPage<u32> =
            serde_json::from_str(r#"{"startAt":2,"maxResults":25,"last":true,"values":[3]}"#)
                .unwrap();
        assert_eq!(p.next_start(2).unwrap(), (None, vec![3]));
        let p: AqlPage<u32> =
            serde_json::from_str(r#"{"startAt":0,"total":3,"values":[1,2]}"#).unwrap();
        assert_eq!(p.next_start(0).unwrap().0, Some(2));
        let p: AqlPage<u32> =
            serde_json::from_str(r#"{"startAt":5,"isLast":false,"values":[]}"#).unwrap();
        assert!(p.next_start(5).is_err());
    }

    #[test]
    fn object_list_pages_end_on_page_count_or_to_index() {
        let page = |json: &str| -> ObjectListPage<u32> { serde_json::from_str(json).unwrap() };
        // Data Center: `pageSize` is the number of pages.
        let p = page(r#"{"objectEntries":[1],"pageNumber":2,"pageSize":2,"toIndex":50}"#);
        assert_eq!(p.next_page(2, Some(25)), Ok(None));
        // Cloud: `toIndex` against `totalFilterCount`.
        let p = page(r#"{"objectEntries":[1],"pageNumber":1,"toIndex":25,"totalFilterCount":40}"#);
        assert_eq!(p.next_page(1, None), Ok(Some(2)));
        let p = page(r#"{"objectEntries":[1],"pageNumber":2,"toIndex":40,"totalFilterCount":40}"#);
        assert_eq!(p.next_page(2, Some(25)), Ok(None));
        let p = page(r#"{"objectEntries":[],"pageNumber":3}"#);
        assert_eq!(p.next_page(3, None), Ok(None));
        // A server that ignores `page` serves page 1 again.
        let p = page(r#"{"objectEntries":[1],"pageNumber":1,"toIndex":25}"#);
        assert!(p
            .next_page(2, Some(25))
            .unwrap_err()
            .contains("pageNumber=1"));
        let p = page(r#"{"objectEntries":[1],"toIndex":25,"totalFilterCount":90}"#);
        assert!(p.next_page(2, Some(25)).unwrap_err().contains("toIndex=25"));
    }
}

/// Properties over arbitrary input: no parser panics on any JSON or bytes, and every pager,
/// fed arbitrary pages, ends or errors within a bound and never asks for the same page twice.
#[cfg(test)]
mod props {
    use std::collections::HashSet;

    use proptest::prelude::*;
    use serde_json::Value;

    use super::*;

    /// Field names of every page shape, so arbitrary objects often hit a real field.
    const FIELDS: [&str; 24] = [
        "startAt",
        "maxResults",
        "total",
        "isLast",
        "nextPage",
        "values",
        "results",
        "start",
        "limit",
        "size",
        "isLastPage",
        "_links",
        "links",
        "meta",
        "next",
        "data",
        "last",
        "objectEntries",
        "pageNumber",
        "pageSize",
        "toIndex",
        "totalFilterCount",
        "cursor",
        "other",
    ];

    fn json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            any::<String>().prop_map(Value::from),
            prop::sample::select(
                &[
                    "/wiki/api/v2/spaces?cursor=a",
                    "https://acme.atlassian.net/x",
                    ""
                ][..]
            )
            .prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((prop::sample::select(&FIELDS[..]), inner), 0..8).prop_map(
                    |fields| Value::Object(
                        fields
                            .into_iter()
                            .map(|(k, v)| (k.to_string(), v))
                            .collect()
                    )
                ),
            ]
        })
    }

    fn client() -> Client {
        super::tests::client()
    }

    /// Where a page was asked to start: anywhere, near the start, or near the largest offset.
    fn start() -> impl Strategy<Value = i64> {
        prop_oneof![any::<i64>(), 0i64..100, i64::MAX - 8..=i64::MAX]
    }

    /// Decodes `body` as every page shape and asks each for its next page.
    fn every_shape(body: &[u8], requested: i64, last_to: Option<i64>) {
        if let Ok(page) = serde_json::from_slice::<PageBean<Value>>(body) {
            let _ = page.next_start(requested);
            let _ = Offset::next_start(&page, requested, &mut Some(requested));
        }
        if let Ok(page) = serde_json::from_slice::<V1Page<Value>>(body) {
            let _ = page.next_start(requested);
        }
        if let Ok(page) = serde_json::from_slice::<PagedDto<Value>>(body) {
            let _ = page.next_start(requested);
        }
        if let Ok(page) = serde_json::from_slice::<AqlPage<Value>>(body) {
            let _ = page.next_start(requested);
        }
        if let Ok(page) = serde_json::from_slice::<ObjectListPage<Value>>(body) {
            let _ = page.next_page(requested, last_to);
        }
        if let Ok(page) = serde_json::from_slice::<CursorPage<Value>>(body) {
            if let Some(next) = page.next() {
                let _ = next_step(&client(), next);
            }
        }
        if let Ok(page) = serde_json::from_slice::<LinkPage<Value>>(body) {
            if let Some(next) = page.links.next {
                let _ = client().resolve(&next);
                let _ = link_next(&next);
            }
        }
        let _ = serde_json::from_slice::<Vec<Value>>(body);
        let _ = super::super::error_message(body);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn no_page_shape_panics_on_any_json(
            body in json(),
            requested in start(),
            last_to in any::<Option<i64>>(),
        ) {
            every_shape(body.to_string().as_bytes(), requested, last_to);
        }

        #[test]
        fn no_page_shape_panics_on_any_bytes(
            body in prop::collection::vec(any::<u8>(), 0..256),
            requested in start(),
        ) {
            every_shape(&body, requested, None);
            let _ = link_next(&String::from_utf8_lossy(&body));
            let _ = client().resolve(&String::from_utf8_lossy(&body));
        }
    }

    /// One page an adversarial offset server answers: how many items, and what it says.
    #[derive(Debug, Clone)]
    struct Lie {
        received: usize,
        echo: Option<Option<i64>>,
        is_last: Option<bool>,
        total: Option<i64>,
        more: bool,
    }

    fn lie() -> impl Strategy<Value = Lie> {
        (
            0usize..6,
            prop_oneof![
                Just(None),
                Just(Some(None)),
                any::<Option<i64>>().prop_map(Some)
            ],
            any::<Option<bool>>(),
            prop::option::of(-5i64..60),
            any::<bool>(),
        )
            .prop_map(|(received, echo, is_last, total, more)| Lie {
                received,
                echo,
                is_last,
                total,
                more,
            })
    }

    /// Walks an offset listing over `pages` with `step` (the next start after a page at a
    /// start), checking that starts only grow, that only a page with items leads on, and
    /// so that requests never exceed the items received plus one.
    fn walk_offsets(pages: &[Lie], mut step: impl FnMut(&Lie, i64) -> Result<Option<i64>, String>) {
        let mut start = 0;
        let mut received = 0;
        for (requests, page) in pages.iter().enumerate() {
            assert!(
                requests <= received + 1,
                "{requests} requests for {received} items"
            );
            match step(page, start) {
                Ok(Some(next)) => {
                    assert!(next > start, "{next} does not advance from {start}");
                    assert_eq!(
                        next - start,
                        page.received as i64,
                        "advance by items received"
                    );
                    start = next;
                    received += page.received;
                }
                Ok(None) | Err(_) => return,
            }
        }
    }

    fn echoed(page: &Lie, start: i64) -> Option<i64> {
        page.echo.map_or(Some(start), |echo| echo)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        #[test]
        fn offset_pagers_always_advance_and_stop(pages in prop::collection::vec(lie(), 1..40)) {
            let mut total_seen = None;
            walk_offsets(&pages, |page, start| {
                let bean = PageBean {
                    start_at: echoed(page, start),
                    max_results: None,
                    total: page.total,
                    is_last: page.is_last,
                    next_page: page.more.then(|| "https://x/?startAt=0".to_string()),
                    values: vec![0u8; page.received],
                };
                Offset::next_start(&bean, start, &mut total_seen)
            });
            walk_offsets(&pages, |page, start| {
                let v1 = V1Page {
                    results: vec![0u8; page.received],
                    start: echoed(page, start),
                    links: Links { next: page.more.then(|| "/x?start=0".to_string()) },
                };
                v1.next_start(start)
            });
            walk_offsets(&pages, |page, start| {
                let dto = PagedDto {
                    start: echoed(page, start),
                    limit: None,
                    size: None,
                    is_last_page: page.is_last,
                    values: vec![0u8; page.received],
                };
                dto.next_start(start)
            });
            walk_offsets(&pages, |page, start| {
                let aql = AqlPage {
                    start_at: echoed(page, start),
                    max_results: None,
                    total: page.total,
                    is_last: None,
                    last: page.is_last,
                    values: vec![0u8; page.received],
                };
                aql.next_start(start).map(|(next, _)| next)
            });
            walk_offsets(&pages, |page, start| Ok(bare_next(start, page.received)));
        }

        #[test]
        fn object_list_pages_only_go_forward_and_stop_when_empty(
            pages in prop::collection::vec(
                (0usize..4, any::<Option<bool>>(), prop::option::of(-3i64..40), prop::option::of(0i64..40)),
                1..30,
            )
        ) {
            let (mut number, mut last_to, mut received) = (1i64, None, 0usize);
            for (requests, (count, honest, to, total)) in pages.into_iter().enumerate() {
                assert!(requests <= received + 1);
                let page = ObjectListPage {
                    object_entries: vec![0u8; count],
                    page_number: honest.map(|h| if h { number } else { number - 1 }),
                    page_size: None,
                    to_index: to,
                    total_filter_count: total,
                };
                match page.next_page(number, last_to) {
                    Ok(Some(next)) => {
                        prop_assert!(count > 0 && next == number + 1);
                        number = next;
                        last_to = to.or(last_to);
                        received += count;
                    }
                    Ok(None) | Err(_) => break,
                }
            }
        }

        /// A server with `items` items that clamps or stretches every page, drops `isLast` or
        /// inflates and shrinks `total` (after an honest first page), and points `nextPage`
        /// anywhere: the listing still yields every item once, in order.
        #[test]
        fn a_lying_page_bean_server_loses_and_repeats_nothing(
            items in 0i64..120,
            plan in prop::collection::vec(
                (1i64..30, any::<bool>(), any::<bool>(), 0i64..240, any::<bool>()),
                1..8,
            ),
        ) {
            let mut start = 0;
            let mut got = Vec::new();
            let mut total_seen = None;
            for request in 0.. {
                prop_assert!(request <= items + 1, "{request} requests for {items} items");
                let (len, keep_is_last, echo, other_total, honest_total) =
                    plan[request as usize % plan.len()];
                let end = (start + len).min(items).max(start);
                let total = if request == 0 || honest_total { items } else { other_total };
                let total = if request == 0 { total.max(items) + other_total % 3 } else { total };
                let bean = PageBean {
                    start_at: echo.then_some(start),
                    max_results: Some(len),
                    total: Some(total),
                    is_last: keep_is_last.then_some(end >= items),
                    next_page: Some("https://x/?startAt=0".to_string()),
                    values: (start..end).collect::<Vec<i64>>(),
                };
                let next = Offset::next_start(&bean, start, &mut total_seen);
                got.extend(bean.values);
                match next {
                    Ok(Some(next)) => start = next,
                    Ok(None) => break,
                    Err(reason) => prop_assert!(false, "{reason}"),
                }
            }
            prop_assert_eq!(got, (0..items).collect::<Vec<_>>());
        }
    }

    /// Next tokens a cursor server may hand out: repeats, URLs on and off the API, the first
    /// page's own URL, empty.
    const TOKENS: [&str; 8] = [
        "a",
        "b",
        "c",
        "https://acme.atlassian.net/admin/v1/orgs/o/users?cursor=a",
        "https://acme.atlassian.net/admin/v1/orgs/o/users",
        "https://acme.atlassian.net/admin/v1/orgs/o/users?cursor=z",
        "https://evil.example/admin/v1/orgs/o/users",
        "",
    ];

    /// Next links a Confluence v2 server may hand out.
    const LINKS: [&str; 7] = [
        "/wiki/api/v2/spaces?cursor=a",
        "/wiki/api/v2/spaces?cursor=b",
        "/wiki/api/v2/spaces?cursor=a&limit=5",
        "/wiki/api/v2/spaces",
        "https://acme.atlassian.net/wiki/api/v2/spaces?cursor=c",
        "https://evil.example/wiki/api/v2/spaces?cursor=d",
        "not a path",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        #[test]
        fn cursor_pagers_never_ask_twice_and_stop_within_the_cursors_there_are(
            pages in prop::collection::vec((any::<bool>(), prop::option::of(0usize..TOKENS.len())), 1..30)
        ) {
            let client = client();
            let path = "/admin/v1/orgs/o/users";
            let mut pager = CursorPager::new(CursorRequest::Get { path: path.into(), query: Vec::new() });
            let mut asked = HashSet::new();
            let mut next = Next::First;
            for (requests, (empty, token)) in pages.into_iter().enumerate() {
                prop_assert!(requests <= TOKENS.len() + 1);
                let url = match &next {
                    Next::First => client.url(path, &[]).to_string(),
                    Next::Cursor(cursor) => client.url(path, &[("cursor", cursor.clone())]).to_string(),
                    Next::Url(url) => url.to_string(),
                };
                prop_assert!(asked.insert(url.clone()), "{} asked twice", url);
                let token = token.map(|i| TOKENS[i]).filter(|t| !t.is_empty());
                match pager.after(&client, &url, token, empty) {
                    Ok(Some(step)) => next = step,
                    Ok(None) | Err(_) => break,
                }
            }
        }

        #[test]
        fn link_pagers_never_read_a_page_twice_and_stop_within_the_links_there_are(
            pages in prop::collection::vec((any::<bool>(), prop::option::of(0usize..LINKS.len())), 1..30)
        ) {
            let client = client();
            let mut pager = LinkPager::new("/wiki/api/v2/spaces", Vec::new());
            let mut url = client.url("/wiki/api/v2/spaces", &[]);
            let mut read = HashSet::new();
            for (requests, (empty, link)) in pages.into_iter().enumerate() {
                prop_assert!(requests <= LINKS.len() + 1);
                prop_assert!(read.insert(url.clone()), "{} read twice", url);
                match pager.after(&client, &url, link.map(|i| LINKS[i]), empty) {
                    Ok(Some(next)) => url = next,
                    Ok(None) | Err(_) => break,
                }
            }
        }

        #[test]
        fn link_pagers_give_up_on_endless_empty_pages(cursors in prop::collection::vec("[a-z]{8}", 10..20)) {
            let client = client();
            let mut pager = LinkPager::new("/wiki/api/v2/spaces", Vec::new());
            let mut url = client.url("/wiki/api/v2/spaces", &[]);
            let mut requests = 0;
            for cursor in &cursors {
                requests += 1;
                let link = format!("/wiki/api/v2/spaces?cursor={cursor}-{requests}");
                match pager.after(&client, &url, Some(&link), true) {
                    Ok(Some(next)) => url = next,
                    Ok(None) | Err(_) => break,
                }
            }
            prop_assert!(requests <= MAX_EMPTY_LINKED_PAGES as usize);
        }
    }
}
