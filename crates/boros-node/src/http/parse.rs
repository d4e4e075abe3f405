//! One connection's request parser: `httparse` for heads (and trailers), its chunk-size
//! helper for chunked bodies, and the framing rules node:http (llhttp) enforces on top:
//! duplicate or conflicting `Content-Length` / `Transfer-Encoding` (request smuggling), header
//! size, body size. Bytes come as the receive delivers them, split anywhere; a head that is not
//! complete yet waits in the parser's buffer. After an error or a request that closes the
//! connection nothing more is parsed.

use crate::wire::http as w;
use httparse::{Header, Status, EMPTY_HEADER};

/// Bytes a head may grow past the limit before the parser gives up on an incomplete one (the
/// limit counts url, names and values as llhttp does; the raw bytes also hold the method,
/// spaces, colons and line ends).
const PARTIAL_SLACK: usize = 8192;
/// Longest chunk-size line (with extensions) accepted.
const MAX_CHUNK_LINE: usize = 4096;

/// What the parser found, in order.
pub enum Event<'a> {
    Request(Head<'a>),
    Body(&'a [u8]),
    BodyEnd,
    /// A protocol error (a `wire::http::ERR_*` kind): the connection answers it and closes.
    Error(i64),
}

/// A parsed request head.
pub struct Head<'a> {
    pub method: &'a str,
    pub url: &'a str,
    pub v11: bool,
    pub headers: &'a [Header<'a>],
    pub keep_alive: bool,
    pub upgrade: bool,
    pub expect_continue: bool,
    /// The body, when it came whole with the head.
    pub body: Option<&'a [u8]>,
    /// The body follows as `Body` events, then `BodyEnd`.
    pub streaming: bool,
    pub is_head: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Head,
    Length(u64),
    ChunkSize,
    ChunkData(u64),
    ChunkEnd,
    Trailers,
    /// An upgrade request was parsed: later bytes are kept (they belong to the new protocol).
    Upgraded,
    /// A request that closes the connection was read: any later byte is an error (llhttp's
    /// "Data after `Connection: close`").
    Closed,
    /// An error, or the connection is closing: later bytes are dropped.
    Dead,
}

/// Limits a parser enforces.
#[derive(Clone, Copy)]
pub struct ParseLimits<'a> {
    pub max_header: usize,
    pub max_body: u64,
    /// The methods llhttp knows (node's `http.METHODS`); any other is `HPE_INVALID_METHOD`.
    pub methods: &'a [String],
    /// A tab after a `Content-Length`'s digits is taken (llhttp 9.4+; 9.3 refuses it).
    pub content_length_tab: bool,
}

/// The request parser of one connection.
pub struct Parser {
    buf: Vec<u8>,
    state: State,
    body_seen: u64,
    /// The request being read closes the connection when it ends.
    last: bool,
}

impl Default for Parser {
    fn default() -> Self {
        Self {
            buf: Vec::new(),
            state: State::Head,
            body_seen: 0,
            last: false,
        }
    }
}

impl Parser {
    /// Nothing of a request is pending (between requests).
    pub fn idle(&self) -> bool {
        self.state == State::Head && self.buf.is_empty()
    }

    /// A request head is incomplete.
    pub fn in_head(&self) -> bool {
        self.state == State::Head && !self.buf.is_empty()
    }

    /// Inside a request: part of a head, or a body not finished.
    pub fn mid_request(&self) -> bool {
        match self.state {
            State::Head => !self.buf.is_empty(),
            State::Length(_)
            | State::ChunkSize
            | State::ChunkData(_)
            | State::ChunkEnd
            | State::Trailers => true,
            State::Upgraded | State::Closed | State::Dead => false,
        }
    }

    /// An upgrade request was parsed: nothing more is received.
    pub fn upgraded(&self) -> bool {
        self.state == State::Upgraded
    }

    /// Stops parsing: later bytes are dropped.
    pub fn kill(&mut self) {
        self.state = State::Dead;
        self.buf = Vec::new();
    }

    /// The bytes received after an upgrade request's head.
    pub fn take_upgrade_head(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }

