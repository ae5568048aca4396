//! The `o365` parameter schema: keys operators script against, a public interface.

use connector_core::{ParamField, ParamKind, ParamSchema};

use crate::settings::Stream;

pub fn schema() -> ParamSchema {
    let choice = |options: &[&str]| options.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let streams: Vec<&str> = Stream::ALL.iter().map(|s| s.name()).collect();
    ParamSchema {
        fields: vec![
            ParamField::new("cloud_instance", "Azure Cloud Instance", ParamKind::String)
                .pattern(
                    r"(?i)azurepublic|azurepubliccloud|public|azureusgovernment|azureusgovernmentcloud|usgov|azureusgovernmentdod|dod|azurechina|azurechinacloud|china|https?://[^\s/?#]+(/[^\s?#]*)?",
                    "empty (AzurePublic), AzureUsGovernment, AzureUsGovernmentDoD, AzureChina, or an https:// URL",
                )
                .help(
                "Empty for AzurePublic (also GCC); AzureUsGovernment, AzureUsGovernmentDoD, AzureChina, \
                 or the URL of a sign-in authority that also serves Graph.",
            ),
            ParamField::new("graph_endpoint", "Graph Endpoint", ParamKind::Url)
                .help("Optional: overrides the Graph root of the cloud instance."),
            ParamField::new("tenant_id", "Tenant Id", ParamKind::String)
                .required()
                .pattern(
                    r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}|([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z][A-Za-z0-9-]{0,61}[A-Za-z0-9]",
                    "the tenant's GUID or one of its domain names (contoso.onmicrosoft.com)",
                )
                .help("Directory (tenant) id GUID, or a verified domain such as contoso.onmicrosoft.com."),
            ParamField::new("client_id", "Client Id", ParamKind::Guid)
                .required()
                .help("Application (client) id of the Entra ID app registration."),
            ParamField::new("client_secret", "Client Secret", ParamKind::Secret)
                .required()
                .help("The secret's Value (not its Secret ID), from Certificates & secrets."),
            ParamField::new("login_email", "Login Email", ParamKind::Email)
                .deprecated()
                .help("Deprecated: the PowerShell modules it served are retired; ignored."),
            ParamField::new("password", "Password", ParamKind::Secret)
                .deprecated()
                .help("Deprecated: the PowerShell modules it served are retired; ignored."),
            ParamField::new(
                "report_period",
                "Usage Report Period",
                ParamKind::Choice { options: choice(&["D7", "D30", "D90", "D180"]) },
            )
            .default_value("D30")
            .help("Days of Microsoft 365 usage to read."),
            ParamField::new("streams", "Streams", ParamKind::MultiChoice { options: choice(&streams) })
                .required()
                .default_value(streams.clone())
                .help("What to sync; all by default."),
            ParamField::new(
                "max_concurrency",
                "Max Concurrency",
                ParamKind::Integer { min: Some(1), max: Some(32) },
            )
            .default_value(4)
            .help("Graph requests in flight at once."),
        ],
    }
}
