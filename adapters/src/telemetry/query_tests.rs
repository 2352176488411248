//! `ReadQuery::parse` as tables of raw query strings: what it accepts, and the exact error
//! of everything it refuses (those messages reach clients as 400 bodies).

use domain::ids::ThingId;
use proptest::prelude::*;
use uuid::Uuid;

use super::query::{Comparator, QueryError, ReadQuery};

const THING: &str = "6b2c0d0e-3f1a-4f4e-9c3b-2a1d0e9f8a7b";

fn thing() -> Option<ThingId> {
    Some(ThingId(Uuid::parse_str(THING).expect("valid uuid")))
}

#[test]
fn accepted_queries() {
    let d = ReadQuery::default;
    let (lower, upper) = (
        format!("publisher={THING}"),
        format!("publisher={}", THING.to_uppercase()),
    );
    let cases: Vec<(&str, ReadQuery)> = vec![
        ("", d()),
        ("&&", d()),
        ("offset=0&limit=10", d()),
        ("offset=42", ReadQuery { offset: 42, ..d() }),
        ("offset=007", ReadQuery { offset: 7, ..d() }),
        (
            "offset=18446744073709551615",
            ReadQuery {
                offset: u64::MAX,
                ..d()
            },
        ),
        ("limit=1", ReadQuery { limit: 1, ..d() }),
        ("limit=100", ReadQuery { limit: 100, ..d() }),
        (
            "subtopic=room.1",
            ReadQuery {
                subtopic: Some("room.1".into()),
                ..d()
            },
        ),
        (
            &lower,
            ReadQuery {
                publisher: thing(),
                ..d()
            },
        ),
        (
            &upper,
            ReadQuery {
                publisher: thing(),
                ..d()
            },
        ),
        (
            "name=urn%3Adev%3Atemp",
            ReadQuery {
                name: Some("urn:dev:temp".into()),
                ..d()
            },
        ),
        (
            "protocol=mqtt",
            ReadQuery {
                protocol: Some("mqtt".into()),
                ..d()
            },
        ),
        (
            "v=21.5",
            ReadQuery {
                v: Some(21.5),
                ..d()
            },
        ),
        (
            "v=-1e-3",
            ReadQuery {
                v: Some(-1e-3),
                ..d()
            },
        ),
        (
            "v=0",
            ReadQuery {
                v: Some(0.0),
                ..d()
            },
        ),
        (
            "v=3&comparator=ge",
            ReadQuery {
                v: Some(3.0),
                comparator: Comparator::Ge,
                ..d()
            },
        ),
        (
            "comparator=lt",
            ReadQuery {
                comparator: Comparator::Lt,
                ..d()
            },
        ),
        ("comparator=", d()),
        (
            "vs=hello+world",
            ReadQuery {
                vs: Some("hello world".into()),
                ..d()
            },
        ),
        (
            "vs=%C3%BC%2B",
            ReadQuery {
                vs: Some("ü+".into()),
                ..d()
            },
        ),
        (
            "vb=true",
            ReadQuery {
                vb: Some(true),
                ..d()
            },
        ),
        (
            "vb=F",
            ReadQuery {
                vb: Some(false),
                ..d()
            },
        ),
        (
            "vb=1",
            ReadQuery {
                vb: Some(true),
                ..d()
            },
        ),
        (
            "vd=aGk%2BLw%3D%3D",
            ReadQuery {
                vd: Some("aGk+Lw==".into()),
                ..d()
            },
        ),
        (
            "from=1.5&to=2",
            ReadQuery {
                from: Some(1.5),
                to: Some(2.0),
                ..d()
            },
        ),
        (
            "from=7&to=7",
            ReadQuery {
                from: Some(7.0),
                to: Some(7.0),
                ..d()
            },
        ),
        (
            "from=-10",
            ReadQuery {
                from: Some(-10.0),
                ..d()
            },
        ),
        // Empty text values are no filter, as in Mainflux.
        ("subtopic=&name=&protocol=&publisher=&vs=&vd=", d()),
        // Unknown parameters (even repeated, even malformed) are ignored.
        (
            "format=messages&x=1&x=2&limit=5",
            ReadQuery { limit: 5, ..d() },
        ),
        ("%6Cimit=3", ReadQuery { limit: 3, ..d() }),
        ("name", d()),
    ];
    for (raw, want) in cases {
        assert_eq!(ReadQuery::parse(Some(raw)), Ok(want), "query {raw:?}");
    }
    assert_eq!(ReadQuery::parse(None), Ok(d()));
}

fn invalid(param: &'static str, expected: &'static str, value: &str) -> QueryError {
    QueryError::Invalid {
        param,
        expected,
        value: value.into(),
    }
}

