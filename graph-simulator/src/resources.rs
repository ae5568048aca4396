//! JSON representations of the generated objects, in Graph's shapes.

use serde_json::{Map, Value, json};

use super::catalog::{CatalogApp, SKUS};
use super::clock;
use super::export::ExportJob;
use super::tenant::{EntraDevice, ManagedDevice, Tenant, User};

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// The properties `/users` returns when no `$select` is given (real Graph
/// leaves out accountEnabled, assignedLicenses, department and the rest).
pub(crate) const USER_DEFAULT_PROPERTIES: [&str; 11] = [
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
];

/// A user with every property the simulator knows.
pub(crate) fn user(user: &User) -> Map<String, Value> {
    let licences: Vec<Value> = user
        .licences
        .iter()
        .filter_map(|a| {
            let sku = SKUS.get(a.sku)?;
            let disabled: Vec<&str> = a.disabled.iter().map(|p| p.id).collect();
            Some(json!({"disabledPlans": disabled, "skuId": sku.sku_id}))
        })
        .collect();
    object(json!({
        "id": user.id,
        "businessPhones": [],
        "displayName": user.display_name,
        "givenName": user.given_name,
        "jobTitle": user.job_title,
        "mail": user.mail,
        "mobilePhone": null,
        "officeLocation": null,
        "preferredLanguage": if user.guest { Value::Null } else { Value::from("en-US") },
        "surname": user.surname,
        "userPrincipalName": user.upn,
        "accountEnabled": user.enabled,
        "userType": if user.guest { "Guest" } else { "Member" },
        "department": user.department,
        "createdDateTime": clock::timestamp(user.created),
        "assignedLicenses": licences,
    }))
}

/// The `/subscribedSkus` entries.
pub(crate) fn subscribed_skus(tenant: &Tenant) -> Vec<Value> {
    SKUS.iter()
        .enumerate()
        .map(|(i, sku)| {
            let consumed = tenant.sku_consumed.get(i).copied().unwrap_or(0);
            let enabled = if sku.capability_status == "Enabled" {
                consumed + consumed / 10 + 5
            } else {
                0
            };
            let suspended = if sku.capability_status == "Suspended" {
                25
            } else {
                0
            };
            let plans: Vec<Value> = sku
                .plans
                .iter()
                .map(|p| {
                    json!({
                        "servicePlanId": p.id,
                        "servicePlanName": p.name,
                        "provisioningStatus": "Success",
                        "appliesTo": "User",
                    })
                })
                .collect();
            let mut rng = super::rng::Rng::new(tenant.seed, super::rng::domain::SKU, i as u64);
            json!({
                "accountName": "Contoso",
                "accountId": tenant.tenant_id,
                "appliesTo": "User",
                "capabilityStatus": sku.capability_status,
                "consumedUnits": consumed,
                "id": format!("{}_{}", tenant.tenant_id, sku.sku_id),
                "skuId": sku.sku_id,
                "skuPartNumber": sku.part_number,
                "subscriptionIds": [rng.guid()],
                "prepaidUnits": {
                    "enabled": enabled,
                    "suspended": suspended,
                    "warning": 0,
                    "lockedOut": 0,
                },
                "servicePlans": plans,
            })
        })
        .collect()
}

/// An Entra ID device.
pub(crate) fn entra_device(device: &EntraDevice) -> Map<String, Value> {
    match device {
        EntraDevice::Managed(d) => object(json!({
            "id": d.entra_object_id,
            "deletedDateTime": null,
            "accountEnabled": true,
            "approximateLastSignInDateTime": clock::timestamp(d.last_sign_in),
            "complianceExpirationDateTime": null,
            "createdDateTime": clock::timestamp(d.enrolled),
            "deviceCategory": null,
            "deviceId": d.aad_device_id,
            "deviceMetadata": null,
            "deviceOwnership": if d.owner == "company" { "Company" } else { "Personal" },
            "deviceVersion": 2,
            "displayName": d.name,
            "enrollmentProfileName": null,
            "enrollmentType": null,
            "isCompliant": d.compliance == "compliant",
            "isManaged": true,
            "isRooted": false,
            "managementType": "MDM",
            "manufacturer": d.manufacturer,
            "mdmAppId": "0000000a-0000-0000-c000-000000000000",
            "model": d.model,
            "onPremisesLastSyncDateTime": null,
            "onPremisesSyncEnabled": if d.trust_type == "ServerAd" { Value::Bool(true) } else { Value::Null },
            "operatingSystem": d.platform.entra_os(),
            "operatingSystemVersion": d.os_version,
            "physicalIds": [],
            "profileType": "RegisteredDevice",
            "registrationDateTime": clock::timestamp(d.enrolled),
            "systemLabels": [],
            "trustType": d.trust_type,
        })),
        EntraDevice::Unmanaged(d) => object(json!({
            "id": d.id,
            "deletedDateTime": null,
            "accountEnabled": d.enabled,
            "approximateLastSignInDateTime": clock::timestamp(d.last_sign_in),
            "complianceExpirationDateTime": null,
            "createdDateTime": clock::timestamp(d.registered),
            "deviceCategory": null,
            "deviceId": d.device_id,
            "deviceMetadata": null,
            "deviceOwnership": null,
            "deviceVersion": 2,
            "displayName": d.name,
            "enrollmentProfileName": null,
            "enrollmentType": null,
            "isCompliant": null,
            "isManaged": null,
            "isRooted": false,
            "managementType": null,
            "manufacturer": d.hardware.map(|h| h.0),
            "mdmAppId": null,
            "model": d.hardware.map(|h| h.1),
            "onPremisesLastSyncDateTime": null,
            "onPremisesSyncEnabled": if d.trust_type == "ServerAd" { Value::Bool(true) } else { Value::Null },
            "operatingSystem": d.platform.entra_os(),
            "operatingSystemVersion": d.os_version,
            "physicalIds": [],
            "profileType": "RegisteredDevice",
            "registrationDateTime": clock::timestamp(d.registered),
            "systemLabels": [],
            "trustType": d.trust_type,
        })),
    }
}

