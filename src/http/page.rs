//! Pagination as types: each Atlassian page shape knows where the next page starts, and a pager
//! walks a listing one page at a time. A page that does not advance, or contradicts the request,
//! ends the listing with an error instead of looping (REFERENCE §0.2).
//!
//! - [`PageBean`]: Jira's `startAt`/`maxResults`/`isLast`/`total`/`values` envelope.
//! - [`OffsetPager`]: a bare JSON array with no metadata (`/rest/api/3/users/search`).
//! - [`CursorPager`]: the Admin APIs' `{"data": [...], "links": {"next": ...}}`, where `next` is
//!   a full URL on v1 endpoints and a bare cursor token on v2, search and api-access endpoints
//!   (REFERENCE §0.2, AX-241). A cursor seen twice ends the listing with an error.
//!
//! Both advance `startAt` by the number of items *received*, not requested: Jira clamps
//! `maxResults` to a per-endpoint limit (it echoes the clamped value, but a bare array cannot), and
//! users/search returns short pages before the end. Advancing by what was asked would skip items.

use std::collections::HashSet;

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
    /// the end of the listing.
    pub fn next_start(&self, requested: i64) -> Result<Option<i64>, String> {
        if let Some(start_at) = self.start_at {
            if start_at != requested {
                return Err(format!(
                    "asked for startAt={requested}, the server answered startAt={start_at}"
                ));
            }
        }
        let received = self.values.len() as i64;
        let next = requested + received;
        match self.is_last {
            Some(true) => Ok(None),
            Some(false) if received == 0 => Err(format!(
                "empty page at startAt={requested} that says it is not the last"
            )),
            Some(false) => Ok(Some(next)),
            // `isLast` is not returned by every operation: fall back to `total`, then `nextPage`.
            None if received == 0 => Ok(None),
            None => match self.total {
                Some(total) => Ok((next < total).then_some(next)),
                None => Ok(self.next_page.is_some().then_some(next)),
            },
        }
    }
}

/// Walks a PageBean listing.
#[derive(Debug)]
pub struct PageBeanPager {
    path: String,
    query: Vec<(&'static str, String)>,
    page_size: u32,
    next: Option<i64>,
}

impl PageBeanPager {
    pub fn new(
        path: impl Into<String>,
        query: Vec<(&'static str, String)>,
        page_size: u32,
    ) -> Self {
        PageBeanPager {
            path: path.into(),
            query,
            page_size,
            next: Some(0),
        }
    }

    /// The next page's items, or `None` when the listing is done.
    pub async fn next<T: DeserializeOwned>(
        &mut self,
        client: &Client,
    ) -> Result<Option<Vec<T>>, ApiError> {
        let Some(start) = self.next else {
            return Ok(None);
        };
        let query = self.page_query(start);
        let page: PageBean<T> = client.get(&self.path, &query).await?;
        self.next = page.next_start(start).map_err(|reason| {
            ApiError::pagination("GET", client.url(&self.path, &query).as_str(), reason)
        })?;
        Ok(Some(page.values))
    }

    fn page_query(&self, start: i64) -> Vec<(&str, String)> {
        offset_query(&self.query, start, self.page_size)
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

    pub async fn next<T: DeserializeOwned>(
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
        offset_query(&self.query, start, self.page_size)
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
        }
    }

    /// For polling streams (the Admin events stream) that always hand out a cursor: the
    /// listing ends at the first empty page.
    pub fn until_empty(mut self) -> Self {
        self.until_empty = true;
        self
    }

    pub async fn next<T: DeserializeOwned>(
        &mut self,
        client: &Client,
    ) -> Result<Option<Vec<T>>, ApiError> {
        let Some(next) = self.next.take() else {
            return Ok(None);
        };
        let (method, url, page): (&'static str, String, CursorPage<T>) = match (&self.request, next)
        {
            (_, Next::Url(url)) => ("GET", url.to_string(), client.get_url(&url).await?),
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
                ("POST", url, client.post(path, &body).await?)
            }
        };
        if page.data.is_empty() && self.until_empty {
            return Ok(None);
        }
        if let Some(token) = page.next() {
            if !self.seen.insert(token.to_string()) {
                return Err(ApiError::pagination(
                    method,
                    &url,
                    format!("the cursor {token:?} was handed out twice"),
                ));
            }
            if page.data.is_empty() {
                return Err(ApiError::pagination(
                    method,
                    &url,
                    "an empty page that names a next page".to_string(),
                ));
            }
            self.next = Some(next_step(client, &url, method, token)?);
        }
        Ok(Some(page.data))
    }
}

/// A `next` that is a URL is followed as it is, but only on the API's own origin: the request
/// carries the organisation's key. Anything else is a cursor token.
fn next_step(
    client: &Client,
    url: &str,
    method: &'static str,
    token: &str,
) -> Result<Next, ApiError> {
    if !(token.starts_with("https://") || token.starts_with("http://")) {
        return Ok(Next::Cursor(token.to_string()));
    }
    let next = Url::parse(token).map_err(|e| {
        ApiError::pagination(
            method,
            url,
            format!("next link {token:?} is not a URL: {e}"),
        )
    })?;
    if next.origin() != client.base().origin() {
        return Err(ApiError::pagination(
            method,
            url,
            format!("next link {token:?} leaves {}", client.base()),
        ));
    }
    Ok(Next::Url(next))
}

/// The listing's own query plus `startAt` and `maxResults`.
fn offset_query<'a>(
    query: &'a [(&'static str, String)],
    start: i64,
    page_size: u32,
) -> Vec<(&'a str, String)> {
    let mut query: Vec<(&str, String)> = query.iter().map(|(k, v)| (*k, v.clone())).collect();
    query.push(("startAt", start.to_string()));
    query.push(("maxResults", page_size.to_string()));
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
    fn missing_values_is_an_empty_page() {
        let p = page(r#"{"startAt":0,"isLast":true}"#);
        assert!(p.values.is_empty());
        assert_eq!(p.next_start(0), Ok(None));
    }
}
