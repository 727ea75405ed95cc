//! Jira Service Management's wire shapes (`specs/jira-service-management-swagger.v3.json`:
//! `ServiceDeskDTO`, `UserDTO`, `OrganizationDTO`) and their conversion to records.

use serde::Deserialize;

use crate::record::{Group, Membership, Namespace, Resource, User};

/// `ServiceDeskDTO`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ServiceDesk {
    pub id: Option<String>,
    pub project_id: Option<String>,
    pub project_key: Option<String>,
    pub project_name: Option<String>,
}

impl ServiceDesk {
    pub(super) fn record(&self, ns: &Namespace, id: &str) -> Resource {
        Resource {
            id: ns.service_desk(id),
            site: ns.site().to_string(),
            resource_type: "jsm_service_desk".to_string(),
            resource_id: id.to_string(),
            key: self.project_key.clone(),
            name: self.project_name.clone(),
            project_type: Some("service_desk".to_string()),
            project_id: self.project_id.clone(),
            ..Resource::default()
        }
    }
}

/// `UserDTO`: a service desk's customer or an organisation's member. `name` and `key` are
/// legacy copies of the account id and are not used.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Customer {
    pub account_id: Option<String>,
    pub display_name: Option<String>,
    pub email_address: Option<String>,
    pub active: Option<bool>,
    pub time_zone: Option<String>,
}

impl Customer {
    /// A `user` record for an account Jira's users/search did not list. The JSM listings say
    /// nothing about the account type: an account seen only as a customer or organisation
    /// member is a `customer`.
    pub(super) fn record(&self, ns: &Namespace, account_id: &str) -> User {
        User {
            id: ns.user(account_id),
            site: ns.site().to_string(),
            account_id: account_id.to_string(),
            account_type: Some("customer".to_string()),
            display_name: self.display_name.clone(),
            email: self.email_address.clone(),
            active: self.active,
            time_zone: self.time_zone.clone(),
            source: "jsm".to_string(),
            email_source: self.email_address.as_ref().map(|_| "jsm".to_string()),
            ..User::default()
        }
    }
}

/// `OrganizationDTO` (`created` and `uuid` are not used).
#[derive(Debug, Deserialize)]
pub(super) struct Organization {
    pub id: Option<String>,
    pub name: Option<String>,
}

impl Organization {
    /// A customer organisation as a `group` record, in its own id namespace: its ids are not
    /// site group ids.
    pub(super) fn record(&self, ns: &Namespace, id: &str) -> Group {
        Group {
            id: ns.jsm_organization(id),
            site: ns.site().to_string(),
            group_id: Some(id.to_string()),
            name: self.name.clone().unwrap_or_default(),
            source: "jsm".to_string(),
        }
    }

    pub(super) fn membership(
        &self,
        ns: &Namespace,
        id: &str,
        member: &Customer,
        account_id: &str,
    ) -> Membership {
        let parent_id = ns.jsm_organization(id);
        Membership {
            id: format!("{parent_id}/member/{account_id}"),
            site: ns.site().to_string(),
            relation: "organization_member".to_string(),
            parent_id,
            member_id: ns.user(account_id),
            member_type: "user".to_string(),
            account_id: Some(account_id.to_string()),
            group_id: Some(id.to_string()),
            group_name: self.name.clone(),
            member_active: member.active,
            ..Membership::default()
        }
    }
}

/// A customer's edge to the service desk that lists it.
pub(super) fn desk_customer(
    ns: &Namespace,
    desk: &ServiceDesk,
    desk_id: &str,
    member: &Customer,
    account_id: &str,
) -> Membership {
    let parent_id = ns.service_desk(desk_id);
    Membership {
        id: format!("{parent_id}/customer/{account_id}"),
        site: ns.site().to_string(),
        relation: "service_desk_customer".to_string(),
        parent_id,
        member_id: ns.user(account_id),
        member_type: "user".to_string(),
        account_id: Some(account_id.to_string()),
        project_id: desk.project_id.clone(),
        member_active: member.active,
        ..Membership::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns() -> Namespace {
        Namespace::new("acme.atlassian.net")
    }

    /// Items of the spec's own examples (`_links` kept: unknown fields are ignored).
    #[test]
    fn a_service_desk_links_to_its_jira_project() {
        let desk: ServiceDesk = serde_json::from_str(
            r#"{"id":"10001","projectId":"11001","projectName":"IT Help Desk","projectKey":"ITH","_links":{"self":"https://your-domain.atlassian.net/rest/servicedeskapi/servicedesk/10001"}}"#,
        )
        .unwrap();
        let record = desk.record(&ns(), "10001");
        assert_eq!(record.id, "acme.atlassian.net/jsm/service-desk/10001");
        assert_eq!(record.resource_type, "jsm_service_desk");
        assert_eq!(record.project_id.as_deref(), Some("11001"));
        assert_eq!(record.key.as_deref(), Some("ITH"));
    }

    #[test]
    fn customers_and_organisations_become_users_groups_and_edges() {
        let fred: Customer = serde_json::from_str(
            r#"{"accountId":"qm:a713c8ea:5ad6d3581db05e2a66fa80b","name":"qm:a713c8ea:5ad6d3581db05e2a66fa80b","key":"qm:a713c8ea:5ad6d3581db05e2a66fa80b","emailAddress":"fred@example.com","displayName":"Fred F. User","active":true,"timeZone":"Australia/Sydney","_links":{"jiraRest":"https://x"}}"#,
        )
        .unwrap();
        let account = fred.account_id.clone().unwrap();
        let user = fred.record(&ns(), &account);
        assert_eq!(user.account_type.as_deref(), Some("customer"));
        assert_eq!(user.source, "jsm");
        assert_eq!(user.email.as_deref(), Some("fred@example.com"));

        let org: Organization = serde_json::from_str(
            r#"{"id":"1","name":"Charlie Cakes Franchises","_links":{"self":"https://x/organization/1"}}"#,
        )
        .unwrap();
        let group = org.record(&ns(), "1");
        assert_eq!(group.id, "acme.atlassian.net/jsm/organization/1");
        assert_eq!(group.source, "jsm");
        let edge = org.membership(&ns(), "1", &fred, &account);
        assert_eq!(edge.relation, "organization_member");
        assert_eq!(edge.parent_id, group.id);
        assert_eq!(edge.member_id, user.id);
    }
}
