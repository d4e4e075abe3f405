//! Sockets: listening, accepting, connecting, receiving and sending on the ring (the ops:
//! [`crate::ops::AcceptStream`], [`crate::ops::RecvStream`]; the façade: `src-ts/net/`).
//!
//! A socket is a plain descriptor (`SOCK_NONBLOCK | SOCK_CLOEXEC`). Setting one up (`socket`,
//! `setsockopt`, `bind`, `listen`) is a handful of cheap system calls made here, synchronously;
//! everything that waits (accept, connect, receive, send, shutdown, close) is an io_uring op.
//! Accepted connections and received bytes arrive as **stream events** (`wire::event`), in the
//! same JS call as the batch's completions: no N-API call per message.

use crate::args::{self, cstring};
use crate::js::{self, codes, Result};
use crate::ops::{AcceptStream, ConnectWait, Passthrough, RecvOnce, RecvStream};
use crate::recv_group;
use crate::runtime;
use boros::net::{self as bnet, SockAddr};
use boros::op;
use napi_derive::napi;
use std::net::{IpAddr, SocketAddr, SocketAddrV6};
use std::os::unix::ffi::OsStrExt;

/// A system call's failure as `-errno` (what the façade turns into Node's error).
fn errno(e: &std::io::Error) -> i32 {
    -e.raw_os_error().unwrap_or(libc::EIO)
}

pub(crate) fn ip_addr(ip: &str, port: u32) -> Result<SockAddr> {
    let bad = || {
        js::error(
            codes::INVALID_ARG_VALUE,
            format!("The argument 'address' must be an IP address. Received '{ip}'"),
        )
    };
    // An IPv6 address may name its zone ("fe80::1%eth0"), as libuv's uv_ip6_addr reads it.
    let (text, zone) = match ip.split_once('%') {
        Some((a, z)) => (a, Some(z)),
        None => (ip, None),
    };
    let addr: IpAddr = text.parse().map_err(|_| bad())?;
    let port = u16::try_from(port).map_err(|_| {
        js::error(
            codes::OUT_OF_RANGE,
            format!("The value of \"port\" is out of range. It must be >= 0 && <= 65535. Received {port}"),
        )
    })?;
    match (addr, zone) {
        (IpAddr::V6(v6), Some(zone)) => Ok(SockAddr::inet(SocketAddr::V6(SocketAddrV6::new(
            v6,
            port,
            0,
            scope_id(zone),
        )))),
        (IpAddr::V4(_), Some(_)) => Err(bad()),
        (addr, None) => Ok(SockAddr::inet(SocketAddr::new(addr, port))),
    }
}

/// The scope of an IPv6 zone, as libuv's uv_ip6_addr takes it on Unix: the index of the
/// interface of that name (`if_nametoindex`); an unknown name, or a number, is scope 0.
fn scope_id(zone: &str) -> u32 {
    let Ok(name) = std::ffi::CString::new(zone) else {
        return 0;
    };
    // SAFETY: `name` is a NUL-terminated string alive for the call; if_nametoindex only reads it.
    unsafe { libc::if_nametoindex(name.as_ptr()) }
}

/// An address as the façade shows it (its fields in node:net's order: `address`, `family`,
/// `port`, as `JSON.stringify(server.address())` shows them).
#[napi(object)]
pub struct SocketAddress {
    /// The IP address (a link-local IPv6 address with its zone: `fe80::1%eth0`), or the socket
    /// path (`''` for an unnamed Unix socket; an abstract name starts with `'\0'`).
    pub address: String,
    /// `'IPv4'`, `'IPv6'` or `'unix'`.
    pub family: String,
    /// The port (0 for Unix sockets).
    pub port: u32,
}