/// An Intune managed device as lists return it (`physicalMemoryInBytes` 0).
pub(crate) fn managed_device(d: &ManagedDevice) -> Map<String, Value> {
    let (user_id, upn, email, user_name) = match &d.user {
        Some(u) => (
            u.id.as_str(),
            u.upn.as_str(),
            u.mail.as_str(),
            u.display_name.as_str(),
        ),
        None => ("", "", "", ""),
    };
    let mut device = object(json!({
        "id": d.id,
        "userId": user_id,
        "deviceName": d.name,
        "managedDeviceOwnerType": d.owner,
        "enrolledDateTime": clock::timestamp7(d.enrolled, d.enrolled_fraction),
        "lastSyncDateTime": clock::timestamp7(d.last_sync, d.last_sync_fraction),
        "operatingSystem": d.platform.intune_os(),
        "complianceState": d.compliance,
        "jailBroken": if d.platform.is_mobile() { "False" } else { "Unknown" },
        "managementAgent": d.agent,
        "osVersion": d.os_version,
        "easActivated": false,
        "easDeviceId": "",
        "easActivationDateTime": "0001-01-01T00:00:00Z",
        "azureADRegistered": true,
        "deviceEnrollmentType": d.enrollment_type,
        "activationLockBypassCode": null,
        "emailAddress": email,
        "azureADDeviceId": d.aad_device_id,
        "deviceRegistrationState": "registered",
        "deviceCategoryDisplayName": "Unknown",
        "isSupervised": d.platform == super::catalog::Platform::Ios && d.owner == "company",
        "exchangeLastSuccessfulSyncDateTime": "0001-01-01T00:00:00Z",
        "exchangeAccessState": "none",
        "exchangeAccessStateReason": "none",
        "remoteAssistanceSessionUrl": null,
        "remoteAssistanceSessionErrorDetails": null,
    }));
    device.extend(object(json!({
        "isEncrypted": d.encrypted,
        "userPrincipalName": upn,
        "model": d.model,
        "manufacturer": d.manufacturer,
        "imei": "",
        "complianceGracePeriodExpirationDateTime": "9999-12-31T23:59:59.9999999Z",
        "serialNumber": d.serial,
        "phoneNumber": "",
        "androidSecurityPatchLevel": "",
        "userDisplayName": user_name,
        "configurationManagerClientEnabledFeatures": null,
        "wiFiMacAddress": "",
        "deviceHealthAttestationState": null,
        "subscriberCarrier": "",
        "meid": "",
        "totalStorageSpaceInBytes": d.storage_total,
        "freeStorageSpaceInBytes": d.storage_free,
        "managedDeviceName": format!("{}_{}", d.name, d.platform.intune_os()),
        "partnerReportedThreatState": "unknown",
        "requireUserEnrollmentApproval": null,
        "managementCertificateExpirationDate": "0001-01-01T00:00:00Z",
        "iccid": null,
        "udid": null,
        "notes": null,
        "ethernetMacAddress": null,
        "physicalMemoryInBytes": 0,
        "enrollmentProfileName": null,
        "deviceActionResults": [],
    })));
    device
}

/// A detected app.
pub(crate) fn detected_app(app: &CatalogApp, device_count: u64) -> Map<String, Value> {
    object(json!({
        "id": app.key,
        "displayName": app.name,
        "version": app.version,
        "sizeInByte": app.size_in_byte,
        "deviceCount": device_count,
        "publisher": app.publisher,
        "platform": app.platform.detected_app_platform(),
    }))
}

/// An export job in its current state.
pub(crate) fn export_job(
    base_url: &str,
    job: &ExportJob,
    status: &str,
    url: Option<String>,
) -> Value {
    let expiration = if url.is_some() {
        clock::timestamp7(job.requested + 3600, 0)
    } else {
        "0001-01-01T00:00:00Z".to_owned()
    };
    json!({
        "@odata.context": format!("{base_url}/v1.0/$metadata#deviceManagement/reports/exportJobs/$entity"),
        "id": job.id,
        "reportName": super::export::APP_INV_RAW_DATA,
        "filter": "",
        "select": job.select,
        "format": "csv",
        "snapshotId": null,
        "localizationType": "localizedValuesAsAdditionalColumn",
        "status": status,
        "url": url,
        "requestDateTime": clock::timestamp7(job.requested, 0),
        "expirationDateTime": expiration,
    })
}
