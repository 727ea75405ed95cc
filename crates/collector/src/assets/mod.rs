//! Jira Assets (the CMDB of Jira Service Management): the site's workspaces, their object
//! schemas, object types with their attributes, and every object, as `resource` records whose
//! attribute values keep the ids of the users, groups and objects they reference.
//!
//! Endpoints: workspace discovery on the site, `GET /rest/servicedeskapi/assets/workspace`
//! (the deprecated `/rest/servicedeskapi/insight/workspace` where it answers 404; JSM spec,
//! REFERENCE §2); then on the gateway (`--api-url`, the site's Basic credentials, REFERENCE
//! §0.1) under `/jsm/assets/workspace/{workspaceId}/v1`: `GET /objectschema/list`,
//! `GET /objectschema/{id}/objecttypes/flat`, `GET /objecttype/{id}/attributes` and the AQL
//! search `POST /object/aql`, one object type at a time. Where that answers 404 or 410, the
//! older listings are tried in turn (REFERENCE §3.3): the deprecated Cloud
//! `GET …/v1/aql/objects` on the gateway, then the Data Center paths
//! `GET /rest/assets/1.0/aql/objects` and `GET /rest/insight/1.0/iql/objects` on the site (they
//! do not exist on Cloud sites; a DC-style proxy may still serve them). The coverage record's
//! `served_by` names the one that answered.
//!
//! A site without Assets answers 404 or an empty list to the discovery: the families are
//! `not_licensed`, which is not a failure.

mod wire;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures_util::{stream, Stream, TryStreamExt};

use crate::coverage::{self, Family};
use crate::engine::{failed, Abort, Ctx, FamilyRun};
use crate::http::page::{AqlPager, JsmPager, ObjectListPager, PageBeanPager, Pager};
use crate::http::{ApiError, Client};
use crate::record::Record;

const PRODUCT: &str = "assets";

static WORKSPACES: Family = Family {
    product: PRODUCT,
    name: "assets.workspaces",
    endpoints: &[
        "GET /rest/servicedeskapi/assets/workspace",
        "GET /rest/servicedeskapi/insight/workspace",
    ],
    needs: "Any account with Jira Service Management access (JSM spec: Permissions required: Any); OAuth scope read:servicedesk-request",
};
static SCHEMAS: Family = Family {
    product: PRODUCT,
    name: "assets.schemas",
    endpoints: &[
        "GET /jsm/assets/workspace/{workspaceId}/v1/objectschema/list",
        "GET /jsm/assets/workspace/{workspaceId}/v1/objectschema/{id}/objecttypes/flat",
        "GET /jsm/assets/workspace/{workspaceId}/v1/objecttype/{id}/attributes",
    ],
    needs: "An Assets role on each object schema (Object Schema Users or higher); OAuth scopes read:cmdb-schema:jira, read:cmdb-type:jira, read:cmdb-attribute:jira",
};
static OBJECTS: Family = Family {
    product: PRODUCT,
    name: "assets.objects",
    endpoints: &[
        "POST /jsm/assets/workspace/{workspaceId}/v1/object/aql",
        "GET /jsm/assets/workspace/{workspaceId}/v1/aql/objects",
        "GET /rest/assets/1.0/aql/objects",
        "GET /rest/insight/1.0/iql/objects",
    ],
    needs: "An Assets role on each object schema (Object Schema Users or higher); OAuth scope read:cmdb-object:jira",
};

/// Every family of the product.
pub(crate) static FAMILIES: [&Family; 3] = [&WORKSPACES, &SCHEMAS, &OBJECTS];

/// JSM's default; the Assets API documents no page maximum (REFERENCE §3.1), so the pagers
/// advance by what is received.
const WORKSPACES_PAGE: u32 = 50;
const SCHEMAS_PAGE: u32 = 50;
const OBJECTS_PAGE: u32 = 100;

