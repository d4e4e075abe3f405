//! Ring setup: the flags boros insists on, the ones it takes where the kernel has them,
//! and a diagnosis when the kernel says no.

use crate::error::SetupError;
use crate::kernel::{self, KernelVersion};
use crate::probe::Support;
use io_uring::IoUring;
use std::io;

/// How to build a ring. The defaults suit one application thread.
#[derive(Debug, Clone)]
pub struct Config {
    /// Submission queue entries (rounded up to a power of two, clamped by the kernel).
    pub sq_entries: u32,
    /// Completion queue entries; at least twice `sq_entries`.
    pub cq_entries: u32,
    /// Another ring's descriptor (see [`Driver::ring_fd`](crate::Driver::ring_fd)) whose
    /// kernel async worker backend this ring shares (`IORING_SETUP_ATTACH_WQ`), for several
    /// rings of one program (one per thread). That ring must stay open while this one is set up.
    pub attach_wq: Option<std::os::fd::RawFd>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            sq_entries: 4096,
            cq_entries: 8192,
            attach_wq: None,
        }
    }
}

/// When the kernel runs the completion work of socket/pipe ops (the task work a poll wake-up
/// queues), and so how a host that sleeps elsewhere (libuv's epoll) hears of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TaskRun {
    /// `DEFER_TASKRUN | TASKRUN_FLAG` (6.1): only when the owner calls `io_uring_enter(GETEVENTS)`;
    /// fewest interruptions, best batching. A thread that blocks in `io_uring_enter` itself is
    /// woken at once. But on some kernels (6.18 here) a registered eventfd is signalled ~14 ms
    /// late when the owner is asleep elsewhere (poll/epoll) as a socket wake-up queues the
    /// work, and polling the ring fd is never woken by it.
    #[default]
    Defer,
    /// `COOP_TASKRUN | TASKRUN_FLAG` (5.19): run at the owner's next entry into the kernel (any
    /// syscall, or the wake-up of its epoll), with no inter-processor interrupt; the CQE then
    /// signals the eventfd and wakes the ring fd's pollers like any completion. For hosts that
    /// sleep in their own poller.
    Coop,
}

/// What was set up, for `runtime()` and diagnostics.
#[derive(Debug, Clone)]
pub struct RingInfo {
    /// The running kernel's release string.
    pub kernel: String,
    /// The running kernel's version.
    pub kernel_version: KernelVersion,
    /// The `IORING_SETUP_*` flags in force, without the prefix (`"DEFER_TASKRUN"`).
    pub setup_flags: Vec<&'static str>,
    /// Submission queue size.
    pub sq_entries: u32,
    /// Completion queue size.
    pub cq_entries: u32,
    /// Set when the ring is smaller than asked for: the kernel refused the asked size for
    /// lack of locked memory (`RLIMIT_MEMLOCK`, the memory cgroup), and this says what it cost.
    pub shrunk: Option<String>,
    /// Opcodes this kernel has.
    pub support: Support,
    /// Whether the ring takes recv bundles (`IORING_FEAT_RECVSEND_BUNDLE`, Linux 6.10).
    pub recv_bundles: bool,
    /// Whether an enter takes a minimum wait time (`IORING_FEAT_MIN_TIMEOUT`, Linux 6.12:
    /// [`Driver::wait_min`](crate::Driver::wait_min)).
    pub min_wait: bool,
}

/// The smallest submission queue a ring is retried with when locked memory is short.
pub const MIN_SQ_ENTRIES: u32 = 8;

/// The flags every boros ring is built with. `SQPOLL` is never among them: it burns a CPU
/// and its kernel thread keeps the creator's credentials (CVE-2024-22017).
const REQUIRED: &[&str] = &[
    "SINGLE_ISSUER",
    "TASKRUN_FLAG",
    "SUBMIT_ALL",
    "CLAMP",
    "CQSIZE",
];

pub(crate) fn build(config: &Config, task_run: TaskRun) -> Result<(IoUring, RingInfo), SetupError> {
    let release = kernel::release();
    let running = KernelVersion::parse(&release).unwrap_or(KernelVersion::new(0, 0, 0));
    if running < KernelVersion::MINIMUM {
        return Err(SetupError::KernelTooOld {
            running,
            required: KernelVersion::MINIMUM,
        });
    }
    let asked_sq = config.sq_entries.max(1);
    let asked_cq = config.cq_entries.max(asked_sq.saturating_mul(2));
    // Ring memory counts against RLIMIT_MEMLOCK for users without CAP_IPC_LOCK (64 KiB in many
    // containers): ENOMEM then. Retry with rings halved each time, down to MIN_SQ_ENTRIES, so
    // such processes still get io_uring, with the reason in `RingInfo::shrunk`.
    let (mut sq, mut cq) = (asked_sq, asked_cq);
    loop {
        match build_sized(config, task_run, &release, running, sq, cq) {
            Err(e) if e.raw_os_error() == Some(libc::ENOMEM) && sq / 2 >= MIN_SQ_ENTRIES => {
                sq /= 2;
                cq = (cq / 2).max(sq * 2);
            }
            Err(e) => return Err(diagnose(release, e)),
            Ok((ring, mut info)) => {
                if sq < asked_sq {
                    info.shrunk = Some(format!(
                        "rings of {asked_sq}/{asked_cq} entries were refused for lack of locked memory (RLIMIT_MEMLOCK {}; ENOMEM): using {}/{} entries, so fewer operations go out per io_uring_enter",
                        memlock_limit(),
                        info.sq_entries,
                        info.cq_entries
                    ));
                }
                return Ok((ring, info));
            }
        }
    }
}