#[test]
fn refused_queries() {
    const UINT: &str = "a non-negative integer";
    const LIMIT: &str = "an integer from 1 to 100";
    const FLOAT: &str = "a finite decimal number";
    let cases = [
        ("limit=5&limit=5", QueryError::Repeated("limit")),
        ("name=a&name=b", QueryError::Repeated("name")),
        ("name=&name=", QueryError::Repeated("name")),
        ("v=1&%76=2", QueryError::Repeated("v")),
        ("offset=-1", invalid("offset", UINT, "-1")),
        ("offset=%2B1", invalid("offset", UINT, "+1")),
        ("offset=+1", invalid("offset", UINT, " 1")),
        ("offset=", invalid("offset", UINT, "")),
        ("offset=1.0", invalid("offset", UINT, "1.0")),
        (
            "offset=18446744073709551616",
            invalid("offset", UINT, "18446744073709551616"),
        ),
        ("limit=0", invalid("limit", LIMIT, "0")),
        ("limit=101", invalid("limit", LIMIT, "101")),
        ("limit=ten", invalid("limit", LIMIT, "ten")),
        ("limit=%201", invalid("limit", LIMIT, " 1")),
        (
            "publisher=42",
            invalid("publisher", "a thing id (UUID)", "42"),
        ),
        ("v=abc", invalid("v", FLOAT, "abc")),
        ("v=", invalid("v", FLOAT, "")),
        ("v=NaN", invalid("v", FLOAT, "NaN")),
        ("v=inf", invalid("v", FLOAT, "inf")),
        ("v=1e999", invalid("v", FLOAT, "1e999")),
        (
            "comparator=ne",
            invalid("comparator", "one of eq, lt, le, gt, ge", "ne"),
        ),
        (
            "comparator=EQ",
            invalid("comparator", "one of eq, lt, le, gt, ge", "EQ"),
        ),
        ("vb=yes", invalid("vb", "true or false", "yes")),
        ("vb=", invalid("vb", "true or false", "")),
        ("from=yesterday", invalid("from", FLOAT, "yesterday")),
        ("to=-inf", invalid("to", FLOAT, "-inf")),
        (
            "from=3&to=2",
            QueryError::FromAfterTo { from: 3.0, to: 2.0 },
        ),
        ("name=%zz", QueryError::Encoding("%zz".into())),
        ("name=%4", QueryError::Encoding("%4".into())),
        ("name=%FF", QueryError::Encoding("%FF".into())),
        ("%=1", QueryError::Encoding("%".into())),
    ];
    for (raw, want) in cases {
        assert_eq!(ReadQuery::parse(Some(raw)), Err(want), "query {raw:?}");
    }
}

#[test]
fn errors_read_well_and_quote_little() {
    let error = ReadQuery::parse(Some("limit=0")).expect_err("limit 0");
    assert_eq!(
        error.to_string(),
        "query parameter `limit` must be an integer from 1 to 100, got \"0\""
    );
    let long = "x".repeat(1000);
    let error = ReadQuery::parse(Some(&format!("v={long}"))).expect_err("long value");
    let message = error.to_string();
    assert!(message.len() < 200, "{message}");
    assert!(message.ends_with("…\""), "{message}");
    assert_eq!(
        ReadQuery::parse(Some("vb=1&vb=0"))
            .expect_err("repeated")
            .to_string(),
        "query parameter `vb` is given more than once"
    );
}

#[test]
fn check_agrees_with_parse() {
    let parsed = ReadQuery::parse(Some("limit=100&from=1&to=2&v=3")).expect("valid");
    assert_eq!(parsed.check(), Ok(()));
    let hand_built = ReadQuery {
        limit: 0,
        ..ReadQuery::default()
    };
    assert!(matches!(
        hand_built.check(),
        Err(QueryError::Invalid { param: "limit", .. })
    ));
}

proptest! {
    /// Whatever a client sends, parsing answers (and what it accepts passes `check`).
    #[test]
    fn parse_never_panics(raw in ".{0,80}") {
        if let Ok(query) = ReadQuery::parse(Some(&raw)) {
            prop_assert_eq!(query.check(), Ok(()));
        }
    }

    /// The same, on inputs that look like query strings, so most reach the value parsers.
    #[test]
    fn parse_never_panics_on_query_like_input(
        pairs in prop::collection::vec(
            (
                prop::sample::select(vec![
                    "offset", "limit", "v", "vb", "from", "to", "comparator", "publisher", "name",
                ]),
                "[-+%0-9a-fA-F.eEinfatrus]{0,12}",
            ),
            0..6,
        )
    ) {
        let raw: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        if let Ok(query) = ReadQuery::parse(Some(&raw.join("&"))) {
            prop_assert_eq!(query.check(), Ok(()));
        }
    }
}
