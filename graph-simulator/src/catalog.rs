//! Constant tables: application titles, licence SKUs and service plans,
//! names, hardware. Generated values pick from these.

use super::rng::{Rng, domain};

/// A device or application platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Platform {
    Windows,
    MacOs,
    Ios,
    Android,
}

impl Platform {
    /// Position of the platform's pool in `Tenant::pools`.
    pub(crate) const fn index(self) -> usize {
        match self {
            Platform::Windows => 0,
            Platform::MacOs => 1,
            Platform::Ios => 2,
            Platform::Android => 3,
        }
    }

    /// `detectedApp.platform` (a `detectedAppPlatformType` value).
    pub(crate) const fn detected_app_platform(self) -> &'static str {
        match self {
            Platform::Windows => "windows",
            Platform::MacOs => "macOS",
            Platform::Ios => "ios",
            Platform::Android => "androidWorkProfile",
        }
    }

    /// `managedDevice.operatingSystem` and the AppInvRawData `Platform`.
    pub(crate) const fn intune_os(self) -> &'static str {
        match self {
            Platform::Windows => "Windows",
            Platform::MacOs => "macOS",
            Platform::Ios => "iOS",
            Platform::Android => "Android",
        }
    }

    /// Entra ID `device.operatingSystem`.
    pub(crate) const fn entra_os(self) -> &'static str {
        match self {
            Platform::Windows => "Windows",
            Platform::MacOs => "MacMDM",
            Platform::Ios => "iOS",
            Platform::Android => "Android",
        }
    }

    /// Phones and tablets.
    pub(crate) const fn is_mobile(self) -> bool {
        matches!(self, Platform::Ios | Platform::Android)
    }
}

/// One distinct application (one detected app, one AppInvRawData key).
#[derive(Debug, Clone)]
pub(crate) struct CatalogApp {
    /// `detectedApp.id` = AppInvRawData `ApplicationKey`.
    pub key: String,
    pub name: String,
    pub publisher: String,
    pub version: String,
    pub platform: Platform,
    pub size_in_byte: u64,
}

impl CatalogApp {
    /// AppInvRawData `ApplicationShortVersion`: the first two version parts.
    pub(crate) fn short_version(&self) -> String {
        self.version
            .split('.')
            .take(2)
            .collect::<Vec<_>>()
            .join(".")
    }
}

/// How many apps at the head of each platform's pool almost every device has.
pub(crate) const CORE_APPS: usize = 4;