pub(crate) fn describe(a: &SockAddr) -> SocketAddress {
    if let Some(sa) = a.as_inet() {
        let (family, address) = match sa {
            SocketAddr::V4(v4) => ("IPv4", v4.ip().to_string()),
            SocketAddr::V6(v6) => ("IPv6", ipv6_text(&v6)),
        };
        return SocketAddress {
            address,
            family: family.into(),
            port: u32::from(sa.port()),
        };
    }
    let address = if let Some(p) = a.as_unix_path() {
        p.to_string_lossy().into_owned()
    } else if let Some(name) = a.as_abstract() {
        format!("\0{}", String::from_utf8_lossy(name))
    } else {
        String::new()
    };
    SocketAddress {
        address,
        family: "unix".into(),
        port: 0,
    }
}

/// An IPv6 address as node:net shows it (`AddressToJS` in Node's src/tcp_wrap.cc): a
/// link-local address (`fe80::/10`) with a scope gets `%` and its interface's name
/// (`uv_if_indextoiid`: `if_indextoname`; the number if no interface has it any more).
fn ipv6_text(a: &SocketAddrV6) -> String {
    let ip = a.ip();
    let o = ip.octets();
    if !(o[0] == 0xfe && (o[1] & 0xc0) == 0x80) || a.scope_id() == 0 {
        return ip.to_string();
    }
    let mut name = [0 as libc::c_char; libc::IF_NAMESIZE];
    // SAFETY: `name` has IF_NAMESIZE bytes, the most if_indextoname writes (with its NUL).
    let r = unsafe { libc::if_indextoname(a.scope_id(), name.as_mut_ptr()) };
    if r.is_null() {
        return format!("{ip}%{}", a.scope_id());
    }
    // SAFETY: on success `name` holds a NUL-terminated string.
    let zone = unsafe { std::ffi::CStr::from_ptr(name.as_ptr()) };
    format!("{ip}%{}", zone.to_string_lossy())
}

/// The result of a listen: the socket, or `-errno` and the system call that failed.
#[napi(object)]
pub struct Listening {
    /// The listening socket, or -1.
    pub fd: i32,
    /// `-errno` when the set-up failed (0 otherwise).
    pub errno: i32,
    /// The system call that failed (`'socket'`, `'bind'`, `'listen'`...).
    pub syscall: String,
}

fn listening(r: std::result::Result<i32, (std::io::Error, &'static str)>) -> Listening {
    match r {
        Ok(fd) => Listening {
            fd,
            errno: 0,
            syscall: String::new(),
        },
        Err((e, syscall)) => Listening {
            fd: -1,
            errno: errno(&e),
            syscall: syscall.into(),
        },
    }
}

fn listen_on(
    addr: SockAddr,
    backlog: i32,
    opts: impl FnOnce(i32) -> std::io::Result<()>,
) -> Listening {
    use std::os::fd::{AsRawFd, IntoRawFd};
    let r = (|| {
        let ty = libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
        let sock = bnet::socket(addr.family(), ty, 0).map_err(|e| (e, "socket"))?;
        let fd = sock.as_raw_fd();
        opts(fd).map_err(|e| (e, "setsockopt"))?;
        bnet::bind(fd, &addr).map_err(|e| (e, "bind"))?;
        bnet::listen(fd, backlog).map_err(|e| (e, "listen"))?;
        let fd = sock.into_raw_fd();
        crate::fds::own(fd);
        Ok(fd)
    })();
    listening(r)
}

/// A listening TCP socket on `ip`:`port` (port 0: the kernel picks one), with `SO_REUSEADDR`
/// (as libuv), `SO_REUSEPORT` when `reusePort`, `IPV6_V6ONLY` when `ipv6Only`.
#[napi]
pub fn tcp_listen(
    ip: String,
    port: u32,
    backlog: i32,
    ipv6_only: bool,
    reuse_port: bool,
) -> Result<Listening> {
    let addr = ip_addr(&ip, port)?;
    let v6 = addr.family() == libc::AF_INET6;
    Ok(listen_on(addr, backlog, |fd| {
        bnet::setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)?;
        if reuse_port {
            bnet::setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_REUSEPORT, 1)?;
        }
        if v6 {
            bnet::setsockopt_int(
                fd,
                libc::IPPROTO_IPV6,
                libc::IPV6_V6ONLY,
                i32::from(ipv6_only),
            )?;
        }
        Ok(())
    }))
}