/// What Assets needs beyond the site's context: the gateway and the `--aql` filter.
#[derive(Clone)]
pub(crate) struct Gateway {
    /// `--api-url` with the site's Basic credentials (never the Admin key).
    pub client: Client,
    pub aql: Option<String>,
}

/// Collects every workspace of the site. `ctx.client` is the site; `gateway.client` the
/// Assets API.
pub(crate) async fn collect(ctx: &Ctx, gateway: &Gateway) -> Result<(), Abort> {
    let api = Ctx {
        client: gateway.client.clone(),
        ..ctx.clone()
    };
    let discovery = ctx.family(&WORKSPACES);
    let schemas = api.family(&SCHEMAS);
    let objects = ctx.family(&OBJECTS);
    let workspaces = match workspaces(ctx, &discovery).await? {
        Discovery::Found(ids) => ids,
        Discovery::NotLicensed(why) => {
            for family in [discovery, schemas, objects] {
                let coverage = coverage::not_licensed(&ctx.ns, family.tally(), &why);
                family.finish_with(|_| coverage).await?;
            }
            return Ok(());
        }
        // Nothing below the workspaces can be read: say so in every family.
        Discovery::Failed(error) => {
            schemas.tally().fail(&error);
            objects.tally().fail(&error);
            Vec::new()
        }
    };
    // The first endpoint of the chain that answers is kept for the other object types.
    let chosen = AtomicUsize::new(0);
    for workspace in &workspaces {
        let types = object_types(&api, &schemas, workspace);
        objects
            .each(types, |info| {
                let (objects, chosen) = (&objects, &chosen);
                async move { objects_of(ctx, gateway, objects, chosen, &info).await }
            })
            .await?;
    }
    discovery.finish().await?;
    schemas.finish().await?;
    objects.finish().await
}

enum Discovery {
    Found(Vec<String>),
    NotLicensed(String),
    Failed(ApiError),
}

/// The site's Assets workspace ids: the current discovery endpoint, then its deprecated twin
/// where the current one answers 404.
async fn workspaces(ctx: &Ctx, family: &FamilyRun<'_>) -> Result<Discovery, Abort> {
    let tally = family.tally();
    let paths = WORKSPACES
        .endpoints
        .iter()
        .map(|e| e.trim_start_matches("GET "));
    let mut not_found = Vec::new();
    for path in paths {
        let mut pager = JsmPager::new(path, Vec::new(), WORKSPACES_PAGE);
        let mut ids = Vec::new();
        loop {
            match pager.next::<wire::Workspace>(&ctx.client).await {
                Ok(Some(page)) => {
                    tally.ok();
                    ids.extend(page.into_iter().filter_map(|w| w.workspace_id));
                }
                Ok(None) => break,
                Err(error) if error.status() == Some(404) && tally.ok_requests() == 0 => {
                    not_found.push(format!("GET {path} answered 404"));
                    ids.clear();
                    break;
                }
                Err(error) => {
                    failed(tally, error.clone())?;
                    return Ok(Discovery::Failed(error));
                }
            }
        }
        if tally.ok_requests() == 0 {
            continue;
        }
        tally.served_by(&format!("GET {path}"));
        if ids.is_empty() {
            return Ok(Discovery::NotLicensed(format!(
                "the site has no Assets workspace (GET {path} listed none)"
            )));
        }
        // No record is written for a workspace: the family counts the ones it found.
        tally.records(ids.len() as u64);
        return Ok(Discovery::Found(ids));
    }
    Ok(Discovery::NotLicensed(format!(
        "the site has no Assets: {}",
        not_found.join("; ")
    )))
}

