//! Thread-per-core: N threads, each with its own runtime and ring, nothing shared between
//! their tasks. The rings are set up with `IORING_SETUP_ATTACH_WQ` on the first one, so they
//! share the kernel's async-worker backend instead of each building its own.
//!
//! ```no_run
//! let outputs = boros_rt::thread::Builder::new()
//!     .threads(2)
//!     .run(|index| async move {
//!         let m = boros_rt::fs::metadata("/etc/hostname").await.unwrap();
//!         (index, m.len())
//!     })?
//!     .join()?;
//! assert_eq!(outputs.len(), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Per-thread listeners with `SO_REUSEPORT` come with the socket types (see [`crate::net`]).

use crate::runtime::Runtime;
use boros::Config;
use std::future::Future;
use std::sync::{mpsc, Arc, Barrier};
use std::{fmt, io, thread};

/// Starts threads that each run a runtime.
#[derive(Debug, Clone)]
pub struct Builder {
    threads: usize,
    config: Config,
    attach_wq: bool,
    name: String,
    pin: bool,
}

impl Default for Builder {
    fn default() -> Self {
        Self::new()
    }
}

impl Builder {
    /// One thread per available CPU, default ring config, `ATTACH_WQ` on, no CPU pinning.
    pub fn new() -> Self {
        Self {
            threads: thread::available_parallelism().map_or(1, |n| n.get()),
            config: Config::default(),
            attach_wq: true,
            name: "boros-rt".to_owned(),
            pin: false,
        }
    }

    /// How many threads (and rings).
    pub fn threads(mut self, n: usize) -> Self {
        self.threads = n.max(1);
        self
    }

    /// The ring config of every thread (its `attach_wq` is set by the builder).
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Whether rings after the first share its worker backend (`IORING_SETUP_ATTACH_WQ`).
    pub fn attach_wq(mut self, v: bool) -> Self {
        self.attach_wq = v;
        self
    }

    /// Thread name prefix (threads are named `prefix-N`).
    pub fn name(mut self, prefix: impl Into<String>) -> Self {
        self.name = prefix.into();
        self
    }

    /// Pins thread N to CPU N (modulo the CPU count) with `sched_setaffinity`.
    pub fn pin_threads(mut self, v: bool) -> Self {
        self.pin = v;
        self
    }

    /// Starts the threads. Each builds its ring, waits until every ring is set up, then runs
    /// `make(index)` to completion with `block_on` (the future is built on its own thread, so
    /// it need not be `Send`; its output must be).
    ///
    /// # Errors
    /// The first ring's setup error (then no thread runs `make`), or a thread spawn error.
    pub fn run<F, Fut>(self, make: F) -> io::Result<Threads<Fut::Output>>
    where
        F: Fn(usize) -> Fut + Send + Sync + 'static,
        Fut: Future + 'static,
        Fut::Output: Send + 'static,
    {
        let n = self.threads;
        let make = Arc::new(make);
        let ready = Arc::new(Barrier::new(n));
        let (first_tx, first_rx) = mpsc::channel::<io::Result<(i32, Vec<&'static str>)>>();
        let mut handles = Vec::with_capacity(n);
        let mut attach_fd = None;
        let mut setup_flags = Vec::new();
        let cpus = thread::available_parallelism().map_or(1, |c| c.get());
        for index in 0..n {
            let make = make.clone();
            let ready = ready.clone();
            let mut config = self.config.clone();
            config.attach_wq = attach_fd;
            let first_tx = (index == 0).then(|| first_tx.clone());
            let pin = self.pin.then_some(index % cpus);
            let h = thread::Builder::new()
                .name(format!("{}-{index}", self.name))
                .spawn(move || -> Result<Fut::Output, ThreadError> {
                    if let Some(cpu) = pin {
                        pin_to(cpu);
                    }
                    let rt = Runtime::with_config(&config);
                    if let Some(tx) = first_tx {
                        let _ = tx.send(match &rt {
                            Ok(rt) => Ok((rt.ring_fd(), rt.ring_info().setup_flags)),
                            Err(e) => Err(io::Error::other(e.to_string())),
                        });
                        if let Err(e) = &rt {
                            // No other thread starts: do not wait for them.
                            return Err(ThreadError::Setup(e.to_string()));
                        }
                    }
                    // Every ring is set up before any runs (and before the first may close).
                    ready.wait();
                    let rt = rt.map_err(|e| ThreadError::Setup(e.to_string()))?;
                    Ok(rt.block_on(make(index)))
                })?;
            handles.push(h);
            if index == 0 {
                match first_rx.recv() {
                    Ok(Ok((fd, flags))) => {
                        setup_flags = flags;
                        if self.attach_wq {
                            attach_fd = Some(fd);
                        }
                    }
                    Ok(Err(e)) => {
                        // Thread 0 returned without waiting for the others.
                        for h in handles {
                            let _ = h.join();
                        }
                        return Err(e);
                    }
                    Err(_) => return Err(io::Error::other("boros-rt: thread 0 died during setup")),
                }
            }
        }
        Ok(Threads {
            handles,
            attached: self.attach_wq && n > 1,
            setup_flags,
        })
    }
}

#[cfg(target_os = "linux")]
fn pin_to(cpu: usize) {
    // SAFETY: cpu_set_t is plain data; sched_setaffinity reads it. Failure leaves the thread
    // unpinned, which is harmless.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// Why a runtime thread gave no output.
#[derive(Debug)]
pub enum ThreadError {
    /// Its ring could not be set up (the message says why).
    Setup(String),
    /// Its future panicked.
    Panic(String),
}

impl fmt::Display for ThreadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ThreadError::Setup(m) => write!(f, "runtime thread setup failed: {m}"),
            ThreadError::Panic(m) => write!(f, "runtime thread panicked: {m}"),
        }
    }
}

impl std::error::Error for ThreadError {}

/// The running threads of a [`Builder`].
#[derive(Debug)]
pub struct Threads<T> {
    handles: Vec<thread::JoinHandle<Result<T, ThreadError>>>,
    attached: bool,
    setup_flags: Vec<&'static str>,
}

impl<T> Threads<T> {
    /// Whether the rings after the first were set up with `ATTACH_WQ`.
    pub fn attached(&self) -> bool {
        self.attached
    }

    /// The setup flags of the first ring.
    pub fn setup_flags(&self) -> &[&'static str] {
        &self.setup_flags
    }

    /// Waits for every thread; their outputs in thread order.
    ///
    /// # Errors
    /// The first thread that failed (setup or panic).
    pub fn join(self) -> Result<Vec<T>, ThreadError> {
        let mut out = Vec::with_capacity(self.handles.len());
        let mut first_err = None;
        for h in self.handles {
            match h.join() {
                Ok(Ok(v)) => out.push(v),
                Ok(Err(e)) => {
                    first_err.get_or_insert(e);
                }
                Err(p) => {
                    let m = p
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| p.downcast_ref::<String>().cloned())
                        .unwrap_or_default();
                    first_err.get_or_insert(ThreadError::Panic(m));
                }
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }
}
