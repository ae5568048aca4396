//! `/users`: users and their licence assignments.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use connector_core::{LicenceAssignment, User};

use super::{Emitter, Outcome, StreamError, text, when};
use crate::http::Graph;
use crate::settings::Stream;

const SELECT: &str = "id,userPrincipalName,displayName,mail,accountEnabled,userType,department,jobTitle,createdDateTime,assignedLicenses";

/// Assigned units per SKU id, counted while reading users (for derived licences).
pub type SkuCounts = Arc<Mutex<BTreeMap<String, u64>>>;

/// Reads every user; counts assignments per SKU into `counts`.
pub async fn read(graph: &Graph, em: &Emitter, counts: &SkuCounts) -> Result<Outcome, StreamError> {
    let url = graph.url(&format!("/v1.0/users?$select={SELECT}&$top=999"));
    let mut pages = super::Pages::new(graph, em, Stream::Users, "Users", url);
    while let Some(items) = pages.next().await? {
        for item in &items {
            let Some(id) = text(&item["id"]) else {
                continue;
            };
            let mut user = User::new(
                id.clone(),
                text(&item["userPrincipalName"]).unwrap_or_default(),
            );
            user.display_name = text(&item["displayName"]);
            user.mail = text(&item["mail"]);
            user.enabled = item["accountEnabled"].as_bool();
            user.user_type = text(&item["userType"]);
            user.department = text(&item["department"]);
            user.job_title = text(&item["jobTitle"]);
            user.created = when(&item["createdDateTime"]);
            em.record(user).await?;
            for licence in item["assignedLicenses"].as_array().into_iter().flatten() {
                let Some(sku) = text(&licence["skuId"]) else {
                    continue;
                };
                if let Ok(mut counts) = counts.lock() {
                    *counts.entry(sku.to_ascii_lowercase()).or_default() += 1;
                }
                let mut assignment = LicenceAssignment::default();
                assignment.source_key = format!("{id}|{sku}");
                assignment.user_key = id.clone();
                assignment.sku_id = sku;
                em.record(assignment).await?;
            }
        }
    }
    Ok(pages.finish().await)
}
