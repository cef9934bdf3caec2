//! The admin token of `publish`: where it comes from and where it may go.
//!
//! - Sources, most explicit first: `--token-stdin` (one line read from
//!   stdin, at most [`MAX_TOKEN_LEN`] bytes), `--token TOKEN` (works, but
//!   warns on stderr: other users can read it in `ps`, and it lands in shell
//!   history), the environment variable `EDGESWARM_TOKEN`.
//! - Destination: the token is sent only over `https://`, or over plain
//!   `http://` to a loopback host (127.0.0.0/8, ::1, `localhost`), where no
//!   network can read it. Anything else is refused before the file is read.

use std::io::Read;
use std::net::{Ipv4Addr, Ipv6Addr};

use anyhow::{bail, Context};

/// Longest token accepted on stdin, in bytes.
pub const MAX_TOKEN_LEN: usize = 4096;

/// The warning `--token` prints (one line on stderr).
pub const TOKEN_ARG_WARNING: &str = "edgeswarm: warning: --token is visible to other users \
     (ps) and kept in shell history; prefer EDGESWARM_TOKEN or --token-stdin";

/// Reads the token from `input`: its first line, without the line end.
pub fn read_token(input: impl Read) -> anyhow::Result<String> {
    let mut buf = Vec::new();
    input
        .take(MAX_TOKEN_LEN as u64 + 2)
        .read_to_end(&mut buf)
        .context("cannot read the token from stdin")?;
    let text = String::from_utf8(buf).context("the token on stdin is not UTF-8")?;
    let line = text.split('\n').next().unwrap_or("").trim_end_matches('\r');
    if line.len() > MAX_TOKEN_LEN {
        bail!("the token on stdin is longer than {MAX_TOKEN_LEN} bytes");
    }
    if line.trim().is_empty() {
        bail!("--token-stdin: stdin holds no token");
    }
    Ok(line.to_owned())
}

/// Refuses a server URL the token must not be sent to: plain `http://` to a
/// host that is not loopback.
pub fn check_server(server: &str) -> anyhow::Result<()> {
    let lower = server.to_ascii_lowercase();
    if lower.starts_with("https://") {
        return Ok(());
    }
    let Some(rest) = lower.strip_prefix("http://") else {
        bail!("--server must be an http:// or https:// URL, got {server:?}");
    };
    let host = host_of(rest);
    if !is_loopback(host) {
        bail!(
            "refusing to send the admin token over plain http:// to {host:?}: use https:// \
             (http:// is allowed only for loopback hosts: 127.0.0.0/8, ::1, localhost)"
        );
    }
    Ok(())
}

/// The host of an URL's remainder after `scheme://` (no user info, no port;
/// an IPv6 literal without its brackets).
fn host_of(rest: &str) -> &str {
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(v6) = host_port.strip_prefix('[') {
        return v6.split(']').next().unwrap_or("");
    }
    host_port.split(':').next().unwrap_or("")
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host == "localhost."
        || host.parse::<Ipv4Addr>().is_ok_and(|a| a.is_loopback())
        || host.parse::<Ipv6Addr>().is_ok_and(|a| a.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_http_and_any_https_are_allowed() {
        for ok in [
            "http://127.0.0.1:8787",
            "http://127.9.8.7/",
            "http://[::1]:8787/x",
            "http://localhost:8787",
            "HTTP://LOCALHOST",
            "http://user@127.0.0.1:1",
            "https://edge.example",
            "https://10.0.0.1:8443",
        ] {
            assert!(check_server(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn plain_http_elsewhere_is_refused() {
        for bad in [
            "http://10.0.0.1:8787",
            "http://edge.example",
            "http://localhost.evil.example",
            "http://127.0.0.1.evil.example",
            "http://127.0.0.1@evil.example/",
            "http://[::ffff:127.0.0.1]/",
            "http://[2001:db8::1]:80",
            "http://0.0.0.0:8787",
            "ftp://127.0.0.1",
        ] {
            assert!(check_server(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn reads_the_first_line_of_stdin() {
        assert_eq!(read_token(&b"s3cret\n"[..]).unwrap(), "s3cret");
        assert_eq!(read_token(&b"s3cret\r\nrest"[..]).unwrap(), "s3cret");
        assert_eq!(read_token(&b"s3cret"[..]).unwrap(), "s3cret");
        assert!(read_token(&b"\n"[..]).is_err());
        assert!(read_token(&vec![b'a'; MAX_TOKEN_LEN + 1][..]).is_err());
    }
}
