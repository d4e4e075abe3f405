//! Zero-copy sends of large response bodies (`IORING_OP_SENDMSG_ZC`, Linux 6.1).
//!
//! A connection's send whose pieces include a lent JS body or a held body of [`zc_min`]
//! bytes or more goes out as one `SENDMSG_ZC` of all its pieces (still one send per
//! connection per turn, in order). The kernel then posts two CQEs: the result, at which the
//! connection goes on as after any send (the next send may leave, a short send's rest is
//! queued again sharing the same memory), and the notification, once the kernel no longer
//! reads the pieces: only then are they released (a JS body's reference dropped, held memory
//! back to its pool) — [`crate::ops::HttpZc`] keeps them until then.
//!
//! Where the kernel lacks the opcode, sends stay plain `sendmsg`; so do a connection's sends
//! once the kernel said it copied one of them anyway ([`Mode::Auto`]). At env teardown the runtime
//! waits for every last CQE, and a notification only comes once the peer has acknowledged the
//! bytes: [`reset_if_pending`] resets the connections that still wait for one, so a stalled
//! peer cannot hold the teardown.

use super::conn::Conn;
use super::out::{self, Piece};
use crate::complete::JsBatch;
use crate::wire::http as w;
use std::cell::Cell;
use std::sync::OnceLock;

/// Bodies from this size on are sent with zero copy (where it pays: see [`Mode::Auto`]).
pub const ZC_MIN: usize = 64 * 1024;

/// When zero-copy sends are used (`BOROS_HTTP_ZC`: `auto`, `always`, `off`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// On each connection until a notification says the kernel copied after all (loopback
    /// always does, and there a zero-copy send cost the server about twice the CPU of a
    /// plain one: docs/http.md): then that connection's sends are plain ones.
    Auto,
    /// Every large body, copied or not (to test and measure the path).
    Always,
    Off,
}

/// The mode and the threshold (`BOROS_HTTP_ZC_MIN`, bytes; [`ZC_MIN`] by default).
pub fn config() -> (Mode, usize) {
    static CFG: OnceLock<(Mode, usize)> = OnceLock::new();
    *CFG.get_or_init(|| {
        let mode = match std::env::var("BOROS_HTTP_ZC").as_deref() {
            Ok("off") => Mode::Off,
            Ok("always") => Mode::Always,
            _ => Mode::Auto,
        };
        let min = std::env::var("BOROS_HTTP_ZC_MIN")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(ZC_MIN);
        (mode, min)
    })
}

thread_local! {
    /// Zero-copy sends made on this thread, and notifications that said the kernel copied.
    static SENDS: Cell<u64> = const { Cell::new(0) };
    static COPIED: Cell<u64> = const { Cell::new(0) };
}

/// `(zero-copy sends, of which the kernel copied)` on this thread.
pub fn counts() -> (u64, u64) {
    (SENDS.with(Cell::get), COPIED.with(Cell::get))
}

/// Whether the next send of `c`'s first `n` queued pieces should be a zero-copy one.
pub fn wanted(c: &Conn, n: usize, supported: bool) -> bool {
    let (mode, min) = config();
    let on = match mode {
        Mode::Off => false,
        Mode::Always => true,
        Mode::Auto => !c.zc_copied,
    };
    on && supported && c.queued.iter().take(n).any(|p| p.zc_worthy(min))
}

/// A zero-copy send is pushed for `c`.
pub fn pushed(c: &mut Conn) {
    c.zc_pending += 1;
    SENDS.with(|s| s.set(s.get() + 1));
}

/// The result CQE of a zero-copy send of `pieces` (still the op's): the connection goes on as
/// after any send.
fn on_result(cx: &mut JsBatch<'_>, srv: u32, id: u32, result: i32, pieces: &[Piece]) {
    super::with_conn(srv, id, |c, stream, lim| {
        c.sending = 0;
        if result < 0 {
            c.die(w::ERR_ERRNO, result);
            return;
        }
        out::rest_shared(pieces, result as usize, &mut c.queued);
        super::drain_if_below(c, cx, stream, id, lim);
    });
}

/// A zero-copy send of `pieces` for connection `id` of server `srv` (made shareable, so that
/// a short send's rest can be queued again while the kernel may still read them).
pub fn op(fd: i32, pieces: Vec<Piece>, srv: u32, id: u32) -> Box<crate::ops::HttpZc<Piece>> {
    let pieces = pieces.into_iter().map(Piece::shareable).collect();
    crate::ops::HttpZc::new(fd, pieces, (srv, id), on_result, on_notified)
}

/// The notification (the send's last CQE): `copied` when the kernel says it copied after
/// all; the pieces are released.
fn on_notified(srv: u32, id: u32, copied: bool, pieces: Vec<Piece>) {
    out::release(pieces);
    if copied {
        COPIED.with(|s| s.set(s.get() + 1));
    }
    let _ = super::with_server(srv, |s| {
        if let Some(c) = s.conns.get_mut(&id) {
            c.zc_pending -= 1;
            c.zc_copied |= copied;
        }
    });
}

/// Env teardown: `c` waits for a notification, which comes only once the peer has
/// acknowledged the bytes: reset it (`connect(AF_UNSPEC)` drops what the socket holds, so
/// the notifications come at once, and a send still in flight fails).
pub fn reset_if_pending(c: &Conn) {
    if c.zc_pending == 0 || c.close_pushed {
        return;
    }
    let addr = libc::sockaddr {
        sa_family: libc::AF_UNSPEC as libc::sa_family_t,
        sa_data: [0; 14],
    };
    // SAFETY: a descriptor the engine owns (not closed: no close was pushed) and a sockaddr
    // of the size given. A failure leaves the connection as it was.
    unsafe {
        libc::connect(
            c.fd,
            &addr,
            std::mem::size_of::<libc::sockaddr>() as libc::socklen_t,
        )
    };
}
