//! Sockets: an owned socket address type, the plain system calls that come before (or stand
//! in for) the ring's socket ops, and what this kernel can do with sockets on the ring.
//!
//! ## Ops and kernels
//! | op | kernel | without it |
//! |---|---|---|
//! | [`op::Socket`](crate::op::Socket) | 5.19 | [`socket`] |
//! | [`op::Accept`](crate::op::Accept), [`op::Connect`](crate::op::Connect) | 5.5 | — |
//! | [`op::AcceptMulti`](crate::op::AcceptMulti) | 5.19 | — |
//! | [`op::Send`](crate::op::Send), [`op::Recv`](crate::op::Recv) | 5.6 | — |
//! | [`op::SendMsg`](crate::op::SendMsg) | 5.3 | — |
//! | [`op::SendZc`](crate::op::SendZc), [`op::RecvMulti`](crate::op::RecvMulti) | 6.0 | — |
//! | recv bundles ([`op::RecvMulti::bundle`](crate::op::RecvMulti::bundle)) | 6.10 | one buffer per CQE ([`recv_bundles`]) |
//! | [`op::Bind`](crate::op::Bind), [`op::Listen`](crate::op::Listen) | 6.11 | [`bind`], [`listen`] |
//! | [`op::SetSockOpt`](crate::op::SetSockOpt), [`op::GetSockOpt`](crate::op::GetSockOpt) | 6.7 | [`setsockopt`], [`getsockopt`] ([`sockopt_cmds`]) |
//! | [`op::Shutdown`](crate::op::Shutdown) | 5.11 | — |
//! | [`op::PollAdd`](crate::op::PollAdd), [`op::Timeout`](crate::op::Timeout), [`op::LinkTimeout`](crate::op::LinkTimeout) | 5.1 / 5.4 / 5.5 | — |
//!
//! boros needs Linux 6.1, so only bind/listen (6.11), the socket option commands (6.7) and
//! recv bundles (6.10) may be missing. Pushing an op whose opcode the kernel lacks fails with
//! [`PushError::Unsupported`](crate::PushError::Unsupported) naming the kernel it needs; the
//! socket option commands share `IORING_OP_URING_CMD` (5.19) with other commands, so a probe
//! cannot see them: ask [`sockopt_cmds`] first (on older kernels they complete with
//! `-EOPNOTSUPP`).
//!
//! ## Multishot ops end, and are re-armed
//! A multishot op ([`AcceptMulti`](crate::op::AcceptMulti), [`RecvMulti`](crate::op::RecvMulti),
//! [`PollAdd::multi`](crate::op::PollAdd::multi)) posts CQEs with `IORING_CQE_F_MORE` until
//! its final CQE, which has no `F_MORE`. It ends on: `-ENOBUFS` (the buffer group ran dry),
//! `0` (end of stream, recv), an error, a cancel (`-ECANCELED`), or a full completion queue
//! (the kernel ends multishot ops rather than overflow them; their last CQE may carry a
//! result, e.g. a descriptor or data). No data is lost by the end: what the kernel did not
//! deliver stays in the socket (or the listen backlog). The caller pushes a new op to go on
//! — after recycling buffers, for `-ENOBUFS`. Not re-arming is the natural backpressure for
//! a paused reader.
//!
//! ## What a cancel may still deliver
//! A cancel races with the op: an accept cancelled too late still completes with a new
//! descriptor (`Completion::cancelled` is set and `result >= 0`): **close it**. A recv
//! cancelled too late may still fill a provided buffer: **lease it and drop the lease** (that
//! recycles it) even if the data is unwanted, or the buffer is lost to the group.

use crate::kernel::KernelVersion;
use crate::setup::RingInfo;
use std::ffi::OsStr;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::{fmt, io, mem};

/// An owned socket address: IPv4, IPv6, or Unix (a path, an abstract name, or unnamed).
///
/// Ops that pass an address to the kernel ([`op::Connect`](crate::op::Connect),
/// [`op::Bind`](crate::op::Bind), [`op::SendMsg::to`](crate::op::SendMsg::to)) or receive one
/// ([`op::Accept`](crate::op::Accept)) own a `SockAddr` until their final CQE.
#[derive(Clone)]
pub struct SockAddr {
    storage: libc::sockaddr_storage,
    len: libc::socklen_t,
}

fn zeroed_storage() -> libc::sockaddr_storage {
    // SAFETY: sockaddr_storage is plain old data; all-zero is a valid (AF_UNSPEC) value.
    unsafe { mem::zeroed() }
}

const SUN_PATH_OFFSET: usize = mem::offset_of!(libc::sockaddr_un, sun_path);
/// The room for a Unix socket path (`sizeof(sun_path)`, 108 on Linux): a path of this many bytes
/// fills it with no NUL after it (the kernel takes the address's length as the name's end).
pub const SUN_PATH_LEN: usize = mem::size_of::<libc::sockaddr_un>() - SUN_PATH_OFFSET;

