//! Well-known Microsoft 365 SKUs: id, part number and product name, for
//! licences derived from users' assignments when `/subscribedSkus` is refused
//! and for naming subscribed ones. Every entry is Microsoft's own, as
//! published in "Product names and service plan identifiers for licensing"
//! (learn.microsoft.com/entra/identity/users/licensing-service-plan-reference,
//! updated 2025-10-29), spelling and capitals included; `skus_published.csv`
//! holds those rows and a test compares the two. An SKU not listed here is
//! shown by its part number: no name is guessed.

/// (SKU id, part number, product name).
pub const WELL_KNOWN: &[(&str, &str, &str)] = &[
    (
        "18181a46-0d4e-45cd-891e-60aabd171b4e",
        "STANDARDPACK",
        "Office 365 E1",
    ),
    (
        "6fd2c87f-b296-42f0-b197-1e91e994b900",
        "ENTERPRISEPACK",
        "Office 365 E3",
    ),
    (
        "c7df2760-2c81-4ef7-b578-5b5392b571df",
        "ENTERPRISEPREMIUM",
        "Office 365 E5",
    ),
    (
        "4b585984-651b-448a-9e53-3b10f069cf7f",
        "DESKLESSPACK",
        "Office 365 F3",
    ),
    (
        "05e9a617-0261-4cee-bb44-138d3ef5d965",
        "SPE_E3",
        "Microsoft 365 E3",
    ),
    (
        "06ebc4ee-1bb5-47dd-8120-11324bc54e06",
        "SPE_E5",
        "Microsoft 365 E5",
    ),
    (
        "66b55226-6b4f-492c-910c-a3b7a3c9d993",
        "SPE_F1",
        "Microsoft 365 F3",
    ),
    (
        "3b555118-da6a-4418-894f-7df1e2096870",
        "O365_BUSINESS_ESSENTIALS",
        "Microsoft 365 Business Basic",
    ),
    (
        "f245ecc8-75af-4f8e-b61f-27d8114de5f3",
        "O365_BUSINESS_PREMIUM",
        "Microsoft 365 Business Standard",
    ),
    (
        "cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46",
        "SPB",
        "Microsoft 365 Business Premium",
    ),
    (
        "cdd28e44-67e3-425e-be4c-737fab2899d3",
        "O365_BUSINESS",
        "Microsoft 365 Apps for Business",
    ),
    (
        "c2273bd0-dff7-4215-9ef5-2c7bcfb06425",
        "OFFICESUBSCRIPTION",
        "Microsoft 365 Apps for enterprise",
    ),
    (
        "4b9405b0-7788-4568-add1-99614e613b69",
        "EXCHANGESTANDARD",
        "Exchange Online (Plan 1)",
    ),
    (
        "19ec0d23-8335-4cbd-94ac-6050e30712fa",
        "EXCHANGEENTERPRISE",
        "Exchange Online (PLAN 2)",
    ),
    (
        "f8a1db68-be16-40ed-86d5-cb42ce701560",
        "POWER_BI_PRO",
        "Power BI Pro",
    ),
    (
        "a403ebcc-fae0-4ca2-8c8c-7a907fd6c235",
        "POWER_BI_STANDARD",
        "Microsoft Fabric (Free)",
    ),
    (
        "f30db892-07e9-47e9-837c-80727f46fd3d",
        "FLOW_FREE",
        "Microsoft Power Automate Free",
    ),
    (
        "c5928f49-12ba-48f7-ada3-0d743a3601d5",
        "VISIOCLIENT",
        "Visio Plan 2",
    ),
    (
        "53818b1b-4a27-454b-8896-0dba576410e6",
        "PROJECTPROFESSIONAL",
        "Planner and Project Plan 3",
    ),
    (
        "efccb6f7-5641-4e0e-bd10-b4976e1bf68e",
        "EMS",
        "Enterprise Mobility + Security E3",
    ),
    (
        "b05e124f-c7cc-45a0-a6aa-8cf78c946968",
        "EMSPREMIUM",
        "Enterprise Mobility + Security E5",
    ),
    (
        "078d2b04-f1bd-4111-bbd4-b4b1b354cef4",
        "AAD_PREMIUM",
        "Microsoft Entra ID P1",
    ),
    (
        "84a661c4-e949-4bd2-a560-ed7766fcaf2b",
        "AAD_PREMIUM_P2",
        "Microsoft Entra ID P2",
    ),
    ("061f9ace-7d42-4136-88ac-31dc755f143f", "INTUNE_A", "Intune"),
    (
        "6a0f6da5-0b87-4190-a6ae-9bb5a2b9546a",
        "WIN10_VDA_E3",
        "WINDOWS 10/11 ENTERPRISE E3",
    ),
    (
        "e43b5b99-8dfb-405f-9987-dc307f34bcbd",
        "MCOEV",
        "Microsoft Teams Phone Standard",
    ),
    (
        "710779e8-3d4a-4c88-adb9-386c958d1fdf",
        "TEAMS_EXPLORATORY",
        "Microsoft Teams Exploratory",
    ),
];

/// Part number and name of a well-known SKU id.
pub fn by_id(sku_id: &str) -> Option<(&'static str, &'static str)> {
    WELL_KNOWN
        .iter()
        .find(|(id, _, _)| id.eq_ignore_ascii_case(sku_id))
        .map(|(_, part, name)| (*part, *name))
}

/// Product name of a well-known part number.
pub fn name_of_part(part: &str) -> Option<&'static str> {
    WELL_KNOWN
        .iter()
        .find(|(_, p, _)| p.eq_ignore_ascii_case(part))
        .map(|(_, _, name)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The published rows for every SKU of [`WELL_KNOWN`] (GUID, String_Id,
    /// Product_Display_Name), copied from Microsoft's page as it stood on
    /// 2025-10-29 (MicrosoftDocs/entra-docs,
    /// docs/identity/users/licensing-service-plan-reference.md).
    const PUBLISHED: &str = include_str!("skus_published.csv");

    fn published() -> Vec<(String, String, String)> {
        csv::Reader::from_reader(PUBLISHED.as_bytes())
            .records()
            .map(|row| {
                let row = row.expect("a readable row");
                (row[0].to_owned(), row[1].to_owned(), row[2].to_owned())
            })
            .collect()
    }

    #[test]
    fn every_entry_is_as_microsoft_publishes_it() {
        let published = published();
        assert_eq!(published.len(), WELL_KNOWN.len());
        for (id, part, name) in WELL_KNOWN {
            let row = published
                .iter()
                .find(|(guid, _, _)| guid == id)
                .unwrap_or_else(|| panic!("{id} ({part}) is not in the published list"));
            assert_eq!((row.1.as_str(), row.2.as_str()), (*part, *name), "{id}");
        }
    }

    #[test]
    fn an_unknown_sku_gets_no_name() {
        assert_eq!(name_of_part("CONTOSO_CUSTOM_PLAN"), None);
        assert_eq!(by_id("00000000-0000-0000-0000-000000000001"), None);
        assert_eq!(name_of_part("spe_e3"), Some("Microsoft 365 E3"));
    }
}
