//! The table harness shared by `senml_errors_json` and `senml_errors_cbor`.

use adapters::senml::{SenmlError, SenmlFormat, normalize};

/// The reception time every case is resolved against.
pub const NOW: f64 = 1_700_000_000.5;

pub enum Expect {
    Exact(SenmlError),
    /// A syntax error from the decoder: the message is the decoder's, only the kind is pinned.
    Syntax,
}

pub use Expect::{Exact, Syntax};

pub fn check(format: SenmlFormat, case: &str, payload: &[u8], expected: &Expect) {
    let got = normalize(payload, format, NOW);
    match (expected, &got) {
        (Exact(e), Err(g)) if e == g => {}
        (Syntax, Err(SenmlError::Json(_))) if format == SenmlFormat::Json => {}
        (Syntax, Err(SenmlError::Cbor(_))) if format == SenmlFormat::Cbor => {}
        _ => panic!("{case}: got {got:?}"),
    }
    if let Err(e) = got {
        assert!(!e.to_string().is_empty(), "{case}: empty message");
    }
}

pub fn wrong(record: usize, label: &'static str, expected: &'static str) -> Expect {
    Exact(SenmlError::WrongType {
        record,
        label,
        expected,
    })
}
