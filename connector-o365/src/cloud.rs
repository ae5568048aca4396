//! National clouds: sign-in authority and Graph root.

use std::net::IpAddr;

/// A Microsoft cloud the connector can sign in to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cloud {
    /// login.microsoftonline.com / graph.microsoft.com (also GCC).
    AzurePublic,
    /// GCC High.
    AzureUsGovernment,
    /// DoD (L5).
    AzureUsGovernmentDoD,
    /// 21Vianet.
    AzureChina,
    /// A URL serving both sign-in and Graph (a private endpoint, the simulator).
    Custom(String),
}

/// Where to sign in and where Graph is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// Sign-in authority root, without trailing slash.
    pub authority: String,
    /// Graph root, without trailing slash.
    pub graph: String,
}

impl Cloud {
    /// Reads the `cloud_instance` parameter: empty is AzurePublic.
    pub fn parse(text: Option<&str>) -> Result<Cloud, String> {
        let text = text.map(str::trim).unwrap_or_default();
        if text.starts_with("http://") || text.starts_with("https://") {
            check_url(text)?;
            // A national cloud's sign-in host does not serve its Graph: a
            // URL of one must not quietly become the other.
            let host = text
                .split("://")
                .nth(1)
                .unwrap_or_default()
                .split(['/', ':'])
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase();
            let known = [
                ("login.microsoftonline.com", "leave it empty (AzurePublic)"),
                ("graph.microsoft.com", "leave it empty (AzurePublic)"),
                (
                    "login.microsoftonline.us",
                    "use AzureUsGovernment or AzureUsGovernmentDoD",
                ),
                ("graph.microsoft.us", "use AzureUsGovernment"),
                ("dod-graph.microsoft.us", "use AzureUsGovernmentDoD"),
                ("login.chinacloudapi.cn", "use AzureChina"),
                ("microsoftgraph.chinacloudapi.cn", "use AzureChina"),
            ];
            if let Some((_, instead)) = known.iter().find(|(h, _)| *h == host) {
                return Err(format!(
                    "{host} is one half of a Microsoft cloud (sign-in and Graph are different hosts): {instead}"
                ));
            }
            return Ok(Cloud::Custom(text.trim_end_matches('/').to_owned()));
        }
        match text.to_ascii_lowercase().as_str() {
            "" | "azurepublic" | "azurepubliccloud" | "public" => Ok(Cloud::AzurePublic),
            "azureusgovernment" | "azureusgovernmentcloud" | "usgov" => Ok(Cloud::AzureUsGovernment),
            "azureusgovernmentdod" | "dod" => Ok(Cloud::AzureUsGovernmentDoD),
            "azurechina" | "azurechinacloud" | "china" => Ok(Cloud::AzureChina),
            "azuregermany" | "azuregermancloud" => Err(
                "AzureGermany closed in October 2021; its tenants moved to AzurePublic: leave the cloud instance empty"
                    .into(),
            ),
            other => Err(format!(
                "unknown cloud instance '{other}': leave it empty for AzurePublic, or use AzureUsGovernment, \
                 AzureUsGovernmentDoD, AzureChina or a URL"
            )),
        }
    }

    /// The endpoints of this cloud, with an optional Graph override.
    pub fn endpoints(&self, graph_override: Option<&str>) -> Result<Endpoints, String> {
        let (authority, graph) = match self {
            Cloud::AzurePublic => (
                "https://login.microsoftonline.com",
                "https://graph.microsoft.com",
            ),
            Cloud::AzureUsGovernment => (
                "https://login.microsoftonline.us",
                "https://graph.microsoft.us",
            ),
            Cloud::AzureUsGovernmentDoD => (
                "https://login.microsoftonline.us",
                "https://dod-graph.microsoft.us",
            ),
            Cloud::AzureChina => (
                "https://login.chinacloudapi.cn",
                "https://microsoftgraph.chinacloudapi.cn",
            ),
            Cloud::Custom(url) => (url.as_str(), url.as_str()),
        };
        let graph = match graph_override.map(str::trim).filter(|s| !s.is_empty()) {
            Some(url) => {
                check_url(url)?;
                url.trim_end_matches('/')
            }
            None => graph,
        };
        Ok(Endpoints {
            authority: authority.to_owned(),
            graph: graph.to_owned(),
        })
    }
}

/// `https://` anywhere; plain `http://` only for loopback addresses; never a
/// URL with a user name or password in it (`http://127.0.0.1:1@example.com`
/// would send secrets to example.com in clear).
fn check_url(url: &str) -> Result<(), String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("'{url}' is not a URL"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(format!(
            "'{url}' carries a user name or password; give the host alone"
        ));
    }
    if !scheme.eq_ignore_ascii_case("http") {
        return Ok(());
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if loopback {
        Ok(())
    } else {
        Err(format!(
            "'{url}' is plain http:// to a non-loopback host; use https://"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_is_public_and_names_resolve() {
        let public = Cloud::parse(None).unwrap().endpoints(None).unwrap();
        assert_eq!(public.graph, "https://graph.microsoft.com");
        let dod = Cloud::parse(Some("AzureUsGovernmentDoD"))
            .unwrap()
            .endpoints(None)
            .unwrap();
        assert_eq!(dod.authority, "https://login.microsoftonline.us");
        assert_eq!(dod.graph, "https://dod-graph.microsoft.us");
    }

    #[test]
    fn germany_is_refused_with_the_reason() {
        assert!(
            Cloud::parse(Some("AzureGermany"))
                .unwrap_err()
                .contains("closed in October 2021")
        );
    }

    #[test]
    fn plain_http_only_for_loopback() {
        assert!(Cloud::parse(Some("http://127.0.0.1:8080")).is_ok());
        assert!(Cloud::parse(Some("http://[::1]:8080/")).is_ok());
        assert!(Cloud::parse(Some("http://localhost:1")).is_ok());
        assert!(
            Cloud::parse(Some("http://graph.example.com"))
                .unwrap_err()
                .contains("use https://")
        );
        let custom = Cloud::parse(Some("http://127.0.0.1:9/")).unwrap();
        let endpoints = custom.endpoints(Some("http://127.0.0.1:10")).unwrap();
        assert_eq!(endpoints.authority, "http://127.0.0.1:9");
        assert_eq!(endpoints.graph, "http://127.0.0.1:10");
    }
}
