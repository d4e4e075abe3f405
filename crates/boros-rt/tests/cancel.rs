//! Dropping futures of ops in flight: the ring keeps the op and its buffers until the final
//! CQE, and no descriptor leaks. One test in its own binary, so the descriptor count of the
//! process is not disturbed by other tests; run it under valgrind too:
//!
//! ```text
//! valgrind --error-exitcode=1 target/debug/deps/cancel-*
//! ```

use boros_rt::buf::{IoBuf, IoBufMut};
use boros_rt::fs::{File, OpenOptions};
use boros_rt::time::sleep;
use boros_rt::{op, spawn, stats, yield_now, Runtime};
use std::cell::Cell;
use std::ffi::CString;
use std::os::fd::{FromRawFd, OwnedFd};
use std::rc::Rc;
use std::time::Duration;

/// A buffer that records when it is freed.
struct Tracked {
    v: Vec<u8>,
    freed: Rc<Cell<bool>>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.freed.set(true);
    }
}

// SAFETY: delegates to the Vec, whose heap block does not move with the struct.
unsafe impl IoBuf for Tracked {
    fn stable_ptr(&self) -> *const u8 {
        self.v.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.v.len()
    }
}

// SAFETY: as above.
unsafe impl IoBufMut for Tracked {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.v.as_mut_ptr()
    }
    fn bytes_total(&self) -> usize {
        self.v.capacity()
    }
    unsafe fn set_init(&mut self, n: usize) {
        // SAFETY: forwarded promise.
        unsafe { self.v.set_init(n) }
    }
}

/// Dropped with its task, right after the op future awaited in the task (locals drop in
/// reverse order): records whether the op's buffer was already freed at that moment.
struct Witness {
    freed: Rc<Cell<bool>>,
    early: Rc<Cell<u32>>,
    checked: Rc<Cell<u32>>,
}

impl Drop for Witness {
    fn drop(&mut self) {
        self.checked.set(self.checked.get() + 1);
        if self.freed.get() {
            self.early.set(self.early.get() + 1);
        }
    }
}

/// Waits (up to 20 s, for slow runs under valgrind) until `cond` holds.
async fn eventually(what: &str, cond: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting: {what}"
        );
        sleep(Duration::from_millis(5)).await;
    }
}

