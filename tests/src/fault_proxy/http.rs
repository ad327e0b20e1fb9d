//! Just enough HTTP/1.1 framing to know where each request and each response ends; the bytes
//! themselves are relayed unchanged.

use std::io;

use tokio::io::{AsyncRead, AsyncReadExt};

/// Largest request or response head the proxy reads.
pub(crate) const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Largest request or response body the proxy buffers.
pub(crate) const MAX_BODY_BYTES: u64 = 256 * 1024 * 1024;

/// Why a message could not be framed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FramingError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("the connection closed in the middle of a message")]
    Truncated,
    #[error("message head is larger than {MAX_HEAD_BYTES} bytes")]
    HeadTooLarge,
    #[error("message body of {0} bytes is larger than the proxy's limit of {MAX_BODY_BYTES}")]
    BodyTooLarge(u64),
    #[error("malformed HTTP message: {0}")]
    Malformed(String),
    #[error(
        "request bodies with Transfer-Encoding ({0}) are not supported by the fault proxy; \
         send a Content-Length body"
    )]
    TransferEncodedRequest(String),
    #[error("`Expect: 100-continue` is not supported by the fault proxy; send the body at once")]
    ExpectContinue,
}

/// A byte stream with a read-ahead buffer, so that bytes read past the end of one message stay
/// for the next one.
pub(crate) struct Framed<S> {
    pub(crate) stream: S,
    buffered: Vec<u8>,
}

impl<S: AsyncRead + Unpin> Framed<S> {
    pub(crate) fn new(stream: S) -> Self {
        Framed {
            stream,
            buffered: Vec::new(),
        }
    }

