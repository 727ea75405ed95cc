//! The synthetic Jira Service Management side of the site: a service desk for every
//! `service_desk` project, customers (the site's `customer` accounts and portal-only ones that
//! users/search does not list), and customer organisations with members.

use super::data::{uuid_like, Project, User};
use super::JsmTenant;

#[derive(Clone, Debug)]
pub struct JsmData {
    pub service_desks: Vec<ServiceDesk>,
    /// Every customer: the site's `customer` accounts first, then the portal-only ones.
    pub customers: Vec<User>,
    pub organizations: Vec<Organization>,
    /// Position in `customers` by account id.
    customer_index: std::collections::BTreeMap<String, usize>,
}

impl JsmData {
    /// The customer with this account id.
    pub fn customer(&self, account_id: &str) -> Option<&User> {
        self.customer_index
            .get(account_id)
            .map(|&i| &self.customers[i])
    }
}

#[derive(Clone, Debug)]
pub struct ServiceDesk {
    pub id: String,
    pub project_id: String,
    pub project_key: String,
    pub project_name: String,
    /// Account ids, in listing order.
    pub customers: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Organization {
    pub id: String,
    pub name: String,
    /// Account ids, ordered by account id as the spec documents.
    pub members: Vec<String>,
}

const ORGANIZATION_NAMES: [&str; 6] = [
    "Charlie Cakes Franchises",
    "Atlas Coffee Co",
    "The Adjustment Bureau",
    "Northwind Traders",
    "Globex",
    "Initech",
];

const TAG_PORTAL: u64 = 60;

pub(super) fn generate(config: &JsmTenant, users: &[User], projects: &[Project]) -> JsmData {
    let portal = (0..config.portal_customers).map(|i| User {
        account_id: format!(
            "qm:{}:{}",
            uuid_like(TAG_PORTAL, i as u64),
            uuid_like(TAG_PORTAL + 1, i as u64)
        ),
        account_type: "customer".to_string(),
        active: i % 5 != 4,
        display_name: format!("Portal Customer {}", i + 1),
        email: Some(format!("customer{}@portal.example", i + 1)),
        time_zone: "UTC".to_string(),
    });
    let customers: Vec<User> = users
        .iter()
        .filter(|u| u.account_type == "customer")
        .cloned()
        .chain(portal)
        .collect();
    let desk_projects: Vec<&Project> = projects
        .iter()
        .filter(|p| p.project_type_key == "service_desk")
        .take(config.desks)
        .collect();
    let service_desks = desk_projects
        .iter()
        .enumerate()
        .map(|(k, project)| ServiceDesk {
            id: (k + 1).to_string(),
            project_id: project.id.clone(),
            project_key: project.key.clone(),
            project_name: project.name.clone(),
            // Two customers in three on each desk, a different third left out per desk.
            customers: customers
                .iter()
                .enumerate()
                .filter(|(j, _)| (j + k) % 3 != 2)
                .take(config.desk_customers)
                .map(|(_, c)| c.account_id.clone())
                .collect(),
        })
        .collect();
    let organizations = (0..config.organizations)
        .map(|o| {
            let mut members: Vec<String> = customers
                .iter()
                .enumerate()
                .filter(|(j, _)| j % config.organizations.max(1) == o)
                .map(|(_, c)| c.account_id.clone())
                .collect();
            members.sort();
            let base = ORGANIZATION_NAMES[o % ORGANIZATION_NAMES.len()];
            let name = match o / ORGANIZATION_NAMES.len() {
                0 => base.to_string(),
                round => format!("{base} {}", round + 1),
            };
            Organization {
                id: (o + 1).to_string(),
                name,
                members,
            }
        })
        .collect();
    let customer_index = customers
        .iter()
        .enumerate()
        .map(|(i, c)| (c.account_id.clone(), i))
        .collect();
    JsmData {
        service_desks,
        customers,
        organizations,
        customer_index,
    }
}