/// Well-known titles `(name, publisher, version, platform)`. The first twelve
/// are the titles the connector's tests look for; other platforms come early
/// so that the default catalog of 40 serves every platform.
const NAMED: &[(&str, &str, &str, Platform)] = &[
    (
        "Microsoft 365 Apps for enterprise",
        "Microsoft Corporation",
        "16.0.17928.20114",
        Platform::Windows,
    ),
    (
        "Microsoft Teams",
        "Microsoft Corporation",
        "24165.1410.2974.6689",
        Platform::Windows,
    ),
    (
        "Microsoft OneDrive",
        "Microsoft Corporation",
        "24.126.0623.0001",
        Platform::Windows,
    ),
    (
        "Microsoft Edge",
        "Microsoft Corporation",
        "126.0.2592.87",
        Platform::Windows,
    ),
    (
        "Google Chrome",
        "Google LLC",
        "126.0.6478.127",
        Platform::Windows,
    ),
    ("Mozilla Firefox", "Mozilla", "127.0.2", Platform::Windows),
    (
        "Zoom Workplace",
        "Zoom Video Communications, Inc.",
        "6.1.1.41705",
        Platform::Windows,
    ),
    (
        "Adobe Acrobat Reader",
        "Adobe",
        "24.002.20933",
        Platform::Windows,
    ),
    ("7-Zip", "Igor Pavlov", "24.07", Platform::Windows),
    (
        "Visual Studio Code",
        "Microsoft Corporation",
        "1.91.1",
        Platform::Windows,
    ),
    (
        "Microsoft Visio",
        "Microsoft Corporation",
        "16.0.17928.20114",
        Platform::Windows,
    ),
    (
        "Microsoft Project",
        "Microsoft Corporation",
        "16.0.17928.20114",
        Platform::Windows,
    ),
    (
        "Microsoft Teams",
        "",
        "24165.1410.2974.6689",
        Platform::MacOs,
    ),
    ("Microsoft Authenticator", "", "6.8.11", Platform::Ios),
    ("Intune Company Portal", "", "5.0.6198.0", Platform::Android),
    (
        "Notepad++ (64-bit x64)",
        "Notepad++ Team",
        "8.6.9",
        Platform::Windows,
    ),
    ("Google Chrome", "", "126.0.6478.127", Platform::MacOs),
    ("Microsoft Outlook", "", "4.2424.0", Platform::Ios),
    ("Microsoft Outlook", "", "4.2425.1", Platform::Android),
    (
        "Slack",
        "Slack Technologies Inc.",
        "4.39.90",
        Platform::Windows,
    ),
    (
        "Microsoft Visual C++ 2015-2022 Redistributable (x64)",
        "Microsoft Corporation",
        "14.40.33810.0",
        Platform::Windows,
    ),
    ("Company Portal", "", "5.2405.0", Platform::MacOs),
    ("Microsoft Teams", "", "6.14.1", Platform::Ios),
    (
        "Microsoft Teams",
        "",
        "1416.1.0.0.2024143401",
        Platform::Android,
    ),
    (
        "Cisco Secure Client - AnyConnect VPN",
        "Cisco Systems, Inc.",
        "5.1.4.74",
        Platform::Windows,
    ),
    (
        "Python 3.12.4 (64-bit)",
        "Python Software Foundation",
        "3.12.4150.0",
        Platform::Windows,
    ),
    (
        "Git",
        "The Git Development Community",
        "2.45.2",
        Platform::Windows,
    ),
    (
        "PowerShell 7-x64",
        "Microsoft Corporation",
        "7.4.3.0",
        Platform::Windows,
    ),
    ("Microsoft Outlook", "", "16.86", Platform::MacOs),
    ("VLC media player", "VideoLAN", "3.0.21", Platform::Windows),
    (
        "Microsoft Power BI Desktop (x64)",
        "Microsoft Corporation",
        "2.130.930.0",
        Platform::Windows,
    ),
    (
        "Citrix Workspace 2405",
        "Citrix Systems, Inc.",
        "24.5.0.131",
        Platform::Windows,
    ),
    ("Microsoft Edge", "", "126.2592.86", Platform::Ios),
    ("Zoom Workplace", "", "6.1.1.36333", Platform::MacOs),
    (
        "KeePass Password Safe 2.57",
        "Dominik Reichl",
        "2.57",
        Platform::Windows,
    ),
    (
        "Microsoft .NET Runtime - 8.0.6 (x64)",
        "Microsoft Corporation",
        "8.0.6.33720",
        Platform::Windows,
    ),
    (
        "Webex",
        "Cisco Webex LLC",
        "44.6.0.29928",
        Platform::Windows,
    ),
    (
        "Java 8 Update 411 (64-bit)",
        "Oracle Corporation",
        "8.0.4110.9",
        Platform::Windows,
    ),
    ("Microsoft Word", "", "16.86", Platform::MacOs),
    (
        "Microsoft Authenticator",
        "",
        "6.2406.4009",
        Platform::Android,
    ),
    (
        "WinRAR 7.01 (64-bit)",
        "win.rar GmbH",
        "7.01.0",
        Platform::Windows,
    ),
    ("Docker Desktop", "Docker Inc.", "4.31.1", Platform::Windows),
    ("Postman x64 11.2.0", "Postman", "11.2.0", Platform::Windows),
    ("Microsoft Remote Desktop", "", "10.9.8", Platform::MacOs),
    (
        "Dell Command | Update",
        "Dell Inc.",
        "5.3.0",
        Platform::Windows,
    ),
    (
        "HP Support Assistant",
        "HP Inc.",
        "9.35.23.0",
        Platform::Windows,
    ),
    (
        "Lenovo Vantage Service",
        "Lenovo Group Ltd.",
        "4.0.21.0",
        Platform::Windows,
    ),
    (
        "FortiClient VPN",
        "Fortinet Technologies Inc",
        "7.2.4.0972",
        Platform::Windows,
    ),
];