/// A listening Unix stream socket at `path` (a leading `'\0'`: an abstract name).
#[napi]
pub fn unix_listen(path: String, backlog: i32) -> Result<Listening> {
    let addr = unix_addr(&path)?;
    Ok(listen_on(addr, backlog, |_| Ok(())))
}

/// The first libuv whose pipes bind and connect an abstract name with its own length (PR 4266,
/// libuv 1.48.0, Node 22.0); before it, with the whole `sun_path` (the name padded with NUL
/// bytes to 108), which is another name to the kernel. boros/net takes the running Node's
/// form, so that its sockets and node:net's reach each other on every Node (checked on Node
/// 20.20 with libuv 1.46 and 22.0 with 1.48: `/proc/net/unix` shows the padded name on the
/// first only).
const UV_ABSTRACT_NAME_OWN_LENGTH: u32 = 0x01_30_00;

fn unix_addr(path: &str) -> Result<SockAddr> {
    let r = match path.strip_prefix('\0') {
        Some(name) if crate::uv::version() < UV_ABSTRACT_NAME_OWN_LENGTH => {
            SockAddr::unix_abstract_padded(name.as_bytes())
        }
        Some(name) => SockAddr::unix_abstract(name.as_bytes()),
        None => {
            // No NUL inside a path (it would cut the name short).
            let c = cstring(path.to_owned(), "path")?;
            SockAddr::unix(std::ffi::OsStr::from_bytes(c.as_bytes()))
        }
    };
    r.map_err(|e| {
        js::error(
            codes::INVALID_ARG_VALUE,
            format!("The argument 'path' is invalid: {e}. Received '{path}'"),
        )
    })
}

/// Arms a multishot accept on listening socket `fd`: each connection (a non-blocking,
/// close-on-exec descriptor) is an event of `stream`. Returns the op's key (cancel it to stop).
#[napi]
pub fn accept_start(fd: i32, stream: u32) -> Result<f64> {
    let fd = args::fd(fd)?;
    runtime::with(|rt| rt.queue(AcceptStream::new(fd, stream)))
}

/// A new non-blocking TCP socket (`family` 4 or 6) or Unix stream socket (`family` 0), or
/// `-errno`.
#[napi]
pub fn stream_socket(family: u32) -> Result<i32> {
    use std::os::fd::IntoRawFd;
    let domain = match family {
        4 => libc::AF_INET,
        6 => libc::AF_INET6,
        0 => libc::AF_UNIX,
        f => {
            return Err(js::error(
                codes::INVALID_ARG_VALUE,
                format!("boros: unknown socket family {f}"),
            ))
        }
    };
    let ty = libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
    Ok(match bnet::socket(domain, ty, 0) {
        Ok(s) => {
            let fd = s.into_raw_fd();
            crate::fds::own(fd);
            fd
        }
        Err(e) => errno(&e),
    })
}

/// Binds socket `fd` to a local `ip`:`port` before it connects (`localAddress`/`localPort`);
/// 0 or `-errno`.
#[napi]
pub fn tcp_bind(fd: i32, ip: String, port: u32) -> Result<i32> {
    let fd = args::fd(fd)?;
    let addr = ip_addr(&ip, port)?;
    Ok(bnet::bind(fd, &addr).map_or_else(|e| errno(&e), |_| 0))
}

