//! The `o365` connector as the host sees it.

use connector_core::prelude::*;

use crate::cloud::Cloud;
use crate::params;
use crate::settings::{Settings, Stream};

/// The action that reads only the usage reports, which change daily.
pub const ACTION_SYNC_USAGE: &str = "sync_usage_data";

/// The streams [`ACTION_SYNC_USAGE`] reads.
const USAGE_STREAMS: [Stream; 3] = [Stream::AppUsage, Stream::Activations, Stream::ActiveUsers];

/// The Microsoft Office 365 connector.
#[derive(Debug, Default)]
pub struct O365Connector;

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
        info.action(
            Action::new(ACTION_SYNC_USAGE, "Sync Usage Data")
                .description(
                    "Reads only the Microsoft 365 usage reports (app usage, activations, active users), \
                     which change daily, without the device and application export; rows of other \
                     kinds are left as they are.",
                )
                .records(RecordMode::Sync),
        )
    }

    fn test(&self, params: &Parameters) -> Result<TestReport, ConnectorError> {
        let mut report = TestReport::default();
        let settings = match Cloud::parse(params.str("cloud_instance"))
            .and_then(|cloud| cloud.endpoints(params.str("graph_endpoint")))
            .map_err(|e| e.to_string())
            .and_then(|_| Settings::from_parameters(params).map_err(|e| e.message))
        {
            Ok(settings) => {
                report.ok(
                    "Configuration",
                    format!(
                        "Signs in at {} and reads {}.",
                        settings.endpoints.authority, settings.endpoints.graph
                    ),
                );
                settings
            }
            Err(e) => {
                report.failed("Configuration", e);
                return Ok(report);
            }
        };
        deprecated(params, |w| report.warning("Deprecated parameters", w));
        crate::probe::test(&settings, &mut report);
        Ok(report)
    }

    fn run(
        &self,
        action: &str,
        params: &Parameters,
        ctx: &mut RunContext<'_>,
    ) -> Result<RunSummary, ConnectorError> {
        let mut settings = Settings::from_parameters(params)?;
        if action == ACTION_SYNC_USAGE {
            settings.streams.retain(|s| USAGE_STREAMS.contains(s));
            if settings.streams.is_empty() {
                return Err(ConnectorError::invalid_parameter(
                    "streams",
                    "none of the usage streams (app_usage, activations, active_users) is selected, \
                     so Sync Usage Data has nothing to read",
                ));
            }
        }
        deprecated(params, |w| ctx.warn(w));
        crate::sync::run(settings, ctx)
    }
}

fn deprecated(params: &Parameters, mut warn: impl FnMut(String)) {
    if params.contains("login_email") || params.contains("password") {
        warn("Login Email and Password are ignored: the PowerShell modules they served are retired and every \
              stream uses the app's Graph permissions. Remove them from the connector."
            .into());
    }
}