const VENDORS: [&str; 12] = [
    "Contoso",
    "Fabrikam",
    "Northwind",
    "Tailspin",
    "Litware",
    "Adatum",
    "Proseware",
    "Wingtip",
    "Woodgrove",
    "Relecloud",
    "Fourth Coffee",
    "Alpine Ski House",
];
const PRODUCTS: [&str; 12] = [
    "Expense Tracker",
    "Timesheets",
    "VPN Client",
    "Print Agent",
    "Backup Agent",
    "Asset Agent",
    "CRM Connector",
    "Badge Reader",
    "Label Designer",
    "Field Service",
    "Time Clock",
    "Secure Browser",
];

/// Catalog application number `index` (named titles first, then generated).
pub(crate) fn catalog_app(seed: u64, index: usize) -> CatalogApp {
    let mut rng = Rng::new(seed, domain::CATALOG, index as u64);
    let key = rng.hex_lower(64);
    let size_in_byte = if rng.percent(50) {
        0
    } else {
        rng.range(2_000_000, 900_000_000)
    };
    if let Some((name, publisher, version, platform)) = NAMED.get(index) {
        return CatalogApp {
            key,
            name: (*name).to_owned(),
            publisher: (*publisher).to_owned(),
            version: (*version).to_owned(),
            platform: *platform,
            size_in_byte,
        };
    }
    let n = index - NAMED.len();
    let combos = VENDORS.len() * PRODUCTS.len();
    let pair = (n * 7 + 3) % combos;
    let vendor = VENDORS[pair % VENDORS.len()];
    let product = PRODUCTS[pair / VENDORS.len()];
    let round = n / combos;
    let name = if round == 0 {
        format!("{vendor} {product}")
    } else {
        format!("{vendor} {product} {}", round + 1)
    };
    let publisher = if rng.percent(35) {
        String::new()
    } else {
        format!("{vendor} Ltd.")
    };
    let version = format!(
        "{}.{}.{}",
        rng.range(1, 12),
        rng.below(20),
        rng.range(100, 9999)
    );
    let platform = if n % 6 == 5 {
        Platform::MacOs
    } else {
        Platform::Windows
    };
    CatalogApp {
        key,
        name,
        publisher,
        version,
        platform,
        size_in_byte,
    }
}

/// A service plan inside a SKU.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plan {
    pub name: &'static str,
    pub id: &'static str,
}

pub(crate) const EXCHANGE_S_ENTERPRISE: Plan = Plan {
    name: "EXCHANGE_S_ENTERPRISE",
    id: "efb87545-963c-4e0d-99df-69c6916d9eb0",
};
pub(crate) const EXCHANGE_S_STANDARD: Plan = Plan {
    name: "EXCHANGE_S_STANDARD",
    id: "9aaf7827-d63c-4b61-89c3-182f06f82e5c",
};
pub(crate) const SHAREPOINTENTERPRISE: Plan = Plan {
    name: "SHAREPOINTENTERPRISE",
    id: "5dbe027f-2339-4123-9542-606e4d348a72",
};
pub(crate) const SHAREPOINTWAC: Plan = Plan {
    name: "SHAREPOINTWAC",
    id: "e95bec33-7c88-4a70-8e19-b10bd9d0c014",
};
pub(crate) const OFFICESUBSCRIPTION: Plan = Plan {
    name: "OFFICESUBSCRIPTION",
    id: "43de0ff5-c92c-492b-9116-175376d08c38",
};
pub(crate) const MCOSTANDARD: Plan = Plan {
    name: "MCOSTANDARD",
    id: "0feaeb32-d00e-4d66-bd5a-43b5b83db82c",
};
pub(crate) const MCOEV: Plan = Plan {
    name: "MCOEV",
    id: "4828c8ec-dc2e-4779-b502-87ac9ce28ab7",
};
pub(crate) const TEAMS1: Plan = Plan {
    name: "TEAMS1",
    id: "57ff2da0-773e-42df-b2af-ffb7a2317929",
};
pub(crate) const YAMMER_ENTERPRISE: Plan = Plan {
    name: "YAMMER_ENTERPRISE",
    id: "7547a3fe-08ee-4ccb-b430-5077c5041653",
};
pub(crate) const INTUNE_A: Plan = Plan {
    name: "INTUNE_A",
    id: "c1ec4a95-1f05-45b3-a911-aa3fa01094f5",
};
pub(crate) const AAD_PREMIUM: Plan = Plan {
    name: "AAD_PREMIUM",
    id: "41781fb2-bc02-4b7c-bd55-b576c07bb09d",
};
pub(crate) const AAD_PREMIUM_P2: Plan = Plan {
    name: "AAD_PREMIUM_P2",
    id: "eec0eb4f-6444-4f95-aba0-50c24d67f998",
};
pub(crate) const BI_AZURE_P2: Plan = Plan {
    name: "BI_AZURE_P2",
    id: "70d33638-9c74-4d01-bfd3-562de28bd4ba",
};
pub(crate) const VISIO_CLIENT_SUBSCRIPTION: Plan = Plan {
    name: "VISIO_CLIENT_SUBSCRIPTION",
    id: "663a804f-1c30-4ff0-9915-9db84f0d1cea",
};
pub(crate) const PROJECT_CLIENT_SUBSCRIPTION: Plan = Plan {
    name: "PROJECT_CLIENT_SUBSCRIPTION",
    id: "fafd7243-e5c1-4a3a-9e40-495efcb1d3c3",
};
pub(crate) const FLOW_P2_VIRAL: Plan = Plan {
    name: "FLOW_P2_VIRAL",
    id: "50e68c76-46c6-4674-81f9-75456511b170",
};

