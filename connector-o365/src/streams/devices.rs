//! `/devices` (Entra) and `/deviceManagement/managedDevices` (Intune).

use connector_core::Device;

use super::{Emitter, Outcome, StreamError, text, when};
use crate::http::Graph;
use crate::settings::Stream;

const ENTRA_SELECT: &str = "id,deviceId,displayName,operatingSystem,operatingSystemVersion,accountEnabled,approximateLastSignInDateTime,trustType,isManaged,isCompliant,manufacturer,model";
const INTUNE_SELECT: &str = "id,deviceName,operatingSystem,osVersion,serialNumber,manufacturer,model,userPrincipalName,azureADDeviceId,enrolledDateTime,lastSyncDateTime,complianceState,managedDeviceOwnerType,totalStorageSpaceInBytes,physicalMemoryInBytes";

/// A zero GUID means "no Entra device" in Intune.
fn device_id(value: &serde_json::Value) -> Option<String> {
    text(value).filter(|id| id != "00000000-0000-0000-0000-000000000000")
}

fn bytes(value: &serde_json::Value) -> Option<i64> {
    value.as_i64().filter(|n| *n > 0)
}

/// Reads Entra devices (keyed `entra:<object id>`).
pub async fn entra(graph: &Graph, em: &Emitter) -> Result<Outcome, StreamError> {
    let url = graph.url(&format!("/v1.0/devices?$select={ENTRA_SELECT}&$top=999"));
    let mut pages = super::Pages::new(graph, em, Stream::EntraDevices, "Entra devices", url);
    while let Some(items) = pages.next().await? {
        for item in &items {
            let Some(id) = text(&item["id"]) else {
                continue;
            };
            let mut device = Device::new(
                format!("entra:{id}"),
                text(&item["displayName"]).unwrap_or_default(),
            );
            device.entra_device_id = device_id(&item["deviceId"]);
            device.operating_system = text(&item["operatingSystem"]);
            device.os_version = text(&item["operatingSystemVersion"]);
            device.manufacturer = text(&item["manufacturer"]);
            device.model = text(&item["model"]);
            device.last_seen = when(&item["approximateLastSignInDateTime"]);
            device.ownership = text(&item["trustType"]);
            device.compliance = item["isCompliant"].as_bool().map(|c| {
                if c {
                    "compliant".into()
                } else {
                    "noncompliant".into()
                }
            });
            device.source_type = Some("entra".into());
            em.record(device).await?;
        }
    }
    Ok(pages.finish().await)
}

/// Reads Intune managed devices (keyed by the Intune device id).
pub async fn intune(graph: &Graph, em: &Emitter) -> Result<Outcome, StreamError> {
    let url = graph.url(&format!(
        "/v1.0/deviceManagement/managedDevices?$select={INTUNE_SELECT}&$top=1000"
    ));
    let mut pages = super::Pages::new(graph, em, Stream::ManagedDevices, "Intune devices", url);
    while let Some(items) = pages.next().await? {
        for item in &items {
            let Some(id) = text(&item["id"]) else {
                continue;
            };
            let mut device = Device::new(id, text(&item["deviceName"]).unwrap_or_default());
            device.entra_device_id = device_id(&item["azureADDeviceId"]);
            device.serial_number = text(&item["serialNumber"]);
            device.manufacturer = text(&item["manufacturer"]);
            device.model = text(&item["model"]);
            device.operating_system = text(&item["operatingSystem"]);
            device.os_version = text(&item["osVersion"]);
            device.primary_user = text(&item["userPrincipalName"]);
            device.last_seen = when(&item["lastSyncDateTime"]);
            device.enrolled = when(&item["enrolledDateTime"]);
            device.compliance = text(&item["complianceState"]);
            device.ownership = text(&item["managedDeviceOwnerType"]);
            device.memory_bytes = bytes(&item["physicalMemoryInBytes"]);
            device.storage_bytes = bytes(&item["totalStorageSpaceInBytes"]);
            device.source_type = Some("intune".into());
            em.record(device).await?;
        }
    }
    Ok(pages.finish().await)
}
