//! atlassian-inventory: an asset-discovery collector for Atlassian Cloud.

pub mod tenant;