/// A subscribed SKU.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SkuDef {
    pub part_number: &'static str,
    pub sku_id: &'static str,
    /// The product name usage reports put in "Assigned Products".
    pub product: &'static str,
    pub capability_status: &'static str,
    pub plans: &'static [Plan],
}

const SUITE_PLANS: &[Plan] = &[
    EXCHANGE_S_ENTERPRISE,
    SHAREPOINTENTERPRISE,
    SHAREPOINTWAC,
    OFFICESUBSCRIPTION,
    MCOSTANDARD,
    TEAMS1,
    YAMMER_ENTERPRISE,
];
const E3_PLANS: &[Plan] = &[
    EXCHANGE_S_ENTERPRISE,
    SHAREPOINTENTERPRISE,
    SHAREPOINTWAC,
    OFFICESUBSCRIPTION,
    MCOSTANDARD,
    TEAMS1,
    YAMMER_ENTERPRISE,
    INTUNE_A,
    AAD_PREMIUM,
];
const E5_PLANS: &[Plan] = &[
    EXCHANGE_S_ENTERPRISE,
    SHAREPOINTENTERPRISE,
    SHAREPOINTWAC,
    OFFICESUBSCRIPTION,
    MCOSTANDARD,
    MCOEV,
    TEAMS1,
    YAMMER_ENTERPRISE,
    INTUNE_A,
    AAD_PREMIUM,
    AAD_PREMIUM_P2,
    BI_AZURE_P2,
];

pub(crate) const ENTERPRISEPACK: usize = 0;
pub(crate) const SPE_E3: usize = 1;
pub(crate) const SPE_E5: usize = 2;
pub(crate) const POWER_BI_PRO: usize = 3;
pub(crate) const VISIOCLIENT: usize = 4;
pub(crate) const PROJECTPROFESSIONAL: usize = 5;
pub(crate) const EMS: usize = 6;
pub(crate) const FLOW_FREE: usize = 7;

/// The tenant's subscriptions (`/subscribedSkus`), in answer order.
pub(crate) const SKUS: &[SkuDef] = &[
    SkuDef {
        part_number: "ENTERPRISEPACK",
        sku_id: "6fd2c87f-b296-42f0-b197-1e91e994b900",
        product: "OFFICE 365 E3",
        capability_status: "Enabled",
        plans: SUITE_PLANS,
    },
    SkuDef {
        part_number: "SPE_E3",
        sku_id: "05e9a617-0261-4cee-bb44-138d3ef5d965",
        product: "MICROSOFT 365 E3",
        capability_status: "Enabled",
        plans: E3_PLANS,
    },
    SkuDef {
        part_number: "SPE_E5",
        sku_id: "06ebc4ee-1bb5-47dd-8120-11324bc54e06",
        product: "MICROSOFT 365 E5",
        capability_status: "Enabled",
        plans: E5_PLANS,
    },
    SkuDef {
        part_number: "POWER_BI_PRO",
        sku_id: "f8a1db68-be16-40ed-86d5-cb42ce701560",
        product: "POWER BI PRO",
        capability_status: "Enabled",
        plans: &[BI_AZURE_P2],
    },
    SkuDef {
        part_number: "VISIOCLIENT",
        sku_id: "c5928f49-12ba-48f7-ada3-0d743a3601d5",
        product: "VISIO ONLINE PLAN 2",
        capability_status: "Enabled",
        plans: &[VISIO_CLIENT_SUBSCRIPTION],
    },
    SkuDef {
        part_number: "PROJECTPROFESSIONAL",
        sku_id: "53818b1b-4a27-454b-8896-0dba576410e6",
        product: "PROJECT ONLINE PROFESSIONAL",
        capability_status: "Enabled",
        plans: &[PROJECT_CLIENT_SUBSCRIPTION],
    },
    SkuDef {
        part_number: "EMS",
        sku_id: "efccb6f7-5641-4e0e-bd10-b4976e1bf68e",
        product: "ENTERPRISE MOBILITY + SECURITY E3",
        capability_status: "Enabled",
        plans: &[INTUNE_A, AAD_PREMIUM],
    },
    SkuDef {
        part_number: "FLOW_FREE",
        sku_id: "f30db892-07e9-47e9-837c-80727f46fd3d",
        product: "MICROSOFT POWER AUTOMATE FREE",
        capability_status: "Enabled",
        plans: &[FLOW_P2_VIRAL],
    },
    SkuDef {
        part_number: "EXCHANGESTANDARD",
        sku_id: "4b9405b0-7788-4568-add1-99614e613b69",
        product: "EXCHANGE ONLINE (PLAN 1)",
        capability_status: "Suspended",
        plans: &[EXCHANGE_S_STANDARD],
    },
];

