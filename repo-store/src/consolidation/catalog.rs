//! The product rule catalog: raw titles to vendor / product / edition / version.
//!
//! Precedence, stated once: the operator's rule files first, in the order
//! given, then the shipped default catalog (`repo-store/catalog/default.toml`);
//! within a file the first rule whose patterns all match wins. A title no
//! rule matches stays unmatched, with its raw values.

use std::path::PathBuf;

use regex::Regex;
use serde::Deserialize;
use toml::Spanned;

/// The shipped catalog.
pub const DEFAULT_CATALOG: &str = include_str!("../../catalog/default.toml");
/// The name the shipped catalog goes by in errors and in `explain`.
pub const DEFAULT_SOURCE: &str = "default catalog";

/// A rule file that cannot be used: which file, which line, why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {reason}", line_suffix(*.line))]
pub struct CatalogError {
    /// The file (or `default catalog`).
    pub file: String,
    /// 1-based line; 0 when the fault is the file's, not a line's (it
    /// cannot be read).
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

fn line_suffix(line: usize) -> String {
    if line == 0 {
        String::new()
    } else {
        format!(":{line}")
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDoc {
    #[serde(default)]
    rule: Vec<RawRule>,
    #[serde(default)]
    usage: Vec<RawUsage>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: Spanned<String>,
    vendor: String,
    product: String,
    #[serde(default)]
    edition: Option<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(rename = "match")]
    matcher: RawMatch,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMatch {
    #[serde(default)]
    name: Option<Spanned<String>>,
    #[serde(default)]
    publisher: Option<Spanned<String>>,
    #[serde(default)]
    version: Option<Spanned<String>>,
    #[serde(default)]
    platform: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUsage {
    application: Spanned<String>,
    vendor: String,
    product: String,
}

/// One compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Its id, unique in its file.
    pub id: String,
    /// The file it came from.
    pub source: String,
    vendor: String,
    product: String,
    edition: Option<String>,
    version: Option<String>,
    name: Option<Regex>,
    publisher: Option<Regex>,
    version_pattern: Option<Regex>,
    platform: Option<Regex>,
}

#[derive(Debug, Clone)]
struct UsageRule {
    application: Regex,
    vendor: String,
    product: String,
}

/// What a raw title normalises to, and the rule that said so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    /// The rule's id.
    pub rule: String,
    /// The file the rule came from.
    pub source: String,
    /// Vendor.
    pub vendor: String,
    /// Product.
    pub product: String,
    /// Edition, when the rule names one.
    pub edition: Option<String>,
    /// Version: the rule's, else the raw one.
    pub version: Option<String>,
}

/// Operator rules, then the default catalog.
#[derive(Debug, Clone)]
pub struct Catalog {
    rules: Vec<Rule>,
    usage: Vec<UsageRule>,
}

fn line_of(text: &str, offset: usize) -> usize {
    // Bytes, not a `str` slice: an offset need not fall on a character.
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

fn compile(
    pattern: &Option<Spanned<String>>,
    text: &str,
    file: &str,
) -> Result<Option<Regex>, CatalogError> {
    let Some(pattern) = pattern else {
        return Ok(None);
    };
    Regex::new(pattern.get_ref())
        .map(Some)
        .map_err(|e| CatalogError {
            file: file.to_owned(),
            line: line_of(text, pattern.span().start),
            reason: format!(
                "invalid pattern {:?}: {}",
                pattern.get_ref(),
                e.to_string().lines().last().unwrap_or_default().trim()
            ),
        })
}

impl Catalog {
    /// The default catalog after the operator's files (in order).
    pub fn load(operator_files: &[PathBuf]) -> Result<Catalog, CatalogError> {
        let mut catalog = Catalog::empty();
        for path in operator_files {
            let text = std::fs::read_to_string(path).map_err(|e| CatalogError {
                file: path.display().to_string(),
                line: 0,
                reason: format!("cannot read the rule file: {e}"),
            })?;
            catalog.append(&text, &path.display().to_string())?;
        }
        catalog.append(DEFAULT_CATALOG, DEFAULT_SOURCE)?;
        Ok(catalog)
    }

    /// A catalog without rules, for files appended one by one.
    pub fn empty() -> Catalog {
        Catalog {
            rules: Vec::new(),
            usage: Vec::new(),
        }
    }

    /// The default catalog alone.
    pub fn default_only() -> Result<Catalog, CatalogError> {
        Self::load(&[])
    }

    /// Parses one rule file and appends its rules (lower precedence than those before).
    pub fn append(&mut self, text: &str, file: &str) -> Result<(), CatalogError> {
        let doc: FileDoc = toml::from_str(text).map_err(|e| CatalogError {
            file: file.to_owned(),
            line: e.span().map_or(0, |s| line_of(text, s.start)),
            reason: e.message().trim().replace('\n', " "),
        })?;
        let mut ids = std::collections::HashSet::new();
        for raw in doc.rule {
            let line = line_of(text, raw.id.span().start);
            if !ids.insert(raw.id.get_ref().clone()) {
                return Err(CatalogError {
                    file: file.into(),
                    line,
                    reason: format!(
                        "rule id '{}' appears twice",
                        raw.id.get_ref().escape_debug()
                    ),
                });
            }
            let m = &raw.matcher;
            if m.name.is_none() && m.publisher.is_none() {
                return Err(CatalogError {
                    file: file.into(),
                    line,
                    reason: format!(
                        "rule '{}' matches neither a name nor a publisher",
                        raw.id.get_ref().escape_debug()
                    ),
                });
            }
            self.rules.push(Rule {
                id: raw.id.get_ref().clone(),
                source: file.to_owned(),
                name: compile(&m.name, text, file)?,
                publisher: compile(&m.publisher, text, file)?,
                version_pattern: compile(&m.version, text, file)?,
                platform: compile(&m.platform, text, file)?,
                vendor: raw.vendor,
                product: raw.product,
                edition: raw.edition,
                version: raw.version,
            });
        }
        for raw in doc.usage {
            let application =
                compile(&Some(raw.application), text, file)?.ok_or_else(|| CatalogError {
                    file: file.into(),
                    line: 0,
                    reason: "a usage entry needs an application".into(),
                })?;
            self.usage.push(UsageRule {
                application,
                vendor: raw.vendor,
                product: raw.product,
            });
        }
        Ok(())
    }

    /// Every rule, in precedence order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The product a raw title is, by the first rule that matches.
    pub fn classify(
        &self,
        publisher: Option<&str>,
        name: &str,
        version: Option<&str>,
        platform: Option<&str>,
    ) -> Option<Product> {
        let matches = |pattern: &Option<Regex>, value: Option<&str>| match pattern {
            None => true,
            Some(re) => value.is_some_and(|v| re.is_match(v)),
        };
        self.rules.iter().find_map(|rule| {
            if !matches(&rule.publisher, publisher)
                || !matches(&rule.version_pattern, version)
                || !matches(&rule.platform, platform)
            {
                return None;
            }
            let captures = match &rule.name {
                Some(re) => Some(re.captures(name)?),
                None => None,
            };
            let fill = |template: &str| -> Option<String> {
                let mut out = String::new();
                let mut rest = template;
                while let Some(at) = rest.find('$') {
                    out.push_str(&rest[..at]);
                    let tail = &rest[at + 1..];
                    let end = tail
                        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                        .unwrap_or(tail.len());
                    let group = &tail[..end];
                    if let Some(m) = captures.as_ref().and_then(|c| c.name(group)) {
                        out.push_str(m.as_str());
                    }
                    rest = &tail[end..];
                }
                out.push_str(rest);
                let out = out.split_whitespace().collect::<Vec<_>>().join(" ");
                (!out.is_empty()).then_some(out)
            };
            Some(Product {
                rule: rule.id.clone(),
                source: rule.source.clone(),
                vendor: fill(&rule.vendor).unwrap_or_default(),
                product: fill(&rule.product).unwrap_or_else(|| name.to_owned()),
                edition: rule.edition.as_deref().and_then(fill),
                version: match &rule.version {
                    Some(template) => fill(template),
                    None => version.map(str::to_owned),
                },
            })
        })
    }

    /// The product a usage-report application proves use of.
    pub fn usage_product(&self, application: &str) -> Option<(&str, &str)> {
        self.usage
            .iter()
            .find(|u| u.application.is_match(application))
            .map(|u| (u.vendor.as_str(), u.product.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default() -> Catalog {
        Catalog::default_only().expect("the shipped catalog parses")
    }

    #[test]
    fn the_default_catalog_names_the_common_titles() {
        let c = default();
        let p = c
            .classify(
                Some("Microsoft Corporation"),
                "Microsoft 365 Apps for enterprise - en-us",
                Some("16.0.17328.20162"),
                Some("Windows"),
            )
            .unwrap();
        assert_eq!(
            (p.vendor.as_str(), p.product.as_str(), p.edition.as_deref()),
            ("Microsoft", "Microsoft 365 Apps", Some("enterprise"))
        );
        assert_eq!(
            p.version.as_deref(),
            Some("16.0.17328.20162"),
            "the raw version is kept"
        );
        let p = c
            .classify(None, "Microsoft Office Professional Plus 2019", None, None)
            .unwrap();
        assert_eq!(
            (
                p.product.as_str(),
                p.edition.as_deref(),
                p.version.as_deref()
            ),
            ("Office", Some("Professional Plus 2019"), Some("2019"))
        );
        assert_eq!(
            c.classify(None, "Google Chrome", None, None)
                .unwrap()
                .vendor,
            "Google"
        );
        assert_eq!(
            c.classify(None, "Zoom Workplace", None, None)
                .unwrap()
                .product,
            "Zoom Workplace"
        );
        assert_eq!(
            c.classify(None, "Microsoft Word", None, Some("macOS"))
                .unwrap()
                .edition
                .as_deref(),
            Some("macOS")
        );
        assert_eq!(
            c.classify(None, "Microsoft Word", None, Some("iOS"))
                .unwrap()
                .product,
            "Microsoft 365 (mobile)"
        );
        assert_eq!(
            c.classify(None, "PyCharm Community Edition", None, None)
                .unwrap()
                .product,
            "PyCharm"
        );
        assert!(
            c.classify(None, "Contoso Line-of-Business Tool", None, None)
                .is_none(),
            "unmatched stays unmatched"
        );
        assert_eq!(
            c.usage_product("Excel"),
            Some(("Microsoft", "Microsoft 365 Apps"))
        );
        assert_eq!(
            c.usage_product("Teams"),
            Some(("Microsoft", "Microsoft Teams"))
        );
    }

    #[test]
    fn operator_rules_come_first() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ours.toml");
        std::fs::write(&file, "[[rule]]\nid = \"chrome-as-tool\"\nvendor = \"Contoso IT\"\nproduct = \"Approved Browser\"\n[rule.match]\nname = '(?i)chrome'\n").unwrap();
        let c = Catalog::load(std::slice::from_ref(&file)).unwrap();
        let p = c.classify(None, "Google Chrome", None, None).unwrap();
        assert_eq!(
            (p.product.as_str(), p.rule.as_str()),
            ("Approved Browser", "chrome-as-tool")
        );
        assert_eq!(p.source, file.display().to_string());
        assert_eq!(
            c.classify(None, "Mozilla Firefox (x64 en-US)", None, None)
                .unwrap()
                .source,
            DEFAULT_SOURCE
        );
    }

    #[test]
    fn a_bad_file_is_refused_with_file_line_and_reason() {
        let mut c = Catalog {
            rules: vec![],
            usage: vec![],
        };
        let err = c.append("[[rule]]\nid = \"x\"\nvendor = \"V\"\nproduct = \"P\"\n[rule.match]\nname = '(unclosed'\n", "ours.toml").unwrap_err();
        assert_eq!((err.file.as_str(), err.line), ("ours.toml", 6), "{err}");
        assert!(
            err.to_string()
                .starts_with("ours.toml:6: invalid pattern \"(unclosed\""),
            "{err}"
        );
        let err = c
            .append("[[rule]]\nid = \"x\"\nvendor = 3\n", "bad.toml")
            .unwrap_err();
        assert_eq!(err.line, 3, "{err}");
        let err = c.append("[[rule]]\nid = \"a\"\nvendor = \"V\"\nproduct = \"P\"\nmatch = { name = 'a' }\n[[rule]]\nid = \"a\"\nvendor = \"V\"\nproduct = \"P\"\nmatch = { name = 'b' }\n", "dup.toml").unwrap_err();
        assert_eq!(err.to_string(), "dup.toml:7: rule id 'a' appears twice");
        let err = c.append("[[rule]]\nid = \"a\"\nvendor = \"V\"\nproduct = \"P\"\nmatch = { version = '1' }\n", "loose.toml").unwrap_err();
        assert!(
            err.reason
                .contains("matches neither a name nor a publisher"),
            "{err}"
        );
        // A file that cannot be read is the file's fault, not a line's.
        let err = Catalog::load(&["/nonexistent/rules.toml".into()]).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("/nonexistent/rules.toml: cannot read the rule file"),
            "{text}"
        );
        assert!(!text.contains(":0"), "{text}");
    }
}
