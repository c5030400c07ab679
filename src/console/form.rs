//! Query strings and form bodies (`application/x-www-form-urlencoded`) as ordered
//! name/value pairs (a checkbox group repeats its name), and URLs built back from them so
//! that every filtered, sorted or paged list is a shareable link.

/// Decoded `name=value` pairs, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(Vec<(String, String)>);

/// Most pairs kept from one query or form (a need form has well under 200).
const MAX_PAIRS: usize = 512;

impl Params {
    /// Parses a query string or form body.
    pub fn parse(raw: &[u8]) -> Params {
        Params(
            form_urlencoded::parse(raw)
                .take(MAX_PAIRS)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// Pairs given in order.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Params {
        Params(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }

    /// The first value of `name`, trimmed; empty when absent.
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.trim())
    }

    /// The first value of `name` untrimmed (long text as typed).
    pub fn raw(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Every non-empty value of `name`.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, v)| k == name && !v.trim().is_empty())
            .map(|(_, v)| v.trim())
            .collect()
    }

    /// The non-empty value of `name`.
    pub fn opt(&self, name: &str) -> Option<&str> {
        Some(self.get(name)).filter(|v| !v.is_empty())
    }

    /// The pairs.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    /// A copy with `name` set to `value` (or removed when `value` is empty).
    pub fn with(&self, name: &str, value: &str) -> Params {
        let mut out: Vec<(String, String)> =
            self.0.iter().filter(|(k, _)| k != name).cloned().collect();
        if !value.is_empty() {
            out.push((name.to_owned(), value.to_owned()));
        }
        Params(out)
    }

    /// The pairs as a query string (without `?`), empty values left out.
    pub fn query(&self) -> String {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in self.0.iter().filter(|(_, v)| !v.is_empty()) {
            s.append_pair(k, v);
        }
        s.finish()
    }

    /// `path` with these pairs as its query.
    pub fn url(&self, path: &str) -> String {
        let q = self.query();
        if q.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{q}")
        }
    }
}

/// A path segment or query value percent-encoded.
pub fn encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_names_keep_every_value_and_urls_round_trip() {
        let p = Params::parse(b"area=X&sub_areas=A&sub_areas=B&q=a+b%26c&empty=");
        assert_eq!(p.get("area"), "X");
        assert_eq!(p.all("sub_areas"), vec!["A", "B"]);
        assert_eq!(p.get("q"), "a b&c");
        assert_eq!(p.opt("empty"), None);
        let url = p.with("page", "2").url("/console/needs");
        assert_eq!(
            Params::parse(url.split_once('?').expect("query").1.as_bytes()).get("q"),
            "a b&c"
        );
        assert!(url.contains("page=2") && !url.contains("empty"), "{url}");
    }
}
