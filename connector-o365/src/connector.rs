//! The `o365` connector as the host sees it.

use connector_core::prelude::*;

use crate::cloud::Cloud;
use crate::params;

/// The Microsoft Office 365 connector.
#[derive(Debug, Default)]
pub struct O365Connector;

const NOT_BUILT: &str = "reading Microsoft Graph is not built into this version of invhost yet";

impl Connector for O365Connector {
    fn info(&self) -> ConnectorInfo {
        let mut info = ConnectorInfo::new(crate::CONNECTOR_TYPE, "Microsoft Office 365", env!("CARGO_PKG_VERSION"))
            .description(
                "Users, licences, Intune devices and installed applications, Entra devices, and \
                 Microsoft 365 app usage and activations, through Microsoft Graph with an Entra ID app.",
            )
            .record_kinds(&[
                RecordKind::User,
                RecordKind::Licence,
                RecordKind::LicenceAssignment,
                RecordKind::Device,
                RecordKind::Application,
                RecordKind::Installation,
                RecordKind::ApplicationUsage,
                RecordKind::Activation,
            ]);
        info.parameters = params::schema();
        info
    }

    fn test(&self, params: &Parameters) -> Result<TestReport, ConnectorError> {
        let mut report = TestReport::default();
        match Cloud::parse(params.str("cloud_instance"))
            .and_then(|cloud| cloud.endpoints(params.str("graph_endpoint")))
        {
            Ok(endpoints) => report.ok(
                "Configuration",
                format!(
                    "Signs in at {} and reads {}.",
                    endpoints.authority, endpoints.graph
                ),
            ),
            Err(e) => report.failed("Configuration", e),
        }
        if params.contains("login_email") || params.contains("password") {
            report.warning(
                "Deprecated parameters",
                "Login Email and Password are ignored: every stream uses the app's Graph permissions. \
                 Remove them from the connector.",
            );
        }
        report.failed("Sign-in", format!("Not checked: {NOT_BUILT}."));
        Ok(report)
    }

    fn run(
        &self,
        _action: &str,
        _params: &Parameters,
        _ctx: &mut RunContext<'_>,
    ) -> Result<RunSummary, ConnectorError> {
        Err(ConnectorError::failed(format!("cannot sync: {NOT_BUILT}")))
    }
}
