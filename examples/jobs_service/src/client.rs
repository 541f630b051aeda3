//! A minimal HTTP/1.1 client for the tests and the benchmark: one keep-alive connection,
//! one request at a time, bodies with a `Content-Length` only (what axum sends for JSON).
//! No dependency beyond tokio, so the workspace builds no HTTP client crate for it.

use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// A response: its status and body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The body, as text.
    pub body: String,
}

/// One connection to the service, opened on first use and again after the server closed it.
#[derive(Debug)]
pub struct Client {
    addr: SocketAddr,
    connection: Option<BufReader<TcpStream>>,
}

impl Client {
    /// A client of the service at `addr` (no connection yet).
    pub fn new(addr: SocketAddr) -> Self {
        Client {
            addr,
            connection: None,
        }
    }

    /// `GET path`.
    pub async fn get(&mut self, path: &str) -> io::Result<Response> {
        self.send("GET", path, None).await
    }

    /// `POST path` with a JSON body.
    pub async fn post_json(&mut self, path: &str, json: &str) -> io::Result<Response> {
        self.send("POST", path, Some(json)).await
    }

    /// Sends one request on the open connection (a new one if there is none) and reads the
    /// response. Any error drops the connection; the next request opens a new one.
    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        json: Option<&str>,
    ) -> io::Result<Response> {
        let result = self.exchange(method, path, json).await;
        if result.is_err() {
            self.connection = None;
        }
        result
    }

    async fn exchange(
        &mut self,
        method: &str,
        path: &str,
        json: Option<&str>,
    ) -> io::Result<Response> {
        let connection = match &mut self.connection {
            Some(connection) => connection,
            None => {
                let stream = TcpStream::connect(self.addr).await?;
                stream.set_nodelay(true)?;
                self.connection.insert(BufReader::new(stream))
            }
        };
        let body = json.unwrap_or("");
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        if json.is_some() {
            request.push_str("Content-Type: application/json\r\n");
        }
        request.push_str("\r\n");
        request.push_str(body);
        connection.get_mut().write_all(request.as_bytes()).await?;
        let (response, close) = read_response(connection).await?;
        if close {
            self.connection = None;
        }
        Ok(response)
    }
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_owned())
}

/// The response, and whether the server said it closes the connection.
async fn read_response(connection: &mut BufReader<TcpStream>) -> io::Result<(Response, bool)> {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let byte = connection.read_u8().await?;
        head.push(byte);
        if head.len() > 16 * 1024 {
            return Err(invalid("response head too long"));
        }
    }
    let head = String::from_utf8(head).map_err(|_| invalid("response head not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| invalid("no status line"))?;
    let (mut length, mut close) = (None, false);
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse::<usize>().ok();
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                return Err(invalid("chunked bodies are not supported"));
            } else if name.eq_ignore_ascii_case("connection") {
                close = value.trim().eq_ignore_ascii_case("close");
            }
        }
    }
    let mut body = vec![0; length.unwrap_or(0)];
    connection.read_exact(&mut body).await?;
    let body = String::from_utf8(body).map_err(|_| invalid("body not UTF-8"))?;
    Ok((Response { status, body }, close))
}