/// A workspace's schemas and object types, schema by schema: their records are written as the
/// walk reaches them, and each type whose objects are read comes out with its attributes.
fn object_types<'a>(
    api: &'a Ctx,
    schemas: &'a FamilyRun<'a>,
    workspace: &'a str,
) -> impl Stream<Item = Result<wire::TypeInfo, Abort>> + 'a {
    // `ObjectSchemaList` is `{startAt, maxResults, total, values, isLast}`: a PageBean.
    let pager = PageBeanPager::new(
        format!("/jsm/assets/workspace/{workspace}/v1/objectschema/list"),
        Vec::new(),
        SCHEMAS_PAGE,
    );
    schemas
        .list::<wire::Schema, _>(pager)
        .and_then(move |schema| schema_types(api, schemas, workspace, schema))
        .map_ok(|types| stream::iter(types.into_iter().map(Ok)))
        .try_flatten()
        .try_filter_map(move |(schema_id, object_type)| {
            type_info(api, schemas, workspace, schema_id, object_type)
        })
}

/// One schema's record, and its object types (`GET …/objectschema/{id}/objecttypes/flat`),
/// each with the schema's id.
async fn schema_types(
    api: &Ctx,
    schemas: &FamilyRun<'_>,
    workspace: &str,
    schema: wire::Schema,
) -> Result<Vec<(String, wire::ObjectType)>, Abort> {
    let Some(schema_id) = schema.id.clone() else {
        return Ok(Vec::new());
    };
    let record = schema.record(&api.ns, workspace, &schema_id);
    schemas.emit(Record::Resource(record)).await?;
    let path =
        format!("/jsm/assets/workspace/{workspace}/v1/objectschema/{schema_id}/objecttypes/flat");
    let object_types = schemas
        .answer(api.client.get::<Vec<wire::ObjectType>>(&path, &[]))
        .await?
        .unwrap_or_default();
    Ok(object_types
        .into_iter()
        .map(|object_type| (schema_id.clone(), object_type))
        .collect())
}

/// One object type's record, and its attributes (`GET …/objecttype/{id}/attributes`): what its
/// objects are read with. `None` for a type without objects to read (abstract, or without id).
async fn type_info(
    api: &Ctx,
    schemas: &FamilyRun<'_>,
    workspace: &str,
    schema_id: String,
    object_type: wire::ObjectType,
) -> Result<Option<wire::TypeInfo>, Abort> {
    let Some(type_id) = object_type.id.clone() else {
        return Ok(None);
    };
    let schema_id = object_type.object_schema_id.clone().unwrap_or(schema_id);
    let record = object_type.record(&api.ns, workspace, &schema_id, &type_id);
    schemas.emit(Record::Resource(record)).await?;
    let path = format!("/jsm/assets/workspace/{workspace}/v1/objecttype/{type_id}/attributes");
    // Where this fails, objects are still read; their attributes are then named by id.
    let attributes = schemas
        .answer(api.client.get::<Vec<wire::TypeAttribute>>(&path, &[]))
        .await?
        .unwrap_or_default();
    if object_type.abstract_object_type {
        return Ok(None);
    }
    Ok(Some(wire::TypeInfo {
        workspace_id: workspace.to_string(),
        schema_id,
        type_id,
        name: object_type.name,
        attributes: attributes
            .into_iter()
            .filter_map(|a| Some((a.id.clone()?, a)))
            .collect::<HashMap<_, _>>(),
    }))
}

/// The object listings, newest first. Each is tried only when the one before answers 404 or
/// 410 (REFERENCE §3.3).
#[derive(Clone, Copy, Debug)]
enum Listing {
    /// Cloud, current: `POST …/v1/object/aql`.
    Aql,
    /// Cloud, deprecated ("Please use Object.Search()"): `GET …/v1/aql/objects`.
    AqlObjects,
    /// Data Center (JSM Assets 10 and later): `GET /rest/assets/1.0/aql/objects` on the site.
    DataCenter,
    /// Data Center, the Insight app before the rename: `GET /rest/insight/1.0/iql/objects`.
    Insight,
}

const LISTINGS: [Listing; 4] = [
    Listing::Aql,
    Listing::AqlObjects,
    Listing::DataCenter,
    Listing::Insight,
];