impl SockAddr {
    /// Room for any address, length set to the whole storage: what the kernel fills in for
    /// `accept`, `getsockname` and `getpeername`.
    pub fn empty() -> Self {
        Self {
            storage: zeroed_storage(),
            len: mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t,
        }
    }

    /// An IPv4 or IPv6 address.
    pub fn inet(addr: SocketAddr) -> Self {
        let mut storage = zeroed_storage();
        let len = match addr {
            SocketAddr::V4(a) => {
                let sin = libc::sockaddr_in {
                    sin_family: libc::AF_INET as libc::sa_family_t,
                    sin_port: a.port().to_be(),
                    sin_addr: libc::in_addr {
                        s_addr: u32::from_ne_bytes(a.ip().octets()),
                    },
                    sin_zero: [0; 8],
                };
                // SAFETY: sockaddr_storage is larger than, and aligned for, sockaddr_in.
                unsafe {
                    std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin)
                };
                mem::size_of::<libc::sockaddr_in>()
            }
            SocketAddr::V6(a) => {
                let sin6 = libc::sockaddr_in6 {
                    sin6_family: libc::AF_INET6 as libc::sa_family_t,
                    sin6_port: a.port().to_be(),
                    sin6_flowinfo: a.flowinfo().to_be(),
                    sin6_addr: libc::in6_addr {
                        s6_addr: a.ip().octets(),
                    },
                    sin6_scope_id: a.scope_id(),
                };
                // SAFETY: sockaddr_storage is larger than, and aligned for, sockaddr_in6.
                unsafe {
                    std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin6)
                };
                mem::size_of::<libc::sockaddr_in6>()
            }
        };
        Self {
            storage,
            len: len as libc::socklen_t,
        }
    }

    /// A Unix socket path (at most [`SUN_PATH_LEN`] bytes, no NUL byte).
    pub fn unix(path: impl AsRef<Path>) -> io::Result<Self> {
        let bytes = path.as_ref().as_os_str().as_bytes();
        if bytes.is_empty() || bytes.contains(&0) || bytes.len() > SUN_PATH_LEN {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a Unix socket path must be 1 to 108 bytes without NUL",
            ));
        }
        // Length includes the terminating NUL, as `SUN_LEN` does, when there is room for it; a
        // path that fills sun_path has none (libuv binds and connects such a path the same way).
        Ok(Self::unix_raw(bytes, (bytes.len() + 1).min(SUN_PATH_LEN)))
    }

    /// A Linux abstract Unix socket name (no file; `name` is what follows the leading NUL,
    /// at most 107 bytes).
    pub fn unix_abstract(name: &[u8]) -> io::Result<Self> {
        if name.len() >= SUN_PATH_LEN {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "an abstract Unix socket name must be at most 107 bytes",
            ));
        }
        let mut path = Vec::with_capacity(name.len() + 1);
        path.push(0);
        path.extend_from_slice(name);
        Ok(Self::unix_raw(&path, path.len()))
    }

    /// [`unix_abstract`](Self::unix_abstract) with the address length of the whole `sun_path`:
    /// the name padded with NUL bytes to 108. A different name to the kernel (an abstract name
    /// is all the bytes the length covers): libuv before 1.48 bound and connected abstract
    /// names this way (libuv PR 4266 changed it), so a peer built on such a libuv (Node 20)
    /// reaches only the padded form.
    pub fn unix_abstract_padded(name: &[u8]) -> io::Result<Self> {
        let mut a = Self::unix_abstract(name)?;
        a.len = (SUN_PATH_OFFSET + SUN_PATH_LEN) as libc::socklen_t;
        Ok(a)
    }

    fn unix_raw(path: &[u8], path_len: usize) -> Self {
        let mut storage = zeroed_storage();
        // SAFETY: sockaddr_storage is larger than, and aligned for, sockaddr_un; the path
        // fits in sun_path (checked by the callers: path.len() <= 108), and path_len <= 108
        // keeps the length inside sockaddr_un.
        unsafe {
            let sun =
                &mut *(&mut storage as *mut libc::sockaddr_storage).cast::<libc::sockaddr_un>();
            sun.sun_family = libc::AF_UNIX as libc::sa_family_t;
            for (d, s) in sun.sun_path.iter_mut().zip(path) {
                *d = *s as libc::c_char;
            }
        }
        Self {
            storage,
            len: (SUN_PATH_OFFSET + path_len) as libc::socklen_t,
        }
    }

    /// Builds an address from raw storage and its length (as `accept`/`recvfrom` return).
    ///
    /// # Safety
    /// `storage` must hold a valid address of the family it names for `len` bytes, and `len`
    /// must not exceed the storage's size.
    pub unsafe fn from_raw(storage: libc::sockaddr_storage, len: libc::socklen_t) -> Self {
        Self { storage, len }
    }

    /// The address family (`AF_INET`, `AF_INET6`, `AF_UNIX`, or `AF_UNSPEC` for none).
    pub fn family(&self) -> i32 {
        self.storage.ss_family as i32
    }

    /// The address length in bytes, as passed to the kernel.
    pub fn len(&self) -> libc::socklen_t {
        self.len
    }

    /// Whether the address is empty (length 0).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// A pointer to the address, for system calls.
    pub fn as_ptr(&self) -> *const libc::sockaddr {
        (&self.storage as *const libc::sockaddr_storage).cast()
    }

    /// Mutable pointers to the storage and its length, for a kernel that fills them in.
    pub(crate) fn as_mut_parts(&mut self) -> (*mut libc::sockaddr, *mut libc::socklen_t) {
        (
            (&mut self.storage as *mut libc::sockaddr_storage).cast(),
            &mut self.len,
        )
    }

    /// The IPv4 or IPv6 address, if it is one.
    pub fn as_inet(&self) -> Option<SocketAddr> {
        match self.family() {
            libc::AF_INET if self.len as usize >= mem::size_of::<libc::sockaddr_in>() => {
                // SAFETY: the family says the storage holds a sockaddr_in, and it is aligned.
                let sin = unsafe {
                    &*(&self.storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>()
                };
                let ip = Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes());
                Some(SocketAddr::V4(SocketAddrV4::new(
                    ip,
                    u16::from_be(sin.sin_port),
                )))
            }
            libc::AF_INET6 if self.len as usize >= mem::size_of::<libc::sockaddr_in6>() => {
                // SAFETY: the family says the storage holds a sockaddr_in6, and it is aligned.
                let sin6 = unsafe {
                    &*(&self.storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>()
                };
                Some(SocketAddr::V6(SocketAddrV6::new(
                    Ipv6Addr::from(sin6.sin6_addr.s6_addr),
                    u16::from_be(sin6.sin6_port),
                    u32::from_be(sin6.sin6_flowinfo),
                    sin6.sin6_scope_id,
                )))
            }
            _ => None,
        }
    }

    /// The bytes of `sun_path` in use, if this is a Unix address (empty when unnamed).
    fn sun_path(&self) -> Option<&[u8]> {
        if self.family() != libc::AF_UNIX {
            return None;
        }
        let n = (self.len as usize)
            .saturating_sub(SUN_PATH_OFFSET)
            .min(SUN_PATH_LEN);
        // SAFETY: the family says the storage holds a sockaddr_un; n <= 108 bytes of sun_path,
        // which lies inside the storage.
        let path = unsafe {
            let sun =
                &*(&self.storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_un>();
            std::slice::from_raw_parts(sun.sun_path.as_ptr().cast::<u8>(), n)
        };
        Some(path)
    }

    /// The path, if this is a Unix address with a path (not abstract, not unnamed).
    pub fn as_unix_path(&self) -> Option<&Path> {
        let p = self.sun_path()?;
        if p.is_empty() || p[0] == 0 {
            return None;
        }
        let end = p.iter().position(|&b| b == 0).unwrap_or(p.len());
        Some(Path::new(OsStr::from_bytes(&p[..end])))
    }

    /// The name (without the leading NUL), if this is an abstract Unix address.
    pub fn as_abstract(&self) -> Option<&[u8]> {
        let p = self.sun_path()?;
        (p.first() == Some(&0)).then(|| &p[1..])
    }
}

impl From<SocketAddr> for SockAddr {
    fn from(a: SocketAddr) -> Self {
        Self::inet(a)
    }
}

impl fmt::Debug for SockAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(a) = self.as_inet() {
            write!(f, "{a}")
        } else if let Some(p) = self.as_unix_path() {
            write!(f, "unix:{}", p.display())
        } else if let Some(n) = self.as_abstract() {
            write!(f, "unix:@{}", String::from_utf8_lossy(n))
        } else if self.family() == libc::AF_UNIX {
            write!(f, "unix:(unnamed)")
        } else {
            write!(f, "SockAddr(family {}, len {})", self.family(), self.len)
        }
    }
}

