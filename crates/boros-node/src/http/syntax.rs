//! The byte-level rules of llhttp (node:http's parser) that `httparse` does not enforce or
//! enforces differently: request targets, chunk-size lines and their extensions, bare line
//! feeds, `Content-Length` values, what an incomplete head is refused for early, and the error
//! kind of an httparse error. The parser's state machine is in `parse.rs`.

use crate::wire::http as w;
use httparse::{Status, EMPTY_HEADER};

/// The request-target forms llhttp accepts: origin (`/…`), `*`, absolute (`scheme://…`), and
/// authority for CONNECT.
pub(super) fn url_ok(method: &str, url: &[u8]) -> bool {
    match url.first() {
        Some(b'/') | Some(b'*') => true,
        Some(_) if method == "CONNECT" => true,
        Some(c) if c.is_ascii_alphabetic() => {
            let n = url.iter().take_while(|c| c.is_ascii_alphabetic()).count();
            url[n..].starts_with(b"://")
        }
        _ => false,
    }
}

/// A chunk-size line as llhttp takes it (httparse is laxer): hex digits right from the start
/// up to `;` or the line end, and no whitespace in the extensions after `;`.
pub(super) fn chunk_line_ok(line: &[u8]) -> bool {
    let body = line.strip_suffix(b"\r\n").unwrap_or(line);
    let size_end = body.iter().position(|&c| c == b';').unwrap_or(body.len());
    size_end > 0
        && body[..size_end].iter().all(u8::is_ascii_hexdigit)
        && chunk_extensions_ok(&body[size_end..])
}

/// A token character (RFC 9110 `tchar`).
fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

/// The chunk extensions after a chunk size (from its `;`, line end excluded), by llhttp's rules
/// (checked against node 20.20, 24.22 and 26.12): each `;` starts a name of token characters
/// that may only be empty before `=` (`0;` and `0;a;` are refused, `0;=b` is taken); a value is
/// token characters (possibly none) or a quoted string, followed by `;` or the line end.
fn chunk_extensions_ok(mut s: &[u8]) -> bool {
    loop {
        match s.first() {
            None => return true,
            Some(b';') => s = &s[1..],
            Some(_) => return false,
        }
        if matches!(s.first(), None | Some(b' ') | Some(b'"')) {
            return false;
        }
        s = &s[s.iter().take_while(|&&c| is_tchar(c)).count()..];
        match s.first() {
            None => return true,
            Some(b';') => continue,
            Some(b'=') => s = &s[1..],
            Some(_) => return false,
        }
        if s.first() == Some(&b'"') {
            match quoted_string_len(s) {
                Some(n) => s = &s[n..],
                None => return false,
            }
        } else {
            s = &s[s.iter().take_while(|&&c| is_tchar(c)).count()..];
        }
    }
}

/// The length of the quoted string `s` starts with (both quotes included), or `None` when it
/// does not end or holds a byte a quoted string cannot (RFC 9110 `qdtext` / `quoted-pair`).
fn quoted_string_len(s: &[u8]) -> Option<usize> {
    let text = |c: u8| c == b'\t' || c == b' ' || (0x21..=0x7e).contains(&c) || c >= 0x80;
    let mut i = 1;
    loop {
        match *s.get(i)? {
            b'"' => return Some(i + 1),
            b'\\' if text(*s.get(i + 1)?) => i += 2,
            c if c != b'\\' && text(c) => i += 1,
            _ => return None,
        }
    }
}

/// A line ending without its CR (httparse accepts it; llhttp does not).
pub(super) fn bare_lf(b: &[u8]) -> bool {
    b.iter()
        .enumerate()
        .any(|(i, &c)| c == b'\n' && (i == 0 || b[i - 1] != b'\r'))
}

/// The error llhttp gives for the first bare LF of `b` (a head when `start_line`, else
/// trailers), where [`bare_lf`] found one: ending the request line `ERR_VERSION_LF`, ending an
/// empty line (the block's end) `ERR_HEADER_FIELD_LF`, ending a field `ERR_CR_EXPECTED` (node
/// 20.20, 24.22 and 26.12 alike).
pub(super) fn bare_lf_kind(b: &[u8], start_line: bool) -> i64 {
    let Some(i) = b
        .iter()
        .enumerate()
        .position(|(i, &c)| c == b'\n' && (i == 0 || b[i - 1] != b'\r'))
    else {
        return w::ERR_LF_EXPECTED;
    };
    let line_start = b[..i]
        .iter()
        .rposition(|&c| c == b'\n')
        .map_or(0, |p| p + 1);
    if start_line && line_start == 0 {
        w::ERR_VERSION_LF
    } else if line_start == i {
        w::ERR_HEADER_FIELD_LF
    } else {
        w::ERR_CR_EXPECTED
    }
}

