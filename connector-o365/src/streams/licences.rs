//! `/subscribedSkus`, or licences derived from users' assignments when it is refused.

use connector_core::Licence;
use tokio::sync::watch;

use super::users::SkuCounts;
use super::{Emitter, Outcome, StreamError, text};
use crate::http::{Graph, GraphError};
use crate::settings::Stream;
use crate::skus;

/// Reads subscribed SKUs; on 403 waits for the users stream (`users_done`)
/// and derives licences from its assignment counts, saying so.
pub async fn read(
    graph: &Graph,
    em: &Emitter,
    counts: &SkuCounts,
    users_done: Option<watch::Receiver<Option<bool>>>,
) -> Result<Outcome, StreamError> {
    let document = match graph.get_json(&graph.url("/v1.0/subscribedSkus")).await {
        Ok(document) => document,
        Err(GraphError::Forbidden { .. }) => return derive(em, counts, users_done).await,
        Err(e) => return Err(e.into()),
    };
    let mut n = 0;
    for sku in document["value"].as_array().into_iter().flatten() {
        let Some(id) = text(&sku["skuId"]) else {
            continue;
        };
        let part = text(&sku["skuPartNumber"]).unwrap_or_default();
        let mut licence = Licence::default();
        licence.source_key = id.to_ascii_lowercase();
        licence.sku_id = id;
        licence.name = skus::name_of_part(&part).map(str::to_owned);
        licence.part_number = part;
        licence.capability_status = text(&sku["capabilityStatus"]);
        licence.prepaid_enabled = sku["prepaidUnits"]["enabled"].as_i64();
        licence.prepaid_suspended = sku["prepaidUnits"]["suspended"].as_i64();
        licence.prepaid_warning = sku["prepaidUnits"]["warning"].as_i64();
        licence.consumed = sku["consumedUnits"].as_i64();
        em.record(licence).await?;
        n += 1;
    }
    em.progress(format!("Licences: {n} subscribed SKUs")).await;
    Ok(Outcome::Complete)
}

async fn derive(
    em: &Emitter,
    counts: &SkuCounts,
    users_done: Option<watch::Receiver<Option<bool>>>,
) -> Result<Outcome, StreamError> {
    let Some(mut done) = users_done else {
        em.warn(format!(
            "Licences were not read: /subscribedSkus was refused ({}), and deriving them needs the users stream.",
            super::grant(Stream::Licences)
        ))
        .await;
        return Ok(Outcome::Skipped);
    };
    let users_complete = match done.wait_for(Option::is_some).await {
        Ok(finished) => finished.unwrap_or(false),
        Err(_) => return Err(StreamError::Stopped),
    };
    if !users_complete {
        em.warn(format!(
            "Licences were not read: /subscribedSkus was refused ({}), and the users to derive them from could not be read either.",
            super::grant(Stream::Licences)
        ))
        .await;
        return Ok(Outcome::Skipped);
    }
    let counts: Vec<(String, u64)> = counts
        .lock()
        .map(|c| c.iter().map(|(k, v)| (k.clone(), *v)).collect())
        .unwrap_or_default();
    for (sku, assigned) in &counts {
        let mut licence = Licence::default();
        licence.source_key = sku.clone();
        licence.sku_id = sku.clone();
        match skus::by_id(sku) {
            Some((part, name)) => {
                licence.part_number = part.to_owned();
                licence.name = Some(name.to_owned());
            }
            None => licence.part_number = format!("unknown SKU {sku}"),
        }
        licence.consumed = Some(*assigned as i64);
        licence.derived = true;
        em.record(licence).await?;
    }
    em.warn(format!(
        "Licences derived from users' assignments ({} SKUs, names from a table of well-known SKUs; no purchased counts): \
         /subscribedSkus was refused; {} to read subscribed licences.",
        counts.len(),
        super::grant(Stream::Licences)
    ))
    .await;
    Ok(Outcome::Partial)
}