impl PartialEq for SockAddr {
    fn eq(&self, other: &Self) -> bool {
        let bytes = |a: &SockAddr| {
            // SAFETY: len <= size_of::<sockaddr_storage>() (constructors and the kernel keep
            // it so), so the slice lies inside the storage.
            unsafe {
                std::slice::from_raw_parts(
                    (&a.storage as *const libc::sockaddr_storage).cast::<u8>(),
                    (a.len as usize).min(mem::size_of::<libc::sockaddr_storage>()),
                )
            }
        };
        bytes(self) == bytes(other)
    }
}

impl Eq for SockAddr {}

fn check(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// `socket(2)` with `SOCK_CLOEXEC` added: the plain system call, for code that needs the
/// descriptor before the ring (or without [`op::Socket`](crate::op::Socket)).
pub fn socket(domain: i32, ty: i32, protocol: i32) -> io::Result<OwnedFd> {
    // SAFETY: socket takes no pointers; the result is checked.
    let fd = check(unsafe { libc::socket(domain, ty | libc::SOCK_CLOEXEC, protocol) })?;
    // SAFETY: `fd` is a fresh descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `bind(2)`: the system call, for kernels before 6.11 (which brought [`op::Bind`](crate::op::Bind)).
pub fn bind(fd: RawFd, addr: &SockAddr) -> io::Result<()> {
    // SAFETY: the pointer and length describe `addr`'s storage, valid for the call.
    check(unsafe { libc::bind(fd, addr.as_ptr(), addr.len()) }).map(drop)
}

/// `listen(2)`: the system call, for kernels before 6.11 (which brought [`op::Listen`](crate::op::Listen)).
pub fn listen(fd: RawFd, backlog: i32) -> io::Result<()> {
    // SAFETY: listen takes no pointers.
    check(unsafe { libc::listen(fd, backlog) }).map(drop)
}

/// `setsockopt(2)` with a raw value: the system call, for kernels before 6.7 (see [`sockopt_cmds`]).
pub fn setsockopt(fd: RawFd, level: i32, name: i32, value: &[u8]) -> io::Result<()> {
    // SAFETY: the pointer and length describe `value`, valid for the call.
    check(unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            value.as_ptr().cast(),
            value.len() as libc::socklen_t,
        )
    })
    .map(drop)
}