/// Starts connecting TCP socket `fd` to `ip`:`port` now, as libuv's `uv__tcp_connect` does:
/// `connect(2)` on the non-blocking socket. Returns 0 (connected at once), `-EINPROGRESS` (the
/// handshake runs: wait for it with [`connect_wait`]), or the `-errno` the kernel gave at once
/// (`ENETUNREACH`, `EINVAL`, `EADDRNOTAVAIL`, `ECONNREFUSED`...), which node:net reports
/// differently from the handshake's errors (` - Local (address:port)`).
/// With `scope_link_local`, a link-local address (`fe80::/16`, as libuv tests it) without a
/// zone takes the scope of the first interface that has a link-local address, as libuv 1.47+
/// does (`uv__ipv6_link_local_scope_id`; Node 20's libuv 1.46 connects with scope 0).
#[napi]
pub fn tcp_connect_now(fd: i32, ip: String, port: u32, scope_link_local: bool) -> Result<i32> {
    let fd = args::fd(fd)?;
    let mut addr = ip_addr(&ip, port)?;
    if scope_link_local {
        if let Some(SocketAddr::V6(v6)) = addr.as_inet() {
            let o = v6.ip().octets();
            if o[0] == 0xfe && o[1] == 0x80 && v6.scope_id() == 0 {
                let mut scoped = v6;
                scoped.set_scope_id(first_link_local_scope());
                addr = SockAddr::inet(SocketAddr::V6(scoped));
            }
        }
    }
    loop {
        // SAFETY: the pointer and length describe `addr`, alive and unchanged for the call.
        let r = unsafe { libc::connect(fd, addr.as_ptr(), addr.len()) };
        if r == 0 {
            return Ok(0);
        }
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            return Ok(errno(&e));
        }
    }
}

/// The scope of the first interface address (`getifaddrs` order) that is IPv6 link-local
/// (`fe80::/16`), or 0: libuv's `uv__ipv6_link_local_scope_id`.
fn first_link_local_scope() -> u32 {
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs writes a list it allocated into `list` (freed below) or fails.
    if unsafe { libc::getifaddrs(&mut list) } != 0 {
        return 0;
    }
    let mut scope = 0;
    let mut p = list;
    while !p.is_null() {
        // SAFETY: `p` is a node of the list getifaddrs returned, alive until freeifaddrs.
        let ifa = unsafe { &*p };
        if !ifa.ifa_addr.is_null() {
            // SAFETY: a non-null ifa_addr points to a sockaddr of its family's size.
            let family = i32::from(unsafe { (*ifa.ifa_addr).sa_family });
            if family == libc::AF_INET6 {
                // SAFETY: an AF_INET6 ifa_addr is a sockaddr_in6.
                let a6 = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in6) };
                let b = a6.sin6_addr.s6_addr;
                if b[0] == 0xfe && b[1] == 0x80 {
                    scope = a6.sin6_scope_id;
                    break;
                }
            }
        }
        p = ifa.ifa_next;
    }
    // SAFETY: frees the list getifaddrs allocated, once; no reference into it outlives this.
    unsafe { libc::freeifaddrs(list) };
    scope
}

/// Queues the wait for the connect [`tcp_connect_now`] started on `fd`: a poll for `POLLOUT`,
/// then the socket's `SO_ERROR`; completes with 0 or `-errno`.
#[napi]
pub fn connect_wait(fd: i32, token: u32) -> Result<f64> {
    let fd = args::fd(fd)?;
    runtime::with(|rt| rt.queue(ConnectWait::new(fd, token)))
}

/// Queues the connect of Unix socket `fd` to `path`; completes with 0 or `-errno`.
#[napi]
pub fn unix_connect(fd: i32, path: String, token: u32) -> Result<f64> {
    let fd = args::fd(fd)?;
    let addr = unix_addr(&path)?;
    runtime::with(|rt| rt.queue(Passthrough::new(op::Connect::new(fd, addr), token)))
}

/// Arms the receive of connected socket `fd`: bytes, the end of the stream and errors are
/// events of `stream`. Returns its key (cancel it to pause). The thread's readiness slot takes
/// it if free (libuv polls the socket: `runtime/readiness.rs`); otherwise a multishot receive
/// on the ring.
#[napi]
pub fn recv_start(fd: i32, stream: u32) -> Result<f64> {
    let fd = args::fd(fd)?;
    runtime::with(|rt| {
        if let Some(key) = rt.readiness_start(fd, stream) {
            return Ok(key);
        }
        match recv_group::shared(&mut rt.driver)? {
            Some(ring) => rt.queue(RecvStream::new(fd, ring, stream)),
            None => rt.queue(RecvOnce::new(fd, stream)),
        }
    })
}