impl Listing {
    fn endpoint(self) -> &'static str {
        OBJECTS.endpoints[self as usize]
    }

    fn pager(self, workspace: &str, aql: &str) -> ObjectPager {
        let base = format!("/jsm/assets/workspace/{workspace}/v1");
        match self {
            Listing::Aql => ObjectPager::Aql(AqlPager::new(
                format!("{base}/object/aql"),
                aql,
                OBJECTS_PAGE,
            )),
            Listing::AqlObjects => ObjectPager::List(ObjectListPager::new(
                format!("{base}/aql/objects"),
                vec![("qlQuery", aql.to_string())],
                OBJECTS_PAGE,
            )),
            Listing::DataCenter => ObjectPager::List(ObjectListPager::new(
                "/rest/assets/1.0/aql/objects",
                vec![("qlQuery", aql.to_string())],
                OBJECTS_PAGE,
            )),
            Listing::Insight => ObjectPager::List(ObjectListPager::new(
                "/rest/insight/1.0/iql/objects",
                vec![("iql", aql.to_string())],
                OBJECTS_PAGE,
            )),
        }
    }

    /// The Data Center listings live on the site, the Cloud ones on the gateway.
    fn on_site(self) -> bool {
        matches!(self, Listing::DataCenter | Listing::Insight)
    }
}

/// The pager of whichever listing serves the objects.
enum ObjectPager {
    Aql(AqlPager),
    List(ObjectListPager),
}

impl Pager for ObjectPager {
    async fn next<T: serde::de::DeserializeOwned + Send>(
        &mut self,
        client: &Client,
    ) -> Result<Option<Vec<T>>, ApiError> {
        match self {
            ObjectPager::Aql(pager) => pager.next(client).await,
            ObjectPager::List(pager) => pager.next(client).await,
        }
    }
}

/// The objects of one type, by AQL (`objectTypeId = N`, narrowed by `--aql`), through the
/// first listing of the chain that answers.
async fn objects_of(
    site: &Ctx,
    gateway: &Gateway,
    objects: &FamilyRun<'_>,
    chosen: &AtomicUsize,
    info: &wire::TypeInfo,
) -> Result<(), Abort> {
    let tally = objects.tally();
    let aql = match &gateway.aql {
        Some(narrow) => format!("objectTypeId = {} AND ({narrow})", info.type_id),
        None => format!("objectTypeId = {}", info.type_id),
    };
    let mut index = chosen.load(Ordering::Relaxed);
    'listings: while let Some(listing) = LISTINGS.get(index).copied() {
        let client = if listing.on_site() {
            &site.client
        } else {
            &gateway.client
        };
        let mut pager = listing.pager(&info.workspace_id, &aql);
        let mut answered = false;
        loop {
            match pager.next::<wire::AssetObject>(client).await {
                Ok(Some(page)) => {
                    tally.ok();
                    if !answered {
                        answered = true;
                        tally.served_by(&served_by(listing));
                    }
                    for object in page {
                        match object.record(&site.ns, info) {
                            Some(record) => objects.emit(Record::Resource(record)).await?,
                            None => tracing::warn!(
                                "assets.objects: skipped an object without id of type {}",
                                info.type_id
                            ),
                        }
                    }
                }
                Ok(None) => return Ok(()),
                // Gone or never there: the next, older listing may serve.
                Err(error)
                    if !answered
                        && matches!(error.status(), Some(404 | 410))
                        && index + 1 < LISTINGS.len() =>
                {
                    tracing::debug!("assets.objects: {error}; trying the next listing");
                    index += 1;
                    chosen.fetch_max(index, Ordering::Relaxed);
                    continue 'listings;
                }
                Err(error) => return failed(tally, error),
            }
        }
    }
    Ok(())
}

/// The coverage record's `served_by`: the listing, and why older ones were needed.
fn served_by(listing: Listing) -> String {
    match listing {
        Listing::Aql => listing.endpoint().to_string(),
        _ => format!(
            "{} ({} answered 404 or 410)",
            listing.endpoint(),
            Listing::Aql.endpoint()
        ),
    }
}