fn open_fds() -> usize {
    // The directory handle itself is counted every time, so counts compare.
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two descriptors into the array.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: fresh descriptors owned by nobody else.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

#[test]
fn dropped_ops_keep_their_buffers_until_the_cqe_and_leak_nothing() {
    std::thread::spawn(|| {
        std::thread::sleep(Duration::from_secs(300));
        eprintln!("watchdog: the cancellation test hung");
        std::process::exit(1);
    });
    let dir = std::env::temp_dir().join(format!("boros-rt-cancel-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fds_before = open_fds();
    let rt = Runtime::new().unwrap();
    let stats_after = rt.block_on(async {
        // 1. A read parked on an empty pipe; its task is aborted.
        let (r, w) = pipe();
        let reader = Rc::new(File::from_std(r.into()));
        let freed = Rc::new(Cell::new(false));
        let buf = Tracked {
            v: Vec::with_capacity(64 * 1024),
            freed: freed.clone(),
        };
        let rd = reader.clone();
        let (early, checked) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
        let witness = Witness {
            freed: freed.clone(),
            early: early.clone(),
            checked: checked.clone(),
        };
        let h = spawn(async move {
            let _w = witness;
            rd.read_at(buf, 0).await.0
        });
        sleep(Duration::from_millis(20)).await;
        let in_flight = stats().driver.in_flight;
        h.abort();
        assert!(h.await.unwrap_err().is_cancelled());
        assert_eq!(checked.get(), 1);
        assert_eq!(
            early.get(),
            0,
            "the buffer of an in-flight read was freed when its future was dropped"
        );
        eventually("the buffer freed after the final CQE", || freed.get()).await;
        assert!(
            stats().driver.in_flight < in_flight,
            "the cancelled read is still in flight"
        );
        // If the read were still parked in the kernel, this would land in freed memory.
        let mut wf = std::fs::File::from(w);
        std::io::Write::write_all(&mut wf, &[1u8; 4096]).unwrap();

        // 2. 100 reads parked on a pipe, dropped with their JoinSet.
        let (r2, w2) = pipe();
        let reader2 = Rc::new(File::from_std(r2.into()));
        let all_freed: Vec<Rc<Cell<bool>>> = (0..100).map(|_| Rc::new(Cell::new(false))).collect();
        let flags = all_freed.clone();
        let rd2 = reader2.clone();
        let (early2, checked2) = (early.clone(), checked.clone());
        // All 100 reads queued and parked in the kernel before the set is dropped.
        let base = stats().driver.in_flight;
        let mut set = boros_rt::JoinSet::new();
        for f in flags {
            let rd = rd2.clone();
            let w = Witness {
                freed: f.clone(),
                early: early2.clone(),
                checked: checked2.clone(),
            };
            set.spawn(async move {
                let _w = w;
                let b = Tracked {
                    v: Vec::with_capacity(4096),
                    freed: f,
                };
                rd.read_at(b, 0).await.0
            });
        }
        eventually("100 reads in flight", || {
            stats().driver.in_flight >= base + 100
        })
        .await;
        sleep(Duration::from_millis(10)).await;
        assert!(set.len() == 100, "reads of an empty pipe cannot finish");
        drop(set); // aborts the 100 tasks
        yield_now().await; // the aborted tasks drop their reads
        yield_now().await;
        assert_eq!(checked.get(), 101, "every task was dropped");
        assert_eq!(
            early.get(),
            0,
            "buffers freed when their futures were dropped"
        );
        eventually("buffers freed after their CQEs", || {
            all_freed.iter().all(|f| f.get())
        })
        .await;
        drop(w2);

        // 3. 200 creating opens (O_CREAT: the kernel runs them on its workers), their tasks
        //    aborted right after submission: whatever descriptors arrive later are closed.
        let mut handles = Vec::new();
        for i in 0..200 {
            let path = dir.join(format!("f{i}"));
            handles.push(spawn(async move {
                OpenOptions::new().write(true).create(true).open(path).await
            }));
        }
        yield_now().await; // the tasks run and queue their opens
        yield_now().await; // the loop submitted them (without waiting)
        for h in &handles {
            h.abort();
        }
        for h in handles {
            let _ = h.await;
        }
        sleep(Duration::from_millis(100)).await;

        // 4. An open that completed, but whose future was never polled again.
        let path = CString::new(dir.join("g").into_os_string().into_encoded_bytes()).unwrap();
        let before4 = stats().completions;
        let fut = op::submit_fd(boros::op::OpenAt::new(
            path,
            libc::O_CREAT | libc::O_WRONLY,
            0o644,
        ))
        .unwrap();
        eventually("the open completed", || stats().completions > before4).await;
        drop(fut);

        // 5. Fixed (direct) opens dropped in flight free their slots and close their files.
        let mut handles = Vec::new();
        for i in 0..50 {
            let path = dir.join(format!("x{i}"));
            handles.push(spawn(async move {
                OpenOptions::new()
                    .write(true)
                    .create(true)
                    .fixed(true)
                    .open(path)
                    .await
            }));
        }
        yield_now().await;
        yield_now().await;
        for h in &handles {
            h.abort();
        }
        for h in handles {
            let _ = h.await;
        }
        // Opens that completed before their task was aborted finished normally (their File
        // was dropped, closing it); the others are orphans. Either way, nothing may stay in
        // flight but the runtime's own wake-up read.
        eventually("every orphan's CQE", || stats().driver.in_flight <= 1).await;

        // 6. An accept and a recv parked on sockets, their tasks aborted.
        let listener = Rc::new(boros_rt::net::TcpListener::bind("127.0.0.1:0").unwrap());
        let addr = listener.local_addr().unwrap();
        let base = stats().driver.in_flight;
        let l = listener.clone();
        let acc = spawn(async move { l.accept().await.map(drop) });
        let (a, b) = boros_rt::net::UnixStream::pair().unwrap();
        let a = Rc::new(a);
        let freed6 = Rc::new(Cell::new(false));
        let (early6, checked6) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
        let w6 = Witness {
            freed: freed6.clone(),
            early: early6.clone(),
            checked: checked6.clone(),
        };
        let buf6 = Tracked {
            v: Vec::with_capacity(4096),
            freed: freed6.clone(),
        };
        let a2 = a.clone();
        let rcv = spawn(async move {
            let _w = w6;
            a2.read(buf6).await.0
        });
        eventually("accept and recv in flight", || {
            stats().driver.in_flight >= base + 2
        })
        .await;
        acc.abort();
        rcv.abort();
        assert!(acc.await.unwrap_err().is_cancelled());
        assert!(rcv.await.unwrap_err().is_cancelled());
        // A stream read copies out of the connection's own buffer ring (multishot recv): the
        // caller's buffer is never lent to the kernel, so it goes with the future. The ring
        // the kernel writes into stays owned by the op until its final CQE.
        assert_eq!(
            (checked6.get(), early6.get()),
            (1, 1),
            "a stream read's buffer is the caller's alone"
        );
        eventually("recv buffer freed", || freed6.get()).await;
        // Connections and data arriving now reach no freed memory and leak nothing.
        let c = std::net::TcpStream::connect(addr).unwrap();
        let (r, _) = b.write_all(&b"late"[..]).await;
        r.unwrap();
        drop(c);
        drop(b);

        // 7. A multishot accept stream dropped with one connection taken, two queued (the
        //    connection of section 6 still waits in the backlog, plus c1 and c2) and the op
        //    still armed; then one more connection arrives.
        let c_a = stats().completions;
        let mut incoming = listener.incoming();
        let c1 = std::net::TcpStream::connect(addr).unwrap();
        let c2 = std::net::TcpStream::connect(addr).unwrap();
        let s1 = incoming.next().await.unwrap();
        eventually("three accept CQEs", || stats().completions >= c_a + 3).await;
        let closed0 = stats().orphan_fds_closed;
        drop(incoming); // closes the two queued connections, cancels the accept
        assert_eq!(
            stats().orphan_fds_closed,
            closed0 + 2,
            "the queued connections of a dropped accept stream were not closed"
        );
        let c3 = std::net::TcpStream::connect(addr).unwrap();
        drop((s1, c1, c2, c3));
        eventually("the multishot accept's final CQE", || {
            stats().driver.in_flight <= 1
        })
        .await;

        // 8. Plain `op::submit` (not `submit_fd`) of opens, each dropped once the kernel has
        //    its SQE: the op says its result is a descriptor (`OpCode::leftover`), so the
        //    core closes the descriptor its CQE brings, whoever hosts it. The process's
        //    descriptor count at the end checks that none leaked.
        let path = CString::new(dir.join("g").into_os_string().into_encoded_bytes()).unwrap();
        let closed0 = stats().orphan_fds_closed;
        for _ in 0..20 {
            let open = op::submit(op::OpenAt::new(path.clone(), libc::O_RDONLY, 0)).unwrap();
            yield_now().await; // submitted (and, for a local file, completed) before the drop
            drop(open);
        }
        eventually("the dropped opens' CQEs", || stats().driver.in_flight <= 1).await;
        assert_eq!(
            stats().orphan_fds_closed,
            closed0 + 20,
            "every dropped open's descriptor is closed"
        );

        drop(reader);
        drop(reader2);
        stats()
    });
    eprintln!("{stats_after:?}");
    assert!(stats_after.orphans >= 101, "{stats_after:?}");
    assert!(stats_after.orphan_fds_closed >= 1, "{stats_after:?}");
    drop(rt);
    assert_eq!(open_fds(), fds_before, "descriptors leaked");
    std::fs::remove_dir_all(&dir).unwrap();
}
