//! One connection's request parser: `httparse` for heads (and trailers), its chunk-size
//! helper for chunked bodies, and the framing rules node:http (llhttp) enforces on top:
//! duplicate or conflicting `Content-Length` / `Transfer-Encoding` (request smuggling), header
//! size, body size. Bytes come as the receive delivers them, split anywhere; a head that is not
//! complete yet waits in the parser's buffer. After an error or a request that closes the
//! connection nothing more is parsed. The byte-level rules llhttp adds to httparse's are in
//! `syntax.rs`.

use super::syntax::{
    bare_lf, bare_lf_kind, chunk_line_ok, content_length, early_refusal, error_kind, trim, url_ok,
};
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
    /// The body's end, with the trailer fields of a chunked body (none otherwise).
    BodyEnd(&'a [Header<'a>]),
    /// A protocol error (a `wire::http::ERR_*` kind): the connection answers it and closes.
    Error(i64),
}

/// A parsed request head.
pub struct Head<'a> {
    pub method: &'a str,
    /// 1 + the method's index in [`ParseLimits::methods`]; 0 when the list is empty.
    pub method_index: u32,
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
    /// `Upgrade` requests switch protocols (`super::Limits::upgrades`).
    pub upgrades: bool,
}

/// The request parser of one connection.
pub struct Parser {
    buf: Vec<u8>,
    state: State,
    body_seen: u64,
    /// The request being read closes the connection when it ends.
    last: bool,
    /// The request being read asked for an upgrade the server does not take
    /// ([`ParseLimits::upgrades`] false): an ordinary request, after whose end llhttp stops
    /// (`HPE_PAUSED_UPGRADE`) and node:http drops the rest of the bytes of that read.
    unswitched: bool,
    /// That request ended: the rest of the bytes being parsed are dropped.
    drop_rest: bool,
}