/// Given names (some with diacritics: display names are UTF-8).
pub(crate) const GIVEN_NAMES: [&str; 48] = [
    "Adele",
    "Alex",
    "Allan",
    "Amelia",
    "Ben",
    "Chloé",
    "Christie",
    "Daniel",
    "Diego",
    "Elena",
    "Emily",
    "Enrico",
    "Farah",
    "Grady",
    "Hanna",
    "Henrietta",
    "Irvin",
    "Isaiah",
    "Jana",
    "Johanna",
    "Joni",
    "Karim",
    "Lee",
    "Lidia",
    "Lynne",
    "Megan",
    "Miriam",
    "Nestor",
    "Noah",
    "Olga",
    "Patti",
    "Pradeep",
    "Priya",
    "Raul",
    "Sakura",
    "Sofia",
    "Søren",
    "Tomás",
    "Uma",
    "Victor",
    "Wei",
    "Xavier",
    "Yasmin",
    "Zoë",
    "Björn",
    "Ines",
    "Mateo",
    "Aisha",
];

/// Surnames.
pub(crate) const SURNAMES: [&str; 48] = [
    "Vance",
    "Wilber",
    "Deyoung",
    "Brooks",
    "Carter",
    "Müller",
    "Cline",
    "Dunn",
    "Siciliani",
    "Garcia",
    "Braun",
    "Rossi",
    "Haddad",
    "Archie",
    "Nowak",
    "Gerhart",
    "Bellow",
    "Langer",
    "Novak",
    "Schmidt",
    "Sherman",
    "Mansour",
    "Gu",
    "Holloway",
    "Robbins",
    "Bowen",
    "Caldwell",
    "Wilke",
    "Okafor",
    "Ivanova",
    "Fernandez",
    "Gupta",
    "Patel",
    "Ortega",
    "Tanaka",
    "Lindqvist",
    "Jørgensen",
    "Álvarez",
    "Nair",
    "Petrov",
    "Zhang",
    "Dubois",
    "Rahman",
    "Kowalski",
    "O'Neil",
    "Costa",
    "Reyes",
    "Bello",
];

/// Departments with two job titles each.
pub(crate) const DEPARTMENTS: [(&str, [&str; 2]); 10] = [
    ("Sales", ["Account Executive", "Sales Manager"]),
    ("Marketing", ["Marketing Specialist", "Brand Manager"]),
    ("Finance", ["Accountant", "Financial Analyst"]),
    ("Engineering", ["Software Engineer", "Engineering Manager"]),
    ("Operations", ["Operations Coordinator", "Logistics Lead"]),
    ("Human Resources", ["HR Generalist", "Recruiter"]),
    ("Legal", ["Paralegal", "Corporate Counsel"]),
    ("IT", ["Systems Administrator", "Service Desk Analyst"]),
    (
        "Customer Success",
        ["Support Engineer", "Customer Success Manager"],
    ),
    ("Research", ["Research Scientist", "Lab Technician"]),
];