/// Queues `shutdown(fd, how)` (`SHUT_WR` = 1 ends our side); completes with 0 or `-errno`.
#[napi]
pub fn shutdown(fd: i32, how: i32, token: u32) -> Result<f64> {
    let fd = args::fd(fd)?;
    runtime::with(|rt| rt.queue(Passthrough::new(op::Shutdown::new(fd, how), token)))
}

/// Takes listening socket `fd` out of the listening state now (`shutdown(fd, SHUT_RD)`: the
/// kernel stops listening, refuses new connections, resets those not yet accepted, and the
/// armed accept ends), so its address is free for a new listener before the descriptor closes:
/// the armed multishot accept holds the socket until its cancel completes, and libuv's
/// `server.close()` frees the port at once (`close(2)` in `uv_close`). 0 or `-errno`.
#[napi]
pub fn stop_listening(fd: i32) -> Result<i32> {
    let fd = args::fd(fd)?;
    // SAFETY: shutdown takes no pointers; an invalid descriptor is an error return.
    let r = unsafe { libc::shutdown(fd, libc::SHUT_RD) };
    Ok(if r == 0 {
        0
    } else {
        errno(&std::io::Error::last_os_error())
    })
}

/// Closes listening socket `fd` now (`close(2)`, not on the ring), after cancelling its armed
/// accept (`key`; a negative key: none is armed) and letting the kernel finish that cancel at
/// once, so nothing holds the socket past this call. For an abstract-namespace Unix socket,
/// whose name only the socket's release frees (`shutdown` does not): libuv's `uv_close`
/// frees it at once, and a new server may take the name in the same tick. The accept's last
/// event still comes with the next reap. 0 or `-errno`.
#[napi]
pub fn close_listener_now(fd: i32, key: f64) -> Result<i32> {
    let fd = args::fd(fd)?;
    runtime::with(|rt| {
        if key >= 0.0 && key.fract() == 0.0 && key < (1u64 << 53) as f64 {
            rt.driver
                .cancel(boros::OpKey::from_u64(key as u64))
                .map_err(js::push_error)?;
        }
        rt.run_kernel_work();
        crate::fds::disown(fd);
        // SAFETY: close takes no pointers; `fd` is this listener's, closed once (the façade
        // forgets it here), and no op of it is left unsubmitted (the enter above took them).
        let r = unsafe { libc::close(fd) };
        Ok(if r == 0 {
            0
        } else {
            errno(&std::io::Error::last_os_error())
        })
    })
}

/// The local (`peer` false) or remote address of socket `fd`, or null.
#[napi]
pub fn socket_address(fd: i32, peer: bool) -> Result<Option<SocketAddress>> {
    let fd = args::fd(fd)?;
    let a = if peer {
        bnet::peer_addr(fd)
    } else {
        bnet::local_addr(fd)
    };
    Ok(a.ok().map(|a| describe(&a)))
}

/// `TCP_NODELAY` on or off; 0 or `-errno`.
#[napi]
pub fn set_no_delay(fd: i32, on: bool) -> Result<i32> {
    let fd = args::fd(fd)?;
    Ok(
        bnet::setsockopt_int(fd, libc::IPPROTO_TCP, libc::TCP_NODELAY, i32::from(on))
            .map_or_else(|e| errno(&e), |_| 0),
    )
}