    /// Reads more bytes into the buffer; 0 at end of stream.
    async fn fill(&mut self) -> io::Result<usize> {
        let mut chunk = [0u8; 16 * 1024];
        let n = self.stream.read(&mut chunk).await?;
        self.buffered.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    /// Reads a message head up to and including its blank line. `Ok(None)` when the peer closed
    /// the connection cleanly before the first byte of a new message.
    pub(crate) async fn read_head(&mut self) -> Result<Option<Vec<u8>>, FramingError> {
        let mut searched = 0;
        loop {
            if let Some(at) = find(&self.buffered[searched..], b"\r\n\r\n") {
                let end = searched + at + 4;
                return Ok(Some(self.buffered.drain(..end).collect()));
            }
            searched = self.buffered.len().saturating_sub(3);
            if self.buffered.len() > MAX_HEAD_BYTES {
                return Err(FramingError::HeadTooLarge);
            }
            if self.fill().await? == 0 {
                return if self.buffered.is_empty() {
                    Ok(None)
                } else {
                    Err(FramingError::Truncated)
                };
            }
        }
    }

    /// Reads exactly `n` bytes.
    pub(crate) async fn read_bytes(&mut self, n: u64) -> Result<Vec<u8>, FramingError> {
        if n > MAX_BODY_BYTES {
            return Err(FramingError::BodyTooLarge(n));
        }
        let n = n as usize;
        while self.buffered.len() < n {
            if self.fill().await? == 0 {
                return Err(FramingError::Truncated);
            }
        }
        Ok(self.buffered.drain(..n).collect())
    }

    /// Reads one line including its CRLF.
    async fn read_line(&mut self) -> Result<Vec<u8>, FramingError> {
        let mut searched = 0;
        loop {
            if let Some(at) = find(&self.buffered[searched..], b"\r\n") {
                let end = searched + at + 2;
                return Ok(self.buffered.drain(..end).collect());
            }
            searched = self.buffered.len().saturating_sub(1);
            if self.buffered.len() > MAX_HEAD_BYTES {
                return Err(FramingError::HeadTooLarge);
            }
            if self.fill().await? == 0 {
                return Err(FramingError::Truncated);
            }
        }
    }

    /// Reads until the peer closes the connection.
    async fn read_to_end(&mut self) -> Result<Vec<u8>, FramingError> {
        while self.fill().await? > 0 {
            if self.buffered.len() as u64 > MAX_BODY_BYTES {
                return Err(FramingError::BodyTooLarge(self.buffered.len() as u64));
            }
        }
        Ok(std::mem::take(&mut self.buffered))
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// A parsed message head: its first line and its header fields.
struct Head {
    start_line: String,
    fields: Vec<(String, String)>,
}

impl Head {
    fn parse(raw: &[u8]) -> Result<Head, FramingError> {
        // Only a few header fields are interpreted; the bytes are relayed as they came, so a
        // lossy view is enough.
        let text = String::from_utf8_lossy(raw);
        let mut lines = text.split("\r\n");
        let start_line = lines.next().unwrap_or_default().to_owned();
        let mut fields = Vec::new();
        for line in lines.filter(|line| !line.is_empty()) {
            if line.starts_with([' ', '\t']) {
                return Err(FramingError::Malformed(format!(
                    "obsolete folded header line {line:?}"
                )));
            }
            let (name, value) = line.split_once(':').ok_or_else(|| {
                FramingError::Malformed(format!("header line without a colon: {line:?}"))
            })?;
            if name.is_empty() || name.contains([' ', '\t']) {
                return Err(FramingError::Malformed(format!(
                    "invalid header name in {line:?}"
                )));
            }
            fields.push((name.to_ascii_lowercase(), value.trim().to_owned()));
        }
        Ok(Head { start_line, fields })
    }

    fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.fields
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether a comma-separated header such as `Connection` holds `token`.
    fn has_token(&self, name: &str, token: &str) -> bool {
        self.values(name)
            .flat_map(|value| value.split(','))
            .any(|item| item.trim().eq_ignore_ascii_case(token))
    }

    fn content_length(&self) -> Result<Option<u64>, FramingError> {
        let mut length = None;
        for item in self.values("content-length").flat_map(|v| v.split(',')) {
            let parsed: u64 = item.trim().parse().map_err(|_| {
                FramingError::Malformed(format!("Content-Length {:?} is not a number", item.trim()))
            })?;
            if length.is_some_and(|seen| seen != parsed) {
                return Err(FramingError::Malformed(
                    "conflicting Content-Length headers".to_owned(),
                ));
            }
            length = Some(parsed);
        }
        Ok(length)
    }

    fn transfer_encoding(&self) -> Option<String> {
        let codings: Vec<&str> = self.values("transfer-encoding").collect();
        (!codings.is_empty()).then(|| codings.join(", "))
    }
}

/// One complete request as read from a client.
pub(crate) struct Request {
    /// Head and body, exactly as the client sent them.
    pub(crate) bytes: Vec<u8>,
    pub(crate) head_len: usize,
    pub(crate) method: String,
    pub(crate) target: String,
    /// Whether the client wants the connection kept open after the answer.
    pub(crate) keep_alive: bool,
}

impl Request {
    pub(crate) fn body_len(&self) -> usize {
        self.bytes.len() - self.head_len
    }
}

/// Reads the next request. `Ok(None)` when the client closed the connection between requests.
pub(crate) async fn read_request<S: AsyncRead + Unpin>(
    conn: &mut Framed<S>,
) -> Result<Option<Request>, FramingError> {
    let Some(mut bytes) = conn.read_head().await? else {
        return Ok(None);
    };
    let head = Head::parse(&bytes)?;
    let mut parts = head.start_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(FramingError::Malformed(format!(
            "request line {:?} is not `METHOD target HTTP/1.1`",
            head.start_line
        )));
    };
    let keep_alive = match version {
        "HTTP/1.1" => !head.has_token("connection", "close"),
        "HTTP/1.0" => head.has_token("connection", "keep-alive"),
        other => {
            return Err(FramingError::Malformed(format!(
                "unsupported protocol version {other:?}; the fault proxy speaks HTTP/1.x"
            )))
        }
    };
    if let Some(codings) = head.transfer_encoding() {
        return Err(FramingError::TransferEncodedRequest(codings));
    }
    if head.has_token("expect", "100-continue") {
        return Err(FramingError::ExpectContinue);
    }
    let head_len = bytes.len();
    let body_len = head.content_length()?.unwrap_or(0);
    bytes.extend(conn.read_bytes(body_len).await?);
    Ok(Some(Request {
        bytes,
        head_len,
        method: method.to_owned(),
        target: target.to_owned(),
        keep_alive,
    }))
}

/// One complete response as read from the upstream server, interim (1xx) responses included.
pub(crate) struct Response {
    pub(crate) bytes: Vec<u8>,
    pub(crate) status: u16,
    /// Whether the connection must close after this response (the server said so, or the body
    /// ran until the server closed).
    pub(crate) close: bool,
}

/// Reads the upstream's answer to a request made with `method`.
pub(crate) async fn read_response<S: AsyncRead + Unpin>(
    conn: &mut Framed<S>,
    method: &str,
) -> Result<Response, FramingError> {
    let mut bytes = Vec::new();
    loop {
        let raw = conn.read_head().await?.ok_or(FramingError::Truncated)?;
        let head = Head::parse(&raw)?;
        bytes.extend_from_slice(&raw);
        let mut parts = head.start_line.splitn(3, ' ');
        let version = parts.next().unwrap_or_default();
        let status: u16 = parts
            .next()
            .and_then(|code| code.parse().ok())
            .filter(|code| (100..=999).contains(code))
            .ok_or_else(|| FramingError::Malformed(format!("status line {:?}", head.start_line)))?;
        if status == 101 {
            return Err(FramingError::Malformed(
                "the upstream switched protocols; the fault proxy relays HTTP/1.1 only".to_owned(),
            ));
        }
        if (100..200).contains(&status) {
            continue;
        }
        let mut close = match version {
            "HTTP/1.0" => !head.has_token("connection", "keep-alive"),
            _ => head.has_token("connection", "close"),
        };
        if method.eq_ignore_ascii_case("HEAD") || status == 204 || status == 304 {
            // No body, whatever the headers say.
        } else if let Some(codings) = head.transfer_encoding() {
            if codings
                .rsplit(',')
                .next()
                .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"))
            {
                read_chunked(conn, &mut bytes).await?;
            } else {
                bytes.extend(conn.read_to_end().await?);
                close = true;
            }
        } else if let Some(length) = head.content_length()? {
            bytes.extend(conn.read_bytes(length).await?);
        } else {
            bytes.extend(conn.read_to_end().await?);
            close = true;
        }
        return Ok(Response {
            bytes,
            status,
            close,
        });
    }
}

/// Copies a chunked body (chunks, last chunk and trailers) into `bytes` as it came.
async fn read_chunked<S: AsyncRead + Unpin>(
    conn: &mut Framed<S>,
    bytes: &mut Vec<u8>,
) -> Result<(), FramingError> {
    let mut total: u64 = 0;
    loop {
        let line = conn.read_line().await?;
        bytes.extend_from_slice(&line);
        let text = String::from_utf8_lossy(&line[..line.len() - 2]);
        let size_text = text.split(';').next().unwrap_or_default().trim();
        let size = u64::from_str_radix(size_text, 16)
            .map_err(|_| FramingError::Malformed(format!("chunk size {size_text:?}")))?;
        if size == 0 {
            loop {
                let trailer = conn.read_line().await?;
                bytes.extend_from_slice(&trailer);
                if trailer == b"\r\n" {
                    return Ok(());
                }
            }
        }
        total = total.saturating_add(size);
        if total > MAX_BODY_BYTES {
            return Err(FramingError::BodyTooLarge(total));
        }
        let data = conn.read_bytes(size + 2).await?;
        if !data.ends_with(b"\r\n") {
            return Err(FramingError::Malformed(
                "chunk data not followed by CRLF".to_owned(),
            ));
        }
        bytes.extend(data);
    }
}