/// [`setsockopt`] of an `int` option (`SO_REUSEADDR`, `TCP_NODELAY`, ...).
pub fn setsockopt_int(fd: RawFd, level: i32, name: i32, value: i32) -> io::Result<()> {
    setsockopt(fd, level, name, &value.to_ne_bytes())
}

/// `getsockopt(2)` into `value`; returns the option's length.
pub fn getsockopt(fd: RawFd, level: i32, name: i32, value: &mut [u8]) -> io::Result<usize> {
    let mut len = value.len() as libc::socklen_t;
    // SAFETY: the pointer and length describe `value`, writable for the call; the kernel
    // writes at most `len` bytes and updates `len`.
    check(unsafe { libc::getsockopt(fd, level, name, value.as_mut_ptr().cast(), &mut len) })?;
    Ok(len as usize)
}

/// [`getsockopt`] of an `int` option.
pub fn getsockopt_int(fd: RawFd, level: i32, name: i32) -> io::Result<i32> {
    let mut v = [0u8; 4];
    getsockopt(fd, level, name, &mut v)?;
    Ok(i32::from_ne_bytes(v))
}

/// `getsockname(2)`: the socket's own address.
pub fn local_addr(fd: RawFd) -> io::Result<SockAddr> {
    let mut a = SockAddr::empty();
    let (p, l) = a.as_mut_parts();
    // SAFETY: p/l point into `a`, room for any address; the kernel writes at most `*l` bytes.
    check(unsafe { libc::getsockname(fd, p, l) })?;
    Ok(a)
}

/// `getpeername(2)`: the connected peer's address.
pub fn peer_addr(fd: RawFd) -> io::Result<SockAddr> {
    let mut a = SockAddr::empty();
    let (p, l) = a.as_mut_parts();
    // SAFETY: p/l point into `a`, room for any address; the kernel writes at most `*l` bytes.
    check(unsafe { libc::getpeername(fd, p, l) })?;
    Ok(a)
}

/// Whether this kernel runs `setsockopt`/`getsockopt` as `IORING_OP_URING_CMD` commands
/// (`SOCKET_URING_OP_SETSOCKOPT`/`GETSOCKOPT`, Linux 6.7). Without them, use the system
/// calls [`setsockopt`]/[`getsockopt`].
pub fn sockopt_cmds(info: &RingInfo) -> bool {
    info.kernel_version >= KernelVersion::new(6, 7, 0)
        && info.support.has(io_uring::opcode::UringCmd16::CODE)
}

/// Whether this ring takes recv bundles (`IORING_RECVSEND_BUNDLE`, Linux 6.10): the kernel
/// says so at setup with `IORING_FEAT_RECVSEND_BUNDLE`, which is how liburing probes it.
pub fn recv_bundles(info: &RingInfo) -> bool {
    info.recv_bundles
}
