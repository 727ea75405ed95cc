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
        next_offset(Offsets {
            param: "startAt",
            requested,
            echoed: self.start_at,
            received: self.values.len(),
            is_last: self.is_last,
            total: self.total,
            more_unless_told: self.next_page.is_some(),
        })
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
    let received = page.received as i64;
    let next = requested + received;
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
    fn next_start(&self, requested: i64) -> Result<Option<i64>, String>;
    fn into_items(self) -> Vec<T>;
}

impl<T> Offset<T> for PageBean<T> {
    fn next_start(&self, requested: i64) -> Result<Option<i64>, String> {
        PageBean::next_start(self, requested)
    }
    fn into_items(self) -> Vec<T> {
        self.values
    }
}

impl<T> Offset<T> for V1Page<T> {
    fn next_start(&self, requested: i64) -> Result<Option<i64>, String> {
        V1Page::next_start(self, requested)
    }
    fn into_items(self) -> Vec<T> {
        self.results
    }
}

impl<T> Offset<T> for PagedDto<T> {
    fn next_start(&self, requested: i64) -> Result<Option<i64>, String> {
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

/// Walks an offset-paged listing of kind `K`, advancing by the items received.
#[derive(Debug)]
pub struct Paged<K> {
    path: String,
    query: Vec<(&'static str, String)>,
    page_size: u32,
    headers: &'static [(&'static str, &'static str)],
    next: Option<i64>,
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
            kind: std::marker::PhantomData,
        }
    }

    /// Sends `headers` with every page (`X-ExperimentalApi: opt-in` for JSM's experimental
    /// operations).
    pub fn with_headers(mut self, headers: &'static [(&'static str, &'static str)]) -> Self {
        self.headers = headers;
        self
    }

    async fn fetch<T: DeserializeOwned + Send>(
        &mut self,
        client: &Client,
    ) -> Result<Option<Vec<T>>, ApiError> {
        let Some(start) = self.next else {
            return Ok(None);
        };
        let query = offset_query(&self.query, (K::START, K::SIZE), start, self.page_size);
        let page: K::Page<T> = client.get_with(&self.path, &query, self.headers).await?;
        self.next = page.next_start(start).map_err(|reason| {
            ApiError::pagination("GET", client.url(&self.path, &query).as_str(), reason)
        })?;
        Ok(Some(page.into_items()))
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

    /// The URL of the page the pager will fetch next, for error messages.
    pub fn current_url(&self, client: &Client) -> String {
        let start = self.next.unwrap_or_default();
        client.url(&self.path, &self.page_query(start)).to_string()
    }

    async fn fetch<T: DeserializeOwned + Send>(
        &mut self,
        client: &Client,
    ) -> Result<Option<Vec<T>>, ApiError> {
        let Some(start) = self.next else {
            return Ok(None);
        };
        let items: Vec<T> = client.get(&self.path, &self.page_query(start)).await?;
        if items.is_empty() {
            self.next = None;
            return Ok(None);
        }
        self.next = Some(start + items.len() as i64);
        Ok(Some(items))
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

/// Walks a Confluence v2 listing: each page names the next one by a relative URL holding an
/// opaque `cursor`, in the body's `_links.next` or the `Link` header. A cursor seen before, or a
/// next link equal to the page just read, ends the listing with an error instead of a loop.
#[derive(Debug)]
pub struct LinkPager {
    next: Option<Url>,
    first: Option<(String, Vec<(&'static str, String)>)>,
    cursors: HashSet<String>,
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
        if let Some(next) = next {
            match self.advance(client, &url, &next) {
                Ok(next) => self.next = Some(next),
                Err(reason) => {
                    self.stop = Some(ApiError::pagination("GET", url.as_str(), reason));
                }
            }
        }
        Ok(Some(page.results))
    }

    /// The next page's URL, unless following `link` from `current` would not advance.
    fn advance(&mut self, client: &Client, current: &Url, link: &str) -> Result<Url, String> {
        let next = client.resolve(link)?;
        if next == *current {
            return Err("the next link is the page just read".to_string());
        }
        if let Some(cursor) = cursor_of(&next) {
            if !self.cursors.insert(cursor.clone()) {
                return Err(format!("cursor {cursor:?} was already followed"));
            }
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
        if let Some(token) = page.next() {
            let reason = if !self.seen.insert(token.to_string()) {
                Some(format!("the cursor {token:?} was handed out twice"))
            } else if page.data.is_empty() {
                Some("an empty page that names a next page".to_string())
            } else {
                None
            };
            match reason.map_or_else(|| next_step(client, token), Err) {
                Ok(next) => self.next = Some(next),
                Err(reason) => self.stop = Some(ApiError::pagination(method, &url, reason)),
            }
        }
        Ok(Some(page.data))
    }
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
        Ok(Some(requested + 1))
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
/// ([`crate::collect::Ctx::next_page`]) serves them all.
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

    fn client() -> Client {
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