pub(super) fn trim(b: &[u8]) -> &[u8] {
    let s = b
        .iter()
        .position(|c| *c != b' ' && *c != b'\t')
        .unwrap_or(b.len());
    let e = b
        .iter()
        .rposition(|c| *c != b' ' && *c != b'\t')
        .map_or(s, |e| e + 1);
    &b[s..e.max(s)]
}

/// A `Content-Length` value: digits only (optional surrounding whitespace), no overflow.
pub(super) fn content_length(v: &[u8]) -> Option<u64> {
    let v = trim(v);
    if v.is_empty() {
        return None;
    }
    let mut n: u64 = 0;
    for &b in v {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(n)
}

/// What llhttp refuses in an incomplete head before it is complete: a method no method starts
/// with, a line ending without its CR, or, once the request line is complete, an unknown method
/// or a request target it does not take. `None`: wait for more (what httparse refuses comes with the complete head).
pub(super) fn early_refusal(head: &[u8], methods: &[String]) -> Option<i64> {
    if !method_may_start(head, methods) {
        return Some(w::ERR_INVALID_METHOD);
    }
    let nl = head.iter().position(|&c| c == b'\n')?;
    // A line of it that ends without its CR.
    let last_nl = head.iter().rposition(|&c| c == b'\n').unwrap_or(nl);
    if bare_lf(&head[..=last_nl]) {
        return Some(bare_lf_kind(&head[..=last_nl], true));
    }
    // The request line alone, as a head without headers.
    let mut line = head[..=nl].to_vec();
    line.extend_from_slice(b"\r\n");
    let mut none = [EMPTY_HEADER; 0];
    let mut req = httparse::Request::new(&mut none);
    let mut cfg = httparse::ParserConfig::default();
    cfg.allow_multiple_spaces_in_request_line_delimiters(true);
    match cfg.parse_request(&mut req, &line) {
        Ok(Status::Complete(_)) => {
            let method = req.method.unwrap_or("");
            if !methods.is_empty() && !methods.iter().any(|m| m == method) {
                Some(w::ERR_INVALID_METHOD)
            } else if !url_ok(method, req.path.unwrap_or("").as_bytes()) {
                Some(w::ERR_INVALID_URL)
            } else {
                None
            }
        }
        _ => None,
    }
}

/// Whether the start of an incomplete head can still be one of `methods` (all of them when the
/// list is empty): its bytes before the first space are a method, or, with no space yet, the
/// start of one.
fn method_may_start(head: &[u8], methods: &[String]) -> bool {
    if methods.is_empty() {
        return true;
    }
    match head.iter().position(|&c| c == b' ') {
        Some(end) => methods.iter().any(|m| m.as_bytes() == &head[..end]),
        None => methods.iter().any(|m| m.as_bytes().starts_with(head)),
    }
}

/// llhttp's error kind for an httparse error.
pub(super) fn error_kind(e: httparse::Error) -> i64 {
    use httparse::Error as E;
    match e {
        E::HeaderName | E::HeaderValue => w::ERR_INVALID_HEADER_TOKEN,
        E::NewLine => w::ERR_LF_EXPECTED,
        E::Token => w::ERR_INVALID_METHOD,
        E::Version => w::ERR_INVALID_VERSION,
        E::TooManyHeaders => w::ERR_HEADER_OVERFLOW,
        E::Status => w::ERR_INVALID_CONSTANT,
    }
}

#[cfg(test)]
mod tests {
    use super::chunk_line_ok;

    /// What node 20.20, 24.22 and 26.12 (llhttp 9.3/9.4) answer for these chunk-size lines: 200
    /// (taken) or 400 (refused).
    #[test]
    fn chunk_extensions_as_llhttp() {
        let taken = [
            "0",
            "0;a",
            "0;a=",
            "0;a=b",
            "0;a=\"b\"",
            "0;a=\"b c\"",
            "0;a;b",
            "0;=b",
            "0;a=b;c=d",
            "0;a=\"b\";c",
            "0;a=\"\\\"x\"",
            "1f;x",
        ];
        let refused = [
            "0;",
            "0;a=b;",
            "0;a b",
            "0;a=\"b\"c",
            "0;a=\"",
            "0;a=b c",
            "0;a==b",
            "0;\"a\"",
            "0;a=b=c",
            "0;a,b",
            " 0",
            "0 ",
            "g",
            "",
        ];
        for l in taken {
            assert!(
                chunk_line_ok(format!("{l}\r\n").as_bytes()),
                "{l:?} is taken by llhttp"
            );
        }
        for l in refused {
            assert!(
                !chunk_line_ok(format!("{l}\r\n").as_bytes()),
                "{l:?} is refused by llhttp"
            );
        }
    }
}