    /// Feeds received bytes; `emit` gets every event they complete, in order.
    pub fn feed(&mut self, chunk: &[u8], lim: ParseLimits<'_>, emit: &mut dyn FnMut(Event<'_>)) {
        match self.state {
            State::Dead => return,
            State::Upgraded => {
                self.buf.extend_from_slice(chunk);
                return;
            }
            _ => {}
        }
        if self.buf.is_empty() {
            let used = self.run(chunk, lim, emit);
            if self.state == State::Upgraded || used < chunk.len() && self.state != State::Dead {
                self.buf.extend_from_slice(&chunk[used..]);
            }
        } else {
            let mut owned = std::mem::take(&mut self.buf);
            owned.extend_from_slice(chunk);
            let used = self.run(&owned, lim, emit);
            if self.state != State::Dead {
                owned.drain(..used);
                self.buf = owned;
            }
        }
    }

    fn fail(&mut self, kind: i64, emit: &mut dyn FnMut(Event<'_>)) -> usize {
        self.state = State::Dead;
        emit(Event::Error(kind));
        usize::MAX
    }

    /// Parses what `data` holds; returns the bytes used (the rest waits for more).
    fn run(&mut self, data: &[u8], lim: ParseLimits<'_>, emit: &mut dyn FnMut(Event<'_>)) -> usize {
        let mut pos = 0;
        loop {
            let avail = data.len() - pos;
            match self.state {
                State::Dead => return data.len(),
                State::Upgraded => return pos,
                // Line ends after the last message are skipped, as llhttp skips them before a
                // request line; anything else is an error.
                State::Closed if data[pos..].iter().all(|&c| c == b'\r' || c == b'\n') => {
                    return data.len()
                }
                State::Closed => return self.fail(w::ERR_CLOSED_CONNECTION, emit).min(data.len()),
                State::Head => {
                    if avail == 0 {
                        return pos;
                    }
                    let mut hdrs = [EMPTY_HEADER; 64];
                    let r = self.head(&data[pos..], &mut hdrs, lim, emit);
                    let r = match r {
                        Err(httparse::Error::TooManyHeaders) => {
                            let mut big = vec![EMPTY_HEADER; lim.max_header / 4 + 1];
                            self.head(&data[pos..], &mut big, lim, emit)
                        }
                        r => r,
                    };
                    match r {
                        Ok(Some(n)) => pos += n,
                        Ok(None) if avail > lim.max_header + PARTIAL_SLACK => {
                            return self.fail(w::ERR_HEADER_OVERFLOW, emit).min(data.len());
                        }
                        Ok(None) => return pos,
                        Err(e) => return self.fail(error_kind(e), emit).min(data.len()),
                    }
                    if self.state == State::Dead {
                        return data.len();
                    }
                }
                State::Length(rem) => {
                    if avail == 0 {
                        return pos;
                    }
                    let take = rem.min(avail as u64) as usize;
                    emit(Event::Body(&data[pos..pos + take]));
                    pos += take;
                    self.state = State::Length(rem - take as u64);
                    if rem == take as u64 {
                        self.end_body(emit);
                    }
                }
                State::ChunkSize => match httparse::parse_chunk_size(&data[pos..]) {
                    Ok(Status::Complete((n, _)))
                        if bare_lf(&data[pos..pos + n]) || !chunk_line_ok(&data[pos..pos + n]) =>
                    {
                        return self.fail(w::ERR_INVALID_CHUNK_SIZE, emit).min(data.len())
                    }
                    Ok(Status::Complete((n, size))) => {
                        pos += n;
                        if size == 0 {
                            self.state = State::Trailers;
                        } else {
                            self.body_seen = self.body_seen.saturating_add(size);
                            if self.body_seen > lim.max_body {
                                return self.fail(w::ERR_BODY_TOO_LARGE, emit).min(data.len());
                            }
                            self.state = State::ChunkData(size);
                        }
                    }
                    Ok(Status::Partial) if avail > MAX_CHUNK_LINE => {
                        return self.fail(w::ERR_INVALID_CHUNK_SIZE, emit).min(data.len())
                    }
                    Ok(Status::Partial) => return pos,
                    Err(_) => return self.fail(w::ERR_INVALID_CHUNK_SIZE, emit).min(data.len()),
                },
                State::ChunkData(rem) => {
                    if avail == 0 {
                        return pos;
                    }
                    let take = rem.min(avail as u64) as usize;
                    emit(Event::Body(&data[pos..pos + take]));
                    pos += take;
                    self.state = if rem == take as u64 {
                        State::ChunkEnd
                    } else {
                        State::ChunkData(rem - take as u64)
                    };
                }
                State::ChunkEnd => {
                    let want = b"\r\n";
                    let n = avail.min(2);
                    if data[pos..pos + n] != want[..n] {
                        return self.fail(w::ERR_LF_EXPECTED, emit).min(data.len());
                    }
                    if n < 2 {
                        return pos;
                    }
                    pos += 2;
                    self.state = State::ChunkSize;
                }
                State::Trailers => {
                    if avail >= 2 && &data[pos..pos + 2] == b"\r\n" {
                        pos += 2;
                        self.end_body(emit);
                        continue;
                    }
                    let mut hdrs = [EMPTY_HEADER; 32];
                    match httparse::parse_headers(&data[pos..], &mut hdrs) {
                        Ok(Status::Complete((n, _))) if bare_lf(&data[pos..pos + n]) => {
                            return self.fail(w::ERR_LF_EXPECTED, emit).min(data.len())
                        }
                        Ok(Status::Complete((n, _))) => {
                            pos += n;
                            self.end_body(emit);
                        }
                        Ok(Status::Partial) if avail > lim.max_header => {
                            return self.fail(w::ERR_HEADER_OVERFLOW, emit).min(data.len())
                        }
                        Ok(Status::Partial) => return pos,
                        Err(e) => return self.fail(error_kind(e), emit).min(data.len()),
                    }
                }
            }
        }
    }

    fn end_body(&mut self, emit: &mut dyn FnMut(Event<'_>)) {
        emit(Event::BodyEnd);
        self.state = if self.last {
            State::Closed
        } else {
            State::Head
        };
    }

    /// One head from the start of `data`: `Some(bytes used)` (head and any inline body),
    /// `None` when incomplete.
    fn head<'h, 'b: 'h>(
        &mut self,
        data: &'b [u8],
        hdrs: &'h mut [Header<'b>],
        lim: ParseLimits<'_>,
        emit: &mut dyn FnMut(Event<'_>),
    ) -> Result<Option<usize>, httparse::Error> {
        let mut req = httparse::Request::new(hdrs);
        // Line ends before the request line are skipped, as llhttp does (CR or LF, any number).
        let lead = data
            .iter()
            .take_while(|&&c| c == b'\r' || c == b'\n')
            .count();
        // llhttp takes several spaces between method, target and version; httparse only one
        // unless told.
        let mut cfg = httparse::ParserConfig::default();
        cfg.allow_multiple_spaces_in_request_line_delimiters(true);
        let n = match cfg.parse_request(&mut req, &data[lead..])? {
            // llhttp refuses what it cannot take as soon as it reads it, not when the head is
            // complete: a client sending a good request then stray bytes, or a bad request line
            // and then nothing, gets its 400 now, as from node.
            Status::Partial => {
                return match early_refusal(&data[lead..], lim.methods) {
                    Some(kind) => self.err(kind, emit),
                    None => Ok(None),
                }
            }
            Status::Complete(n) => lead + n,
        };
        if bare_lf(&data[lead..n]) {
            return self.err(w::ERR_LF_EXPECTED, emit);
        }
        let method = req.method.unwrap_or("");
        if !lim.methods.is_empty() && !lim.methods.iter().any(|m| m == method) {
            return self.err(w::ERR_INVALID_METHOD, emit);
        }
        let url = req.path.unwrap_or("");
        if !url_ok(method, url.as_bytes()) {
            return self.err(w::ERR_INVALID_URL, emit);
        }
        let v11 = req.version == Some(1);
        // llhttp's count: url, names and values.
        let mut counted = url.len();
        let mut cl: Option<u64> = None;
        let (mut te, mut chunked) = (false, false);
        let (mut close, mut keep, mut conn_upgrade, mut has_upgrade) = (false, false, false, false);
        let mut expect_continue = false;
        for h in req.headers.iter() {
            counted += h.name.len() + h.value.len();
            let name = h.name.as_bytes();
            if name.eq_ignore_ascii_case(b"content-length") {
                if cl.is_some() {
                    return self.err(w::ERR_UNEXPECTED_CONTENT_LENGTH, emit);
                }
                // llhttp checks the pair as it reads the second of them: the later one's kind.
                if te {
                    return self.err(w::ERR_INVALID_CONTENT_LENGTH, emit);
                }
                // llhttp 9.3 takes spaces after the digits, not a tab (httparse trims both off).
                let end = h.value.as_ptr() as usize + h.value.len() - data.as_ptr() as usize;
                if !lim.content_length_tab
                    && data[end..]
                        .iter()
                        .take_while(|&&c| c == b' ' || c == b'\t')
                        .any(|&c| c == b'\t')
                {
                    return self.err(w::ERR_INVALID_CONTENT_LENGTH, emit);
                }
                match content_length(h.value) {
                    Some(v) => cl = Some(v),
                    None => return self.err(w::ERR_INVALID_CONTENT_LENGTH, emit),
                }
            } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
                // After Content-Length, or after a `chunked` (which must be the last coding).
                if cl.is_some() || chunked {
                    return self.err(w::ERR_INVALID_TRANSFER_ENCODING, emit);
                }
                te = true;
                let last = h.value.rsplit(|&b| b == b',').next().unwrap_or(b"");
                // llhttp takes only spaces after a final `chunked` (node 20.20, 24.22 and 26.12:
                // `chunked<TAB>` is another coding, so 400 for a request); httparse trims both.
                let end = h.value.as_ptr() as usize + h.value.len() - data.as_ptr() as usize;
                let tab_after = data[end..]
                    .iter()
                    .take_while(|&&c| c == b' ' || c == b'\t')
                    .any(|&c| c == b'\t');
                chunked = !tab_after && trim(last).eq_ignore_ascii_case(b"chunked");
            } else if name.eq_ignore_ascii_case(b"connection") {
                for t in h.value.split(|&b| b == b',') {
                    let t = trim(t);
                    close |= t.eq_ignore_ascii_case(b"close");
                    keep |= t.eq_ignore_ascii_case(b"keep-alive");
                    conn_upgrade |= t.eq_ignore_ascii_case(b"upgrade");
                }
            } else if name.eq_ignore_ascii_case(b"upgrade") {
                has_upgrade = true;
            } else if name.eq_ignore_ascii_case(b"expect") {
                expect_continue = trim(h.value).eq_ignore_ascii_case(b"100-continue");
            }
        }
        if counted >= lim.max_header {
            return self.err(w::ERR_HEADER_OVERFLOW, emit);
        }
        if te && !chunked {
            return self.err(w::ERR_INVALID_TRANSFER_ENCODING, emit);
        }
        let keep_alive = if v11 { !close } else { keep && !close };
        let upgrade = (has_upgrade && conn_upgrade) || method == "CONNECT";
        let len = cl.unwrap_or(0);
        if len > lim.max_body {
            return self.err(w::ERR_BODY_TOO_LARGE, emit);
        }
        self.body_seen = 0;
        self.last = !keep_alive;
        let mut head = Head {
            method,
            url,
            v11,
            headers: req.headers,
            keep_alive,
            upgrade,
            expect_continue,
            body: None,
            streaming: false,
            is_head: method == "HEAD",
        };
        let mut used = n;
        if upgrade {
            self.state = State::Upgraded;
        } else if chunked {
            head.streaming = true;
            self.state = State::ChunkSize;
        } else if len > 0 && (data.len() - n) as u64 >= len {
            head.body = Some(&data[n..n + len as usize]);
            used += len as usize;
            self.state = if self.last {
                State::Closed
            } else {
                State::Head
            };
        } else if len > 0 {
            head.streaming = true;
            self.state = State::Length(len);
        } else {
            self.state = if self.last {
                State::Closed
            } else {
                State::Head
            };
        }
        emit(Event::Request(head));
        Ok(Some(used))
    }

    fn err(
        &mut self,
        kind: i64,
        emit: &mut dyn FnMut(Event<'_>),
    ) -> Result<Option<usize>, httparse::Error> {
        self.state = State::Dead;
        emit(Event::Error(kind));
        Ok(Some(0))
    }
}

/// The request-target forms llhttp accepts: origin (`/…`), `*`, absolute (`scheme://…`), and
/// authority for CONNECT.
fn url_ok(method: &str, url: &[u8]) -> bool {
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
fn chunk_line_ok(line: &[u8]) -> bool {
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
fn bare_lf(b: &[u8]) -> bool {
    b.iter()
        .enumerate()
        .any(|(i, &c)| c == b'\n' && (i == 0 || b[i - 1] != b'\r'))
}

fn trim(b: &[u8]) -> &[u8] {
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
fn content_length(v: &[u8]) -> Option<u64> {
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
fn early_refusal(head: &[u8], methods: &[String]) -> Option<i64> {
    if !method_may_start(head, methods) {
        return Some(w::ERR_INVALID_METHOD);
    }
    let nl = head.iter().position(|&c| c == b'\n')?;
    // A line of it that ends without its CR.
    let last_nl = head.iter().rposition(|&c| c == b'\n').unwrap_or(nl);
    if bare_lf(&head[..=last_nl]) {
        return Some(w::ERR_LF_EXPECTED);
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
fn error_kind(e: httparse::Error) -> i64 {
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