/// `RLIMIT_MEMLOCK`'s soft limit, for messages.
pub fn memlock_limit() -> String {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the local struct.
    if unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut lim) } != 0 {
        return "unknown".to_owned();
    }
    if lim.rlim_cur == libc::RLIM_INFINITY {
        "unlimited".to_owned()
    } else {
        format!("{} KiB", lim.rlim_cur / 1024)
    }
}

fn build_sized(
    config: &Config,
    task_run: TaskRun,
    release: &str,
    running: KernelVersion,
    sq: u32,
    cq: u32,
) -> io::Result<(IoUring, RingInfo)> {
    // NO_SQARRAY (6.6) saves a level of indirection per SQE. Older kernels reject the
    // unknown flag with EINVAL, so try with it first and without it second.
    let mut attempts: Vec<bool> = vec![true, false];
    if running < KernelVersion::new(6, 6, 0) {
        attempts.remove(0);
    }
    let mut last = None;
    for no_sqarray in attempts {
        let mut b = IoUring::builder();
        b.setup_single_issuer();
        match task_run {
            TaskRun::Defer => b.setup_defer_taskrun(),
            TaskRun::Coop => b.setup_coop_taskrun(),
        };
        b.setup_taskrun_flag()
            .setup_submit_all()
            .setup_clamp()
            .setup_cqsize(cq);
        if no_sqarray {
            b.setup_no_sqarray();
        }
        if let Some(fd) = config.attach_wq {
            b.setup_attach_wq(fd);
        }
        match b.build(sq) {
            Ok(ring) => {
                let mut flags: Vec<&'static str> = REQUIRED.to_vec();
                flags.insert(
                    1,
                    match task_run {
                        TaskRun::Defer => "DEFER_TASKRUN",
                        TaskRun::Coop => "COOP_TASKRUN",
                    },
                );
                if no_sqarray {
                    flags.push("NO_SQARRAY");
                }
                if config.attach_wq.is_some() {
                    flags.push("ATTACH_WQ");
                }
                let mut probe = io_uring::Probe::new();
                ring.submitter().register_probe(&mut probe)?;
                let info = RingInfo {
                    kernel: release.to_owned(),
                    kernel_version: running,
                    setup_flags: flags,
                    sq_entries: ring.params().sq_entries(),
                    cq_entries: ring.params().cq_entries(),
                    shrunk: None,
                    support: Support::from_probe(&probe),
                    recv_bundles: ring.params().is_feature_recvsend_bundle(),
                    min_wait: ring.params().is_feature_min_timeout(),
                };
                return Ok((ring, info));
            }
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::from_raw_os_error(libc::EINVAL)))
}

/// Turns a failed `io_uring_setup` into an error that says why.
fn diagnose(kernel: String, source: io::Error) -> SetupError {
    let reason = match source.raw_os_error() {
        Some(libc::EPERM) | Some(libc::EACCES) => match io_uring_disabled() {
            Some(2) => "the sysctl kernel.io_uring_disabled is 2: io_uring is off for every process".to_owned(),
            Some(1) => "the sysctl kernel.io_uring_disabled is 1: only members of kernel.io_uring_group may use io_uring".to_owned(),
            _ if seccomp_filtered() => "a seccomp filter blocks io_uring_setup (Docker's default profile does; \
                run with --security-opt seccomp=unconfined or a profile that allows io_uring)".to_owned(),
            _ => "the kernel or a security module denied io_uring_setup".to_owned(),
        },
        Some(libc::ENOSYS) => "this kernel has no io_uring (built without CONFIG_IO_URING, or a sandbox such as gVisor hides it)".to_owned(),
        Some(libc::EINVAL) => "the kernel rejected the setup flags boros needs (SINGLE_ISSUER, DEFER_TASKRUN: Linux 6.1+)".to_owned(),
        Some(libc::ENOMEM) => "not enough locked memory for the ring (RLIMIT_MEMLOCK or the memory cgroup)".to_owned(),
        Some(libc::EMFILE) | Some(libc::ENFILE) => "no file descriptor left for the ring".to_owned(),
        _ => "io_uring_setup failed".to_owned(),
    };
    match source.raw_os_error() {
        Some(libc::EPERM | libc::EACCES | libc::ENOSYS | libc::EINVAL) => SetupError::Refused {
            kernel,
            source,
            reason,
        },
        _ => SetupError::Io {
            step: "io_uring_setup",
            source,
        },
    }
}

/// The value of `kernel.io_uring_disabled` (Linux 6.6+), if the sysctl exists.
pub fn io_uring_disabled() -> Option<u8> {
    std::fs::read_to_string("/proc/sys/kernel/io_uring_disabled")
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Whether this process runs under a seccomp filter (`Seccomp: 2` in /proc/self/status).
pub fn seccomp_filtered() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Seccomp:") && l.trim_end().ends_with('2'))
        })
        .unwrap_or(false)
}
