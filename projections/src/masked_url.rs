//! Backend URLs as they may be shown: in logs, start-up errors and `ferroflux config`.

/// The URL with any password replaced by `****`: the one in the user info (or a lone
/// credential such as a token, `nats://token@host`) and a `password=` query parameter.
pub fn masked_url(url: &str) -> String {
    if let Some((base, query)) = url.split_once('?') {
        let query: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=****"),
                _ => pair.to_owned(),
            })
            .collect();
        return format!("{}?{}", masked_url(base), query.join("&"));
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_owned();
    };
    let user = match rest[..at].split_once(':') {
        Some((user, _)) => format!("{user}:****"),
        None => "****".to_owned(),
    };
    format!("{scheme}://{user}@{}", &rest[at + 1..])
}

#[cfg(test)]
mod tests {
    use super::masked_url;

    #[test]
    fn only_credentials_are_masked() {
        let cases = [
            ("redis://127.0.0.1:6379/2", "redis://127.0.0.1:6379/2"),
            ("redis://:pw@h:1/0", "redis://:****@h:1/0"),
            ("redis://u:p@ss@h:1", "redis://u:****@h:1"),
            ("rediss://token@h", "rediss://****@h"),
            ("nats://ff:s3cret@host:4222", "nats://ff:****@host:4222"),
            ("postgres://u:p@h:5432/db", "postgres://u:****@h:5432/db"),
            ("postgres://h/db?x=1", "postgres://h/db?x=1"),
            (
                "postgres://u:p@h/db?password=q&x=1",
                "postgres://u:****@h/db?password=****&x=1",
            ),
            ("memory", "memory"),
            ("not a url", "not a url"),
        ];
        for (url, shown) in cases {
            assert_eq!(masked_url(url), shown, "{url}");
        }
    }
}