/// `SO_KEEPALIVE` on or off, with the first probe after `delay` seconds (when > 0), then probes
/// every `interval` seconds (default 1), `count` of them (default 10), as libuv's
/// `uv_tcp_keepalive_ex`; 0 or `-errno`.
#[napi]
pub fn set_keep_alive(
    fd: i32,
    on: bool,
    delay: u32,
    interval: Option<u32>,
    count: Option<u32>,
) -> Result<i32> {
    let fd = args::fd(fd)?;
    let clamp = |v: u32| v.min(i32::MAX as u32) as i32;
    let r = (|| {
        bnet::setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_KEEPALIVE, i32::from(on))?;
        if on && delay > 0 {
            let interval = interval.filter(|&v| v > 0).unwrap_or(1);
            let count = count.filter(|&v| v > 0).unwrap_or(10);
            bnet::setsockopt_int(fd, libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, clamp(delay))?;
            bnet::setsockopt_int(fd, libc::IPPROTO_TCP, libc::TCP_KEEPINTVL, clamp(interval))?;
            bnet::setsockopt_int(fd, libc::IPPROTO_TCP, libc::TCP_KEEPCNT, clamp(count))?;
        }
        Ok::<_, std::io::Error>(())
    })();
    Ok(r.map_or_else(|e| errno(&e), |_| 0))
}

/// `SO_LINGER` with a zero timeout, so the close that follows sends a reset (`resetAndDestroy`);
/// 0 or `-errno`.
#[napi]
pub fn set_linger_reset(fd: i32) -> Result<i32> {
    let fd = args::fd(fd)?;
    let l = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: `linger` is plain old data; viewed as its bytes for the system call.
    let bytes = unsafe {
        std::slice::from_raw_parts(
            (&l as *const libc::linger).cast::<u8>(),
            std::mem::size_of::<libc::linger>(),
        )
    };
    Ok(
        bnet::setsockopt(fd, libc::SOL_SOCKET, libc::SO_LINGER, bytes)
            .map_or_else(|e| errno(&e), |_| 0),
    )
}

/// The socket's address family (`AF_INET`, `AF_INET6`, ...), or `-errno`.
fn family_of(fd: i32) -> i32 {
    bnet::getsockopt_int(fd, libc::SOL_SOCKET, libc::SO_DOMAIN).unwrap_or_else(|e| errno(&e))
}

/// `setTypeOfService(tos)`: `IP_TOS` (and `IPV6_TCLASS` on an IPv6 socket); 0 or `-errno`.
#[napi]
pub fn set_type_of_service(fd: i32, tos: i32) -> Result<i32> {
    let fd = args::fd(fd)?;
    let r = if family_of(fd) == libc::AF_INET6 {
        bnet::setsockopt_int(fd, libc::IPPROTO_IPV6, libc::IPV6_TCLASS, tos)
    } else {
        bnet::setsockopt_int(fd, libc::IPPROTO_IP, libc::IP_TOS, tos)
    };
    Ok(r.map_or_else(|e| errno(&e), |_| 0))
}

/// `getTypeOfService()`: the socket's `IP_TOS` (`IPV6_TCLASS` on IPv6), or `-errno`.
#[napi]
pub fn get_type_of_service(fd: i32) -> Result<i32> {
    let fd = args::fd(fd)?;
    let (level, name) = if family_of(fd) == libc::AF_INET6 {
        (libc::IPPROTO_IPV6, libc::IPV6_TCLASS)
    } else {
        (libc::IPPROTO_IP, libc::IP_TOS)
    };
    let mut v: i32 = 0;
    let mut len = std::mem::size_of::<i32>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes into the local `v`.
    let r = unsafe { libc::getsockopt(fd, level, name, (&mut v as *mut i32).cast(), &mut len) };
    Ok(if r < 0 {
        -std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO)
    } else {
        v & 0xff
    })
}

/// The socket type of `fd` (`SO_TYPE`: 1 stream, 2 datagram...), or `-errno` (`-ENOTSOCK` for
/// a descriptor that is no socket): `new Socket({ fd })` checks what it adopts, as libuv's
/// `uv_guess_handle` does.
#[napi]
pub fn socket_type(fd: i32) -> Result<i32> {
    let fd = args::fd(fd)?;
    let mut v: i32 = 0;
    let mut len = std::mem::size_of::<i32>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes into the local `v`.
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_TYPE,
            (&mut v as *mut i32).cast(),
            &mut len,
        )
    };
    Ok(if r < 0 {
        -std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO)
    } else {
        v
    })
}