/// `(manufacturer, model)` per platform.
pub(crate) const WINDOWS_HARDWARE: [(&str, &str); 7] = [
    ("Dell Inc.", "Latitude 5440"),
    ("Dell Inc.", "Latitude 7450"),
    ("LENOVO", "21HES0QN00"),
    ("LENOVO", "20XW0026UK"),
    ("HP", "HP EliteBook 840 G10 Notebook PC"),
    ("Microsoft Corporation", "Surface Laptop 5"),
    ("Microsoft Corporation", "Virtual Machine"),
];
pub(crate) const MAC_HARDWARE: [(&str, &str); 3] = [
    ("Apple", "MacBook Pro (14-inch, 2023)"),
    ("Apple", "MacBook Air (M2, 2022)"),
    ("Apple", "MacBook Pro (16-inch, 2021)"),
];
pub(crate) const IOS_HARDWARE: [(&str, &str); 3] = [
    ("Apple", "iPhone 15"),
    ("Apple", "iPhone 14"),
    ("Apple", "iPhone 13 Pro"),
];
pub(crate) const ANDROID_HARDWARE: [(&str, &str); 3] = [
    ("samsung", "SM-S911B"),
    ("Google", "Pixel 8"),
    ("motorola", "moto g54 5G"),
];

/// OS versions per platform.
pub(crate) const WINDOWS_VERSIONS: [&str; 5] = [
    "10.0.22631.3880",
    "10.0.22631.3737",
    "10.0.19045.4651",
    "10.0.26100.1150",
    "10.0.19045.4529",
];
pub(crate) const MAC_VERSIONS: [&str; 3] = ["14.5 (23F79)", "14.6 (23G80)", "13.6.7 (22G720)"];
pub(crate) const IOS_VERSIONS: [&str; 3] = ["17.5.1", "17.6", "16.7.8"];
pub(crate) const ANDROID_VERSIONS: [&str; 3] = ["14", "13", "12"];

/// An ASCII, lower-case form of a name for user principal names.
pub(crate) fn ascii_fold(name: &str) -> String {
    name.chars()
        .filter_map(|c| {
            let folded = match c {
                'á' | 'à' | 'â' | 'ä' | 'å' | 'Á' | 'Å' | 'Ä' => 'a',
                'é' | 'è' | 'ê' | 'ë' | 'É' => 'e',
                'í' | 'ì' | 'î' | 'ï' => 'i',
                'ó' | 'ò' | 'ô' | 'ö' | 'ø' | 'Ö' | 'Ø' => 'o',
                'ú' | 'ù' | 'û' | 'ü' | 'Ü' => 'u',
                'ñ' => 'n',
                'ç' => 'c',
                c if c.is_ascii_alphanumeric() => c.to_ascii_lowercase(),
                _ => return None,
            };
            Some(folded)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_titles_come_first() {
        let names: Vec<String> = (0..12).map(|i| catalog_app(1, i).name).collect();
        for title in [
            "Microsoft 365 Apps for enterprise",
            "Microsoft Teams",
            "Microsoft OneDrive",
            "Microsoft Edge",
            "Google Chrome",
            "Mozilla Firefox",
            "Zoom Workplace",
            "Adobe Acrobat Reader",
            "7-Zip",
            "Visual Studio Code",
            "Microsoft Visio",
            "Microsoft Project",
        ] {
            assert!(names.iter().any(|n| n == title), "{title} missing");
        }
    }

    #[test]
    fn generated_apps_are_distinct_and_some_lack_a_publisher() {
        let apps: Vec<CatalogApp> = (0..300).map(|i| catalog_app(3, i)).collect();
        let mut keys: Vec<&str> = apps.iter().map(|a| a.key.as_str()).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), 300);
        let generated = &apps[NAMED.len()..];
        let mut names: Vec<&str> = generated.iter().map(|a| a.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), generated.len());
        assert!(generated.iter().any(|a| a.publisher.is_empty()));
        assert!(generated.iter().any(|a| !a.publisher.is_empty()));
    }

    #[test]
    fn short_version_and_fold() {
        assert_eq!(catalog_app(1, 0).short_version(), "16.0");
        assert_eq!(ascii_fold("Zoë"), "zoe");
        assert_eq!(ascii_fold("O'Neil"), "oneil");
        assert_eq!(ascii_fold("Jørgensen"), "jorgensen");
    }
}
