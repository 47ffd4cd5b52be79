//! The endpoint syntax: comma-separated `host:port` or `http://host:port` (TLS is not built in).

use super::StoreError;

/// Parses `"a:2379,http://b:2379"` into `["http://a:2379", "http://b:2379"]`.
pub fn parse_endpoints(list: &str) -> Result<Vec<String>, StoreError> {
    let mut out = Vec::new();
    for raw in list.split(',') {
        let ep = raw.trim();
        let rest = ep.strip_prefix("http://").unwrap_or(ep);
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let Some((host, port)) = rest.rsplit_once(':') else {
            return Err(StoreError::Endpoint(raw.to_string()));
        };
        let host_ok = !host.is_empty() && !host.contains('/') && !host.contains("://");
        if !host_ok || port.parse::<u16>().map_or(true, |p| p == 0) {
            return Err(StoreError::Endpoint(raw.to_string()));
        }
        out.push(format!("http://{host}:{port}"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::parse_endpoints;

    #[test]
    fn accepts_both_forms_and_normalizes() {
        assert_eq!(
            parse_endpoints("127.0.0.1:2379, http://localhost:2380/").unwrap(),
            ["http://127.0.0.1:2379", "http://localhost:2380"]
        );
        assert_eq!(
            parse_endpoints("[::1]:2379").unwrap(),
            ["http://[::1]:2379"]
        );
    }

    #[test]
    fn rejects_what_is_not_host_port() {
        for bad in [
            "",
            "host",
            "host:",
            ":2379",
            "host:0",
            "host:99999",
            "https://h:1",
            "a:1,,b:2",
        ] {
            assert!(parse_endpoints(bad).is_err(), "{bad:?} accepted");
        }
    }
}