impl Default for Parser {
    fn default() -> Self {
        Self {
            buf: Vec::new(),
            state: State::Head,
            body_seen: 0,
            last: false,
            unswitched: false,
            drop_rest: false,
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
            if self.drop_rest {
                self.drop_rest = false;
                return data.len();
            }
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
                    let r = with_header_table::<64, _>(lim.max_header, |hdrs| {
                        self.head(&data[pos..], hdrs, lim, emit)
                    });
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
                        self.end_body(&[], emit);
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
                        // llhttp: a bare LF misses its CR; anything else is `HPE_STRICT`.
                        let kind = if data[pos] == b'\n' {
                            w::ERR_CR_EXPECTED_CHUNK
                        } else {
                            w::ERR_STRICT_CHUNK_END
                        };
                        return self.fail(kind, emit).min(data.len());
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
                        self.end_body(&[], emit);
                        continue;
                    }
                    let r = with_header_table::<32, _>(lim.max_header, |hdrs| {
                        self.trailers(&data[pos..], hdrs, lim, emit)
                    });
                    match r {
                        Ok(Some(n)) => pos += n,
                        Ok(None) if avail > lim.max_header => {
                            return self.fail(w::ERR_HEADER_OVERFLOW, emit).min(data.len())
                        }
                        Ok(None) => return pos,
                        Err(e) => return self.fail(error_kind(e), emit).min(data.len()),
                    }
                    if self.state == State::Dead {
                        return data.len();
                    }
                }
            }
        }
    }

    /// The trailer fields after a chunked body's last chunk, from the start of `data`:
    /// `Some(bytes used)` once complete (the body's end emitted with them), `None` when
    /// incomplete. Their names and values count against the header size limit on their own, as
    /// node's parser counts them (its count starts again after the head).
    fn trailers<'h, 'b: 'h>(
        &mut self,
        data: &'b [u8],
        hdrs: &'h mut [Header<'b>],
        lim: ParseLimits<'_>,
        emit: &mut dyn FnMut(Event<'_>),
    ) -> Result<Option<usize>, httparse::Error> {
        let (n, fields) = match httparse::parse_headers(data, hdrs)? {
            Status::Complete(done) => done,
            Status::Partial => return Ok(None),
        };
        if bare_lf(&data[..n]) {
            return self.err(bare_lf_kind(&data[..n], false), emit);
        }
        // llhttp reads trailers with the head's flags still set (`chunked`): a framing header
        // among them is refused as one after `Transfer-Encoding: chunked` in a head.
        for h in fields.iter() {
            let name = h.name.as_bytes();
            if name.eq_ignore_ascii_case(b"content-length") {
                return self.err(w::ERR_INVALID_CONTENT_LENGTH, emit);
            }
            if name.eq_ignore_ascii_case(b"transfer-encoding") {
                return self.err(w::ERR_INVALID_TRANSFER_ENCODING, emit);
            }
        }
        let counted: usize = fields.iter().map(|h| h.name.len() + h.value.len()).sum();
        if counted >= lim.max_header {
            return self.err(w::ERR_HEADER_OVERFLOW, emit);
        }
        self.end_body(fields, emit);
        Ok(Some(n))
    }

    fn end_body(&mut self, trailers: &[Header<'_>], emit: &mut dyn FnMut(Event<'_>)) {
        emit(Event::BodyEnd(trailers));
        self.drop_rest = self.unswitched;
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
            return self.err(bare_lf_kind(&data[lead..n], true), emit);
        }
        let method = req.method.unwrap_or("");
        let method_index = lim.methods.iter().position(|m| m == method);
        if !lim.methods.is_empty() && method_index.is_none() {
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
        let upgrade = (has_upgrade && conn_upgrade && lim.upgrades) || method == "CONNECT";
        self.unswitched = has_upgrade && conn_upgrade && !upgrade;
        let len = cl.unwrap_or(0);
        if len > lim.max_body {
            return self.err(w::ERR_BODY_TOO_LARGE, emit);
        }
        self.body_seen = 0;
        self.last = !keep_alive;
        let mut head = Head {
            method,
            method_index: method_index.map_or(0, |i| i as u32 + 1),
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
            self.drop_rest = self.unswitched;
            self.state = if self.last {
                State::Closed
            } else {
                State::Head
            };
        } else if len > 0 {
            head.streaming = true;
            self.state = State::Length(len);
        } else {
            self.drop_rest = self.unswitched;
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

/// Runs `parse` with a table of `N` header slots on the stack, and once more with room for
/// every field `max_header` bytes can hold (4 bytes at least each) if that was too few.
fn with_header_table<'h, const N: usize, T>(
    max_header: usize,
    mut parse: impl FnMut(&mut [Header<'h>]) -> Result<T, httparse::Error>,
) -> Result<T, httparse::Error> {
    let mut hdrs = [EMPTY_HEADER; N];
    match parse(&mut hdrs) {
        Err(httparse::Error::TooManyHeaders) => parse(&mut vec![EMPTY_HEADER; max_header / 4 + 1]),
        r => r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a parser made of `input` fed in pieces of `step` bytes: each request's trailers as
    /// `name=value` strings, and the error kind if any.
    fn run(input: &[u8], step: usize, max_header: usize) -> (Vec<Vec<String>>, Option<i64>) {
        let mut p = Parser::default();
        let lim = ParseLimits {
            max_header,
            max_body: u64::MAX,
            methods: &[],
            content_length_tab: true,
            upgrades: true,
        };
        let mut ends = Vec::new();
        let mut err = None;
        for piece in input.chunks(step) {
            p.feed(piece, lim, &mut |ev| match ev {
                Event::BodyEnd(t) => ends.push(
                    t.iter()
                        .map(|h| format!("{}={}", h.name, String::from_utf8_lossy(h.value)))
                        .collect(),
                ),
                Event::Error(k) => err = Some(k),
                _ => {}
            });
        }
        (ends, err)
    }

    #[test]
    fn an_upgrade_not_taken_is_an_ordinary_request_and_the_rest_of_its_read_is_dropped() {
        let mut p = Parser::default();
        let lim = ParseLimits {
            max_header: 16384,
            max_body: u64::MAX,
            methods: &[],
            content_length_tab: true,
            upgrades: false,
        };
        let mut seen = Vec::new();
        let mut feed = |p: &mut Parser, bytes: &[u8]| {
            p.feed(bytes, lim, &mut |ev| match ev {
                Event::Request(h) => seen.push(format!("{} {}", h.url, h.upgrade)),
                Event::Body(b) => seen.push(String::from_utf8_lossy(b).into_owned()),
                Event::BodyEnd(_) => seen.push("end".to_owned()),
                Event::Error(k) => seen.push(format!("error {k}")),
            })
        };
        let up = "Connection: Upgrade\r\nUpgrade: h2c\r\n";
        feed(
            &mut p,
            format!("GET /a HTTP/1.1\r\n{up}\r\nGET /dropped HTTP/1.1\r\n\r\n").as_bytes(),
        );
        feed(&mut p, b"GET /b HTTP/1.1\r\n\r\n");
        // A body, whole with the head and then arriving later: the read it ends in is cut.
        feed(
            &mut p,
            format!("POST /c HTTP/1.1\r\n{up}Content-Length: 2\r\n\r\nxyGET /d HTTP/1.1\r\n\r\n")
                .as_bytes(),
        );
        feed(
            &mut p,
            format!("POST /e HTTP/1.1\r\n{up}Content-Length: 2\r\n\r\nx").as_bytes(),
        );
        feed(&mut p, b"yGET /f HTTP/1.1\r\n\r\n");
        feed(&mut p, b"GET /g HTTP/1.1\r\n\r\n");
        assert_eq!(
            seen,
            ["/a false", "/b false", "/c false", "/e false", "x", "y", "end", "/g false"]
        );
    }

    const HEAD: &str =
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n";

    #[test]
    fn trailers_reach_the_body_end_split_anywhere() {
        let input = format!("{HEAD}X-A: 1\r\nX-B: two\r\n\r\n{HEAD}\r\n");
        for step in 1..=input.len() {
            let (ends, err) = run(input.as_bytes(), step, 16384);
            assert_eq!(err, None, "step {step}");
            assert_eq!(
                ends,
                vec![vec!["X-A=1".to_owned(), "X-B=two".to_owned()], vec![]],
                "step {step}"
            );
        }
    }

    #[test]
    fn trailers_past_32_fields_and_their_own_size_limit() {
        let many: String = (0..40).map(|i| format!("X-T{i}: v\r\n")).collect();
        let (ends, err) = run(format!("{HEAD}{many}\r\n").as_bytes(), 4096, 16384);
        assert_eq!((ends[0].len(), err), (40, None));
        // Counted like a head's names and values, apart from the head (node restarts its count).
        let near = format!("{HEAD}X-Big: {}\r\n\r\n", "b".repeat(1000));
        assert_eq!(run(near.as_bytes(), 4096, 1024).1, None);
        let over = format!("{HEAD}X-Big: {}\r\n\r\n", "b".repeat(1100));
        assert_eq!(
            run(over.as_bytes(), 4096, 1024).1,
            Some(w::ERR_HEADER_OVERFLOW)
        );
        // Incomplete and already too long: refused before the end comes.
        let partial = format!("{HEAD}X-Big: {}", "b".repeat(2000));
        assert_eq!(
            run(partial.as_bytes(), 4096, 1024).1,
            Some(w::ERR_HEADER_OVERFLOW)
        );
    }
}
